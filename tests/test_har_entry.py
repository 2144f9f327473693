"""readme_metrics.har: the log object and its HAR 1.2 entry (SPEC section 4): envelope,
group, creator, dates and timings, and the response's status line.

Every table case goes through ``json.dumps``/``json.loads`` (what is actually sent) and
:func:`tests.support.har_check.assert_valid_log` (the strict HAR 1.2 schema plus the SPEC contract).
"""

from __future__ import annotations

import json
import logging
import math
import platform
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.exchange import Group
from readme_metrics.har import CREATOR, build_entry, build_log
from readme_metrics.masking import mask
from readme_metrics.redaction import Redactor
from tests.support.contract import CALLER, DOCS, exchange, reading_app, spec_mask
from tests.support.exchanges import STARTED, entry_of, make_exchange, post, sent_log
from tests.support.fake_api import Collector

# -- the log object -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("group", "expected"),
    [
        pytest.param(Group("key", "L", "e@x"), {"id": mask("key"), "label": "L", "email": "e@x"},
                     id="full"),
        pytest.param(Group("key"), {"id": mask("key")}, id="id-only"),
        pytest.param(Group("key", email="e@x"), {"id": mask("key"), "email": "e@x"},
                     id="no-label"),
        pytest.param(Group("k", "", ""), {"id": mask("k"), "label": "", "email": ""},
                     id="blank-kept"),
    ],
)
def test_group(group: Group, expected: dict[str, str]) -> None:
    assert sent_log(make_exchange(group=group))["group"] == expected


def test_creator_is_not_shared_between_logs() -> None:
    log = build_log(make_exchange())
    log["request"]["log"]["creator"]["name"] = "changed"
    assert CREATOR["name"] == "readme-metrics (python)"


def test_build_entry_matches_build_log() -> None:
    exchange = post("application/json", b'{"password": "x"}')
    redactor = Redactor(["password"])
    log = build_log(exchange, redactor=redactor)
    assert build_entry(exchange, redactor) == log["request"]["log"]["entries"][0]


# -- dates and timings -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("started", "expected"),
    [
        pytest.param(STARTED, "2026-11-21T10:31:43.123Z", id="milliseconds-floored"),
        pytest.param(0, "1970-01-01T00:00:00.000Z", id="epoch"),
        pytest.param(1.9999, "1970-01-01T00:00:01.999Z", id="never-rounds-up-a-second"),
        pytest.param(1795257103, "2026-11-21T10:31:43.000Z", id="int"),
    ],
)
def test_started_date_time(started: float, expected: str) -> None:
    assert entry_of(make_exchange(started=started))["startedDateTime"] == expected


def test_started_date_time_of_consecutive_logs() -> None:
    """Logs built one after another, within a second, across one, and back again: each
    has its own time (the formatted second is reused only for the same second)."""
    starts = [STARTED, STARTED + 0.5, STARTED + 1, 0.25, STARTED + 0.1, STARTED + 86400]
    got = [entry_of(make_exchange(started=s))["startedDateTime"] for s in starts]
    assert got == ["2026-11-21T10:31:43.123Z", "2026-11-21T10:31:43.623Z",
                   "2026-11-21T10:31:44.123Z", "1970-01-01T00:00:00.250Z",
                   "2026-11-21T10:31:43.223Z", "2026-11-22T10:31:43.123Z"]


@pytest.mark.parametrize(
    "started",
    [
        pytest.param(float("nan"), id="nan"),
        pytest.param(float("inf"), id="inf"),
        pytest.param(-5.0, id="negative"),
        pytest.param(1e20, id="year-beyond-9999"),
    ],
)
def test_impossible_start_still_gives_a_valid_date(started: float) -> None:
    entry_of(make_exchange(started=started))  # assert_valid_log checks the shape


