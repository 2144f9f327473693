"""A YAML body by the denylist (SPEC 6): the value of each mapping key a denied name names
hidden, for :mod:`.body_redaction` (and a YAML file part, :mod:`.multipart_files`).

A body typed YAML (``application/yaml``, ``application/x-yaml``, ``text/yaml``,
``text/x-yaml``, a ``+yaml`` type: a Kubernetes manifest, an OpenAPI document, a CI
config) went out as sent, ``password: ...`` in clear (hostile26): only JSON members in
quotes were read in it. Read here a line at a time, as YAML's block style writes a
mapping: a key (plain, or in double or single quotes) after its indentation and any
``- `` of a sequence, then ``:`` and a blank or the line's end. A denied key's value is
written ``"[REDACTED n]"`` (n the length hidden, a YAML string, so the document stays
YAML): the rest of its line, comment included, and every line after it indented deeper
than the key (a block scalar, ``|`` or ``>``, a nested mapping or sequence, a plain
scalar over several lines), blank lines among them. One pass over the lines: linear.
A flow collection (``{password: ...}``, PyYAML's ``canonical=True``) is read member by
member (:mod:`.yaml_flow`); a block scalar's lines are text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Optional

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har.redaction_cut import denied_key
from readme_metrics.har.yaml_aliases import alias_names, aliased
from readme_metrics.har.yaml_anchors import (
    anchor_names,
    anchored_key,
    lost_alias,
    lost_key,
    merges_kept,
)
from readme_metrics.har.yaml_anchors import denies as _denies
from readme_metrics.har.yaml_anchors import named as _named
from readme_metrics.har.yaml_flow import flow_close as _flow_close
from readme_metrics.har.yaml_flow import flow_hidden
from readme_metrics.har.yaml_lines import BLOCK as _BLOCK
from readme_metrics.har.yaml_lines import block_end as _block_end
from readme_metrics.har.yaml_lines import block_parent as _parent
from readme_metrics.har.yaml_lines import content_start as _content
from readme_metrics.har.yaml_lines import item_anchor as _item_anchor
from readme_metrics.har.yaml_lines import key_text as _key
from readme_metrics.har.yaml_lines import node_start as _node_start
from readme_metrics.har.yaml_lines import properties_end as _properties
from readme_metrics.har.yaml_lines import quoted_lines as _quoted_lines
from readme_metrics.har.yaml_lines import value_start as _value_start
from readme_metrics.har.yaml_text import Lines, Pieces
from readme_metrics.har.yaml_values import explicit_value as _explicit
from readme_metrics.har.yaml_values import value_end as _value_end

if TYPE_CHECKING:
    from readme_metrics.har.redaction import Redactor

__all__ = ["flow_document", "is_yaml", "yaml_redacted"]

_YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml",
                         "text/x-yaml"})


#: A value hidden already: a marker, in quotes or not.
_MARKER = lazy_compile(r"""(["']?)\[REDACTED(?: \d+)?\]\1""")


def is_yaml(essence: str) -> bool:
    """Whether a body of this type (its essence, lower case) is YAML."""
    return essence in _YAML_TYPES or essence.endswith("+yaml")


def flow_document(text: str) -> bool:
    """Whether ``text`` (a YAML body that is no JSON) is a flow collection this module
    reads soundly, closed, nothing but comments after it: then read member by member,
    not hidden whole as JSON cut short is (a truncated one is not read so)."""
    return flow_hidden(text.strip(" \t\r\n"), None) is not None


def yaml_redacted(text: str, redactor: Redactor, source: str | None = None) -> str:
    """``text`` (YAML) with the value of each mapping key the denylist names written
    ``"[REDACTED n]"``, and each flow collection (``{password: ...}``, ``[{...}]``) in
    which such a key names a member; ``text`` itself when none is. A denied key whose
    value is an alias (``password: *db``) has the anchored value hidden too
    (``x-db: &db "[REDACTED n]"``): a second pass, when there is one. ``source``: the
    text before its JSON members were hidden, its aliases read too (``"api_key": *id001``
    as PyYAML's canonical=True writes it was hidden by that reading, its alias lost and
    the anchored value sent; review129)."""
    reading = _BREAKS.sub("\n", text) if _BREAKS.search(text) is not None else text
    named = _named(reading, redactor) if "*" in reading and "&" in reading else frozenset()
    hidden, aliases, anchored = _hidden(reading, redactor, frozenset(), named)
    if source is not None and source != text and "*" in source and "&" in source:
        source = _BREAKS.sub("\n", source)
        aliases += _hidden(source, redactor, frozenset(), _named(source, redactor))[1]
    if aliases:
        # (Each node an alias in a hidden value names hidden too, on to a chain's end.)
        def hide(text: str, anchors: frozenset[str],
                 owned: Optional[Callable[[str, str], None]]) -> tuple[str, list[str], bool]:
            return _hidden(text, redactor, anchors, named, owned=owned)

        hidden, again = aliased(hidden, aliases, hide)
        anchored = anchored or again
    lost: set[str] = set()
    if anchored and "*" in hidden:
        # An anchor hidden inside a value (``password: [&p s]`` then ``b: *p``): each
        # alias of it hidden too, so the text sent still loads (hostile39).
        lost = anchor_names(reading) - anchor_names(hidden)
        if lost:
            hidden = _hidden(hidden, redactor, frozenset(), named, frozenset(lost))[0]
    if hidden is not reading and "<<" in hidden:
        hidden = merges_kept(hidden, lost)
    return text if hidden == reading else hidden


#: A line break PyYAML reads and :func:`_hidden` does not split at: a lone CR (old Mac),
#: NEL, LS, PS (YAML 1.1's, PyYAML's). The text is read with each one a LF, and sent so
#: when a value was hidden (``a: 1\x85password: ...`` went out in clear, hostile27).
_BREAKS = lazy_compile("\r(?!\n)|[\x85\u2028\u2029]")


def _hidden(text: str, redactor: Redactor, anchors: frozenset[str], named: frozenset[str],
            lost: frozenset[str] = frozenset(),
            owned: Optional[Callable[[str, str], None]] = None
            ) -> tuple[str, list[str], bool]:
    """:func:`yaml_redacted`'s pass: the text, each node an ``anchors`` anchor names
    hidden too (its anchor kept; a key's too), each alias of a ``lost`` anchor, and the
    aliases denied keys' values were (a key that is an alias of a ``named`` anchor is a
    denied key), and whether a text hidden held a ``&`` (an anchor it may lose).
    ``owned`` is told of each anchored node hidden (its anchor, its text); without it,
    the aliases in those are among those returned."""
    lines = Lines(text)  # (positions, not a string a line: hostile39)
    out = Pieces(lines)
    aliases: list[str] = []
    if owned is None:
        def owned(anchor: str, node: str) -> None:
            aliases.extend(alias_names(node))
    changed = anchored = False
    index = 0
    budget = [4 * len(lines) + 64]  # (lines :func:`_flow_close` may read in all)
    quoted = 0  # (lines before it go on a quoted scalar: no flow starts in them)
    count = len(lines)
    while index < count:
        line = lines[index]
        index += 1
        last = index
        keyed = False  # (whether ``line`` is written anew)
        at = _content(line)
        end = _value_start(line, at)
        if anchors and end >= 0 and at > 0:
            rewritten = anchored_key(line, at, end, anchors, owned)
            if rewritten is not line:
                line, changed, keyed = rewritten, True, True
                at = _content(line)
                end = _value_start(line, at)
        if lost and line.find("*", at) >= 0:
            rewritten = lost_key(line, at, end, lost)  # (``*p : 1``; review131)
            if rewritten is not line:
                line, changed, keyed = rewritten, True, True
                end = _value_start(line, at)
        anchor = _item_anchor(line, _properties(line, end), end) if anchors and end >= 0 \
            else None  # (after a tag too: "x: !!seq &p [...]", sent; review129)
        # (The indentation its value's lines are deeper than: its node's, properties
        # included: "&k b: &p |" then its lines went out, deeper than "&" only; review131.)
        depth = _node_start(line) if at > 0 else at
        kept = ""  # (an anchor kept before the marker)
        owner = ""  # (the anchor whose node is hidden)
        if anchors and end < 0 and line.find("&") >= 0 and line.rfind("-", 0, at) >= 0:
            # A sequence's item's anchor (``- &p secret``, ``- &p`` then its lines, its
            # alias a denied key's value: sent in clear; review129): its lines are
            # deeper than its "-".
            anchor = _item_anchor(line, at)
            depth = line.rfind("-", 0, at) if anchor is not None else at
        colon = _explicit(lines, index, at, redactor, named) if line[at:at + 1] == "?" \
            else -1
        if anchors and line.startswith(("? ", "?\t"), at):
            # An explicit key's anchor ("? &p s" then ": 1", its alias a denied key's
            # value: "s" went out; hostile39): its lines are deeper than its "?".
            anchor = _item_anchor(line, _properties(line, at + 2), at + 2)
        if colon > 0:
            # "? password" then ": value" (an explicit key, as PyYAML reads it; its
            # value went out in clear, hostile27): that value is the key's; so is a
            # complex key's holding the name as a scalar, "? [a, password]" (hostile29).
            _line(out, line, index, keyed)
            out.keep(index, colon)
            line, keyed = lines[colon], False
            index = colon + 1
            start = at + 1
        elif anchor is not None and anchor.group(1) in anchors:
            start, owner = max(anchor.end(), at), anchor.group(1)
            if end >= 0 and anchor.start() > end:
                # (A tag before it, "x: !!seq &p [...]": it goes, the marker is no
                # sequence; the anchor is kept.)
                start, kept = end, f" &{anchor.group(1)}"
        elif end >= 0 and _denies(redactor, _key(line, at, end), named):
            start = end
            anchor = _item_anchor(line, _properties(line, end), end)
            if anchor is not None:
                # Its anchor kept on the marker (``password: &p s`` then ``b: *p`` went
                # out as ``password: "[REDACTED 4]"``: no YAML, "p" undefined;
                # hostile39); a tag before it goes, the marker is no sequence.
                start, kept = (end, f" &{anchor.group(1)}") if anchor.start() > end \
                    else (anchor.end(), "")
        elif lost and lost_alias(line, end if end >= 0 else at, lost):
            start = end if end >= 0 else at  # (an alias of an anchor hidden in a value)
        else:
            # A flow collection (a key's value, a sequence's item, the line) naming a
            # denied key, in no quotes (as PyYAML writes them): hidden whole.
            # Its lines after it (deeper) are its text too (a string over lines); read
            # once, not again as keys: linear.
            start = _properties(line, end if end >= 0 else at)
            if index <= quoted:
                _line(out, line, index, keyed)  # (a quoted scalar's: no flow starts)
                continue
            block = _properties(line, start + 2) if line.startswith(
                ("? ", "?\t"), start) else start  # (an explicit key's, "? |-", too)
            if _BLOCK.match(line, block) is not None:
                # A block scalar (an allowed key's, an item's): its lines are text, none
                # a key nor a flow collection's start ("a: |-" then "  {", its "}" far
                # below, was read as a collection over the keys between; hostile36).
                last = _block_end(lines, index,
                                  start if block != start else _parent(line, at, end))
                _line(out, line, index, keyed)
                out.keep(index, last)
                index = last
                continue
            if line[start:start + 1] not in ("{", "["):
                quoted = max(quoted, _quoted_lines(lines, index, line, start, at))
                _line(out, line, index, keyed)
                continue
            last = max(_value_end(lines, index, at, line[start:]),
                       _flow_close(lines, index, line[start:], budget))
            flow = _joined(line[start:], lines, index, last)
            read = _flow_read(redactor, flow, named, aliases, anchors, lost, owned)
            if read is not None:
                # Read member by member (each denied key's value hidden, the rest as
                # written: PyYAML's canonical=True, hostile36), or naming none.
                if read == flow:
                    _line(out, line, index, keyed)
                    out.keep(index, last)
                else:
                    out.add(line[:start] + read)
                    changed, anchored = True, anchored or "&" in flow
                index = last
                continue
            if not _flow_denies(redactor, flow):
                # No flow collection read soundly (a block scalar's line "{ :&", its
                # "}" far below): its lines are read on as keys, not passed over (the
                # keys between went out in clear; hostile36).
                _line(out, line, index, keyed)
                continue
        value = line[start:].strip(" \t\r")
        if _MARKER.fullmatch(value) is not None and \
                _value_end(lines, index, at, value) == index:
            # (Hidden already, as a JSON member: "password": "...". Not when lines below
            # are its value: that reading hid a block scalar's "|-" or a plain scalar's
            # first line alone, the rest went out in clear; review125.)
            _line(out, line, index, keyed)
            continue
        # (A value's properties alone on its line, "password: &id001" or "!!python/tuple",
        # are no value: a sequence's items at the key's indentation after them are it,
        # as PyYAML writes them; they went out in clear, review125.)
        after = value + " "  # (a property's end: a blank)
        last = max(last, _value_end(lines, index, depth, after[_properties(after, 0):]))
        hidden = _joined(value, lines, index, last).strip()
        # Each alias in it (``*db``, ``[*db, 1]``: the nested one's anchored value was
        # sent, review129).
        if owner:
            owned(owner, hidden)
        else:
            aliases += alias_names(hidden)
        if not hidden:
            _line(out, line, index, keyed)  # (no value: "password:", null)
            continue
        cr = "\r" if line.endswith("\r") else ""
        out.add(f'{line[:start].rstrip(" ")}{kept} "[REDACTED {len(hidden)}]"{cr}')
        index = last
        changed, anchored = True, anchored or "&" in hidden
    return (out.text() if changed else text), aliases, anchored


def _joined(first: str, lines: Lines, index: int, last: int) -> str:
    """``first`` then lines ``index`` to ``last - 1``, joined by LF."""
    return f"{first}\n{lines.span(index, last)}" if last > index else first


def _line(out: Pieces, line: str, index: int, keyed: bool) -> None:
    """Line ``index - 1``, ``line``, written: as it is, or anew when ``keyed``."""
    if keyed:
        out.add(line)
    else:
        out.keep(index - 1, index)


def _flow_read(redactor: Redactor, flow: str, named: frozenset[str], aliases: list[str],
               anchors: frozenset[str], lost: frozenset[str],
               owned: Callable[[str, str], None]) -> str | None:
    """A flow collection's text with each denied key's value hidden
    (:func:`~.yaml_flow.flow_hidden`), and each value an ``anchors`` anchor is put on;
    itself when it names none, ``None`` when it cannot be read soundly (then hidden
    whole if :func:`_flow_denies`). A hidden value's alias goes in ``aliases``. One with
    an anchor or an alias is read whatever it names (``{*k : ...}``, ``*k`` an alias of
    ``&k password``, had no denied name in it: sent in clear; review129)."""
    if not redactor.mentions_key(flow, True) and not (
            (anchors or named or lost) and ("&" in flow or "*" in flow)):
        return flow
    return flow_hidden(flow, lambda key: _denies(redactor, key, named), aliases, anchors,
                       lost, owned)


#: What separates a flow collection's members (and starts or ends one).
_FLOW = lazy_compile(r"[{}\[\],]")


def _flow_denies(redactor: Redactor, text: str) -> bool:
    """Whether a flow collection's text (to its line's end) has a member a denied key
    names: a piece between its separators that is a key (plain or quoted), then ``:``."""
    if not redactor.mentions_key(text, True):
        return False
    for piece in _FLOW.split(text):
        key = piece.partition(":")[0].strip()
        if key.startswith("?") and key[1:2] in ("", " ", "\t", "\r", "\n"):
            key = key[1:].strip()  # (an explicit key: "? !!str password", hostile36)
        key = key[_properties(key, 0):].strip()
        if key[:1] in ('"', "'") and key[-1:] == key[:1]:
            key = key[1:-1]
        if ":" in piece and key and denied_key(redactor, key):
            return True
    return False
