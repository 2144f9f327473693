"""review37's findings: an adversarial review of this session's landings in the HAR
builder (hostile9's multipart reader and short-key mask, spec22's byte order mark and
JSON Patch redaction). 1 and 2 were found clean: their tests pass on main at 6d3439d and
are kept as checks (each fails with a plausible change to the code it checks). 3's leak
tests failed on main and pass with its fix, under real parts (the public middleware, the
collector on 127.0.0.1). spec22's byte order mark (c03a913) was probed and found clean:
flat, bracketed, dotted and percent-encoded names, JSON keys at depth, multipart names
(plain and RFC 2231), pointer segments."""

from __future__ import annotations

import io
import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.har.multipart import _Body, _fields, _storage
from tests.support.contract import exchange, reading_app
from tests.support.fake_api import INLINE_TIMEOUT, Collector

# -- 1. hostile9's read_multi against webob's own ---------------------------------------


def _webobs() -> Any:
    """Our FieldStorage with webob's own read_multi (its parts built of the same class, so
    nested parts are read by webob's too): the reference the copy must agree with."""
    from webob.compat import cgi_FieldStorage

    ours = _storage()
    return type("WebobsFieldStorage", (ours,), {"read_multi": cgi_FieldStorage.read_multi})


def _tree(storage: Any) -> Any:
    """What a parse gave, comparable: each part's name, filename, headers, bytes or parts."""
    if storage.list is None:
        data = storage.file.read() if storage.file is not None else storage.value
        if hasattr(storage.file, "seek"):
            storage.file.seek(0)
        return (storage.name, storage.filename, sorted(storage.headers.items())
                if storage.headers else None, data)
    return (storage.name, storage.filename,
            sorted(storage.headers.items()) if storage.headers else None,
            [_tree(part) for part in storage.list])


def _parse(klass: Any, body: bytes, content_type: str, fp: Any) -> Any:
    environ = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": content_type,
               "CONTENT_LENGTH": str(len(body)), "QUERY_STRING": ""}
    try:
        storage = klass(fp=fp, environ=environ, keep_blank_values=True, encoding="latin-1")
        return _tree(storage)
    except Exception as error:  # noqa: BLE001 - the same failure is the same answer
        return ("raised", type(error).__name__, str(error))


def _both(body: bytes, content_type: str) -> tuple[Any, Any]:
    return (_parse(_storage(), body, content_type, _Body(body)),
            _parse(_webobs(), body, content_type, io.BytesIO(body)))


# Boundaries as clients write them: Chrome/Safari, Firefox, requests (urllib3), curl,
# Go, and short or odd ones (cgi.valid_boundary's characters).
BOUNDARIES = ["----WebKitFormBoundary7MA4YWxkTrZu0gW",
              "---------------------------3187442913474718772466932476",
              "3d6b6a416f9b5b6f6f0e1a2c5d7e8f90", "------------------------d74496d66958873e",
              "ad3e7a9a0f6b1c2e8b5f4a3d2c1b0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b", "b", "a b",
              "x=y", "'()+_,-./:?"]
_LINE = st.sampled_from(["\r\n", "\n"])
_TEXT = st.sampled_from(["", "x", "value", "--", "--b", "\r\n--b", "\n--", "é", "a\r\nb",
                         "Content-Type: x", "\r", ";", '"']) | st.text(max_size=12)


@st.composite
def _disposition(draw: Any) -> str:
    name = draw(st.sampled_from(['name="field"', "name=field", 'name="a;b"', 'name="a\\"b"',
                                 'name="pass word"', "name*=utf-8''p%C3%A4ss", 'name=""',
                                 "name*0=to; name*1=ken", 'NAME="Up"', 'name="x"; name="y"',
                                 "name=\"é\"", "name='q'", 'name="unclosed']))
    extra = draw(st.sampled_from(["", '; filename="a.txt"', '; filename=""',
                                  "; filename*=UTF-8''%E2%82%AC.txt",
                                  '; filename="C:\\\\dir\\\\f.png"',
                                  '; filename="' + "n" * 300 + '.txt"', "; size=12",
                                  '; filename="a.txt"; filename*=utf-8\'\'b.txt']))
    kind = draw(st.sampled_from(["form-data", "attachment", "inline", "file", "FORM-DATA"]))
    return f"Content-Disposition: {kind}; {name}{extra}"


