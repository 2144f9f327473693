"""hostile46: compressed and base64 bodies that still leaked (review135, hostile44).

1. A zlib stream with a window under 32 KiB (``zlib.compressobj(wbits=9..14)``, an
   embedded encoder's: ``CMF`` ``08`` to ``68``) as base64: only ``78``'s pairs
   (``eJ``, ``eN``, ``eA``, ``eF``) started a run, so its ``.env`` went out in every
   place (a binary body of its bytes was read: ``_told`` took any window).
2. Base64 in groups the runs did not join: groups of 2 or 3 characters that split the
   magic (``UE sD BB QA``), marks of 4 or more characters (four blanks, tabs), marks
   that change between groups (``UEsD BBQA\\tAAAI,...``) and percent-encoded marks in a
   text (``%20``, ``%0A``: a URL's value, read as its ``%2B`` is). ``b64decode`` reads
   every one.
3. ``kind_at`` decoded a run's first 12 characters from a 40-character window: a run
   whose first characters hold four ``/`` written ``&#x0002F;`` (nine characters each)
   was never read.
"""

from __future__ import annotations

import base64
import gzip
import html
import json
import zlib
from urllib.parse import quote, unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.har import inflation_budget
from readme_metrics.har.base64_runs import _end, archive_held, archives_hidden
from readme_metrics.har.base64_starts import ALPHABET, ZLIB, kind_at, zlib_start_in
from readme_metrics.har.key_shapes import _zlib_run_in
from tests.support.fake_api import Collector
from tests.support.flask_echo import body_texts, logged_echo
from tests.support.sent_bodies import SECRET, bodies_logged, kept_as_sent
from tests.test_hostile41_findings import (
    DENY,
    ENV,
    GROUPED,
    PROSE,
    PROSE_ZIP,
    ZIP,
    _b64,
    _form_kept,
    _grouped,
    _leaks,
)
from tests.test_hostile44_findings import _assert_linear, run_ends_before


@pytest.fixture(autouse=True)
def full_budget() -> None:
    inflation_budget.BUDGET.refill()


def _windowed(data: bytes, wbits: int, level: int = 6) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, wbits)
    return compressor.compress(data) + compressor.flush()


# 1. every zlib window ---------------------------------------------------------------

@pytest.mark.parametrize("level", [0, 1, 6, 9])
@pytest.mark.parametrize("wbits", range(9, 15))
def test_a_zlib_stream_of_any_window_is_read(wbits: int, level: int) -> None:
    """Failed before: 24 of 24 (text, JSON, form, query, a zip's entry, binary)."""
    value = _b64(_windowed(ENV, wbits, level))
    assert zlib.decompress(base64.b64decode(value)) == ENV
    assert _leaks(value) == []
    assert _leaks("backup_" + value) == []


def test_a_256_byte_window_is_read() -> None:
    """``CMF`` ``08`` (a window of 256 bytes, which zlib's own deflate never writes but
    inflate reads). Failed before."""
    stream = _windowed(ENV, 9)
    flags = stream[1] & 0xE0
    flags |= 31 - (0x08 << 8 | flags) % 31
    value = _b64(bytes((0x08, flags)) + stream[2:])
    assert zlib.decompress(base64.b64decode(value)) == ENV
    assert _leaks(value) == []


def test_every_header_pair_is_a_start() -> None:
    """The 32 pairs are every deflate header (no dictionary, its check passed)."""
    headers = {(cmf, flg) for cmf in range(256) for flg in range(256)
               if cmf & 0x0F == 8 and cmf >> 4 <= 7 and not flg & 0x20
               and (cmf << 8 | flg) % 31 == 0}
    assert len(headers) == 32
    assert set(ZLIB) == {_b64(bytes((cmf, flg, 0)))[:2] for cmf, flg in headers}


@pytest.mark.parametrize("wbits", [9, 12, 14])
def test_a_small_window_percent_encoded_in_a_query_or_a_form(wbits: int) -> None:
    """``%53%49k...`` (``SI``: werkzeug and Django decode it for the app). Failed before:
    3 of 3."""
    value = _b64(_windowed(ENV, wbits))
    raw = "".join(f"%{ord(c):02X}" for c in value[:2]) + quote(value[2:], safe="")
    leaks = _leaks(value, raw)
    assert "form" not in leaks and "query" not in leaks


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=sorted(ALPHABET) + list(" .:=,;%\"'\n\0\xff"), max_size=4),
       st.sampled_from(ZLIB))
