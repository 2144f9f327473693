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
so; YAML's own, ``\\x0a``, ``\\x50``, ``\\e``, read as YAML reads them: review136); one
folded over lines is hidden whole where its lines read with ``\\n`` as a break hide a
value, as is a plain scalar whose first character a marker would change. A flow
collection's scalars are read so, one hiding a value hidden whole (``[USER=ada,
PASSWORD=...]``: review136); comments and aliases are passed over. Each line read once:
linear.
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
        first = line[start:start + 1]
        last = row + 1  # (the lines [row, last) read here)
        new: Optional[str] = None
        if BLOCK.match(line, start) is not None:
            # A block scalar: its lines are text, read as they are (their indentation a
            # pair's blanks: spaced_pair).
            last = block_end(lines, row + 1, block_parent(line, at, end))
            body = lines.span(row + 1, last) if last > row + 1 else ""
            hidden = plain_pairs(body, redactor) if "=" in body else body
            if hidden != body:
                new = f"{line}\n{hidden}"
        elif first in ("{", "["):
            last = max(last, flow_close(lines, row + 1, line[start:], budget))
            new = _flow(lines.span(row, last), start, redactor)
        elif first in ('"', "'"):
            last = max(last, quoted_lines(lines, row + 1, line, start, at))
            scalar = lines.span(row, last)
            if "=" in scalar or "\\" in scalar:
                new = _quoted(scalar, start, first, redactor)
        elif first not in ("", "#", "*") and "=" in line:
            new = _plain(line, start, redactor)
        if new is None:
            out.keep(row, last)
        else:
            out.add(new)
            changed = True
        row = last
    return out.text() if changed else text


def _flow(text: str, start: int, redactor: Redactor) -> Optional[str]:
    """``text`` (a flow collection's lines, its ``{`` or ``[`` at ``start``) with each
    scalar member whose lines hide a value hidden whole (``[USER=ada, PASSWORD=s]``, a
    compose file's ``environment`` in flow style: it went out in clear; review136);
    None when none is, or the collection does not read soundly."""
    if "=" not in text and "\\" not in text:
        return None

    def hides(value: str) -> bool:
        if value[:1] in ('"', "'"):
            return _quoted(value, 0, value[0], redactor) is not None
        return "=" in value and plain_pairs(value, redactor) != value

    flow = text[start:]
    hidden = flow_hidden(flow, None, scalar=hides)
    return None if hidden is None or hidden == flow else text[:start] + hidden


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
        written = json.dumps(hidden, ensure_ascii=False)[1:-1]
        for breaks, escape in _BREAKS:  # (line breaks to YAML 1.1, PyYAML: escaped)
            written = written.replace(breaks, escape)
        value = decoded
    else:
        # Escapes JSON does not read (\x50, \e), or lines folded: its \n read as a line's
        # end, and hidden whole when that reading hides a value.
        value = scalar.replace("\\r\\n", "\n").replace("\\n", "\n").replace("\\r", "\n")
        hidden = plain_pairs(value, redactor)
        written = redacted(scalar)
    if hidden == value:
        return None
    return f"{text[:start + 1]}{written}{text[close:]}"


#: Characters PyYAML reads as line breaks in a double-quoted scalar, which JSON writes as
#: they are: written as escapes.
_BREAKS = (("\u2028", "\\u2028"), ("\u2029", "\\u2029"), ("\x85", "\\x85"))


def _decoded(scalar: str) -> Optional[str]:
    """A double-quoted scalar's text with its escapes decoded, as JSON reads them (a
    surrogate pair's two ``\\u`` as one character), else as YAML does (``\\x0a``,
    ``\\U0000000a`` end a line too: read as one line, their pairs went out; review136);
    None when YAML does not read them all, or one is a lone surrogate."""
    try:
        value = json.loads(f'"{scalar}"', strict=False)
        return value if isinstance(value, str) else None
    except ValueError:
        pass
    try:
        value = _YAML_ESCAPE.sub(_escape, scalar)
    except ValueError:
        return None
    return None if _SURROGATE.search(value) else value


#: YAML's escapes in a double-quoted scalar (PyYAML's reading).
_YAML_ESCAPE = lazy_compile(
    r"\\(?:x([0-9A-Fa-f]{2})|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))", re.S)
_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v",
            "f": "\f", "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\",
            "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029"}
_SURROGATE = lazy_compile("[\ud800-\udfff]")


def _escape(found: re.Match[str]) -> str:
    """One escape's character; ``ValueError`` for one YAML does not read."""
    code = found.group(1) or found.group(2) or found.group(3)
    if code:
        return chr(int(code, 16))  # (past U+10FFFF: ValueError)
    character = _ESCAPES.get(found.group(4))
    if character is None:
        raise ValueError(found.group())
    return character


def _plain(line: str, start: int, redactor: Redactor) -> Optional[str]:
    """``line`` with the pairs' denied values in its plain scalar from ``start`` (to a
    comment) hidden; None when none is."""
    cut = len(line) - 1 if line.endswith("\r") else len(line)
    for mark in (" #", "\t#"):
        found = line.find(mark, start, cut)
        cut = found if found >= 0 else cut
    scalar = line[start:cut].rstrip(" \t")  # (the blanks before a comment kept)
    cut = start + len(scalar)
    hidden = plain_pairs(scalar, redactor)
    if hidden == scalar:
        return None
    if hidden[:1] != scalar[:1] and hidden[:1] in _PLAIN_START:
        # (A marker in its place, "[REDACTED n]", would start a flow sequence: the
        # scalar hidden whole, in double quotes.)
        hidden = f'"{redacted(scalar.rstrip())}"'
    return f"{line[:start]}{hidden}{line[cut:]}"
