"""The JSON members a list names in text that is no JSON document, read back from their
names (SPEC 6): those a form's separators cut (forms23), and those of any text body
(hostile24).

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
holds no separator. Python's ``str(dict)`` is read too, its names and strings in single
quotes (a string holding one in double quotes), as sent and percent-decoded.

Any other text (XML, HTML, CSV, a script: :func:`hidden_members`) is read the same ways,
and a CSV field's doubled quotes too; each such member's value is written
``[REDACTED n]`` (a string's text, its quotes kept) or ``[REDACTED]``.
"""

from __future__ import annotations

import json
from functools import partial
from typing import TYPE_CHECKING, Callable

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har.document_readings import AS_SENT as _AS_SENT
from readme_metrics.har.document_readings import DECODED as _DECODED
from readme_metrics.har.document_readings import DOUBLED as _DOUBLED
from readme_metrics.har.document_readings import ESCAPED as _ESCAPED
from readme_metrics.har.document_readings import ESCAPED_DECODED as _ESCAPED_DECODED
from readme_metrics.har.document_readings import SINGLE as _SINGLE
from readme_metrics.har.document_readings import SINGLE_DECODED as _SINGLE_DECODED
from readme_metrics.har.document_readings import SINGLE_ESCAPED as _SINGLE_ESCAPED
from readme_metrics.har.document_readings import Quotes as _Quotes
from readme_metrics.har.document_readings import Reading as _Reading
from readme_metrics.har.redaction_marks import escaped_redacted, redacted
from readme_metrics.har.redaction_names import folded_name

if TYPE_CHECKING:
    from readme_metrics.har.redaction import Redactor

__all__ = ["cut_members", "denied_key", "hidden_members", "names_member",
           "single_quoted_member"]

#: What cuts a form's text into pieces (query_values splits a pair at a "%23" too).
_CUTTING = lazy_compile("[&=;#]|%23")


def cut_members(redactor: Redactor, raw: str, decode: Callable[[str], str]) -> str:
    """``raw`` (a form or query, percent-encoded; ``decode`` reads one of its pieces)
    with each run of pieces a cut member of a redacted name spans hidden as one piece;
    ``raw`` itself when there is none (most forms: no quote followed by a colon)."""
    if not names_member(raw) or not (
            redactor.has_allow or redactor.names_key_decoded(raw)):
        return raw
    spans = [(opening, end) for opening, _, end, _ in _members(redactor, raw, decode)
             if _CUTTING.search(raw, opening, end) is not None]
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


def names_member(raw: str) -> bool:
    """Whether ``raw`` may hold a member's name in any reading: a quote (double or
    single, as sent or percent-encoded), blanks, a colon. (The colon looked for first:
    the patterns, tried at each character, took 3 ms a 100 KB form of prose.)"""
    if ":" not in raw and "%3" not in raw:
        return False
    return _DECODED.name_end.search(raw) is not None or (
        ("'" in raw or "%27" in raw) and _SINGLE_DECODED.name_end.search(raw) is not None)


def single_quoted_member(redactor: Redactor, text: str, denied_only: bool) -> bool:
    """Whether decoded ``text`` names, in single quotes, a member a list redacts
    (``x{'password': ...}``, Python's ``str(dict)``), or the denylist when
    ``denied_only``: only a name a list names, for prose has apostrophes (``it's
    'fine': ...`` is kept). Its quotes escaped too, in a single-quoted string
    (``'{\\'password\\': ...}'``; hostile26)."""
    if "'" not in text:
        return False
    return any(_single_quoted_in(redactor, text, reading, denied_only) for reading in (
        (_SINGLE, _SINGLE_ESCAPED) if "\\'" in text else (_SINGLE,)))


def _single_quoted_in(redactor: Redactor, text: str, reading: _Reading,
                      denied_only: bool) -> bool:
    """:func:`single_quoted_member` in one reading."""
    if reading.name_end.search(text) is None:
        return False
    quotes = _Quotes(text, reading)
    for found in reading.name_end.finditer(text):
        close = found.start()
        opening = quotes.before(close)
        if close in quotes and opening >= 0 and _redacted_name(
                redactor, text[quotes.end(opening):close], str, denied_only):
            return True
    return False


