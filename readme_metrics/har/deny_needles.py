"""What a denied key looks like inside text and bytes no parser reads: the tables a
:class:`~readme_metrics.har.redaction.Redactor` builds once from its denylist.

A frozen record, read by :mod:`.redaction_mentions`, :mod:`.key_shapes` and
:mod:`.key_formats` (``redactor.needles``): what they share with the Redactor is this
public, read-only view, not its private attributes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import FrozenSet, Optional

from readme_metrics.har.json_escapes import escape_probe
from readme_metrics.har.text import rarest
from readme_metrics.har.utf8_names import raw_probe

__all__ = ["DenyNeedles", "deny_needles"]


@dataclass(frozen=True)
class DenyNeedles:
    """A denylist's needles (its entries' last names, sorted) and what finds them fast."""

    __slots__ = ("names", "probes", "escape_probe", "pointed", "odd", "in_bytes",
                 "byte_probe", "raw_probe", "spaced", "wide")

    #: Each entry's last name (``user.token``: ``token``), case-folded, sorted.
    names: tuple[str, ...]
    #: Each needle's rarest characters in either case: an ASCII text lacking both cases
    #: of one cannot hold the needle, lower-cased or not. None for a needle with a
    #: character beyond ASCII, always looked for.
    probes: tuple[Optional[tuple[tuple[str, str], ...]], ...]
    #: The escapes through which a text could spell a needle it does not spell as
    #: written (:mod:`.json_escapes`).
    escape_probe: re.Pattern[str]
    #: A needle holding "/" or "~", which a JSON Patch's path writes "~1" and "~0"
    #: (``/client~1secret``): looked for so spelled too.
    pointed: bool
    #: A needle ``needles_in`` cannot find as it drops NULs (a "\x00" entry), or pointed.
    odd: bool
    #: The ASCII needles as bytes, and the escape probe's pattern for bytes.
    in_bytes: tuple[bytes, ...]
    byte_probe: re.Pattern[bytes]
    #: A needle's characters beyond ASCII in UTF-8, or None.
    raw_probe: Optional[re.Pattern[bytes]]
    #: A needle with a space a query may write as "+" (``?api+key=``).
    spaced: bool
    #: A needle beyond ASCII, which UTF-16/32 bytes read as latin-1 do not spell.
    wide: bool


def deny_needles(deny: FrozenSet[str]) -> DenyNeedles:
    """The needles of the (normalised) denylist ``deny``, worked out once."""
    names = tuple(sorted({k.rsplit(".", 1)[-1] for k in deny}))
    probe = escape_probe(names)
    pointed = any("/" in needle or "~" in needle for needle in names)
    return DenyNeedles(
        names=names,
        probes=tuple(
            tuple((c, c.upper()) for c in rarest(needle)) if needle.isascii() else None
            for needle in names),
        escape_probe=probe,
        pointed=pointed,
        odd=pointed or any("\0" in needle for needle in names),
        in_bytes=tuple(needle.encode("ascii") for needle in names if needle.isascii()),
        byte_probe=re.compile(probe.pattern.encode("ascii")),
        raw_probe=raw_probe(names),
        spaced=any(" " in needle for needle in names),
        wide=not all(needle.isascii() for needle in names),
    )
