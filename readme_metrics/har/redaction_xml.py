"""XML bodies (SOAP's too) by the denylist: the content of each element and the value of
each attribute whose name, after any namespace prefix, is denied (``<password>...``,
WS-Security's ``<wsse:Password>``, ``<login password="...">``), the name matched as a form
field's is. A pure function over the text, read with patterns and no XML parser (no
entity or DTD is ever expanded); text that is no well-formed XML is read as far as it
goes, and a denied element never closed (a body cut at ``max_body_bytes``) has the rest
hidden.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from functools import partial
from typing import Callable

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har.redaction import redacted
from readme_metrics.har.redaction_json import NAME_MEMBERS, VALUE_MEMBERS
from readme_metrics.har.redaction_names import folded_name
from readme_metrics.har.redaction_pairs import pairs_with

# A start tag: its prefix if any, its local name, its attributes, "/" when empty. An
# attribute's quoted value may hold a ">" (XML allows it, not "<"): read as a value, not
# the tag's end (note="a>b" password="..." ended the tag at "a>", the password unread).
# Each alternative starts with its own character, so a tag is read in one pass.
_START_TAG = re.compile(
    r"""<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)"""
    r"""((?:\s(?:[^<>"'/]|"[^"<]*"|'[^'<]*'|/(?!>))*)?)(/?)>""")
# One attribute in a start tag: its prefix if any, its local name, "=", its quoted value.
# It starts at no name character: tried at every character of a long run of them, the
# name read to the run's end each time, a 16 KiB tag took seconds (quadratic).
_ATTRIBUTE = re.compile(
    r"""(?<![\w.\-:])([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)(\s*=\s*)"""
    r"""(?:"([^"]*)"|'([^']*)')""")
# HTML's attributes: a value in no quotes too (``<input name=password value=...>``, which
# HTML allows and minifiers write; review110).
_HTML_ATTRIBUTE = re.compile(_ATTRIBUTE.pattern[:-1] + r"""|([^\s"'=<>`]+))""")
# The naming attributes whose element's content is the value when no attribute is
# (Java's XML properties' <entry key=...>, a <param name=...>).
_NAMING_CONTENT = frozenset(("key", "name"))
# What ends an element's close tag after its name: spaces, then ">".
_CLOSE_END = re.compile(r"\s*>")


def is_xml(essence: str) -> bool:
    """Whether a Content-Type's essence is XML (``application/xml``, ``text/xml``, a
    ``+xml`` type: SOAP 1.2's ``application/soap+xml``, Atom's)."""
    return essence in ("application/xml", "text/xml") or essence.endswith("+xml")


# An ASCII attribute name that folds to one of NAME_MEMBERS (each, then its "="): where
# none is found, no attribute names a key. Made from the members themselves, so that one
# added there is looked for here too.
_NAMING_ENDS = lazy_compile(
    "(?i)(?:" + "|".join(sorted(NAME_MEMBERS, key=len, reverse=True)) + r")\s*=")
# HTML's void elements: no content, no close tag (<input name="password"> is whole).
_VOID = frozenset(("area", "base", "br", "col", "embed", "hr", "img", "input", "link",
                   "meta", "param", "source", "track", "wbr"))


def xml_redacted(text: str, denies: Callable[[str], bool], html: bool = False,
                 prose: bool = False) -> str:
    """``text`` with the content of each element and the value of each attribute whose
    local name ``denies`` says is denied replaced by ``[REDACTED n]``; ``text`` itself
    when nothing is. ``html``: an HTML body, whose void elements have no content (an
    ``<input name="password">``'s value is its attribute's; hostile24). ``prose``: XML
    in a text that does not start as XML (``Config:\n<password>...</password>``, a SOAP
    envelope logged after a line of prose; hostile53): a denied element never closed is
    prose's placeholder (``type <password> below``), kept, not the rest hidden."""
    closes = _closes(text) if prose else None
    out: list[str] = []
    kept = 0  # text[:kept] is in out
    at = 0
    # A property list's value is the element after its <key> element (Apple's plist:
    # <key>password</key><string>...</string>; hostile28), read only in a plist.
    plist = "<plist" in text
    keyed = False  # the element after a denied <key>
    while True:
        tag = _START_TAG.search(text, at)
        if tag is None:
            break
        prefix, local, attributes, empty = tag.groups()
        start = None  # the start tag written again, its attributes redacted
        content = False  # its content the value of a pair its attributes name
        if "=" in attributes:
            pattern = _HTML_ATTRIBUTE if html else _ATTRIBUTE
            paired, content = _paired_attributes(attributes, denies, pattern)
            hidden = pattern.sub(partial(_attribute, denies=denies, paired=paired),
                                 attributes)
            if hidden != attributes:
                start = f"<{prefix or ''}{local}{hidden}{empty}>"
        at = tag.end()
        content, keyed = content or keyed, False
        if plist and local == "key" and not (prefix or empty or content or start):
            # A <key> is an entry's NAME, with "key" denied too (review117: each <key>'s
            # name was hidden as a "key" element's value, and every value sent in clear).
            # (Read past its close tag: its content is read once, none left open.)
            at = _close_tag(text, "key", at)
            keyed = denies(_character_data(text[tag.end():at]).strip())
            continue
        if not empty and (content or denies(local)) and not (
                html and local.lower() in _VOID):
            end = (_close_tag(text, f"{prefix or ''}{local}", at) if closes is None
                   else _prose_close(text, f"{prefix or ''}{local}", at, closes))
        else:
            end = -1
        if end >= 0:
            out += [text[kept:tag.start()], start or tag.group(0), redacted(text[at:end])]
            kept = at = end
        elif start is not None:
            out += [text[kept:tag.start()], start]
            kept = at
    if not out:
        return text
    out.append(text[kept:])
    return "".join(out)


#: A close tag, its name (a prefix, a local name).
_CLOSE_ANY = lazy_compile(r"</([A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)\s*>")


def _closes(text: str) -> dict[str, list[int]]:
    """Where each close tag in ``text`` starts, by its name (one pass)."""
    found: dict[str, list[int]] = {}
    for close in _CLOSE_ANY.finditer(text):
        found.setdefault(close.group(1), []).append(close.start())
    return found


def _prose_close(text: str, name: str, at: int, closes: dict[str, list[int]]) -> int:
    """Where the close tag of the element ``name`` whose content starts at ``at`` in
    prose starts: the first ``</name>`` after it, past one more for each start tag of
    that name before it (``<password>a<password>b</password>c</password>``: ``c`` went in
    clear; review143), to the last when they outnumber them; or, a comment, CDATA
    section or processing instruction in the content (one may hold that close tag),
    :func:`_close_tag`'s; -1 when no close tag follows (a placeholder). Found by
    bisection, each stretch of the content read once, all of it hidden: linear."""
    starts = closes.get(name)
    index = bisect_left(starts, at) if starts else 0
    if not starts or index == len(starts):
        return -1
    end = starts[index]
    if _MARKUP.search(text, at, end) is not None:
        return _close_tag(text, name, at)
    read = at
    while True:
        inside = sum(tag.group(1) == name for tag in _OPEN_ANY.finditer(text, read, end))
        if not inside:
            return end
        index += inside
        if index >= len(starts):
            return starts[-1]
        read, end = end, starts[index]


#: A start tag that is not empty, its name (a prefix, a local name).
_OPEN_ANY = lazy_compile(
    r"<([A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)(?:\s[^<>]*)?(?<!/)>")


# What starts markup with no characters of an element's own in its content: a comment,
# a processing instruction, a CDATA section's start and end (its characters are the
# element's); each found with its end by str.find (linear, however many).
_MARKUP = lazy_compile(r"<!--|<\?|<!\[CDATA\[")
_MARKUP_END = {"<!--": "-->", "<?": "?>"}


def _character_data(content: str) -> str:
    """An element's ``content`` as its characters: comments and processing instructions
    left out, CDATA sections' characters as written (``pass<!-- -->word`` and
    ``pass<![CDATA[word]]>`` are ``password``: a plist's ``<key>`` so split was no
    denied name, its value sent in clear; hostile30). A markup never ended runs to the
    end."""
    if "<" not in content:
        return content
    out: list[str] = []
    at = 0
    while True:
        found = _MARKUP.search(content, at)
        if found is None:
            break
        out.append(content[at:found.start()])
        start = found.group()
        if start in _MARKUP_END:  # left out, to its end
            end = content.find(_MARKUP_END[start], found.end())
            at = len(content) if end < 0 else end + len(_MARKUP_END[start])
        else:  # a CDATA section: its characters
            end = content.find("]]>", found.end())
            out.append(content[found.end():len(content) if end < 0 else end])
            at = len(content) if end < 0 else end + 3
    out.append(content[at:])
    return "".join(out)


# The start of an XML property list sent as another type: a mark, blanks, then an XML
# declaration, comments, processing instructions or a DOCTYPE before its <plist>.
_BLANKS = lazy_compile(r"\s*")
_PROLOG_ITEM = lazy_compile(r"(<!--)|(<\?)|(<!DOCTYPE\b)|(<plist\b)")
# What ends each of the first three.
_PROLOG_END = {1: "-->", 2: "?>", 3: ">"}


def plist_text(text: str) -> bool:
    """Whether ``text`` (sent as text or octet-stream) is an XML property list: it starts
    with ``<plist``, an XML declaration, or a DOCTYPE naming a plist, or comments,
    processing instructions and a DOCTYPE come before its ``<plist>`` (hostile30: a
    comment first was read as text/plain's lines, the plist's values in clear). Each
    item read by str.find: linear, however many."""
    if "<plist" not in text:
        return False
    at = _after_blanks(text, 1 if text[:1] == "\ufeff" else 0)
    if text.startswith(("<?xml", "<!DOCTYPE plist"), at):
        return True  # (as read before: its declaration or DOCTYPE first)
    while True:
        item = _PROLOG_ITEM.match(text, at)
        if item is None:
            return False
        kind = item.lastindex or 0
        if kind == 4:
            return True
        end = text.find(_PROLOG_END[kind], item.end())
        if kind == 3 and end >= 0 and "[" in text[item.end():end]:
            # (A DOCTYPE's internal subset, in brackets: the ">"s in it are its own.)
            end = text.find("]", text.find("[", item.end()))
            end = -1 if end < 0 else text.find(">", end)
        if end < 0:
            return False
        at = _after_blanks(text, text.find(">", end) + 1)


#: What starts an XML document: a declaration, a comment, a DOCTYPE, an element's tag.
_XML_START = lazy_compile(
    r"<(?:\?xml\b|!--|!DOCTYPE\b|[A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?[\s/>])")


def xml_text(text: str) -> bool:
    """Whether ``text`` (sent as text/plain, octet-stream or untyped) starts as an XML
    document does, after a mark and blanks: its elements and attributes are then read as
    XML's too (hostile51: ``<password>...</password>`` was read as text/plain's lines
    only, and sent in clear)."""
    return "<" in text and _XML_START.match(
        text, _after_blanks(text, 1 if text[:1] == "\ufeff" else 0)) is not None


def _after_blanks(text: str, at: int) -> int:
    """Where the blanks from ``at`` on end."""
    blanks = _BLANKS.match(text, at)
    return at if blanks is None else blanks.end()


def plist_reading(text: str) -> str:
    """``text`` with the comments, processing instructions and CDATA marks in it
    left out (:func:`_character_data`), read for a denied name a plist's ``<key>`` split
    by them holds; ``text`` itself when it has none."""
    return _character_data(text) if "<!" in text or "<?" in text else text


# What may follow a "<" in a denied element's content: a comment, a CDATA section, a
# processing instruction (each skipped whole: ``<password><!-- </password> -->secret
# </password>``'s content is all of it), or a start or close tag: its "/", its prefix,
# its local name.
_INSIDE = re.compile(
    r"<(?:(!--)|(!\[CDATA\[)|(\?)|(/)?([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*))")
# What ends each of the first three.
_OPAQUE_END = {1: "-->", 2: "]]>", 3: "?>"}


def _close_tag(text: str, name: str, at: int) -> int:
    """Where the close tag of the element ``name`` (its prefix and local name) whose
    content starts at ``at`` starts: the first ``</`` + ``name`` + spaces + ">" that is
    in no comment, CDATA section or processing instruction, nor closes an element of the
    same name inside it (``<password><password>a</password>secret</password>``);
    ``len(text)`` when none does (a body cut short, or one of those never ended). Only
    the content is read, each "<" in it once: linear in the text, however many
    elements. (No pattern compiled per element: one per distinct prefix filled the
    ``re`` cache of a body of many.)"""
    depth = 0  # elements of the same name open inside it
    while True:
        found = _INSIDE.search(text, at)
        if found is None:
            return len(text)
        opaque = found.lastindex if found.lastindex in _OPAQUE_END else None
        if opaque is not None:
            ending = text.find(_OPAQUE_END[opaque], found.end())
            if ending < 0:
                return len(text)
            at = ending + len(_OPAQUE_END[opaque])
            continue
        at = found.end()
        if f"{found.group(5) or ''}{found.group(6)}" != name:
            continue
        if found.group(4):  # a close tag
            end = _CLOSE_END.match(text, at)
            if end is not None:
                if depth == 0:
                    return found.start()
                depth -= 1
                at = end.end()
        else:  # a start tag of that name, unless empty
            tag = _START_TAG.match(text, found.start())
            if tag is not None:
                depth += not tag.group(4)
                at = tag.end()


def _paired_attributes(attributes: str, denies: Callable[[str], bool],
                       pattern: re.Pattern[str] = _ATTRIBUTE) -> tuple[frozenset[str], bool]:
    """The value attributes (folded local names) of a start tag's name/value pairs naming
    a denied key, and whether its content is such a value: .NET's ``<add key="Password"
    value="..."/>``, Spring's ``<property name="password" value="..."/>``, an HTML form's
    ``<input name="password" value="...">``, Java's XML properties' ``<entry
    key="password">...</entry>`` (a ``key`` or ``name`` attribute and no value attribute:
    the content; not ``<error field="password">is too short</error>``'s). Paired as a
    form's fields are (:func:`pairs_with`)."""
    if attributes.isascii() and _NAMING_ENDS.search(attributes) is None:
        # (No attribute's name ends in a naming member's: none names a key. One search in
        # C, not a Python call for each attribute; hostile67: ~55,000 tags a MiB.)
        return frozenset(), False
    # (Sets of members, of at most 14 and 9: a tag repeating them pairs in constant time.)
    naming: set[str] = set()
    values: set[str] = set()
    for match in pattern.finditer(attributes):
        member = folded_name(match.group(2))
        if member in NAME_MEMBERS:
            if denies(_value(match)):
                naming.add(member)
        elif member in VALUE_MEMBERS:
            values.add(member)
    if not naming:
        return frozenset(), False
    paired = frozenset(value for value in values
                       if any(pairs_with(name, value) for name in naming))
    return paired, not values and any(name in _NAMING_CONTENT for name in naming)


def _attribute(found: re.Match[str], denies: Callable[[str], bool],
               paired: frozenset[str]) -> str:
    """One attribute as written, its value redacted when its local name is denied or it
    is a pair's value (``paired``)."""
    if not denies(found.group(2)) and folded_name(found.group(2)) not in paired:
        return found.group(0)
    quote = '"' if found.group(4) is not None else "'" if found.group(5) is not None else ""
    value = _value(found)
    return f"{found.group(1) or ''}{found.group(2)}{found.group(3)}{quote}{redacted(value)}{quote}"


def _value(found: re.Match[str]) -> str:
    """An attribute's value: in double quotes, single quotes or (HTML's) none."""
    value = found.group(4)
    if value is None:
        value = found.group(5)
    if value is None:
        value = found.group(6)
    return value