#: Where a member of a redacted name is in a text: its name's opening quote, its value's
#: start and end, and its string's text (start, end) when it is a string. (A tuple: a
#: NamedTuple made each of 50,000 members a MiB cost a microsecond more.)
_Member = tuple[int, int, int, "tuple[int, int] | None"]


def _members(redactor: Redactor, raw: str, decode: Callable[[str], str],
             doubled: bool = False, denied_only: bool = False) -> list[_Member]:
    """Each member of a redacted name (the denylist's, when ``denied_only``) in ``raw``,
    in each reading its characters may have: as sent, percent-decoded (when it holds an
    escape), in a document held in a JSON string (a backslash), in single quotes
    (Python's repr: hostile24), and, with ``doubled``, each quote doubled (a CSV
    field's)."""
    read = partial(_in_reading, redactor, raw, decode, denied_only=denied_only)
    # A value in escaped quotes after a name in plain ones (a repr, or a document, in a
    # JSON string after its name: {'password': \"...\"}, "password": \"...\"; hostile26).
    backslash = "\\" in raw
    found = read(_AS_SENT, _ESCAPED if backslash else ())
    encoded = "%" in raw or "+" in raw  # (else read so already)
    if encoded:
        found += read(_DECODED, _ESCAPED_DECODED if backslash or "%5" in raw else ())
    if backslash:
        for reading in _ESCAPED:
            found += read(reading)
    if encoded and ("\\" in raw or "%5" in raw):
        for reading in _ESCAPED_DECODED:
            found += read(reading)
    if "'" in raw:
        found += read(_SINGLE, (_AS_SENT, *_ESCAPED) if backslash else (_AS_SENT,))
    if "\\'" in raw:
        found += read(_SINGLE_ESCAPED, (_AS_SENT,))
    if encoded and "%27" in raw:
        found += read(_SINGLE_DECODED, (_DECODED, *_ESCAPED_DECODED) if (
            backslash or "%5" in raw) else (_DECODED,))
    if doubled and '""' in raw:
        found += read(_DOUBLED)
    return found


def hidden_members(redactor: Redactor, text: str, doubled: bool = False,
                   denied_only: bool = False) -> str:
    """``text`` (any text body: XML, HTML, CSV, a script; a JSON string's text) with the
    value of each JSON member of a name a list redacts (the denylist, when
    ``denied_only``: a JSON string an allowed key holds) written ``[REDACTED n]`` (a
    string's text, its quotes kept; ``[REDACTED]`` for another value): as sent, in a
    JSON string, in single quotes; ``doubled``: a CSV's quotes doubled. ``text`` itself
    when none is."""
    if not names_member(text) or not redactor.names_key_decoded(text):
        return text
    out: list[str] = []
    at = 0
    for start, end, string in sorted(
            (*(string or (value, end)), string is not None)
            for _, value, end, string in _members(redactor, text, str, doubled,
                                                   denied_only)):
        if start < at or start == end and not string:
            continue  # (inside a value hidden already, or no value: "password":})
        out += text[at:start], redacted(text[start:end] if string else None)
        at = end
    if not out:
        return text
    out.append(text[at:])
    return "".join(out)


def _piece_run(raw: str, start: int, end: int) -> tuple[int, int]:
    """The run ``raw[start:end]`` (a member) hides: from the start of its first piece,
    the pair's value (after its "=", if the member starts there) or name, as the
    piece naming a member is hidden (quoted_piece), to the value's end: what follows it
    in its last piece (``", "user": "zoe``) is no part of it, and read as before."""
    first = raw.rfind("&", 0, start) + 1
    equals = raw.find("=", first, start)
    return (first if equals < 0 else equals + 1), end


#: A Python string literal's prefix before its quote (``b'...'``, ``rb"..."``: a repr's
#: bytes; review110).
_STRING_PREFIX = lazy_compile(r"(?:[bBrRuUfF]|[bB][rR]|[rR][bB])(?=['\"]|%2[27])")

