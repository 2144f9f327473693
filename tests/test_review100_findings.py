"""review100: an adversarial review of hostile21 (br and zstd bodies).

A body of many empty gzip members or zstd frames (20 bytes a gzip member, 8 a skippable
zstd frame) was undone one member at a time, each read from a copy of the rest of the
body (the decoder's ``unused_data``): the worker's time grew in the square of the
body's length (256 KiB of skippable zstd frames: 0.6 s of CPU for one log, 1 MiB: 5 s,
2 MiB: 16 s; gzip, 1 MiB: 0.85 s). Now at most ``MOST_MEMBERS`` members of one coding
are undone and the body is recorded as far as they go, cut short.
"""

from __future__ import annotations

import gzip
import importlib
import struct
import zlib
from typing import Any, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.har import coding_engines
from readme_metrics.har.coding_engines import Engine
from readme_metrics.har.compression import MOST_MEMBERS, _inflate, decompress
from tests.support.exchanges import body_on, entry_of

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
