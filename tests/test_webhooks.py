"""Webhook signature verification (SPEC section 6) and the Flask example that uses it."""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable, Optional, Union

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.webhooks import VerificationError, VerifyWebhook
from tests.support.processes import read_line, start_server

SECRET = "rdme_webhooksecret1234"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def now_ms() -> int:
    return int(time.time() * 1000)


def sign(body: Union[bytes, str], secret: str = SECRET, t: Optional[int] = None) -> str:
    """The header ReadMe sends: ``t=<ms>,v0=<hex hmac of "<t>.<body>">``."""
    t = now_ms() if t is None else t
    raw = body.encode() if isinstance(body, str) else body
    digest = hmac.new(secret.encode(), f"{t}.".encode() + raw, hashlib.sha256).hexdigest()
    return f"t={t},v0={digest}"


MINUTE = 60 * 1000
RAW = b'{"email":"ana@example.com","name":"Ana"}'
# What JSON.stringify makes of {"email": "zoë@example.com", "n": [1, 2.5, true, null]}.
JS_TEXT = '{"email":"zoë@example.com","n":[1,2.5,true,null]}'
JS_OBJECT = {"email": "zoë@example.com", "n": [1, 2.5, True, None]}


def _with_timestamp_replaced(t: int) -> str:
    """A valid signature made a second ago, its timestamp then moved to ``t``.

    One clock reading: a second reading could fall in the next millisecond, the
    replace would then find nothing and the untouched signature would verify.
    """
    signed = sign(RAW, t=t - 1000)
    assert f"t={t - 1000}," in signed
    return signed.replace(f"t={t - 1000},", f"t={t},")


@pytest.mark.parametrize(
    ("body", "signature"),
    [
        pytest.param(RAW, lambda: sign(RAW), id="raw-bytes"),
        pytest.param(RAW.decode(), lambda: sign(RAW), id="raw-str"),
        pytest.param(bytearray(RAW), lambda: sign(RAW), id="raw-bytearray"),
        pytest.param(JS_OBJECT, lambda: sign(JS_TEXT), id="dict-like-json-stringify"),
        pytest.param({"x": 1.0, "y": 1e-7}, lambda: sign('{"x":1,"y":1e-7}'),
                     id="dict-js-number-format"),
        pytest.param([1, "a"], lambda: sign('[1,"a"]'), id="list"),
        pytest.param(b"", lambda: sign(b""), id="empty-body"),
        pytest.param(RAW, lambda: sign(RAW, t=now_ms() - 29 * MINUTE), id="29-minutes-old"),
        pytest.param(RAW, lambda: sign(RAW) + ",v0=" + "0" * 64, id="several-v0-first"),
        pytest.param(
            RAW, lambda: "t={},v0={},{}".format(
                now_ms(), "0" * 64, sign(RAW).split(",")[1]
            ), id="several-v0-second"),
        pytest.param(RAW, lambda: " " + sign(RAW).replace(",", " , "), id="spaces"),
        pytest.param(RAW, lambda: sign(RAW).upper().replace("T=", "t=").replace("V0=", "v0="),
                     id="upper-case-hex"),
    ],
)
def test_valid_signatures_are_accepted(body: Any, signature: Callable[[], str]) -> None:
    assert VerifyWebhook(body, signature(), SECRET) is body


def test_bytes_secret_is_accepted() -> None:
    assert VerifyWebhook(RAW, sign(RAW), SECRET.encode()) == RAW


@pytest.mark.parametrize(
    ("body", "signature", "message"),
    [
        pytest.param(RAW, lambda: None, "Missing Signature", id="none"),
        pytest.param(RAW, lambda: "", "Missing Signature", id="empty"),
        pytest.param(RAW, lambda: sign(RAW, t=now_ms() - 40 * MINUTE), "Expired Signature",
                     id="40-minutes-old"),
        pytest.param(RAW, lambda: sign(RAW, t=now_ms() - 31 * MINUTE), "Expired Signature",
                     id="31-minutes-old"),
        pytest.param(RAW, lambda: sign(RAW, t=now_ms() + 40 * MINUTE), "Expired Signature",
                     id="40-minutes-in-the-future"),
        pytest.param(RAW, lambda: sign(RAW, secret="rdme_other"), "Invalid Signature",
                     id="wrong-secret"),
        pytest.param(RAW + b" ", lambda: sign(RAW), "Invalid Signature", id="body-changed"),
        pytest.param({"email": "ana@example.com", "name": "Ana"},
                     lambda: sign(b'{"email": "ana@example.com", "name": "Ana"}'),
                     "Invalid Signature", id="dict-vs-spaced-text"),
        pytest.param({"e": "zoë"}, lambda: sign('{"e":"zo\\u00eb"}'), "Invalid Signature",
                     id="dict-vs-ascii-escaped-text"),
        pytest.param(RAW, lambda: _with_timestamp_replaced(now_ms()), "Invalid Signature",
            id="timestamp-replaced"),
        pytest.param(RAW, lambda: "garbage", "Invalid Signature", id="garbage"),
        pytest.param(RAW, lambda: sign(RAW).split(",")[1], "Invalid Signature", id="no-t"),
        pytest.param(RAW, lambda: sign(RAW).split(",")[0], "Invalid Signature", id="no-v0"),
        pytest.param(RAW, lambda: "t=abc,v0=00", "Invalid Signature", id="t-not-a-number"),
        pytest.param(RAW, lambda: f"t={now_ms()},v0=", "Invalid Signature", id="v0-empty"),
        pytest.param(RAW, lambda: sign(RAW).replace("t=", "t=+"), "Invalid Signature",
                     id="t-with-sign"),
        pytest.param(RAW, lambda: sign(RAW).replace("v0=", "v1="), "Invalid Signature",
                     id="only-v1"),
        pytest.param(RAW, lambda: sign(RAW) + "é", "Invalid Signature", id="non-ascii-v0"),
        pytest.param({1, 2}, lambda: sign(b"[1,2]"), "Invalid Signature", id="unserialisable"),
    ],
)
def test_bad_signatures_raise_the_spec_messages(
    body: Any, signature: Callable[[], Optional[str]], message: str
) -> None:
    with pytest.raises(VerificationError) as caught:
        VerifyWebhook(body, signature(), SECRET)
    assert str(caught.value) == message


