"""hostile12's findings: hostile input against the log worker's per-log build.

1. The C-backed readings hostile11 and review51 added (decode_component's regular
   expression of UTF-8 escapes, percent_decoded by the unicode_escape codec, too_deep's
   runs of brackets, CallerKey's refusal of a text that starts as a number) against
   plain, obviously right references, on generated inputs.
2. What the worker does a KiB, counted (calls, not time), where it was a Python call per
   escape run of decode_component and a quote() per redacted pair of a form.
3. Hostile bodies through the real WSGI middleware and a real collector: the app reads
   what was sent and answers as bare, and each call gives one valid log.
"""

from __future__ import annotations

import json
import os
from typing import Iterator
from urllib.parse import quote, unquote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.exchange import Group
from readme_metrics.har import build_log
from readme_metrics.har.credentials import CallerKey
from readme_metrics.har.deep_json import MAX_DEPTH, too_deep
from readme_metrics.har.key_json import short_json
from readme_metrics.har.percent import decode_component, percent_decoded
from readme_metrics.har.redaction import Redactor, escaped_redacted, redacted
from tests.support.contract import exchange, reading_app
from tests.support.exchanges import post
from tests.support.fake_api import INLINE_TIMEOUT, Collector
from tests.test_hostile11_findings import _calls, _deeper_than

# -- 1. the C-backed readings against plain references -------------------------------------

_HEX = "0123456789abcdefABCDEF"


def _one_character(data: bytes) -> bool:
    """Whether ``data`` is exactly one character of UTF-8, as a strict decoder reads it."""
    try:
        return len(data.decode("utf-8")) == 1
    except UnicodeDecodeError:
        return False


def _reference_decode_component(text: str) -> str:
    """decode_component written out: "+" is a space; at each "%XX", the escapes of one
    whole UTF-8 character (one to four of them, a strict decoder's) are that character,
    and an escape that starts none is kept as written, in its case."""
    text = text.replace("+", " ")
    out, at = [], 0
    while at < len(text):
        escapes = []
        while len(escapes) < 4:
            start = at + 3 * len(escapes)
            if (text[start:start + 1] == "%" and len(text[start + 1:start + 3]) == 2
                    and all(c in _HEX for c in text[start + 1:start + 3])):
                escapes.append(int(text[start + 1:start + 3], 16))
            else:
                break
        for size in range(1, len(escapes) + 1):
            if _one_character(bytes(escapes[:size])):
                out.append(bytes(escapes[:size]).decode("utf-8"))
                at += 3 * size
                break
        else:
            out.append(text[at])
            at += 1
    return "".join(out)


_BYTE = st.one_of(st.integers(0, 255), st.sampled_from(
    [0x00, 0x25, 0x2B, 0x7F, 0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4,
     0xF5, 0xFF]))
_ESCAPE = st.tuples(_BYTE, st.booleans()).map(
    lambda t: f"%{t[0]:02x}" if t[1] else f"%{t[0]:02X}")
# Whole characters' escapes (a character beyond U+FFFF, a surrogate's three bytes too).
_CHARACTER_ESCAPES = st.integers(0, 0x10FFFF).map(chr).map(
    lambda c: "".join(f"%{b:02X}" for b in c.encode("utf-8", "surrogatepass")))
_COMPONENT = st.lists(st.one_of(
    _ESCAPE, _CHARACTER_ESCAPES, st.characters(), st.sampled_from(
        ["%", "%%", "%2", "%zz", "%g1", "%%41", "+", "\\", "\\x41", "é", "\udcff", "\ud800",
         "\U0001f600", "\x00"])), max_size=40).map("".join)


@given(_COMPONENT)
@example("%C3%A9%FF%C3%A9")  # two runs around a byte no UTF-8 holds
@example("%e2%82%e2%82%ac+%")  # a character cut short, then a whole one
@example("\udcff%41\udcff%C3%A9")  # the text between runs holds U+DCFF itself
@example("%F0%9F%98%80%ED%A0%80%F4%90%80%80%C0%AF")  # U+1F600, a surrogate, past U+10FFFF
def test_decode_component_is_the_reference(text: str) -> None:
    """decode_component (a regular expression of UTF-8 escapes; every run decoded at
    once, joined by 0xFF) reads each component as the reference, escape by escape."""
    assert decode_component(text) == _reference_decode_component(text)


@given(st.lists(st.one_of(_ESCAPE, _CHARACTER_ESCAPES, st.characters(), st.sampled_from(
    ["%", "%%", "%2", "%g1", "\\", "\\x25", "\\N{DASH}", "\\\n", "é", "\udce9", "\ud83d",
     "\U0001f600", "\ufeff"])), max_size=40).map("".join),
       st.sampled_from(["surrogateescape", "replace"]))
