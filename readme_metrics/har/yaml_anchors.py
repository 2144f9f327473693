"""A YAML text's anchors and aliases around denied keys, for :mod:`.redaction_yaml`.

A key is denied as written (after its properties and quotes) or as an alias of an anchor
put on a scalar naming a denied key (``&k password`` then ``*k : ...``; review121). An
anchored key an alias of which is a denied key's value (``&p s: 1`` then ``password:
*p``) is hidden (``&p "[REDACTED n]": 1``; it went out, hostile39), and so is an alias of
an anchor hidden inside a denied key's value (``password: [&p s]`` then ``b: *p``): the
text sent still loads (it did not: ``p`` named no anchor, hostile39).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har.redaction_cut import denied_key
from readme_metrics.har.yaml_lines import (
    item_anchor,
    key_text,
    node_start,
    properties_end,
    value_start,
)

if TYPE_CHECKING:
    from readme_metrics.har.redaction import Redactor

__all__ = ["anchor_names", "anchored_key", "denies", "lost_alias", "lost_key", "merges_kept",
           "named"]


#: An anchor's name, where a node's properties may start.
_ANCHOR_NAMES = lazy_compile(r"(?:^|(?<=[ \t\r\n\[{,:?-]))&([^ \t\r\n,\[\]{}]+)")


def anchor_names(text: str) -> set[str]:
    """The names of the anchors written in ``text`` (a scalar's ``&x`` too: more, never
    fewer)."""
    return {found.group(1) for found in _ANCHOR_NAMES.finditer(text)}


def lost_key(line: str, at: int, end: int, lost: frozenset[str]) -> str:
    """``line`` with its key (at ``at``, or after its ``? ``; its value at ``end``, -1 if
    none) written ``"[REDACTED n]"`` when it is an alias of a ``lost`` anchor (``*p : 1``,
    ``? *p``: it named no anchor, the text sent did not load; review131)."""
    first = at + 2 if line.startswith(("? ", "?\t"), at) else at
    key = line[first:end if end >= 0 else len(line)].rstrip(" \t\r")
    key = key[:-1].rstrip(" \t") if end >= 0 else key
    if key[:1] != "*" or key[1:] not in lost:
        return line
    return f'{line[:first]}"[REDACTED {len(key)}]"{line[first + len(key):]}'


def lost_alias(line: str, at: int, lost: frozenset[str]) -> bool:
    """Whether the node at ``at`` is an alias of a ``lost`` anchor (``b: *p``, ``- *p``),
    one put on a node hidden inside a denied key's value."""
    node = line[properties_end(line, at):].strip(" \t\r")
    if " #" in node or "\t#" in node:
        node = node.partition("#")[0].rstrip(" \t")  # (a comment after it)
    return node[:1] == "*" and node[1:] in lost


#: A merge key's alias (``<<: *b``), and an anchor put on a marker (``&b "[REDACTED``).
_MERGE = lazy_compile(r"<<[ \t]*:[ \t]+(?:\*([^ \t\r\n,\[\]{}]+)|\[([^\]\n]*)\])")
_ALIAS = lazy_compile(r"\*([^ \t\r\n,\[\]{}]+)")
_MARKED = lazy_compile(r"(?<![^ \t\n\[{,])&([^ \t\r\n,\[\]{}]+) \"\[REDACTED")


def merges_kept(text: str, lost: set[str]) -> str:
    """``text`` with each merge key whose alias (or an alias in its sequence) names an
    anchor now on a marker, or ``lost``, merging nothing (``<<: {}``): a marker merged is
    no YAML a reader loads (``password: &b {a: s}`` then ``<<: *b``; hostile39)."""
    if "<<" not in text:
        return text
    marked = lost | {found.group(1) for found in _MARKED.finditer(text)}

    def merged(found: re.Match[str]) -> str:
        if found.group(1) is not None:
            return "<<: {}" if found.group(1) in marked else found.group(0)
        # A sequence of them (``<<: [*b, *c]``: it did not load either; review131).
        items = _ALIAS.sub(lambda alias: "{}" if alias.group(1) in marked
                           else alias.group(0), found.group(2))
        return f"<<: [{items}]"

    return _MERGE.sub(merged, text)


def anchored_key(line: str, at: int, end: int, anchors: frozenset[str],
                 owned: Callable[[str, str], None]) -> str:
    """``line`` with its key (at ``at``, its value at ``end``) written ``"[REDACTED n]"``
    when an ``anchors`` anchor is put on it (``&p s: 1``, ``- &p s: 1``: an alias of it
    a denied key's value, ``s`` went out; hostile39), its anchor kept, its tags gone;
    ``owned`` told of it (the anchor's name, the key)."""
    lead = node_start(line)
    found = item_anchor(line, at, lead)
    if found is None or found.group(1) not in anchors or found.end() > at:
        return line
    key = line[at:end].rstrip(" \t\r")[:-1].rstrip(" \t")
    owned(found.group(1), key)
    return f'{line[:lead]}&{found.group(1)} "[REDACTED {len(key)}]"{line[at + len(key):]}'


def denies(redactor: Redactor, key: str, named: frozenset[str]) -> bool:
    """Whether a key as written names a denied key: after its properties (``!!str
    password``, a tag PyYAML drops) and quotes, or as an alias (``*k``) of an anchor put
    on a scalar naming one (``&k password``; review121: both went out in clear)."""
    key = key[properties_end(key, 0):].rstrip(" \t\r")
    if key[:1] in ('"', "'") and key[-1:] == key[:1] and len(key) > 1:
        key = key[1:-1]
    if key.startswith("*"):
        return key[1:] in named
    return denied_key(redactor, key)


#: An anchor and the scalar it is put on (to a line's or a flow item's end). Each starts
#: a node (after a blank, a line's start or a flow indicator), its name on its line: a
#: line of ``&a&a...`` or ``&&&...`` tried a match at each ``&``, to the line's end (and
#: over LF) each time: 64 KiB took 9 s, 1 MiB some 40 minutes (review131).
#: The scalar may be on the next line, deeper, as a block scalar's too (``&k |-`` then
#: ``  password``: ``*k : ...`` went out in clear, review131).
_ANCHORED = lazy_compile(r"(?<![^ \t\n\[{,])&([^ \t\r\n,\[\]{}]+)(?:(?:[ \t]+[|>][1-9+-]{0,2})?"
                         r"[ \t]*\r?\n[ \t]+|[ \t]+)([^\n#,\]}]*)")


def named(text: str, redactor: Redactor) -> frozenset[str]:
    """The anchors of ``text`` put on a scalar naming a denied key (``k: &k password``),
    a key's too (``&k password: 1``, ``- &k "password": 1``, ``{&k password: 1}``: its
    alias as a key went out with its value, review133): an alias of one as a key
    (``*k : ...``, ``? *k``) is that key."""
    return frozenset(found.group(1) for found in _ANCHORED.finditer(text)
                     if denies(redactor, found.group(2), frozenset())
                     or _key_named(redactor, found.group(2)) and "\n" not in found.group(0))


def _key_named(redactor: Redactor, scalar: str) -> bool:
    """Whether ``scalar`` (after an anchor, to its line's or flow item's end) is a key
    naming a denied key, its value after it (``password: 1``, ``!!str "password": 1``)."""
    at = properties_end(scalar, 0)
    end = value_start(scalar, at)
    return end > 0 and denies(redactor, key_text(scalar, at, end), frozenset())
