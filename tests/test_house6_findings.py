"""house6's findings (SPEC 6: the caller's key never leaves the process in clear), from an
adversary's read of secrets21 while key_base64.py was split by job. Each failed on main
at 5189f6d; the oracle reads every string of the log (and the log's JSON) as written,
percent-decoded once and twice, JSON escapes read, line breaks taken out, and decodes
each run of base64 from each of its characters (tests.support.base64_reader).

1. The key's base64 percent-encoded with its lines' breaks (a MIME-wrapped credential
   urlencoded: ``...%0D%0A...``), or with every character escaped (``%63%6D%52...``), in
   a text or JSON body went out in clear: the gate before the percent-encoded search
   (``percent_spelled_in``) looked only for pieces of a spelling holding "+" or "/" as
   written, and a long body lacking the probe character returned at once unless that
   character was "+" or "/".
2. The same with every character escaped twice (``%2564%2558...``) in a URL's query or
   path, a header, a text body: the run of a twice-encoded value took only "+", "/",
   "-", "_", "=" and line breaks escaped.
3. A text holding the key's base64 as written and another copy wrapped across lines (64
   or 76 columns, CRLF or LF; a JSON string's ``\\r\\n``): the first was masked, the
   wrapped one was not looked for (only a text holding no spelling as written was).
4. In a URL, a copy of the key's base64 whose group of four starts before the run the
   URL's reading takes: on a percent escape's hex digits (``?t=...%3D%3DAByZG1l...``,
   a glued run's padding escaped) or the path's "/" (``/v1/HJkbWVf...``, a glued
   run's first copy needing the character before it). secrets21's re-decode, within the
   run, could not reach it; a reader of the URL as written decodes it. The run is now
   the mask when the key is still readable with those characters before it.
5. A wrapped run in the URL-safe alphabet whose first copy's group of four starts on a
   "_" ("_HJk\\r\\nbWVf..."), the spelling found first an alphabet-neutral one: runs
   were read in the standard alphabet only, from after the "_", and that copy was kept.
   (Found by the property below after finding 4 was fixed.)
6. A run percent-encoded in a body whose spelling stands as written but whose last
   group is escaped (``...NWY0Z%2BA%3D``), after another copy: the percent-encoded
   search's gate found nothing to look for. (Found by the property below.)
"""

from __future__ import annotations

import json
import re
from base64 import b64encode
from typing import Any
from urllib.parse import quote, unquote

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from readme_metrics.exchange import Exchange, Group
from readme_metrics.har import build_log
from readme_metrics.har.key_base64 import masked_base64_runs
from readme_metrics.har.key_base64_spellings import base64_spellings
from tests.support.base64_reader import key_decoded_in
from tests.support.leaks import strings

KEY = "rdme_xn8s9h3a7b2c1d0e5f4g"  # 25 bytes: its base64's last character holds 4 bits
LONG_KEY = "rdme_xn0123456789abcdef0123456789abcdef"
CREDENTIAL = b64encode(b"user:" + KEY.encode()).decode("ascii")
_UNICODE_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})")
_BREAKS = re.compile(r"\r|\n|\\r|\\n|\\u000[DdAa]")


def _readings(text: str) -> set[str]:
    """``text`` as a reader may take it: percent-decoded once and twice, its JSON escapes
    read, its line breaks out."""
    out = {text}
    for _ in range(2):
        out |= {unquote(each) for each in list(out)}
    out |= {_UNICODE_ESCAPE.sub(lambda found: chr(int(found[1], 16)), each.replace("\\/", "/"))
            for each in list(out)}
    return out | {_BREAKS.sub("", each) for each in out}


def _leaked(log: dict[str, Any], key: str) -> list[str]:
    """The strings of ``log`` (and its JSON) from which some reading decodes the key."""
    return [text[:200] for text in [*strings(log), json.dumps(log)]
            if any(key_decoded_in(reading, key) for reading in _readings(text))]


def _exchange(key: str = KEY, url: str = "http://api.example.com/v1",
              headers: tuple[tuple[str, str], ...] = (), body: bytes = b"",
              content_type: str = "") -> Exchange:
    request_headers = [("Host", "api.example.com"), *headers]
    if content_type:
        request_headers.append(("Content-Type", content_type))
    return Exchange(
        id="house6", started=0.0, method="POST", url=url, http_version="HTTP/1.1",
        request_headers=request_headers, client_ip="10.0.0.1", group=Group(key, None, None),
        request_body=body, request_body_size=len(body), status=200, status_text="OK")


