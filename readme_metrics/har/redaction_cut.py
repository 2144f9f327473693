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
member hidden if either reading says so; and twice more when the text holds a document
in one of its JSON strings, its quotes escaped once (``\\"``, ``%5C%22``: review105,
``x{"a": "{\\"password\\": \\"a&b\\"}"}`` kept ``b`` in clear). A member's name
is found back from its end (a quote, blanks, a colon), as its opening quote is the last
quote before that no backslash escapes: text before a document, quotes in it too, does
not mislead it as a reading from the start would. A literal value (a number, ``true``)
holds no separator.
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

    #: A quote, after the run of backslashes before it (group 1).
    quote: re.Pattern[str]
    #: One backslash (to count those of a run).
    backslash: re.Pattern[str]
    #: A member's name's end: its closing quote, blanks, the colon.
    name_end: re.Pattern[str]
    blanks: re.Pattern[str]
    #: A quote, an opening or a closing bracket.
    token: re.Pattern[str]
    opening: re.Pattern[str]
    closing: re.Pattern[str]


def _reading(quote: str, backslash: str, blank: str, colon: str, opening: str,
             closing: str) -> _Reading:
    """A :class:`_Reading` of the spellings (patterns) of each character."""
    return _Reading(re.compile(f"((?:{backslash})*)(?:{quote})"), re.compile(backslash),
                    re.compile(f"(?:{quote})(?:{blank})*(?:{colon})"),
                    re.compile(f"(?:{blank})*"),
                    re.compile(f"{quote}|{opening}|{closing}"), re.compile(opening),
                    re.compile(closing))


_BLANK, _BLANK_DECODED = r"[ \t\n\r]", r"[ \t\n\r+]|%(?:20|09|0[AaDd])"
_AS_SENT = _reading('"', r"\\", _BLANK, ":", r"[{\[]", r"[}\]]")
_DECODED = _reading('"|%22', r"\\|%5[Cc]", _BLANK_DECODED, ":|%3[Aa]",
                    r"[{\[]|%[57][Bb]", r"[}\]]|%[57][Dd]")


def _escaped(level: int, decoded: bool) -> _Reading:
    """A reading of a document held in a JSON string ``level`` deep in the one the form
    holds (review105): each quote spelled after 2**level - 1 backslashes (or as a
    ``\\u0022`` so escaped), each backslash as 2**level; ``decoded``: percent-decoded."""
    one = r"(?:\\|%5[Cc])" if decoded else r"\\"
    quote = '(?:"|%22)' if decoded else '"'
    return _reading(f"{one}{{{2 ** level - 1}}}{quote}|{one}{{{2 ** (level - 1)}}}u0022",
                    f"{one}{{{2 ** level}}}", _BLANK_DECODED if decoded else _BLANK,
                    ":|%3[Aa]" if decoded else ":",
                    r"[{\[]|%[57][Bb]" if decoded else r"[{\[]",
                    r"[}\]]|%[57][Dd]" if decoded else r"[}\]]")


#: Documents held in JSON strings, up to three deep: as sent, and percent-decoded.
_ESCAPED = [_escaped(level, False) for level in (1, 2, 3)]
_ESCAPED_DECODED = [_escaped(level, True) for level in (1, 2, 3)]


class _Quotes:
    """The quotes of a text no backslash escapes, in one reading: found once, in one
    pass (looked for back from each member's end, a run of escaped quotes was read
    again for each: 100 KB of them took a second)."""

    def __init__(self, raw: str, reading: _Reading) -> None:
        self.at: list[int] = []
        self.ends: dict[int, int] = {}
        for found in reading.quote.finditer(raw):
            run = found.group(1)
            if not run or len(reading.backslash.findall(run)) % 2 == 0:
                self.at.append(found.end(1))
                self.ends[found.end(1)] = found.end()

    def before(self, at: int) -> int:
        """The last one before ``at``; -1 if none."""
        index = bisect_left(self.at, at)
        return self.at[index - 1] if index else -1

    def string_end(self, start: int, size: int) -> int:
        """The end of a string whose text starts at ``start``: after its closing quote,
        or ``size`` (the text's end) when it has none (cut short)."""
        index = bisect_left(self.at, start)
        return self.ends[self.at[index]] if index < len(self.at) else size


