"""codings1: compressed bodies the redaction did not look inside.

1. A gzip upload with no Content-Encoding (``application/gzip``, ``application/x-gzip``,
   ``application/octet-stream`` or no type) holding ``{"password": ...}`` was recorded as
   base64 of the gzip, which ``base64 -d | gunzip`` reads, with a denylist naming
   password: the check of binary data (redacted whole when it spells a listed key) read
   the compressed bytes only. Now a layer it holds compressed (gzip, zlib, zstd; four at
   most, each to max_body_bytes) is read for that check; one that spells a listed key, or
   cannot be read whole within those bounds, is redacted whole.
2. A zlib stream inside a declared gzip was not detected (only gzip members and zstd
   frames): recorded as base64 of zlib. Now read by the same check (its two-byte header
   tells it; what a random body that passes it costs: the bench in docs/BODIES.md).
3. The caller's key compressed in such a body was base64 of its compressed bytes; now
   the body is redacted whole when a layer spells the key (within the same bounds).
"""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from typing import Any, Callable, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.har import build_entry
from readme_metrics.har.bodies import content, post_data
from readme_metrics.har.compression import MOST_CODINGS
from readme_metrics.har.headers import RAW_CONTENT_ENCODING, RAW_CONTENT_TYPE
from readme_metrics.har.redaction import Redactor
from tests.support.exchanges import body_on
from tests.support.fake_api import Collector
from tests.support.processes import run_command
from tests.test_e2e_servers import CALLER, MAX_BODY
from tests.test_forms22_findings import logged_echo
from tests.test_forms23_findings import served as forms23_served

zstandard = pytest.importorskip("zstandard")

DENY = Redactor(denylist=["password"])
SECRET = "Zq8h22Xw3K"
DOC = json.dumps({"user": "zoe", "password": SECRET}).encode()
UNREDACTABLE = "body could not be parsed to redact it field by field, so it was redacted whole"
TYPES = ["application/gzip", "application/x-gzip", "application/octet-stream", None]


def _head(content_type: Optional[str], coding: Optional[str] = None) -> dict[str, str]:
    head = {} if content_type is None else {"content-type": content_type,
                                           RAW_CONTENT_TYPE: content_type}
    if coding is not None:
        head[RAW_CONTENT_ENCODING] = coding
    return head


def _records(body: bytes, head: dict[str, str], redactor: Optional[Redactor] = DENY,
             limit: int = 1 << 20) -> list[dict[str, Any]]:
    return [post_data(body, len(body), head, redactor, limit),
            content(body, len(body), head, redactor, limit)]


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def _zstd(data: bytes) -> bytes:
    return bytes(zstandard.ZstdCompressor().compress(data))


CODERS: dict[str, Callable[[bytes], bytes]] = {"gzip": _gzip, "zlib": zlib.compress,
                                                "zstd": _zstd}


def _gunzipped(text: str) -> bytes:
    """What ``base64 -d | gunzip`` prints for a logged body (gunzip's own output, what a
    reader gets with one command)."""
    return run_command(["gunzip", "-c"], input=base64.b64decode(text),
                       capture_output=True).stdout


# 1. No Content-Encoding: the gzip's bytes were base64, gunzip read the secret.
@pytest.mark.parametrize("content_type", TYPES)
def test_an_undeclared_gzip_spelling_a_denied_key_is_redacted_whole(
        content_type: Optional[str]) -> None:
    for record in _records(_gzip(DOC), _head(content_type)):
        assert record["text"] == "[REDACTED]", (content_type, _gunzipped(record["text"]))
        assert record["comment"] == UNREDACTABLE


#: Long enough for zstd to code its literals (a short one's stay as they are).
LONG_DOC = json.dumps({"user": "zoe", "password": SECRET, "pad": "abcdefgh" * 20,
                       "n": list(range(20))}).encode()


@pytest.mark.parametrize("coder", ["zlib", "zstd"])
def test_an_undeclared_zlib_or_zstd_so_too(coder: str) -> None:
    body = CODERS[coder](LONG_DOC)
    assert b"password" not in body
    for record in _records(body, _head("application/octet-stream")):
        assert record["text"] == "[REDACTED]", coder


def test_a_gzip_whose_checksum_is_wrong_so_too() -> None:
    # gunzip prints the data, then says the CRC does not match; zlib gave nothing.
    body = bytearray(_gzip(DOC))
    body[-8] ^= 0xFF
    assert SECRET.encode() in _gunzipped(base64.b64encode(bytes(body)).decode())
    assert _records(bytes(body), _head(None))[0]["text"] == "[REDACTED]"


@pytest.mark.parametrize("layers", [2, MOST_CODINGS])
def test_layers_within_the_bound_are_read(layers: int) -> None:
    body = DOC
    for at in range(layers):
        body = (_gzip, zlib.compress, _zstd)[at % 3](body)
    assert _records(body, _head(None))[0]["text"] == "[REDACTED]"


def test_past_the_bounds_a_body_is_redacted_whole() -> None:
    # A fifth layer, and a layer reaching max_body_bytes (what follows is not read, but
    # its base64 would show it): neither can be checked whole.
    five = DOC
    for _ in range(MOST_CODINGS + 1):
        five = _gzip(five)
    big = _gzip(b"\0" * 5000 + DOC)
    for body in (five, big):
        assert _records(body, _head(None), limit=4096)[0]["text"] == "[REDACTED]"


def test_guard_a_compressed_body_naming_nothing_listed_is_recorded_as_sent() -> None:
    # (Passes before too.) The app's data, as it was sent; lists or none.
    body = _gzip(json.dumps({"user": "zoe", "note": "hi"}).encode())
    for redactor in (DENY, None):
        post, answer = _records(body, _head("application/gzip"), redactor)
        assert post["text"] == answer["text"] == base64.b64encode(body).decode()
        assert post["comment"] == "base64" and answer["encoding"] == "base64"