@st.composite
def _part(draw: Any, boundary: str, depth: int) -> str:
    line = draw(_LINE)
    headers = [draw(_disposition())] if draw(st.booleans()) or depth else []
    body = draw(_TEXT)
    if depth < 1 and draw(st.integers(0, 5)) == 0:  # a nested multipart/mixed
        inner = "inner" + boundary[:8].replace(" ", "")
        headers.append(f"Content-Type: multipart/mixed; boundary={inner}")
        body = draw(_multipart_text(inner, depth + 1))
    else:
        headers += draw(st.lists(st.sampled_from([
            "Content-Type: text/plain; charset=utf-8", "Content-Type: application/json",
            "content-type: text/plain; charset=\"iso-8859-1\"; format=flowed",
            "Content-Type: image/png", f"Content-Length: {len(body)}", "Content-Length: 3",
            "Content-Length: x", "Content-Transfer-Encoding: base64",
            "Content-Transfer-Encoding: quoted-printable", "X-Other: y",
            " folded: continuation", "Content-Type: text/plain;", "no colon", " \t"]),
            max_size=3))
    return line.join(headers) + line + line + body


@st.composite
def _multipart_text(draw: Any, boundary: str, depth: int = 0) -> str:
    line = draw(_LINE)
    preamble = draw(st.sampled_from(["", "This is a preamble." + line, line, "--b" + line,
                                     "--" + boundary + "x" + line]))
    parts = draw(st.lists(_part(boundary, depth), max_size=4))
    text = preamble + "".join(f"--{boundary}{line}{part}{line}" for part in parts)
    end = draw(st.sampled_from([f"--{boundary}--", f"--{boundary}--{line}",
                                f"--{boundary}--{line}epilogue{line}", "", f"--{boundary}",
                                f"--{boundary}-- ", f"--{boundary}  {line}"]))
    return text + end


@st.composite
def _bodies(draw: Any) -> tuple[bytes, str]:
    boundary = draw(st.sampled_from(BOUNDARIES))
    quoted = draw(st.booleans())
    content_type = "multipart/form-data; boundary=" + (f'"{boundary}"' if quoted or " " in
                                                         boundary else boundary)
    if draw(st.integers(0, 7)) == 0:
        content_type = draw(st.sampled_from([
            "multipart/mixed; boundary=b", "multipart/form-data", "multipart/form-data; boundary=",
            "multipart/form-data; charset=utf-8; boundary=b", "multipart/related; boundary=b"]))
    text = draw(_multipart_text(boundary))
    body = text.encode("utf-8")
    if draw(st.integers(0, 7)) == 0:  # raw bytes spliced in
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(st.binary(max_size=16)) + body[at:]
    return body, content_type


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(_bodies())
def test_the_copy_of_read_multi_reads_what_webobs_reads(case: tuple[bytes, str]) -> None:
    """hostile9's read_multi (9128078: header lines joined once, parameters' cost charged
    to the body) against webob's own on bodies as browsers, requests, curl and Go write
    them and broken ones: LF for CR LF, a preamble and an epilogue, a missing or odd
    final boundary, nested multipart/mixed, RFC 2231 names, a part Content-Length, raw
    bytes anywhere. The same parts (names, filenames, headers, bytes), or the same
    error."""
    body, content_type = case
    ours, webobs = _both(body, content_type)
    assert ours == webobs, (body, content_type)


def test_a_browser_form_of_thousands_of_long_filenames_is_under_the_bound() -> None:
    """hostile9's MOST_PARAMETER_WORK is never reached by a form as a browser sends it:
    5,000 files with 255-character filenames (1.9 MiB of part headers, 7 times the default
    max_body_bytes) parse, every part read. (The bound is hit at 20,000 such parts,
    7.5 MiB.)"""
    boundary = BOUNDARIES[0]
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="files[]"; filename="'
        f'{(str(i) + "n" * 255)[:255]}.jpg"\r\nContent-Type: image/jpeg\r\n\r\n\r\n'.encode()
        for i in range(5000)) + f"--{boundary}--\r\n".encode()
    fields = _fields(body, "multipart/form-data; boundary=" + boundary)
    assert len(fields) == 5000
    assert fields[-1][0].filename == (str(4999) + "n" * 255)[:255] + ".jpg"


