"""hostile38: base64 archives still sent readable after hostile35/37 and review128.

1. An archive's base64 after base64 characters: ``backup_UEsDB...``, ``backup-UEsDB...``
   (``_`` and ``-`` are the URL-safe alphabet's), ``xyzUEsDB...``, the base64 of a few
   bytes then a zip (``eHl6UEsDB...``; ``unzip`` reads a zip after other bytes), one,
   two or four bytes before it (the zip's magic then spelled ``BLAw``, ``QSwME``: not
   at a multiple of 4 characters); and a decoy magic glued before a real archive, in
   the same run.
2. A later character of the magic percent-encoded (``U%45sDB...``) in a form or a
   query; a JSON string, or a text body's run, percent-encoded whole (a reader's
   ``unquote`` then ``base64 -d``).
3. A JSON body whose string's magic is JSON-escaped (``"\\u0055EsDB..."``: the app
   reads ``UEsDB...``): the document was taken to hold none and sent unparsed.
4. Inside an archive: a JSON file written with its ``/`` escaped (PHP's ``\\/``), its
   ``+`` or ``=`` (.NET's ``\\u002B``, Gson's ``\\u003D``), or
   with its MIME lines' breaks escaped (``\\r\\n`` in the JSON string), cut the run at
   the first escape; UTF-16 text (each character NUL-spaced) was not searched.
5. A zip after 4 or more bytes holding ``PK\\3\\4`` (a bogus local header before the
   real one, which ``unzip`` reads past) was read from the bogus header's fields and the
   real entry skipped, as a body and as base64 (``har/zip_entries.py``).
6. A run with one base64 character glued after its last whole quantum (``UEsDB...x``)
   failed to decode whole and was sent.
7. A zlib stream's base64 (``eJ...``: Python's ``zlib.compress``, PHP's
   ``gzcompress``, Django's signed values) at a value's or a run's start.
"""

from __future__ import annotations

import base64
import gzip
import json
import random
import zipfile
import zlib
from typing import Callable
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.har import build_log, inflation_budget
from readme_metrics.har.base64_runs import archive_held, archives_hidden
from readme_metrics.har.redaction import Redactor
from tests.support.fake_api import Collector
from tests.support.flask_echo import logged_echo
from tests.support.memory import peak_bytes
from tests.support.sent_bodies import SECRET, bodies_logged, kept_as_sent
from tests.support.zip_bodies import zip_of
from tests.test_hostile31_findings import ENV
from tests.test_house6_findings import _exchange

DENY = Redactor(["password"])
PROSE = b"The monkey presses a key on the keyboard.\n" * 20
FORM = "application/x-www-form-urlencoded"


@pytest.fixture(autouse=True)
def full_budget() -> None:
    inflation_budget.BUDGET.refill()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


ZIP = zip_of({".env": ENV})
GZIP = gzip.compress(ENV)
PROSE_ZIP = zip_of({"notes.md": PROSE})


def _logged(**fields: object) -> str:
    return json.dumps(build_log(_exchange(**fields),  # type: ignore[arg-type]
                                redactor=DENY, max_body_bytes=1 << 20))


def _every_place_hides(value: str) -> list[str]:
    """The places ``value`` went out readable: a text body, a JSON string, a form field
    (the request's params and the response's text), a query value."""
    leaks = []
    for place, body, mime in (
            ("text", f"backup: {value}\n".encode(), "text/plain"),
            ("xml", f"<f>{value}</f>".encode(), "application/xml"),
            ("json", json.dumps({"name": "b", "f": value}).encode(), "application/json"),
            ("form", urlencode({"name": "b", "f": value}).encode(), FORM)):
        for text in bodies_logged(body, mime):
            if value in text or quote(value, safe="") in text or (
                    urlencode({"f": value})[2:] in text):
                leaks.append(place)
    sent = _logged(url="http://api.example.com/v1?" + urlencode({"f": value}))
    if value in sent or urlencode({"f": value})[2:] in sent:
        leaks.append("query")
    return leaks


# 1. after base64 characters, a byte or more before it, a decoy ------------------------

AFTER = {
    "underscore": lambda s: "backup_" + s,
    "dash": lambda s: "backup-" + s,
    "letters": lambda s: "xyz" + s,
    "lone-underscore": lambda s: "_" + s,
}
BYTES_BEFORE = [b"x", b"xy", b"xyz", b"wxyz", b"\x89PNG"]


