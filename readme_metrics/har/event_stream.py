"""Redacting a server-sent events stream (``text/event-stream``) by the denylist: the
data of each event as a JSON document (what a streaming API sends, one event a chunk of
its answer), or a form's pairs.

The stream is no JSON document itself, so the JSON body's reading missed it, and a denied
key in an event's data (``data: {"password": ...}``) went out in clear. An event's data is
its ``data:`` lines joined with "\\n" (the HTML standard's event stream): a document may
span several. Pure functions, as :mod:`readme_metrics.har.bodies`'. By the denylist only:
under an allowlist, :mod:`~readme_metrics.har.bodies` hides the whole stream (text that
is no key/value data), so data past :func:`_event`'s first test names a denied key, as
written or percent-encoded.
"""

from __future__ import annotations

import io
import re
from array import array
from collections.abc import Sequence
from typing import Any, Optional

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har.json_pieces import depth_after as _depth
from readme_metrics.har.json_pieces import opening as _opening
from readme_metrics.har.redaction import Redactor, redacted
from readme_metrics.har.text import JSON_START

__all__ = [
    "EVENT_STREAM", "UNREADABLE_EVENT_COMMENT", "event_stream_names", "event_stream_redacted"]

#: The essence of a server-sent events stream's Content-Type.
EVENT_STREAM = "text/event-stream"

UNREADABLE_EVENT_COMMENT = (
    "an event's data could not be parsed to redact it field by field, so it was redacted whole"
)
# A line and its end: the standard ends one with CRLF, LF or CR.
_LINE = re.compile(r"([^\r\n]*)(\r\n|\r|\n|\Z)")
# A JSON member's name and its colon: a line holding one may be a piece of a document.
_MEMBER = re.compile(r'"\s*:')
# A data line's field name, its colon and one blank: gone when the stream's data lines
# are read as one text (_glued).
_DATA_FIELD = lazy_compile(r"data(?::[ ]?)?")
#: A data line's field start, one object each (each line's own: a MiB of them).
_FIELDS = {field: field for field in ("data", "data:", "data: ")}
# A JSON string's escape, read as JSON reads it (:func:`_read_escapes`).
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|(.))", re.S)
_ESCAPED = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
# Most readings of a text's escapes (a document in a string in a string...).
_MOST_READINGS = 4


def _data(line: str) -> Optional[tuple[str, str]]:
    """(the field's start, its value) of a ``data`` line, else None: "data:" and one
    blank after it are no part of the value."""
    if not line.startswith("data"):
        return None
    if line == "data":
        return line, ""
    if line[4] != ":":
        return None
    start = 6 if line[5:6] == " " else 5
    return line[:start], line[start:]


def _event(lines: list[str], at: Sequence[int], redactor: Redactor) -> bool:
    """Redact the data of the event whose data lines are line i for i in ``at`` (each
    ``lines[3 * i:3 * i + 3]``: its field start, value, line end); True when a document
    that could not be read (cut short) was hidden whole."""
    data = "\n".join(lines[3 * i + 1] for i in at)
    if not _names(data, redactor):
        return False
    # The data names a denied key (as written, or percent-encoded in a URL or form: a
    # document that cannot be read is hidden whole either way, as a JSON body is).
    if len(at) > 1 and JSON_START.match(data) is not None:
        document = redactor.json_text(data)
        if document is None and not _documents(lines, at, redactor):
            # A document over several lines cut short: a line of it may be a value alone.
            for i in at:
                lines[3 * i + 1] = redacted(lines[3 * i + 1])
            return True
        if document is not None:
            if document != data:
                # The document on its first line (compact, as a JSON body redacted is),
                # the others gone: the event's data reads as the same document.
                lines[3 * at[0] + 1] = document
                if lines[3 * at[0]] == "data":
                    # (A "data" line with no colon took the document: "data{...}" is
                    # a field of another name, the event's data lost; review122.)
                    lines[3 * at[0]] = "data:"
                for i in at[1:]:
                    lines[3 * i:3 * i + 3] = ["", "", ""]
            return False
    # Line by line: a document each, or a JSON string (a document or a form encoded
    # twice, as a JSON body's text is read), or a form's pairs; in data over several lines,
    # any other line (a piece of a document or of a value that spans lines, a JSON string
    # among them, one holding "=" too; a line holding "=" after a document's start)
    # hidden whole.
    pieces = len(at) > 1
    started = pieces and any(JSON_START.match(lines[3 * i + 1]) is not None for i in at)
    whole = False
    for i in at:
        value = lines[3 * i + 1]
        quoted = value.lstrip()[:1] == '"'
        if JSON_START.match(value) is not None:
            document = redactor.json_text(value)
            if document is None:
                document, whole = redacted(value), True
            lines[3 * i + 1] = document
        elif (quoted and not pieces
              and (document := redactor.json_text(value)) is not None
              # (A string kept as it is that holds a member naming a denied key is a
              # piece of a document in a string, the next branch's.)
              and (document != value or not _member(value, redactor))):
            lines[3 * i + 1] = document
        elif _member(value, redactor):
            # A piece of a document that does not parse, one member whole in it (a
            # document streamed in pieces, an event each: ', "password": "..."}'), as a
            # document cut short is.
            lines[3 * i + 1], whole = redacted(value), True
        elif "=" in value and not started and not (quoted and pieces):
            lines[3 * i + 1] = redactor.linked(value)
        elif pieces and value:
            lines[3 * i + 1], whole = redacted(value), True
    return whole


