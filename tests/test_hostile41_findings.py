"""hostile41: archives' base64 the readers still missed after hostile40.

1. A zlib stream's base64 after a prefix's ``_`` or ``-`` (``backup_eJ...``) inside bytes
   (a zip's entry, a binary body): the bytes' reader (``key_shapes._zlib_run_in``) took
   ``_`` and ``-`` for mid-run, where a text's reader (``base64_starts``) starts a run
   there. Now both ask one table (``base64_starts.MID_RUN``).
2. zlib levels 0 to 5 (``78 01``: ``eAE``...; ``78 5e``: ``eF4``...): a client picks its
   level (``zlib.compress(data, 1)``, Java's ``BEST_SPEED``); only ``eJ`` and ``eN``
   were read. Raw deflate (no header) stays unread: docs/BODIES.md says why.
3. A zlib magic percent-encoded in a query's or a form's value (``%65J...``,
   ``e%4A...``): Flask (werkzeug) and Django decode it to ``eJ...`` and the app reads
   the stream; the log sent it as written.
4. Base64 written in groups of four parted by a blank or a ``.`` (``UEsD BBQA ...``):
   Python's ``b64decode`` (the app's), JS's ``atob`` and Node's ``Buffer`` (a blank),
   Java's MIME decoder and ``base64 -d -i`` (both) read it; the run stopped at the
   first mark (and a zip's magic, ``UEsDB``, spans one).
"""

from __future__ import annotations

import base64
import gzip
import json
import random
import struct
import zlib
from typing import Any, Callable
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics import MetricsMiddleware
from readme_metrics.har import build_log, inflation_budget
from readme_metrics.har.base64_runs import archive_held, archives_hidden
from readme_metrics.har.base64_starts import ALPHABET, zlib_start_in
from readme_metrics.har.key_shapes import _zlib_run_in
from readme_metrics.har.redaction import Redactor
from tests.support.contract import exchange
from tests.support.fake_api import Collector
from tests.support.sent_bodies import SECRET, bodies_logged, kept_as_sent
from tests.support.zip_bodies import zip_of
from tests.test_hostile31_findings import ENV
from tests.test_house6_findings import _exchange
from tests.test_odds13_findings import _django_form_app

DENY = Redactor(["password"])
PROSE = b"The monkey presses a key on the keyboard.\n" * 20
FORM = "application/x-www-form-urlencoded"


@pytest.fixture(autouse=True)
def full_budget() -> None:
    inflation_budget.BUDGET.refill()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


ZIP = zip_of({".env": ENV})
PROSE_ZIP = zip_of({"notes.md": PROSE})


def _logged(**fields: object) -> str:
    return json.dumps(build_log(_exchange(**fields),  # type: ignore[arg-type]
                                redactor=DENY, max_body_bytes=1 << 20))


def _leaks(value: str, raw: str = "") -> list[str]:
    """The places ``value`` went out readable (its ``.env`` or its base64's middle): a
    text body, a JSON string, a form field, a query value (``raw``: the value as the
    client writes it in a form or a query, ``urlencode``'s by default), a zip's entry
    and a binary body (hidden whole or not)."""
    core = value.replace(" ", "").replace(".", "")[12:40]
    raw = raw or urlencode({"f": value})[2:]
    leaks = []
    for place, body, mime in (
            ("text", f"backup: {value}\n".encode(), "text/plain"),
            ("json", json.dumps({"name": "b", "f": value}).encode(), "application/json"),
            ("form", f"name=b&f={raw}".encode(), FORM)):
        for text in bodies_logged(body, mime):
            if SECRET in text or core in text or core in text.replace(" ", "").replace(
                    ".", "") or raw in text:
                leaks.append(place)
    sent = _logged(url="http://api.example.com/v1?f=" + raw)
    if SECRET in sent or raw in sent or core in sent.replace(" ", "").replace(".", ""):
        leaks.append("query")
    for place, body in (("zip", zip_of({"a.txt": b"saved " + value.encode()})),
                        ("binary", b"\0\1\xff" + value.encode() + b"\0")):
        if kept_as_sent(body, "application/octet-stream"):
            leaks.append(place)
    return sorted(set(leaks))


