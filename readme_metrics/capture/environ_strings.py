"""The strings of a WSGI environ, copied on the request thread at C speed.

:func:`environ_strings` returns the keys and values of every ``str`` value of an environ
(the CGI variables, the HTTP headers, ``wsgi.url_scheme``) and the bytes they hold, for
the queue's memory bound; the server's objects (``wsgi.input``, sockets, flags) are left
behind, so a queued log never keeps a connection alive.

A server builds the environs of similar requests with the same keys in the same order
(the same client sends the same headers), so the first environ of each shape leaves a
plan: which of its keys held strings, and an ``itemgetter`` that fetches their values in
one call. The next environ of that shape is copied by the plan, and joining its values
to count their bytes also checks they are all still strings (``str.join`` refuses
anything else); if one is not, the environ is copied key by key as the first one was. A
key whose value was not a string when its plan was made (a server object) is not copied
from environs of that shape: the CGI variables and headers a log is made of always are
strings (PEP 3333). Plans are bounded in number and size, so a client sending random
header names cannot grow them.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any, Callable, Mapping, Optional, Union

__all__ = ["PLANS_MAX", "Values", "environ_strings", "small_shape"]

#: Environ shapes remembered per process; further shapes are copied key by key.
PLANS_MAX = 64
# A plan holds its keys: bounded, so long random header names cannot make plans large.
_PLAN_KEY_BYTES_MAX = 4096
_PLAN_KEYS_MAX = 256

#: The values of an environ's strings: a tuple, or one string of them joined by NUL.
Values = Union[tuple[str, ...], str]
_Plan = tuple[tuple[str, ...], Callable[[Any], Any], int]
_PLANS: dict[tuple[str, ...], _Plan] = {}
# The shape and plan used last: the next environ is most often of the same shape, and
# comparing two shapes costs a third of hashing one for the lookup (30 keys: 0.9k
# instructions against 2.7k). One tuple, so that threads read and replace it whole.
_last: tuple[tuple[str, ...], Optional[_Plan]] = ((), None)


def environ_strings(environ: Mapping[str, Any], joined: bool = False
                    ) -> tuple[tuple[str, ...], Values, int]:
    """(keys, values, bytes) of the string values of ``environ``, in its order.

    ``joined``: the values of an environ copied by its plan come as one string, joined
    by NUL (``environ_head`` splits them), where none of them holds a NUL: a
    string is no GC container, where the tuple is one (cpu34)."""
    global _last
    shape = tuple(environ)
    last_shape, plan = _last
    if shape != last_shape:
        plan = _PLANS.get(shape)
        if plan is not None:
            _last = (shape, plan)
    if plan is not None:
        keys, fetch, key_bytes = plan
        values = fetch(environ)
        try:
            # (The join counts the bytes and checks the values are strings.)
            text = "".join(values)
        except TypeError:
            pass  # a value that was a string is something else now: copy key by key
        else:
            # No value holds a NUL: one memchr over the text (a count of the NULs in the
            # text joined by NUL walks it char by char, 2.3k instructions for the bench's
            # 0.8 KB; the second join costs less: cpu36).
            if joined and "\0" not in text:
                return keys, "\0".join(values), key_bytes + len(text)
            return keys, values, key_bytes + len(text)
    strings = {k: v for k, v in environ.items() if v.__class__ is str}
    keys, values = tuple(strings), tuple(strings.values())
    key_bytes = sum(map(len, keys))
    if (plan is None and len(keys) >= 2 and len(shape) <= _PLAN_KEYS_MAX
            and key_bytes <= _PLAN_KEY_BYTES_MAX and len(_PLANS) < PLANS_MAX):
        # itemgetter of two keys or more returns a tuple (of one key, the bare value).
        _PLANS[shape] = (keys, itemgetter(*keys), key_bytes)
    return keys, values, key_bytes + sum(map(len, values))


def small_shape(keys: tuple[str, ...]) -> bool:
    """True when a plan may hold ``keys`` (few and short enough to keep per process)."""
    return len(keys) <= _PLAN_KEYS_MAX and sum(map(len, keys)) <= _PLAN_KEY_BYTES_MAX