def test_bytes_and_text_start_every_zlib_pair_alike(before: str, magic: str) -> None:
    text = before + magic + "x" * 20
    assert _zlib_run_in(text.encode("latin-1")) == zlib_start_in(text)


def test_guard_small_window_prose_and_capitals_are_kept() -> None:
    """zlib of prose at each window, and prose whose capitals are pairs (``OK``, ``SELECT``,
    ``a New``, ``CBOR``): kept (passed before too)."""
    for wbits in range(9, 16):
        value = _b64(_windowed(PROSE, wbits))
        assert not archive_held(DENY, value)
        assert kept_as_sent(json.dumps({"f": value}).encode(), "application/json")
    for words in ("OK then SELECT * FROM t WHERE a New CBOR SIGTERM WAN GNU KM SAML",
                  "aAAAAAAAAAAAAAAAAAAAAAAAA and SAMLAssertionValueHere01234"):
        assert kept_as_sent(f"note: {words}\n".encode(), "text/plain")
        assert _form_kept(words)


def test_a_zlib_false_start_is_not_read() -> None:
    """A pair whose header passes but whose deflate data does not inflate is no start:
    random base64 after ``backup_`` is read less often than before (6 of 3,000 values,
    34 before; docs/BODIES.md)."""
    false = "backup_eJw" + "/" * 21  # (78 9c, then a block of type 3: no deflate)
    assert base64.b64decode(false[7:11])[:2] == b"\x78\x9c"
    assert not kind_at(false, 7, 0, True)
    assert kind_at("backup_" + _b64(zlib.compress(ENV)), 7, 0, True)


# 2. groups the runs did not join ----------------------------------------------------

def _mixed(value: str, marks: list[str], size: int = 4) -> str:
    groups = [value[at:at + size] for at in range(0, len(value), size)]
    return groups[0] + "".join(marks[n % len(marks)] + group
                               for n, group in enumerate(groups[1:]))


SPLIT = sorted(name for name in GROUPED if not name.startswith("zlib"))


@pytest.mark.parametrize("size", [2, 3])
@pytest.mark.parametrize("archive", SPLIT)
def test_groups_of_two_or_three_that_split_the_magic_are_read(archive: str, size: int) -> None:
    """Failed before: 4 of 4 (every place)."""
    value = _grouped(GROUPED[archive], " ", size)
    assert base64.b64decode(value) == base64.b64decode(GROUPED[archive])
    assert _leaks(value) == []


@pytest.mark.parametrize("mark", ["    ", "\t\t\t\t", " ,  ", "\t|\t ", " ;\t;  "])
@pytest.mark.parametrize("archive", sorted(GROUPED))
def test_marks_of_four_or_more_characters_are_read(archive: str, mark: str) -> None:
    """Failed before: 20 of 20."""
    value = _grouped(GROUPED[archive], mark)
    assert base64.b64decode(value) == base64.b64decode(GROUPED[archive])
    assert _leaks(value) == []


@pytest.mark.parametrize("archive", sorted(GROUPED))
def test_marks_that_change_between_groups_are_read(archive: str) -> None:
    """Failed before: 4 of 4."""
    value = _mixed(GROUPED[archive], [" ", "\t", ",", "|", ":", ";", "  ", "."])
    assert base64.b64decode(value) == base64.b64decode(GROUPED[archive])
    assert _leaks(value) == []


@pytest.mark.parametrize("mark", ["%20", "%0A", "%0D%0A", "%09", "%2C", "%20%20"])
@pytest.mark.parametrize("archive", sorted(GROUPED))
def test_percent_encoded_marks_in_a_text_are_read(archive: str, mark: str) -> None:
    """A URL's value in a text, JSON or XML body, or a zip's entry (``unquote`` then
    ``b64decode``). Failed before: 24 of 24."""
    value = _grouped(GROUPED[archive], mark)
    assert base64.b64decode(unquote(value)) == base64.b64decode(GROUPED[archive])
    leaks = _leaks(value)
    assert not {"text", "json", "zip", "binary"} & set(leaks), leaks
    text = f"<a href=\"https://x.example/restore?f={value}\">restore</a>"
    hidden = archives_hidden(DENY, text)
    assert hidden.startswith('<a href="https://x.example/restore?f=[REDACTED')
    assert hidden.endswith('">restore</a>')


