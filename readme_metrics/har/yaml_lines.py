"""Where a YAML line's parts are: its content, a node's properties, a key and its value.

Block style read a line at a time for :mod:`readme_metrics.har.redaction_yaml` (and
:mod:`readme_metrics.har.yaml_env`): where a line's content starts (after ``- `` items, an
explicit key's ``: ``, properties), where a mapping key's value starts, a quoted scalar's
closing quote and the lines it runs over, a sequence's item, a key's text, a block
scalar's lines. Found a step at a time, each line looked at
once: linear. Moved from :mod:`readme_metrics.har.redaction_yaml`, as is.
"""

from __future__ import annotations

import re
from typing import Callable, Optional, Sequence

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har.redaction_marks import redacted

__all__ = ["ALIASES", "ANCHOR", "BLANKS", "BLOCK", "KEY_END", "SOLID", "SPACES", "block_end",
           "block_parent", "complex_scalars", "content_start", "is_item", "item_anchor",
           "key_text", "match_end", "names_a_pair", "node_start", "properties_end",
           "quote_close", "quoted_lines", "value_start"]

#: A plain key's end: a colon, then a blank or the line's end.
KEY_END = lazy_compile(r":(?:[ \t\r]|$)")


#: A line that is a block mapping's pair, from its start (items' ``- `` first): its key,
#: quoted or plain (to the first ``:``, its blanks after it trimmed by names_a_pair; no
#: flow collection's bracket first, nor an item's ``- ``), then ``:`` and a blank or the
#: line's end. One try a line, each backtracking step one character's test: linear.
#: (review141: a plain key taken lazily, ``[^\n:]*?[ \t]*:``, ran the blanks after each
#: of its characters, and a plain key could start with an item's ``- ``, taken again
#: after each of the items: 64 KiB of either on a line, 2.4 s and 22 s.)
_PAIR_LINE = lazy_compile(
    r"^[ \t]*(?:-[ \t]+)*(?:\"([^\"\n]*)\"[ \t]*|'([^'\n]*)'[ \t]*"
    r"|(?!-[ \t])([^\s\[\]{}#'\"][^\n:]*)):(?:[ \t\r]|$)", re.MULTILINE)


def names_a_pair(text: str, denies: Callable[[str], bool]) -> bool:
    """Whether a line of ``text`` (sent as text/plain) is a YAML pair whose key ``denies``
    names (``password: ...``): the text is then read as YAML (hostile51); else it is not,
    its lines left to text/plain's readings (an open flow collection's ``env: [A=1, [...``
    read as YAML costs more than as lines)."""
    return any(denies(found.group(3).rstrip(" \t") if found.lastindex == 3
                      else found.group(found.lastindex or 1))
               for found in _PAIR_LINE.finditer(text))


#: Blanks, and a run of anything else (a property's text).
BLANKS = lazy_compile(r"[ \t]*")
SOLID = lazy_compile(r"[^ \t]*")
SPACES = lazy_compile(r" *")


def match_end(pattern: re.Pattern[str], line: str, at: int) -> int:
    """The end of ``pattern`` (one that matches the empty text too) matched at ``at``."""
    found = pattern.match(line, at)
    return at if found is None else found.end()


def content_start(line: str) -> int:
    """Where a line's content starts: after a document's start (``--- {...}``), its
    indentation, each ``- `` of a sequence (``- password: ...`` is a mapping's key in a
    sequence's item), an explicit key's ``: `` (``? k`` then ``: password: ...``, as
    PyYAML writes a key over 128 characters: the password went out in clear, review124)
    and a key's properties (``&a password: ...``). Found a step at a
    time, no slice of the line (``- `` 130,000 times over took 23 s, hostile26), no
    pattern repeating a group (sre keeps a frame a repeat: 16 MB there)."""
    return properties_end(line, node_start(line))


