"""Verify that a webhook call really comes from ReadMe (SPEC section 6).

ReadMe signs each webhook call with the project's API key (the webhook secret) and sends
``readme-signature: t=<unix ms>,v0=<hex HMAC-SHA256 of "<t>.<body>">``. Verification
needs the body exactly as it was signed, so the raw request bytes are the right input.
Code ported from the official package passes the parsed JSON instead; that works as long
as it serialises back to the same text, which this module does the way JavaScript's
``JSON.stringify`` does (compact separators, non-ASCII characters left unescaped, numbers
as JavaScript's doubles print, array-index keys first), also for a dict built in Python.

.. code-block:: python

    from readme_metrics.webhooks import VerificationError, VerifyWebhook

    try:
        VerifyWebhook(request.get_data(), request.headers.get("readme-signature"), secret)
    except VerificationError as error:
        return {"error": str(error)}, 401
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import time
from typing import Any, Optional, TypeVar, Union

__all__ = ["EXPIRY_SECONDS", "VerificationError", "VerifyWebhook"]

# ReadMe's documented window: older signatures are refused, which bounds replay attacks.
EXPIRY_SECONDS = 30 * 60

Body = TypeVar("Body")

_DIGITS = re.compile(r"[0-9]{1,20}")
# JavaScript numbers are doubles: an integer past 2**53 is rounded to one (and printed as
# one: 1e+21), an integer past the largest double is Infinity, which JSON.stringify
# writes as null.
_MAX_EXACT_INT = 2**53
# Object keys that are array indices (canonical integers below 2**32 - 1) come first in
# a JavaScript object, in ascending order, whatever order they were added in.
_MAX_ARRAY_INDEX = 2**32 - 2
_INDEX_KEY = re.compile(r"0|[1-9][0-9]{0,9}")
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


class VerificationError(Exception):
    """The webhook signature is missing, expired or invalid; ``str(error)`` says which."""


def _js_number(value: float) -> str:
    """Format a float as JavaScript's Number.prototype.toString does.

    Both languages print the shortest digits that round-trip, so only the layout differs:
    JavaScript writes 1.0 as "1", 1e-05 as "0.00001" and uses "e+"/"e-" exponents only
    below 1e-6 and from 1e21 on.
    """
    if value != value or value in (math.inf, -math.inf):
        return "null"  # JSON.stringify(NaN) and Infinity
    if value == 0:
        return "0"  # -0 too
    sign = "-" if value < 0 else ""
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    all_digits = whole + fraction
    digits = all_digits.lstrip("0")
    # n: where the decimal point sits relative to the first significant digit.
    n = len(whole) + int(exponent or 0) - (len(all_digits) - len(digits))
    digits = digits.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        power = n - 1
        head = digits[0] + ("." + digits[1:] if k > 1 else "")
        text = f"{head}e{'+' if power > 0 else '-'}{abs(power)}"
    return sign + text


def _js_string(text: str) -> str:
    # Well-formed JSON.stringify escapes lone surrogates as lower-case \uXXXX; Python
    # would keep them raw and then fail to encode them as UTF-8.
    return _LONE_SURROGATE.sub(
        lambda found: f"\\u{ord(found.group()):04x}", json.dumps(text, ensure_ascii=False)
    )


def _stringify(value: Any) -> str:
    """``JSON.stringify(value)`` for parsed JSON: compact, non-ASCII unescaped."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _js_string(value)
    if isinstance(value, int):
        return _js_integer(value)
    if isinstance(value, float):
        return _js_number(value)
    if isinstance(value, dict):
        members = [(key if isinstance(key, str) else _stringify(key).strip('"'), item)
                   for key, item in value.items()]
        return "{" + ",".join(
            _js_string(key) + ":" + _stringify(item) for key, item in _js_key_order(members)
        ) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_stringify(item) for item in value) + "]"
    raise TypeError(f"cannot serialise {type(value).__name__} as JSON")


def _js_integer(value: int) -> str:
    """An integer as the JavaScript number it would be (a double)."""
    if -_MAX_EXACT_INT <= value <= _MAX_EXACT_INT:
        return str(value)
    try:
        return _js_number(float(value))
    except OverflowError:
        return "null"


def _array_index(key: str) -> Optional[int]:
    """``key`` as an array index (a canonical integer below 2**32 - 1), else None."""
    if _INDEX_KEY.fullmatch(key) is None:
        return None
    index = int(key)
    return index if index <= _MAX_ARRAY_INDEX else None


