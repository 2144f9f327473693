"""blackbox24: SPEC.md read line by line from outside, where the suite said least.

Each test uses the public API and real parts only: a real collector on 127.0.0.1
(tests/support/fake_api.py, or ``readme-metrics collect`` itself in a subprocess), real
Flask and Starlette apps, hypothesis for random input. Expected values come from SPEC's
words (the mask from hashlib, query pairs from urllib), never from the library's helpers.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Any, Callable, Optional
from urllib.error import HTTPError
from urllib.parse import parse_qsl, quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.asgi import MetricsMiddleware as AsgiMetricsMiddleware
from readme_metrics.cors import CORSMiddleware
from readme_metrics.request_id import RequestIdMiddleware
from tests.support.asgi import body_messages, http_scope, run
from tests.support.command import REPO_ROOT
from tests.support.contract import (
    API_KEY,
    inline_options,
    pairs,
    reading_app,
    run_python,
    spec_mask,
)
from tests.support.fake_api import INLINE_TIMEOUT, Collector, Reply
from tests.support.har_check import assert_valid_log
from tests.support.polling import wait_until
from tests.support.processes import read_line, start_server, stop_server
from tests.support.wsgi import run_wsgi, wsgi_environ


def entry_of(log: dict[str, Any]) -> dict[str, Any]:
    return log["request"]["log"]["entries"][0]


def one_log(middleware: Any, collector: Collector, before: int) -> dict[str, Any]:
    assert middleware.flush(5.0) is True
    logs = collector.wait_for_logs(before + 1)
    assert len(logs) == before + 1, "one exchange must give exactly one log"
    assert_valid_log(logs[-1])
    return logs[-1]


# -- SPEC 2: the documented import paths, in a fresh interpreter --------------------------

def test_every_documented_import_path_works_in_a_fresh_interpreter() -> None:
    script = (
        "from readme_metrics import MetricsApiConfig, MetricsMiddleware\n"
        "from readme_metrics.flask_readme import ReadMeMetrics\n"
        "from readme_metrics.django import MetricsMiddleware as Django\n"
        "from readme_metrics.VerifyWebhook import VerifyWebhook\n"
        "from readme_metrics.webhooks import VerificationError, VerifyWebhook as Code\n"
        "from readme_metrics.fastapi import ReadMeMetricsMiddleware\n"
        "from readme_metrics.asgi import MetricsMiddleware as Asgi\n"
        "from readme_metrics.cors import CORSMiddleware\n"
        "from readme_metrics.request_id import (RequestIdMiddleware, RequestIdFilter,\n"
        "                                       current_request_id)\n"
        "assert VerifyWebhook is Code and issubclass(VerificationError, Exception)\n"
        "assert callable(ReadMeMetrics.init_app)\n"
        "print('ok')\n"
    )
    done = run_python(script)
    assert (done.returncode, done.stdout.strip()) == (0, "ok"), done.stderr


# -- SPEC 2: argument over environment (and .env) over default ----------------------------

# option, variable, value for the environment, that value as the option reads it, an
# explicit argument that differs from both
PRECEDENCE = [
    ("buffer_length", "README_BUFFER_LENGTH", "7", 7, 3),
    ("flush_interval", "README_FLUSH_INTERVAL", "2.5", 2.5, 0),
    ("development_mode", "README_DEVELOPMENT_MODE", "true", True, False),
    ("background_worker_mode", "README_BACKGROUND_WORKER_MODE", "false", False, True),
    ("denylist", "README_DENYLIST", "password,token", ["password", "token"], ["ssn"]),
    ("allowlist", "README_ALLOWLIST", "id", ["id"], ["name"]),
    ("timeout", "README_TIMEOUT", "9", 9.0, 1.5),
    ("base_log_url", "README_BASE_LOG_URL", "https://env.example", "https://env.example",
     "https://arg.example"),
    ("metrics_api", "README_METRICS_SERVER", "http://127.0.0.1:9", "http://127.0.0.1:9",
     "http://127.0.0.1:8"),
    ("max_body_bytes", "README_MAX_BODY_BYTES", "100", 100, 0),
    ("max_queue_size", "README_MAX_QUEUE_SIZE", "50", 50, 10000),
    ("max_queue_bytes", "README_MAX_QUEUE_BYTES", "4096", 4096, 67108864),
    ("trusted_proxies", "README_TRUSTED_PROXIES", "2", 2, 0),
    ("shutdown_timeout", "README_SHUTDOWN_TIMEOUT", "1", 1.0, 5),
]


@pytest.mark.parametrize(("option", "variable", "text", "read", "argument"),
                         [pytest.param(*case, id=case[0]) for case in PRECEDENCE])
def test_argument_wins_over_dotenv_which_wins_over_the_default(
        option: str, variable: str, text: str, read: Any, argument: Any,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SPEC 2: "An explicit argument wins over the environment, which wins over the
    default", the environment read from a ``.env`` in the working folder too."""
    from readme_metrics import _env

    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(f"{variable}={text}\n")
    _env.reset()

    def made(**options: Any) -> MetricsApiConfig:
        return MetricsApiConfig(api_key="rdme_precedence", grouping_function=lambda r: None,
                                **options)

    assert getattr(made(), option) == read
    assert getattr(made(**{option: argument}), option) == argument