def sign_with_key(body: bytes, key: bytes) -> str:
    t = now_ms()
    return f"t={t},v0={hmac.new(key, f'{t}.'.encode() + body, hashlib.sha256).hexdigest()}"


@pytest.mark.parametrize(("secret", "forged_key", "error"), [
    # Without the check, None became the key b"None" and "" the empty key: anyone could
    # sign with them, so a forged call was accepted.
    pytest.param(None, b"None", ValueError, id="none"),
    pytest.param("", b"", ValueError, id="empty-str"),
    pytest.param(b"", b"", ValueError, id="empty-bytes"),
    pytest.param(42, b"42", TypeError, id="not-text"),
])
def test_missing_secret_is_refused_before_any_signature(
    secret: Any, forged_key: bytes, error: type
) -> None:
    for signature in (sign_with_key(RAW, forged_key), None, "garbage"):
        with pytest.raises(error, match="secret"):
            VerifyWebhook(RAW, signature, secret)


@pytest.mark.parametrize(("signature", "outcome"), [
    pytest.param(lambda: sign(RAW).encode("ascii"), None, id="valid-bytes"),
    pytest.param(lambda: bytearray(sign(RAW).encode("ascii")), None, id="valid-bytearray"),
    pytest.param(lambda: b"", "Missing Signature", id="empty-bytes"),
    pytest.param(lambda: sign(RAW, secret="rdme_other").encode(), "Invalid Signature",
                 id="wrong-secret-bytes"),
    pytest.param(lambda: sign(RAW).encode() + b"\xff", "Invalid Signature",
                 id="non-ascii-bytes"),
    pytest.param(lambda: 12345, "Invalid Signature", id="an-int"),
])
def test_signature_as_bytes_is_decoded_never_a_type_error(
    signature: Callable[[], Any], outcome: Optional[str]
) -> None:
    if outcome is None:
        assert VerifyWebhook(RAW, signature(), SECRET) == RAW
        return
    with pytest.raises(VerificationError) as caught:
        VerifyWebhook(RAW, signature(), SECRET)
    assert str(caught.value) == outcome


def test_alias_module_is_the_same_function() -> None:
    from readme_metrics import VerifyWebhook as alias_module
    from readme_metrics.VerifyWebhook import VerificationError as AliasError
    from readme_metrics.VerifyWebhook import VerifyWebhook as alias

    assert alias is VerifyWebhook
    assert AliasError is VerificationError
    assert alias_module.__name__ == "readme_metrics.VerifyWebhook"
    assert issubclass(VerificationError, Exception)


@settings(max_examples=200, deadline=None)
@given(body=st.one_of(st.binary(), st.text(), st.dictionaries(st.text(), st.integers())),
       signature=st.one_of(st.none(), st.text(), st.binary(), st.binary().map(lambda b: b.hex())))
def test_random_input_only_ever_raises_verification_error(body: Any, signature: Any) -> None:
    try:
        VerifyWebhook(body, signature, SECRET)
    except VerificationError as error:
        assert str(error) in ("Missing Signature", "Expired Signature", "Invalid Signature")


@settings(max_examples=100, deadline=None)
# A blank secret (" ") is refused as the empty one is (newcomer31): no key.
@given(body=st.binary(max_size=2000),
       secret=st.text(min_size=1, max_size=50).filter(lambda text: text.strip() != ""))
def test_any_raw_body_signed_with_any_secret_verifies(body: bytes, secret: str) -> None:
    t = now_ms()
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    assert VerifyWebhook(body, f"t={t},v0={digest}", secret) == body


