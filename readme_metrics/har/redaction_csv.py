"""CSV bodies (``text/csv``, tab-separated values) by the denylist: each field of a column
whose header, the first record's field (empty lines before it skipped), is denied
(``user,password`` then ``zoe,...``) written ``[REDACTED n]`` (hostile24), read by the
type's delimiter and each other its first line holds (review110). A pure function over
the text, read field by field as RFC 4180 writes them (a field in double quotes may hold
the delimiter, a line break and a doubled quote), each character once for each delimiter
(four at most): linear in the text. A quoted field never closed (a body cut at
``max_body_bytes``) runs to the end of the text.
"""

from __future__ import annotations

import re
from typing import Callable, Iterator

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har.redaction_marks import redacted

__all__ = ["csv_redacted", "delimiters_of"]

#: A quoted field: its text to the closing quote (doubled quotes in it), or to the end.
#: Its runs taken whole (``[^"]+``): a character a repeat, sre kept a frame for each, a
#: quote never closed in 512 KiB took 78 MB and 47 to 420 ms (review110). It cannot fail
#: once the quote is read, so nothing is ever given back.
_QUOTED = lazy_compile(r'"(?:[^"]+|"")*(?:"|\Z)')
_LINE_END = re.compile(r"\r\n?|\n")


#: The delimiters a CSV body may use: a comma, a semicolon (a spreadsheet where the
#: comma is the decimal mark), a tab, a pipe.
_DELIMITERS = (",", ";", "\t", "|")


def delimiters_of(essence: str, text: str) -> tuple[str, ...]:
    """The delimiters a CSV body is read by: its type's (a tab for tab-separated values,
    else ``,``), then each other its first line holds (review110: a TSV holding commas,
    ``user;"a,b";password``: one guess left the other's columns unread)."""
    own = "\t" if "tab-separated" in essence else ","
    start = len(text) - len(text.lstrip("\r\n"))
    end = text.find("\n", start)
    first = text[start:end if end >= 0 else len(text)]
    return (own, *(delimiter for delimiter in _DELIMITERS
                   if delimiter != own and delimiter in first))


def csv_redacted(text: str, denies: Callable[[str], bool],
                 delimiters: tuple[str, ...] = (",",)) -> str:
    """``text`` read as CSV by each of ``delimiters`` in turn (:func:`_columns_redacted`):
    a column a header denies under any of them is hidden."""
    for delimiter in delimiters:
        text = _columns_redacted(text, denies, delimiter)
    return text


def _columns_redacted(text: str, denies: Callable[[str], bool], delimiter: str) -> str:
    """``text`` with each field of a column whose header (the first record that is not
    an empty line) ``denies`` says is denied replaced by ``[REDACTED n]`` (n the length
    of the field as written, quotes included); ``text`` itself when no header is
    denied."""
    records = _records(text, delimiter)
    header = next(records, None)
    while header is not None and header == [(header[0][0], header[0][0])]:
        header = next(records, None)  # (an empty line before it, as csv.DictReader)
    if header is None:
        return text
    columns = {at for at, (start, end) in enumerate(header)
               if denies(_field(text[start:end].strip()).strip())}
    if not columns:
        return text
    out: list[str] = []
    kept = 0
    for record in records:
        for at in columns:
            if at < len(record):
                start, end = record[at]
                out += text[kept:start], redacted(text[start:end])
                kept = end
    if not out:
        return text
    out.append(text[kept:])
    return "".join(out)


def _field(raw: str) -> str:
    """A field's value as written: its quotes taken off, a doubled quote one."""
    if raw[:1] == '"':
        return raw[1:-1 if raw.endswith('"') and len(raw) > 1 else None].replace('""', '"')
    return raw


def _records(text: str, delimiter: str) -> Iterator[list[tuple[int, int]]]:
    """Each record of ``text``: the (start, end) of each of its fields."""
    # A field that is not quoted: up to the delimiter, a quote or a line's end (text
    # after a quoted field's closing quote is part of it, as Python's csv reads it).
    plain = re.compile(f'[^"{re.escape(delimiter)}\\r\\n]*')
    at, size = 0, len(text)
    while at < size:
        record: list[tuple[int, int]] = []
        newline = text.find("\n", at)
        stop = size if newline < 0 else newline
        if text.find('"', at, stop) < 0 and text.find("\r", at, stop) in (-1, stop - 1):
            # A line with no quote (most): its fields split at once.
            last = stop - 1 if stop > at and text[stop - 1] == "\r" else stop
            for field in text[at:last].split(delimiter):
                record.append((at, at + len(field)))
                at += len(field) + len(delimiter)
            at = stop + 1
            yield record
            continue
        while True:
            start = at
            while True:  # a field: quoted and plain runs, to a delimiter or line end
                run = (_QUOTED if text.startswith('"', at) else plain).match(text, at)
                if run is None or run.end() == at:
                    break
                at = run.end()
            record.append((start, at))
            if text.startswith(delimiter, at):
                at += len(delimiter)
                continue
            end = _LINE_END.match(text, at)
            at = size if end is None else end.end()
            break
        yield record