def test_a_run_in_mixed_marks_ends_at_prose() -> None:
    """The groups joined are as wide as the first, whatever the marks: prose words of
    another width after the run are kept."""
    run_ends_before(_mixed(GROUPED["zip"], [" ", "\t", ","], 6),
                    (" and then the rest", ", and then", ". Done", ";next,x", "    or so"))
    text = "UE sD and the rest"
    assert text[_end(text, 0):] == " and the rest"


def test_guard_prose_zips_and_prose_in_new_marks_are_kept() -> None:
    """(Passed before too.)"""
    for value in (_grouped(_b64(PROSE_ZIP), "    "), _grouped(_b64(PROSE_ZIP), " ", 3),
                  _mixed(_b64(PROSE_ZIP), ["\t", "|", "  "]),
                  _grouped(_b64(PROSE_ZIP), "%20"), "UE sD is a zip split, H4s I a gzip",
                  "QUEUE sD  TRUE    VALUE\tH4 sI  KL Uv"):
        assert not archive_held(DENY, value), value
        assert kept_as_sent(f"note: {value}\n".encode(), "text/plain"), value
        assert kept_as_sent(json.dumps({"f": value}).encode(), "application/json"), value


@pytest.mark.parametrize("unit", ["UE sD\t", "H4s I, ", "UEsD    ", "eJxL%20", "SIkx|",
                                  "aN4a\t,", "UE sDBB%0A", "H4sI\t|\t ", "QUEUE "])
def test_the_work_stays_linear_in_new_marks_and_pairs(unit: str) -> None:
    """4x the text, at most 5x the calls (tests/support/work_count.py)."""
    _assert_linear(unit)


# 3. kind_at's window ----------------------------------------------------------------

#: A gzip whose first characters hold four "/" (its time 0xFFFFFFFF: ``H4sIAP////8C``).
SLASHED = _b64(gzip.compress(ENV, mtime=0xFFFFFFFF))


@pytest.mark.parametrize("slash", ["&#x0002F;", "&#x00000002F;", "&#0000000047;"])
@pytest.mark.parametrize("mime", ["application/xml", "text/plain"])
def test_long_references_in_a_runs_first_characters_are_read(slash: str, mime: str) -> None:
    """Failed before: 6 of 6 (the run never started: its 40-character window decoded
    to no gzip)."""
    assert SLASHED[4:12] == "AP////8C"
    value = SLASHED.replace("/", slash)
    assert html.unescape(value) == SLASHED
    text = f"<backup><file>{value}</file></backup>"
    for sent in bodies_logged(text.encode(), mime):
        assert SECRET not in sent and value[40:90] not in sent
    assert archives_hidden(DENY, text).endswith("</file></backup>")


def test_the_work_stays_linear_in_runs_of_long_references() -> None:
    _assert_linear("H4sIAP" + "&#x0002F;" * 4 + "8C")
    _assert_linear("UEsD" + "&#x" + "0" * 60 + "2F;")


# Through a real app -----------------------------------------------------------------

def test_through_a_flask_app_and_the_collector(collector: Collector) -> None:
    """A real Flask app echoing a JSON body, the collector on 127.0.0.1: a zlib stream of
    a 512-byte window, a zip in groups of three, a gzip with changing marks, XML with long
    references. Failed before (each sent readable, request and response); a prose zip in
    groups is kept."""
    values = {"wbits9": _b64(_windowed(ENV, 9)), "threes": _grouped(_b64(ZIP), " ", 3),
              "mixed": _mixed(GROUPED["gzip"], [" ", "\t", "|"]),
              "xml": f"<backup>{SLASHED.replace('/', '&#x0002F;')}</backup>",
              "kept": _grouped(_b64(PROSE_ZIP), "    ")}
    log = logged_echo(collector, json.dumps(values), "application/json")
    assert SECRET not in json.dumps(log)
    for text in body_texts(log):
        logged = json.loads(text)
        for name, value in values.items():
            assert (logged[name] == value) == (name == "kept"), name