def _body(text: str, content_type: str) -> Exchange:
    if content_type == "application/json":
        return _exchange(body=json.dumps({"token": text}).encode(), content_type=content_type)
    return _exchange(body=text.encode(), content_type=content_type)


def _wrapped(text: str, width: int, newline: str) -> str:
    return newline.join(text[at:at + width] for at in range(0, len(text), width))


def _every_character_escaped(text: str) -> str:
    return "".join(f"%{ord(character):02X}" for character in text)


# The credential after 40 bytes of other data, MIME-wrapped: the key's spelling
# straddles the first line break.
_MIME = _wrapped(b64encode(b"x" * 40 + b"user:" + KEY.encode()).decode(), 76, "\r\n")


@pytest.mark.parametrize("content_type", ["text/plain", "application/json"])
@pytest.mark.parametrize("text", [
    pytest.param(quote(_MIME, safe=""), id="mime-crlf-urlencoded"),
    pytest.param(quote(_wrapped(CREDENTIAL, 8, "\n"), safe=""), id="lf-8-urlencoded"),
    pytest.param(_every_character_escaped(CREDENTIAL), id="every-character"),
    pytest.param("lorem ipsum " * 100 + _every_character_escaped(CREDENTIAL),
                 id="every-character-long-body"),
    pytest.param(_every_character_escaped(CREDENTIAL).lower(), id="every-character-lower"),
    # A long body (its "%"s looked at one by one, then searched): few "%"s, and more
    # "%"s than are looked at one by one before the spelling's.
    pytest.param("lorem ipsum " * 100 + quote(_MIME, safe=""), id="mime-long-body"),
    pytest.param("a%20b " * 200 + quote(_MIME, safe=""), id="mime-after-400-escapes"),
])
def test_a_percent_encoded_spelling_with_no_piece_as_written_is_masked(
        text: str, content_type: str) -> None:
    """Finding 1. Failed before: the log held the body as sent."""
    log = build_log(_body(text, content_type), max_body_bytes=1 << 20)
    assert not _leaked(log, KEY)


_TWICE = quote(_every_character_escaped(CREDENTIAL), safe="")


@pytest.mark.parametrize("exchange", [
    pytest.param(_exchange(url=f"http://api.example.com/v1?t={_TWICE}"), id="query"),
    pytest.param(_exchange(url=f"http://api.example.com/v1/{_TWICE}"), id="path"),
    pytest.param(_exchange(headers=(("X-Upstream", _TWICE),)), id="header"),
    pytest.param(_exchange(body=_TWICE.encode(), content_type="text/plain"), id="text-body"),
])
def test_every_character_escaped_twice_is_masked(exchange: Exchange) -> None:
    """Finding 2. Failed before in each place."""
    assert _TWICE.startswith("%2564%2558")  # "dX", twice
    assert not _leaked(build_log(exchange, max_body_bytes=1 << 20), KEY)


@pytest.mark.parametrize("content_type", ["text/plain", "application/json",
                                          "multipart/form-data; boundary=XyZ"])
@pytest.mark.parametrize(("width", "newline"), [(64, "\r\n"), (76, "\n")])
def test_a_wrapped_copy_after_one_as_written_is_masked(
        content_type: str, width: int, newline: str) -> None:
    """Finding 3. Failed before: the wrapped copy (its first line's end, the next line's
    start) was in the log."""
    wrapped = _wrapped(b64encode(b"y" * 30 + b"user:" + KEY.encode()).decode(), width,
                       newline)
    spellings = base64_spellings(KEY)  # the copy is broken by a line break
    assert not any(spelling in wrapped for spelling in spellings)
    assert any(spelling in wrapped.replace(newline, "") for spelling in spellings)
    text = f"Basic {CREDENTIAL}, then {wrapped}"
    if content_type.startswith("multipart/"):
        body = (b'--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\n'
                + text.encode() + b"\r\n--XyZ--\r\n")
        exchange = _exchange(body=body, content_type=content_type)
    else:
        exchange = _body(text, content_type)
    assert not _leaked(build_log(exchange, max_body_bytes=1 << 20), KEY)