@example("%E2%82é%AC%", "replace")
@example("\\%41\\\\x41", "surrogateescape")
def test_percent_decoded_is_unquote(text: str, errors: str) -> None:
    """percent_decoded (the unicode_escape codec over the whole text, a run at a time
    around a lone surrogate) is urllib's unquote, on texts of any character."""
    assert percent_decoded(text, errors) == unquote(text, errors=errors)


_BRACKETS = st.lists(st.one_of(
    st.sampled_from(["[", "]", "{", "}", '"', '\\"', "\\", "a", "é", "[]", '"["', '"]"', "\\\\"]),
    st.integers(MAX_DEPTH - 3, MAX_DEPTH + 3).map(lambda n: "[" * n),
    st.integers(1, MAX_DEPTH + 3).map(lambda n: "]" * n),
    st.integers(1, 40).map(lambda n: "[{" * n)), max_size=30).map("".join)


@given(_BRACKETS)
@example("[" * (MAX_DEPTH + 1))
@example("]" + "[" * (MAX_DEPTH + 1))  # the run after a closing bracket too many
@example('"' + "[" * (MAX_DEPTH + 1) + '"')  # in a string
@example('"\\"' + "[" * (MAX_DEPTH + 1) + '"')  # in a string holding an escaped quote
@example("[]" * 200 + "[" * MAX_DEPTH + "[]")  # as deep as the limit once the pairs go
def test_too_deep_near_the_limit_is_the_count(text: str) -> None:
    """too_deep at MAX_DEPTH (a run of 129 brackets found in C, outside strings, the
    depth before it not below 0) answers as the count bracket by bracket does."""
    assert too_deep(text) == _deeper_than(text, MAX_DEPTH)


@pytest.mark.parametrize("key", ["123456789012345", "20261203143300000001"])
def test_a_number_of_over_4300_digits_holding_the_key_is_masked_as_a_short_one(
        key: str) -> None:
    """A JSON text that is one number holding the caller's key is masked by the number
    hooks and written as a JSON string, whatever its length (a5f6c74 did so). 780baea's
    read without hooks first (to refuse a non-JSON text in C) made int() read the
    number, and int() refuses over 4,300 digits (Python's limit): such a text was then
    taken for no JSON and masked as plain text, no longer a JSON string as a shorter
    one is."""
    caller = CallerKey(key)
    long = "9" * 4400 + key + "9" * 10
    short = "9" * 40 + key + "9" * 10
    assert caller.body(short) == json.dumps(caller.text(short))
    assert caller.body(long) == json.dumps(caller.text(long))


# -- 2. the worker's calls a KiB --------------------------------------------------------------


@pytest.mark.parametrize("unit", ["%C3%A9a", "%5BREDACTED%201%5D&", "%41%FF"],
                         ids=["characters-between-ascii", "a-redacted-value", "no-utf8"])
