"""A run of base64 holding the caller's key's spelling, written again with the key's bytes
masked: decoded from the start that yields them (and again, for a run glued from pieces
encoded apart: secrets21), encoded again as it was written (alphabet, padding, what
stands before the key), wrapped as it was, and spliced back into its text; each such run
of a text, as written or percent-encoded (:func:`masked_runs`, one loop for both since
secrets23). Pure functions of the run, the key and its mask; moved from
:mod:`readme_metrics.har.key_base64`, as is.
"""

from __future__ import annotations

import binascii
import re
from base64 import b64decode, b64encode
from typing import Callable, Iterable, Optional, Sequence
from urllib.parse import unquote

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har.key_base64_segments import masked_segments, path_cuts, path_span
from readme_metrics.har.key_base64_spellings import BREAK, TO_URLSAFE, aligned_spellings
from readme_metrics.masking import utf8

__all__ = ["decoded_masked", "key_left", "masked_run", "masked_runs", "padded", "rewrapped",
           "spliced", "unglued", "unglued_spans"]


def masked_runs(text: str, key: str, runs: Iterable[re.Match[str]], needles: Sequence[str],
                read: Callable[[str], str], written: Callable[[str, bool], Optional[str]],
                unread: Callable[[str], str], quoted: str, url: bool) -> str:
    """``text`` with each of its ``runs`` of base64 that holds one of the key's spellings
    (``needles``) written again masked; ``text`` itself when none does. A run holding a
    "%" is taken as ``read`` takes it (percent-decoded), another as written. A run is
    ``written`` again whole (``exact`` False), or ``unread(run)`` when it does not decode
    so; in a URL's path (``url``), by its segments
    (:func:`~readme_metrics.har.key_base64_segments.masked_segments`, ``quoted`` the
    mask as written there); and a span from which a reader still decodes the key with
    the base64 characters around it (in a URL; in any text, those of the span before it
    as now written) is ``quoted`` (:func:`unglued_spans`). The loop of
    :func:`~readme_metrics.har.key_base64.masked_base64_runs` (runs as written) and
    :func:`~readme_metrics.har.key_base64_percent.masked_encoded_runs` (runs
    percent-encoded), which differ in these arguments alone."""
    spans: list[tuple[int, int, str]] = []
    path = path_span(text) if url else (0, 0)
    for run in runs:
        found = run.group(0)
        flat = read(found) if "%" in found else found
        for needle in needles:  # (no generator: a body's every word is a run)
            if needle in flat:
                break
        else:
            continue
        cuts = path_cuts(found, run.start(), path)
        if cuts:
            spans += masked_segments(found, run.start(), cuts, needles, written, quoted, read,
                                     key)
        else:
            whole = written(found, False)
            spans.append((run.start(), run.end(), unread(found) if whole is None else whole))
    if spans:
        # (In a body too: a run made the mask, "...?5f4g", no longer padded, glued to
        # the next one's first copy, "XFyZG1l...", keyleak1.)
        spans = unglued_spans(text, spans, key, quoted, read)
    return spliced(text, spans)


def spliced(text: str, spans: list[tuple[int, int, str]]) -> str:
    """``text`` with each of the ``spans`` (start, end, what is written there: in order,
    apart) written instead; ``text`` itself when there is none."""
    if not spans:
        return text
    out: list[str] = []
    kept = 0
    for start, end, written in spans:
        out += [text[kept:start], written]
        kept = end
    out.append(text[kept:])
    return "".join(out)


# A run of base64 (either alphabet) in a span's reading (key_left reads one run).
_BASE64_RUN = lazy_compile(r"[A-Za-z0-9+/\-_]+")
# A character of base64 (either alphabet) as a reader of the text as written takes it.
_BASE64_CHARACTERS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_")