_SPELLED = b64encode(KEY.encode()).decode("ascii")
_LEAD_ONE = b64encode(b"\0" + KEY.encode()).decode("ascii")  # "AHJkbWVf...": lead 1
_LEAD_TWO = b64encode(b"\0\0" + KEY.encode()).decode("ascii")  # "AAByZG1l...": lead 2


@pytest.mark.parametrize("url", [
    pytest.param(f"http://api.example.com/v1?t={quote(_SPELLED, safe='')}"
                 f"{_LEAD_TWO[1:].rstrip('=')}{_SPELLED.rstrip('=')}",
                 id="query-after-escaped-padding"),
    pytest.param(f"http://api.example.com/v1/{_LEAD_ONE[1:].rstrip('=')}"
                 f"{_SPELLED.rstrip('=')}A", id="path-after-its-slash"),
    # Two characters before the run: "1/" ("ByZG1l..." holds the key's first bits).
    pytest.param(f"http://api.example.com/v1/{_LEAD_TWO[2:].rstrip('=')}"
                 f"{_SPELLED.rstrip('=')}A", id="path-after-a-character-and-its-slash"),
])
def test_a_copy_whose_group_starts_before_the_run_is_masked(url: str) -> None:
    """Finding 4. Failed before: the first copy was in the log's URL."""
    assert not _leaked(build_log(_exchange(url=url), max_body_bytes=1000), KEY)


@pytest.mark.parametrize("content_type", ["text/plain", "application/json"])
def test_a_urlsafe_wrapped_run_whose_group_starts_on_an_underscore_is_masked(
        content_type: str) -> None:
    """Finding 5. Failed before: ``_HJkbWVf...NGcA`` (the first copy) was in the log."""
    glued = "/" + b64encode(b"\0" + KEY.encode() + b"\0").decode("ascii")[1:] + _SPELLED
    text = _wrapped(glued.translate(str.maketrans("+/", "-_")), 4, "\r\n")
    assert text.startswith("_HJk\r\nbWVf")
    assert not _leaked(build_log(_body(text, content_type), max_body_bytes=1000), KEY)


_FILLER = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                  max_size=5)
# A piece: the key's bytes (or "user:" and them) between 0 to 3 other bytes, encoded
# apart, maybe unpadded, cut by 0 to 3 characters at its start and 0 or 1 at its end.
_PIECES = st.lists(st.tuples(
    st.booleans(), st.binary(max_size=3), st.binary(max_size=3), st.booleans(),
    st.integers(0, 3), st.integers(0, 1), _FILLER), min_size=1, max_size=3)
# Where the text goes.
_PLACES = ["text", "json", "json-escaped-slashes", "text-escaped-slashes", "form",
           "multipart", "header", "cookie", "query", "path"]


def _placed(place: str, key: str, text: str) -> Exchange:
    if place == "text":
        return _exchange(key, body=text.encode(), content_type="text/plain")
    if place in ("json", "json-escaped-slashes", "text-escaped-slashes"):
        body = json.dumps({"a": text})
        if place != "json":
            body = body.replace("/", "\\/")  # as PHP writes a JSON string
        return _exchange(key, body=body.encode(), content_type=(
            "text/plain" if place.startswith("text") else "application/json"))
    if place == "form":
        return _exchange(key, body=b"a=" + text.encode(),
                         content_type="application/x-www-form-urlencoded")
    if place == "multipart":
        body = (b'--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\n'
                + text.encode() + b"\r\n--XyZ--\r\n")
        return _exchange(key, body=body, content_type="multipart/form-data; boundary=XyZ")
    if place == "query":
        return _exchange(key, url="http://api.example.com/v1?t=" + text.replace(" ", "%20"))
    if place == "path":
        return _exchange(key, url="http://api.example.com/v1/" + quote(text, safe="/%"))
    if place == "header":
        return _exchange(key, headers=(("X-Data", text),))
    return _exchange(key, headers=(("Cookie", "c=" + text.replace(" ", "%20")),))