# -- 2. hostile9's short key's own mask left alone (36d8d5a) ------------------------------

_KEY_CHARACTERS = st.sampled_from(list('1"\\?/u0e.E-+ aA{}[]:,=%\ufffd\udcff\u00e9sha512')) \
    | st.characters()


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(_KEY_CHARACTERS, min_size=1, max_size=7))
def test_a_short_keys_mask_hides_no_key(key: str) -> None:
    """36d8d5a has CallerKey.text leave a value equal to a short key's mask as it is,
    before any search. Found clean: for any short key (quotes, backslashes, a JSON
    number, lone surrogates and the aliases they bring), the search it skips
    (key_json.short_json) gave the mask back too, and the key beside its mask (a client sending
    both, in one JSON document) is still masked where it is a whole string. (20,000
    examples by hand, no difference.)"""
    from readme_metrics.har.credentials import CallerKey
    from readme_metrics.har.key_json import short_json

    for caller in (CallerKey(key), *CallerKey(key).aliases):
        if caller.inside:  # an alias of a lone surrogate's may be long: another path
            continue
        assert short_json(caller, caller.masked, caller.text) == caller.masked
        assert caller.text(caller.masked) == caller.masked
        for document in ([caller.masked, caller.key], {"a": caller.key, "b": caller.masked}):
            logged = json.loads(caller.text(json.dumps(document)))
            values = logged if isinstance(logged, list) else list(logged.values())
            assert caller.key not in values and caller.masked in values

# -- 3. spec22's JSON Patch redaction (ecbd6f9): where the key is named otherwise ---------

SCIM_PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _patched(inline_wrap: Any, collector: Collector, document: Any,
             **lists: Any) -> tuple[str, Any]:
    """(the whole log sent, the request's postData as JSON) for ``PATCH /users/1`` with
    ``document``, through the middleware and the collector on 127.0.0.1."""
    middleware = inline_wrap(reading_app(), **lists)
    _result, log, entry = exchange(middleware, collector, method="PATCH", path="/users/1",
                                   body=json.dumps(document).encode(),
                                   headers={"Content-Type": "application/json-patch+json"})
    return json.dumps(log), json.loads(entry["request"]["postData"]["text"])


