"""keyleak2's findings (SPEC 6: the caller's key never leaves the process in clear): the
key's base64 glued from pieces (house6's :func:`~tests.test_house6_findings._glued`),
wrapped, percent-encoded in ways composed (urlencoded keeping some characters, every
character of the urlencoded text escaped again), in a JSON string written by PHP ("\\/")
or .NET ("\\u002B"). Found by a scratch fuzzer composing those (keyleak1's idea); each
example below failed on main at 58b25a5b but finding 3's (found once finding 1 was
fixed), the oracle house6's (every string of the log read as written, percent-decoded
once and twice, JSON escapes read, line breaks out).

1. A percent-encoded run in a JSON string whose "/" (kept by the encoding) PHP wrote
   "\\/", or whose "+" .NET wrote "\\u002B": the run read ended at the escape, and a
   copy whose group of four starts before it ("Z\\/9y...") went out in clear.
2. A run written again without its padding ("...NWY0Z%3D" after a copy cut before its
   last character), glued to the next run ("%2B..."): the "+" completed the copy.
3. A copy after a JSON escape in a run written again ("a\\u002ByZG1%0A..."): a reader
   of the text as written takes the escape's "B" for the key's first bits.
4. A run percent-encoded twice whose second encoding escaped every character of the
   first's ("%2B" as "%25%32%42", a line break "%25%30%44%25%30%41", "c" as "%63").
   keyleak2 read those inside a twice-encoded run and took it back (a run escaping
   every character once, glued to a "%25%33%44", was written a level deeper: 5 leaks,
   each masked on main). Fixed by keyleak3 (was a strict xfail): a run of escapes only
   holding a "%25" is read one level whole, masked, and escaped again whole.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from readme_metrics.exchange import Exchange
from readme_metrics.har import build_log
from readme_metrics.har.key_base64_run import masked_run
from tests.test_house6_findings import (
    _PIECE,
    KEY,
    LONG_KEY,
    _every_character_escaped,
    _exchange,
    _glued,
    _leaked,
    _wrapped,
)

THIRD_KEY = "rdme_abcdefghij0123456789XY"  # 27 bytes: its base64 ends on a group


def _encoded(text: str, encoding: str) -> str:
    """``text`` percent-encoded: urlencoded keeping ``safe`` ("quote:/+"), twice keeping
    "/" ("twice:/"), or urlencoded and every character escaped again ("quote-every")."""
    if encoding.startswith("quote:"):
        return quote(text, safe=encoding[len("quote:"):])
    if encoding == "twice:/":
        return quote(quote(text, safe="/"), safe="/")
    assert encoding == "quote-every"
    return _every_character_escaped(quote(text, safe=""))


def _sent(key: str, place: str, escape: str, text: str, content_type: str) -> Exchange:
    """``text`` in a JSON string (``escape``: "php" writes "/" as "\\/", "net" "+" as
    "\\u002B", "net-slash" "/" as "\\u002f") sent as ``content_type``, or in a
    multipart field."""
    if place == "multipart":
        body = (b'--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\n'
                + text.encode() + b"\r\n--XyZ--\r\n")
        return _exchange(key, body=body, content_type="multipart/form-data; boundary=XyZ")
    written = json.dumps({"a": text})
    if escape in ("php", "php+net"):
        written = written.replace("/", "\\/")
    if escape in ("net", "php+net"):
        written = written.replace("+", "\\u002B")
    if escape == "net-slash":
        written = written.replace("/", "\\u002f")
    return _exchange(key, body=written.encode(), content_type=content_type)


_CASES = [
    # 1: PHP's "\/" in a run urlencoded keeping "/" and "=", wrapped at 4 columns.
    pytest.param(THIRD_KEY, "v2/", "", ["", (False, b"\xac\xef", b"\xf0r\xc5", True, 2, 1, "Ew"),
                                        (True, b"\xd1", b"=", False, 3, 0, "ww"),
                                        (True, b"7\xc2\xad", b"", False, 3, 1, "")],
                 4, "\r\n", "quote:/=", "php", "text/plain", id="php-slash"),
    # 1: .NET's "\u002B" and PHP's "\/" in a JSON body sent as text.
    pytest.param(KEY, "v2/", "/", ["+/", (False, b"", b"b", True, 3, 0, "Aa"),
                                   (False, b"b\x02", b"C\xaa", True, 2, 1, ""),
                                   (True, b"\xeb", b"", True, 3, 1, "")],
                 5, "\r\n", "quote:/", "php+net", "text/plain", id="php-net"),
    # 1: "/" written "\u002f" (a run urlencoded keeping "+" and "/").
    pytest.param(KEY, "+", "%3D", ["gO", (False, b"3\x84", b"\xdc\xf7\xb1", True, 2, 1, "5=0og"),
                                   (True, b"", b"\xdek", False, 0, 1, ""),
                                   (True, b"F", b"\xff\x94", False, 0, 1, "3d")],
                 4, "\n", "quote:+/", "net-slash", "application/json", id="slash-as-u002f"),
    pytest.param(KEY, "=", "", ["+/", (False, b"\xa97", b"", True, 2, 0, "a"),
                                (False, b"\x04", b"Q", False, 1, 1, "")],
                 7, "\n", "quote:+/", "php+net", "text/plain", id="php-net-keeping-plus"),
    # 1 and 4: percent-encoded twice keeping "/", PHP's "\/".
    pytest.param(LONG_KEY, "=", "x", ["//", (False, b"\xed\x04", b"\xf0", True, 2, 1, ""),
                                      (False, b"\xbf+", b"\xf6\xac\xb2", True, 2, 0, "////a")],
                 7, "\r\n", "twice:/", "php", "text/plain", id="twice-php"),
    # 2: a copy cut before its last character, padded ("%3D"), then a "+" ("%2B").
    pytest.param(KEY, "a", "/", ["+/+/", (True, b"\xaf\xfcz", b"\x9d\x04<", True, 2, 1, "Z++/Z"),
                                 (True, b"1", b"", True, 1, 1, "=+/9+"),
                                 (False, b"", b"", False, 3, 1, "9AZ++")],
                 7, "\r\n", "quote:", "none", "text/plain", id="padding-then-a-plus"),
    # 3: a copy after "\u002B" in a run written again (a run read from after the
    # escape on main kept none: this one guards finding 1's fix, which reads it in).
    pytest.param(KEY, "a", "", ["+", (False, b"\x8a^", b"Q\x12", True, 3, 0, "+/"),
                                (False, b"\xe4\xd0", b"\xbe\xad", False, 1, 0, "")],
                 5, "\n", "quote:+/=", "php+net", "application/json", id="copy-after-u002b"),
    # 3: the same, the copy's end escaped too ("...ZWY\u002B"): a reader of a span was
    # one run of base64 (it is now each of its runs).
    pytest.param(LONG_KEY, "x ", "", ["/++a+", (False, b"#\x1d", b"", False, 3, 1, "+/0+0"),
                                      (False, b"o\xca", b"x\x87\x84", True, 0, 0, "")],
                 5, "\n", "quote:+/=", "php+net", "text/plain", id="copy-between-u002bs"),
]


@pytest.mark.parametrize(
    ("key", "before", "after", "pieces", "wrap", "newline", "encoding", "escape",
     "content_type"), _CASES)
def test_a_run_percent_encoded_in_a_json_string_is_masked(
        key: str, before: str, after: str, pieces: list[_PIECE | str], wrap: int,
        newline: str, encoding: str, escape: str, content_type: str) -> None:
    """Findings 1 to 3. Failed before: the log held a copy of the key."""
    lead, rest = pieces[0], pieces[1:]
    assert isinstance(lead, str)
    run = _wrapped(_glued(key, lead, rest, False), wrap, newline)  # type: ignore[arg-type]
    text = _encoded(before + run + after, encoding)
    log = build_log(_sent(key, "json", escape, text, content_type), max_body_bytes=1 << 20)
    assert not _leaked(log, key), text


@pytest.mark.parametrize(("place", "key", "before", "after", "pieces", "wrap", "newline",
                          "urlsafe"), [
    pytest.param("multipart", KEY, "a", "x",
                 ["vnQr", (False, b"I\rq", b"\x06\xe4#", True, 2, 0, "gi")], 4, "\n", False,
                 id="multipart"),
    pytest.param("json", KEY, "A", "", ["cx3yX", (False, b"", b"\x05p", False, 0, 1, "fm")],
                 5, "\n", True, id="json-urlsafe"),
    pytest.param("text", LONG_KEY, "x ", " y",
                 ["Z/a+", (False, b"", b"", True, 2, 0, "0"),
                  (False, b"\xd1d", b"\xdf", False, 1, 0, ""),
                  (False, b"", b"", False, 2, 0, "a/")],
                 64, "\r\n", False, id="text"),
])
def test_a_run_urlencoded_then_every_character_escaped_is_masked(
        place: str, key: str, before: str, after: str, pieces: list[_PIECE | str], wrap: int,
        newline: str, urlsafe: bool) -> None:
    """Finding 4, fixed by keyleak3 (failed before: 3 of 3, the body went out as sent:
    a run read twice took only "%25" before an escape of a base64 character's or a line
    break's, "%252B", not "%25%32%42"; a run of escapes holding a "%25" is now read
    one level whole)."""
    lead, rest = pieces[0], pieces[1:]
    assert isinstance(lead, str)
    run = _wrapped(_glued(key, lead, rest, urlsafe), wrap, newline)  # type: ignore[arg-type]
    text = _encoded(before + run + after, "quote-every")
    assert "%25%30%41" in text  # a line break, "%0A", escaped again character by character
    exchange = (_exchange(key, body=text.encode(), content_type="text/plain")
                if place == "text" else _sent(key, place, "none", text, "application/json"))
    assert not _leaked(build_log(exchange, max_body_bytes=1 << 20), key), text


def test_a_padded_run_keeps_its_padding_when_written_again() -> None:
    """Finding 2, the run alone: a copy ends on a whole group, its "=" superfluous (a
    piece cut, glued): encoding the masked bytes again writes no padding, and the run
    kept its "=" no longer (what parts it from the next)."""
    copy = "cmRtZV94bjhzOWgzYTdiMmMxZDBlNWY0Z2Zn"  # base64("rdme_...5f4gfg"): whole groups
    written = masked_run(copy + "=", KEY, "sha512-m?sked", False)
    assert written.endswith("=") and "NWY0Z2" not in written
