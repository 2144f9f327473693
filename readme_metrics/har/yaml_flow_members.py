"""What one member of a YAML flow collection hides, for :mod:`.yaml_flow`.

:func:`~.yaml_flow.flow_hidden` finds each member's end and the ``:`` indicator in it;
:func:`member` puts in the :class:`Reading` the spans of it to hide (a denied key's value,
an anchored node, an alias of a hidden anchor) and the scalars :mod:`.yaml_env` writes
again, or says its key cannot be read soundly. Moved from :mod:`.yaml_flow`, as is.
"""

from __future__ import annotations

from typing import Callable, Optional

from readme_metrics.har.yaml_lines import ALIASES, properties_end, quote_close

__all__ = ["Frame", "Reading", "member", "note_written"]


class Reading:
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


class Frame:
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


def note_written(text: str, start: int, end: int, reading: Reading) -> None:
    """Put in ``reading.written`` what ``reading.scalars`` writes in place of the scalar or
    comment from ``start`` to ``end`` (a CR before a line's LF kept), if anything."""
    if text[end - 1:end] == "\r":
        end -= 1
    written = None if reading.scalars is None else reading.scalars(text[start:end])
    if written is not None:
        reading.written.append((start, end, written))


def _scalar(text: str, start: int, end: int, reading: Reading) -> None:
    """:func:`note_written` for the scalar a member's value or item from ``start`` to
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
            note_written(text, at, close + 1, reading)
        return
    stop = at
    while True:  # (to a comment: "#" after a blank)
        stop = text.find("#", stop + 1, end)
        if stop < 0 or text[stop - 1] in " \t\r\n":
            break
    stop = len(text[at:end if stop < 0 else stop].rstrip(" \t\r\n")) + at
    note_written(text, at, stop, reading)


def member(text: str, frame: Frame, end: int, reading: Reading) -> bool:
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
