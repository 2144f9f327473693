"""JSON encoding of one log object: ``dumps(log) -> bytes`` (compact, UTF-8).

The bytes posted to the Metrics API are built here and nowhere else, so that an optional
native encoder can be slotted in behind the same function (SPEC section 1: the same JSON
documents either way).
"""

from __future__ import annotations

import json
from json.encoder import c_encode_basestring, c_make_encoder  # type: ignore[attr-defined]
from typing import Any, Callable

__all__ = ["dumps", "join_array"]

# Compact JSON, non-ASCII as UTF-8. Logs are fresh trees built by ``build``, so the
# circular-reference check (a noticeable share of the encoding time) is skipped: a cycle
# would still end in a RecursionError, which drops that log like any other build error.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False)
_ASCII_ENCODER = json.JSONEncoder(separators=(",", ":"), check_circular=False)
_encode_text: Callable[[Any], str] = _ENCODER.encode
if c_make_encoder is not None and c_encode_basestring is not None:
    # The same C encoder JSONEncoder.encode builds on every call, built once.
    _c_encoder = c_make_encoder(None, _ENCODER.default, c_encode_basestring, None, ":", ",",
                                False, False, True)

    def _encode_text(log: Any) -> str:
        return "".join(_c_encoder(log, 0))


def dumps(log: Any) -> bytes:
    """``log`` as compact JSON, non-ASCII as UTF-8 (a lone surrogate is escaped)."""
    try:
        return _encode_text(log).encode()
    except UnicodeEncodeError:
        # A lone surrogate cannot be UTF-8: let json escape it instead.
        return _ASCII_ENCODER.encode(log).encode()


def join_array(parts: list[bytes]) -> bytes:
    """``[part,part,...]`` from encoded documents, in one copy."""
    # b"[" + b",".join(parts) + b"]" copies the whole batch (a megabyte with large bodies)
    # three times instead of once.
    if not parts:
        return b"[]"
    pieces = [b"["]
    for part in parts:
        pieces += (part, b",")
    pieces[-1] = b"]"
    return b"".join(pieces)