@pytest.mark.parametrize("archive", ["zip", "gzip"])
@pytest.mark.parametrize("shape", AFTER)
def test_an_archive_after_base64_characters_is_read(shape: str, archive: str) -> None:
    """Failed before: 8 of 8 (sent in every place)."""
    value = AFTER[shape](_b64(ZIP if archive == "zip" else GZIP))
    assert _every_place_hides(value) == []


@pytest.mark.parametrize("before", BYTES_BEFORE)
def test_a_zip_after_bytes_is_read(before: bytes) -> None:
    """``base64(bytes + zip)``: ``unzip`` reads it. Failed before: 5 of 5."""
    assert _every_place_hides(_b64(before + ZIP)) == []


def test_a_decoy_magic_glued_before_an_archive_is_no_cover() -> None:
    """A gzip magic that starts no gzip, glued before the real one (the same run, another
    alignment and the same). Failed before: 2 of 2."""
    for decoy in ("H4sIAAAAAAAAAAAA", "H4sIAAAAAAAAAAAAx"):
        assert _every_place_hides(decoy + _b64(GZIP)) == []


def test_one_character_glued_after_a_run_is_no_cover() -> None:
    """A zip whose base64 needs no padding and one base64 character after it
    (``UEsDB...x``: 4n + 1 characters, which decode to nothing whole; ``base64 -d``
    writes the zip before it). Failed before (sent)."""
    archive = next(z for z in (zip_of({".env": ENV + b"#" * pad}) for pad in range(3))
                   if len(z) % 3 == 0)
    assert _every_place_hides(_b64(archive) + "x") == []


@pytest.mark.parametrize("before", [b"", b"x", b"xy", b"xyz"])
def test_guard_prose_zipped_after_bytes_is_kept(before: bytes) -> None:
    value = "backup_" + _b64(before + PROSE_ZIP)
    for body, mime in ((f"backup: {value}\n".encode(), "text/plain"),
                       (json.dumps({"f": value}).encode(), "application/json")):
        assert kept_as_sent(body, mime)
    form = urlencode({"f": value})
    assert bodies_logged(form.encode(), FORM)[1] == form


# 2. percent-encoded ---------------------------------------------------------------

def _later_encoded(text: str, at: int) -> str:
    return text[:at] + "%" + format(ord(text[at]), "02X") + text[at + 1:]


def _whole(text: str) -> str:
    return "".join(f"%{ord(character):02X}" for character in text)


@pytest.mark.parametrize("at", [1, 2, 3, 4])
def test_a_later_character_of_the_magic_percent_encoded_in_a_form_or_query(at: int) -> None:
    """``U%45sDB...`` (the app reads ``UEsDB...``). Failed before: 4 of 4."""
    archive = _b64(ZIP)
    value = _later_encoded(archive, at)
    sent = _logged(url="http://api.example.com/v1?f=" + value)
    assert archive not in sent and value not in sent
    sent = _logged(body=("a=1&f=" + value).encode(), content_type=FORM)
    assert archive not in sent and value not in sent


@pytest.mark.parametrize("spelling", [_whole, lambda s: quote("x " + s, safe=""),
                                      lambda s: _later_encoded(s, 2)])
def test_a_json_string_or_a_text_run_percent_encoded(spelling: Callable[[str], str]) -> None:
    """Failed before: 3 of 3 (the JSON string and the text body sent as written)."""
    value = spelling(_b64(ZIP))
    for body, mime in ((json.dumps({"name": "b", "f": value}).encode(), "application/json"),
                       (f"file: {value}\n".encode(), "text/plain")):
        for text in bodies_logged(body, mime):
            assert value not in text and "[REDACTED" in text


def test_guard_percent_encoded_prose_zipped_is_kept() -> None:
    value = _whole(_b64(PROSE_ZIP))
    assert kept_as_sent(json.dumps({"f": value}).encode(), "application/json")
    assert kept_as_sent(f"file: {value}\n".encode(), "text/plain")


# 3. a JSON-escaped magic ----------------------------------------------------------

@pytest.mark.parametrize("at", [0, 1, 4])
def test_a_json_escaped_magic(at: int) -> None:
    """``"\\u0055EsDB..."``. Failed before: 3 of 3 (the document sent unparsed)."""
    archive = _b64(ZIP)
    escaped = archive[:at] + f"\\u{ord(archive[at]):04x}" + archive[at + 1:]
    body = ('{"name": "b", "f": "' + escaped + '"}').encode()
    for text in bodies_logged(body, "application/json"):
        assert json.loads(text)["f"].startswith("[REDACTED")