def node_start(line: str) -> int:
    """Where a line's node starts, its properties included: :func:`content_start`'s
    steps but the last."""
    at = match_end(BLANKS, line, 3) if line.startswith(("--- ", "---\t")) else \
        match_end(SPACES, line, 0)
    if line.startswith((": ", ":\t"), at):
        at = match_end(BLANKS, line, at + 2)
    while line.startswith(("- ", "-\t"), at):
        at = match_end(BLANKS, line, at + 2)
    return at


def properties_end(line: str, at: int) -> int:
    """Where a node's content starts after blanks and its properties (an anchor ``&b``,
    a tag ``!!map``) from ``at``: ``&b {password: ...}``, ``!!str password: ...``."""
    at = match_end(BLANKS, line, at)
    while line.startswith(("&", "!"), at):
        solid = match_end(SOLID, line, at)
        after = match_end(BLANKS, line, solid)
        if after == solid:
            break  # (no blank after it: the line's end, or no property)
        at = after
    return at


def value_start(line: str, at: int) -> int:
    """Where the value of a mapping key starting at ``at`` starts (after its ``:``), or
    -1 when the line holds no key there."""
    quote = line[at:at + 1]
    if quote in ('"', "'"):
        # (Its closing quote, past '' and \" in it: the first quote after the opening
        # one was taken for it, so 'it''s': {password: ...} held no key and its flow
        # value went out in clear; review122.)
        close = quote_close(line, at + 1, quote)
        if close < 0:
            return -1
        after = close + 1
        while line[after:after + 1] in (" ", "\t"):
            after += 1
        found = KEY_END.match(line, after)
        return -1 if found is None else found.end()
    if quote in ("", "#", "[", "{", "|", ">"):
        return -1
    found = KEY_END.search(line, at)
    return -1 if found is None else found.end()


def quote_close(text: str, at: int, quote: str, backslash: bool = False) -> int:
    """Where the quote closing a quoted scalar whose text starts at ``at`` is on its line,
    or -1 (the scalar goes on): ``''`` in single quotes is a quote, and in double quotes
    a backslash escapes the character after it (``\\"``). The one reading of a quoted
    scalar, a key's (:func:`value_start`) and a flow collection's
    (:func:`~.redaction_yaml._flow_close`)
    alike; found by ``str.find``, each backslash run counted once: linear.
    ``backslash``: a backslash escapes in any quote (a script's string, ``'it\\'s'``, a
    template literal's backquote: :func:`~.redaction_spaced.spaced_pair`)."""
    while True:
        close = text.find(quote, at)
        if close < 0:
            return -1
        if quote == "'" and not backslash:
            if not text.startswith("'", close + 1):
                return close
            at = close + 2
            continue
        run = close
        while run > at and text[run - 1] == "\\":
            run -= 1
        if (close - run) % 2 == 0:
            return close
        at = close + 1


def quoted_lines(lines: Sequence[str], index: int, line: str, start: int, at: int) -> int:
    """The index of the line after the one closing a quoted scalar that ``line`` (line
    ``index - 1``) opens at ``start`` (after ``? `` there, an explicit key) and does not
    close, or 0: its later lines are its text, and one starting with ``[`` or ``{``
    was read as a flow collection's start, the lines up to a ``]`` passed over unread
    (``k: 'a`` then ``  ['``: a password below went out in clear; review124). A scalar
    never closed reads on as before. Each line is looked at once."""
    if line.startswith(("? ", "?\t"), at):
        start = properties_end(line, at + 2)
    quote = line[start:start + 1]
    if quote not in ("'", '"') or quote_close(line, start + 1, quote) >= 0:
        return 0
    for ahead in range(index, len(lines)):
        if quote_close(lines[ahead], 0, quote) >= 0:
            return ahead + 1
    return 0


#: A sequence's "-" as the JSON members' reading hides a member's value.
_DASH_HIDDEN = redacted(None)


