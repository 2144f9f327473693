"""secrets16: what secrets15 and review72 left in clear, or masked where nothing was
secret.

* The caller's key base64-encoded in a JSON string written with ``\\u`` escapes or
  ``\\/`` (PHP's json_encode), or wrapped across lines (MIME's 76 columns, PEM's 64,
  with CRLF, LF, or the JSON escapes ``\\r\\n``): no spelling was found as written.
* An all-capitals ``HEADERS`` member holding credential headers keyed by name.
* A header list in a form-encoded response body (``application/x-www-form-urlencoded``
  answers): only request forms were looked at.
* A settings list (``{"name": "auth", "value": "enabled"}``) had its setting masked.

Each leak case goes through the WSGI middleware to the collector on 127.0.0.1, and the
posted batch is searched for the key in every spelling a reader can decode (review72's
search: as is, percent- or JSON-decoded, line breaks taken out, base64 at each
alignment in either alphabet).
"""

from __future__ import annotations

import base64
import json
from typing import Any, Callable

import pytest

from readme_metrics import MetricsMiddleware
from tests.support.contract import exchange, reading_app, spec_mask
from tests.support.fake_api import Collector
from tests.support.leaks import found_spelled
from tests.test_review72_findings import _spelled

KEY = "sk_live_secrets16Kq9Zx3Vw8"
S = "Qz9secrets16Secret"
JSON = {"Content-Type": "application/json"}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode("ascii")


def _sent(collector: Collector, wrap: Callable[..., MetricsMiddleware], app: Any = None,
          key: str = KEY, **request: Any) -> tuple[list[str], dict[str, Any]]:
    before = len(collector.received)
    middleware = wrap(app or reading_app(),
                      grouping_function=lambda req: {"api_key": key, "label": "owl"})
    _, _, entry = exchange(middleware, collector, **request)
    bodies = [r.body for r in collector.received[before:] if r.path == "/v1/request"]
    assert bodies
    return _spelled(bodies, key), entry


# A certificate-like blob long enough to wrap, the key's credential in the middle.
LONG = _b64("x" * 40 + "owl:" + KEY + "y" * 60)


def _wrapped(text: str, width: int, newline: str) -> str:
    return newline.join(text[at:at + width] for at in range(0, len(text), width))


def _escaped(text: str) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in text)


ESCAPED_OR_WRAPPED = {
    "\\u escapes": '{"auth": "Basic ' + _escaped(_b64("owl:" + KEY)) + '"}',

    "MIME 76, CRLF escaped": json.dumps({"blob": _wrapped(LONG, 76, "\r\n")}),
    "PEM 64, LF escaped": json.dumps({"blob": _wrapped(LONG, 64, "\n")}),
}
TEXT_WRAPPED = {
    "MIME 76, CRLF": _wrapped(LONG, 76, "\r\n"),
    "PEM 64, LF": "-----BEGIN X-----\n" + _wrapped(LONG, 64, "\n") + "\n-----END X-----\n",
}


@pytest.mark.parametrize("text", list(ESCAPED_OR_WRAPPED.values()), ids=list(ESCAPED_OR_WRAPPED))
@pytest.mark.parametrize("side", ["request", "response"])
def test_the_key_in_escaped_or_wrapped_base64_in_json_is_masked(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        text: str, side: str) -> None:
    if side == "request":
        hits, entry = _sent(collector, inline_wrap, method="POST", body=text.encode(),
                            headers=JSON)
        logged = entry["request"]["postData"]["text"]
    else:
        app = reading_app(headers=[("Content-Type", "application/json")],
                          body=[text.encode()])
        hits, entry = _sent(collector, inline_wrap, app=app, method="GET")
        logged = entry["response"]["content"]["text"]
    assert hits == []
    json.loads(logged)


@pytest.mark.parametrize("text", list(TEXT_WRAPPED.values()), ids=list(TEXT_WRAPPED))
def test_the_key_in_wrapped_base64_in_a_text_body_is_masked(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        text: str) -> None:
    hits, entry = _sent(collector, inline_wrap, method="POST", body=text.encode(),
                        headers={"Content-Type": "text/plain"})
    assert hits == []


# A key whose base64 spelling at the third alignment holds a "/" ("user:" before it).
SLASHED = "sk_live_s?crets16Kq9Zx3Vw8"


@pytest.mark.parametrize("side", ["request", "response"])
def test_the_key_in_base64_with_escaped_slashes_is_masked(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        side: str) -> None:
    """PHP's json_encode writes "/" as "\\/": the spelling's "/" is not as written."""
    encoded = _b64("user:" + SLASHED)
    assert "/" in encoded
    text = '{"auth": "Basic ' + encoded.replace("/", "\\/") + '"}'
    if side == "request":
        hits, entry = _sent(collector, inline_wrap, key=SLASHED, method="POST",
                            body=text.encode(), headers=JSON)
        logged = entry["request"]["postData"]["text"]
    else:
        app = reading_app(headers=[("Content-Type", "application/json")],
                          body=[text.encode()])
        hits, entry = _sent(collector, inline_wrap, app=app, key=SLASHED, method="GET")
        logged = entry["response"]["content"]["text"]
    assert hits == []
    auth = json.loads(logged)["auth"].split(" ")[1]
    assert base64.b64decode(auth + "=" * (-len(auth) % 4)).decode() == (
        "user:" + spec_mask(SLASHED))


