"""The caller's key base64-encoded inside a text: a JSON string or a text body holding
``base64("user:" + key)`` (a Basic credential a client sends in a field, an echo of its
Authorization header), in the standard or the URL-safe alphabet, padded or not. Wherever
the key's bytes stand in the encoded data, the characters that spell them are known but
for their alignment (three) and the alphabet (two): six texts, looked for with ``str``
searches (:mod:`readme_metrics.har.key_base64_spellings`). A run of base64 holding one
is decoded, its key bytes become its mask's, and it is encoded again as it was written
(:mod:`readme_metrics.har.key_base64_run`); in a URL's path, by its segments
(:mod:`readme_metrics.har.key_base64_segments`); wrapped or JSON-escaped
(:mod:`readme_metrics.har.key_base64_wrapped`); percent-encoded
(:mod:`readme_metrics.har.key_base64_percent`). A pure function of the text, the key and
its mask.
"""

from __future__ import annotations

import re
from functools import lru_cache, partial
from typing import Optional
from urllib.parse import quote, unquote

from readme_metrics.har.key_base64_percent import (
    masked_encoded_runs,
    masked_percent,
    splitting_escape_in,
)
from readme_metrics.har.key_base64_run import decoded_masked, masked_runs, padded
from readme_metrics.har.key_base64_spellings import base64_probe, base64_spellings, escape_in
from readme_metrics.har.key_base64_wrapped import masked_broken_runs
from readme_metrics.har.text import PROBED_TEXT, rarest

__all__ = ["masked_base64_runs"]

# A run of base64 in either alphabet, its padding included.
_RUN = re.compile(r"[A-Za-z0-9+/\-_]+=*")
# The same in a URL or a form, not starting inside a percent escape (%2B).
_URL_RUN = re.compile(r"(?<!%)(?<!%[0-9A-Fa-f])[A-Za-z0-9+/\-_]+=*")


@lru_cache(maxsize=64)
def _probed(key: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Each of the key's base64 spellings with its rarest characters: a long text lacking
    one of them is passed by at memchr speed (bench.py's 100 KB answer, callgrind: the 3
    searches cost 62k instructions, the probes 4 scans of one character, 3 of them
    the same, looked for once: see masked_base64_runs)."""
    return tuple((needle, rarest(needle)) for needle in base64_spellings(key))


def masked_base64_runs(text: str, key: str, masked: str, url: bool = False,
                       backslash: Optional[bool] = None, percent: bool = False) -> str:
    """``text`` with each run of base64 spelling the (long) ``key``'s bytes written
    again with ``masked``'s bytes there, from the group of four where the key's bytes
    start (what stands before it, a word glued to it or a path, as it was); a run that
    does not decode so becomes ``masked`` itself. ``text`` itself when none does.
    ``url``: ``text`` is a URL (or a form): a run does not start inside a percent escape,
    and what is written is percent-encoded ("+", "=" and a mask's "?"). ``backslash``:
    whether ``text`` holds one, when the caller knows (a scan of a large body shared).
    ``percent``: a spelling percent-encoded is masked too
    (:func:`~readme_metrics.har.key_base64_percent.masked_encoded_runs`; a body's text),
    looked for only where the probes leave it possible (a "+" or "/" of a spelling
    missing, or an escape a spelling so written needs: no scan of a text lacking the
    others)."""
    if len(text) >= PROBED_TEXT:
        # Each probe character looked for once (the spellings share some: a scan of
        # 100 KB is ~12k instructions, callgrind).
        shared = base64_probe(key)
        if shared and shared not in text and not (
                (("\\" in text) if backslash is None else backslash)
                and escape_in(text, shared)):
            if percent and "%" in text and (  # (percent-encoded: %2B/%2F, or "%58")
                    shared in "+/" or splitting_escape_in(text, key)):
                return masked_percent(text, key, masked)
            return text
        held: dict[str, bool] = {shared: True}
        needles = []
        # Whether a spelling may be there broken (wrapped, or a character escaped):
        # none is when each lacks a probe character, wrapping adds none, and JSON
        # encoders escape only "+" (.NET) and "/" (PHP) of base64's; a text escaping
        # every character ("\u0041") holds a backslash, looked for only then (once, if
        # the caller did not say). (A text lacking them is spared the scans for a line
        # break and a backslash: 24k instructions for bench.py's 100 KB answer.)
        broken = False
        for needle, probe in _probed(key):
            for character in probe:
                if character not in held:
                    held[character] = character in text
                if not held[character]:
                    if not broken:
                        if character in "+/":
                            broken = True
                        else:
                            if backslash is None:
                                backslash = "\\" in text
                            broken = backslash and escape_in(text, character)
                    break
            else:
                if needle in text:
                    needles.append(needle)
                else:
                    broken = True
    else:
        # (A loop: most texts hold none, and a comprehension is a call of its own.)
        needles = []
        broken = True
        for needle in base64_spellings(key):
            if needle in text:
                needles.append(needle)
    if not needles:
        # (No call for most texts: cpu29.) A long text escaping every character may hold
        # a probe character as an escape's digit ("%31") and lack another ("U" as
        # "%55"): asked for the escapes such a spelling needs (keyleak3).
        if percent and "%" in text and (broken or splitting_escape_in(text, key)):
            text = masked_percent(text, key, masked)
        if url or not broken or not ("\n" in text or "\\" in text):
            return text
        # Maybe wrapped across lines, or written with JSON's escapes.
        return masked_broken_runs(text, key, masked)
    mask = quote(masked, safe="-_/") if url else masked  # (the mask as written there)
    text = masked_runs(text, key, (_URL_RUN if url else _RUN).finditer(text), needles,
                       unquote, partial(_run_written, key, masked, url), lambda _: mask,
                       mask, url)
    if not url and broken and ("\n" in text or "\\" in text):
        # Another copy wrapped across lines or JSON-escaped (house6: one as written
        # was masked, one wrapped at 64 columns after it went out in clear).
        text = masked_broken_runs(text, key, masked)
    # A spelling found as written may go on percent-encoded (its last character's group
    # "...NWY0Z%2BA%3D", house6): looked for whole, past the gate of masked_percent.
    return masked_encoded_runs(text, key, masked) if percent and "%" in text else text


def _run_written(key: str, masked: str, url: bool, found: str, exact: bool) -> Optional[str]:
    """A run of base64 as written (or some of its segments in a URL's path) with the
    key's bytes masked, ``url``: percent-encoded ("+", "=" and a mask's "?"); None when it
    does not decode so."""
    written = padded(found, decoded_masked(found, key, masked, url, exact))
    if written is None or not url:
        return written
    return quote(written, safe="-_/")
