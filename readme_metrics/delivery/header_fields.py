"""An answer's header lines parsed as ``email``'s parser (compat32) parses them, and
looked up as ``http.client.HTTPMessage`` looks them up.
"""

from __future__ import annotations

import io
import re
from typing import Any, Iterator, Optional

__all__ = ["Fields", "parse_headers"]

#: What ``email``'s parser takes for a header line (feedparser.headerRE): a name (any
#: visible character but ``:``, possibly none) and a colon, a continuation, or a
#: Unix "From " envelope line. Any other line ends the headers.
_HEADER_LINE = re.compile(r"^(From |[\041-\071\073-\176]*:|[\t ])").match
#: A header block of ``name:value`` lines each ended by CRLF (a name, no line break in a
#: value), then a blank line: what email's parser makes of it is plain, so the fields
#: are taken at once, the value without the blanks before it (as compat32 takes it).
_PLAIN = re.compile(r"(?:[\041-\071\073-\176]+:[^\r\n]*\r\n)*\r\n").fullmatch
_FIELDS = re.compile(r"([\041-\071\073-\176]+):[ \t]*([^\r\n]*)\r\n").findall


class Fields:
    """An answer's header fields, looked up as ``http.client.HTTPMessage`` looks them up
    (names in any case; ``get`` and ``[name]`` the first value, None if absent;
    ``get_all`` every value in order; ``items`` every field as it came), without the
    ``email`` package behind it.

    An answer's fields are looked up about eight times (its framing, keep-alive, cookies,
    ``Retry-After``): ``HTTPMessage`` walks every field and runs its policy's code on
    each lookup, and storing each field runs more of it. Here the names are indexed
    once. The values are the same strings: compat32 hands back the text it stored, and
    text decoded from ISO-8859-1 has no surrogates for it to turn into a ``Header``.
    """

    __slots__ = ("_fields", "index")

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self._fields = fields
        index: dict[str, list[str]] = {}
        for name, value in fields:
            key = name.lower()
            if key in index:
                index[key].append(value)
            else:
                index[key] = [value]
        #: Every value of each field, in order, by its name in lower case (never changed:
        #: for the reader and the direct route, whose look-ups are hot).
        self.index = index

    def get(self, name: str, default: Optional[str] = None) -> Optional[str]:
        values = self.index.get(name.lower())
        return values[0] if values else default

    def __getitem__(self, name: str) -> Optional[str]:
        return self.get(name)

    def get_all(self, name: str, default: Any = None) -> Any:
        values = self.index.get(name.lower())
        return list(values) if values else default

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self.index

    def items(self) -> list[tuple[str, str]]:
        return list(self._fields)

    def keys(self) -> list[str]:
        return [name for name, _ in self._fields]

    def values(self) -> list[str]:
        return [value for _, value in self._fields]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        return f"Fields({self._fields!r})"


def parse_headers(lines: bytes) -> Fields:
    """Header ``lines`` (up to the blank one) parsed as ``http.client.parse_headers``
    parses them (through ``email``'s feed parser, compat32 policy), without the parser."""
    block = lines.decode("iso-8859-1")
    if _PLAIN(block):  # the usual block: each field its line, nothing to bend
        return Fields(_FIELDS(block))
    # email splits on \r, \n and \r\n alike (a StringIO with newline="" does the same).
    text = io.StringIO(block, newline="").readlines()
    count = 0
    for line in text:
        if not _HEADER_LINE(line):
            break
        count += 1
    fields: list[tuple[str, str]] = []
    name = ""
    source: list[str] = []
    for number in range(count):
        line = text[number]
        if line[0] in " \t":
            if name:  # a first line that continues nothing is passed over
                source.append(line)
            continue
        if name:
            fields.append((name, _value(source)))
            name, source = "", []
        if line.startswith("From "):  # a Unix envelope line, passed over
            if number == count - 1 and number:
                break  # taken for the start of a body
            continue
        colon = line.find(":")
        if colon == 0:  # no name: passed over
            continue
        name, source = line[:colon], [line]
    if name:
        fields.append((name, _value(source)))
    return Fields(fields)


def _value(source: list[str]) -> str:
    """A header's value from its lines (compat32's ``header_source_parse``)."""
    value = source[0].split(":", 1)[1].lstrip(" \t") + "".join(source[1:])
    return value.rstrip("\r\n")
