"""Formats whose keys :mod:`.key_shapes`' readings of the bytes miss, for the check of
binary data (hostile29): a binary plist's strings, a pickle of
protocol 0 (which is text).

* A zip's compressed entries: :mod:`.zip_entries` (hostile31: moved there).
* A binary plist (``bplist00``) writes an ASCII string as ``0x50 | length`` then its
  bytes (``Xpassword``: a letter glued to the name), or ``0x5F``, an integer's marker and
  the length for 15 characters or more.
* A pickle of protocol 0 (Python 2's default, ``pickle.dumps(d, 0)``) is printable
  text: it is read as text, whose ``Vpassword`` and ``S'password'`` lines are no pair.
  A body that :mod:`pickletools` walks whole to its ``STOP`` (opcodes read, no object
  built) is a pickle; a string in it that the denylist names is a key's. At most
  :data:`MOST_OPS` opcodes are walked (1 us each); past them the rest's ``V`` and ``S``
  lines are its strings.
"""

from __future__ import annotations

import pickletools
import re
import struct
from functools import lru_cache
from itertools import islice
from typing import TYPE_CHECKING

from readme_metrics.har.zip_entries import HEAD, MOST_INFLATED, inflated_entries

if TYPE_CHECKING:
    from readme_metrics.har.redaction import Redactor

__all__ = ["HEAD", "MOST_INFLATED", "MOST_OPS", "bplist_keyed", "inflated_entries", "pickle_keyed"]


def bplist_keyed(redactor: Redactor, data: bytes) -> bool:
    """Whether binary plist ``data`` holds a string the denylist names (any case)."""
    return _bplist_strings(redactor.needles.names).search(data) is not None


@lru_cache(maxsize=64)
def _bplist_strings(needles: tuple[str, ...]) -> re.Pattern[bytes]:
    """An ASCII string of a binary plist that is one of ``needles``: its marker (exact),
    then the name in any case."""
    shapes = []
    for needle in needles:
        if not needle.isascii() or not needle:
            continue
        length = len(needle)
        if length < 15:
            marker = bytes([0x50 | length])
        elif length < 256:
            marker = b"\x5f\x10" + bytes([length])
        else:
            marker = b"\x5f\x11" + struct.pack(">H", length)
        shapes.append(re.escape(marker) + b"(?i:" + re.escape(needle.encode()) + b")")
    return re.compile(b"|".join(shapes) if shapes else b"(?!)")


def pickle_keyed(redactor: Redactor, text: str) -> bool:
    """Whether ``text`` is a pickle of protocol 0 holding a string the denylist names:
    walked whole to its ``STOP``, or to its last line (one cut short at
    ``max_body_bytes``, its last opcode's line cut)."""
    from readme_metrics.har.redaction_cut import denied_key

    if "\n" not in text or text[:1] not in _PICKLE_STARTS:
        return False
    data = text.encode("latin-1", "replace")
    strings: list[str] = []
    last = ops = 0
    try:
        for _, argument, at in islice(pickletools.genops(data), MOST_OPS):
            ops, last = ops + 1, at or 0
            if isinstance(argument, str):
                strings.append(argument)
    except (ValueError, UnicodeError, struct.error, IndexError):
        if ops < 2 or data.count(b"\n", last) > 1:
            return False  # (no pickle: text whose first lines read as opcodes)
    if ops == MOST_OPS:  # (the rest's strings as its lines write them: V..., S'...')
        lines = (line.lstrip(_NO_ARGUMENT) for line in text[last:].split("\n"))
        strings += [line[1:].strip("'\"") for line in lines if line[:1] in ("V", "S")]
    return any(denied_key(redactor, string) for string in strings)


#: Opcodes of a protocol-0 pickle walked (:func:`pickletools.genops` takes 1 us each: a
#: MiB of ``(((...`` cost 1 s of the worker's time a body, review121); past them the rest's
#: ``V`` and ``S`` lines are its strings.
MOST_OPS = 1 << 15

#: Protocol 0's opcodes with no argument, which a line may start with before a string's
#: (``sVpassword``: a SETITEM, then the next key).
_NO_ARGUMENT = "(.012N]}abdelostuR"

#: What a protocol-0 pickle starts with: a MARK, a dict, a list, a global, a string...
_PICKLE_STARTS = frozenset("(cdlSVIFLN]}")