def test_decode_component_makes_no_call_per_escape_run(unit: str) -> None:
    """decode_component's re.sub callback was a Python call per run of escapes that
    spell UTF-8 (a form's redacted values, "%5BREDACTED%201%5D", three a pair, read
    again for the params; a text of characters beyond ASCII, one each): 21,846 calls
    for 64 KiB of "%C3%A9a" before; now every run is decoded at once in C, the same
    text (test_decode_component_is_the_reference). The bound is 5 calls in all, counted
    warmed: run alone, the first call of the process compiled the lazy patterns, 3,277
    calls (flaky53)."""
    text = unit * (64 * 1024 // len(unit))
    decode_component(unit)  # warmed: a pattern compiled at its first use, once a process
    assert _calls(lambda: decode_component(text)) <= 5


@given(st.text())
def test_escaped_redacted_is_quote_of_redacted(value: str) -> None:
    """escaped_redacted writes what quote(redacted(value), safe="") wrote."""
    assert escaped_redacted(value) == quote(redacted(value), safe="")


@pytest.mark.parametrize("codec", ["ascii", "utf-16-be"])
def test_a_form_of_denied_pairs_costs_fewer_calls_a_kib(codec: str) -> None:
    """64 KiB of "password=1&" (in UTF-16 too, a form read in it): each pair's value
    was redacted by urllib's quote (a Python loop over its characters) and read again
    for the params by decode_component, a Python call per escape run (three a pair):
    5,308 calls, Python and C, a KiB on main dc108ce (2,656 in UTF-16); 2,423 now
    (1,213). The bound is 3,500 (1,900)."""
    unit = "password=1&".encode(codec)
    body = unit * (64 * 1024 // len(unit))
    exchange_ = post("application/x-www-form-urlencoded", body, group=Group("rdme_key_1234"))
    redactor = Redactor(denylist=["password"])
    per_kib = _calls(lambda: build_log(exchange_, redactor=redactor, max_body_bytes=1 << 20),
                     ("call", "c_call")) / 64
    assert per_kib <= (3500 if codec == "ascii" else 1900), per_kib


@given(st.sampled_from(["1", "12", "0", "-1", "1.5", "1e3", "1000", "abc", "x y"]),
       st.one_of(st.none(), st.integers(0, 10**9)))
def test_a_redacted_value_is_kept_as_the_short_key_json_reading_kept_it(
        key: str, length: int | None) -> None:
    """CallerKey.text passes the denylist's "[REDACTED n]" by for a short key, where it
    tried each as a JSON document holding the key (a form of denied pairs for the key
    "1"): the same text key_json.short_json gave."""
    caller = CallerKey(key)
    mark = "[REDACTED]" if length is None else f"[REDACTED {length}]"
    assert caller.text(mark) == short_json(caller, mark, caller.text) == mark


def test_a_form_of_denied_pairs_for_a_short_numeric_key_costs_fewer_calls_a_kib() -> None:
    """64 KiB of "password=1&" from the caller "1": each value's "[REDACTED 1]" holds the
    key and was read as a JSON array (a decoder of hooks made, its error raised and
    caught): 3,545 Python calls a KiB on main dc108ce (1.1 s of the worker a MiB, 4 times
    a long key's), 1,032 now (0.33 s). The bound is 1,500."""
    body = b"password=1&" * (64 * 1024 // 11)
    exchange_ = post("application/x-www-form-urlencoded", body, group=Group("1"))
    redactor = Redactor(denylist=["password"])
    per_kib = _calls(lambda: build_log(exchange_, redactor=redactor,
                                       max_body_bytes=1 << 20)) / 64
    assert per_kib <= 1500, per_kib


# -- 3. hostile bodies through the middleware ----------------------------------------------

_MB = 1 << 20
EXAMPLES = int(os.environ.get("HOSTILE12_EXAMPLES", "40"))


def _parts(count: int, unit: bytes) -> bytes:
    return b"".join(b'--b\r\nContent-Disposition: form-data; name="p%d"\r\n\r\n' % i + unit
                    + b"\r\n" for i in range(count)) + b"--b--\r\n"


_BODIES = st.one_of(
    st.binary(max_size=300),
    st.sampled_from([
        b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx",  # no end
        b"--b\r\n\r\n\r\n--b--", b"--b--", b"--b\r\nContent-Disposition: ;;;;\"\r\n\r\n",
        b'{"password": "x", "a": [1, 2', b'{"a": "\xff\xfe", "password": "\xed\xa0\x80"}',
        b"\xef\xbb\xbf{\"password\": 1}", b"\xff\xfe{\x00}\x00", b"password=%zz&%%=%C3",
        b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
        json.dumps("[" * 2000 + '{"password": 1}' + "]" * 2000).encode(),
    ]),
    st.tuples(st.sampled_from([b"a", b"\xff", b"%", b'{"k":1},', b"password=1&", b"\x00\xd8"]),
              st.sampled_from([_MB, 10 * _MB])).map(lambda t: t[0] * (t[1] // len(t[0]))),
    st.integers(1, 20_000).map(lambda n: _parts(n, b"1")),
    st.integers(1, 20_000).map(lambda n: "&".join(f"k{i}=v" for i in range(n)).encode()),
    st.integers(1, 20_000).map(
        lambda n: json.dumps({f"k{i}": i for i in range(n)} | {"password": 1}).encode()),
)
_TYPES = st.sampled_from([
    "application/json", "application/json; charset=utf-16", "text/plain",
    "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-16",
    "multipart/form-data; boundary=b", "multipart/form-data", "multipart/form-data; boundary=",
    "application/octet-stream", "application/merge-patch+json", "text/xml; charset=x-no",
])


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[Collector, MetricsMiddleware, object]]:
    collector = Collector().start()
    app = reading_app()
    middleware = MetricsMiddleware(app, MetricsApiConfig(
        api_key="rdme_hostile12_key", metrics_api=collector.url, denylist=["password"],
        grouping_function=lambda request: {"api_key": "1", "label": "l", "email": "e"},
        buffer_length=1, background_worker_mode=False, timeout=INLINE_TIMEOUT))
    try:
        yield collector, middleware, app
    finally:
        middleware.close()
        collector.stop()


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(body=_BODIES, content_type=_TYPES)
def test_a_hostile_body_reaches_the_app_whole_and_gives_one_log(
        site: tuple[Collector, MetricsMiddleware, object], body: bytes,
        content_type: str) -> None:
    """Malformed multipart, broken JSON, invalid UTF-8, 1 and 10 MB bodies, deep
    nesting, many parts, pairs and keys, under any Content-Type: the app reads every
    byte, its answer goes out as bare, and the call gives one log the collector accepts
    (exchange() checks both). ``HOSTILE12_EXAMPLES=400`` runs a longer hunt."""
    collector, middleware, app = site
    result, _, entry = exchange(middleware, collector, method="POST", body=body,
                                headers={"Content-Type": content_type})
    assert app.seen["body"] == body  # type: ignore[attr-defined]
    assert result.error is None and result.status == "200 OK" and result.body == b"ok"
    assert entry["request"]["method"] == "POST"