_PIECE = tuple[bool, bytes, bytes, bool, int, int, str]
# How the text is percent-encoded: not, urlencoded (keeping "/"), every character
# escaped, lower-case hex, and twice (secrets22).
_ENCODINGS = ["none", "quote", "quote-keep-slash", "every", "lower", "twice", "every-twice"]


def _glued(key: str, lead: str, pieces: list[_PIECE], urlsafe: bool) -> str:
    """A run glued from the key's base64 ``pieces`` (see :data:`_PIECES`) after ``lead``."""
    run = lead
    for user, head, tail, unpadded, cut, end, filler in pieces:
        spelled = b64encode(head + (b"user:" if user else b"") + key.encode() + tail)
        written = spelled.decode("ascii").rstrip("=" if unpadded else "")
        run += written[cut:len(written) - end] + filler
    return run.translate(str.maketrans("+/", "-_")) if urlsafe else run


def _encoded(text: str, encoding: str, place: str) -> str:
    """``text`` percent-encoded as ``encoding`` says (a form's always)."""
    if encoding == "quote" or place == "form" and encoding == "none":
        return quote(text, safe="")
    if encoding == "quote-keep-slash":
        return quote(text, safe="/")
    if encoding == "every":
        return _every_character_escaped(text)
    if encoding == "lower":
        return quote(text, safe="").replace("%2B", "%2b").replace("%2F", "%2f").replace(
            "%0D%0A", "%0d%0a")
    if encoding == "twice":
        return quote(quote(text, safe=""), safe="")
    if encoding == "every-twice":
        return quote(_every_character_escaped(text), safe="")
    return text


# keyleak1: a body's run made the mask ("...?5f4g", not decoding so), its padding gone,
# glued to the next run's first copy ("XFyZG1l...", the "g" its first bits).
_GLUED_AFTER_A_MASK: list[_PIECE] = [
    (False, b"\x0e\x89", b"\x90", False, 3, 0, ""),
    (False, b"\x8dq", b"\xb7%\xc6", False, 1, 0, ""),
    (False, b"\xe5\xed", b"\xae", False, 1, 1, "1")]


@settings(max_examples=300, deadline=None)
@example(key=KEY, lead="", pieces=_GLUED_AFTER_A_MASK, urlsafe=True, place="json", wrap=0,
         newline="\r\n", encoding="none", before="a")
# keyleak1: a multipart field percent-encoded twice, a "/" (a filler's) written again
# "%252F" before a copy starting on a group's last character (the escape's "F").
@example(key=KEY, lead="", pieces=[(False, b"\t\n", b"", True, 1, 0, "9+Jg/"),
                                   (False, b"\xc9[", b"P\xe4\xcd", False, 3, 0, "OL"),
                                   (True, b"", b"C", False, 1, 0, "ez0")],
         urlsafe=False, place="multipart", wrap=0, newline="\n", encoding="every-twice",
         before="x ")
@given(key=st.sampled_from([KEY, LONG_KEY]), lead=_FILLER, pieces=_PIECES,
       urlsafe=st.booleans(), place=st.sampled_from(_PLACES),
       wrap=st.sampled_from([0, 4, 64, 76]), newline=st.sampled_from(["\r\n", "\n"]),
       encoding=st.sampled_from(_ENCODINGS), before=st.sampled_from(["", "x ", "Basic ", "a"]))
def test_no_spelling_of_a_glued_run_yields_the_key(
        key: str, lead: str, pieces: list[_PIECE], urlsafe: bool, place: str, wrap: int,
        newline: str, encoding: str, before: str) -> None:
    """Runs glued from the key's base64 at random alignments and offsets (secrets21's),
    in either alphabet, padded or not, wrapped (bodies), percent-encoded (urlencode,
    keeping "/", every character, lower-case hex, twice), in a text, JSON (PHP's "\\/"
    too), a form, a multipart field, a header, a cookie, a URL's query and path: no
    reading of the log yields the key."""
    run = _glued(key, lead, pieces, urlsafe)
    if wrap and place not in ("header", "cookie", "form", "query", "path"):
        run = _wrapped(run, wrap, newline)
    text = _encoded(before + run, encoding, place)
    log = build_log(_placed(place, key, text), max_body_bytes=1 << 20)
    assert not _leaked(log, key), (place, text)


