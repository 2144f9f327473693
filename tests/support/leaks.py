"""Find a secret in what the collector received, however it is spelled there.

A redaction test sends a value under a key the lists hide, then asks :func:`found` where
the posted batches still spell it: the raw bytes, and every JSON string (keys too, JSON
escapes decoded) read as is, percent-decoded once and twice, "+" as a space or not, in
any case.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any
from urllib.parse import quote, unquote, unquote_plus

__all__ = ["found", "found_spelled", "found_unmasked", "found_whole", "spelled_in_batches",
           "strings", "unmasked"]


def strings(value: Any) -> list[str]:
    """Every string (keys too) in a parsed JSON value."""
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in [key, *strings(item)]]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return [value] if isinstance(value, str) else []


def _spellings(text: str) -> set[str]:
    """``text`` lower-cased, and as it reads percent-decoded once and twice."""
    out = {text.lower()}
    for _ in range(2):
        out |= {d.lower() for spelled in list(out) for d in (unquote(spelled),
                                                             unquote_plus(spelled))}
    return out


def found(bodies: list[bytes], secret: str) -> list[str]:
    """Where the posted batches ``bodies`` spell ``secret``: "raw bytes" for a batch
    holding it as is, and each JSON string that spells it."""
    lowered = secret.lower()
    hits = ["raw bytes" for body in bodies if lowered.encode() in body.lower()]
    for body in bodies:
        hits += [s for s in strings(json.loads(body))
                 if any(lowered in spelled for spelled in _spellings(s))]
    return hits


# A base64 text, or the data of a data URL (a file part's value).
_BASE64 = re.compile(r"(?:^|;base64,)([A-Za-z0-9+/]{8,}={0,2})$")


def found_spelled(bodies: list[bytes], secret: str) -> list[str]:
    """:func:`found`, and each JSON string that spells the ASCII ``secret`` in a way a
    reader of the log still reads it: NUL-spaced (UTF-16/32 read as UTF-8), byte-swapped
    (UTF-16-BE read as little-endian: U+7000 for "p"), or inside base64 data (a data
    URL's, a binary body's), in any of those ways."""
    hits = found(bodies, secret)
    lowered = secret.lower().encode("ascii")
    for body in bodies:
        for text in strings(json.loads(body)):
            views = [text.encode(codec, "surrogatepass")
                     for codec in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le")]
            match = _BASE64.search(text)
            if match is not None:
                try:
                    views.append(base64.b64decode(match.group(1)))
                except (binascii.Error, ValueError):
                    pass
            if any(lowered in view.lower().replace(b"\0", b"") for view in views):
                hits.append(text)
    return hits


# What stands where a mask was taken out (see found_unmasked): in no key the tests use.
_GAP = "\x01"


def unmasked(bodies: list[bytes], masked: str) -> list[bytes]:
    """The posted batches ``bodies`` with every spelling of ``masked`` (a secret's mask,
    which ends with its last four characters: a short key in full) taken out."""
    spellings = {masked, quote(masked, safe=""), quote(quote(masked, safe=""), safe=""),
                 quote(masked, safe="").lower()}
    spellings |= {json.dumps(s, ensure_ascii=a)[1:-1] for s in set(spellings)
                  for a in (True, False)}
    cleared = []
    for body in bodies:
        text = body.decode("utf-8", "surrogatepass")
        for spelling in sorted(spellings, key=len, reverse=True):
            text = text.replace(spelling, _GAP)
        document = json.loads(text, strict=False)
        cleared.append(json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    return cleared


def found_unmasked(bodies: list[bytes], secret: str, masked: str) -> list[str]:
    """Each string value of the batches (``masked``, the secret's mask, taken out) that
    holds ``secret``, as is or percent-decoded once or twice ("+" as a space or not), in
    its case: where a long key, masked wherever it occurs, is still in clear. (Values
    only: the log's member names are its own structure, not data.)"""
    return _hits(bodies, secret, masked, whole=False)


# A mask (readme_metrics.masking.mask) and the last four characters it shows.
_ANY_MASK = re.compile(r"sha512-[A-Za-z0-9+/]{86}==\?.{0,4}", re.DOTALL)
# What separates the parts of a url, a query, a form, a cookie list or a JSON text.
_SEPARATORS = re.compile(r"[/?&=#;:,\s\"{}\[\]\\]+")


def found_whole(bodies: list[bytes], secret: str, masked: str) -> list[str]:
    """:func:`found_unmasked` for ``secret`` as a whole part of a value (between
    separators), any mask's last four characters taken out too: where a short key,
    masked only where it stands whole, is still in clear."""
    return _hits(bodies, secret, masked, whole=True)


def _hits(bodies: list[bytes], secret: str, masked: str, whole: bool) -> list[str]:
    hits = []
    for body in unmasked(bodies, masked):
        for text in _values(json.loads(body)):
            # Any mask's last four characters are SPEC 4's to show (a Cookie header's
            # mask ends with its last cookie's), as group.id shows a short key whole.
            forms = {_ANY_MASK.sub(_GAP, text)} if whole else {text}
            forms |= set(_json_strings(text))  # a JSON body's, escapes decoded
            for _ in range(2):
                forms |= {d for spelled in list(forms)
                          for d in (unquote(spelled), unquote_plus(spelled))}
            if whole:
                forms = {_ANY_MASK.sub(_GAP, form) for form in forms}
                if any(secret == part for form in forms for part in _SEPARATORS.split(form)):
                    hits.append(text)
            elif any(secret in form for form in forms):
                hits.append(text)
    return hits


def _values(value: Any) -> list[str]:
    """Every string value (not member names) in a parsed JSON value."""
    if isinstance(value, dict):
        return [s for item in value.values() for s in _values(item)]
    if isinstance(value, list):
        return [s for item in value for s in _values(item)]
    return [value] if isinstance(value, str) else []


def _json_strings(text: str) -> list[str]:
    """The strings (member names too: data in a body) of ``text`` read as JSON, if it is."""
    try:
        return strings(json.loads(text))
    except (ValueError, RecursionError):
        return []


def spelled_in_batches(collector: Any, middleware: Any, body: bytes, content_type: str,
                       secret: str) -> tuple[list[str], dict[str, Any]]:
    """One POST of ``body`` through ``middleware`` (to the test's ``collector``): where
    the batches it posted still spell ``secret`` (:func:`found_spelled`), and the logged
    postData."""
    from tests.support.contract import exchange

    before = len(collector.received)
    _, _, entry = exchange(middleware, collector, method="POST", body=body,
                           headers={"Content-Type": content_type})
    bodies = [r.body for r in collector.received[before:] if r.path == "/v1/request"]
    return found_spelled(bodies, secret), entry["request"]["postData"]
