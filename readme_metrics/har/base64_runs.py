"""A zip, gzip, bzip2 or zstd file as base64 anywhere in a text, read as one in a JSON
string is (:func:`~.base64_archives.archived_key`; hostile35): the one entry point of
the places a value or a text is read so.

hostile33 read such a file only as a JSON string's whole value. The same base64 went out
as written elsewhere, its ``.env`` one ``base64 -d | unzip`` away: a form field, a
query value, a multipart text field, an XML, YAML or text body, a JSON document that is
one string, a JSON key, and a string holding it after a prefix (``"file=UEsDB..."``,
``"see: UEsDB..."``, a data URL after words). Now each such place asks
:func:`archive_held` (a value, hidden whole) or :func:`archives_hidden` (a text body,
each run hidden in it, the rest kept).

A run starts with an archive's magic in base64 (``UEsDB``, ``H4sI``, ``Qlpo``,
``KLUv``: :func:`~.base64_archives.archive_in`, four searches of the text, all a text
holding none costs) where no base64 character comes before it (the start of a value, a
blank, ``=``, ``>``, ``,`` of a data URL ...: an ordinary image's base64 that holds the
four letters is not read from its middle), and runs over the standard and URL-safe
alphabets to its padding. A line break (and the blanks of an indented block: YAML's
``|``, XML's) continues it when the line before holds a whole number of base64 quanta
(at least :data:`_SHORTEST_LINE` characters, as MIME's 76 and PEM's 64 do) and the next
line starts with base64: so a MIME body, wrapped every 76 characters, is read whole.
Each run of at least :data:`_SHORTEST_RUN` characters is decoded and read by
``archived_key``: a run of prose zipped is kept, one whose archive spells a denied key,
or cannot be read whole within the bounds, is hidden. Within the process's inflation
budget (:mod:`.inflation_budget`): the layers a run decodes to are taken from it
(:func:`~.body_compressed.budgeted_holds`), and so is the reading itself, the run's
length and at least :data:`_LEAST_COST` bytes (reading one costs 20 us however short:
a MiB of ``H4sI`` runs, each read, cost 4 s of the worker's time); a run found while
the budget is spent is hidden unread (never sent unread, as a zip body is not).
Memory: a run's copy, its bytes, their bound of each layer; time linear in the text.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har import inflation_budget
from readme_metrics.har.base64_archives import MAGICS, archive_in, archived_key
from readme_metrics.har.redaction_marks import redacted

if TYPE_CHECKING:
    from readme_metrics.har.redaction import Redactor

__all__ = ["archive_held", "archives_hidden"]

#: The characters of both alphabets: one before a magic puts it mid-run.
_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_")
#: A line of a run (its padding too), its ``+``, ``/`` and ``=`` percent-encoded too (a
#: URL's query value in a text or a JSON string: the run went on past them, review128).
_LINE = lazy_compile(r"[A-Za-z0-9+/_-]*(?:%2[BbFf][A-Za-z0-9+/_-]*)*(?:=|%3[Dd])*")
#: A line break to the next line of a run (its blanks, a line of base64 after).
_BREAK = lazy_compile(r"[ \t]*\r?\n[ \t]*(?=[A-Za-z0-9+/_-])")
#: The shortest line a run is continued after (MIME writes 76, PEM 64, some 60).
_SHORTEST_LINE = 16
#: The shortest run read: 12 bytes, under the least of the four holding a key and a
#: value (a zstd frame's 9 bytes of headers before its content; gzip's 18, bzip2's 14
#: empty, a zip's 22 of its end record alone). Shorter: prose, ``H4sI is gzip's magic``.
_SHORTEST_RUN = 16
#: The least a run's reading takes from the inflation budget (its fixed cost: 8,192
#: runs in the budget's burst, 1,024 a second after).
_LEAST_COST = 1024


def _starts(text: str) -> list[int]:
    """Where a run may start in ``text``: a magic with no base64 character before it."""
    found: list[int] = []
    for magic in MAGICS:
        at = text.find(magic)
        while at >= 0:
            if at == 0 or text[at - 1] not in _ALPHABET:
                found.append(at)
            at = text.find(magic, at + 5)
    found.sort()
    return found


def _end(text: str, start: int) -> int:
    """Where the run starting at ``start`` ends (its lines joined, see the module)."""
    line = start
    end = _line_end(text, start)
    while text[end - 1] != "=" and end - line >= _SHORTEST_LINE and (end - line) % 4 == 0:
        gap = _BREAK.match(text, end)
        if gap is None:
            break
        line = gap.end()
        end = _line_end(text, line)
    return end


def _line_end(text: str, at: int) -> int:
    """The end of the run's line at ``at`` (its base64, its padding)."""
    found = _LINE.match(text, at)
    return at if found is None else found.end()


def _runs(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each run in ``text`` long enough to read, in order, none inside
    another."""
    end = 0
    for start in _starts(text):
        if start >= end:
            end = _end(text, start)
            if end - start >= _SHORTEST_RUN:
                yield start, end


def _held(redactor: Redactor, run: str, depth: int = 0, nested: int = 0) -> bool:
    """``archived_key`` of ``run``, its reading taken from the budget (True, hidden
    unread, while the budget is spent); ``depth``, ``nested``: the zips and base64
    archives read around it (:func:`~.key_shapes.archives_in`)."""
    bucket = inflation_budget.BUDGET
    if not bucket.open():
        return True
    try:
        return archived_key(redactor, _unescaped(run) if "%" in run else run, depth,
                            nested)
    finally:
        bucket.spend(max(len(run), _LEAST_COST))


#: The three escapes a run holds (:data:`_LINE`), what each stands for.
_ESCAPES = (("%2B", "+"), ("%2b", "+"), ("%2F", "/"), ("%2f", "/"), ("%3D", "="),
            ("%3d", "="))


def _unescaped(run: str) -> str:
    """``run`` with its escapes read (six replaces: ``unquote`` took 0.6 s a MiB of them)."""
    for escape, character in _ESCAPES:
        run = run.replace(escape, character)
    return run


def archive_held(redactor: Redactor, text: str, depth: int = 0, nested: int = 0) -> bool:
    """Whether ``text`` (a value: a field's, a query's, a JSON string or key) holds, at
    its start or after a prefix, an archive's base64 that ``archived_key`` reads as
    spelling a denied key or cannot read whole (the value is then hidden whole).
    ``depth``, ``nested``: the zips and base64 archives ``text`` was read inside
    (:func:`~.key_shapes.archives_in`; past its bound, any run is held unread)."""
    if not redactor.has_deny or not archive_in(text):
        return False
    return any(_held(redactor, text[start:end], depth, nested) for start, end in _runs(text))


def archives_hidden(redactor: Redactor, text: str) -> str:
    """``text`` (a text body: XML, YAML, CSV, plain ...) with each run
    :func:`archive_held` would find replaced by its ``[REDACTED n]``, the rest as it is;
    ``text`` itself when none is."""
    if not redactor.has_deny or not archive_in(text):
        return text
    out: list[str] = []
    at = 0
    for start, end in _runs(text):
        if _held(redactor, text[start:end]):
            out += text[at:start], redacted(text[start:end])
            at = end
    if not out:
        return text
    out.append(text[at:])
    return "".join(out)
