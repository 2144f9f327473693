"""How far a JSON document read in pieces (an event stream's data, event by event) is open."""

from __future__ import annotations

import re

from readme_metrics._lazy_re import lazy_compile

__all__ = ["depth_after", "opening"]

# A document read in pieces: a string's opening quote (its end found by _string_stop), a
# bracket, or a backslash outside a string (no document's). (A pattern for the whole
# string, its escapes repeated, kept a state for each: 512 KiB of them in an event's
# data took 39 MiB at its peak; hostile30.)
_MARK = lazy_compile(r'["\[\]{}\\]')
# In a string: an escape (skipped whole), its closing quote, or a backslash last in the
# data (the escape of the next piece's first character).
_STRING_STOP = lazy_compile(r'\\[\s\S]|["\\]')
# The start of a document, where the data is read from to follow it across events (after
# other text too: ``data: x {"pass`` then ``data: word"``); see :func:`opening`.
_BRACKET = re.compile(r"[\[{]")
# A quote that is no escape's.
_QUOTE = re.compile(r'(?<!\\)"')
# In a string the next piece goes on with; the same, its first character escaped.
_IN_STRING, _ESCAPING = 1, 2


def _string_stop(data: str, at: int) -> int:
    """Where a string whose characters start at ``at`` stops: at its closing quote, at a
    backslash last in ``data``, or at its end. (The usual string, with no escape before
    its quote, found by str.find.)"""
    quote = data.find('"', at)
    end = len(data) if quote < 0 else quote
    escape = data.find("\\", at, end)
    if escape < 0:
        return end
    for stop in _STRING_STOP.finditer(data, escape):
        if len(stop.group()) == 1:
            return stop.start()
    return len(data)


def depth_after(data: str, depth: int, in_string: int) -> tuple[int, int, bool]:
    """(depth, in a string, stray) of a document read in pieces, after ``data``: how many
    objects and arrays it has open (a "{" or "[" in a string opens none); in a string
    :data:`_IN_STRING`, or :data:`_ESCAPING` when ``data`` ends in a backslash that
    escapes the next piece's first character (0: in none); whether a backslash stood
    outside a string (no document's: one read from the wrong place)."""
    start, stray = 0, False
    if in_string:
        start = 1 if in_string == _ESCAPING else 0
        if start > len(data):
            return depth, in_string, stray
        # (The string's characters up to its closing quote, if any: stopped short of the
        # data's end by a backslash alone there, the escape of the next piece's first.)
        end = _string_stop(data, start)
        if end == len(data):
            return depth, _IN_STRING, stray
        if data[end] == "\\":  # (a backslash alone, at the end)
            return depth, _ESCAPING, stray
        start = end + 1  # past the string's closing quote
    while True:
        token = _MARK.search(data, start)
        if token is None:
            return depth, 0, stray
        mark, start = token.group(), token.end()
        if mark == '"':
            end = _string_stop(data, start)
            if end == len(data) or data[end] == "\\":
                # A string the next piece goes on with (a backslash alone left at the end).
                return depth, _ESCAPING if end < len(data) else _IN_STRING, stray
            start = end + 1
        elif mark in "[{":
            depth += 1
        elif mark == "\\":
            stray = True
        else:
            depth = max(depth - 1, 0)


def opening(data: str) -> tuple[str, int, int]:
    """(``data`` from where its first document starts, and :func:`depth_after`'s depth and
    in a string after it), ("", 0, 0) when none is left open. Read from its first
    bracket, or from the quote before it but for blanks when that quote opens a string
    (an odd one) and the reading leaves one open (a document in a JSON string,
    ``"{\\"a\\": 1}"``); else from the bracket (after a string: ``say "hi" {"pass``),
    unless the data before it leaves a string open and the bracket's reading opens no
    object or array, or meets a backslash outside a string (as a document in a string
    read from its bracket does: ``"{\\"a\\": 1}"``). A stray quote just before a
    document cut right after its bracket (``"{`` then ``"pass``) is read as a string.
    (Not found by a pattern with blanks before the bracket, which took time in the
    square of a run of blanks.)"""
    bracket = _BRACKET.search(data)
    if bracket is None:
        return "", 0, 0
    before = data[:bracket.start()].rstrip()
    if before[-1:] == '"' and len(_QUOTE.findall(before)) % 2:
        text = data[len(before) - 1:]
        depth, in_string, _ = depth_after(text, 0, 0)
        if depth or in_string:
            return text, depth, in_string
    text = data[bracket.start():]
    depth, in_string, stray = depth_after(text, 0, 0)
    if len(_QUOTE.findall(before)) % 2 and (stray or not depth):
        return "", 0, 0
    return text, depth, in_string