def unglued(text: str, span: tuple[int, int, str], key: str, mask: str,
            read: Callable[[str], str]) -> tuple[int, int, str]:
    """A ``span`` of a URL (start, end, what is written there) as :func:`spliced` takes
    it, or, when a reader of the URL as written still decodes the ``key`` from what is
    written there (as ``read`` takes it: percent-decoded) glued to the base64
    characters around it, ``mask`` (the mask as written there) instead. Before it: a
    percent escape's hex digits, "%3DAByZ...", or the path's "/", "v1/HJkb...",
    "v1/%41%42%79...": a group of four of the key's base64 starting there, which a run
    read from after them cannot mask (house6, secrets22). After it: the path's "/"
    ending a copy's last group, "...NWY0Z/AA" (secrets22). Within it: a copy kept
    after an escape written there ("%252ByZG1l...", keyleak1), read as written or
    decoded once."""
    start, end, written = span
    head, tail = start, end
    while head > start - 3 and head > 0 and text[head - 1] in _BASE64_CHARACTERS:
        head -= 1
    while tail < end + 3 and tail < len(text) and text[tail] in _BASE64_CHARACTERS:
        tail += 1
    if (head < start or tail > end) and key_left(
            text[head:start] + read(written) + text[end:tail], key):
        return start, end, mask
    # Its escapes read as written, or decoded once: an escape's hex digits before a copy
    # (a "+" written "%2B" or "%252B" before "yZG1l...", the "B" its first bits; a JSON
    # string's "\\u002ByZG1l%0A...", keyleak2), its line breaks out.
    if ("%" in written or "\\" in written) and any(
            key_left(piece, key) for each in _escapes_as_written(written)
            for piece in _BASE64_RUN.findall(text[head:start] + each + text[end:tail])):
        return start, end, mask
    return span


def _escapes_as_written(written: str) -> set[str]:
    """What a reader not reading all of its escapes may take a span's ``written`` for:
    its percent escapes as written or decoded once, its JSON escapes as written, each
    with its line breaks out too."""
    forms = {written, unquote(written)} if "%" in written else {written}
    return forms | {BREAK.sub("", each) for each in forms}


def unglued_spans(text: str, spans: list[tuple[int, int, str]], key: str, mask: str,
                  read: Callable[[str], str]) -> list[tuple[int, int, str]]:
    """The ``spans`` of a URL (in order, apart), each :func:`unglued`, and one whose
    group of four may start in what the span before it is now written as (it ends
    fewer than three characters before it) the ``mask`` when a reader of the URL as
    written decodes the ``key`` there: a run masked wrote its padding no longer
    ("...Zuk%3D" became "...ZWbp"), and its last character, glued to the next run, gave
    that run's first copy the key's first bits (keyleak1: ``v1/v2/%73%5A...%79%5A%47``,
    a run percent-encoded whose first copy starts on a group's last character)."""
    out: list[tuple[int, int, str]] = []
    for span in spans:
        start, end, written = unglued(text, span, key, mask, read)
        if out and written != mask and start - out[-1][1] < 3:
            lead = out[-1][2][-3:] + text[out[-1][1]:start]
            head = len(lead)
            while head > len(lead) - 3 and head > 0 and lead[head - 1] in _BASE64_CHARACTERS:
                head -= 1
            tail = end
            while tail < end + 3 and tail < len(text) and text[tail] in _BASE64_CHARACTERS:
                tail += 1
            if head < len(lead) and key_left(lead[head:] + read(written) + text[end:tail], key):
                written = mask
        out.append((start, end, written))
    return out


def masked_run(run: str, key: str, masked: str, url: bool) -> str:
    """One run of base64 holding the key's spelling, with its bytes masked (see
    :func:`~readme_metrics.har.key_base64.masked_base64_runs`); in the URL-safe alphabet
    when it is written so, or is in a URL and holds neither "+" nor "/". ``masked``
    itself when it does not decode so."""
    written = padded(run, decoded_masked(run, key, masked, url))
    return masked if written is None else written


def decoded_masked(run: str, key: str, masked: str, url: bool,
                   exact: bool = False) -> Optional[str]:
    """:func:`masked_run`, None when the run does not decode to the key's bytes (or,
    ``exact``, is not what encoding them writes: a piece of a longer run cut short,
    bits of the next character left over). A run glued from pieces encoded apart holds
    the key's base64 at other places in a group of four than the start decoded, or
    before it (secrets21: a run holding it twice, at two places in a group, kept the
    first in clear): the text written is decoded again from the first start where the
    key is left (its last character past a group kept as written). That masks the key
    at its place in a group from there on, and leaves none before it; what follows a
    mask stays at its place (a mask is whole bytes): four passes at most."""
    body = run.rstrip("=")
    written = _decoded_from_a_start(body, key, masked, url, exact, len(body) != len(run))
    for _ in range(4):
        if written is None or not key_left(written, key):
            break
        written = _decoded_from_a_start(written.rstrip("="), key, masked, url, False,
                                        written.endswith("="), lax=True)
    return written


