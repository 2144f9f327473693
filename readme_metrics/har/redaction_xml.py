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
from typing import Callable

from readme_metrics.har.redaction import redacted

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
# What ends an element's close tag after its name: spaces, then ">".
_CLOSE_END = re.compile(r"\s*>")


def is_xml(essence: str) -> bool:
    """Whether a Content-Type's essence is XML (``application/xml``, ``text/xml``, a
    ``+xml`` type: SOAP 1.2's ``application/soap+xml``, Atom's)."""
    return essence in ("application/xml", "text/xml") or essence.endswith("+xml")


def xml_redacted(text: str, denies: Callable[[str], bool]) -> str:
    """``text`` with the content of each element and the value of each attribute whose
    local name ``denies`` says is denied replaced by ``[REDACTED n]``; ``text`` itself
    when nothing is."""
    out: list[str] = []
    kept = 0  # text[:kept] is in out
    at = 0
    while True:
        tag = _START_TAG.search(text, at)
        if tag is None:
            break
        prefix, local, attributes, empty = tag.groups()
        start = None  # the start tag written again, its attributes redacted
        if "=" in attributes:
            hidden = _ATTRIBUTE.sub(lambda found: _attribute(found, denies), attributes)
            if hidden != attributes:
                start = f"<{prefix or ''}{local}{hidden}{empty}>"
        at = tag.end()
        if not empty and denies(local):
            end = _close_tag(text, f"</{prefix or ''}{local}", at)
            out += [text[kept:tag.start()], start or tag.group(0), redacted(text[at:end])]
            kept = at = end
        elif start is not None:
            out += [text[kept:tag.start()], start]
            kept = at
    if not out:
        return text
    out.append(text[kept:])
    return "".join(out)


def _close_tag(text: str, opening: str, at: int) -> int:
    """Where the first close tag ``opening`` + spaces + ">" at or after ``at`` starts;
    ``len(text)`` when none does. (No pattern compiled per element: one per distinct
    prefix filled the ``re`` cache of a body of many.)"""
    found = text.find(opening, at)
    while found != -1:
        after = found + len(opening)
        if _CLOSE_END.match(text, after) is not None:
            return found
        found = text.find(opening, after)
    return len(text)


def _attribute(found: re.Match[str], denies: Callable[[str], bool]) -> str:
    """One attribute as written, its value redacted when its local name is denied."""
    if not denies(found.group(2)):
        return found.group(0)
    double = found.group(4) is not None
    value = found.group(4) if double else found.group(5)
    quote = '"' if double else "'"
    return f"{found.group(1) or ''}{found.group(2)}{found.group(3)}{quote}{redacted(value)}{quote}"
