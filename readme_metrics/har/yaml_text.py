"""A YAML text's lines by their positions, and the text rewritten from them, for
:mod:`.redaction_yaml`.

The reading of a YAML body a line at a time held each line as a string of its own
(``text.split("\\n")``) and the text it wrote as another list of lines: 8.7 to 14.3 times
the body's size at its peak (a string costs 49 bytes over its characters, a list's slot
8 more; hostile39). :class:`Lines` keeps the text and where each line starts (4 bytes a
line), a line's string made when it is read; :class:`Pieces` keeps the runs of lines
written as they were as positions, the text written only once, at the end.
"""

from __future__ import annotations

import re
from array import array
from typing import Sequence, Union, overload

from readme_metrics._lazy_re import lazy_compile

__all__ = ["Lines", "Pieces"]

_LF = lazy_compile("\n")
_MATCH_END = re.Match.end


class Lines(Sequence[str]):
    """The lines of ``text`` (split at LF, as ``text.split("\\n")`` has them), each made
    when it is read."""

    __slots__ = ("_count", "_starts", "text")

    def __init__(self, text: str) -> None:
        starts = array("I" if len(text) < 1 << 31 else "Q", [0])
        # (Each line's start found in one pass, no call a line on the text: a find from
        # each line's end was counted a text's length a line by tests/support's
        # text_work, and is slower: 1 MiB of short lines 64 ms, 40 now; hostile51.)
        starts.extend(map(_MATCH_END, _LF.finditer(text)))
        starts.append(len(text) + 1)  # (where a line after the last would start)
        self.text = text
        self._starts = starts
        self._count = len(starts) - 1

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: Union[int, slice]) -> Union[str, list[str]]:
        if index.__class__ is int and 0 <= index < self._count:
            starts = self._starts
            return self.text[starts[index]:starts[index + 1] - 1]
        if isinstance(index, slice):
            return [self[at] for at in range(*index.indices(self._count))]
        if -self._count <= index < 0:
            return self[index + self._count]
        raise IndexError(index)

    def span(self, first: int, last: int) -> str:
        """Lines ``first`` to ``last - 1`` as the text has them (joined by LF)."""
        return self.text[self._starts[first]:self._starts[last] - 1]


class Pieces:
    """A text written line by line from :class:`Lines`: runs of lines kept as they are
    (their positions, until a line written otherwise ends the run) and lines written
    anew; joined by LF, as the lines were. Lines written anew are joined a few hundred
    at a time (a string and a list's slot each, 81 bytes for a 24-character marker's
    line: a MiB of ``password: x`` lines was 10.2x its size at the peak; review133)."""

    __slots__ = ("_first", "_last", "_lines", "_new", "_parts")

    def __init__(self, lines: Lines) -> None:
        self._lines = lines
        self._parts: list[str] = []
        self._new: list[str] = []  # (lines written anew, not joined yet)
        self._first = self._last = -1  # (the run of lines kept, being read)

    def keep(self, first: int, last: int) -> None:
        """Lines ``first`` to ``last - 1`` kept as they are."""
        if first >= last:
            return
        if self._last != first:
            self._flush()
            if self._new:
                self._join()
            self._first = first
        self._last = last

    def add(self, line: str) -> None:
        """A line written anew."""
        self._flush()
        new = self._new
        new.append(line)
        if len(new) >= _JOINED:
            self._join()

    def _join(self) -> None:
        self._parts.append("\n".join(self._new))
        self._new.clear()

    def _flush(self) -> None:
        if self._first >= 0:
            self._parts.append(self._lines.span(self._first, self._last))
            self._first = self._last = -1

    def text(self) -> str:
        """The text written."""
        self._flush()
        if self._new:
            self._join()
        return "\n".join(self._parts)


#: Lines written anew joined at a time (:class:`Pieces`).
_JOINED = 256
