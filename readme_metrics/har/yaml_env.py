"""A YAML body's scalars read as lines of ``name=value`` pairs (a ``.env``), by the
denylist (hostile42), after :mod:`.redaction_yaml` hid its denied keys' values.

A Kubernetes Secret's ``.env: |`` block, a compose file's ``- PASSWORD=...`` item, a
quoted scalar holding ``USER=ada\\nPASSWORD=...`` or PyYAML's single-quoted dump of one
over lines went out in clear: the YAML reader reads keys, and a scalar's text is no key.
Here each scalar's text is read as text/plain's lines are
(:func:`~.env_lines.plain_pairs`), a line at a time, and written back in the scalar's own
style, so the text stays the YAML it was: a block scalar's lines as they are, a single
quote doubled, a double-quoted scalar's escapes decoded first (``\\n`` ends a line,
``\\u0050ASSWORD`` is a name) and written again as JSON writes a string (which YAML reads
so; YAML's own, ``\\x0a``, ``\\U0000000a``, ``\\e``, read as YAML reads them: review136);
one folded over lines, or whose escapes YAML does not read, is hidden whole where its
lines read as YAML folds them, or with ``\\n`` as a break, hide a value (hostile45), as is
a plain scalar whose first character a marker would change. A flow collection's scalars
(``[USER=ada, PASSWORD=...]``, over lines, an explicit key's too) are read member by
member (:func:`~.yaml_flow.flow_hidden`), a plain one written back in double quotes, and
so is each comment's text, as a ``.env``'s commented line (hostile45, review136: both
went out in clear). Aliases are passed over. Each line read once: linear.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Optional

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har.env_lines import plain_pairs
from readme_metrics.har.redaction_marks import redacted
from readme_metrics.har.yaml_flow import flow_close, flow_hidden
from readme_metrics.har.yaml_lines import (
    BLOCK,
    block_end,
    block_parent,
    content_start,
    properties_end,
    quote_close,
    quoted_lines,
    value_start,
)
from readme_metrics.har.yaml_text import Lines, Pieces

if TYPE_CHECKING:
    from readme_metrics.har.redaction import Redactor

__all__ = ["yaml_env"]

#: The characters that start a plain scalar as they start nothing else (a marker written
#: in a plain scalar's place must not start with another).
_PLAIN_START = frozenset("-?:,[]{}#&*!|>'\"%@`")


def yaml_env(text: str, redactor: Redactor) -> str:
    """``text`` (YAML) with each value of a pair the denylist names in a scalar's lines
    hidden; ``text`` itself when none is."""
    if "=" not in text and "\\" not in text or not redactor.mentions_key(text, True):
        return text  # (an "=" escaped in a double-quoted scalar: \u003d)
    lines = Lines(text)  # (positions, not a string a line: hostile39)
    out = Pieces(lines)
    budget = [4 * len(lines) + 64]  # (the lines flow_close may read, in all)
    changed = False
    row, count = 0, len(lines)
    while row < count:
        line = lines[row]
        at = content_start(line)
        end = value_start(line, at)
        start = properties_end(line, end) if end >= 0 else at
        if line.startswith(("? ", "?\t"), at):
            # An explicit key's flow collection ("? [USER=ada," then "PASSWORD=...]"):
            # read as a value's, not its lines as plain scalars (hostile45).
            flow = properties_end(line, at + 2)
            while line.startswith(("- ", "-\t"), flow):  # ("? - PASSWORD=x": an item)
                flow = properties_end(line, flow + 2)
            start = flow if line[flow:flow + 1] in ("{", "[") or end < 0 and (
                # (A plain or quoted one, "? PASSWORD=x": hostile47.)
                line[flow:flow + 1] not in ("|", ">")) else start
        first = line[start:start + 1]
        last = row + 1  # (the lines [row, last) read here)
        new: Optional[str] = None
        if BLOCK.match(line, start) is not None:
            # A block scalar: its lines are text, read as they are (their indentation a
            # pair's blanks: spaced_pair); a comment after its indicator, as a line.
            last = block_end(lines, row + 1, block_parent(line, at, end))
            body = lines.span(row + 1, last) if last > row + 1 else ""
            hidden = plain_pairs(body, redactor) if "=" in body else body
            head = _commented(line, line.find("#", start), redactor) or line
            if hidden != body or head != line:
                new = f"{head}\n{hidden}" if last > row + 1 else head
        elif first in ("{", "["):
            # A flow collection: its scalars and comments read (hostile45).
            last = max(last, flow_close(lines, row + 1, line[start:], budget))
            new = _flow(lines.span(row, last), start, redactor)
        elif first in ('"', "'"):
            last = max(last, quoted_lines(lines, row + 1, line, start, at))
            scalar = lines.span(row, last)
            if "=" in scalar or "\\" in scalar:
                new = _quoted(scalar, start, first, redactor)
        elif first == "#":
            new = _commented(line, start, redactor)  # (hostile45)
        elif first not in ("", "*") and "=" in line:
            new = _plain(line, start, redactor)
        if end > at and "=" in line[at:end]:
            # A key holding a pair, "PASSWORD=x:" (a .env line ending in ":", which
            # YAML reads as a key: sent in clear; hostile47).
            key = _key(line, at, end, redactor)
            if key is not None:
                new = key + (lines.span(row, last) if new is None else new)[end:]
        if new is None:
            out.keep(row, last)
        else:
            out.add(new)
            changed = True
        row = last
    return out.text() if changed else text


def _quoted(text: str, start: int, quote: str, redactor: Redactor) -> Optional[str]:
    """``text`` (a quoted scalar's lines, its quote at ``start``) with its pairs' denied
    values hidden, in its style; None when none is."""
    close = quote_close(text, start + 1, quote)
    if close < 0:
        return None  # (never closed: no YAML)
    scalar = text[start + 1:close]
    if quote == "'":
        value = scalar.replace("''", "'")
        hidden = plain_pairs(value, redactor)
        written = hidden.replace("'", "''")
    elif "\n" not in scalar and "\r" not in scalar and (
            decoded := _decoded(scalar)) is not None:
        hidden = plain_pairs(decoded, redactor)
        written = _double_quoted(hidden)[1:-1]
        value = decoded
    else:
        # Escapes YAML does not read (\q), or lines folded: its \n read
        # as a line's end, and hidden whole when that reading hides a value; or when YAML's
        # reading of it does (its lines folded, a "\" ending one joining the next, "\ " a blank:
        # PyYAML's narrow dump of "export PASSWORD=..." went out: hostile45).
        value = scalar.replace("\\r\\n", "\n").replace("\\n", "\n").replace("\\r", "\n")
        hidden = plain_pairs(value, redactor)
        if hidden == value:
            value = _yaml_read(_unfolded(scalar)) or ""  # (never None: not strict)
            hidden = plain_pairs(value, redactor)
        written = redacted(scalar)
    tail = text[close:]
    # (A comment after it: "a: 'q' # PASSWORD=...", hostile45.)
    comment = tail.find("#")
    tail = _commented(tail, comment, redactor) or tail if comment >= 0 else tail
    if hidden == value and tail == text[close:]:
        return None
    return f"{text[:start + 1]}{written}{tail}"


#: Characters PyYAML reads as line breaks in a double-quoted scalar, which JSON writes as
#: they are: written as escapes.
_BREAKS = (("\u2028", "\\u2028"), ("\u2029", "\\u2029"), ("\x85", "\\x85"))


def _unfolded(scalar: str) -> str:
    """A double-quoted scalar's text over lines as YAML folds it, its escapes left: a
    line ending in an escape (``\\``) is joined to the next, that one's first blanks
    dropped; another line break, with the blanks about it, is a blank, or a line break
    for each empty line after it. Each line read once."""
    lines = scalar.split("\n")
    out: list[str] = []
    line, at, count = lines[0], 1, len(lines)
    while at < count:
        if (len(line) - len(line.rstrip("\\"))) % 2 == 1:
            out.append(line[:-1])  # (an escaped line break: no blank)
        else:
            out.append(line.rstrip(" \t\r"))
            empty = 0
            while at < count - 1 and not lines[at].strip(" \t\r"):
                empty, at = empty + 1, at + 1
            out.append("\n" * empty or " ")
        line, at = lines[at].lstrip(" \t"), at + 1
    out.append(line)
    return "".join(out)


#: A double-quoted scalar's escape, as YAML reads it.
_ESCAPE = lazy_compile(r"\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", re.DOTALL)
_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v",
            "f": "\f", "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\",
            "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029"}
_SURROGATE = lazy_compile("[\ud800-\udfff]")


def _yaml_read(scalar: str, strict: bool = False) -> Optional[str]:
    """A double-quoted scalar's text with its escapes read as YAML reads them (``\\x0a``,
    ``\\U0000000a`` end a line too; review136, hostile45). One YAML does not read
    (``\\q``, past U+10FFFF) is kept as written; in ``strict``, the text is None then.
    A lone surrogate (``\\ud800``) is read, as JSON's reading reads it, and written back
    as its escape (:func:`_double_quoted`; hostile47: review136 hid the scalar whole for
    one, and the JSON reading wrote it raw, no UTF-8)."""
    unread = False

    def character(escape: re.Match[str]) -> str:
        nonlocal unread
        code = escape.group(1)
        number = int(code[1:], 16) if len(code) > 1 else -1
        read = _ESCAPES.get(code) if number < 0 else (
            chr(number) if number < 0x110000 else None)
        if read is None:
            unread = True
            return escape.group()
        return read

    value = _ESCAPE.sub(character, scalar)
    return None if strict and unread else value


def _decoded(scalar: str) -> Optional[str]:
    """A one-line double-quoted scalar's text with its escapes decoded, as JSON reads them
    (a surrogate pair's two ``\\u`` as one character), else as YAML does
    (:func:`_yaml_read`: read as one line, ``\\x0a``'s pairs went out; review136); None
    when YAML does not read them all."""
    try:
        value = json.loads(f'"{scalar}"', strict=False)
        return value if isinstance(value, str) else None
    except ValueError:
        return _yaml_read(scalar, strict=True)


def _plain(line: str, start: int, redactor: Redactor) -> Optional[str]:
    """``line`` with the pairs' denied values in its plain scalar from ``start`` (to a
    comment) hidden; None when none is."""
    cut = len(line) - 1 if line.endswith("\r") else len(line)
    for mark in (" #", "\t#"):
        found = line.find(mark, start, cut)
        cut = found if found >= 0 else cut
    comment = cut if cut < len(line) and line[cut:cut + 1] != "\r" else -1
    scalar = line[start:cut].rstrip(" \t")  # (the blanks before a comment kept)
    cut = start + len(scalar)
    hidden = plain_pairs(scalar, redactor)
    tail = _commented(line[cut:], comment + 1 - cut, redactor) if comment >= 0 else None
    if hidden == scalar and tail is None:
        return None
    if hidden[:1] != scalar[:1] and hidden[:1] in _PLAIN_START:
        # (A marker in its place, "[REDACTED n]", would start a flow sequence: the
        # scalar hidden whole, in double quotes.)
        hidden = f'"{redacted(scalar.rstrip())}"'
    return f"{line[:start]}{hidden}{line[cut:] if tail is None else tail}"


def _key(line: str, at: int, end: int, redactor: Redactor) -> Optional[str]:
    """``line[:end]`` (to a mapping key's ``:`` and the blank after it, the key from
    ``at``) with the pairs' denied values in its key hidden, in its style; None when
    none is."""
    colon = line.rfind(":", at, end)
    key = line[at:colon].rstrip(" \t")
    first = key[:1]
    if first in ('"', "'"):
        hidden = _quoted(key, 0, first, redactor)
        return None if hidden is None else line[:at] + hidden + line[at + len(key):end]
    if first in ("", "?", "{", "[", "*"):
        return None
    hidden = plain_pairs(key, redactor)
    if hidden == key:
        return None
    if hidden[:1] != first and hidden[:1] in _PLAIN_START:
        hidden = f'"{redacted(key)}"'
    return line[:at] + hidden + line[at + len(key):end]


def _commented(line: str, at: int, redactor: Redactor) -> Optional[str]:
    """``line`` with the pairs' denied values in its comment from ``at`` (its ``#``; -1:
    none) hidden, read as a ``.env``'s line (``# PASSWORD=...``, a setting commented
    out, went out in clear: hostile45); None when none is."""
    if at < 0 or "=" not in line:
        return None
    cut = len(line) - 1 if line.endswith("\r") else len(line)
    comment = line[at:cut]
    hidden = plain_pairs(comment, redactor)
    return None if hidden == comment else f"{line[:at]}{hidden}{line[cut:]}"


def _flow(text: str, start: int, redactor: Redactor) -> Optional[str]:
    """``text`` (a flow collection's lines, from ``start`` on the first) with the pairs'
    denied values in its scalars (``[USER=ada, PASSWORD=...]``, ``{a: "PASSWORD=..."}``)
    and comments hidden, each written in its style (a plain one in double quotes: a
    marker's brackets are a flow's marks); None when none is. One this reading cannot
    read (never closed) is hidden whole when one of its pieces would hide a value."""
    if "=" not in text and "\\" not in text:
        return None
    flow = text[start:]
    read = flow_hidden(flow, None, scalars=lambda node: _node(node, redactor))
    if read is None:
        if not any(_hides(piece, redactor) for piece in _FLOW_MARKS.split(flow)):
            return None
        read = '"' + redacted(flow.rstrip(" \t\r")) + '"'
    return None if read == flow else text[:start] + read


def _hides(piece: str, redactor: Redactor) -> bool:
    """Whether a piece of a flow collection, its blanks and quotes off, holds a pair
    whose value the denylist hides."""
    if "=" not in piece:
        return False
    piece = piece.strip(" \t\r\n\"'")
    return plain_pairs(piece, redactor) != piece


#: What parts a flow collection's pieces (read when it cannot be read whole).
_FLOW_MARKS = lazy_compile(r"[\[\]{},]")


def _node(written: str, redactor: Redactor) -> Optional[str]:
    """What a flow collection's scalar or comment, as ``written``, is written as with
    its pairs' denied values hidden (:func:`_flow`); None to keep it."""
    first = written[:1]
    if first == "#":
        return _commented(written, 0, redactor)
    if first in ('"', "'"):
        return _quoted(written, 0, first, redactor)
    if "=" not in written:
        return None
    # (A plain scalar over lines is one line, its lines' blanks folded to one.)
    value = " ".join(piece.strip(" \t\r") for piece in written.split("\n"))
    hidden = plain_pairs(value, redactor)
    return None if hidden == value else _double_quoted(hidden)


def _double_quoted(text: str) -> str:
    """``text`` as a double-quoted scalar, as JSON writes a string (which YAML reads so),
    its line breaks JSON keeps escaped."""
    written = json.dumps(text, ensure_ascii=False)
    for breaks, escape in _BREAKS:  # (line breaks to YAML 1.1, PyYAML: escaped)
        written = written.replace(breaks, escape)
    if _SURROGATE.search(written) is not None:
        # (A lone surrogate, read from its escape: written back as one, as a JSON body's
        # is, json_literals.dumps_as_sent; raw it is no UTF-8. hostile47.)
        written = _SURROGATE.sub(lambda found: f"\\u{ord(found.group()):04x}", written)
    return written