# keyleak1: the first run masked (its padding, "%3D", no longer written) glued to the
# second, whose first copy starts on a group's last character.
_GLUED_AFTER_PADDING: list[_PIECE] = [
    (True, b"\xd6\xc6", b"\xe9", False, 1, 0, ""), (False, b"VS", b"\xa0", False, 3, 1, ""),
    (False, b"\xc1\x1c", b"c", False, 1, 1, "VuZbn")]


# keyleak1: a "+" (a filler's) percent-encoded twice before a copy starting on a group's
# last character: written again "%252ByZG1l...", the escape's "B" its first bits.
_COPY_AFTER_AN_ESCAPE: list[_PIECE] = [
    (True, b"\x83\xb4&", b"h\x07\x19", True, 3, 1, "9+"),
    (False, b"\x84\xb7", b"?", True, 3, 0, "8o"), (True, b"", b"p", True, 3, 0, "")]


@settings(max_examples=200, deadline=None)
@example(key=LONG_KEY, pieces=_GLUED_AFTER_PADDING, urlsafe=True, encoding="every",
         segment="v2/")
@example(key=KEY, pieces=_COPY_AFTER_AN_ESCAPE, urlsafe=False, encoding="every-twice",
         segment="v2/")
@given(key=st.sampled_from([KEY, LONG_KEY]), pieces=_PIECES.filter(lambda each: len(each) > 1),
       urlsafe=st.booleans(), encoding=st.sampled_from(["none", "every", "twice", "every-twice"]),
       segment=st.sampled_from(["", "a/", "v2/"]))
def test_no_spelling_of_a_glued_run_starting_a_path_segment_yields_the_key(
        key: str, pieces: list[_PIECE], urlsafe: bool, encoding: str, segment: str) -> None:
    """The same in a URL's path, the run glued to a "/" of the path (its first copy's
    group of four may start on the "/" or the character before it; a copy after it
    makes the run one that is written again, not the mask), as written or
    percent-encoded once or twice (secrets22: "/v1/%41%42%79..." kept the key)."""
    text = segment + _encoded(_glued(key, "", pieces, urlsafe), encoding, "path")
    log = build_log(_placed("path", key, text), max_body_bytes=1 << 20)
    assert not _leaked(log, key), text


@pytest.mark.parametrize("segment", ["", "v2/"])
def test_a_run_glued_to_a_run_masked_before_it_is_masked(segment: str) -> None:
    """keyleak1 (house15's lost example). Failed before: in a URL's path, every
    character escaped, a run ending in its padding (``...Zuk%3D``) then one whose first
    copy starts on a group's last character (``%79%5A%47...``, the key's first two bits
    wanting the character before it): the first was masked and written again without
    its padding (``...ZWbp``), whose "p" gave the second copy those bits, and that copy
    was kept (each run's neighbours were read as they stood before any was masked)."""
    text = segment + _encoded(_glued(LONG_KEY, "", _GLUED_AFTER_PADDING, True), "every",
                              "path")
    assert "%75%6B%3D%79%5A" in text  # "uk=" then "yZ": the padding between the runs
    assert not _leaked(build_log(_placed("path", LONG_KEY, text), max_body_bytes=1000),
                       LONG_KEY)


def test_a_copy_after_an_escape_written_in_a_masked_run_is_masked() -> None:
    """keyleak1 (found with the one above). Failed before: a path's run with every
    character percent-encoded twice, a "+" before a copy starting on a group's last
    character: the run was written again with the copy as is after "%252B" (the "+"),
    and a reader of the URL as written, or decoded once ("%2ByZG1l..."), took the
    escape's "B" for the key's first bits."""
    text = "v2/" + _encoded(_glued(KEY, "", _COPY_AFTER_AN_ESCAPE, False), "every-twice",
                            "path")
    log = build_log(_placed("path", KEY, text), max_body_bytes=1000)
    assert not _leaked(log, KEY)