@pytest.mark.parametrize(("document", "lists"), [
    # A dotted entry whose path the pointer names in part, the rest in the value's keys.
    pytest.param([{"op": "add", "path": "/user", "value": {"password": "s3cret"}}],
                 {"denylist": ["user.password"]}, id="dotted-split-pointer-and-value"),
    pytest.param([{"op": "add", "path": "/users/0", "value": {"password": "s3cret"}}],
                 {"denylist": ["users.password"]}, id="dotted-split-through-an-index"),
    pytest.param([{"op": "replace", "path": "", "value": {"user": {"password": "s3cret"}}}],
                 {"denylist": ["user.password"]}, id="dotted-under-the-root-pointer"),
    # SCIM 2.0 PATCH (RFC 7644 3.5.2), as Okta and Entra ID send a password change: the
    # path is an attribute path, not a JSON pointer, maybe after the schema's URN.
    pytest.param({"schemas": [SCIM_PATCH], "Operations": [
        {"op": "Replace", "path": "password", "value": "s3cret"}]},
        {"denylist": ["password"]}, id="scim-attribute"),
    pytest.param({"schemas": [SCIM_PATCH], "Operations": [
        {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:password",
         "value": "s3cret"}]}, {"denylist": ["password"]}, id="scim-urn-attribute"),
    pytest.param({"schemas": [SCIM_PATCH], "Operations": [
        {"op": "replace", "path": 'credentials[type eq "pin"].secret', "value": "s3cret"}]},
        {"denylist": ["credentials.secret"]}, id="scim-filtered-dotted"),
    # The pointer as a URI fragment (RFC 6901 6), percent-encoded or not.
    # SCIM's attribute names are case-insensitive (RFC 7644 3.10): a client serialising
    # PascalCase members (.NET, Go) writes Op, Path and Value (review46).
    pytest.param({"schemas": [SCIM_PATCH], "Operations": [
        {"Op": "Replace", "Path": "password", "Value": "s3cret"}]},
        {"denylist": ["password"]}, id="scim-members-in-capitals"),
    pytest.param([{"Op": "replace", "Path": "/user", "Value": {"password": "s3cret"}}],
                 {"denylist": ["user.password"]}, id="capitals-dotted-split"),
    # No "op": a validation error echoing the rejected field (express-validator's
    # {"type": "field", "value": ..., "path": "password"}, Yup's {path, value}) (review46).
    pytest.param({"errors": [{"type": "field", "value": "s3cret", "msg": "Invalid value",
                              "path": "password", "location": "body"}]},
                 {"denylist": ["password"]}, id="validation-error-path-and-value"),
    pytest.param({"errors": [{"path": "users[0].password", "value": "s3cret"}]},
                 {"denylist": ["users.password"]}, id="validation-error-dotted"),
    # express-validator 6 (before 7's "path") named the field "param" (review49).
    pytest.param({"errors": [{"value": "s3cret", "msg": "Invalid value", "param": "password",
                              "location": "body"}]},
                 {"denylist": ["password"]}, id="validation-error-param"),
    pytest.param([{"op": "replace", "path": "#/password", "value": "s3cret"}],
                 {"denylist": ["password"]}, id="uri-fragment"),
    pytest.param([{"op": "replace", "path": "#/pass%77ord", "value": "s3cret"}],
                 {"denylist": ["password"]}, id="uri-fragment-percent-encoded"),
    # An allowlist listing "value" (a settings API's key) keeps the value of a key it
    # does not list: only the pointer's key can allow it.
    pytest.param([{"op": "replace", "path": "/password", "value": "s3cret"}],
                 {"allowlist": ["id", "value"]}, id="allowlist-listing-value"),
    pytest.param([{"op": "add", "path": "/user", "value": {"password": "s3cret"}}],
                 {"allowlist": ["op", "path", "value"]}, id="allowlist-listing-op-path-value"),
])
def test_a_patch_naming_a_key_otherwise_has_its_value_redacted(
        inline_wrap: Any, collector: Collector, document: Any, lists: Any) -> None:
    """ecbd6f9 redacts the value of a JSON Patch operation whose ``/``-pointer names a
    denied key. The value still went out in clear where the key was named otherwise: a
    dotted entry split between the pointer and the value's keys, a SCIM attribute path,
    a pointer as a URI fragment, and with an allowlist (ecbd6f9 read patches with a
    denylist only) listing ``value``. Over-redaction is acceptable here, a leak is not."""
    sent, _document = _patched(inline_wrap, collector, document, **lists)
    assert "s3cret" not in sent


def test_a_patch_of_keys_neither_list_names_is_logged_as_sent(
        inline_wrap: Any, collector: Collector) -> None:
    """What stays: an operation whose key no entry names, SCIM's or a pointer's, keeps its
    value; with an allowlist, one whose pointer names a listed key keeps it too."""
    document = {"schemas": [SCIM_PATCH], "Operations": [
        {"op": "replace", "path": "displayName", "value": "Ann"},
        {"op": "add", "path": "/user/email", "value": {"home": "a@example.com"}},
        {"op": "replace", "path": "#/nickname", "value": "an"},
        {"Op": "Replace", "Path": "nickName", "Value": "an"},
        {"path": "email", "value": "a@example.com", "msg": "Invalid value"}]}
    _sent, logged = _patched(inline_wrap, collector, document,
                             denylist=["password", "user.password"])
    assert logged == document
    patch = [{"op": "replace", "path": "/name", "value": "Ann"}]
    _sent, logged = _patched(inline_wrap, collector, patch, allowlist=["op", "path", "value"])
    assert logged == [{"op": "replace", "path": "/name", "value": "[REDACTED 3]"}]
    _sent, logged = _patched(inline_wrap, collector, patch,
                             allowlist=["op", "path", "value", "name"])
    assert logged == patch


