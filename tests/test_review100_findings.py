"""review100: an adversarial review of hostile21 (br and zstd bodies).

A body of many empty gzip members or zstd frames (20 bytes a gzip member, 8 a skippable
zstd frame) was undone one member at a time, each read from a copy of the rest of the
body (the decoder's ``unused_data``): the worker's time grew in the square of the
body's length (256 KiB of skippable zstd frames: 0.6 s of CPU for one log, 1 MiB: 5 s,
2 MiB: 16 s; gzip, 1 MiB: 0.85 s). Now at most ``MOST_MEMBERS`` members of one coding
are undone and the body is recorded as far as they go, cut short.

A text body under a Content-Encoding that names no compression (``utf-8``, ``none``,
``binary``: a charset or a word put there by mistake, which requests and urllib3 ignore,
reading the body as it is) was base64 before hostile21 and then ``[REDACTED]`` whole,
lists or none. SPEC 4 records text exactly as received: it is text again, checked as any
text is (the key masked, the lists applied); a body under a coding that compresses or
encrypts and cannot be undone stays redacted.
"""

from __future__ import annotations

import gzip
import importlib
import json
import struct
import sys
import zlib
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.har import Redactor, build_log, coding_engines
from readme_metrics.har.coding_engines import Engine
from readme_metrics.har.compression import MOST_MEMBERS, _inflate, decompress, missing_decoder
from readme_metrics.masking import mask
from tests.support.exchanges import body_on, entry_of
from tests.support.fake_api import Collector, free_port
from tests.support.har_check import assert_valid_log
from tests.test_e2e_servers import raw_answer, serve, server_env
from tests.test_hostile21_findings import (
    _SERVERS,
    _TARGETS,
    DENY,
    DOC,
    KEY,
    SECRET,
    _exchange,
    _leaks,
    _recorded,
    _request,
)

LIMIT = 256 * 1024
EMPTY_GZIP = gzip.compress(b"", mtime=0)
SKIPPABLE_FRAME = struct.pack("<II", 0x184D2A50, 0)  # a zstd skippable frame, no payload


def _counting(coder: Engine) -> tuple[Engine, list[int]]:
    """``coder``, counting the decoders it makes (one a member or frame read)."""
    made: list[int] = []

    def new() -> Any:
        made.append(1)
        return coder.new()

    return Engine(new, coder.error, coder.members), made


def _gzip_engine() -> Engine:
    return Engine(lambda: zlib.decompressobj(31), zlib.error, members=True)


def _stdlib_zstd() -> Engine:
    try:
        module = importlib.import_module("compression.zstd")
    except ImportError:
        module = pytest.importorskip("backports.zstd")
    return coding_engines.stdlib_zstd(module)


FLOODS: dict[str, tuple[Callable[[], Engine], bytes]] = {
    "gzip empty members": (_gzip_engine, EMPTY_GZIP),
    "zstd skippable frames": (_stdlib_zstd, SKIPPABLE_FRAME),
}


@pytest.mark.parametrize("flood", FLOODS)
def test_a_flood_of_empty_members_reads_a_bounded_number_of_them(flood: str) -> None:
    # Before: 13,107 gzip members / 32,768 zstd frames read, each from a copy of the
    # rest of the 256 KiB body (0.08 s and 0.6 s of CPU); now MOST_MEMBERS (64).
    make, member = FLOODS[flood]
    coder, made = _counting(make())
    body = member * (LIMIT // len(member))
    out, truncated = _inflate(body, coder, LIMIT)
    assert (out, truncated) == (b"", True)
    assert len(made) == MOST_MEMBERS == 64


def test_a_body_in_a_few_gzip_members_is_read_whole() -> None:
    body = b"".join(gzip.compress(b"part %d;" % i, mtime=0) for i in range(MOST_MEMBERS))
    decoded = decompress(body, "gzip", LIMIT)
    assert decoded is not None and not decoded.truncated
    assert decoded.body == b"".join(b"part %d;" % i for i in range(MOST_MEMBERS))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3 * MOST_MEMBERS).flatmap(
    lambda n: st.lists(st.binary(max_size=12), min_size=n, max_size=n)))
def test_gzip_members_are_read_up_to_the_bound(parts: list[bytes]) -> None:
    body = b"".join(gzip.compress(part, mtime=0) for part in parts)
    decoded = decompress(body, "gzip", LIMIT)
    assert decoded is not None
    assert decoded.body == b"".join(parts[:MOST_MEMBERS])
    assert decoded.truncated == (len(parts) > MOST_MEMBERS)


@pytest.mark.parametrize("side", ["request", "response"])
def test_a_flood_of_members_is_logged_cut_short_with_its_text_past_the_bound_unread(
        side: str) -> None:
    # The member after the flood holds the text: past the bound, it is not recorded.
    body = EMPTY_GZIP * 1000 + gzip.compress(b'{"secret": "s3cr3t"}', mtime=0)
    exchange = body_on(side, [("Content-Type", "application/json"),
                              ("Content-Encoding", "gzip")], body)
    entry = entry_of(exchange)
    recorded = entry["request"]["postData"] if side == "request" \
        else entry["response"]["content"]
    assert recorded["text"] == ""
    assert recorded["comment"] == "decompressed from Content-Encoding gzip, to the first 0 bytes"
    assert "s3cr3t" not in str(entry)


