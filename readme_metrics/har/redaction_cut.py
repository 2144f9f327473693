"""A JSON member a list names whose value a form's separators cut (forms23; SPEC 6).

A form (or query) that holds a JSON document it does not start with (text before it,
``x{"password": ...}``: hostile22; one field's value, ``b={"password": ...}``; a
field's value holding such a form percent-encoded, read as a form again) is read
as pairs, cut at each raw ``&`` and ``=``, and at ``;`` and ``#`` too. A denied member's
value holding one (``"a&b=c"``) was cut into pieces: the piece naming the member is
hidden whole (:func:`~readme_metrics.har.redaction_query.quoted_piece`), the pieces
after it were the rest of the value, in clear. Here the document's members are read
from their names, wherever a document starts: each member whose name a list redacts and
whose span from its name to its value's end holds such a separator is hidden whole,
from the start of the piece naming it (as that piece was hidden) to its value's end,
as one piece: ``%5BREDACTED%20n%5D``, n the length of that decoded text; the rest of
its last piece (``"}``, ``", "user": "zoe``) stays, read as any piece is.

A document is read twice: as sent (a ``%22`` is text in a string) and percent-decoded
(a ``%22`` is a quote: a document written percent-encoded with raw ``&`` in it), each
member hidden if either reading says so. A member's name is found back from its end
(a quote, blanks, a colon), as its opening quote is the last quote before that no
backslash escapes: text before a document, quotes in it too, does not mislead it as a
reading from the start would. A literal value (a number, ``true``) holds no separator.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from readme_metrics.har.redaction_marks import escaped_redacted
from readme_metrics.har.redaction_names import folded_name

if TYPE_CHECKING:
    from readme_metrics.har.redaction import Redactor

__all__ = ["cut_members"]

#: What cuts a form's text into pieces (query_values splits a pair at a "%23" too).
_CUTTING = re.compile("[&=;#]|%23")


@dataclass(frozen=True)
class _Reading:
    """How one reading of a form's text spells a document's characters."""

    quote: re.Pattern[str]
    #: A member's name's end: its closing quote, blanks, the colon.
    name_end: re.Pattern[str]
    blanks: re.Pattern[str]
    #: A quote, an opening or a closing bracket.
    token: re.Pattern[str]
    opening: re.Pattern[str]
    #: The spellings of a backslash (read back from a quote).
    backslashes: tuple[str, ...]


_AS_SENT = _Reading(
    quote=re.compile('"'),
    name_end=re.compile(r'"[ \t\n\r]*:'),
    blanks=re.compile(r"[ \t\n\r]*"),
    token=re.compile(r'["{}\[\]]'),
    opening=re.compile(r"[{\[]"),
    backslashes=("\\",),
)
_BLANK = r"(?:[ \t\n\r+]|%(?:20|09|0[AaDd]))"
_DECODED = _Reading(
    quote=re.compile('"|%22'),
    name_end=re.compile(f"(?:\"|%22){_BLANK}*(?::|%3[Aa])"),
    blanks=re.compile(f"{_BLANK}*"),
    token=re.compile(r'"|%22|[{}\[\]]|%[57][BbDd]'),
    opening=re.compile(r"[{\[]|%[57][Bb]"),
    backslashes=("\\", "%5C", "%5c"),
)


def cut_members(redactor: Redactor, raw: str, decode: Callable[[str], str]) -> str:
    """``raw`` (a form or query, percent-encoded; ``decode`` reads one of its pieces)
    with each run of pieces a cut member of a redacted name spans hidden as one piece;
    ``raw`` itself when there is none (most forms: no quote followed by a colon)."""
    if _DECODED.name_end.search(raw) is None or not (
            redactor.has_allow or redactor.names_key_decoded(raw)):
        return raw
    spans = [*_member_spans(redactor, raw, decode, _AS_SENT),
             *_member_spans(redactor, raw, decode, _DECODED)]
    if not spans:
        return raw
    runs: list[tuple[int, int]] = []
    for start, end in sorted(_piece_run(raw, start, end) for start, end in spans):
        if runs and start <= runs[-1][1]:
            runs[-1] = (runs[-1][0], max(end, runs[-1][1]))
        else:
            runs.append((start, end))
    out: list[str] = []
    at = 0
    for start, end in runs:
        out += raw[at:start], escaped_redacted(decode(raw[start:end]))
        at = end
    out.append(raw[at:])
    return "".join(out)


def _piece_run(raw: str, start: int, end: int) -> tuple[int, int]:
    """The run ``raw[start:end]`` (a member) hides: from the start of its first piece,
    the pair's value (after its "=", if the member starts there) or name, as the
    piece naming a member is hidden (quoted_piece), to the value's end: what follows it
    in its last piece (``", "user": "zoe``) is no part of it, and read as before."""
    first = raw.rfind("&", 0, start) + 1
    equals = raw.find("=", first, start)
    return (first if equals < 0 else equals + 1), end


def _member_spans(redactor: Redactor, raw: str, decode: Callable[[str], str],
                  reading: _Reading) -> list[tuple[int, int]]:
    """(start, end) in ``raw`` of each member of a redacted name, in ``reading``, whose
    span (its name's opening quote to its value's end) holds a cutting character."""
    quotes = [found.start() for found in reading.quote.finditer(raw)]
    spans: list[tuple[int, int]] = []
    done = 0
    for found in reading.name_end.finditer(raw):
        close = found.start()
        if close < done or _escaped(raw, close, reading):
            continue
        opening = _opening_quote(raw, quotes, close, reading)
        if opening < 0:
            continue
        name_start = reading.quote.match(raw, opening)
        if name_start is None or not _redacted_name(
                redactor, raw[name_start.end():close], decode):
            continue
        blanks = reading.blanks.match(raw, found.end())
        end = _value_end(raw, quotes, found.end() if blanks is None else blanks.end(),
                         reading)
        if _CUTTING.search(raw, opening, end) is not None:
            spans.append((opening, end))
        done = end
    return spans


def _escaped(raw: str, at: int, reading: _Reading) -> bool:
    """Whether the quote at ``at`` follows an odd run of backslashes."""
    count = 0
    while True:
        for spelling in reading.backslashes:
            if at >= len(spelling) and raw.startswith(spelling, at - len(spelling)):
                at -= len(spelling)
                count += 1
                break
        else:
            return count % 2 == 1


def _opening_quote(raw: str, quotes: list[int], close: int, reading: _Reading) -> int:
    """The last unescaped quote before the one at ``close``; -1 if none."""
    index = bisect_left(quotes, close) - 1
    while index >= 0:
        if not _escaped(raw, quotes[index], reading):
            return quotes[index]
        index -= 1
    return -1


def _string_end(raw: str, quotes: list[int], start: int, reading: _Reading) -> int:
    """The end of a string whose text starts at ``start``: after its closing quote, or
    the text's end when it has none (cut short)."""
    index = bisect_left(quotes, start)
    while index < len(quotes):
        at = quotes[index]
        if not _escaped(raw, at, reading):
            found = reading.quote.match(raw, at)
            return at + (len(found.group()) if found is not None else 1)
        index += 1
    return len(raw)


