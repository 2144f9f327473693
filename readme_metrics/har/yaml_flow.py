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
reading: ``None``, and the caller hides the collection whole. What a member hides is
:mod:`.yaml_flow_members`'s; where a collection's lines end, :mod:`.yaml_flow_close`'s
(exported here).
"""

from __future__ import annotations

from typing import Callable, Optional

from readme_metrics.har.redaction_marks import redacted
from readme_metrics.har.yaml_flow_close import flow_close
from readme_metrics.har.yaml_flow_members import Frame, Reading, member, note_written
from readme_metrics.har.yaml_lines import quote_close

__all__ = ["flow_close", "flow_hidden"]

#: A value the JSON members' reading (run first) hid: ``"password"`` then ``: !!str "s"``
#: had its tag alone hidden, ``: [REDACTED] "s"``; the quoted scalar after it is read as
#: one (its commas were read as the collection's: a password went out, hostile36).
_HIDDEN = redacted(None)

#: The characters the reading looks at; any other is a plain scalar's.
_MARKS = frozenset(" \t\r\n'\"#{}[],:?!&")

#: What may follow a ``:`` that is a mapping's indicator in a flow collection.
_AFTER_COLON = frozenset(" \t\r\n,[]{}")

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
    reading = Reading(denies, aliases, anchors, lost, owned, scalars)
    spans = reading.spans
    stack: list[Frame] = []
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
                note_written(text, at, line_end, reading)
            at = line_end
            continue
        if character in " \t\r\n":
            at += 1
            continue
        if character in "{[":
            stack.append(Frame(at + 1))
            node = True
        elif character in "}],":
            if not stack:
                return None
            if not member(text, stack[-1], at, reading):
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
        note_written(text, size - len(after), size, reading)  # ("[a] # PASSWORD=...")
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