def test_a_route_path_beside_a_value_keeps_the_value(
        inline_wrap: Any, collector: Collector) -> None:
    """An object with a ``path`` and a ``value`` but no ``op`` is a validation error
    echoing a field only when its path is a field's (dotted): an API's per-route figures
    ({"path": "/oauth/token", "value": 1234}) or a file listing name a URL's or a file's
    path, and 85c2a5c redacted their value under a denylist naming ``token`` (review49).
    An operation's pointer is still read (the first member)."""
    document = {"routes": [
        {"path": "/oauth/token", "method": "POST", "value": 1234},
        {"path": "/v1/auth/token", "value": 99.5, "unit": "ms"},
        {"path": "#/token", "value": 7}],
        "ops": [{"op": "replace", "path": "/token", "value": "s3cret"}]}
    _sent, logged = _patched(inline_wrap, collector, document, denylist=["token"])
    assert logged == {"routes": document["routes"],
                      "ops": [{"op": "replace", "path": "/token", "value": "[REDACTED 6]"}]}


def test_fastapi_422_echoing_a_denied_field_has_its_input_redacted(
        inline_wrap: Any, collector: Collector) -> None:
    """FastAPI's 422 answer (pydantic 2) echoes each rejected value as ``input`` beside
    its ``loc``: a password too short went out in clear in the response body, though the
    request's own field was redacted (review49). A real FastAPI app, the middleware, the
    collector on 127.0.0.1; another field's input is kept."""
    import asyncio

    httpx = pytest.importorskip("httpx")
    fastapi = pytest.importorskip("fastapi")
    pydantic = pytest.importorskip("pydantic")
    from readme_metrics import MetricsApiConfig
    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    class Signup(pydantic.BaseModel):
        username: str = pydantic.Field(min_length=3)
        password: str = pydantic.Field(min_length=12)
        user: dict[str, pydantic.constr(min_length=12)]  # type: ignore[valid-type]

    app = fastapi.FastAPI()

    def signup(body: Any) -> Any:
        return {"ok": body.username}

    # (The module's annotations are strings, read in its globals: this one is local.)
    signup.__annotations__ = {"body": Signup, "return": dict}
    app.post("/signup")(signup)

    app.add_middleware(ReadMeMetricsMiddleware, config=MetricsApiConfig(
        api_key="rdme_test_key_review49", metrics_api=collector.url, buffer_length=1,
        background_worker_mode=False, timeout=INLINE_TIMEOUT, denylist=["password", "user.token"],
        grouping_function=lambda request: {"api_key": "caller-1"}))

    async def call() -> Any:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://api.example.com") as client:
            return await client.post("/signup", json={
                "username": "an", "password": "s3cret-shrt", "user": {"token": "tok-short"}})

    response = asyncio.run(call())
    assert response.status_code == 422
    assert "s3cret-shrt" in response.text  # what the app answers, as it is
    log = collector.wait_for_logs(1)[0]
    answered = json.loads(log["request"]["log"]["entries"][0]["response"]["content"]["text"])
    inputs = {tuple(error["loc"]): error["input"] for error in answered["detail"]}
    assert inputs == {("body", "username"): "an", ("body", "password"): "[REDACTED 11]",
                      ("body", "user", "token"): "[REDACTED 9]"}
    assert "s3cret-shrt" not in json.dumps(log) and "tok-short" not in json.dumps(log)


def test_a_patch_path_of_unclosed_filters_is_read_in_linear_time() -> None:
    """A SCIM path's value filters are left out of its keys; an unclosed ``[`` to the end:
    a pattern looking for each "[" 's "]" went back over the rest of the path for each
    (64 KiB of "[" cost 1.3 s, quadratic); now the 256 KiB of max_body_bytes take ms."""
    from readme_metrics.har.redaction import Redactor

    redactor = Redactor(denylist=["password"])
    text = json.dumps([{"op": "replace", "path": "[" * 256 * 1024, "value": "password"}])
    started = time.process_time()
    assert redactor.json_text(text) is not None
    assert time.process_time() - started < 0.25