def _value_end(raw: str, quotes: list[int], start: int, reading: _Reading) -> int:
    """The end of the JSON value at ``start``: a string's, a container's (its brackets
    counted, its strings skipped), or ``start`` for a literal."""
    found = reading.quote.match(raw, start)
    if found is not None:
        return _string_end(raw, quotes, found.end(), reading)
    if reading.opening.match(raw, start) is None:
        return start
    depth, at = 0, start
    while (token := reading.token.search(raw, at)) is not None:
        text, at = token.group(), token.end()
        if reading.quote.fullmatch(text) is not None:
            at = _string_end(raw, quotes, at, reading)
        elif reading.opening.fullmatch(text) is not None:
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return at
    return len(raw)


def _redacted_name(redactor: Redactor, name: str, decode: Callable[[str], str]) -> bool:
    """Whether a member's raw ``name`` is one a list redacts: as sent or
    percent-decoded, JSON escapes read or not; a dotted entry's last key too (the
    member's path cannot be told in a document read in pieces)."""
    spellings = {name, decode(name)}
    for spelling in list(spellings):
        if "\\" in spelling:
            try:
                spellings.add(json.loads(f'"{spelling}"'))
            except ValueError:
                pass
    last_keys = {path.rsplit(".", 1)[1] for path in redactor.deny_paths}
    return any(redactor.redacts(spelling) or folded_name(spelling) in last_keys
               for spelling in spellings)
