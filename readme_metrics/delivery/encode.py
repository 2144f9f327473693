"""JSON encoding of one log object: ``dumps(log) -> bytes`` (compact, UTF-8).

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
from typing import Any, Callable

orjson: Any
try:
    import orjson  # type: ignore[no-redef,import-not-found,unused-ignore]
except ImportError:  # the fast extra is optional
    orjson = None

__all__ = ["ENCODER", "dumps", "join_array", "stdlib_dumps"]

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
    """``node`` with NaN and infinities as None (a copy, only of what holds them)."""
    if isinstance(node, float):
        return node if math.isfinite(node) else None
    if isinstance(node, dict):
        return {key: _finite(value) for key, value in node.items()}
    if isinstance(node, (list, tuple)):
        return [_finite(value) for value in node]
    return node


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


def dumps(log: Any) -> bytes:
    """``log`` as compact JSON, non-ASCII as UTF-8 (see the module docstring)."""
    return _encode(log)


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
