"""The library's own random numbers (log ids, retry jitter), never the app's generator.

``random``'s module functions share one generator with the app: a draw there moves an
app's seeded sequence (``random.seed(7)`` then ``random.random()`` gave another number
wrapped than bare), and an app or test that seeds it per request made every log the same
``_id``. This generator is seeded from ``os.urandom`` and again in a forked child (as
``random``'s own is), so a gunicorn --preload worker does not repeat its siblings' ids.
"""

from __future__ import annotations

import os
import random
from binascii import hexlify

from readme_metrics._process_id import getpid

__all__ = ["getrandbits", "log_id", "log_id_pid", "uniform01"]

_generator = random.Random()
_pid = os.getpid()

#: ``getrandbits(k)``: k random bits as an int.
getrandbits = _generator.getrandbits
#: A float in [0, 1).
uniform01 = _generator.random


# -- log ids ------------------------------------------------------------------------------

#: Log ids made at a time (:func:`log_id`). One uuid4 string made alone costs about 6k
#: instructions, mostly the strings its formatting makes and drops (hex digits, pieces);
#: made 64 at a time, from one draw and one hex string, about 1k.
IDS_PER_DRAW = 64
# Where the 32 hex digits of an id go in its 8-4-4-4-12 form, a line break after it.
_ROW = b"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx\n"
_DIGIT_PLACES = tuple(enumerate(i for i, c in enumerate(_ROW) if c == ord("x")))
_ROWS = _ROW * IDS_PER_DRAW
# RFC 4122 version 4 (bits 76-79 = 0100) and variant (bits 62-63 = 10), for every id.
_ONE_CLEAR = ~((0xF << 76) | (0x3 << 62)) & ((1 << 128) - 1)
_ONE_SET = (0x4 << 76) | (0x2 << 62)
_CLEAR = int.from_bytes(_ONE_CLEAR.to_bytes(16, "big") * IDS_PER_DRAW, "big")
_SET = int.from_bytes(_ONE_SET.to_bytes(16, "big") * IDS_PER_DRAW, "big")
_ids: list[str] = []  # made and not given out yet; cleared, never replaced
_take = _ids.pop


def _make_ids() -> None:
    """Make the next :data:`IDS_PER_DRAW` ids (:func:`log_id` has re-seeded a forked
    child already)."""
    digits = hexlify((getrandbits(128 * IDS_PER_DRAW) & _CLEAR | _SET)
                     .to_bytes(16 * IDS_PER_DRAW, "big"))
    rows = bytearray(_ROWS)
    width = len(_ROW)
    for digit, place in _DIGIT_PLACES:  # each digit of every id at once
        rows[place::width] = digits[digit::32]
    made = rows.decode("ascii").split("\n")
    made.pop()  # after the last line break
    _ids.extend(made)


def log_id() -> str:
    """A fresh log ``_id``: a uuid4 string from this generator (taken from ids made
    :data:`IDS_PER_DRAW` at a time). Thread-safe; a forked child makes its own, and gives
    none of its parent's: one forked without Python's fork hooks (uWSGI's workers) too,
    which would otherwise give its parent's ids made ahead, as would its siblings."""
    if _pid != getpid():  # (a system call only where forks may skip the hooks)
        _forked()
    while True:
        try:
            return _take()
        except IndexError:  # none left (another thread may take those made here first)
            _make_ids()


def log_id_pid() -> int:
    """The process id :func:`log_id` last saw (it asks for it on each id): a forked
    child's own once it has made an id there, hooks or not."""
    return _pid


def _forked() -> None:
    """In a forked child: a new seed, and none of the parent's ids."""
    global _pid
    _generator.seed()
    _ids.clear()
    _pid = os.getpid()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)