@pytest.mark.parametrize(
    ("wait", "duration", "expected_wait", "expected_receive"),
    [
        pytest.param(0.010, 0.025, 10.0, 15.0, id="plain"),
        pytest.param(0.0123456, 0.05, 12.346, 37.654, id="rounded-to-3-decimals"),
        pytest.param(0.0, 0.0, 0.0, 0.0, id="zero"),
        pytest.param(0.02, 0.01, 20.0, 0.0, id="duration-below-wait"),
        pytest.param(-1.0, 0.5, 0.0, 1500.0, id="negative-wait"),
        pytest.param(float("nan"), 0.5, 0.0, 0.0, id="nan"),
        pytest.param(0.1, float("inf"), 100.0, 0.0, id="infinite"),
        pytest.param(1 / 3, 2 / 3, 333.333, 333.333, id="time-is-exact-sum"),
        pytest.param(0.001001, 0.002051, 1.001, 1.05, id="sum-without-float-noise"),
    ],
)
def test_timings(wait: float, duration: float, expected_wait: float,
                 expected_receive: float) -> None:
    entry = entry_of(make_exchange(wait=wait, duration=duration))
    timings = entry["timings"]
    assert timings == {"send": 0, "wait": expected_wait, "receive": expected_receive}
    assert math.isclose(entry["time"], expected_wait + expected_receive, abs_tol=1e-9)
    assert entry["cache"] == {}


@settings(max_examples=300, deadline=None)
@given(wait=st.floats(0, 100), duration=st.floats(0, 100))
def test_timings_have_no_float_noise(wait: float, duration: float) -> None:
    """Every figure as sent has at most 3 decimals, ``time`` included (issue 12.9)."""
    entry = build_entry(make_exchange(wait=wait, duration=duration))
    figures = [entry["time"], entry["timings"]["wait"], entry["timings"]["receive"]]
    for figure in figures:
        text = json.dumps(figure)
        assert len(text.partition(".")[2]) <= 3, text
    assert entry["time"] == round(figures[1] + figures[2], 3)


@settings(max_examples=300, deadline=None)
@given(wait=st.floats(0, 100), duration=st.floats(0, 100))
def test_time_is_exactly_the_sum_of_the_timings(wait: float, duration: float) -> None:
    """SPEC 4: ``time`` is the sum of the timings, as whoever reads the JSON adds them."""
    sent = json.loads(json.dumps(build_entry(make_exchange(wait=wait, duration=duration))))
    timings = sent["timings"]
    assert sent["time"] == timings["send"] + timings["wait"] + timings["receive"]
    assert sent["time"] == sum(timings.values())


# -- response ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({}, {"status": 200, "statusText": "OK", "redirectURL": ""}, id="ok"),
        pytest.param({"status": 302, "status_text": "Found",
                      "response_headers": [("Location", "/next?a=1")]},
                     {"status": 302, "statusText": "Found", "redirectURL": "/next?a=1"},
                     id="redirect"),
        pytest.param({"status": 500, "status_text": "Internal Server Error",
                      "http_version": "HTTP/1.0"},
                     {"status": 500, "statusText": "Internal Server Error", "redirectURL": "",
                      "httpVersion": "HTTP/1.0"}, id="error-http10"),
        pytest.param({"status": 599, "status_text": "Custom Thing"},
                     {"status": 599, "statusText": "Custom Thing", "redirectURL": ""},
                     id="custom-status"),
    ],
)
def test_response_status(changes: dict[str, Any], expected: dict[str, Any]) -> None:
    response = entry_of(make_exchange(**changes))["response"]
    for key, value in expected.items():
        assert response[key] == value
    assert response["headersSize"] == -1


