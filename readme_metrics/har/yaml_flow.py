"""A YAML flow collection's members read one by one, for :mod:`.redaction_yaml`.

A flow collection (``{a: 1, password: x}``, ``[a, {token: y}]``, over any number of
lines) is read here member by member: each mapping member (and each single-pair mapping
of a flow sequence, ``[password: x]``) split at its ``:`` indicator into a key and a
value, its key as written (plain, in quotes, after ``?`` as an explicit key, after its
properties: ``? !!str "password"``), and the value of each key a denied name names
found. PyYAML's ``canonical=True`` writes a whole document so (``---`` then ``!!map {``
then ``? !!str "password"`` and ``: !!str "s"`` on lines of their own): it went out in
clear, the document read as one flow collection whose keys were none (review125's fuzz:
928 of 1,000 canonical dumps of documents holding denied keys; hostile36).

One pass over the text, each character looked at once (a quoted scalar's closing quote
found by :func:`~.yaml_lines.quote_close`): linear. A text this reading cannot read
soundly (brackets that do not pair, a quoted scalar never closed, text after the
collection's close, a complex key, ``? [a, password]``, naming a denied key) is no
reading: ``None``, and the caller hides the collection whole.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

from readme_metrics.har.redaction_marks import redacted
from readme_metrics.har.yaml_lines import ALIASES, properties_end, quote_close

__all__ = ["flow_close", "flow_hidden"]

#: A value the JSON members' reading (run first) hid: ``"password"`` then ``: !!str "s"``
#: had its tag alone hidden, ``: [REDACTED] "s"``; the quoted scalar after it is read as
#: one (its commas were read as the collection's: a password went out, hostile36).
_HIDDEN = redacted(None)

#: The characters the reading looks at; any other is a plain scalar's.
_MARKS = frozenset(" \t\r\n'\"#{}[],:?!&")

#: What may follow a ``:`` that is a mapping's indicator in a flow collection.
_AFTER_COLON = frozenset(" \t\r\n,[]{}")


class _Reading:
    """What one reading is given (what a denied key is, the anchors whose nodes to hide,
    the anchors lost, who is told of an anchored node hidden) and finds (the spans to
    hide, a hidden value's aliases)."""

    __slots__ = ("aliases", "anchors", "denies", "lost", "owned", "scalars", "spans",
                 "written")

    def __init__(self, denies: Optional[Callable[[str], bool]],
                 aliases: Optional[list[str]], anchors: frozenset[str],
                 lost: frozenset[str], owned: Optional[Callable[[str, str], None]],
                 scalars: Optional[Callable[[str], Optional[str]]]) -> None:
        self.denies = denies
        self.aliases = aliases
        self.anchors = anchors
        self.lost = lost
        self.owned = owned
        self.scalars = scalars
        self.spans: list[tuple[int, int, str]] = []  # (start, end, the anchor kept)
        self.written: list[tuple[int, int, str]] = []  # (start, end, the text written)


class _Frame:
    """A collection open at one depth: where its current member starts, and the
    position of that member's ``:`` indicator (-1 while none)."""

    __slots__ = ("colon", "start")

    def __init__(self, start: int) -> None:
        self.start = start
        self.colon = -1


def _key(text: str) -> str:
    """A flow member's key as written: without its blanks, comments' lines, an explicit
    key's ``?``, its properties and its quotes."""
    if "#" in text:
        text = "\n".join(line for line in text.split("\n")
                         if not line.lstrip(" \t").startswith("#"))
    key = text.strip(" \t\r\n")
    if key.startswith("?") and key[1:2] in ("", " ", "\t", "\r", "\n"):
        key = key[1:].strip(" \t\r\n")
    key = key[properties_end(key, 0):].strip(" \t\r\n")
    return key


def flow_hidden(text: str, denies: Optional[Callable[[str], bool]],
                aliases: Optional[list[str]] = None,
                anchors: frozenset[str] = frozenset(),
                lost: frozenset[str] = frozenset(),
                owned: Optional[Callable[[str, str], None]] = None,
                scalars: Optional[Callable[[str], Optional[str]]] = None) -> Optional[str]:
    """``text`` (a flow collection from its ``{`` or ``[``, its lines joined) with the
    value of each member whose key ``denies`` names written ``"[REDACTED n]"`` (n the
    length hidden; ``denies`` is given the key after its ``?`` and properties, quotes
    kept; ``None``: whether it reads alone), and each node an ``anchors`` anchor is put
    on (its anchor kept); ``text`` itself when none is; ``None`` when it cannot be read
    soundly. A hidden value that is an alias (``{password: *p}``) has its anchor's name
    put in ``aliases``: the anchored value is hidden too, a second pass (it went out in
    clear; review129), an anchored key too (hostile39). A hidden value keeps its anchor
    (``{password: &p "[REDACTED n]"}``), and an alias of a ``lost`` anchor (one hidden
    inside a value) is hidden: the text sent still loads (hostile39). ``owned`` is told
    of each anchored node hidden (its anchor's name, its text): the aliases in it name
    nodes to hide too (``{k: &b [*a]}`` then ``password: *b``: ``a``'s went out,
    hostile43). ``scalars`` is given each scalar value or item as written (its quotes
    kept, a plain one's lines as they are) and each comment, and returns the text to
    write in its place, or None to keep it (:mod:`.yaml_env`'s ``.env`` lines:
    ``[USER=ada, PASSWORD=...]``, hostile45)."""
    reading = _Reading(denies, aliases, anchors, lost, owned, scalars)
    spans = reading.spans
    stack: list[_Frame] = []
    node = True  # (whether a node may start here: a quote opens a quoted scalar)
    at = 0
    size = len(text)
    closed = -1
    while at < size:
        character = text[at]
        if character not in _MARKS:
            node = False  # (a plain scalar's character)
            at += 1
            continue
        if character == "[" and node and text.startswith(_HIDDEN, at):
            at += len(_HIDDEN)  # (a node may start after it still)
            continue
        if character in ("'", '"') and node:
            close = quote_close(text, at + 1, character)
            if close < 0:
                return None  # (never closed)
            at, node = close + 1, False
            if stack and stack[-1].colon < 0 and text.startswith(":", at):
                stack[-1].colon = at  # ("a":b, JSON's way: a key in quotes, then ":")
                at, node = at + 1, True
            continue
        if character == "#" and (at == 0 or text[at - 1] in " \t\r\n"):
            line_end = text.find("\n", at)
            line_end = size if line_end < 0 else line_end
            if scalars is not None:
                _written(text, at, line_end, reading)
            at = line_end
            continue
        if character in " \t\r\n":
            at += 1
            continue
        if character in "{[":
            stack.append(_Frame(at + 1))
            node = True
        elif character in "}],":
            if not stack:
                return None
            if not _member(text, stack[-1], at, reading):
                return None
            frame = stack[-1]
            if character == ",":
                frame.start, frame.colon = at + 1, -1
                node = True
            else:
                stack.pop()
                node = False
                if not stack:
                    closed = at + 1
                    break
        elif character == ":" and text[at + 1:at + 2] in _AFTER_COLON | {""} and stack:
            if stack[-1].colon >= 0:
                # A second ":" in one member ({a: b: c}, no YAML): not read soundly (a
                # block scalar's line "{ :&" then keys below; hostile36).
                return None
            stack[-1].colon = at
            node = True
        elif character == "?" and node and text[at + 1:at + 2] in (" ", "\t", "\r", "\n"):
            node = True  # (an explicit key's indicator)
        elif character in "!&" and node:
            # A node's properties: a quote after them still opens a quoted scalar. A
            # verbatim tag (``!<tag:yaml.org,2002:str>``) to its ">": its "," ends no
            # member (its key was none, the password sent; review129).
            end = text.find(">", at) + 1 if text.startswith("!<", at) else at
            if end <= 0:
                return None
            while end < size and text[end] not in " \t\r\n,[]{}":
                end += 1
            at = end
            continue
        else:
            node = False
        at += 1
    after = text[closed:].lstrip(" \t\r\n") if closed >= 0 else ""
    if closed < 0 or after and not after.startswith("#"):
        return None  # (never closed, or text after it that is no comment)
    if after and scalars is not None:
        _written(text, size - len(after), size, reading)  # ("[a] # PASSWORD=...")
    if not spans and not reading.written:
        return text
    out: list[str] = []
    done = 0
    for start, end, anchor, written in sorted(
            [(start, end, anchor, None) for start, end, anchor in spans]
            + [(start, end, "", text) for start, end, text in reading.written],
            key=lambda edit: edit[0]):
        if start < done:
            continue  # (inside a value hidden whole already)
        value = text[start:end].strip(" \t\r\n")
        out += [text[done:start], f'{anchor} "[REDACTED {len(value)}]"' if written is None
                else written]
        done = end
    out.append(text[done:])
    return "".join(out)


def _written(text: str, start: int, end: int, reading: _Reading) -> None:
    """Put in ``reading.written`` what ``reading.scalars`` writes in place of the scalar or
    comment from ``start`` to ``end`` (a CR before a line's LF kept), if anything."""
    if text[end - 1:end] == "\r":
        end -= 1
    written = None if reading.scalars is None else reading.scalars(text[start:end])
    if written is not None:
        reading.written.append((start, end, written))


def _scalar(text: str, start: int, end: int, reading: _Reading) -> None:
    """:func:`_written` for the scalar a member's value or item from ``start`` to
    ``end`` is (its comments' lines and properties before it, a comment after a plain
    one, left out); none for a collection, an alias or an explicit key."""
    at = start
    while True:
        while at < end and text[at] in " \t\r\n":
            at += 1
        if not text.startswith("#", at):
            break
        line_end = text.find("\n", at, end)  # (a comment's line: read as one)
        at = end if line_end < 0 else line_end
    at = properties_end(text, at)
    if at >= end or text[at] in "{[*?":
        return
    if text[at] in ("'", '"'):
        close = quote_close(text, at + 1, text[at])
        if 0 <= close < end:
            _written(text, at, close + 1, reading)
        return
    stop = at
    while True:  # (to a comment: "#" after a blank)
        stop = text.find("#", stop + 1, end)
        if stop < 0 or text[stop - 1] in " \t\r\n":
            break
    stop = len(text[at:end if stop < 0 else stop].rstrip(" \t\r\n")) + at
    _written(text, at, stop, reading)


def _member(text: str, frame: _Frame, end: int, reading: _Reading) -> bool:
    """Put in ``reading.spans`` the spans of the member of ``frame`` ending at ``end`` to
    hide (its value, its key); ``False`` when its key cannot be read soundly (a
    collection naming a denied key)."""
    start = frame.colon + 1 if frame.colon >= 0 else frame.start
    if reading.anchors and frame.colon >= 0:
        # An anchored key an alias of which a denied key's value is ("{&p s: 1,
        # password: *p}": "s" went out; hostile39).
        name, after, tagged = _anchor(text, frame.start, frame.colon)
        if name in reading.anchors:
            reading.spans.append((frame.start, frame.colon, f" &{name}") if tagged
                                 else (after, frame.colon, ""))
            if reading.owned is not None:
                reading.owned(name, text[after:frame.colon])  # ("? &p [*a] : 1")
    if reading.lost and frame.colon >= 0:
        # A key that is an alias of a hidden anchor (``{*p : 1}``, ``{? *p : 1}``: it
        # named no anchor, the text sent did not load; review131).
        key = text[frame.start:frame.colon]
        first = frame.start + (key.index("?") + 1 if key.lstrip(" \t\r\n")[:2] in (
            "? ", "?\t", "?\r", "?\n") else 0)
        name = text[first:frame.colon].strip(" \t\r\n")
        if name[:1] == "*" and name[1:] in reading.lost:
            reading.spans.append((first, frame.colon, ""))
    if reading.anchors or reading.lost:
        name, after, tagged = _anchor(text, start, end)
        if name in reading.anchors:
            # (A tag before it, "!!seq &p [...]", goes: the marker is no sequence.)
            reading.spans.append((start, end, f" &{name}") if tagged else (after, end, ""))
            if reading.owned is not None:
                reading.owned(name, text[after:end])
            return True
        value = text[start:end].strip(" \t\r\n")
        if value[:1] == "*" and value[1:] in reading.lost:
            reading.spans.append((start, end, ""))  # (an alias of a hidden anchor)
            return True
    if reading.scalars is not None:
        if frame.colon >= 0:  # (a key, {PASSWORD=x: 1}, "? !!str ...": hostile47)
            key = text[frame.start:frame.colon].lstrip(" \t\r\n")
            _scalar(text, frame.colon - len(key) + (key[:1] == "?" and key[1:2] in (
                " ", "\t", "\r", "\n")), frame.colon, reading)
        _scalar(text, start, end, reading)
    denies = reading.denies
    if frame.colon < 0 or denies is None:
        return True
    key = _key(text[frame.start:frame.colon])
    if "\n" in key and key[:1] not in ("'", '"') and any(
            denies(_key(line)) for line in key.split("\n")):
        return False  # (a plain key over lines, no YAML: "{<\npassword: s}", hostile26)
    if key[:1] in ("{", "["):
        return not _scalars_deny(key, denies)
    value = text[start:end].strip(" \t\r\n")
    if not value or not denies(key):
        return True  # (no value, null; an allowed key)
    if reading.aliases is not None and "*" in value:
        reading.aliases += [found.group(1) for found in ALIASES.finditer(value)]
    name, after, tagged = _anchor(text, start, end)
    if name and text[after:end].strip(" \t\r\n"):
        # Its anchor is kept on the marker ("{password: &p s, b: *p}" went out as
        # "{password: "[REDACTED 4]", b: *p}": no YAML, "p" undefined; hostile39).
        reading.spans.append((start, end, f" &{name}") if tagged else (after, end, ""))
    else:
        reading.spans.append((start, end, ""))
    return True


def _anchor(text: str, start: int, end: int) -> tuple[str, int, bool]:
    """The anchor among the properties of the node from ``start`` to ``end`` (``&p
    secret``, ``!!seq &p [...]``): its name, where its name ends and whether a tag comes
    before it; ``("", start, False)`` when it has none."""
    at = start
    while at < end and text[at] in " \t\r\n":
        at += 1
    if text.startswith("?", at) and text[at + 1:at + 2] in (" ", "\t", "\r", "\n"):
        at += 2  # (an explicit key's: "? &p s")
    tagged = False
    while at < end and text[at] in " \t\r\n&!":  # (its properties: review129)
        if text[at] not in "&!":
            at += 1
            continue
        stop = at
        while stop < end and text[stop] not in " \t\r\n":
            stop += 1
        if text[at] == "&":
            return text[at + 1:stop], stop, tagged
        tagged, at = True, stop
    return "", start, False


def _scalars_deny(key: str, denies: Callable[[str], bool]) -> bool:
    """Whether a complex key's text has a scalar ``denies`` names."""
    for piece in key.replace("{", ",").replace("}", ",").replace("[", ",").replace(
            "]", ",").replace(":", ",").split(","):
        if denies(_key(piece)):
            return True
    return False


def flow_close(lines: Sequence[str], index: int, flow: str, budget: list[int]) -> int:
    """The index of the first line after the line closing the flow collection that
    ``flow`` (from line ``index - 1``) starts: a quoted scalar in it runs over lines at
    any indentation, one starting ``#`` among them (``{b: '\n#', password: ...}``);
    ``index`` when it does not close (not YAML: the lines are read as keys), and once
    ``budget`` (the lines read, shared by one text's calls) is spent."""
    # A quote starts a quoted scalar only where a node starts: after the collection's
    # marks or a ``:``, or after a node's properties (``!!str 'x'``, ``&a 'x'``); inside
    # a plain scalar (``[a']``, ``[it's]``) it is a character of it (the lines after it
    # were read as a string still open and hidden whole: hostile26's property).
    depth, quote, prev, first, blank = 0, "", "", "", True
    for ahead in range(len(lines) - index + 1):  # (no copy of the lines: linear)
        budget[0] -= 1
        if budget[0] < 0:
            # Collections that never close, line after line ("- {" and "a: {b: 'x"
            # 20,000 times: each read to the end, 113 s for 80 KB): past ``budget``,
            # one still open is not YAML's, as one that never closes (its lines and
            # the rest read as keys: a "password: ..." among them hidden all the same).
            return index
        text = lines[index + ahead - 1] if ahead else flow
        at, blank = 0, True
        if quote:  # (a quoted scalar from the line before, going on)
            close = quote_close(text, 0, quote)
            if close < 0:
                continue
            at, quote, prev = close + 1, "", quote
        while at < len(text):
            character = text[at]
            if character == "[" and prev in "{[,:" and text.startswith(_HIDDEN, at):
                # (A value the JSON members' reading hid, "[REDACTED]": a quoted scalar
                # may start after it, ': [REDACTED] "a,]"' as PyYAML's canonical=True
                # writes one, its "]" closing nothing; hostile36.)
                at += len(_HIDDEN)
                continue
            if character in ("'", '"') and (prev in "{[,:" or blank and first in "!&"):
                close = quote_close(text, at + 1, character)
                if close < 0:
                    quote = character  # (it goes on on the next line)
                    break
                at, prev = close + 1, character
                continue
            if character in " \t\r":
                blank = True
            elif character == "#" and (at == 0 or text[at - 1] in " \t"):
                break  # (a comment, to the line's end)
            else:
                if blank:
                    first, blank = character, False
                prev = character
                if character in "{[":
                    depth += 1
                elif character in "}]":
                    depth -= 1
                    if depth <= 0:
                        return index + ahead
            at += 1
    return index