@pytest.mark.parametrize("coding", ["utf-8", "UTF-8", "none", "binary", "identity, utf-8"])
@pytest.mark.parametrize("side", ["request", "response"])
@pytest.mark.parametrize("lists", [None, DENY], ids=["no-lists", "denylist"])
def test_a_text_body_under_a_coding_that_names_no_compression_is_recorded_as_received(
        coding: str, side: str, lists: Optional[Redactor]) -> None:
    # Before: "[REDACTED]", "body could not be decoded, so it was redacted whole".
    log = json.loads(json.dumps(build_log(_exchange(side, coding, DOC), redactor=lists)))
    assert_valid_log(log)
    recorded = _recorded(log["request"]["log"]["entries"][0], side)
    assert "encoding" not in recorded
    assert recorded["comment"] == (
        "its Content-Encoding names no compression: recorded as received")
    doc = json.loads(recorded["text"])
    assert doc["api_key"] == mask(KEY) and doc["user"] == "owlbert"
    assert doc["password"] == (SECRET if lists is None else f"[REDACTED {len(SECRET)}]")
    assert _leaks(log, KEY) == []


@pytest.mark.parametrize("coding", [
    "compress", "x-compress", "aes128gcm", "xz", "gzip;q=1", "utf-8, compress", "dcz"])
def test_a_text_body_under_a_coding_that_compresses_stays_redacted(coding: str) -> None:
    recorded = _recorded(entry_of(_exchange("response", coding, DOC)), "response")
    assert recorded["text"] == "[REDACTED]"


@pytest.mark.parametrize("body", [b"\x1f\x8b\x08\x00binary", b"a\x00b", b"caf\xe9"])
def test_a_body_that_is_no_text_under_a_coding_that_names_no_compression_stays_redacted(
        body: bytes) -> None:
    recorded = _recorded(entry_of(_exchange("request", "utf-8", body)), "request")
    assert recorded["text"] == "[REDACTED]"


def test_the_comment_holds_none_of_the_header() -> None:
    # The header is the client's: the caller's key in it is not copied into the comment.
    entry = entry_of(_exchange("request", KEY, b"plain text"))
    assert entry["request"]["postData"]["text"] == "plain text"
    assert KEY not in entry["request"]["postData"]["comment"]


class _OldBrotli:
    """brotli before 1.2: ``process`` takes no ``output_buffer_limit``."""

    error = Exception

    class Decompressor:
        def process(self, data: bytes) -> bytes:
            return b""


def test_an_old_brotli_is_named_as_such(monkeypatch: pytest.MonkeyPatch) -> None:
    # Before: "install brotli to record such bodies", brotli being installed.
    monkeypatch.setitem(sys.modules, "brotli", _OldBrotli)
    monkeypatch.setitem(sys.modules, "brotlicffi", None)  # (None: an ImportError)
    for cached in (coding_engines.engine, coding_engines.too_old):
        cached.cache_clear()
    try:
        assert coding_engines.engine("br") is None
        assert missing_decoder("br") == "install brotli 1.2 or newer to record such bodies"
        assert missing_decoder("gzip, br, zstd").startswith("install brotli 1.2 or newer")
    finally:
        coding_engines.engine.cache_clear()
        coding_engines.too_old.cache_clear()


@pytest.mark.e2e
@pytest.mark.parametrize("server", ["gunicorn-sync", "uvicorn"])
def test_under_real_servers(server: str, collector: Collector, tmp_path: Path) -> None:
    """hostile21's echo app (it answers the body it read under the same coding): a gzip
    member flood is recorded cut short at MOST_MEMBERS on both sides (before: read
    whole, the JSON after it recorded), and JSON under ``Content-Encoding: utf-8`` as
    the JSON it is (before: ``[REDACTED]``); the key never posted."""
    flood = EMPTY_GZIP * 1000 + gzip.compress(DOC, mtime=0)
    port = free_port()
    with serve(_SERVERS[server](port, _TARGETS.get(server, "tests.support.hostile21_apps:app")),
               server_env(collector), tmp_path, port):
        for coding, body in (("gzip", flood), ("utf-8", DOC)):
            assert raw_answer(port, _request(coding, body)).startswith(b"HTTP/1.1 200")
        logs = collector.wait_for_logs(2)
    assert KEY.encode() not in b"".join(r.body for r in collector.received)
    # (The servers' environment keeps 4096 bytes of a body: 204 members, 64 read.)
    by_comment = {_recorded(log["request"]["log"]["entries"][0], "request")["comment"]: log
                  for log in logs}
    flooded = by_comment["decompressed from Content-Encoding gzip, to the first 0 bytes; "
                         "truncated to 4096 of 20179 bytes"]
    as_sent = by_comment["its Content-Encoding names no compression: recorded as received"]
    for side in ("request", "response"):
        assert _recorded(flooded["request"]["log"]["entries"][0], side)["text"] == ""
        doc = json.loads(_recorded(as_sent["request"]["log"]["entries"][0], side)["text"])
        assert doc["api_key"] == mask(KEY) and doc["password"] == SECRET