def test_a_bomb_is_read_to_the_bound_and_redacted_whole_with_a_list() -> None:
    # 64 MiB of zeros in 64 KiB of gzip: read to the bound, not past it; what follows
    # cannot be checked, so with a list the body is redacted whole (as sent without).
    bomb = _gzip(b"\0" * (64 << 20))
    assert _records(bomb, _head(None), limit=1 << 16)[0]["text"] == "[REDACTED]"
    assert _records(bomb, _head(None), None, limit=1 << 16)[0]["text"] != "[REDACTED]"


# 2. A zlib stream inside a declared coding was base64 of the zlib.
@pytest.mark.parametrize("inner", ["zlib", "gzip-of-zlib"])
def test_zlib_inside_a_declared_gzip_is_read(inner: str) -> None:
    body = zlib.compress(DOC)
    if inner == "gzip-of-zlib":
        body = _gzip(body)
    for record in _records(_gzip(body), _head("application/json", "gzip")):
        assert record["text"] == "[REDACTED]", inner


# 3. The caller's key in an undeclared gzip: base64 of the gzip.
KEY = "ck_live_7f3a9b2c4d5e6f70"


@pytest.mark.parametrize("side", ["request", "response"])
def test_the_callers_key_compressed_hides_the_body(side: str) -> None:
    body = _gzip(json.dumps({"note": "hi", "echo": KEY}).encode())
    headers = [("Content-Type", "application/octet-stream")]
    entry = build_entry(body_on(side, headers, body), None, 1 << 20, caller_key=KEY)
    record = entry["request"]["postData"] if side == "request" \
        else entry["response"]["content"]
    assert record["text"] == "[REDACTED]"
    assert record["comment"] == "body holds the caller's key compressed, so it was redacted whole"
    assert "encoding" not in record


def test_guard_a_compressed_body_without_the_key_keeps_its_base64() -> None:
    body = _gzip(b'{"note": "hi"}')
    entry = build_entry(body_on("request", [], body), None, 1 << 20, caller_key=KEY)
    assert entry["request"]["postData"]["text"] == base64.b64encode(body).decode()


# The property: random JSON with a planted denied value, compressed by a random stack of
# 1-4 codings, with or without Content-Encoding: never readable from the log.
_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


def _undone(text: str, stack: list[str]) -> bytes:
    """The log's body as a reader decodes it: base64, then each layer in turn."""
    data = base64.b64decode(text)
    for coder in reversed(stack):
        data = {"gzip": gzip.decompress, "zlib": zlib.decompress,
                "zstd": lambda d: zstandard.ZstdDecompressor().decompress(d)}[coder](data)
    return data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=st.dictionaries(st.text(max_size=6), _values, max_size=4),
       secret=st.from_regex(r"[A-Za-z0-9]{12}", fullmatch=True),
       stack=st.lists(st.sampled_from(sorted(CODERS)), min_size=1, max_size=MOST_CODINGS),
       declared=st.integers(0, 4), content_type=st.sampled_from(TYPES + ["application/json"]))
def test_a_planted_denied_value_never_reads_back(
        doc: dict[str, Any], secret: str, stack: list[str], declared: int,
        content_type: Optional[str]) -> None:
    body = json.dumps({**doc, "password": secret}).encode()
    for coder in stack:
        body = CODERS[coder](body)
    # The outermost ``declared`` codings named by Content-Encoding (zlib as "deflate").
    named = [{"zlib": "deflate"}.get(c, c) for c in stack[len(stack) - declared:]] \
        if declared else []
    head = _head(content_type, ", ".join(named) if named else None)
    for record in _records(body, head):
        text = record["text"]
        assert secret not in text
        is_base64 = record.get("encoding") == "base64" or \
            record.get("comment", "").startswith("base64")
        if is_base64:
            inner = stack[:len(stack) - len(named)]
            for depth in range(len(inner) + 1):
                try:
                    read = _undone(text, inner[len(inner) - depth:])
                except Exception:  # noqa: BLE001 - a layer the log does not hold
                    continue
                assert secret.encode() not in read, (stack, named, depth)


# End to end: twins21's Flask app (gunicorn) and FastAPI app (uvicorn), denylist
# "password", POST /echo answering the body back with its type; a real collector.
# (forms23's module fixture: one server of each for this module.)
served = forms23_served


@pytest.mark.e2e
@pytest.mark.parametrize("content_type", TYPES)
def test_served_gzip_uploads(served: tuple[str, Collector],
                             content_type: Optional[str]) -> None:
    assert len(DOC) < MAX_BODY
    # (requests sends no Content-Type for bytes; logged_echo's default is a form's.)
    headers = {"Accept": "*/*"} if content_type is None else {"Content-Type": content_type}
    entry = logged_echo(served, f"gzip-{content_type}", _gzip(DOC), headers)
    post, answer = entry["request"]["postData"], entry["response"]["content"]
    assert post["text"] == answer["text"] == "[REDACTED]"
    # The caller's key (the X-Api-Key the twins' grouping returns), compressed.
    body = _gzip(json.dumps({"note": "hi", "echo": CALLER}).encode())
    entry = logged_echo(served, f"key-{content_type}", body, headers)
    post, answer = entry["request"]["postData"], entry["response"]["content"]
    assert post["text"] == answer["text"] == "[REDACTED]"
    assert post["comment"] == "body holds the caller's key compressed, so it was redacted whole"
    # Nothing listed inside: as sent.
    body = _gzip(b'{"note": "hi"}')
    entry = logged_echo(served, f"plain-{content_type}", body, headers)
    assert entry["request"]["postData"]["text"] == base64.b64encode(body).decode()