# 4. inside an archive: JSON's escapes, UTF-16 -------------------------------------

INSIDE = {
    "php-json": lambda s: json.dumps({"f": s}).replace("/", "\\/").encode(),
    # (.NET's System.Text.Json escapes "+", Gson "=".)
    "dotnet-json": lambda s: json.dumps({"f": s}).replace("+", "\\u002B").replace(
        "=", "\\u003D").encode(),
    "json-mime": lambda s: json.dumps({"f": "\n".join(
        s[at:at + 76] for at in range(0, len(s), 76))}).encode(),
    "json-mime-crlf": lambda s: json.dumps({"f": "\r\n".join(
        s[at:at + 76] for at in range(0, len(s), 76))}).encode(),
    "utf-16": lambda s: f"file: {s}\n".encode("utf-16"),
    "utf-16-be": lambda s: f"file: {s}\n".encode("utf-16-be"),
}


def _slashed(data: bytes) -> bytes:
    """A zip of ``data`` whose base64 holds a ``/`` and a ``+`` early (PHP escapes
    each ``/``, .NET each ``+``)."""
    def late(archive: bytes) -> int:
        text = _b64(archive)
        return max(text.find("/") % 10 ** 6, text.find("+") % 10 ** 6)

    return min((zip_of({".env": data + b"#" * pad}) for pad in range(64)), key=late)


@pytest.mark.parametrize("shape", INSIDE)
def test_an_archive_in_base64_inside_a_zip_escaped_or_wide(shape: str) -> None:
    """Failed before: 6 of 6 (the outer zip sent, its JSON's base64 zip unread)."""
    body = zip_of({"a.txt": INSIDE[shape](_b64(_slashed(ENV)))})
    for text in bodies_logged(body, "application/zip"):
        assert text.startswith("[REDACTED")


@pytest.mark.parametrize("shape", INSIDE)
def test_guard_prose_so_inside_a_zip_is_kept(shape: str) -> None:
    assert kept_as_sent(zip_of({"a.txt": INSIDE[shape](_b64(PROSE_ZIP))}), "application/zip")


@pytest.mark.parametrize("before", [b"PK\3\4", b"xyzPK\3\4", b"PK\3\4\x14\x00"])
def test_a_zip_after_a_bogus_local_header(before: bytes) -> None:
    """``PK\\3\\4`` and then a zip (``unzip`` reads it, its offsets moved): the bogus
    header's fields, read from the real one's bytes, jumped the reader past the real
    entry (hypothesis drew it, as bytes before a zip in base64). As a body and as base64.
    Failed before: 3 of 3."""
    body = before + ZIP
    for text in bodies_logged(body, "application/zip"):
        assert text.startswith("[REDACTED")
    assert _every_place_hides(_b64(body)) == []


def test_guard_a_zip_of_zips_stored_is_kept() -> None:
    inner = [zip_of({f"n{at}.md": PROSE}) for at in range(3)]
    assert kept_as_sent(zip_of({f"z{at}.zip": data for at, data in enumerate(inner)},
                               zipfile.ZIP_STORED), "application/zip")


# 5. zlib --------------------------------------------------------------------------

@pytest.mark.parametrize("level", [-1, 6, 9])
def test_a_zlib_streams_base64(level: int) -> None:
    """``eJ...`` (zlib's default), ``eN`` (level 9). Failed before: 3 of 3."""
    value = _b64(zlib.compress(ENV, level))
    assert _every_place_hides(value) == []
    assert _every_place_hides("." + value) == []  # (Django's signing: "payload.eJ...")


def test_guard_zlib_of_prose_and_words_are_kept() -> None:
    for value in (_b64(zlib.compress(PROSE)), "eJ is zlib's start, eN too", "eJournal"):
        assert kept_as_sent(json.dumps({"f": value}).encode(), "application/json")
        assert kept_as_sent(f"f: {value}\n".encode(), "text/plain")


# Through a real app ---------------------------------------------------------------

