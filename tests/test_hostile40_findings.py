"""hostile40: header values holding an archive's base64 in the shapes bodies read.

hostile38 left headers.headers() searching a header's value for the four main magics
only (``UEsDB``, ``H4sI``, ``Qlpo``, ``KLUv``). A value holding a zip after a byte or
two (``BLAw``, ``QSwME``: mid-quantum), a zlib stream's base64 (``eJ``, ``eN``), a
magic percent-encoded (``%55EsDB``, ``U%45sDB``) went out as written in a custom
request header (``X-Backup``), a response header (``X-Export``), after a prefix
(``backup_``), its ``.env`` one ``base64 -d`` away; and a zlib stream after a lone ``_``
or ``-`` (``_eJ...``) was read nowhere, a Referer's or a Location's query value
included. (Cookie, Authorization, Set-Cookie are masked whole: never sent readable.)

Now headers() asks ``base64_archives.archive_in`` once over the log's values joined
and reads each value as a body's run is (``base64_runs.archive_held``), and a zlib magic
after ``_`` or ``-`` starts a run (``base64_starts``).
"""

from __future__ import annotations

import base64
import json
import random
import uuid
import zlib
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.exchange import Exchange, Group
from readme_metrics.har import build_log, inflation_budget
from readme_metrics.har.base64_runs import archive_held
from readme_metrics.har.headers import headers
from readme_metrics.har.redaction import Redactor
from tests.support.fake_api import Collector
from tests.support.sent_bodies import SECRET
from tests.support.zip_bodies import zip_of
from tests.test_hostile31_findings import ENV

DENY = Redactor(["password"])
ZIP = zip_of({".env": ENV})
PROSE_ZIP = zip_of({"notes.md": b"The monkey presses a key on the keyboard.\n" * 20})


@pytest.fixture(autouse=True)
def full_budget() -> None:
    inflation_budget.BUDGET.refill()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


ZLIB = _b64(zlib.compress(ENV))
#: Each shape that went out as written in a header before (8 of the 10 in a custom
#: header; the last two anywhere, a query's value included).
SHAPES = {
    "zip-after-a-byte": _b64(b"x" + ZIP),      # BLAw
    "zip-after-two-bytes": _b64(b"xy" + ZIP),  # QSwME
    "zlib": ZLIB,                               # eJ
    "zlib-level-9": _b64(zlib.compress(ENV, 9)),  # eN
    "percent-first": "%55" + _b64(ZIP)[1:],
    "percent-later": "U%45" + _b64(ZIP)[2:],
    "percent-whole": quote(_b64(ZIP), safe=""),
    "backup_-zlib": "backup_" + ZLIB,
    "underscore-zlib": "_" + ZLIB,
    "dash-zlib": "-" + ZLIB,
}


def _places(value: str) -> dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]]:
    """(request headers, response headers) holding ``value``, by place."""
    return {
        "request": ([("X-Backup", value)], []),
        "request-prefixed": ([("X-Data", "file=" + value)], []),
        "response": ([], [("X-Export", value)]),
        "referer": ([("Referer", "http://app.example.com/p?f=" + value)], []),
        "location": ([], [("Location", "http://app.example.com/p?f=" + value)]),
        "cookie": ([("Cookie", "theme=dark; backup=" + value)], []),
        "set-cookie": ([], [("Set-Cookie", "backup=" + value + "; Path=/")]),
        "authorization": ([("Authorization", "Bearer " + value)], []),
    }


def _sent(request: list[tuple[str, str]], response: list[tuple[str, str]]) -> str:
    exchange = Exchange(
        id="hostile40", started=0.0, method="GET", url="http://api.example.com/v1",
        http_version="HTTP/1.1", request_headers=[("Host", "api.example.com"), *request],
        client_ip="10.0.0.1", group=Group("key", None, None), request_body=b"",
        request_body_size=0, status=302 if response else 200, status_text="Found",
        response_headers=response)
    return json.dumps(build_log(exchange, redactor=DENY, max_body_bytes=1 << 20))


def _readable(value: str, sent: str) -> bool:
    core = value.lstrip("_-").removeprefix("backup_")[8:48]
    return core in sent or quote(core, safe="") in sent


@pytest.mark.parametrize("place", sorted(_places("")))
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_header_holding_each_shape_is_hidden(shape: str, place: str) -> None:
    """Failed before: 33 of 80 (9 of the 10 shapes, all but ``percent-whole``, whose
    ``UEsDB`` was searched, in X-Backup, X-Data after ``file=`` and X-Export: 27; the
    three zlib-after-a-prefix shapes in a Referer's and a Location's query: 6). Cookie,
    Set-Cookie and Authorization are masked whole: they never leaked."""
    request, response = _places(SHAPES[shape])[place]
    assert not _readable(SHAPES[shape], _sent(request, response))