# A key whose base64 spelling at the third alignment holds a "+".
PLUSSED = "sk_live_secrets16K>q9Zx3Vw8"
FILLER = [{"id": n, "note": "lorem ipsum dolor sit amet"} for n in range(40)]


@pytest.mark.parametrize(("key", "blob"), [
    (KEY, _wrapped(LONG, 64, "\n")),
    (KEY, _wrapped(LONG, 76, "\r\n")),
    (PLUSSED, _b64("user:" + PLUSSED).replace("+", "\\u002B")),
    (SLASHED, _b64("user:" + SLASHED).replace("/", "\\/")),
], ids=["PEM", "MIME", ".NET's \\u002B", "PHP's \\/"])
def test_the_key_in_broken_base64_in_a_long_body_is_masked(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        key: str, blob: str) -> None:
    """A body of 1 KB or more is looked for a broken spelling only when a spelling's
    probe characters are there (or its missing one is "+" or "/", which JSON escapes)."""
    assert "+" not in blob and "/" not in blob.replace("\\/", "")
    text = json.dumps({"rows": FILLER})[:-1] + ', "blob": "' + json.dumps(blob)[1:-1].replace(
        "\\\\", "\\") + '"}'
    assert len(text) > 1024
    json.loads(text)
    hits, entry = _sent(collector, inline_wrap, key=key, method="POST", body=text.encode(),
                        headers=JSON)
    assert hits == []
    assert json.loads(entry["request"]["postData"]["text"])["rows"] == FILLER