def _documents(lines: list[str], at: Sequence[int], redactor: Redactor) -> bool:
    """Whether each data line of the event at ``at`` (but empty ones) is a whole document
    (JSON Lines, a document a line: ``data: {"a": 1}`` then ``data: {"b": 2}``): then
    no member spans two lines (a JSON string holds no line break), and each is redacted
    key by key on its own, where the data hidden whole lost documents naming no key."""
    return all(JSON_START.match(value) is not None and redactor.json_text(value) is not None
               for value in (lines[3 * i + 1] for i in at) if value)


def _member(value: str, redactor: Redactor) -> bool:
    """Whether ``value`` holds a JSON member's name (``"...":``) and names a denied key."""
    return _MEMBER.search(value) is not None and _mentions(value, redactor)


def _hidden(lines: list[str], at: Sequence[int]) -> bool:
    """Hide the event's data lines whole; True when one held anything."""
    for i in at:
        lines[3 * i + 1] = redacted(lines[3 * i + 1]) if lines[3 * i + 1] else ""
    return any(lines[3 * i + 1] for i in at)


def _events(lines: list[str], at: Sequence[int], redactor: Redactor,
            state: list[Any]) -> None:
    """Redact the event at ``at`` by :func:`_event`, or hide its data whole when it is a
    piece of a document an earlier event opened and did not finish (a document streamed
    in pieces, an event each: ``data: {"password":`` then ``data: "s3cr3t"}``; one in a
    JSON string too; one after other text, ``data: x {"password":``), and the document
    names a denied key (in this piece or one before, or a name split between them:
    ``data: {"pass`` then ``data: word": ...``; an escape too, cut after its backslash).
    ``state``: [whole, depth, in a string, named, tail] of the stream so far: ``tail``
    the open document's last characters, as many as a denied key's name may take
    spelled with an escape for each character (``\\u0070``)."""
    whole, depth, in_string, named, tail = state
    data = "\n".join(lines[3 * i + 1] for i in at)
    opened = depth > 0 or in_string
    if opened and (named or _names(tail + data, redactor)):
        whole = _hidden(lines, at) or whole
    else:
        whole = _event(lines, at, redactor) or whole
    if opened:
        depth, in_string, _ = _depth(data, depth, in_string)
    else:
        # A document that starts here, maybe after other text: read from its start.
        data, depth, in_string = _opening(data)
    still = depth > 0 or in_string
    named = still and (named or _names(tail + data, redactor))
    tail = (tail + data)[-6 * max(map(len, redactor.deny_keys), default=0):] if still else ""
    state[:] = [whole, depth, in_string, named, tail]


def _field(line: str) -> tuple[str, str]:
    """(the field's start, its value) of a line that is no ``data`` line: a comment's
    ``:``, or a field's name and ``:`` (one blank after either no part of the value); a
    line with no colon is all value (the standard's field name with no value)."""
    colon = line.find(":")
    if colon < 0:
        return "", line
    start = colon + 2 if line[colon + 1:colon + 2] == " " else colon + 1
    return line[:start], line[start:]


def event_stream_names(text: str, redactor: Redactor) -> bool:
    """Whether the stream ``text`` may name a denied key: as written, or in its events'
    data read as one text (a name split between events, ``data: {"pass`` then
    ``data: word": ...``)."""
    return _names(text, redactor) or _names(_glued(text), redactor)


