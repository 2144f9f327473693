"""delivery77: the body bytes an end of a chunked answer holds, as Twisted wrote it
(:func:`readme_metrics.capture.chunked_tail.data_held`): what daphne's wire takes from
the body it logs at a stop that cut the answer (tests/test_delivery75_daphne_wire.py's
``part`` order, end to end). Cut at every byte of answers framed by Twisted's own
``toChunk`` and ``writeHeaders``' layout, the count is the data bytes past the cut.
"""

from __future__ import annotations

import pytest

from readme_metrics.capture.chunked_tail import LAST_CHUNK, data_held

http = pytest.importorskip("twisted.web.http")

HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nServer: daphne\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n")


def _answer(writes: list[bytes], ended: bool) -> tuple[bytes, list[int], dict[int, int]]:
    """(the answer as Twisted writes it, the count of data bytes at or after each of
    its offsets, the bytes of its size lines' CRLFs at or after each of theirs)."""
    wire, is_data, size_crlf = [HEAD], [False] * len(HEAD), {}
    for data in writes:
        for index, piece in enumerate(http.toChunk(data)):
            if index == 1:  # (the CRLF ending the size line: read as data, 2 and 1)
                size_crlf[len(is_data)], size_crlf[len(is_data) + 1] = 2, 1
            wire.append(piece)
            is_data += [piece is data] * len(piece)
    if ended:
        wire.append(LAST_CHUNK)
        is_data += [False] * len(LAST_CHUNK)
    after = [0] * (len(is_data) + 1)
    for at in range(len(is_data) - 1, -1, -1):
        after[at] = after[at + 1] + is_data[at]
    return b"".join(wire), after, size_crlf


@pytest.mark.parametrize("writes", [
    [b"x" * 300],
    [b"abc" * 7, b"q" * 16, b"z", b"0123456789abcdef" * 20],
    [b"line one\nline two\n", b"{\"a\": 1}" * 40, b"\r\n\r\n" * 3 + b"tail"],
], ids=["one", "several", "crlf-in-data"])
@pytest.mark.parametrize("ended", [True, False], ids=["ended", "open"])
def test_every_cut_counts_the_data_past_it(writes: list[bytes], ended: bool) -> None:
    """Exact at every cut but two per chunk: a tail that starts with its size line's CRLF
    or LF, taken for data (the module's limit: as likely as data that starts so), two
    bytes more or one; but not past the body's length (the first chunk's)."""
    answer, after, size_crlf = _answer(writes, ended)
    for cut in range(len(answer) + 1):
        want = min(after[cut] + size_crlf.get(cut, 0), after[0])  # (the first: all of it)
        assert data_held(answer[cut:], ended, after[0]) == want, (cut, answer[cut:40])


def test_a_tail_in_the_head_holds_the_whole_body() -> None:
    """Once the body's whole length is counted, the rest is the head's: its end, which a
    chunk's data could end with as well (``"\\n\\r\\n"``), is not read as data."""
    answer, after, _ = _answer([b"line\n", b"y" * 50], True)
    for cut in (len(HEAD) - 3, len(HEAD) - 10, 0):
        assert data_held(answer[cut:], True, after[0]) == 55, cut
    cut = answer.index(b"line\n") + 4  # (the first chunk's LF: its data)
    assert data_held(answer[cut:], True, after[0]) == 51
