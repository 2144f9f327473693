"""The caller's key as a JSON number: where a JSON text writes the key's value otherwise
(``1e3``, ``1000.0`` for the key ``1000``), which whoever reads the JSON reads as the key
(see :class:`~readme_metrics.har.credentials.CallerKey`). Pure functions of the key's
value and the text; moved from :mod:`readme_metrics.har.credentials`, as is.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Callable, NamedTuple, Optional

# A JSON number, as the parser reads one (RFC 8259 6).
JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
# A number standing as a whole value in a JSON text the parser could not read (cut short):
# after ":", "[" or ",", ended by ",", "]", "}" or the text's end.
_BARE_NUMBER = re.compile(r"([\[:,][ \t\r\n]*)(-?[0-9][0-9.eE+\-]*)"
                          r"(?=[ \t\r\n]*(?:[,\]}]|\Z))")
#: The most significant digits a key that is a number may have to be masked where a JSON
#: number of its value is written otherwise (1e3 for 1000); a longer one as written only
#: (each text is looked at once per digit: see :func:`number_in`).
MAX_NUMBER_DIGITS = 40
# The most digits of a number key's plain decimal looked for (a double's are 309 or 324).
_MAX_PLAIN_DIGITS = 400
# What stands before a number's first significant digit only inside a word or a number.
_NOT_BEFORE_NUMBER = frozenset("123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")

# A JSON text that starts as a number (JSON's blanks first), and one that is a number:
# the C parser reads a number's digits, fraction and exponent greedily (an "e" or "."
# without digits after it is not read), then only blanks may follow.
NUMBER_START = re.compile("[ \t\n\r]*-?[0-9]")
NUMBER_TEXT = re.compile("[ \t\n\r]*-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?(?:[eE][-+]?[0-9]+)?"
                         "[ \t\n\r]*")


class NumberLooks(NamedTuple):
    """What :func:`number_looks` prepares for a key that is a JSON number."""

    value: Decimal
    #: The first significant character a number of this value shows (see same_number).
    leads: tuple[str, ...]
    #: Plain texts of the value (a fraction's decimal with more zeros) looked for as is.
    probes: tuple[str, ...]
    #: The patterns of the value written otherwise, each starting with fixed text.
    looks: tuple[re.Pattern[str], ...]
    #: An integer key written otherwise ("1e+16").
    integer_otherwise: bool


def number_looks(key: str, value: Decimal) -> Optional[NumberLooks]:
    """Prepare the looks for a JSON number of ``value`` (the ``key``'s) written otherwise
    than the key; None for a value of more than :data:`MAX_NUMBER_DIGITS` significant
    digits, or not finite (masked as written only).

    Its significant digits ``d`` (1 for 1000, 125 for 12.5), then zeros, then an
    exponent (``1e3``, ``1000.0E0``, ``0.1e4``, ``125e-1``) or, for an integer, a
    dot and zeros (``1000.0``) or, for a key written otherwise, nothing (``1000`` for
    "1e3"); as encoders write large or small numbers, its first digit, a dot, its
    other digits and an exponent (``1.2345E4``); a fraction's plain decimal with more
    zeros (``12.50``) or, for a key written otherwise, as it is. A number written
    otherwise still (``12.345e3``, by hand) is not looked for. Each look starts with
    fixed text, found at memory speed; text found so is parsed, and only a number
    equal to ``value`` masked (:func:`same_number`).
    """
    digits = "".join(map(str, value.as_tuple().digits)).rstrip("0")
    if len(digits) > MAX_NUMBER_DIGITS or not value.is_finite():
        return None
    # The first significant character a number of this value shows (see same_number).
    leads = (digits[0],) if digits else ("", "e", "E")
    digits = digits or "0"
    integer_otherwise = False  # an integer key written otherwise ("1e+16")
    looks, probes = [], set()
    exponent = r"0*(?:\.0*)?[eE]"  # d, zeros, maybe a dot and zeros, an exponent
    if abs(value.adjusted()) > _MAX_PLAIN_DIGITS:
        looks.append(re.escape(digits) + exponent)
    elif int(value) == value:
        plain = str(abs(int(value)))
        integer_otherwise = str(int(value)) != key
        zeros = len(plain) - len(digits.lstrip("0") or "0")
        alone = r"|(?![0-9.eE])" if integer_otherwise else ""
        looks.append(f"{re.escape(digits)}(?:{exponent}|0{{{zeros}}}(?:\\.0{alone}))")
    else:
        plain = format(abs(value), "f")
        looks.append(re.escape(digits) + exponent)
        probes.add(plain + "0")
        if format(value, "f") != key:
            probes.add(plain)
    if len(digits) > 1:
        looks.append(re.escape(f"{digits[0]}.{digits[1:]}") + "0*[eE]")
    probes.discard(key)
    return NumberLooks(value, leads, tuple(sorted(probes)),
                       tuple(re.compile(look) for look in looks), integer_otherwise)


def number_in(text: str, looks: tuple[re.Pattern[str], ...], probes: tuple[str, ...]
              ) -> bool:
    """Whether ``text`` may hold a JSON number of a key's value written otherwise: one of
    its ``looks`` or ``probes`` (see :func:`number_looks`)."""
    for look in looks:
        for found in look.finditer(text):
            at = found.start()
            # (Not inside a word or another number: the "1e" of an id "a1e4".)
            if at == 0 or text[at - 1] not in _NOT_BEFORE_NUMBER:
                return True
    return any(probe in text for probe in probes)


def same_number(literal: str, key: str, value: Optional[Decimal], leads: tuple[str, ...]
                ) -> bool:
    """Whether the JSON number ``literal`` is the ``key``: as written, or of its ``value``
    (None: the key is no number looked for by value; ``leads``: see :func:`number_looks`)."""
    if literal == key:
        return True
    if value is None or literal.lstrip("-0.")[:1] not in leads:
        return False
    try:
        return Decimal(literal) == value
    except ArithmeticError:  # an exponent no Decimal holds, or no number (cut short)
        return False


def masked_bare_numbers(text: str, masked: str, same: Callable[[str], bool]) -> str:
    """A JSON ``text`` the parser could not read (cut short) with each number that is the
    key (``same``) as ``masked``, a JSON string: a value after ``:``, ``[`` or ``,``,
    ended by ``,``, ``]``, ``}`` or the text's end (a number cut there may have been
    longer: masked all the same)."""
    return _BARE_NUMBER.sub(
        lambda found: found[1] + masked if same(found[2]) else found[0], text)