def is_item(line: str, at: int) -> bool:
    """Whether ``line`` holds a sequence's item at ``at`` (``- ...``, or ``-`` alone), or
    its ``-`` hidden as a member's value (``[REDACTED] ...``) by the JSON members'
    reading, run first: ``"password":`` then ``- ...`` (a key in quotes) had the ``-``
    alone hidden, the items after it sent in clear (review125)."""
    if line.startswith(("- ", "-\t"), at) or line[at:].rstrip("\r") == "-":
        return True
    after = at + len(_DASH_HIDDEN)
    return line.startswith(_DASH_HIDDEN, at) and (
        line.startswith((" ", "\t"), after) or not line[after:].rstrip("\r"))


def key_text(line: str, at: int, end: int) -> str:
    """A mapping key as written from ``at`` to its value's start ``end``: its quotes and
    the blanks and colon after it taken off."""
    # (" \t\r": a key whose value is on the next lines ends ":\r" in a CRLF text, and
    # was read as "password:", its value sent in clear; review125.)
    key = line[at:end].rstrip(" \t\r")[:-1].rstrip(" \t")
    return key[1:-1] if key[:1] in ('"', "'") and key[-1:] == key[:1] else key


#: A value's anchor (``&db``) and the blanks after it.
#: (Or a CRLF line's "\r": "x-db: &id001\r" was no anchor, its value sent; review125.)
ANCHOR = lazy_compile(r"[ \t]*&([^ \t\r,\[\]{}]+)(?:[ \t]+|(?=\r?$))")


#: An alias in a value (``*db``, ``[*db, 1]``, ``{a: *db}``): its anchor's name.
ALIASES = lazy_compile(r"(?:^|(?<=[ \t\r\n\[{,:]))\*([^ \t\r\n,\[\]{}]+)")


def item_anchor(line: str, at: int, start: int = 0) -> Optional[re.Match[str]]:
    """The last anchor among the properties of a sequence's item whose content starts at
    ``at`` (``- &p secret``), or its anchor alone at ``at`` (``- &p`` then its lines), if
    any; from ``start`` (a value's properties, ``!!seq &p [...]``)."""
    found = [*ANCHOR.finditer(line, start, at)]
    if found:
        return found[-1]
    alone = ANCHOR.match(line, at)
    return alone if alone is not None and not line[alone.end():].strip(" \t\r") else None


#: What separates a complex key's scalars: a flow collection's marks, a line's end, a
#: mapping's ": ".
_COMPLEX = lazy_compile(r"[{}\[\],\n]|:[ \t]")


def complex_scalars(text: str) -> list[str]:
    """The scalars a complex key's text holds, each without its blanks, a sequence's
    ``-``, a block scalar's indicator and its quotes (a block scalar's lines one by one:
    ``|`` then ``password`` is the scalar ``password\n``)."""
    out: list[str] = []
    for piece in _COMPLEX.split(text):
        piece = piece.strip(" \t\r").lstrip("- \t").rstrip(":")
        if piece[:1] in ('"', "'") and piece[-1:] == piece[:1]:
            piece = piece[1:-1]
        if piece:
            out.append(piece)
    return out


#: A block scalar's indicator, its indentation and chomping, to its line's end.
BLOCK = lazy_compile(r"[|>][1-9+-]{0,2}[ \t]*(?:#.*)?\r?$")


def block_parent(line: str, at: int, end: int) -> int:
    """The indentation a block scalar on ``line`` has its lines deeper than: its key's
    (at ``at``, when its value starts at ``end``), else its sequence's last ``-``, else
    its line's (an explicit key's ``: |``), none after ``---`` (-1)."""
    if end >= 0:
        return at
    if line.startswith("---"):
        return -1
    dash = line.rfind("-", 0, at)
    return dash if dash >= 0 else len(line) - len(line.lstrip(" "))


def block_end(lines: Sequence[str], index: int, indent: int) -> int:
    """The index of the first line after the block scalar whose indicator ends line
    ``index - 1``: its lines are the blank ones and those indented deeper than
    ``indent``."""
    for ahead in range(index, len(lines)):
        following = lines[ahead]
        if following.strip(" \t\r") and len(following) - len(following.lstrip(" ")) <= indent:
            return ahead
    return len(lines)