def _form_kept(value: str) -> bool:
    """Whether a form's field and a query's value ``value`` are logged as they were."""
    raw = urlencode({"f": value})[2:]
    log = json.loads(_logged(body=f"f={raw}".encode(), content_type=FORM,
                             url="http://api.example.com/v1?f=" + raw))
    request = log["request"]["log"]["entries"][0]["request"]
    return request["postData"]["params"] == [{"name": "f", "value": value}] and (
        request["queryString"] == [{"name": "f", "value": value}])


# 1. bytes and text agree on where a zlib run starts ------------------------------

ZLIB = _b64(zlib.compress(ENV))


@pytest.mark.parametrize("prefix", ["backup_", "backup-", "_", "-", "id=x_"])
def test_a_zlib_run_after_a_prefix_in_bytes_is_read(prefix: str) -> None:
    """Failed before: 5 of 5 (the zip's entry and the binary body sent; a text, a JSON
    string, a form, a query hid it already)."""
    assert _leaks(prefix + ZLIB) == []


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=sorted(ALPHABET) + list(" .:=,;\"'\n\0\xff"), max_size=4),
       st.sampled_from(["eJ", "eN", "eA", "eF"]))
def test_bytes_and_text_start_a_zlib_run_alike(before: str, magic: str) -> None:
    """One rule: a zlib magic after any characters starts a run in bytes where it does
    in a text (failed before for ``_`` and ``-`` before the magic)."""
    text = before + magic + "x" * 20
    assert _zlib_run_in(text.encode("latin-1")) == zlib_start_in(text)


# 2. zlib levels 0 to 5 -----------------------------------------------------------

@pytest.mark.parametrize("level", range(0, 10))
def test_every_zlib_level_is_read(level: int) -> None:
    """Failed before: 10 of 10 (levels 0 to 5 in every place: text, JSON, form, query,
    zip entry, binary; 6 to 9, ``eJ`` and ``eN``, after ``backup_`` in the zip's entry
    and the binary body: 1. above)."""
    value = _b64(zlib.compress(ENV, level))
    assert _leaks(value) == []
    assert _leaks("backup_" + value) == []


def test_guard_zlib_of_prose_at_each_level_and_words_are_kept() -> None:
    for level in (1, 3, 6, 9):
        value = _b64(zlib.compress(PROSE, level))
        assert kept_as_sent(json.dumps({"f": value}).encode(), "application/json")
        assert kept_as_sent(f"f: {value}\n".encode(), "text/plain")
    for words in ("eAccess and eFiling are words", "eF4 and eAE in prose", "eAEGHxx"):
        assert kept_as_sent(f"note: {words}\n".encode(), "text/plain")
        assert _form_kept(words)


# 3. a zlib magic percent-encoded in a query or a form -----------------------------

def _first_encoded(value: str, count: int) -> str:
    return "".join(f"%{ord(c):02X}" for c in value[:count]) + quote(value[count:], safe="")


PERCENT = {
    "first": lambda v: _first_encoded(v, 1),
    "second": lambda v: v[0] + _first_encoded(v[1:], 1),
    "both": lambda v: _first_encoded(v, 2),
    "lower": lambda v: _first_encoded(v, 2).lower()[:6] + quote(v[2:], safe=""),
}


@pytest.mark.parametrize("level", [1, 4, 6, 9])
@pytest.mark.parametrize("spelling", sorted(PERCENT))
def test_a_zlib_magic_percent_encoded_in_a_query_or_a_form(spelling: str, level: int) -> None:
    """``%65J...``: the app decodes it to ``eJ...``. Failed before: 16 of 16 (form and
    query; a text or a JSON string is no place the app percent-decodes: their runs are
    read as they stand)."""
    value = _b64(zlib.compress(ENV, level))
    raw = PERCENT[spelling](value)
    leaks = _leaks(value, raw)
    assert "form" not in leaks and "query" not in leaks


