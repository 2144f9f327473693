"""delivery84: daphne's wire reads the view's answer behind an earlier answer's end.

A pipelined request's answer is written to the connection after the earlier one's, and
at daphne's stop Twisted's buffers may hold that earlier answer's end before the whole
of this one (tests/test_delivery84_daphne_pipelined.py, end to end). The wire says
none of it went out (:data:`~.daphne_wire.NONE`), whatever the earlier bytes are (a
status line, a head's end, a last chunk among them); a buffer holding only a part of it
says part (:data:`~.daphne_wire.PART`), with the body sent as far as it went. Before,
the earlier end read as this answer's start: "part", and the log kept the view's 200.
Answers framed by Twisted's own ``toChunk``; buffers laid out as its TCP transport's.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.capture.chunked_tail import LAST_CHUNK
from readme_metrics.capture.daphne_wire import NONE, PART, DaphneWire

http = pytest.importorskip("twisted.web.http")

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nServer: daphne\r\n%s\r\n"

#: Earlier answers' ends: any bytes, with the marks the wire looks for among them.
EARLIER = st.lists(st.one_of(
    st.binary(max_size=40),
    st.sampled_from([b"HTTP/1.1 200 OK\r\n", b"HTTP/1.1 200 ", b"\r\n\r\n", LAST_CHUNK,
                     b"5\r\nabcde\r\n"])), max_size=8).map(b"".join)
#: The view's body writes (no line breaks: a body framing a size line of its own at
#: a chunk's end is chunked_tail's documented limit).
WRITES = st.lists(st.binary(min_size=1, max_size=300).filter(lambda data: b"\n" not in data),
                  max_size=5)


def _answer(writes: list[bytes], chunked: bool) -> bytes:
    if chunked:
        framed = b"".join(piece for data in writes for piece in http.toChunk(data))
        return HEAD % b"Transfer-Encoding: chunked\r\n" + framed + LAST_CHUNK
    body = b"".join(writes)
    return HEAD % (b"Content-Length: %d\r\n" % len(body)) + body


def _wire(held: bytes, writes: list[bytes], chunked: bool, split: int, offset: int
          ) -> DaphneWire:
    """The wire of a finished answer whose connection's buffers hold ``held``: from
    ``offset`` in the transport's ``dataBuffer``, its last bytes from ``split`` on in
    ``_tempDataBuffer``, as Twisted's TCP transport keeps them."""
    split = min(split, len(held))
    transport = SimpleNamespace(dataBuffer=b"z" * offset + held[:split], offset=offset,
                                _tempDataBuffer=[held[split:]] if held[split:] else [],
                                _tempDataLen=len(held) - split)
    request = SimpleNamespace(clientproto=b"HTTP/1.1", code=200, chunked=int(chunked),
                              finished=1, sentLength=sum(map(len, writes)),
                              _response_started=True)
    return DaphneWire(request, transport)


@settings(max_examples=300, deadline=None)
@given(EARLIER, WRITES, st.booleans(), st.integers(0, 2000), st.integers(0, 50))
def test_the_whole_answer_behind_an_earlier_end_went_out_none(
        earlier: bytes, writes: list[bytes], chunked: bool, split: int, offset: int) -> None:
    answer = _answer(writes, chunked)
    wire = _wire(earlier + answer, writes, chunked, split, offset)
    assert wire.went_out() == NONE, (earlier, answer)


@settings(max_examples=100, deadline=None)
@given(WRITES.filter(bool), st.booleans(), st.integers(0, 2000), st.integers(0, 50),
       st.data())
def test_an_answer_whose_start_went_out_is_part(
        writes: list[bytes], chunked: bool, split: int, offset: int, data: st.DataObject
        ) -> None:
    answer = _answer(writes, chunked)
    cut = data.draw(st.integers(1, len(answer) - 1), label="cut")
    wire = _wire(answer[cut:], writes, chunked, split, offset)
    assert wire.went_out() == PART, answer[cut:80]
    if not chunked:  # (the body sent as far as the cut: chunked, delivery77's test)
        length = sum(map(len, writes))
        assert wire.body_sent() == max(0, cut - (len(answer) - length))
