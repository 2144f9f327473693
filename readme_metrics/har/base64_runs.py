"""A zip, gzip, bzip2, zstd or zlib file as base64 anywhere in a text, read as binary
data is (:func:`~.base64_archives.archive_read`; hostile35, hostile38): the one entry
point of the places a value or a text is read so.

hostile33 read such a file only as a JSON string's whole value. The same base64 went out
as written elsewhere, its ``.env`` one ``base64 -d | unzip`` away: a form field, a
query value, a multipart text field, an XML, YAML or text body, a JSON document that is
one string, a JSON key, and a string holding it after a prefix (``"file=UEsDB..."``,
``"see: UEsDB..."``, a data URL after words). Now each such place asks
:func:`archive_held` (a value, hidden whole) or :func:`archives_hidden` (a text body,
each run hidden in it, the rest kept).

A run starts at a magic (:mod:`.base64_starts`: after base64 characters too, a zip's a
byte or two into a quantum, zlib's at a run's start, percent-encoded) whose first
quanta decode to an archive's first bytes, and runs over the standard and URL-safe
alphabets to its padding, over percent-encoded characters of them (``%2B``, ``%2F``,
``%3D``: a URL's query value in a text, review128; ``%55``, any) and JSON's ``\\/``
(PHP escapes each ``/``). A line break (and the blanks of an indented block: YAML's
``|``, XML's; a JSON string's escaped ``\\r\\n`` too) continues it when the line before
holds a whole number of base64 quanta (at least :data:`_SHORTEST_LINE` characters, as
MIME's 76 and PEM's 64 do) and the next line starts with base64: so a MIME body,
wrapped every 76 characters, is read whole. Each run of at least :data:`_SHORTEST_RUN`
characters is decoded, the bytes before its magic dropped, and read by ``archive_read``.

A run's decoding covers every magic later in it at the same alignment (a multiple of 4
characters from its start, its escapes and breaks read): a zip's there (its entries'
headers, one after another) is read with it, as a zip anywhere in bytes is; a gzip's,
a bzip2's, a zstd's or a zlib's is read from its own byte on (a decoy magic glued before
a real one is no cover), at most :data:`_MOST_LATER` of them (one past: held unread). A
magic at another alignment starts a reading of its own: at most four over any run, so
the work stays linear in the text. Within the process's inflation budget
(:mod:`.inflation_budget`): the layers a run decodes to are taken from it, and so is
the reading itself, the run's length and at least :data:`_LEAST_COST` bytes (reading
one costs 20 us however short); a run found while the budget is spent is hidden unread
(never sent unread, as a zip body is not). Memory: a run's copy, its bytes (four at
most kept), their bound of each layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har import inflation_budget
from readme_metrics.har.base64_archives import archive_in, archive_read, compressed_read
from readme_metrics.har.base64_starts import ALPHABET, MARK_SOURCE, kind_at, starts, unescaped
from readme_metrics.har.redaction_marks import redacted
from readme_metrics.har.transfer_coding import file_transfer_decoded

if TYPE_CHECKING:
    from readme_metrics.har.redaction import Redactor

__all__ = ["archive_held", "archives_hidden", "runs_held"]

#: A line of a run (its padding too): the alphabets' characters, each percent-encoded
#: too (a URL's query value in a text or a JSON string: review128; hostile38), JSON's
#: ``\/``, and ``\u002B``, ``\u002F``, ``\u003D`` (.NET's System.Text.Json escapes
#: ``+``, Gson ``=``), HTML's ``&#43;``, ``&#x2F;`` ... (mustache.js writes ``/`` so, Go's
#: html/template ``+``; review130), zero-padded (``&#0043;``, ``&#x002F;``) and HTML5's
#: names (``&plus;``, ``&sol;``; hostile44).
_ESCAPE = (r"%(?:2[BbDdFf]|3[0-9]|4[1-9A-Fa-f]|5[0-9AaFf]|6[1-9A-Fa-f]|7[0-9Aa])"
           r"|\\/|\\u002[BbFf]|&#(?:0*(?:43|47)|[xX]0*2[BbFf]);|&(?:plus|sol);")
#: Each matched in steps of at most :data:`_STEP` escapes: ``re`` keeps the state of each
#: repetition of a group, 41.8x a text of ``H4sI%2B`` at the peak as one match (review130).
_STEP = 256
_LINE = lazy_compile(rf"[A-Za-z0-9+/_-]*(?:(?:{_ESCAPE})[A-Za-z0-9+/_-]*){{0,{_STEP}}}")
#: A run's padding (escaped too), in steps as :data:`_LINE`.
_PADDING = lazy_compile(
    rf"(?:=|%3[Dd]|\\u003[Dd]|&#(?:0*61|[xX]0*3[Dd]);|&equals;){{1,{_STEP}}}")
#: A line break to the next line of a run (its blanks, or a JSON string's escaped break;
#: a line of base64 after), and a YAML double-quoted scalar's escaped one (``\\`` then
#: the break and the next line's blanks, after a ``\\n`` too: PyYAML's canonical dump
#: of ``!!binary``; review133).
_BREAK = lazy_compile(r"(?:[ \t]*\r?\n[ \t]*|(?:\\r)?\\n(?:\\\r?\n[ \t]*)?"
                      r"|\\\r?\n[ \t]*)(?=[A-Za-z0-9+/_-]|%[2-7]|&#|&plus;|&sol;)")
#: The shortest line a run is continued after (MIME writes 76, PEM 64, some 60).
_SHORTEST_LINE = 16
#: The shortest run read: 12 bytes, under the least of the four holding a key and a
#: value (a zstd frame's 9 bytes of headers before its content; gzip's 18, bzip2's 14
#: empty, a zip's 22 of its end record alone). Shorter: prose, ``H4sI is gzip's magic``.
_SHORTEST_RUN = 16
#: The least a run's reading takes from the inflation budget (its fixed cost: 8,192
#: runs in the budget's burst, 1,024 a second after).
_LEAST_COST = 1024
#: Compressed streams read from later in a run's bytes, at most (a gzip glued to
#: another, a tar.gz's stored .gz files): one past them holds the run unread.
_MOST_LATER = 32


def _width(piece: str) -> int:
    """The base64 characters ``piece`` of a run holds (its escapes read, its breaks,
    blanks and group marks left out)."""
    if _NOT_BASE64.search(piece) is not None:
        return len(_unbroken(unescaped(piece)))
    return len(piece)


#: What a run's piece holds besides base64: an escape's start, a break, a group's mark.
_NOT_BASE64 = lazy_compile(r"[%\\&\n \t.,:;|!#$*@^~]")


def _unbroken(piece: str) -> str:
    """``piece`` without its breaks and blanks (the only ones a run holds, :data:`_BREAK`;
    and a group's other marks, :data:`_GROUP_MARKS`): a copy or two of it, where a split made a
    string of each line (14x a MiB of runs of 5-character lines at the peak; review130)."""
    piece = piece.replace("\n", "").replace("\r", "").replace(" ", "").replace("\t", "")
    for mark in _OTHER_MARKS:
        if mark in piece:
            piece = piece.replace(mark, "")
    return piece


#: What parts base64 written in groups (``UEsD BBQA AAAA ...``, ``UEsD.BBQA...``,
#: ``UEsDB\tBQAAA...``): one to eight of these after each group
#: (:data:`.base64_starts.MARK_SOURCE`), which Python's ``b64decode`` skips as it skips
#: any character outside its alphabet (as do Node's ``Buffer`` and ``base64 -d -i``;
#: JS's ``atob`` the blanks; hostile41, and the rest since hostile44, ``!#$*@^~`` since
#: review136; the others it skips, quotes, ``\``, ``%&=?``, brackets, ``<>``, end a string,
#: an escape, a query or a tag: they end a run), each
#: percent-encoded too (``%20``, ``%0A``: a URL's value in a text, read as its ``%2B``
#: is), not the same between each two groups (hostile46). ``-`` and ``_`` are read in
#: the line (the URL-safe alphabet's) and dropped in a second reading (:func:`_read`).
_GROUP_MARKS = frozenset(" .\t,:;|!#$*@^~")
#: The marks that are no blank.
_OTHER_MARKS = ".,:;|!#$*@^~"
_MARK = lazy_compile(MARK_SOURCE)


def _end(text: str, start: int) -> int:
    """Where the run starting at ``start`` ends (its lines joined, and its groups: see
    the module)."""
    line = group = start
    end = _line_end(text, start)
    width = 0
    while end > group and text[end - 1] != "=":
        gap = _BREAK.match(text, end)
        if gap is None:
            after = _mark_end(text, end)
            if after == end or after == len(text) or text[after] not in ALPHABET:
                break
            if not width:
                width = _width(text[group:end])
            following = _line_end(text, after)
            this = _width(text[after:following])
            if this != width and not (this % 4 == 0 and text[after - 1] in _QUANTA_MARKS
                                      and text[after - 2] not in _GROUP_MARKS) and (
                    _grouped_on(text, following)):
                break
            # (After any mark, a group as wide as the first (of whole quanta, after a
            # blank or a "." alone), or the last, of any width: the next group.)
            group, end = after, following
            continue
        following = _line_end(text, gap.end())
        if not (end - line >= _SHORTEST_LINE and _width(text[line:end]) % 4 == 0
                or _whole_line(text, following)):
            break
        line = group = gap.end()
        end = following
    return end


#: The marks after which a group of any whole quanta is joined (hostile41's rule: groups
#: of 4 and of 8 mixed); after the others, a group is as wide as the first.
_QUANTA_MARKS = frozenset((" ", "."))


def _grouped_on(text: str, at: int) -> bool:
    """Whether a mark and base64 follow ``at`` (a group there is not a run's last)."""
    after = _mark_end(text, at)
    return at < after < len(text) and text[after] in ALPHABET


def _mark_end(text: str, at: int) -> int:
    """The end of the group mark at ``at`` (``at`` itself when there is none)."""
    mark = _MARK.match(text, at)
    return at if mark is None else mark.end()


def _whole_line(text: str, end: int) -> bool:
    """Whether a line of a run ending at ``end`` is base64 to its end (a line break
    after it, the text's end, a tag's or a string's): a block wrapped at any width
    (``base64 -d`` skips its breaks; review130), prose's words not."""
    return end == len(text) or text[end] in _LINE_ENDS or text.startswith("\\n", end) or (
        text.startswith("\\r", end))


#: What may follow a run's line wholly base64 (a tag, a quoted string's end).
_LINE_ENDS = frozenset("\r\n<\"'")


def _line_end(text: str, at: int) -> int:
    """The end of the run's line at ``at`` (its base64, its padding)."""
    end = -1
    while end < at:
        end, at = at, _LINE.match(text, at).end()  # type: ignore[union-attr]
    while (padding := _PADDING.match(text, at)) is not None:
        at = padding.end()
    return at


class _Reading:
    """A run's decoding from a magic to its end: where it starts, its end, its bytes,
    the base64 characters counted up to ``counted`` (for the alignment of a later
    magic), the later streams read in it."""

    __slots__ = ("counted", "data", "end", "later", "start", "width")

    def __init__(self, start: int, end: int, data: bytes) -> None:
        self.start, self.end, self.data = start, end, data
        self.counted, self.width, self.later = start, 0, 0

    def offset(self, text: str, at: int) -> Optional[int]:
        """The byte of :attr:`data` a quantum starting at ``at`` decodes to, None when
        ``at`` is at another alignment."""
        self.width += _width(text[self.counted:at])
        self.counted = at
        return None if self.width % 4 else self.width // 4 * 3


def _spans(redactor: Redactor, text: str, depth: int, nested: int, first: bool
           ) -> list[tuple[int, int]]:
    """(start, end) of each run of ``text`` whose reading holds a denied key or cannot
    be read whole, in order of start (overlapping ones apart); ``first``: stop at the
    first."""
    held: list[tuple[int, int]] = []
    readings: list[_Reading] = []
    for start, skip, zlib in starts(text):
        if held and first:
            break
        reading = None
        for open_ in readings:
            if open_.end > start and open_.offset(text, start) is not None:
                reading = open_
                break
        if reading is not None:
            # (At the alignment of a run read: its bytes hold this magic's.)
            at = reading.width // 4 * 3 + skip
            if reading.later <= _MOST_LATER and not zlib and _compressed_at(
                    reading.data, at):
                reading.later += 1
                if reading.later > _MOST_LATER or _later_held(
                        redactor, reading.data[at:], depth, nested):
                    held.append((start, reading.end))
                    reading.later = _MOST_LATER + 1  # (held to its end: no more read)
            continue
        if not kind_at(text, start, skip, zlib):
            continue
        end = _end(text, start)
        if end - start < _SHORTEST_RUN:
            continue
        data, found = _read(redactor, text[start:end], skip, depth, nested)
        if found:
            held.append((start, end))
        readings = [open_ for open_ in readings if open_.end > start]
        readings.append(_Reading(start, end, data))
    return held


def _compressed_at(data: bytes, at: int) -> bool:
    """Whether ``data`` holds a gzip, zstd or bzip2 stream's magic at ``at`` (a zip's
    later entry is read with the run, as a zip anywhere in bytes is)."""
    head = data[at:at + 4]
    return head.startswith((b"\x1f\x8b\x08", b"\x28\xb5\x2f\xfd")) or (
        head.startswith(b"BZh") and head[3:4].isdigit())


def _read(redactor: Redactor, run: str, skip: int, depth: int, nested: int
          ) -> tuple[bytes, bool]:
    """The bytes ``run`` decodes to and whether ``archive_read`` holds them (from the
    magic on), its reading taken from the budget (held unread while it is spent); a run
    holding ``-`` or ``_`` read a second time without them when the first reading (the
    URL-safe alphabet's) is not held: the groups' marks ``b64decode`` skips (hostile44)."""
    written = _unbroken(unescaped(run) if "%" in run or "\\" in run or "&" in run else run)
    data, found = _decoded_read(redactor, written, skip, depth, nested)
    if found or ("-" not in written and "_" not in written):
        return data, found
    marked, marked_found = _decoded_read(
        redactor, written.replace("-", "").replace("_", ""), skip, depth, nested)
    return (marked, True) if marked_found else (data, False)


def _decoded_read(redactor: Redactor, written: str, skip: int, depth: int, nested: int
                  ) -> tuple[bytes, bool]:
    """:func:`_read` of base64 ``written`` (its escapes read, its marks dropped)."""
    bucket = inflation_budget.BUDGET
    if not bucket.open():
        return b"", True
    try:
        # (Its padding written again, and a character past the last whole quantum, one
        # glued to the run, "...x", left out: either failed the decoding of all, where
        # base64 -d writes what comes before.)
        written = written.rstrip("=")
        written = written[:len(written) - len(written) % 4 if len(written) % 4 == 1 else None]
        data = file_transfer_decoded(written.encode("latin-1", "replace"), "base64")
        if data[:4] == written[:4].encode("latin-1", "replace"):  # (no base64: as written)
            return b"", False
        return data, archive_read(redactor, data[skip:], depth, nested)
    finally:
        bucket.spend(max(len(written), _LEAST_COST))


def _later_held(redactor: Redactor, data: bytes, depth: int, nested: int) -> bool:
    """A stream later in a run's bytes (its bytes as they are read with the run), from
    the budget."""
    bucket = inflation_budget.BUDGET
    if not bucket.open():
        return True
    try:
        return compressed_read(redactor, data, depth, nested)
    finally:
        bucket.spend(_LEAST_COST)


def archive_held(redactor: Redactor, text: str, depth: int = 0, nested: int = 0) -> bool:
    """Whether ``text`` (a value: a field's, a query's, a JSON string or key) holds, at
    its start or after a prefix, an archive's base64 that ``archive_read`` reads as
    spelling a denied key or cannot read whole (the value is then hidden whole).
    ``depth``, ``nested``: the zips and base64 archives ``text`` was read inside
    (:func:`~.key_shapes.archives_in`; past its bound, any run is held unread)."""
    if not redactor.has_deny or not archive_in(text):
        return False
    return runs_held(redactor, text, depth, nested)


def runs_held(redactor: Redactor, text: str, depth: int = 0, nested: int = 0) -> bool:
    """:func:`archive_held` without its search for a magic, for a caller that made its
    own (:func:`~.key_shapes.archives_in`, in the bytes: the text searched twice)."""
    return bool(_spans(redactor, text, depth, nested, True))


def archives_hidden(redactor: Redactor, text: str) -> str:
    """``text`` (a text body: XML, YAML, CSV, plain ...) with each run
    :func:`archive_held` would find replaced by its ``[REDACTED n]`` (runs that overlap,
    at two alignments, as one), the rest as it is; ``text`` itself when none is."""
    if not redactor.has_deny or not archive_in(text):
        return text
    held = sorted(_spans(redactor, text, 0, 0, False))
    if not held:
        return text
    out: list[str] = []
    at = 0
    for start, end in held:
        if end <= at:
            continue
        start = max(start, at)
        out += text[at:start], redacted(text[start:end])
        at = end
    out.append(text[at:])
    return "".join(out)