@pytest.mark.parametrize(("changes", "comment"), [
    pytest.param({"status": 499, "status_text": "Client Closed Request"}, None,
                 id="the-app-answered-499"),
    pytest.param({"status": 499, "status_text": "Client Closed Request",
                  "response_comment": "the client left"}, "the client left",
                 id="the-client-left"),
    pytest.param({"status": 200, "status_text": "OK"}, None, id="ok"),
])
def test_response_comment_only_from_the_capture(changes: dict[str, Any],
                                                comment: Any) -> None:
    """A 499 the app answered itself is logged as such; the ASGI capture's 499 for a
    client gone before the response (no server sent it) says so in the comment."""
    response = entry_of(make_exchange(**changes))["response"]
    assert response.get("comment") == comment
    assert response["status"] == 499 or comment is None


def test_a_later_status_drops_the_client_gone_comment() -> None:
    """The recorder's comment belongs to the status it came with: a status given after
    it (the server's own 400 for a body it ended) has none."""
    from readme_metrics.capture.recorder import Recorder

    recorder = Recorder("id", 100)
    recorder.client_left(499, "Client Closed Request", "the client left")
    assert recorder.comment == "the client left"
    recorder.respond(400, "Bad Request", ())
    assert recorder.comment is None


@pytest.mark.parametrize(("started", "comment"), [
    pytest.param(201, "the server answered 500 itself (the app ended before any body "
                 "message) and sent none of the app's answer; the app answered 201",
                 id="after-the-apps-start"),
    pytest.param(0, "the server answered 500 itself (the app ended before any body "
                 "message) and sent none of the app's answer", id="nothing-started"),
])
def test_a_status_the_server_answered_itself_says_so(started: int, comment: str) -> None:
    """A 400 or 500 the server sent in place of the app's answer (granian's 500 for a
    start with no body message, the ASGI servers' and gunicorn's 400 for a malformed
    body) carried no comment: searching the app for a 500 it never sent, or the 201 it
    did, was all the log allowed. It says so as a 499's comment does."""
    from readme_metrics.capture.recorder import Recorder

    recorder = Recorder("id", 100)
    if started:
        recorder.respond(started, "Created", [("Content-Type", "text/plain")])
        recorder.record(b"created")
    recorder.server_answered(500, "Internal Server Error",
                             "the app ended before any body message")
    assert recorder.comment == comment
    response = entry_of(make_exchange(status=500, status_text="Internal Server Error",
                                      response_comment=recorder.comment))["response"]
    assert response["comment"] == comment and response["status"] == 500


# -- the log as the Metrics API gets it, through the middleware (SPEC 4, black box) --------


def test_log_envelope(inline_wrap: Any, collector: Collector) -> None:
    from readme_metrics import __version__

    result, log, _ = exchange(inline_wrap(reading_app(), development_mode=True), collector)
    assert set(log) == {"_id", "group", "clientIPAddress", "development", "request"}
    parsed = uuid.UUID(log["_id"])
    assert parsed.version == 4 and str(parsed) == log["_id"]
    assert result.header("x-documentation-url") == [f"{DOCS}/logs/{log['_id']}"]
    assert log["group"] == {"id": spec_mask(CALLER["api_key"]), "label": CALLER["label"],
                            "email": CALLER["email"]}
    assert log["development"] is True
    har = log["request"]
    assert set(har) == {"log"} and har["log"]["version"] == "1.2"
    assert har["log"]["creator"] == {
        "name": "readme-metrics (python)",
        "version": __version__,
        "comment": f"{platform.machine()}-{platform.system()}{platform.release()}"
                   f"/{platform.python_version()}",
    }
    assert len(har["log"]["entries"]) == 1


def test_development_false_by_default(inline_wrap: Any, collector: Collector) -> None:
    _, log, _ = exchange(inline_wrap(reading_app()), collector)
    assert log["development"] is False