def test_a_wrapped_run_is_masked_and_wrapped_as_it_was(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    """What stands around the key decodes as before; the lines keep their width."""
    text = TEXT_WRAPPED["PEM 64, LF"]
    _, entry = _sent(collector, inline_wrap, method="POST", body=text.encode(),
                     headers={"Content-Type": "text/plain"})
    logged = entry["request"]["postData"]["text"]
    lines = logged.split("\n")
    assert lines[0] == "-----BEGIN X-----" and lines[-2:] == ["-----END X-----", ""]
    assert {len(line) for line in lines[1:-3]} == {64}
    data = base64.b64decode("".join(lines[1:-2]))
    assert data == ("x" * 40 + "owl:" + spec_mask(KEY) + "y" * 60).encode()


def test_json_escaped_base64_is_masked_and_read_back_as_json(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    text = '{"auth": "Basic ' + _escaped(_b64("owl:" + KEY)) + '"}'
    _, entry = _sent(collector, inline_wrap, method="POST", body=text.encode(), headers=JSON)
    auth = json.loads(entry["request"]["postData"]["text"])["auth"]
    encoded = auth.split(" ")[1]  # unpadded, as it was written
    assert base64.b64decode(encoded + "=" * (-len(encoded) % 4)).decode() == (
        "owl:" + spec_mask(KEY))


@pytest.mark.parametrize("text", [
    '{"note": "line one\\nline two", "path": "a\\/b", "v": "\\u0041BC"}',
    "-----BEGIN X-----\n" + _wrapped(_b64("x" * 90), 64, "\n") + "\n-----END X-----\n",
])
def test_escapes_and_wrapped_base64_without_the_key_are_kept(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        text: str) -> None:
    _, entry = _sent(collector, inline_wrap, method="POST", body=text.encode(),
                     headers={"Content-Type": "text/plain"})
    assert entry["request"]["postData"]["text"] == text


# -- names holding the key ---------------------------------------------------------------

NAMES = {
    "query name": {"method": "GET", "query": f"{KEY}=1&a=2"},
    "header name": {"method": "GET", "headers": {f"X-{KEY}": "1"}},
    "json member name": {"method": "POST", "headers": JSON,
                         "body": json.dumps({KEY: 1}).encode()},
    "form field name": {"method": "POST",
                        "headers": {"Content-Type": "application/x-www-form-urlencoded"},
                        "body": f"{KEY}=1".encode()},
    "cookie name": {"method": "GET", "headers": {"Cookie": f"{KEY}=1"}},
}


@pytest.mark.parametrize("request_", list(NAMES.values()), ids=list(NAMES))
def test_a_name_holding_the_key_is_masked(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        request_: dict[str, Any]) -> None:
    hits, _ = _sent(collector, inline_wrap, **request_)
    assert hits == []


@pytest.mark.parametrize("key", ["9k3yabc9pq2r7zt5w", KEY, "k3y_Ab9"])
def test_a_header_name_holding_the_key_is_masked_in_any_case(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        key: str) -> None:
    """A WSGI server passes a header's name on upper-cased with "_" for "-" (shown in
    title case), an ASGI server lower-cased: the key in it spelled so went out in clear
    (docs/BODIES.md: "not a header's name"). A short key only as the whole name."""
    for _ in range(2):  # the second time, a name the first taught to be plain
        hits, entry = _sent(collector, inline_wrap, key=key, method="GET",
                            headers={f"X-{key}": "1", key: "2", "X-Trace": key[:3]})
    names = [h["name"] for h in entry["request"]["headers"]]
    folded = key.lower().replace("_", "-")
    assert hits == [] and "X-Trace" in names
    if len(key) >= 8:
        assert not any(folded in name.lower() for name in names)
        assert "X-" + spec_mask(key) in names
    else:
        assert spec_mask(key) in names and not any(folded == n.lower() for n in names)


# -- credential headers keyed by name under an all-capitals member ------------------------

def test_an_all_capitals_headers_member_is_masked(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    before = len(collector.received)
    text = json.dumps({"HEADERS": {"Authorization": f"Bearer {S}", "Accept": "*/*"}})
    _, _, entry = exchange(inline_wrap(reading_app()), collector, method="POST",
                           body=text.encode(), headers=JSON)
    bodies = [r.body for r in collector.received[before:] if r.path == "/v1/request"]
    assert found_spelled(bodies, S) == []
    assert json.loads(entry["request"]["postData"]["text"])["HEADERS"]["Accept"] == "*/*"


# -- a header list in a form-encoded response --------------------------------------------

def test_a_header_list_in_a_form_response_is_masked(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    text = (f"headers%5B0%5D%5Bname%5D=Authorization&headers%5B0%5D%5Bvalue%5D=Bearer+{S}"
            "&headers%5B1%5D%5Bname%5D=Accept&headers%5B1%5D%5Bvalue%5D=text%2Fhtml&n=1")
    app = reading_app(headers=[("Content-Type", "application/x-www-form-urlencoded")],
                      body=[text.encode()])
    before = len(collector.received)
    _, _, entry = exchange(inline_wrap(app), collector, method="GET")
    bodies = [r.body for r in collector.received[before:] if r.path == "/v1/request"]
    assert found_spelled(bodies, S) == []
    logged = entry["response"]["content"]["text"]
    assert "Accept" in logged and "text%2Fhtml" in logged and logged.endswith("&n=1")


def test_a_header_list_in_a_form_response_is_masked_with_a_denylist(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    text = f"name%5B%5D=X-Api-Key&value%5B%5D={S}&name%5B%5D=Accept&value%5B%5D=a"
    app = reading_app(headers=[("Content-Type", "application/x-www-form-urlencoded")],
                      body=[text.encode()])
    before = len(collector.received)
    _, _, entry = exchange(inline_wrap(app, denylist=["password"]), collector, method="GET")
    bodies = [r.body for r in collector.received[before:] if r.path == "/v1/request"]
    assert found_spelled(bodies, S) == []
    assert entry["response"]["content"]["text"].endswith("&value%5B%5D=a")


# -- a settings list naming no header ----------------------------------------------------

@pytest.mark.parametrize("text", [
    '[{"name":"auth","value":"enabled"},{"name":"theme","value":"dark"}]',
    '{"settings":[{"name":"token","value":"required"},{"name":"cookie","value":"off"}]}',
    '[["auth","disabled"],["sig","none"]]',
])
def test_a_settings_list_naming_no_header_is_kept(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        text: str) -> None:
    _, _, entry = exchange(inline_wrap(reading_app()), collector, method="POST",
                           body=text.encode(), headers=JSON)
    assert entry["request"]["postData"]["text"] == text


@pytest.mark.parametrize("value", ["Bearer abc123", "s3cr3t-token-value", "on-call"])
def test_a_credential_pair_holding_no_setting_is_still_masked(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        value: str) -> None:
    text = json.dumps([{"name": "Authorization", "value": value},
                       {"name": "auth", "value": value}])
    _, _, entry = exchange(inline_wrap(reading_app()), collector, method="POST",
                           body=text.encode(), headers=JSON)
    assert json.loads(entry["request"]["postData"]["text"]) == [
        {"name": "Authorization", "value": spec_mask(value)},
        {"name": "auth", "value": spec_mask(value)}]


# -- mask()'s cache ----------------------------------------------------------------------

def test_the_mask_cache_does_not_keep_long_values() -> None:
    """A credential value from a body (up to max_body_bytes) was kept by mask()'s cache
    with its mask: 4096 of them, of any length. 20 distinct values of 1 MB masked: what
    stays allocated afterwards is far below their 20 MB."""
    import gc
    import tracemalloc

    from readme_metrics.masking import mask

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        masks = {mask(f"{n:04d}" + "s" * 1_000_000) for n in range(20)}
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(masks) == 20
    assert kept < 2_000_000


def test_a_value_past_the_cached_length_is_masked_as_one_cached() -> None:
    from readme_metrics.masking import CACHED_LENGTH, mask

    long, short = "t" * (CACHED_LENGTH + 1), "t" * CACHED_LENGTH
    assert mask(long) == spec_mask(long) and mask(short) == spec_mask(short)