def cut_members(redactor: Redactor, raw: str, decode: Callable[[str], str]) -> str:
    """``raw`` (a form or query, percent-encoded; ``decode`` reads one of its pieces)
    with each run of pieces a cut member of a redacted name spans hidden as one piece;
    ``raw`` itself when there is none (most forms: no quote followed by a colon)."""
    if _DECODED.name_end.search(raw) is None or not (
            redactor.has_allow or redactor.names_key_decoded(raw)):
        return raw
    spans = _member_spans(redactor, raw, decode, _AS_SENT)
    encoded = "%" in raw or "+" in raw  # (else read so already)
    if encoded:
        spans += _member_spans(redactor, raw, decode, _DECODED)
    if "\\" in raw:
        for reading in _ESCAPED:
            spans += _member_spans(redactor, raw, decode, reading)
    if encoded and ("\\" in raw or "%5" in raw):
        for reading in _ESCAPED_DECODED:
            spans += _member_spans(redactor, raw, decode, reading)
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
    if reading.name_end.search(raw) is None:
        return []  # (a text of escaped quotes that name no member: no quotes read)
    quotes = _Quotes(raw, reading)
    spans: list[tuple[int, int]] = []
    done = 0
    for found in reading.name_end.finditer(raw):
        close = found.start()
        if close < done or close not in quotes.ends:
            continue
        opening = quotes.before(close)
        if opening < 0 or not _redacted_name(
                redactor, raw[quotes.ends[opening]:close], decode):
            continue
        blanks = reading.blanks.match(raw, found.end())
        end = _value_end(raw, quotes, found.end() if blanks is None else blanks.end(),
                         reading)
        if _CUTTING.search(raw, opening, end) is not None:
            spans.append((opening, end))
        done = end
    return spans


def _value_end(raw: str, quotes: _Quotes, start: int, reading: _Reading) -> int:
    """The end of the JSON value at ``start``: a string's, a container's (its brackets
    counted, its strings skipped), or ``start`` for a literal."""
    if start in quotes.ends:
        return quotes.string_end(quotes.ends[start], len(raw))
    if reading.opening.match(raw, start) is None:
        return start
    depth, at = 0, start
    while (token := reading.token.search(raw, at)) is not None:
        at = token.end()
        if token.start() in quotes.ends:
            at = quotes.string_end(at, len(raw))
        elif reading.opening.fullmatch(token.group()) is not None:
            depth += 1
        elif reading.closing.fullmatch(token.group()) is not None:
            depth -= 1
            if depth == 0:
                return at
    return len(raw)


def _redacted_name(redactor: Redactor, name: str, decode: Callable[[str], str]) -> bool:
    """Whether a member's raw ``name`` is one a list redacts: as sent or
    percent-decoded, JSON escapes read or not; a dotted entry's last key too (the
    member's path cannot be told in a document read in pieces)."""
    if _redacted_key(redactor, name):
        return True
    if "%" not in name and "+" not in name and "\\" not in name:
        return False  # (as almost every name: spelled one way)
    spellings = {name, decode(name)}
    for spelling in list(spellings):
        if "\\" in spelling:
            try:
                spellings.add(json.loads(f'"{spelling}"'))
            except ValueError:
                pass
    return any(_redacted_key(redactor, spelling) for spelling in spellings)


def _redacted_key(redactor: Redactor, key: str) -> bool:
    return redactor.redacts(key) or bool(redactor.deny_paths) and any(
        folded_name(key) == path.rsplit(".", 1)[1] for path in redactor.deny_paths)