def test_entry_timing_and_fixed_fields(inline_wrap: Any, collector: Collector) -> None:
    def slow(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        time.sleep(0.02)
        start_response("200 OK", [("Content-Type", "text/plain")])
        time.sleep(0.02)
        yield b"slow"

    before = time.time()
    _, _, entry = exchange(inline_wrap(slow), collector)
    after = time.time()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["startedDateTime"])
    started = time.mktime(time.strptime(entry["startedDateTime"][:19], "%Y-%m-%dT%H:%M:%S"))
    started = started - time.timezone + int(entry["startedDateTime"][20:23]) / 1000
    assert before - 1 <= started <= after  # UTC, the moment the request arrived
    timings = entry["timings"]
    assert set(timings) >= {"send", "wait", "receive"}
    assert all(timings[name] >= 0 for name in ("send", "wait", "receive"))
    assert entry["time"] == pytest.approx(timings["send"] + timings["wait"] + timings["receive"],
                                          abs=1e-9)
    assert timings["wait"] >= 15 and entry["time"] >= 30  # milliseconds, not seconds
    assert entry["cache"] == {}
    assert "pageref" in entry
    assert entry["request"]["headersSize"] == -1 and entry["response"]["headersSize"] == -1


def test_response_fields(inline_wrap: Any, collector: Collector) -> None:
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("X-Custom", "1"),
               ("Location", "https://elsewhere.example/x?y=1")]
    result, log, entry = exchange(
        inline_wrap(reading_app("302 Found It", headers, [b"caf\xc3\xa9", b" ", b"au lait"])),
        collector)
    response = entry["response"]
    assert response["status"] == 302
    assert response["statusText"] == "Found It"
    assert response["httpVersion"] == "HTTP/1.0"
    assert [(h["name"], h["value"]) for h in response["headers"]] == [
        *headers, ("x-documentation-url", f"{DOCS}/logs/{log['_id']}")]
    assert result.headers == [(h["name"], h["value"]) for h in response["headers"]]
    assert response["content"] == {"size": len("café au lait".encode()),
                                   "mimeType": "text/plain; charset=utf-8",
                                   "text": "café au lait"}
    assert response["bodySize"] == 13
    assert response["redirectURL"] == "https://elsewhere.example/x?y=1"
    assert response["headersSize"] == -1
    assert response["cookies"] == []


@pytest.mark.parametrize("status, code, text", [
    pytest.param("200 OK", 200, "OK", id="ok"),
    pytest.param("404 Nothing Here", 404, "Nothing Here", id="custom-reason"),
    pytest.param("599 Custom Reason Phrase", 599, "Custom Reason Phrase", id="unknown-code"),
    pytest.param("418 I'm a teapot", 418, "I'm a teapot", id="teapot"),
])
def test_status_text_from_the_status_line(inline_wrap: Any, collector: Collector, status: str,
                                          code: int, text: str) -> None:
    _, _, entry = exchange(inline_wrap(reading_app(status)), collector)
    assert (entry["response"]["status"], entry["response"]["statusText"]) == (code, text)
    assert entry["response"]["redirectURL"] == ""


@pytest.mark.parametrize("returned, expected", [
    pytest.param({"api_key": "k-1234567"}, {"id": spec_mask("k-1234567")}, id="api-key-only"),
    pytest.param({"id": "legacy-9876", "label": "Old", "email": "old@example.com"},
                 {"id": spec_mask("legacy-9876"), "label": "Old", "email": "old@example.com"},
                 id="legacy-id-key"),
    pytest.param({"api_key": "k-1", "label": "L", "email": "e@example.com", "plan": "pro",
                  "extra": 1},
                 {"id": spec_mask("k-1"), "label": "L", "email": "e@example.com"},
                 id="extra-keys-dropped"),
])
def test_group_is_masked_with_known_keys_only(inline_wrap: Any, collector: Collector,
                                              returned: dict[str, Any],
                                              expected: dict[str, str],
                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    _, log, _ = exchange(inline_wrap(reading_app(), grouping_function=lambda req: dict(returned)),
                         collector)
    assert log["group"] == expected
    extra = sorted(set(returned) - {"api_key", "id", "label", "email"})
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    if extra:
        assert len(warned) == 1 and all(key in warned[0].getMessage() for key in extra)
    else:
        assert warned == []