def test_a_value_encoded_twice_is_read_as_the_app_reads_it() -> None:
    """``%252B``: the app decodes once and reads ``%2B``; a run is read over ``%2B`` (a
    reader's ``unquote`` then ``base64 -d``, review128): hidden, as before."""
    value = _b64(ZIP)
    raw = quote(quote(value, safe=""), safe="")
    assert "%252B" in raw or "%252F" in raw
    leaks = _leaks(value, raw)
    assert "form" not in leaks and "query" not in leaks


def test_a_django_form_reads_the_percent_encoded_magic_and_the_log_hides_it(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    """Django's QueryDict decodes ``%65J`` to ``eJ``: the app reads the stream, and the
    log hides the field. Failed before (the field sent as written)."""
    seen: dict[str, Any] = {}
    middleware = inline_wrap(_django_form_app(seen), denylist=["password"])
    value = _b64(zlib.compress(ENV, 1))
    body = f"user=ann&backup={PERCENT['both'](value)}".encode()
    _, log, entry = exchange(middleware, collector, method="POST", body=body,
                             headers={"Content-Type": f"{FORM}; charset=utf-8"})
    assert seen["form"]["backup"] == value  # the app's read of it
    assert zlib.decompress(base64.b64decode(seen["form"]["backup"])) == ENV
    params = entry["request"]["postData"]["params"]
    assert params[0] == {"name": "user", "value": "ann"}
    assert params[1]["value"].startswith("[REDACTED")
    assert value[8:40] not in json.dumps(log) and SECRET not in json.dumps(log)


# 4. base64 in groups --------------------------------------------------------------

def _grouped(value: str, mark: str, size: int = 4) -> str:
    return mark.join(value[at:at + size] for at in range(0, len(value), size))


GROUPED = {"zip": _b64(ZIP), "gzip": _b64(gzip.compress(ENV, mtime=0)),
           "zlib": ZLIB, "zlib1": _b64(zlib.compress(ENV, 1))}


@pytest.mark.parametrize("mark", [" ", "."])
@pytest.mark.parametrize("archive", sorted(GROUPED))
def test_base64_in_groups_of_four_is_read(archive: str, mark: str) -> None:
    """Failed before: 8 of 8 (every place; Python's ``b64decode`` reads each)."""
    value = _grouped(GROUPED[archive], mark)
    assert base64.b64decode(value) == base64.b64decode(GROUPED[archive])
    assert _leaks(value) == []


def test_base64_in_groups_of_eight_or_lines_of_groups_is_read() -> None:
    value = _grouped(_b64(ZIP), " ", 8)
    assert _leaks(value) == []
    lines = "\n".join(_grouped(_b64(ZIP)[at:at + 64], " ") for at in range(0, 4000, 64))
    assert archive_held(DENY, lines.strip())


def test_guard_prose_and_prose_zips_in_groups_are_kept() -> None:
    """A prose zip's base64 in groups, prose of four-letter words after a magic, dotted
    names and versions: sent as they were."""
    for value in (_grouped(_b64(PROSE_ZIP), " "), _grouped(_b64(PROSE_ZIP), "."),
                  "H4sI this that with them", "UEsD is what zips start with, eJ.zlib",
                  "KLUv.QlpoH4sI.eJwx.eAEx.eF4x lots.more.text.here",
                  "v1.2.3.4 eJ.x.y 10.0.0.1"):
        assert kept_as_sent(f"note: {value}\n".encode(), "text/plain"), value
        assert kept_as_sent(json.dumps({"f": value}).encode(), "application/json"), value
        assert _form_kept(value), value


# Through a real app ---------------------------------------------------------------

def test_through_a_flask_app_and_the_collector(collector: Collector) -> None:
    """A real Flask app, the collector on 127.0.0.1: a JSON body holding a level-1 zlib
    stream, a zip in groups and a zlib stream after ``backup_`` in a zip's entry read as
    base64; a query value ``%65J...`` that werkzeug decodes for the app. Failed before
    (each sent readable); a prose zip's base64 is kept."""
    from flask import Flask, request

    from readme_metrics import MetricsApiConfig
    from readme_metrics.flask_readme import ReadMeMetrics

    values = {"level1": _b64(zlib.compress(ENV, 1)), "grouped": _grouped(_b64(ZIP), " "),
              "dotted": _grouped(_b64(ZIP), "."), "kept": _b64(PROSE_ZIP)}
    query = _b64(zlib.compress(ENV, 1))
    app = Flask(__name__)
    seen: dict[str, str] = {}

    @app.route("/echo", methods=["POST"])
    def echo() -> Any:
        seen["q"] = request.args["q"]
        return request.get_data(), {"Content-Type": "application/json"}

    extension = ReadMeMetrics(MetricsApiConfig(
        api_key="any-key", metrics_api=collector.url, buffer_length=1,
        grouping_function=lambda request: {"api_key": "owlbert-key"},
        denylist=["password"]), app)
    try:
        answer = app.test_client().post(
            "/echo?q=" + _first_encoded(query, 2), data=json.dumps(values),
            headers={"Content-Type": "application/json"})
        assert answer.get_json() == values
        assert seen["q"] == query  # werkzeug decoded %65%41 to eA: the app reads zlib
        assert extension.flush(10) is True
        [log] = collector.wait_for_logs(1)
    finally:
        extension.close()
    sent = json.dumps(log)
    assert SECRET not in sent and query[8:40] not in sent
    for name, value in values.items():
        assert (value in sent) == (name == "kept"), name


# Properties and guards ------------------------------------------------------------

_ARCHIVES = {"zip": ZIP, "zlib0": zlib.compress(ENV, 0), "zlib1": zlib.compress(ENV, 1),
             "zlib3": zlib.compress(ENV, 3), "zlib": zlib.compress(ENV)}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(_ARCHIVES)),
       st.sampled_from(["", " ", "file=", "backup_", "a-", "<f>", "data:;base64,"]),
       st.sampled_from(["plain", "urlsafe", "unpadded", "spaced", "dotted", "spaced8"]),
       st.sampled_from(["", " end", "\n", "&x=1", "</f>", ". Next"]))