@pytest.mark.parametrize(("variable", "option"), [
    ("README_BUFFER_LENGTH", "buffer_length"), ("README_FLUSH_INTERVAL", "flush_interval"),
    ("README_TIMEOUT", "timeout"), ("README_MAX_BODY_BYTES", "max_body_bytes"),
    ("README_MAX_QUEUE_SIZE", "max_queue_size"), ("README_MAX_QUEUE_BYTES", "max_queue_bytes"),
    ("README_TRUSTED_PROXIES", "trusted_proxies"), ("README_SHUTDOWN_TIMEOUT", "shutdown_timeout"),
])
def test_an_unparsable_number_in_dotenv_names_the_option_and_the_variable(
        variable: str, option: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from readme_metrics import _env

    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(f"{variable}=twelve\n")
    _env.reset()
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(api_key="rdme_precedence", grouping_function=lambda r: None)
    assert option in str(raised.value) and variable in str(raised.value)


# -- SPEC 6: the grouping function's contract ---------------------------------------------

@pytest.mark.parametrize(("returned", "logged_key"), [
    pytest.param({"api_key": "caller-0001", "label": "L", "email": "e@x"}, "caller-0001",
                 id="api_key"),
    pytest.param({"id": "older-0002"}, "older-0002", id="older-id"),
    pytest.param({"api_key": "caller-0003", "plan": "gold"}, "caller-0003", id="extra-key"),
    pytest.param(None, None, id="none"),
    pytest.param(["caller-0004"], None, id="a-list"),
    pytest.param("caller-0005", None, id="a-string"),
    pytest.param({}, None, id="no-key"),
])
def test_what_the_grouping_function_returns_decides_the_log(
        returned: Any, logged_key: Optional[str], collector: Collector,
        inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    middleware = inline_wrap(reading_app(), grouping_function=lambda request: returned)
    result = run_wsgi(middleware, wsgi_environ(path="/g"))
    assert (result.status, result.body, result.error) == ("200 OK", b"ok", None)
    middleware.flush(5.0)
    if logged_key is None:
        assert collector.logs == []
        assert result.header("x-documentation-url") == []
        return
    [log] = collector.wait_for_logs(1)
    assert_valid_log(log)
    assert log["group"]["id"] == spec_mask(logged_key)
    assert set(log["group"]) <= {"id", "label", "email"}


def test_a_raising_grouping_function_is_logged_once_per_distinct_message(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        caplog: pytest.LogCaptureFixture) -> None:
    """SPEC 6: "If it raises ... the request is not logged, the error is logged once per
    distinct message, and the app is unaffected"."""
    def grouping(request: Any) -> dict[str, str]:
        raise LookupError(f"no caller for {request.path}")

    middleware = inline_wrap(reading_app(), grouping_function=grouping)
    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    for path in ["/a", "/a", "/b", "/a", "/b"]:
        result = run_wsgi(middleware, wsgi_environ(path=path))
        assert (result.status, result.body, result.error) == ("200 OK", b"ok", None)
    middleware.flush(2.0)
    assert collector.logs == []
    said = [record.getMessage() for record in caplog.records
            if record.levelno >= logging.WARNING and "LookupError" in record.getMessage()]
    assert len(said) == 2, said
    assert any("/a" in line for line in said) or len(set(said)) == 2


def test_the_grouping_function_can_read_a_json_body_the_app_reads_too(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    """SPEC 6: reading the request body inside it (``req.json``) works, and the app still
    reads the whole body (SPEC 5)."""
    app = reading_app()
    middleware = inline_wrap(app, grouping_function=lambda request: {
        "api_key": request.json["user"]})
    body = b'{"user": "owner-0042", "n": 1}'
    run_wsgi(middleware, wsgi_environ("POST", "/j", {"Content-Type": "application/json"},
                                      body))
    log = one_log(middleware, collector, 0)
    assert app.seen["body"] == body
    assert log["group"]["id"] == spec_mask("owner-0042")
    # SPEC 6: the caller's key never leaves in clear, also where the body carried it.
    assert "owner-0042" not in json.dumps(log)


# -- SPEC 4: HAR fields, random input -----------------------------------------------------

_names = st.text(alphabet="abcxyz_-.~ +&=%é/?", min_size=0, max_size=6)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pairs_in=st.lists(st.tuples(_names, _names), min_size=1, max_size=5),
       plus=st.booleans())
def test_query_pairs_are_decoded_in_order_and_the_url_keeps_the_query_as_received(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        pairs_in: list[tuple[str, str]], plus: bool) -> None:
    """SPEC 4: url with the query "left percent-encoded", queryString "decoded name/value
    pairs in order, repeated keys and blank values kept, ``+`` decoded as a space"."""
    safe = "" if plus else " "
    query = "&".join(f"{quote(k, safe=safe)}={quote(v, safe=safe)}".replace(" ", "+")
                     for k, v in pairs_in)
    before = len(collector.logs)
    middleware = inline_wrap(reading_app(), grouping_function=lambda r: {"api_key": "q-key-1"})
    run_wsgi(middleware, wsgi_environ(path="/q", query=query))
    entry = entry_of(one_log(middleware, collector, before))
    assert entry["request"]["url"] == f"http://127.0.0.1/q?{query}"
    expected = parse_qsl(query, keep_blank_values=True)
    assert [(p["name"], p["value"]) for p in entry["request"]["queryString"]] == expected


def test_the_entry_fields_spec_4_names_for_a_form_post(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    body = b"name=Owl+Bert&empty=&name=2"
    middleware = inline_wrap(reading_app(status="201 Created", headers=[
        ("Content-Type", "text/plain"), ("Location", "/things/1"),
        ("Set-Cookie", "sid=s3cr3t-value; Path=/; HttpOnly")]))
    environ = wsgi_environ("POST", "/things", {
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": "a=1; b=two"}, body)
    environ["SERVER_PROTOCOL"] = "HTTP/1.1"
    run_wsgi(middleware, environ)
    entry = entry_of(one_log(middleware, collector, 0))
    request, response = entry["request"], entry["response"]
    assert request["httpVersion"] == "HTTP/1.1"
    assert (request["headersSize"], request["bodySize"]) == (-1, len(body))
    assert request["postData"] == {"mimeType": "application/x-www-form-urlencoded",
                                   "params": [{"name": "name", "value": "Owl Bert"},
                                              {"name": "empty", "value": ""},
                                              {"name": "name", "value": "2"}]}
    assert [c["name"] for c in request["cookies"]] == ["a", "b"]
    assert pairs(request["headers"])["Cookie"] == spec_mask("a=1; b=two")
    assert (response["status"], response["statusText"]) == (201, "Created")
    assert response["redirectURL"] == "/things/1"
    assert [c["name"] for c in response["cookies"]] == ["sid"]
    assert response["content"] == {"size": 2, "mimeType": "text/plain", "text": "ok"}
    assert (response["headersSize"], response["bodySize"]) == (-1, 2)
    assert entry["cache"] == {}
    timings = entry["timings"]
    assert min(timings["send"], timings["wait"], timings["receive"]) >= 0
    assert entry["time"] == pytest.approx(timings["send"] + timings["wait"]
                                          + timings["receive"], abs=1e-6)


# -- SPEC 8: the companions stacked as COMPANIONS.md says ---------------------------------

def test_request_id_outside_metrics_outside_cors_all_show_in_the_log(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ALLOWED", "https://app.example")

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain"), ("Vary", "Accept")])
        return [b"hi"]

    stack = RequestIdMiddleware(inline_wrap(CORSMiddleware(app)))
    preflight = run_wsgi(stack, wsgi_environ("OPTIONS", "/x", {
        "Origin": "https://app.example", "Access-Control-Request-Method": "PUT"}))
    assert preflight.status is not None and preflight.status.startswith("204")
    assert preflight.header("Vary") == ["Origin"]
    result = run_wsgi(stack, wsgi_environ("GET", "/x", {"Origin": "https://app.example",
                                                         "X-Request-Id": "trace-0001"}))
    assert result.header("X-Request-Id") == ["trace-0001"]
    assert result.header("Vary") == ["Accept, Origin"]
    middleware_logs = collector.wait_for_logs(1)
    assert len(middleware_logs) == 1, "the preflight is skipped (skip_methods OPTIONS)"
    log = middleware_logs[0]
    assert_valid_log(log)
    entry = entry_of(log)
    assert pairs(entry["request"]["headers"])["X-Request-Id"] == "trace-0001"
    response_headers = pairs(entry["response"]["headers"])
    assert response_headers["Access-Control-Allow-Origin"] == "https://app.example"


def test_asgi_twin_logs_the_same_fields_for_the_same_request(
        collector: Collector) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"ok": true}'})

    middleware = AsgiMetricsMiddleware(app, MetricsApiConfig(
        api_key=API_KEY, metrics_api=collector.url, **inline_options({})))
    try:
        asyncio.run(run(middleware, http_scope("PUT", "/a b", b"x=1&y=a+b&y=",
                                               [(b"content-type", b"application/json")]),
                        body_messages(b'{"a":', b' 1}')))
        log = one_log(middleware, collector, 0)
    finally:
        middleware.close()
    request = entry_of(log)["request"]
    assert request["url"] == "http://api.example.com/a%20b?x=1&y=a+b&y="
    assert [(p["name"], p["value"]) for p in request["queryString"]] == [
        ("x", "1"), ("y", "a b"), ("y", "")]
    assert request["postData"] == {"mimeType": "application/json", "text": '{"a": 1}'}
    assert request["bodySize"] == 8
    assert log["clientIPAddress"] == "203.0.113.9"


# -- SPEC 9: the command's collector, as a user runs it -----------------------------------

def _basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def _call(url: str, method: str = "GET", body: Optional[bytes] = None,
          headers: Optional[dict[str, str]] = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except HTTPError as error:
        return error.code, error.read()


def test_collect_takes_what_the_middleware_sends_and_answers_the_docs_lookup(
        tmp_path: Path) -> None:
    key = "rdme_collect_key_0001"
    har = tmp_path / "calls.har"
    process = start_server([sys.executable, "-m", "readme_metrics", "collect", "--port", "0",
                            "--har", str(har), "--api-key", key],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=str(tmp_path),
                           env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    try:
        line = read_line(process.stdout, about="collect's first line")
        url = line.decode().strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:"), line
        assert _call(f"{url}/v1")[0] == 401
        status, answer = _call(f"{url}/v1", headers={"Authorization": _basic(key)})
        assert (status, json.loads(answer)) == (200, {"baseUrl": url})

        middleware = MetricsMiddleware(reading_app(), MetricsApiConfig(
            api_key=key, metrics_api=url, readme_api_url=url,
            grouping_function=lambda r: {"api_key": "caller-0099", "label": "Owl"},
            background_worker_mode=False, buffer_length=1, timeout=INLINE_TIMEOUT))
        try:
            urls = []
            for _ in range(40):  # the docs URL is looked up off the request path
                result = run_wsgi(middleware, wsgi_environ("POST", "/c", {
                    "Content-Type": "application/json"}, b'{"n": 1}'))
                urls = result.header("x-documentation-url")
                if urls:
                    break
                middleware.flush(5.0)
            assert middleware.flush(5.0) is True
        finally:
            middleware.close()
        assert urls and urls[0].startswith(f"{url}/logs/"), urls
        log_id = urls[0].rsplit("/", 1)[-1]
        status, answer = _call(f"{url}/api/logs/{log_id}")
        assert status == 200, answer
        wrong = _call(f"{url}/v1/request", "POST", b"[]", {
            "Authorization": _basic("another-key"), "Content-Type": "application/json"})
        assert wrong[0] == 401
    finally:
        stop_server(process)
    document = json.loads(har.read_text())
    assert document["log"]["version"] == "1.2"
    entries = document["log"]["entries"]
    assert entries and all(e["request"]["url"] == "http://127.0.0.1/c" for e in entries)
    assert all(e["request"]["postData"]["text"] == '{"n": 1}' for e in entries)


# -- SPEC 5 and 7: a log the delivery will drop gets no x-documentation-url ---------------

def _background(collector: Collector, **options: Any) -> MetricsMiddleware:
    return MetricsMiddleware(reading_app(), MetricsApiConfig(
        api_key=API_KEY, metrics_api=collector.url, base_log_url="https://docs.example.com",
        grouping_function=lambda request: {"api_key": "caller-0777"}, buffer_length=1,
        shutdown_timeout=2.0, timeout=INLINE_TIMEOUT, **options))


def _served(middleware: MetricsMiddleware, path: str) -> list[str]:
    """One request; once its log reached the delivery's door, its x-documentation-url."""
    captured = middleware.stats["captured"]
    result = run_wsgi(middleware, wsgi_environ(path=path))
    assert result.status == "200 OK"
    wait_until(lambda: middleware.stats["captured"] > captured)
    return result.header("x-documentation-url")


def test_no_documentation_url_for_a_log_a_full_queue_drops(collector: Collector) -> None:
    """SPEC 5: "Requests that are not logged get no x-documentation-url header either";
    SPEC 7: "when full, new logs are dropped". A link to a log that was never sent is a
    404 on the docs site: the header is left out while the queue is full (as it already
    was once delivery is closed)."""
    gate = threading.Event()
    collector.default = Reply(gate=gate)  # the API holds every POST: nothing settles
    middleware = _background(collector, max_queue_size=1)
    try:
        first = _served(middleware, "/kept")
        assert first and first[0].startswith("https://docs.example.com/logs/")
        for index in range(4):
            assert _served(middleware, f"/dropped{index}") == [], index
        assert middleware.stats["dropped_queue_full"] == 4
        gate.set()
        assert middleware.flush(10.0) is False  # (four of its logs were dropped)
        assert middleware.stats["sent"] == 1
        again = _served(middleware, "/room-again")
        assert again, "the queue has room again: the header is back"
        assert middleware.flush(10.0) is True
    finally:
        gate.set()
        middleware.close()
    logged = {log["_id"]: entry_of(log)["request"]["url"] for log in collector.logs}
    assert sorted(logged.values()) == ["http://127.0.0.1/kept", "http://127.0.0.1/room-again"]
    assert {first[0].rsplit("/", 1)[1], again[0].rsplit("/", 1)[1]} == set(logged)


def test_no_documentation_url_for_a_log_an_auth_pause_drops(collector: Collector) -> None:
    """SPEC 7: "401/403 pause delivery (the logs of that period are dropped ...)": those
    requests are not logged, so they get no x-documentation-url (SPEC 5)."""
    collector.replies.append(Reply(status=401))
    middleware = _background(collector)
    try:
        assert _served(middleware, "/refused")  # sent, refused: the pause starts
        assert middleware.flush(10.0) is False
        assert middleware.stats["dropped_auth"] == 1
        for index in range(3):
            assert _served(middleware, f"/paused{index}") == [], index
        assert middleware.stats["dropped_auth"] == 4
    finally:
        middleware.close()
    assert collector.logs == []


def test_asgi_no_documentation_url_for_a_log_a_full_queue_drops(collector: Collector) -> None:
    """The ASGI twin of the full-queue case: the same header rule."""
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})

    gate = threading.Event()
    collector.default = Reply(gate=gate)
    middleware = AsgiMetricsMiddleware(app, MetricsApiConfig(
        api_key=API_KEY, metrics_api=collector.url, base_log_url="https://docs.example.com",
        grouping_function=lambda request: {"api_key": "caller-0778"}, buffer_length=1,
        max_queue_size=1, shutdown_timeout=2.0, timeout=INLINE_TIMEOUT))

    def served(path: str) -> Optional[bytes]:
        captured = middleware.stats["captured"]
        done = asyncio.run(run(middleware, http_scope("GET", path), then="disconnect"))
        wait_until(lambda: middleware.stats["captured"] > captured)
        return done.headers.get(b"x-documentation-url")

    try:
        assert served("/kept")
        assert [served(f"/dropped{index}") for index in range(3)] == [None] * 3
        assert middleware.stats["dropped_queue_full"] == 3
    finally:
        gate.set()
        middleware.close()
    assert [entry_of(log)["request"]["url"] for log in collector.logs] == [
        "http://api.example.com/kept"]