def padded(run: str, written: Optional[str]) -> Optional[str]:
    """``written`` (the run of base64 ``run`` written again masked, or None) ending in
    the padding ``run`` was written with where encoding again wrote none (whole groups:
    the ``=`` superfluous, a piece cut and glued). The padding parts the run from what
    follows (keyleak2: "...NWY0Z%3D%2B..." in a body, a copy cut before its last
    character, written again "...NWY0Z%2B...": the next run's "+" completed it)."""
    if written is None or not run.endswith("=") or written.endswith("="):
        return written
    return written + run[len(run.rstrip("=")):]


def key_left(text: str, key: str) -> bool:
    """Whether a reader decoding the run of base64 ``text`` from some start reads the
    ``key``'s bytes: where a spelling of them stands, the characters of its groups of
    four are decoded (in either alphabet), no more."""
    spelled = utf8(key)
    length = -(-8 * (len(spelled) + 3) // 6)  # the longest lead's groups
    for needle, first in aligned_spellings(key):
        at = text.find(needle)
        while at >= 0:
            start = at - first
            if start >= 0:
                window = text[start:start + length].rstrip("=").replace(
                    "-", "+").replace("_", "/")
                window = window[:len(window) - (len(window) % 4 == 1)]
                try:
                    data = b64decode(window + "=" * (-len(window) % 4), validate=True)
                except (binascii.Error, ValueError):
                    data = b""
                if spelled in data:
                    return True
            at = text.find(needle, at + 1)
    return False


def _decoded_from_a_start(body: str, key: str, masked: str, url: bool, exact: bool,
                          padded: bool, lax: bool = False) -> Optional[str]:
    """The run ``body`` (its padding taken off: ``padded``) decoded from the first start
    of the key's spellings in it that yields the key's bytes, those masked and written
    again, what stands before it as it was; None when none does. ``lax``: the first
    start first, and a last character past a group (no byte of its own) kept as
    written, not a failure."""
    spelled = utf8(key)
    starts = []
    for needle, first in aligned_spellings(key):
        at = body.find(needle)
        while at >= 0:
            if at >= first:
                starts.append(at - first)
            at = body.find(needle, at + 1)
    # A start that fails for want of the key's bytes (or of a length base64 can have,
    # or, ``exact``, of its own encoding) fails at each start after it in its place in
    # a group of four: what that decodes is the end of what it decoded. Not decoded
    # again: a run repeating a spelling of the key, cut one character past a group,
    # was decoded from each start (0.11 s for 64 KiB, 1.8 s for 256 KiB; redos1).
    failed: dict[int, int] = {}  # a place in a group of four -> its first failed start
    for skip in dict.fromkeys([*(sorted(starts) if lax else starts), 0, 1, 2, 3]):
        if skip >= failed.get(skip % 4, len(body) + 1):
            continue
        data_text = body[skip:]
        tail = ""
        if lax and len(data_text) % 4 == 1:
            data_text, tail = data_text[:-1], data_text[-1]
        urlsafe = "-" in data_text or "_" in data_text or url and not (
            "+" in data_text or "/" in data_text)
        if urlsafe:
            data_text = data_text.replace("-", "+").replace("_", "/")
        if len(data_text) % 4 == 1:  # (no base64: b64decode's error)
            failed[skip % 4] = min(skip, failed.get(skip % 4, skip))
            continue
        try:
            data = b64decode(data_text + "=" * (-len(data_text) % 4), validate=True)
        except (binascii.Error, ValueError):
            continue
        if spelled not in data or exact and (
                b64encode(data).decode("ascii").rstrip("=") != data_text):
            failed[skip % 4] = min(skip, failed.get(skip % 4, skip))
            continue
        encoded = b64encode(data.replace(spelled, utf8(masked))).decode("ascii")
        if urlsafe:
            encoded = encoded.translate(TO_URLSAFE)
        if not padded or tail:
            encoded = encoded.rstrip("=")
        return body[:skip] + encoded + tail
    return None


def rewrapped(written: str, lines: list[str], newline: str) -> str:
    """``written`` (a run read from ``lines``) wrapped as they were, with ``newline``:
    its first line as long, the next ones at the longest line's width."""
    first, width = len(lines[0]), max(len(line) for line in lines[:-1])
    return newline.join([written[:first]] + [
        written[at:at + width] for at in range(first, len(written), width)])
