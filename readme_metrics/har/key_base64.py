"""The caller's key base64-encoded inside a text: a JSON string or a text body holding
``base64("user:" + key)`` (a Basic credential a client sends in a field, an echo of its
Authorization header), in the standard or the URL-safe alphabet, padded or not. Wherever
the key's bytes stand in the encoded data, the characters that spell them are known but
for their alignment (three) and the alphabet (two): six texts, looked for with ``str``
searches. A run of base64 holding one is decoded, its key bytes become its mask's, and it
is encoded again as it was written. A pure function of the text, the key and its mask.
"""

from __future__ import annotations

import binascii
import re
from base64 import b64decode, b64encode
from functools import lru_cache, partial
from os.path import commonprefix
from typing import Callable, Optional, Sequence
from urllib.parse import quote

from readme_metrics.har.percent import percent_decoded
from readme_metrics.har.text import PROBED_TEXT, rarest
from readme_metrics.masking import utf8

__all__ = ["base64_probe", "base64_spellings", "broken_spelling_in", "masked_base64_runs",
           "masked_encoded_runs", "masked_name_runs", "percent_spelled_in", "shortest_spelling",
           "spelled_in"]

_TO_URLSAFE = str.maketrans("+/", "-_")
# A run of base64 in either alphabet, its padding included.
_RUN = re.compile(r"[A-Za-z0-9+/\-_]+=*")
# The same in a URL or a form, not starting inside a percent escape (%2B).
_URL_RUN = re.compile(r"(?<!%)(?<!%[0-9A-Fa-f])[A-Za-z0-9+/\-_]+=*")
# A character of standard base64 escaped in a JSON string (.NET writes "+" as "\u002B",
# PHP "/" as "\/"), and a line break a reader takes out of wrapped base64 (MIME's 76
# columns, PEM's 64: CRLF or LF, as sent or as a JSON string's escapes).
_ESCAPE = r"\\u00(?:2[BbFf]|3[0-9]|[46][1-9A-Fa-f]|[57][0-9Aa])|\\/"
# The same in the URL-safe alphabet ("-" and "_" for "+" and "/"; JSON escapes neither,
# but a text escaping every character does: "\u002d").
_URLSAFE_ESCAPE = r"\\u00(?:2[Dd]|3[0-9]|[46][1-9A-Fa-f]|5[0-9AaFf]|7[0-9Aa])"
_ESCAPED = re.compile(rf"{_ESCAPE}|\\u00(?:2[Dd]|5[Ff])")
_BREAK = re.compile(r"\r?\n|\\r\\n|\\n|(?:\\u000[Dd])?\\u000[Aa]")


def _broken_run(characters: str, escape: str) -> re.Pattern[str]:
    """A run of base64 of ``characters`` so broken (its group 1): its characters (or
    ``escape`` s), lines of them. Not starting inside an escape: what follows an odd
    number of backslashes is an escape's (``\\n``, ``\\u0041``), no data; a run read
    from there and written again unescaped left a backslash before what it wrote
    (invalid JSON: ``\\A``). After an even number (escaped backslashes: ``\\\\``, a
    path's or a domain's separator) it is data: a run not starting there at all read
    the key's base64 one character late, and left it in clear (review75)."""
    character = f"(?:[{characters}]|{escape})"
    return re.compile(
        rf"(?<!\\)(?:\\\\)*({character}+(?:(?:{_BREAK.pattern})+{character}+)*=*)")


# A run of standard base64 so broken, and of URL-safe base64.
_BROKEN_RUN = _broken_run("A-Za-z0-9+/", _ESCAPE)
_BROKEN_URLSAFE_RUN = _broken_run(r"A-Za-z0-9\-_", _URLSAFE_ESCAPE)
# A run of base64 (either alphabet) percent-encoded in a URL, a query, a cookie: its
# characters maybe escaped (urlencode writes "+", "/" and "=" as %2B, %2F, %3D), lines
# of them (a wrapped value: %0D%0A, %0A), not starting inside an escape.
_ENCODED_CHARACTER = (r"(?:[A-Za-z0-9+/\-_]|%(?:2[BbDdFf]|3[0-9]|[46][1-9A-Fa-f]"
                      r"|5[0-9AaFf]|7[0-9Aa]))")