#: A value that is no string nor container (a number, true, null), or a bare word.
_LITERAL = lazy_compile(r"""[^\s,;&=#%<>{}\[\]"']*""")


def _in_reading(redactor: Redactor, raw: str, decode: Callable[[str], str],
                reading: _Reading, strings: tuple[_Reading, ...] = (),
                denied_only: bool = False) -> list[_Member]:
    """Each member of a redacted name in ``raw`` in ``reading``; ``strings``: the readings
    of a value's string in other quotes (a repr's ``'password': "it's"``, or
    ``\\"it's\\"`` in a JSON string), each read only when a value starts so."""
    if reading.name_end.search(raw) is None:
        return []  # (a text of escaped quotes that name no member: no quotes read)
    quotes = _Quotes(raw, reading)
    others: dict[int, _Quotes] = {}
    members: list[_Member] = []
    done = 0
    for found in reading.name_end.finditer(raw):
        close = found.start()
        if close < done or close not in quotes:
            continue
        opening = quotes.before(close)
        if opening < 0 or not _redacted_name(
                redactor, raw[quotes.end(opening):close], decode, denied_only):
            continue
        blanks = reading.blanks.match(raw, found.end())
        start = found.end() if blanks is None else blanks.end()
        # (A repr's bytes or raw string, b'...': its quote after the prefix; review110.)
        prefixed = _STRING_PREFIX.match(raw, start)
        quote = start if prefixed is None else prefixed.end()
        kind = quotes if quote in quotes else _other(raw, strings, others, quote)
        string = None
        if kind is not None:
            text = kind.end(quote)
            close = kind.closing(text, len(raw))
            string = (text, close)
            end = kind.string_end(text, len(raw))
        else:
            end = _value_end(raw, quotes, start, reading)
            if end == start:
                literal = _LITERAL.match(raw, start)
                end = start if literal is None else literal.end()
        members.append((opening, start, end, string))
        done = end
    return members


def _other(raw: str, strings: tuple[_Reading, ...], others: dict[int, _Quotes],
           quote: int) -> _Quotes | None:
    """The quotes of the first of ``strings`` in which a string starts at ``quote``
    (each reading's quotes found once, when a value first asks), or None."""
    for index, reading in enumerate(strings):
        if reading.quote.match(raw, quote) is None:
            continue  # (no quote of this reading here: its quotes not read at all)
        if index not in others:
            others[index] = _Quotes(raw, reading)
        if quote in others[index]:
            return others[index]
    return None


def _value_end(raw: str, quotes: _Quotes, start: int, reading: _Reading) -> int:
    """The end of the JSON value at ``start``: a container's (its brackets counted, its
    strings skipped), or ``start`` for a literal."""
    if reading.opening.match(raw, start) is None:
        return start
    depth, at = 0, start
    while (token := reading.token.search(raw, at)) is not None:
        at = token.end()
        if token.start() in quotes:
            at = quotes.string_end(at, len(raw))
        elif reading.opening.fullmatch(token.group()) is not None:
            depth += 1
        elif reading.closing.fullmatch(token.group()) is not None:
            depth -= 1
            if depth == 0:
                return at
    return len(raw)


def _redacted_name(redactor: Redactor, name: str, decode: Callable[[str], str],
                   denied_only: bool = False) -> bool:
    """Whether a member's raw ``name`` is one a list redacts (the denylist, when
    ``denied_only``): as sent or percent-decoded, JSON escapes read or not; a dotted
    entry's last key too (the member's path cannot be told in a document read in
    pieces)."""
    if _redacted_key(redactor, name, denied_only):
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
    return any(_redacted_key(redactor, spelling, denied_only) for spelling in spellings)


def denied_key(redactor: Redactor, key: str) -> bool:
    """Whether the denylist names ``key`` read in a text (a dotted entry by its last
    key: a text's path from a root cannot be told)."""
    return _redacted_key(redactor, key, True)


def _redacted_key(redactor: Redactor, key: str, denied_only: bool) -> bool:
    return (redactor.denies(key) if denied_only else redactor.redacts(key)) or bool(
        redactor.deny_paths) and any(
        folded_name(key) == path.rsplit(".", 1)[1] for path in redactor.deny_paths)
