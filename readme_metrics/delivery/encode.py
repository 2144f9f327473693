"""JSON encoding of one log object: ``dumps(log) -> bytes`` (compact, UTF-8); a batch's
array of encoded logs as the pieces it is made of: ``array_body(parts) -> Body``.

The bytes posted to the Metrics API are built here and nowhere else. With the ``fast``
extra installed (``pip install "readme-metrics[fast]"``), orjson encodes them, chosen
once when this module is imported and named in the debug line that says where the
logs are posted; what orjson
refuses (a lone surrogate, an integer beyond 64 bits, nesting deeper than 255, a
non-string key) goes to the standard library instead. Either way the documents are the
same JSON (SPEC section 1), ``NaN`` and infinities included: both write them as
``null``, since JSON has no such numbers and one of them would make the Metrics API
refuse the whole batch.
"""

from __future__ import annotations

import json
import math
from json.encoder import c_encode_basestring, c_make_encoder  # type: ignore[attr-defined]
from typing import Any, Callable, Iterable

orjson: Any
try:
    import orjson  # type: ignore[no-redef,import-not-found,unused-ignore]
except ImportError:  # the fast extra is optional
    orjson = None

__all__ = ["ENCODER", "Body", "array_body", "dumps", "halves", "stdlib_dumps"]

# Compact JSON, non-ASCII as UTF-8. Logs are fresh trees built by ``build``, so the
# circular-reference check (a noticeable share of the encoding time) is skipped: a cycle
# would still end in a RecursionError, which drops that log like any other build error.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False,
                            allow_nan=False)
_ASCII_ENCODER = json.JSONEncoder(separators=(",", ":"), check_circular=False, allow_nan=False)
_encode_text: Callable[[Any], str] = _ENCODER.encode
if c_make_encoder is not None and c_encode_basestring is not None:
    # The same C encoder JSONEncoder.encode builds on every call, built once.
    _c_encoder = c_make_encoder(None, _ENCODER.default, c_encode_basestring, None, ":", ",",
                                False, False, False)

    def _encode_text(log: Any) -> str:
        return "".join(_c_encoder(log, 0))


def _finite(node: Any) -> Any:
    """``node`` with NaN and infinities as None (a copy, only of what holds them); such a
    key as the name JSON.stringify gives it ("NaN", "Infinity", "-Infinity")."""
    if isinstance(node, float):
        return node if math.isfinite(node) else None
    if isinstance(node, dict):
        return {_finite_key(key): _finite(value) for key, value in node.items()}
    if isinstance(node, (list, tuple)):
        return [_finite(value) for value in node]
    return node


def _finite_key(key: Any) -> Any:
    """A dict key the encoders take: a NaN or infinite float (no JSON number, refused
    even as a key, which the encoders write as text) as its text, as a JavaScript
    object names it; any other key as it is."""
    if isinstance(key, float) and not math.isfinite(key):
        return "NaN" if key != key else ("Infinity" if key > 0 else "-Infinity")
    return key


def stdlib_dumps(log: Any) -> bytes:
    """``log`` as compact JSON with the standard library (a lone surrogate escaped)."""
    try:
        try:
            return _encode_text(log).encode()
        except UnicodeEncodeError:
            # A lone surrogate cannot be UTF-8: let json escape it instead.
            return _ASCII_ENCODER.encode(log).encode()
    except ValueError as exc:
        if "JSON compliant" not in str(exc):
            raise
        # NaN or an infinity (never in a log build_log makes): null, as orjson writes it.
        return stdlib_dumps(_finite(log))


def _orjson_dumps(log: Any) -> bytes:
    """``log`` as compact JSON with orjson, the standard library for what it refuses."""
    try:
        return orjson.dumps(log)  # type: ignore[no-any-return,unused-ignore]
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return stdlib_dumps(log)


#: The encoder in use, for the debug log and bug reports.
ENCODER = f"orjson {orjson.__version__}" if orjson is not None else "json (standard library)"
_encode: Callable[[Any], bytes] = _orjson_dumps if orjson is not None else stdlib_dumps

#: ``dumps(log)``: ``log`` as compact JSON, non-ASCII as UTF-8 (see the module docstring).
#: The encoder chosen above itself, not a function calling it: the sender calls it once
#: per log, and a Python call more cost about 0.4k instructions each time.
dumps: Callable[[Any], bytes] = _encode


#: A part of the array at least this large is kept as it is, never copied.
_ALONE = 16 * 1024
#: The most bytes of smaller parts (and the brackets and commas) joined into one piece.
_RUN = 64 * 1024


class Body:
    """A JSON array of encoded logs, as the pieces it is made of: ``pieces`` in order,
    ``len()`` their bytes, ``bytes(body)`` the array in one ``bytes`` (a copy).

    The direct route sends the pieces as they are, so a batch of large logs is never
    copied into one ``bytes``: with 100 KB logs, that copy and the page faults of its
    fresh memory were a fifth of the sender's CPU (docs/PERFORMANCE.md). Never changed
    once made: a retry sends the same bytes.
    """

    __slots__ = ("pieces", "size")

    def __init__(self, pieces: tuple[bytes, ...]) -> None:
        self.pieces = pieces
        self.size = sum(map(len, pieces))

    def __len__(self) -> int:
        return self.size

    def __bytes__(self) -> bytes:
        return b"".join(self.pieces)


def array_body(parts: Iterable[bytes]) -> Body:
    """``[part,part,...]`` from encoded documents: each part of ``_ALONE`` bytes or more
    a piece of its own, the others joined with the brackets and commas around them in
    pieces of up to ``_RUN`` bytes (a batch of small logs is one piece, one copy).

    ``parts`` may be an iterator (the sender's logs encoded one at a time): each small
    part is then held only until its piece is joined, not until the batch's end. A batch
    of 450 small logs held whole is 1.2 MB that glibc gives back to the kernel after the
    POST and faults in again for the next batch (docs/PERFORMANCE.md, speed8).
    """
    if parts.__class__ is list:
        if not parts:
            return Body((b"[]",))
        sizes = [len(part) for part in parts]
        if max(sizes) < _ALONE and sum(sizes) + len(sizes) + 1 <= _RUN:
            # The usual batch of small logs, one piece (what the loop below makes of
            # it): the parts between the brackets and commas by slice assignment,
            # joined once.
            run = [b","] * (2 * len(sizes) + 1)
            run[0], run[1::2], run[-1] = b"[", parts, b"]"
            return Body((b"".join(run),))
    pieces: list[bytes] = []
    run = [b"["]
    size = 1
    for part in parts:
        length = len(part)
        if length >= _ALONE:
            pieces += (b"".join(run), part)
            run = [b","]
            size = 1
            continue
        if size + length + 1 > _RUN:  # the part and its comma
            pieces.append(b"".join(run))
            run = []
            size = 0
        run += (part, b",")
        size += length + 1
    if not pieces and len(run) == 1:  # no part
        return Body((b"[]",))
    run[-1] = b"]"
    pieces.append(b"".join(run))
    return Body(tuple(pieces))


def halves(body: Body) -> list[tuple[Body, int]]:
    """The logs of ``body`` (an array :func:`array_body` made) as two arrays, the first
    half of them and the rest, each with its number of logs (one array for one log).

    For a POST the Metrics API found too large (413): rare, so the array is decoded and
    its logs encoded again rather than each batch keeping its logs' parts until answered.
    """
    logs = json.loads(bytes(body))
    middle = (len(logs) + 1) // 2
    parts = [logs[:middle], logs[middle:]] if len(logs) > 1 else [logs]
    return [(array_body([dumps(log) for log in part]), len(part)) for part in parts]