def _js_key_order(members: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """Object members in JavaScript's order: array-index keys ascending, then the rest
    in insertion order (a dict parsed from ReadMe's text is in that order already)."""
    indexed = [(_array_index(key), key, item) for key, item in members]
    first = [(index, key, item) for index, key, item in indexed if index is not None]
    if not first:
        return members
    first.sort(key=lambda member: member[0])
    return ([(key, item) for _, key, item in first]
            + [(key, item) for index, key, item in indexed if index is None])


def _signed_bytes(body: Any) -> bytes:
    """The body as ReadMe signed it: raw bytes/str unchanged, anything else as JSON."""
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8", "surrogatepass")
    return _stringify(body).encode("utf-8")


def _parse(signature: str) -> tuple[int, list[str]]:
    """Split ``t=...,v0=...[,v0=...]``; raise ValueError when the header is malformed."""
    timestamp: Optional[int] = None
    candidates: list[str] = []
    for part in signature.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            continue
        name, value = name.strip(), value.strip()
        if name == "t":
            # Digits only: int() would also take "+1", "1_000" or non-ASCII digits.
            if not _DIGITS.fullmatch(value):
                raise ValueError("bad timestamp")
            timestamp = int(value)
        elif name == "v0" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise ValueError("incomplete signature")
    return timestamp, candidates


def _keys(secret: Any) -> tuple[bytes, ...]:
    """The HMAC keys: the secret as given, then (if it differs) without the blanks around
    it. A missing or blank secret is a programming error, never a verification result.

    Without this check ``None`` would become the key ``b"None"`` and ``""`` the empty key,
    both of which anyone can sign with; ``" "`` or a lone line break is no key either.
    The stripped key: ``README_API_KEY`` read from a secrets file keeps its line break
    (``MetricsApiConfig`` strips it), and ReadMe signs with the key itself: every call
    was "Invalid Signature" (newcomer31). The key as given still verifies too.
    """
    if isinstance(secret, (bytes, bytearray)):
        key = bytes(secret)
    elif isinstance(secret, str):
        key = secret.encode("utf-8", "surrogatepass")
    elif secret is None:
        key = b""
    else:
        raise TypeError(
            "readme_metrics: VerifyWebhook's secret must be a str or bytes (the project's "
            f"API key), got {type(secret).__name__}"
        )
    stripped = key.strip()
    if not stripped:
        raise ValueError(
            "readme_metrics: VerifyWebhook needs the webhook secret (the project's API "
            "key); it got " + ("None" if secret is None else "an empty secret" if not key
                               else "a blank secret")
        )
    return (key,) if stripped == key else (key, stripped)


def _signature_text(signature: Any) -> Optional[str]:
    """The header as text: bytes are decoded (ASCII), anything else not text is None."""
    if isinstance(signature, str):
        return signature
    if isinstance(signature, (bytes, bytearray)):
        try:
            return bytes(signature).decode("ascii")
        except UnicodeDecodeError:
            return None
    return None


def VerifyWebhook(  # noqa: N802 - the official package's public name
    body: Body,
    signature: Union[str, bytes, None],
    secret: Union[str, bytes],
) -> Body:
    """Check ReadMe's ``readme-signature`` header for ``body``; return ``body`` if valid.

    ``body`` is the raw request body (bytes or str, preferred because it is exact) or the
    parsed JSON (serialised like ``JSON.stringify``). ``signature`` is the header value,
    as str or bytes. ``secret`` is the project's API key (with blanks around it, as a
    secrets file's line break, it is also tried without them: ReadMe signs with the key).
    Raises :class:`VerificationError` with "Missing Signature", "Expired Signature"
    (outside the 30 minute window, in either direction so a future timestamp cannot be
    replayed for longer) or "Invalid Signature" (malformed header or no matching ``v0``).
    A missing, empty or blank ``secret`` raises ``ValueError`` (a secret that is neither str nor
    bytes ``TypeError``) before the signature is looked at: it is a bug in the caller,
    not a bad request, and must not be mistaken for one.
    """
    keys = _keys(secret)
    if signature is None or (isinstance(signature, (str, bytes, bytearray)) and not signature):
        raise VerificationError("Missing Signature")
    text = _signature_text(signature)
    if text is None:
        raise VerificationError("Invalid Signature")
    try:
        timestamp, candidates = _parse(text)
    except ValueError:
        raise VerificationError("Invalid Signature") from None

    if abs(time.time() * 1000 - timestamp) > EXPIRY_SECONDS * 1000:
        raise VerificationError("Expired Signature")

    try:
        unsigned = str(timestamp).encode("ascii") + b"." + _signed_bytes(body)
    except (TypeError, ValueError, RecursionError):
        # Not something ReadMe could have signed (e.g. a set or an object).
        raise VerificationError("Invalid Signature") from None
    expected = [hmac.new(key, unsigned, hashlib.sha256).hexdigest().encode("ascii")
                for key in keys]
    # Compare against every v0 (ReadMe may send several during key rotation), with every
    # key, without stopping early, so timing says nothing about which one matched.
    matched = False
    for candidate in candidates:
        given = candidate.lower().encode("ascii", "replace")
        for digest in expected:
            matched |= hmac.compare_digest(digest, given)
    if not matched:
        raise VerificationError("Invalid Signature")
    return body
