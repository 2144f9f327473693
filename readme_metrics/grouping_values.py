"""What the grouping function returned, as the text a log's group holds.

The caller's key may come as a string or as a number of any numeric type (an id from the
database: an int, a Decimal, numpy's integers); a label or an email as anything with a
``str()`` (a user object's name, a database driver's bytes). Each is written the way it
reads, past CPython's limit on the digits of an int too, and a key that cannot identify
a caller (blank, a bool, not finite) is none. A key of digits alone is told apart: it is
a user's id more often than a key, and is masked wherever its digits occur.
"""

from __future__ import annotations

import math
import numbers
from decimal import Decimal
from typing import Any, Optional

__all__ = ["MAX_ID_DIGITS", "identity", "number_key", "text"]

# An int up to this many bits (about 39,000 digits, 20 ms) is written out in decimal past
# CPython's limit on str() of an int (4,300 digits); the cost grows with the square of the
# length, so a longer one is written in hex (linear time), still one caller's own text.
_DECIMAL_BITS = 1 << 17


def _written(number: int) -> str:
    """``str(number)``, past CPython's limit on the digits of an int too (the grouping
    function may return one it computed: str() raised, and the request was not logged).
    The same text as str() for every int str() writes, so the same mask."""
    try:
        return str(number)
    except ValueError:  # Exceeds the limit (4300 digits) for integer string conversion
        if number.bit_length() <= _DECIMAL_BITS:
            return str(Decimal(number))  # exact, and the decimal module has no limit
        return hex(number)


def _exact(number: numbers.Rational) -> str:
    """A rational's exact value as str() of a Fraction writes it (``n`` or ``n/d``)."""
    numerator, denominator = _written(int(number.numerator)), int(number.denominator)
    return numerator if denominator == 1 else f"{numerator}/{_written(denominator)}"


def identity(key: Any) -> Optional[str]:
    """The caller's identity from the ``api_key`` returned: a string that is not blank, or
    a finite number (of any numeric type) written out; None for anything else (a list or
    bytes would be the mask of their repr, an identity no caller has)."""
    if key.__class__ is str:
        return key if key and not key.isspace() else None
    if isinstance(key, bool) or key is None:
        return None
    if isinstance(key, str):  # a str subclass: its text (see text)
        text = str.__str__(key)
        return text if text and not text.isspace() else None
    if isinstance(key, numbers.Integral):  # int, IntEnum, numpy's integers
        return _written(int(key))
    if isinstance(key, numbers.Real):  # float, numpy's floats, Fraction
        try:
            value = float(key)
        except OverflowError:  # a Fraction beyond any double: its exact value
            return _exact(key) if isinstance(key, numbers.Rational) else str(key)
        return str(value) if math.isfinite(value) else None
    if isinstance(key, Decimal):  # a database column
        return str(key) if key.is_finite() else None
    return None


def text(value: Any) -> Optional[str]:
    """A label or email as text: a str as it is, bytes (a database driver's) as UTF-8,
    anything else as str() gives it (a user object's own name); None stays None.

    A str subclass (a ``class Plan(str, Enum)`` member) is its text, not its own str()
    ("Plan.FREE"): it equals that text, and Identifier reuses the last Group for an
    equal mapping, so the label must not depend on which of the two came first."""
    if value is None or value.__class__ is str:
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")  # not "b'...'", a name no one has
    if value.__class__ is int:
        return _written(value)
    return str(value)


#: The most digits a user's id or an account number has (an unsigned 64-bit integer, 20
#: digits: 18446744073709551615; review83: a signed one's 19 left a BIGINT UNSIGNED id
#: unwarned): a caller's key of more digits is a random secret, too long to turn up
#: inside the numbers of its logs, and no warning is said of it (review81: a 32-digit API
#: key was told it looked like a user's id).
MAX_ID_DIGITS = 20


def number_key(key: str) -> bool:
    """True for a key of ASCII digits alone (``"1"``, ``"42"``, ``"12345678"``), at most
    :data:`MAX_ID_DIGITS` of them: a user's id or an account number, not a key. Shorter
    than :data:`~readme_metrics.har.key_forms.MIN_SUBSTRING_KEY`, it is masked where a
    whole value equals it; longer, wherever its digits occur, inside longer numbers too."""
    return len(key) <= MAX_ID_DIGITS and key.isascii() and key.isdigit()
