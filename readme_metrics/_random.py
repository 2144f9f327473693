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

__all__ = ["getrandbits", "uniform01"]

_generator = random.Random()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_generator.seed)

#: ``getrandbits(k)``: k random bits as an int.
getrandbits = _generator.getrandbits
#: A float in [0, 1).
uniform01 = _generator.random