def _glued(text: str) -> str:
    """The stream ``text``'s first line and its data lines' values after it, with no line
    end between (a denied key's name split between events whole again): each line after
    the first that ends and is no data line left out, each data line's field name
    (``data``, its colon and one blank) too, and the last line's if it has no end. Line
    by line (a pattern for a line end and the lines after it up to the next data line,
    its group repeated a line, kept a state for each: 1 MiB of blank lines or comments
    took 181 MiB at its peak; hostile30)."""
    out = io.StringIO()
    first = True
    for match in _LINE.finditer(text):
        line, end = match.group(1), match.group(2)
        if not line and not end:
            break
        if first:
            out.write(line)
            first = False
        elif not end or line == "data" or line.startswith("data:"):
            field = _DATA_FIELD.match(line)
            out.write(line if field is None else line[field.end():])
    return out.getvalue()


def _names(data: str, redactor: Redactor) -> bool:
    """Whether ``data`` names a denied key, as written or percent-encoded."""
    return any(redactor.mentions_key(text) or redactor.names_key_encoded(text)
               for text in _readings(data))


def _mentions(data: str, redactor: Redactor) -> bool:
    """:meth:`Redactor.mentions_key` of ``data`` (``denied_only``), its escapes read."""
    return any(redactor.mentions_key(text, True) for text in _readings(data))


def _readings(data: str) -> list[str]:
    """``data`` to look for a denied key in: as written, and, when it holds a ``\\u``
    escape (which :meth:`Redactor.mentions_key` takes for a key's spelling, whatever it
    spells: data over several lines holding "\\u00e9" was hidden whole), with its
    escapes read as JSON reads them, once, twice... (a document in a JSON string), and
    as written with each "\\u" made none. A reading still holding one after
    :data:`_MOST_READINGS` is looked at as it is (as naming a key)."""
    if "\\u" not in data:
        return [data]
    readings = [data.replace("\\u", "\\ u")]
    text = data
    for _ in range(_MOST_READINGS):
        text = _read_escapes(text)
        if "\\u" not in text:
            readings.append(text)
            break
    else:
        readings.append(text)
    return readings


def _read_escapes(text: str) -> str:
    """``text`` with its JSON escapes read (a surrogate pair as its character)."""
    read = _ESCAPE.sub(lambda escape: chr(int(escape.group(1), 16)) if escape.group(1)
                       else _ESCAPED.get(escape.group(2), escape.group(2)), text)
    return read.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def event_stream_redacted(text: str, redactor: Redactor) -> tuple[str, Optional[str]]:
    """(``text``, an event stream, with each event's data redacted; a comment when a data
    that could not be read, a document cut short, was hidden whole). From an event whose
    data starts a document it does not finish, once that document names a denied key, the
    data of every later event is hidden whole until the document ends: the rest of it (the
    key's value) may be in any of them. A line of another field (``event:``, ``id:``) or a
    comment is redacted as a data line alone is: the stream is the body."""
    # The lines of the event being read (written out once it ends, or at once when no
    # event is: 1 MiB of blank lines, each kept as a list, took 147 MiB; hostile30).
    # Three parts a line in one list, the data lines' numbers in an array (a list and
    # an int a line: 1 MiB of "data:" lines in one event peaked at 33x; hostile32).
    lines: list[str] = []
    out = io.StringIO()
    at = array("i")
    state: list[Any] = [False, 0, 0, False, ""]  # see _events
    for match in _LINE.finditer(text):
        line, end = match.group(1), match.group(2)
        if not line and not end:
            break
        data = _data(line)
        if data is not None:
            at.append(len(lines) // 3)
            lines += _FIELDS.get(data[0], data[0]), data[1], end
            continue
        if line:
            # An event's name, its id, a comment: the stream is the body, so such a line
            # naming a denied key is redacted as a data line alone is.
            lines += *_field(line), end
            state[0] = _event(lines, [len(lines) // 3 - 1], redactor) or state[0]
            if not at:
                _written(lines, out)
            continue
        lines += "", "", end
        if at:  # a blank line ends the event
            _events(lines, at, redactor, state)
            at = array("i")
        _written(lines, out)
    if at:  # a stream cut short: its last event's data too
        _events(lines, at, redactor, state)
    _written(lines, out)
    return out.getvalue(), UNREADABLE_EVENT_COMMENT if state[0] else None


def _written(lines: list[str], out: io.StringIO) -> None:
    """Write ``lines`` (their parts) to ``out``, and forget them."""
    for part in lines:
        out.write(part)
    lines.clear()
