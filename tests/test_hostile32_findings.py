"""hostile32: the worker's memory on crafted bodies, at the peak of ``build_log`` with a
denylist (review122 measured them at a MiB and left them): each reader now keeps a few
copies of the body, not one object (or several) per quote, line or escape.

1. :class:`readme_metrics.har.redaction_cut._Quotes` kept a list entry and a dict entry
   (three ints) for every quote of any text naming a denied key: a MiB of ``''`` in a
   YAML body peaked at 133 MiB. Now two arrays, 5 bytes a quote.
2. :func:`readme_metrics.har.event_stream.event_stream_redacted` kept a list of three
   strings and an int for each data line of the event being read: a MiB of ``data:``
   lines in one event peaked at 33x, a document over many lines at 19x. Now one flat
   list of the lines' parts and an array of the data lines' numbers.
3. :func:`readme_metrics.har.deep_json.too_deep` took a text's strings out by one
   pattern whose repeat keeps a step back for each piece of a string: 512 KiB of
   escapes in a string 128+ brackets deep took 48.7 MiB. A text of more than 1,024
   backslashes now has its strings read one at a time, 1,024 pieces a match.

Bounds are twice the figure measured after the fix (256 KiB bodies here, the YAML ones
64 KiB; never a time).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.har import build_log
from readme_metrics.har.redaction import Redactor
from tests.support.exchanges import make_exchange
from tests.support.memory import peak_bytes as _peak

DENY = Redactor(denylist=["password", "token", "secret", "api_key", "key", "auth"])
SIZE = 1 << 18


def _runs(head: str, unit: str, tail: str = "", size: int = SIZE) -> str:
    return head + unit * ((size - len(head)) // len(unit)) + tail


#: The YAML bodies' size: tracemalloc made each 256 KiB one 2.7 s of CPU. At 64 KiB the
#: peak is the same multiple of the body (6.5x and 6.2x; 133.6x and 133.3x with _Quotes
#: a list and a dict again, as before hostile32): suite39.
YAML_SIZE = 1 << 16


#: Each body: its type, text, the bound (times the body) and a text the log must not hold.
BODIES: dict[str, tuple[str, str, float, str]] = {
    # measured 6.2x after (133x before)
    "yaml-run-of-doubled-quotes": ("application/yaml",
                                   _runs("password: sec\na: {'", "''", "': 1}\n", YAML_SIZE), 13,
                                   "sec\n"),
    "yaml-quoted-key-run-of-doubled-quotes": (
        "application/yaml", _runs("password: sec\n'", "''", "': {a: 1}\n", YAML_SIZE), 13,
        "sec\n"),
    # measured 7.4x and 9.3x after (32.5x and 19.1x before)
    "event-of-empty-data-lines": ("text/event-stream", _runs(
        "", "data:\n", 'data: {"token": "sec"}\n\n'), 15, '"sec"'),
    "event-of-a-document-over-lines": ("text/event-stream", _runs(
        "", 'data: {"a": 1,\n', 'data: "token": "sec"}\n\n'), 18, '"sec"'),
    # measured 2.0x after (95x before): deep_json.too_deep on a string of escapes
    "json-escapes-in-a-string-deep": ("application/json", _runs(
        '{"password": "sec", "a": ' + "[" * 130 + '"', '\\"', '"' + "]" * 130 + "}"),
        4, '"sec"'),
}


@pytest.mark.parametrize("shape", BODIES)
def test_a_crafted_body_is_read_in_memory_of_a_few_copies(shape: str) -> None:
    mime, text, bound, secret = BODIES[shape]
    body = text.encode()
    exchange = make_exchange(response_headers=[("Content-Type", mime)],
                             response_body=body, response_body_size=len(body))
    logs: list[dict[str, Any]] = []
    peak = _peak(lambda: logs.append(build_log(exchange, redactor=DENY,
                                               max_body_bytes=2 << 20)))
    assert peak < bound * len(body), f"{peak / len(body):.1f}x the body"
    sent = logs[0]["request"]["log"]["entries"][0]["response"]["content"]["text"]
    assert "REDACTED" in sent and secret not in sent


# _Quotes in arrays answers as the list and dict it replaced did, in every reading.

_QUOTE_TEXT = st.lists(st.sampled_from(
    ['"', "'", "\\", "%22", "%27", "%5C", "%5c", '""', "\\'", "u0022", "a", ":", " ", "{"]),
    max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(_QUOTE_TEXT, st.integers(0, 40))
def test_quotes_in_arrays_answer_as_the_list_and_dict_did(text: str, at: int) -> None:
    from readme_metrics.har import redaction_cut as cut
    from readme_metrics.har.quote_runs import quote_matches
    readings = [cut._AS_SENT, cut._DECODED, cut._SINGLE, cut._SINGLE_DECODED,
                cut._SINGLE_ESCAPED, cut._DOUBLED, *cut._ESCAPED, *cut._ESCAPED_DECODED]
    for reading in readings:
        ends: dict[int, int] = {}
        for found in quote_matches(text, reading.quote, reading.alone):
            run = found.group(1)
            if not run or len(reading.backslash.findall(run)) % 2 == 0:
                ends[found.end(1)] = found.end()
        quotes = cut._Quotes(text, reading)
        assert list(quotes.at) == list(ends)
        assert [quotes.end(start) for start in quotes.at] == list(ends.values())
        assert (at in quotes) == (at in ends)
        following = [start for start in ends if start >= at]
        assert quotes.closing(at, len(text)) == (following[0] if following else len(text))
        assert quotes.string_end(at, len(text)) == (
            ends[following[0]] if following else len(text))


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(['"', "\\", "\\\\", '\\"', "a", "[", "]", "{", "é", " "]),
                max_size=40).map("".join))
def test_strings_read_a_few_pieces_at_a_time_leave_what_one_pattern_left(text: str) -> None:
    import re
    from unittest.mock import patch

    from readme_metrics.har import deep_json
    piece = r'(?:[^"\\]+|\\[\s\S]?)'
    with patch.object(deep_json, "_PIECES", 0), \
            patch.object(deep_json, "_STRING_PIECES", re.compile(f"{piece}{{0,3}}")):
        assert deep_json._outside_strings(text) == deep_json._STRING.sub("", text)
    assert deep_json._outside_strings(text) == deep_json._STRING.sub("", text)
