"""JSON numbers written back as the client wrote them, when the caller's key is masked in a
JSON document: :class:`KeptNumber` for a number Python reads as no number written back the
same (over 4,300 digits, 1e400, NaN), and :func:`dumps_as_sent`, which writes them as sent.
Moved from :mod:`readme_metrics.har.credentials`, as is. :func:`read_as_sent` reads a
document the lists redact (and one whose credential pairs are masked) so too, every
float that Python would write otherwise kept (``12.30``, ``1E2``; blackbox19), and an
integer ``-0`` (review140): SPEC 6's
"Redacting a JSON body keeps it valid JSON", the values not redacted as sent.
"""

from __future__ import annotations

import json
import math
import re
from secrets import token_hex
from typing import Any

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har.deep_json import loads
from readme_metrics.har.key_spellings import (
    encodable,
)

# Where a JSON text may hold a KeptNumber: a run of 300 digits (an integer of over 4,300,
# a mantissa beyond a double's 1.8e308), or a positive exponent of 2 digits or more
# (1e400): fewer than 300 digits before the point and a 1-digit exponent stay below
# 1e308, a negative exponent below 1; NaN and Infinity, which Python's parser takes.
# (Searched only once the C parser's reading failed: 25 ms a MiB.)
EXOTIC_NUMBER = re.compile(r"[0-9]{300}|[eE]\+?[0-9]{2}|NaN|Infinity")


class KeptNumber:
    """A JSON number kept as written, where Python reads no number that is written back
    the same: an integer of more digits than int() reads (Python's int_max_str_digits,
    4,300 by default), a number beyond a double (1e400, read as infinity, which no JSON
    writer takes), NaN or Infinity as written. :func:`dumps_as_sent` writes it back as its
    literal."""

    __slots__ = ("literal",)

    def __init__(self, literal: str) -> None:
        self.literal = literal

    def __eq__(self, other: object) -> bool:
        return isinstance(other, KeptNumber) and other.literal == self.literal

    __hash__ = None  # type: ignore[assignment]


def read_float(literal: str) -> Any:
    """A JSON number with a fraction or exponent as ``float()`` reads it, or as a
    :class:`KeptNumber` where that is infinite (1e400)."""
    value = float(literal)
    return value if math.isfinite(value) else KeptNumber(literal)


def read_integer(literal: str) -> Any:
    """A JSON integer as ``int()`` reads it, or as a :class:`KeptNumber` where int() refuses
    it (a number of over 4,300 digits: the document is JSON all the same)."""
    try:
        return int(literal)
    except ValueError:
        return KeptNumber(literal)


def _float_as_sent(literal: str) -> Any:
    """A JSON number with a fraction or exponent as ``float()`` reads it where the float
    is written back the same (``1.5``, ``-0.0``, ``1e-07``), else as a :class:`KeptNumber`
    (``12.30``, ``1E2``, ``3.14159265358979323846``, ``1e400``)."""
    value = float(literal)
    return value if value.__repr__() == literal else KeptNumber(literal)


def _not_json(name: str) -> Any:
    # NaN and Infinity are no JSON (Python's parser alone reads them): not a document.
    raise ValueError(f"{name} is not valid JSON")


def _int_as_sent(literal: str) -> Any:
    """A JSON integer as :func:`read_integer` reads it, but ``-0`` (an int has no
    negative zero: written back ``0``), kept as a :class:`KeptNumber` (review140)."""
    return KeptNumber(literal) if literal == "-0" else read_integer(literal)


# An integer -0 where a JSON value may start (or in a string: read with the hook too).
_NEGATIVE_ZERO = lazy_compile(r"(?:^|(?<=[\[:,\s]))-0(?![.eE0-9])")


def read_as_sent(text: str) -> Any:
    """The JSON ``text`` as a document (:func:`~.deep_json.loads`) that
    :func:`dumps_as_sent` writes back with every number as written: a float written back
    otherwise, an integer longer than ``int()`` reads, and ``-0``, are a
    :class:`KeptNumber` (ints are read by the C parser, but for such a text, read again,
    or at once for a text holding a ``-0``). ``ValueError`` for a text that is no JSON
    (NaN, Infinity, nested too deep, broken)."""
    if not ("-0" in text and _NEGATIVE_ZERO.search(text) is not None):
        try:
            return loads(text, parse_constant=_not_json, parse_float=_float_as_sent)
        except ValueError as error:
            if "integer string conversion" not in str(error):
                raise
    return loads(text, parse_constant=_not_json, parse_float=_float_as_sent,
                 parse_int=_int_as_sent)


def dumps_as_sent(document: Any, source: str) -> str:
    """Compact JSON of ``document``, read from the JSON text ``source``, non-ASCII as is:
    ``"\\ud800"`` escapes in ``source`` were read as lone surrogates, which have no UTF-8,
    and stay escapes (the whole log would otherwise go out ASCII-escaped). A
    :class:`KeptNumber` is written as its literal."""
    longs: list[str] = []
    token = ""

    def long_literal(node: Any) -> str:
        nonlocal token
        if not isinstance(node, KeptNumber):
            raise TypeError(f"{node.__class__.__name__} is no JSON")
        if not token:
            token = _long_token()
        longs.append(node.literal)
        return f"{token}{len(longs) - 1}"

    out = json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False,
                     default=long_literal)
    if "\\u" in source and not encodable(out):
        longs.clear()
        out = json.dumps(document, separators=(",", ":"), allow_nan=False,
                         default=long_literal)
    if longs:
        out = re.sub(f'"{token}([0-9]+)"', lambda found: longs[int(found.group(1))], out)
    return out


def _long_token() -> str:
    """An ASCII text (the same escaped or not) that stands for a number in the output:
    random, so no string of the document (which escapes may spell) is it."""
    return f"long{token_hex(16)}"