@pytest.mark.parametrize("place", ["json", "text"])
def test_a_run_glued_to_a_run_made_the_mask_is_masked(place: str) -> None:
    """keyleak1 (a run of the property above with 40,000 examples). Failed before: a
    body's run "ayZG1l...kA==" does not decode to the key and became the mask, which
    ends "?5f4g" unpadded, glued to the next run "XFyZG1l...", whose first copy a
    reader then decoded with the mask's "g" (runs' neighbours were read in a URL only)."""
    text = _encoded("a" + _glued(KEY, "", _GLUED_AFTER_A_MASK, True), "none", place)
    assert "kA==XFyZG1l" in text
    assert not _leaked(build_log(_placed(place, KEY, text), max_body_bytes=1000), KEY)


@pytest.mark.parametrize("content_type", ["text/plain", "application/json"])
def test_a_spelling_as_written_going_on_percent_encoded_is_masked(content_type: str) -> None:
    """Finding 6. Failed before: a glued run urlencoded (only its "+" and "=" escaped),
    the second copy's last group ``Z%2BA%3D``: the first copy was masked, the second,
    its spelling as written but its last bits in the escape, was kept (no escape the
    percent-encoded search's gate looks for)."""
    first = b64encode(KEY.encode() + b"\0").decode("ascii").rstrip("=") + "00000"
    second = b64encode(b"\0user:" + KEY.encode() + b"\xe0").decode("ascii")[1:]
    text = quote(first + second, safe="")
    assert text.endswith("NWY0Z%2BA%3D")
    assert not _leaked(build_log(_body(text, content_type), max_body_bytes=1000), KEY)


# -- mutants of the modules split from key_base64.py --------------------------------------


@pytest.mark.parametrize("upper", [False, True])
def test_a_long_body_escaping_every_character_in_either_case_is_masked(upper: bool) -> None:
    """key_base64_spellings.escape_in reads a JSON escape in either case: with the
    upper-case one (.NET's "\\u002B") dropped, a long body lacking the probe character
    as written and holding every character of the credential escaped so kept it."""
    escaped = "".join(f"\\u{ord(character):04x}" for character in CREDENTIAL)
    if upper:
        escaped = escaped.upper().replace("\\U", "\\u")
    text = "lorem ipsum " * 100 + escaped
    assert not _leaked(build_log(_body(text, "text/plain"), max_body_bytes=1 << 20), KEY)


def test_a_wrapped_run_is_written_again_at_its_lines_widths() -> None:
    """key_base64_run.rewrapped: the lines after the first at the longest line's width,
    the first as long as it was (a run starting mid-line, after "Basic "): with the
    first line's width for all, the masked credential came back in 20-character lines."""
    encoded = b64encode(b"x" * 50 + b"user:" + KEY.encode() + b"y" * 60).decode("ascii")
    lines = [encoded[:20]] + [encoded[at:at + 76] for at in range(20, len(encoded), 76)]
    assert not any(spelling in line for spelling in base64_spellings(KEY) for line in lines)
    written = masked_base64_runs("Basic " + "\r\n".join(lines), KEY, "sha512-m?sked")
    assert not key_decoded_in(written.replace("\r\n", ""), KEY)
    widths = [len(line) for line in written[len("Basic "):].split("\r\n")]
    assert widths[0] == 20 and set(widths[1:-1]) == {76}, widths


def test_a_wrapped_percent_encoded_run_after_an_escaped_slash_is_masked() -> None:
    """keyleak1's fuzzer (3 finds in 80,000), fixed by keyleak2. Failed before: a run
    with PHP's "\\/" escapes, urlencoded keeping "/", wrapped at 4 columns, in a text
    body quoting JSON: "aMJZ\\/%0D%0A9yZG...", the first copy's group of four "Z/9y"
    starting before the "\\/", which ended the percent-encoded run read (it began at
    the "/"), and that copy went out as sent."""
    key, lead, urlsafe = KEY, "MJZ/", False
    pieces: list[_PIECE] = [(False, b"\x89\xcf", b"\xad?\xa0", False, 2, 0, "O"),
                            (False, b"\xf20", b"j\r", False, 1, 0, ""),
                            (False, b"\xb1Wf", b"\xd1Zs", False, 1, 0, "EnX")]
    run = _wrapped(_glued(key, lead, pieces, urlsafe), 4, "\r\n")
    text = _encoded("a" + run, "quote-keep-slash", "text-escaped-slashes")
    log = build_log(_placed("text-escaped-slashes", key, text), max_body_bytes=1 << 20)
    assert not _leaked(log, key), text