def test_through_a_flask_app_and_the_collector(collector: Collector) -> None:
    """A real Flask app, the collector on 127.0.0.1: a JSON body of each shape above.
    Failed before (each sent as written)."""
    values = {"after": "backup_" + _b64(ZIP), "bytes": _b64(b"xy" + ZIP),
              "percent": _whole(_b64(ZIP)), "zlib": _b64(zlib.compress(ENV)),
              "kept": _b64(PROSE_ZIP)}
    log = logged_echo(collector, json.dumps(values), "application/json", ["password"])
    sent = json.dumps(log)
    for name, value in values.items():
        assert (value in sent) == (name == "kept"), name


# Properties -----------------------------------------------------------------------

_ARCHIVES = {"zip": ZIP, "gzip": GZIP, "zlib": zlib.compress(ENV)}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(_ARCHIVES)), st.binary(max_size=5),
       st.sampled_from(["", " ", "x ", "file=", "backup_", "a-", "xyz", "<f>", "data:;base64,"]),
       st.sampled_from(["plain", "urlsafe", "unpadded", "mime", "percent"]),
       st.sampled_from(["", " end", "\n", "&x=1", "</f>"]))
def test_any_planted_shape_is_hidden(archive: str, before: bytes, prefix: str,
                                     spelling: str, after: str) -> None:
    """An archive spelling the .env, after any bytes (a zip: zlib and gzip are read at
    the start of what decodes), any prefix, in each spelling: never sent readable."""
    inflation_budget.BUDGET.refill()
    data = (before if archive == "zip" else b"") + _ARCHIVES[archive]
    run = {"plain": _b64(data),
           "urlsafe": base64.urlsafe_b64encode(data).decode(),
           "unpadded": _b64(data).rstrip("="),
           "mime": base64.encodebytes(data).decode().rstrip("\n"),
           "percent": quote(_b64(data), safe="")}[spelling]
    if archive == "zlib" and prefix in ("backup_", "a-", "xyz"):
        prefix = ""  # (zlib's magic is read at a run's start only)
    text = prefix + run + after
    assert archive_held(DENY, text), (prefix, spelling)
    hidden = archives_hidden(DENY, text)
    assert SECRET not in hidden and run not in hidden


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 1 << 30), st.integers(16, 3000),
       st.sampled_from(["", "x", "_", "backup-"]))
def test_guard_random_base64_is_kept(seed: int, size: int, prefix: str) -> None:
    """Random bytes' base64 (an image's, a token's) is kept, whatever it holds."""
    value = prefix + _b64(random.Random(seed).randbytes(size))
    assert not archive_held(DENY, value)
    assert archives_hidden(DENY, value) == value


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet="UEsDBH4IQlpoKLUv/_-+=eJNAwSMx%0123456789abcdef\n \\", max_size=300))
def test_any_text_of_magics_is_read_without_raising(text: str) -> None:
    archives_hidden(DENY, text)
    archive_held(DENY, text)
    bodies_logged(text.encode(), "text/plain")
    bodies_logged(urlencode({"f": text}).encode(), FORM)


# Bounds ---------------------------------------------------------------------------

def test_magics_glued_in_one_run_are_bounded_in_memory() -> None:
    """Magics in one run (each a candidate): read to a bound, then held unread; memory a
    few times the text. 64 KiB of them, not a MiB as before (suite42): the peak is
    the same multiple of the text at 64 KiB, 256 KiB and a MiB (2.3x, 4.1 to 4.8x, 0x,
    6.5x; bound 12x), and no tree on record fails it at any size (before hostile38's
    reader, ad021729; before its linear reading, f618d45d^); a MiB cost 11 s of CPU
    under tracemalloc, 64 KiB 0.7 s."""
    for unit in ("H4sI", "UEsDBBLAwQSwME", "xBLAw", "FBLAwQ"):
        text = unit * ((1 << 16) // len(unit))
        inflation_budget.BUDGET.refill()
        archives_hidden(DENY, text)
        inflation_budget.BUDGET.refill()
        peak = peak_bytes(lambda: archives_hidden(DENY, text))  # noqa: B023
        assert peak < 12 * len(text), (unit, peak)


def test_a_mib_of_prose_zips_after_prefixes_is_kept_in_memory_linear() -> None:
    small = [_b64(b"ab" + zip_of({f"n{at}.txt": PROSE[:200] + str(at).encode()}))
             for at in range(50)]
    text = " ".join(f"f_{value}" for value in small * 60)
    assert archives_hidden(DENY, text) == text
    inflation_budget.BUDGET.refill()
    peak = peak_bytes(lambda: archives_hidden(DENY, text))
    assert peak < 12 * len(text)
