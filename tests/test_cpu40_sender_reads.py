"""cpu40 (issue 11): the sender's reading of a queued WSGI log's joined strings, by C calls.

cpu34 joined a queued log's environ values and response header pairs by NUL (one GC
container a queued log); the sender split them and read them as before, a Python loop
of a few lines a response header (``response_header_read``) and a tuple copy and a join
of the values picked (``environ_head``). Now:

- ``joined_header_read`` makes the joined pairs of ASCII text by ``zip`` of the split's
  halves, a loop left for the Content-Length alone: a queued log's ``to_exchange``
  calls no ``response_header_read`` (before: once, 147 bytecodes for the bench GET's
  three pairs);
- ``environ_head`` asks ``isascii`` of the joined values once and joins none of the
  values it picks (before: one ``join`` of them).

What the log is made of is unchanged: ``joined_header_read`` of any pairs of strings
without NUL (ASCII or not, Content-Length in any case, several, unreadable) equals
``response_header_read`` of the pairs; a queued GET's head equals ``environ_head`` of the
environ's strings as a tuple (and tests/test_cpu34_queued_strings.py's property).

Counted, not timed (tests/support/work_count.py).
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.capture import response_headers
from readme_metrics.capture.environ_strings import environ_strings
from readme_metrics.capture.request_head import environ_head
from readme_metrics.capture.response_headers import response_header_read
from tests.support.bench_request import GET_HEADERS
from tests.support.work_count import calls_where
from tests.test_cpu24_queued_containers import _environ
from tests.test_cpu34_queued_strings import _queued, _room_for_plans  # noqa: F401

_PAIRS = [("Content-Type", "application/json"), ("Content-Length", "2")]
_HEADERS = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in GET_HEADERS}


def _python_calls(build: Any, name: str) -> int:
    return calls_where(build, lambda frame, event, arg: event == "call"
                       and frame.f_code.co_name == name)


def _c_calls(build: Any, name: str) -> int:
    return calls_where(build, lambda frame, event, arg: event == "c_call"
                       and getattr(arg, "__name__", "") == name)


def _joined_item() -> Any:
    item = _queued(_HEADERS, _PAIRS, 2, [])[1]  # the second: copied by its plan, joined
    assert item.request_values.__class__ is str and item.response_headers.__class__ is str
    return item


def test_a_queued_gets_answer_is_read_without_the_loop() -> None:
    item = _joined_item()
    item.to_exchange()
    assert _python_calls(item.to_exchange, "response_header_read") == 0


def test_a_queued_gets_head_joins_none_of_its_values() -> None:
    item = _joined_item()
    item.to_exchange()
    assert _c_calls(lambda: environ_head(item.request, item.request_values), "join") == 0
    keys, values, _ = environ_strings(_environ(_HEADERS))
    assert values.__class__ is tuple
    assert environ_head(item.request, item.request_values) == environ_head(keys, values)


def test_a_queued_gets_answer_is_what_the_pairs_make() -> None:
    given_headers: list[Any] = []
    items = _queued(_HEADERS, _PAIRS, 2, given_headers)
    exchange = items[1].to_exchange()
    assert exchange.response_headers == response_header_read(given_headers[1])[0]
    assert exchange.response_headers[1] == ("Content-Length", "2")


_NAMES = st.sampled_from(["Content-Length", "content-length", "CONTENT-LENGTH",
                          "Content-Lengths", "Content-Type", "X-\u0130", "\u212a", "C"])
_VALUES = st.one_of(st.sampled_from(["62", " 7 ", "1_0", "x", "", "-3", "\u0663",
                                     "content-length", "caf\u00e9"]),
                    st.text(st.characters(min_codepoint=1, max_codepoint=0x2FF),
                            max_size=6))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_NAMES, _VALUES), min_size=1, max_size=5))
def test_joined_pairs_read_as_the_pairs(pairs: list[tuple[str, str]]) -> None:
    text = "\0".join(part for pair in pairs for part in pair)
    assert response_headers.joined_header_read(text) == response_header_read(pairs)


def test_joined_pairs_several_lengths() -> None:
    for pairs, length in [
            ([("Content-Length", "5"), ("content-length", "6")], 6),
            ([("Content-Length", "x"), ("content-length", "6")], -1),
            ([("Content-Length", "5"), ("CONTENT-LENGTH", "x")], -1),
            ([("X-Note", "content-length"), ("Content-Type", "a")], -1),
            ([("Content-Length", "caf\u00e9")], -1)]:
        text = "\0".join(part for pair in pairs for part in pair)
        assert response_headers.joined_header_read(text) == response_header_read(pairs)
        assert response_headers.joined_header_read(text)[1] == length