def test_through_a_flask_app_and_the_collector(collector: Collector) -> None:
    """A real Flask app, the collector on 127.0.0.1: a request header and a response
    header holding a zlib stream's and a shifted zip's base64. Failed before (both sent
    as written); a prose zip's base64 is kept."""
    from flask import Flask

    from readme_metrics import MetricsApiConfig
    from readme_metrics.flask_readme import ReadMeMetrics

    app = Flask(__name__)
    export, kept = SHAPES["zip-after-two-bytes"], _b64(PROSE_ZIP)

    @app.route("/export")
    def route() -> Any:
        return "ok", {"X-Export": export, "X-Notes": kept}

    extension = ReadMeMetrics(MetricsApiConfig(
        api_key="any-key", metrics_api=collector.url, buffer_length=1,
        grouping_function=lambda request: {"api_key": "owlbert-key"},
        denylist=["password"]), app)
    try:
        answer = app.test_client().get("/export", headers={"X-Backup": ZLIB})
        assert answer.headers["X-Export"] == export  # the app's answer as it was
        assert answer.get_data() == b"ok"  # (read: the exchange ends)
        assert extension.flush(10) is True
        [log] = collector.wait_for_logs(1)
    finally:
        extension.close()
    sent = json.dumps(log)
    assert ZLIB[8:48] not in sent and export[8:48] not in sent
    assert kept in sent


# Properties -----------------------------------------------------------------------

_ARCHIVES = {"zip": ZIP, "zlib": zlib.compress(ENV), "zlib9": zlib.compress(ENV, 9)}
_SPELLINGS = {
    "plain": _b64,
    "urlsafe": lambda data: base64.urlsafe_b64encode(data).decode(),
    "unpadded": lambda data: _b64(data).rstrip("="),
    "percent": lambda data: quote(_b64(data), safe=""),
    "percent-first": lambda data: "".join(f"%{ord(c):02X}" for c in _b64(data)[:2])
    + _b64(data)[2:],
}
#: The spellings read after bytes before a zip and for zlib: a magic percent-encoded is
#: read for the four main magics at a quantum's start only (``%55EsDB``), as in bodies.
_SHIFTED_SPELLINGS = ("plain", "urlsafe", "unpadded", "percent")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(_ARCHIVES)), st.binary(max_size=3),
       st.sampled_from(["", "_", "-", "backup_", "file=", "v1.", "x "]),
       st.sampled_from(sorted(_SPELLINGS)),
       st.sampled_from(["request", "request-prefixed", "response", "referer", "location",
                        "cookie", "set-cookie", "authorization"]),
       st.sampled_from(["", "; Path=/", " end"]))
def test_any_planted_shape_in_a_header_is_hidden(archive: str, before: bytes, prefix: str,
                                                spelling: str, place: str,
                                                after: str) -> None:
    """An archive spelling the .env, after any bytes (a zip), any prefix, in any
    spelling, in any header: never sent readable."""
    inflation_budget.BUDGET.refill()
    data = (before if archive == "zip" else b"") + _ARCHIVES[archive]
    if data[:4] != ZIP[:4] and spelling not in _SHIFTED_SPELLINGS:
        spelling = "plain"
    run = _SPELLINGS[spelling](data)
    value = prefix + run + after
    request, response = _places(value)[place]
    sent = _sent(request, response)
    core = run[8:48]
    assert core not in sent and quote(core, safe="") not in sent
    assert SECRET not in sent


def _jwt(rng: random.Random) -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")
    claims = json.dumps({"sub": str(rng.getrandbits(40)), "exp": rng.getrandbits(31)})
    return ".".join((part(b'{"alg":"HS256","typ":"JWT"}'), part(claims.encode()),
                     part(rng.randbytes(32))))


_VALUES = {
    "uuid": lambda rng: str(uuid.UUID(int=rng.getrandbits(128))),
    "jwt": _jwt,
    "session": lambda rng: _b64(rng.randbytes(rng.randint(16, 400))),
    "urlsafe": lambda rng: base64.urlsafe_b64encode(rng.randbytes(rng.randint(16, 400))
                                                    ).decode(),
    "signed": lambda rng: "_" + base64.urlsafe_b64encode(
        b"x\x9c" + rng.randbytes(rng.randint(16, 200))).decode(),
    "prose-zip": lambda rng: "backup_" + _b64(rng.randbytes(rng.randint(0, 2)) + PROSE_ZIP),
}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 1 << 40), st.sampled_from(sorted(_VALUES)),
       st.sampled_from(["", "_", "-", "sid=", "%55", "eJ"]))
def test_guard_random_header_values_are_kept(seed: int, kind: str, prefix: str) -> None:
    """UUIDs, JWTs, base64 session cookies (a corrupt zlib header after ``_`` too), a
    prose zip's base64: kept as they were (none hidden that was not before)."""
    inflation_budget.BUDGET.refill()
    value = prefix + _VALUES[kind](random.Random(seed))
    sent, _ = headers([("X-Session", value), ("X-Request-Id", value)], DENY)
    assert [header["value"] for header in sent] == [value, value]
    assert not archive_held(DENY, value)


def test_headers_inline_every_start_archive_in_searches() -> None:
    """headers() searches the joined values for archive_in's needles inlined (its
    generators cost more): every needle base64_starts has is there."""
    import inspect

    from readme_metrics.har import headers as module
    from readme_metrics.har.base64_starts import MAGICS, NEEDLES, SPLIT_HEADS

    source = inspect.getsource(module.headers)
    assert all(magic.startswith(SPLIT_HEADS) for magic in MAGICS)
    for needle in (*SPLIT_HEADS, *NEEDLES[len(MAGICS):], "%", "\\\\u"):
        assert f'"{needle}" in joined' in source, needle
    assert "ZLIB_START.search(joined)" in source  # (base64_starts.ZLIB's 32 pairs)