# -- the dict form against real JavaScript -------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def node() -> Iterator[Callable[[str], str]]:
    """A node process answering each line of JSON with ``JSON.stringify(JSON.parse(line))``."""
    executable = shutil.which("node")
    if executable is None:
        pytest.skip("node is not installed")
    script = (
        "const rl = require('readline').createInterface({input: process.stdin});"
        "rl.on('line', (l) => process.stdout.write(JSON.stringify(JSON.parse(l)) + '\\n'));"
    )
    process = start_server(
        [executable, "-e", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert process.stdin is not None and process.stdout is not None
    stdin, stdout = process.stdin, process.stdout

    def stringify(text: str) -> str:
        stdin.write(text.encode("ascii") + b"\n")
        stdin.flush()
        return read_line(stdout, about="node").rstrip(b"\n").decode("utf-8")

    try:
        yield stringify
    finally:
        process.kill()
        process.wait()


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.lists(JSON_VALUES, max_size=4) | st.dictionaries(st.text(), JSON_VALUES))
def test_dict_body_matches_javascript_json_stringify(
    node: Callable[[str], str], value: Any
) -> None:
    # ReadMe signs JSON.stringify(payload); a receiver that parsed the JSON and passes the
    # object must land on exactly the same text. (A str body is the raw text, not JSON.)
    js_text = node(json.dumps(value))  # what ReadMe would send and sign
    received = json.loads(js_text)  # what a receiver parsing the request holds
    assert VerifyWebhook(received, sign(js_text), SECRET) is received


# A dict the receiver built or changed itself (not parsed from ReadMe's text) is signed
# as JavaScript would serialise the same object: integers past 2**53 are doubles there
# (1e+21, 9007199254740992), and keys that are array indices come first, ascending.
@pytest.mark.parametrize(("body", "text"), [
    pytest.param({"n": 10**21}, '{"n":1e+21}', id="int-1e21"),
    pytest.param({"n": 2**53 + 1}, '{"n":9007199254740992}', id="int-past-2**53"),
    pytest.param({"n": -(2**64)}, '{"n":-18446744073709552000}', id="int-2**64"),
    pytest.param([10**400], "[null]", id="int-past-any-double"),
    pytest.param({"b": 1, "2": 2, "1": 3, "01": 4, "4294967295": 5, "4294967294": 6},
                 '{"1":3,"2":2,"4294967294":6,"b":1,"01":4,"4294967295":5}',
                 id="array-index-keys-first"),
    pytest.param({2: "x", "a": "y", 1: "z"}, '{"1":"z","2":"x","a":"y"}', id="int-keys"),
])
def test_a_dict_built_in_python_is_signed_as_javascript_serialises_it(
        body: Any, text: str) -> None:
    assert VerifyWebhook(body, sign(text), SECRET) is body


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.dictionaries(
    st.text(max_size=3) | st.integers(0, 2**32).map(str),
    st.recursive(
        st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=3),
        lambda inner: st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=3) | st.integers(0, 2**32).map(str), inner,
                          max_size=3),
        max_leaves=8),
    max_size=4))
def test_any_dict_built_in_python_matches_javascript_json_stringify(
    node: Callable[[str], str], value: Any
) -> None:
    js_text = node(json.dumps(value))  # the same object as JavaScript serialises it
    assert VerifyWebhook(value, sign(js_text), SECRET) is value


# -- the documented Flask example ----------------------------------------------------


@pytest.fixture
def webhook_client() -> Any:
    spec = importlib.util.spec_from_file_location(
        "example_flask_webhooks", EXAMPLES / "flask" / "webhooks.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.create_app(SECRET).test_client()


PAYLOAD = b'{"email":"ana@example.com"}'


@pytest.mark.parametrize(
    ("headers", "status", "answer"),
    [
        pytest.param({}, 401, {"error": "Missing Signature"}, id="missing"),
        pytest.param({"readme-signature": lambda: sign(PAYLOAD, t=now_ms() - 40 * MINUTE)},
                     401, {"error": "Expired Signature"}, id="expired"),
        pytest.param({"readme-signature": lambda: sign(PAYLOAD, secret="rdme_wrong")},
                     401, {"error": "Invalid Signature"}, id="invalid"),
        pytest.param({"readme-signature": lambda: sign(PAYLOAD)}, 200,
                     {"email": "ana@example.com", "petstore_auth": "default-key",
                      "basic_auth": {"user": "user", "pass": "pass"}}, id="valid"),
    ],
)
def test_flask_webhook_example(
    webhook_client: Any, headers: dict[str, Any], status: int, answer: dict[str, Any]
) -> None:
    sent = {name: make() for name, make in headers.items()}
    response = webhook_client.post(
        "/webhook", data=PAYLOAD, headers={**sent, "Content-Type": "application/json"}
    )
    assert response.status_code == status
    assert response.get_json() == answer