_ENCODED_RUN = re.compile(
    rf"(?<!%)(?<!%[0-9A-Fa-f]){_ENCODED_CHARACTER}+"
    rf"(?:(?:(?:%0[Dd])?%0[Aa])+{_ENCODED_CHARACTER}+)*(?:=|%3[Dd])*")
_ENCODED_BREAK = re.compile(r"\r?\n")
_ENCODED_TOKEN = re.compile(r"%[0-9A-Fa-f]{2}|[^%]")


@lru_cache(maxsize=64)
def _spellings(key: str) -> tuple[tuple[str, int], ...]:
    """The characters that spell the ``key``'s UTF-8 bytes in base64 data at each of the
    three alignments, in the standard and the URL-safe alphabet (those holding no bit of
    a byte before or after it), each with where it starts in its first group of four."""
    data = utf8(key)
    out = []
    for lead in range(3):
        encoded = b64encode(b"\0" * lead + data).decode("ascii")
        first = -(-8 * lead // 6)  # the first character holding none of the lead's bits
        last = 8 * (lead + len(data)) // 6  # past the last holding only the key's
        needle = encoded[first:last]
        out += [(needle, first), (needle.translate(_TO_URLSAFE), first)]
    return tuple(dict.fromkeys(out))


@lru_cache(maxsize=64)
def _needles(key: str) -> tuple[str, ...]:
    """The texts of :func:`_spellings`, each once."""
    return tuple(dict.fromkeys(needle for needle, _ in _spellings(key)))


@lru_cache(maxsize=64)
def _probed(key: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Each of :func:`_needles` with its rarest characters: a long text lacking one of
    them is passed by at memchr speed (bench.py's 100 KB answer, callgrind: the 3
    searches cost 62k instructions, the probes 4 scans of one character, 3 of them
    the same, looked for once: see masked_base64_runs)."""
    return tuple((needle, rarest(needle)) for needle in _needles(key))


@lru_cache(maxsize=64)
def _shared(key: str) -> str:
    """The rarest character every one of :func:`_needles` holds ("" if none): a long
    text lacking it holds none of them, passed by in one scan (bench.py's 100 KB answer
    took two, one per probe, each about 12k instructions)."""
    needles = _needles(key)
    common = set(needles[0]).intersection(*needles[1:]) if needles else set()
    return rarest("".join(sorted(common)), 1)[0] if common else ""


def base64_probe(key: str) -> str:
    """A character every one of :func:`base64_spellings` holds ("" if none): a text
    lacking it (and "%" and a backslash, which a broken one needs) holds none, one
    ``in`` for a short value (a function call costs more)."""
    return _shared(key)


def base64_spellings(key: str) -> tuple[str, ...]:
    """The texts spelling the ``key``'s bytes in base64 (each alignment and alphabet): a
    value holding none of them needs no :func:`masked_base64_runs`."""
    return _needles(key)


@lru_cache(maxsize=64)
def shortest_spelling(key: str) -> int:
    """The length of the shortest of :func:`base64_spellings`: a shorter value holds
    none (worked out once per key, not per log)."""
    return min([len(needle) for needle in _needles(key)])


@lru_cache(maxsize=64)
def _encoded_pieces(key: str) -> tuple[str, ...]:
    """For each of :func:`_needles` holding a "+" or a "/" (which percent-encoding writes
    %2B, %2F), its longest piece without them: a text lacking every one holds no
    spelling percent-encoded (one without them is the same written as is)."""
    pieces = [max(re.split(r"[+/]", needle), key=len)
              for needle in _needles(key) if "+" in needle or "/" in needle]
    return tuple(dict.fromkeys(pieces))


def percent_spelled_in(text: str, key: str) -> bool:
    """Whether ``text`` (holding a "%") may spell the (long) ``key``'s bytes in base64
    percent-encoded (a form's value quoted in a text body: ``Basic%20dXNl...%2B...``),
    as no search of it as written finds: a few ``in`` s, no decoding of the text."""
    for piece in _encoded_pieces(key):  # noqa: SIM110 (no generator: see scrub._holds)
        if piece in text:
            return True
    return False


@lru_cache(maxsize=64)
def _folded(key: str) -> tuple[str, ...]:
    """The texts of :func:`_spellings` as a header's name is compared (see
    :func:`masked_name_runs`): lower-cased, "-" for "_", each once."""
    return tuple(dict.fromkeys(needle.lower().replace("_", "-") for needle in _needles(key)))


# A run of base64 (either alphabet) in a header's name, its padding included.
_NAME_RUN = re.compile(r"[A-Za-z0-9+/\-_]+=*")


def masked_name_runs(name: str, key: str, masked: str) -> str:
    """A header's or a cookie's ``name`` with each run of base64 spelling the (long)
    ``key``'s bytes masked: written again with ``masked``'s bytes there as in a value
    (:func:`masked_base64_runs`, :func:`masked_encoded_runs`); in another case (as a
    server passes a request's names on: WSGI's title case and "-" for "_", ASGI's lower
    case), where it no longer decodes as written but is still read back by whoever
    tries the cases of each group of four, the run becomes ``masked``. ``name`` itself
    when none does."""
    if len(name) < shortest_spelling(key):
        return name
    name = masked_base64_runs(name, key, masked)
    if "%" in name:
        name = masked_encoded_runs(name, key, masked)
    lowered = name.lower().replace("_", "-")
    folded = _folded(key)
    for needle in folded:
        if needle in lowered:
            break
    else:
        return name
    return _NAME_RUN.sub(lambda run: masked if any(
        needle in run[0].lower().replace("_", "-") for needle in folded) else run[0], name)


def spelled_in(text: str, key: str) -> bool:
    """Whether ``text`` may spell the (long) ``key``'s bytes in base64: as written, or
    broken (:func:`broken_spelling_in`)."""
    for needle in _needles(key):
        if needle in text:
            return True
    return ("%" in text or "\n" in text or "\\" in text) and broken_spelling_in(text, key)


def masked_base64_runs(text: str, key: str, masked: str, url: bool = False,
                       backslash: Optional[bool] = None, percent: bool = False) -> str:
    """``text`` with each run of base64 spelling the (long) ``key``'s bytes written
    again with ``masked``'s bytes there, from the group of four where the key's bytes
    start (what stands before it, a word glued to it or a path, as it was); a run that
    does not decode so becomes ``masked`` itself. ``text`` itself when none does.
    ``url``: ``text`` is a URL (or a form): a run does not start inside a percent escape,
    and what is written is percent-encoded ("+", "=" and a mask's "?"). ``backslash``:
    whether ``text`` holds one, when the caller knows (a scan of a large body shared).
    ``percent``: a spelling percent-encoded is masked too (:func:`masked_encoded_runs`;
    a body's text), looked for only where the probes leave it possible (a "+" or "/"
    of a spelling missing: no scan of a text lacking the others)."""
    if len(text) >= PROBED_TEXT:
        # Each probe character looked for once (the spellings share some: a scan of
        # 100 KB is ~12k instructions, callgrind).
        shared = _shared(key)
        if shared and shared not in text and not (
                (("\\" in text) if backslash is None else backslash)
                and _escape_in(text, shared)):
            if percent and shared in "+/" and "%" in text:  # (percent-encoded, %2B/%2F)
                return _masked_percent(text, key, masked)
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
                            broken = backslash and _escape_in(text, character)
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
        for needle in _needles(key):
            if needle in text:
                needles.append(needle)
    if not needles:
        if percent and broken and "%" in text:  # (no call for most texts: cpu29)
            text = _masked_percent(text, key, masked)
        if url or not broken or not ("\n" in text or "\\" in text):
            return text
        # Maybe wrapped across lines, or written with JSON's escapes.
        return _masked_broken_runs(text, key, masked)
    spans = []
    path = _path(text) if url else (0, 0)
    for run in (_URL_RUN if url else _RUN).finditer(text):
        found = run.group(0)
        if not any(needle in found for needle in needles):
            continue
        cuts = _cuts(found, run.start(), path)
        if cuts:
            spans += _masked_segments(found, run.start(), cuts, needles,
                                      partial(_url_segment, key, masked),
                                      quote(masked, safe="-_/"))
        else:
            written = _masked_run(found, key, masked, url)
            if url:
                written = quote(written, safe="-_/")
            spans.append((run.start(), run.end(), written))
    text = _spliced(text, spans)
    return _masked_percent(text, key, masked) if percent and "%" in text else text


def _masked_percent(text: str, key: str, masked: str) -> str:
    """``text`` (a body's, holding a "%") with the ``key``'s base64 percent-encoded in it
    masked (:func:`masked_encoded_runs`), looked for only in a text holding a piece of
    such a spelling (:func:`percent_spelled_in`)."""
    if percent_spelled_in(text, key):
        return masked_encoded_runs(text, key, masked)
    return text


def _url_segment(key: str, masked: str, segment: str, exact: bool) -> Optional[str]:
    """A run of base64 in a URL (some of :func:`_masked_segments`'s segments) with the
    key's bytes masked, percent-encoded ("+", "=" and a mask's "?"); None when it does
    not decode so."""
    written = _decoded_masked(segment, key, masked, True, exact)
    return None if written is None else quote(written, safe="-_/")


# A URL's scheme and "://" (its authority follows).
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")


def _path(url: str) -> tuple[int, int]:
    """Where a URL's path stands in it (start, end): from the "/" after its authority
    (its userinfo too, when it has a password), or the first character of a relative
    one ("/files/..."), to its query or fragment; (0, 0) for a text that is no such URL
    (a header's other text: "s=...; Path=/")."""
    end = len(url)
    for mark in "?#":
        at = url.find(mark, 0, end)
        if at >= 0:
            end = at
    scheme = _SCHEME.match(url)
    if scheme is not None:
        authority = scheme.end()
        # Past a userinfo ("user:<base64>@host": a "/" in it is base64's).
        at = url.rfind("@", authority, end)
        if at >= 0 and ":" in url[authority:at]:
            authority = at + 1
        start = url.find("/", authority, end)
        return (start, end) if start >= 0 else (0, 0)
    return (0, end) if url[:1] == "/" else (0, 0)


def _cuts(run: str, at: int, path: tuple[int, int]) -> list[int]:
    """Where (in the ``run``, standing ``at`` in its text) a "/" is the ``path``'s, not
    base64's: within a URL's path a "/" separates its segments, as the server reads
    it (in its query, or a text that is no URL, it is base64's)."""
    start, end = path[0] - at, path[1] - at
    if end <= 0 or start >= len(run) or "/" not in run:
        return []
    cuts = []
    slash = run.find("/", max(start, 0), end)
    while slash >= 0:
        cuts.append(slash)
        slash = run.find("/", slash + 1, end)
    return cuts


def _masked_segments(run: str, at: int, cuts: list[int], needles: Sequence[str],
                     written: Callable[[str, bool], Optional[str]], fallback: str,
                     decoded: Callable[[str], str] = str) -> list[tuple[int, int, str]]:
    """The spans (in the text, the ``run`` standing ``at`` in it) to write a run of
    base64 in a URL's path again with, read as its segments (``cuts``: where a "/" of
    the path stands in it). The fewest segments holding a spelling (once ``decoded``)
    are tried first, then more around them, until ``written`` (what they are written
    as, masked; None if they do not decode so) reads some exactly, else some at all:
    the scheme, the host, the other segments and what follows are kept as they were
    (the whole run read as one became the mask, or its end decoded with the key was
    written again shifted: the endpoint gone from the log, review75). A run of base64
    with a "/" of its own there ("/p/<base64>", a route taking the rest of the path) is
    read whole when its piece cut at that "/" does not decode exactly; one that does
    (it ends on a whole group) is masked, the rest kept as written (no spelling left in
    it, but the run no longer decodes as one). None decoding, the fewest are
    ``fallback``."""
    bounds = []
    start = 0
    for cut in [*cuts, len(run)]:
        bounds.append((start, cut))
        start = cut + 1

    def holds(low: int, high: int) -> bool:
        text = decoded(run[bounds[low][0]:bounds[high][1]])
        for needle in needles:  # noqa: SIM110 (no generator: see scrub._holds)
            if needle in text:
                return True
        return False

    spans = []
    first, count = 0, len(bounds)
    while first < count:
        end = next((high for high in range(first, count) if holds(first, high)), None)
        if end is None:
            break
        begin = next(low for low in range(end, first - 1, -1) if holds(low, end))
        tried = sorted(((low, high) for low in range(first, begin + 1)
                        for high in range(end, count)),
                       key=lambda pair: (pair[1] - pair[0], -pair[0]))
        text = None
        for exact in (True, False):
            for low, high in tried:
                text = written(run[bounds[low][0]:bounds[high][1]], exact)
                if text is not None:
                    break
            if text is not None:
                break
        if text is None:
            low, high, text = begin, end, fallback
        spans.append((at + bounds[low][0], at + bounds[high][1], text))
        first = high + 1
    return spans


def _escape_in(text: str, character: str) -> bool:
    """Whether ``text`` writes ``character`` as a JSON escape (``\\u004B``, either
    case)."""
    escape = f"\\u{ord(character):04x}"
    return escape in text or escape.upper().replace("\\U", "\\u") in text


def _spliced(text: str, spans: list[tuple[int, int, str]]) -> str:
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


def _masked_run(run: str, key: str, masked: str, url: bool) -> str:
    """One run of base64 holding the key's spelling, with its bytes masked (see
    :func:`masked_base64_runs`); in the URL-safe alphabet when it is written so, or is
    in a URL and holds neither "+" nor "/". ``masked`` itself when it does not decode
    so."""
    written = _decoded_masked(run, key, masked, url)
    return masked if written is None else written


def _decoded_masked(run: str, key: str, masked: str, url: bool,
                    exact: bool = False) -> Optional[str]:
    """:func:`_masked_run`, None when the run does not decode to the key's bytes (or,
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
        if written is None or not _key_left(written, key):
            break
        written = _decoded_from_a_start(written.rstrip("="), key, masked, url, False,
                                        written.endswith("="), lax=True)
    return written


def _key_left(text: str, key: str) -> bool:
    """Whether a reader decoding the run of base64 ``text`` from some start reads the
    ``key``'s bytes: where a spelling of them stands, the characters of its groups of
    four are decoded (in either alphabet), no more."""
    spelled = utf8(key)
    length = -(-8 * (len(spelled) + 3) // 6)  # the longest lead's groups
    for needle, first in _spellings(key):
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
    for needle, first in _spellings(key):
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
            encoded = encoded.translate(_TO_URLSAFE)
        if not padded or tail:
            encoded = encoded.rstrip("=")
        return body[:skip] + encoded + tail
    return None


def _unbroken(text: str) -> str:
    """``text`` as a reader of wrapped base64 in a JSON string takes it: its line breaks
    out and the escapes of base64's characters read."""
    if "\\" in text:
        text = _ESCAPED.sub(_escaped_character, text)
    return _BREAK.sub("", text)


def _escaped_character(escape: re.Match[str]) -> str:
    written = escape.group(0)
    return "/" if written == "\\/" else chr(int(written[2:], 16))


def _masked_broken_runs(text: str, key: str, masked: str) -> str:
    """:func:`masked_base64_runs` for a ``text`` holding no spelling as written: one
    wrapped across lines or written with JSON's escapes (standard base64 only). A run
    so broken holding a spelling once read is written again masked, unescaped (as JSON
    reads it) and wrapped as it was: its first line as long, the next ones at the
    longest line's width, with its first line break."""
    flat = _unbroken(text)
    for needle in _needles(key):
        if needle in flat:
            break
    else:
        return text
    # A spelling holding "-" or "_" is URL-safe base64's (one holding neither is either
    # alphabet's: read as standard, as before).
    runs = _BROKEN_URLSAFE_RUN if "-" in needle or "_" in needle else _BROKEN_RUN
    spans = []
    for run in runs.finditer(text):
        found = run.group(1)
        lines = [_unbroken(line) for line in _BREAK.split(found)]
        whole = "".join(lines)
        if not any(needle in whole for needle in _needles(key)):
            continue
        written = _masked_run(whole, key, masked, False)
        if len(lines) > 1:
            newline = _BREAK.search(found).group(0)  # type: ignore[union-attr]
            written = _rewrapped(written, lines, newline)
        spans.append((run.start(1), run.end(1), written))
    return _spliced(text, spans)


def broken_spelling_in(text: str, key: str) -> bool:
    """Whether ``text`` may spell the (long) ``key``'s bytes in base64 broken, as no
    search of it as written finds: wrapped across lines, written with JSON's escapes,
    or percent-encoded (a query's value: %2B, %0D%0A). Asked only of a text holding a
    "%", a line break or a backslash."""
    if "%" in text:
        text = percent_decoded(text)
        if "%" in text:  # encoded twice (a link in a query value: %252B)
            text = percent_decoded(text)
    flat = _unbroken(text)
    for needle in _needles(key):  # noqa: SIM110 (no generator: see scrub._holds)
        if needle in flat:
            return True
    return False


def masked_encoded_runs(text: str, key: str, masked: str, url: bool = False) -> str:
    """``text`` (a URL, a query, a cookie's or a header's value) with each run of base64
    percent-encoded there (see :data:`_ENCODED_RUN`) that spells the (long) ``key``'s
    bytes once decoded written again with ``masked``'s bytes there, percent-encoded
    (its "+", "/", "=" and line breaks; a URL stays valid, and a query's value one) and
    wrapped as it was. ``text`` itself when none does. ``url``: ``text`` is a URL, a
    "/" written as is in its path the path's (:func:`_masked_segments`)."""
    if "%" not in text or not broken_spelling_in(text, key):
        return text
    if "%25" in text:
        text = _masked_twice(text, key, masked)
    needles = _needles(key)
    spans = []
    path = _path(text) if url else (0, 0)
    for run in _ENCODED_RUN.finditer(text):
        found = run.group(0)
        if "%" not in found:
            continue  # as written: masked_base64_runs's
        flat = _flat(found)
        if not any(needle in flat for needle in needles):
            continue
        cuts = _cuts(found, run.start(), path)
        if cuts:
            spans += _masked_segments(found, run.start(), cuts, needles,
                                      partial(_encoded_segment, key, masked),
                                      quote(masked, safe="-_"), _flat)
            continue
        written = _decoded_masked(flat, key, masked, False)
        spans.append((run.start(), run.end(),
                      _encoded_written(found, masked if written is None else written)))
    return _spliced(text, spans)


# A run of base64 percent-encoded twice (urlencode of a urlencoded value: "+" as %252B),
# its lines too (%250A), not starting inside an escape.
_TWICE_RUN = re.compile(
    r"(?<!%)(?<!%[0-9A-Fa-f])(?:[A-Za-z0-9\-_]|%25(?:2[BbDdFf]|3[Dd]|0[AaDd]))+")


def _masked_twice(text: str, key: str, masked: str) -> str:
    """``text`` with each run of base64 percent-encoded twice that spells the ``key``'s
    bytes once both are read masked as :func:`masked_encoded_runs` masks one encoded
    once, and encoded again ("%" as %25)."""
    spans = []
    for run in _TWICE_RUN.finditer(text):
        found = run.group(0)
        if "%25" not in found:
            continue
        once = found.replace("%25", "%")
        written = masked_encoded_runs(once, key, masked)
        if written != once:
            spans.append((run.start(), run.end(), written.replace("%", "%25")))
    return _spliced(text, spans)


def _flat(found: str) -> str:
    """A percent-encoded run of base64 as a reader takes it: decoded, lines joined."""
    return "".join(_ENCODED_BREAK.split(percent_decoded(found)))


def _encoded_segment(key: str, masked: str, found: str, exact: bool) -> Optional[str]:
    """A percent-encoded run of base64 (see :func:`masked_encoded_runs`) written again
    with the key's bytes masked; None when it does not decode so (``exact``: see
    :func:`_decoded_masked`)."""
    written = _decoded_masked(_flat(found), key, masked, False, exact)
    return None if written is None else _encoded_written(found, written)


def _encoded_written(found: str, written: str) -> str:
    """``written`` (a percent-encoded run of base64 read, masked; or the mask) written
    as the run ``found`` was: wrapped, what stood before the key as it was, the rest
    percent-encoded."""
    decoded = percent_decoded(found)
    lines = _ENCODED_BREAK.split(decoded)
    if len(lines) > 1:
        newline = _ENCODED_BREAK.search(decoded).group(0)  # type: ignore[union-attr]
        written = _rewrapped(written, lines, newline)
    # What stands before the key's group of four (a path, a word) as it was written:
    # each character of the run is one escape or one character as written.
    same = len(commonprefix([decoded, written]))
    kept = "".join(_ENCODED_TOKEN.findall(found)[:same])
    return kept + quote(written[same:], safe="-_")


def _rewrapped(written: str, lines: list[str], newline: str) -> str:
    """``written`` (a run read from ``lines``) wrapped as they were, with ``newline``:
    its first line as long, the next ones at the longest line's width."""
    first, width = len(lines[0]), max(len(line) for line in lines[:-1])
    return newline.join([written[:first]] + [
        written[at:at + width] for at in range(first, len(written), width)])