def test_any_planted_shape_is_hidden(archive: str, prefix: str, spelling: str,
                                     after: str) -> None:
    inflation_budget.BUDGET.refill()
    data = _ARCHIVES[archive]
    run = {"plain": _b64(data), "urlsafe": base64.urlsafe_b64encode(data).decode(),
           "unpadded": _b64(data).rstrip("="), "spaced": _grouped(_b64(data), " "),
           "dotted": _grouped(_b64(data), "."),
           "spaced8": _grouped(_b64(data), " ", 8)}[spelling]
    text = prefix + run + after
    assert archive_held(DENY, text), (prefix, spelling)
    hidden = archives_hidden(DENY, text)
    assert SECRET not in hidden and run[8:40] not in hidden
    if archive.startswith("zlib"):  # (in bytes: the same start)
        assert _zlib_run_in(("\0" + text).encode())


def _png(rng: random.Random, level: int) -> bytes:
    """A real PNG (its IDAT a zlib stream at ``level``) of random gray pixels."""
    width = height = 24
    raw = b"".join(b"\0" + rng.randbytes(width) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height,
                                                              8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, level)) + chunk(b"IEND", b""))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 1 << 40), st.sampled_from(["png", "random", "prose-zip", "jwt"]),
       st.sampled_from(["", "_", "-", "eA", "eF", "eJ", " ", "."]),
       st.sampled_from([0, 1, 5, 9]))
def test_guard_random_and_ordinary_values_are_kept(seed: int, kind: str, prefix: str,
                                                   level: int) -> None:
    """A PNG's base64 (and the PNG itself: its IDAT is a zlib stream at any level),
    random bytes', a prose zip's, a JWT, after any prefix and grouped: kept."""
    rng = random.Random(seed)
    data = {"png": lambda: _png(rng, level), "random": lambda: rng.randbytes(
        rng.randint(16, 600)), "prose-zip": lambda: PROSE_ZIP,
        "jwt": lambda: b"{}." + rng.randbytes(32)}[kind]()
    value = prefix + _b64(data)
    for shown in (value, _grouped(value, " ")):
        assert not archive_held(DENY, shown), shown[:40]
        assert archives_hidden(DENY, shown) == shown
    if kind == "png":
        assert kept_as_sent(data, "image/png")
        assert kept_as_sent(data, "application/octet-stream")
