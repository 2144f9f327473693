"""RequestIdMiddleware, current_request_id() and RequestIdFilter (SPEC section 8)."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import os
import re
import subprocess
import sys
import textwrap
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterator
from wsgiref.util import FileWrapper
from wsgiref.validate import validator

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.middleware.lint import LintMiddleware

from readme_metrics import MetricsMiddleware
from readme_metrics.masking import mask
from readme_metrics.request_id import (
    ENVIRON_KEY,
    RequestIdFilter,
    RequestIdMiddleware,
    current_request_id,
)
from tests.support.command import REPO_ROOT
from tests.support.contract import hit
from tests.support.fake_api import INLINE_TIMEOUT, Collector
from tests.support.har_check import assert_valid_log
from tests.support.lint import validated_inside_lint
from tests.support.processes import run_command
from tests.support.strategies import ScriptedApp, scripted_apps
from tests.support.wsgi import ThreadedWSGIServer, WSGIResult, run_wsgi, wsgi_environ

pytestmark = [
    pytest.mark.filterwarnings("error::wsgiref.validate.WSGIWarning"),
    pytest.mark.filterwarnings("error::werkzeug.middleware.lint.WSGIWarning"),
    pytest.mark.filterwarnings("error::werkzeug.middleware.lint.HTTPWarning"),
]

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\Z")
TOKEN = "s3cr3t-bearer-token-value-9f2c"


def ignore_start(*args: Any) -> Any:
    """A start_response for direct calls where only the body matters."""


def checked(app: Any, **options: Any) -> Any:
    """RequestIdMiddleware checked from both sides (server-facing and app-facing)."""
    return validator(LintMiddleware(RequestIdMiddleware(validated_inside_lint(app),
                                                        **options)))


def plain_app() -> ScriptedApp:
    return ScriptedApp("200 OK", [("Content-Type", "text/plain")], [b"ok"])


def id_app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
    """Reports, as JSON, what the app sees of the id (streamed, so iteration is covered)."""
    seen = {"environ": environ.get(ENVIRON_KEY), "header": environ.get("HTTP_X_REQUEST_ID"),
            "call": current_request_id()}
    start_response("200 OK", [("Content-Type", "application/json")])
    yield b""
    seen["iteration"] = current_request_id()
    yield json.dumps(seen).encode()


# -- the id ----------------------------------------------------------------------------


def test_id_is_generated_when_absent() -> None:
    result = run_wsgi(checked(id_app), wsgi_environ())
    request_id = result.header("X-Request-Id")[0]
    assert UUID4.match(request_id)
    assert json.loads(result.body) == dict.fromkeys(
        ["environ", "header", "call", "iteration"], request_id)


@pytest.mark.parametrize("incoming", [
    pytest.param("abc-123", id="simple"),
    pytest.param("0f8fad5b-d9cb-469f-a165-70867728950e", id="uuid"),
    pytest.param("a" * 200, id="200-chars"),
    pytest.param("x", id="one-char"),
    pytest.param("req:1/2@host;v=\"3\"~!", id="punctuation"),
])
def test_sane_incoming_id_is_kept(incoming: str) -> None:
    result = run_wsgi(checked(id_app), wsgi_environ(headers={"X-Request-Id": incoming}))
    assert result.header("X-Request-Id") == [incoming]
    assert set(json.loads(result.body).values()) == {incoming}


@pytest.mark.parametrize("incoming", [
    pytest.param("", id="empty"),
    pytest.param("a" * 201, id="too-long"),
    pytest.param("has space", id="space"),
    pytest.param("tab\there", id="tab"),
    pytest.param("line\nbreak", id="newline"),
    pytest.param("nul\x00", id="nul"),
    pytest.param("del\x7f", id="del"),
    pytest.param("caf\xc3\xa9", id="non-ascii-latin1"),
    pytest.param("\u2028", id="unicode-separator"),
])
def test_malformed_incoming_id_is_replaced(incoming: str) -> None:
    result = run_wsgi(RequestIdMiddleware(id_app),
                      wsgi_environ(headers={"X-Request-Id": incoming}))
    request_id = result.header("X-Request-Id")[0]
    assert UUID4.match(request_id)
    assert set(json.loads(result.body).values()) == {request_id}


@settings(max_examples=300, deadline=None)
@given(incoming=st.one_of(st.text(), st.text(st.characters(min_codepoint=0, max_codepoint=255)),
                          st.binary(), st.integers(), st.none()))
def test_any_incoming_value_is_kept_only_when_sane(incoming: Any) -> None:
    """SPEC 8: an absent or invalid id (too long, a control character, a space, a comma
    (two id lines joined), beyond ASCII, or no str at all, which a broken server could
    put in the environ) is replaced by a uuid4, never an error for the app."""
    environ = wsgi_environ()
    environ["HTTP_X_REQUEST_ID"] = incoming
    result = run_wsgi(RequestIdMiddleware(id_app), environ)
    assert result.error is None
    [request_id] = result.header("X-Request-Id")
    sane = (isinstance(incoming, str) and 1 <= len(incoming) <= 200
            and all("!" <= c <= "~" and c != "," for c in incoming))
    assert request_id == incoming if sane else UUID4.match(request_id)
    assert set(json.loads(result.body).values()) == {request_id}


def test_each_request_gets_a_new_id() -> None:
    app = checked(plain_app())
    ids = {run_wsgi(app, wsgi_environ()).header("X-Request-Id")[0] for _ in range(20)}
    assert len(ids) == 20


@pytest.mark.parametrize("app_headers", [
    pytest.param([], id="app-sets-none"),
    pytest.param([("X-Request-Id", "app-made")], id="app-sets-one"),
    pytest.param([("x-request-id", "a"), ("X-REQUEST-ID", "b")], id="app-sets-two"),
])
def test_response_carries_exactly_the_request_id(app_headers: list[tuple[str, str]]) -> None:
    app = ScriptedApp("200 OK", [("Content-Type", "text/plain"), *app_headers,
                                 ("X-Other", "1")], [b"x"])
    result = run_wsgi(checked(app), wsgi_environ(headers={"X-Request-Id": "incoming-1"}))
    assert result.headers == [("Content-Type", "text/plain"), ("X-Other", "1"),
                              ("X-Request-Id", "incoming-1")]


def test_header_name_from_argument_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    def correlation_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["HTTP_X_CORRELATION_ID"].encode()]

    monkeypatch.setenv("REQUEST_ID_HEADER", "X-Correlation-Id")
    from_env = run_wsgi(checked(correlation_app),
                        wsgi_environ(headers={"X-Correlation-Id": "c-1", "X-Request-Id": "r"}))
    assert from_env.body == b"c-1"
    assert from_env.header("X-Correlation-Id") == ["c-1"]
    assert from_env.header("X-Request-Id") == []
    from_arg = run_wsgi(checked(id_app, header="X-Request-Id"),
                        wsgi_environ(headers={"X-Request-Id": "r-1"}))
    assert from_arg.header("X-Request-Id") == ["r-1"]
    assert RequestIdMiddleware(plain_app(), header="Trace").header == "Trace"


@pytest.mark.parametrize("value", ["", "  ", "\t"])
def test_a_blank_header_name_in_the_environment_is_the_default(
        monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    """``REQUEST_ID_HEADER=`` (compose files, .env templates) means unset."""
    monkeypatch.setenv("REQUEST_ID_HEADER", value)
    assert RequestIdMiddleware(plain_app()).header == "X-Request-Id"


@pytest.mark.parametrize("name", ["X Request", "X-Id:", "Ünï", "a\nb"])
@pytest.mark.parametrize("source", ["argument", "environment"])
def test_invalid_header_name_is_refused(monkeypatch: pytest.MonkeyPatch, name: str,
                                        source: str) -> None:
    if source == "environment":
        monkeypatch.setenv("REQUEST_ID_HEADER", name)
    with pytest.raises(ValueError, match=r"header \(REQUEST_ID_HEADER\)"):
        RequestIdMiddleware(plain_app(), header=name if source == "argument" else None)


# -- current_request_id() ----------------------------------------------------------------


def test_current_request_id_is_none_outside_a_request() -> None:
    assert current_request_id() is None
    run_wsgi(checked(id_app), wsgi_environ())
    assert current_request_id() is None


def test_context_covers_call_iteration_and_close_then_is_reset() -> None:
    seen: dict[str, Any] = {}

    class Body:
        def __iter__(self) -> Iterator[bytes]:
            seen["iter"] = current_request_id()
            yield b"a"
            seen["second"] = current_request_id()
            yield b"b"

        def close(self) -> None:
            seen["close"] = current_request_id()

    def app(environ: dict[str, Any], start_response: Any) -> Body:
        seen["call"] = current_request_id()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Body()

    result = checked(app)(wsgi_environ(headers={"X-Request-Id": "ctx-1"}),
                          lambda status, headers, exc_info=None: None)
    assert current_request_id() is None
    chunks = []
    for chunk in result:
        chunks.append(chunk)
        # Between chunks the server's own code runs: no request context leaks into it.
        assert current_request_id() is None
    result.close()
    assert chunks == [b"a", b"b"]
    assert seen == {"call": "ctx-1", "iter": "ctx-1", "second": "ctx-1", "close": "ctx-1"}
    assert current_request_id() is None


def test_interleaved_responses_in_one_thread_keep_their_ids() -> None:
    app: Any = RequestIdMiddleware(id_app)
    first = app(wsgi_environ(headers={"X-Request-Id": "first"}), ignore_start)
    second = app(wsgi_environ(headers={"X-Request-Id": "second"}), ignore_start)
    first_iter, second_iter = iter(first), iter(second)
    next(first_iter), next(second_iter)
    bodies = [next(second_iter), next(first_iter)]
    first.close(), second.close()
    assert [json.loads(body)["iteration"] for body in bodies] == ["second", "first"]


def test_nested_middlewares_see_their_own_id() -> None:
    seen = []

    def inner_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(current_request_id())
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b""]

    inner = RequestIdMiddleware(inner_app, header="X-Inner-Id")

    def outer_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(current_request_id())
        run_wsgi(inner, wsgi_environ(headers={"X-Inner-Id": "inner"}))
        seen.append(current_request_id())
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b""]

    run_wsgi(checked(outer_app), wsgi_environ(headers={"X-Request-Id": "outer"}))
    assert seen == ["outer", "inner", "outer"]


def test_list_and_file_wrapper_responses_are_returned_as_is() -> None:
    wrapped: dict[str, Any] = {}

    def file_app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "text/plain")])
        wrapped["file"] = environ["wsgi.file_wrapper"](io.BytesIO(b"file body"))
        return wrapped["file"]

    environ = wsgi_environ()
    environ["wsgi.file_wrapper"] = FileWrapper
    assert RequestIdMiddleware(file_app)(environ, ignore_start) is wrapped["file"]
    body = [b"list body"]

    def list_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return body

    assert RequestIdMiddleware(list_app)(wsgi_environ(), ignore_start) is body


class _Sized:
    """A response iterable with a length that is no list (as the metrics middleware's)."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Any:
        return iter(self.chunks)

    def __len__(self) -> int:
        return len(self.chunks)


def test_a_sized_response_keeps_its_length() -> None:
    """wsgiref (and runserver) set Content-Length from ``len(result) == 1``: a response
    that loses its length goes out without one. The README stack wraps the metrics
    middleware, whose response to a request with an unread body has a length."""

    def app(environ: dict[str, Any], start_response: Any) -> _Sized:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return _Sized([b"one chunk"])

    result = RequestIdMiddleware(app)(wsgi_environ(), ignore_start)
    assert len(result) == 1  # type: ignore[arg-type]
    assert list(result) == [b"one chunk"]

    def unsized_app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter([b"a"])

    assert not hasattr(RequestIdMiddleware(unsized_app)(wsgi_environ(), ignore_start),
                       "__len__")


def test_eight_threads_on_a_real_server_never_mix_ids() -> None:
    threads = 8
    # Every request waits until all eight are inside the app at once, twice, so the
    # context variable is read while the other requests are really in flight.
    in_call = threading.Barrier(threads, timeout=30)
    in_body = threading.Barrier(threads, timeout=30)
    records: list[logging.LogRecord] = []
    log_filter = RequestIdFilter()

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    handler.addFilter(log_filter)
    logger = logging.getLogger("tests.request_id.threads")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        seen = [current_request_id()]
        in_call.wait()
        seen.append(current_request_id())
        logger.info("handling %s", environ[ENVIRON_KEY])
        start_response("200 OK", [("Content-Type", "application/json")])
        yield b""
        in_body.wait()
        seen.append(current_request_id())
        yield json.dumps(seen).encode()

    def fetch(index: int) -> tuple[str, list[str], str]:
        request_id = f"thread-{index}"
        response = requests.get(server.url, headers={"X-Request-Id": request_id}, timeout=60)
        return request_id, response.json(), response.headers["X-Request-Id"]

    try:
        with ThreadedWSGIServer(RequestIdMiddleware(app)) as server, \
                ThreadPoolExecutor(threads) as pool:
            results = list(pool.map(fetch, range(threads)))
    finally:
        logger.removeHandler(handler)
    for request_id, seen, echoed in results:
        assert seen == [request_id] * 3
        assert echoed == request_id
    assert sorted(r.request_id for r in records) == sorted(  # type: ignore[attr-defined]
        f"thread-{index}" for index in range(threads))
    assert all(r.getMessage() == f"handling {r.request_id}"  # type: ignore[attr-defined]
               for r in records)
    assert current_request_id() is None


# -- differential: wrapped equals bare, minus the id header ------------------------------

INCOMING = st.one_of(
    st.none(), st.sampled_from(["abc", "a" * 200, "a" * 201, "", "has space"]),
    st.text(st.characters(min_codepoint=0, max_codepoint=0xFF), max_size=210),
)
APP_ID_HEADER = st.tuples(st.sampled_from(["X-Request-Id", "x-request-id"]),
                          st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E),
                                  max_size=20))


def _without_id(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, value) for name, value in headers if name.lower() != "x-request-id"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(app=scripted_apps(APP_ID_HEADER),
       method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"]),
       incoming=INCOMING)
def test_wrapped_equals_bare(app: ScriptedApp, method: str, incoming: str | None) -> None:
    headers = {} if incoming is None else {"X-Request-Id": incoming}
    bare_app = ScriptedApp(app.status, app.headers, app.chunks, app.mode)
    bare = run_wsgi(validator(bare_app), wsgi_environ(method, "/", headers, b"body"))
    wrapped = run_wsgi(checked(app), wsgi_environ(method, "/", headers, b"body"))
    assert (wrapped.status, wrapped.body, wrapped.error_repr) == (
        bare.status, bare.body, bare.error_repr)
    assert (app.calls, app.closed) == (bare_app.calls, bare_app.closed)
    request_id = app.environs[0][ENVIRON_KEY]
    assert app.environs[0]["HTTP_X_REQUEST_ID"] == request_id
    # A comma makes no id (two id lines joined: request_id._SANE_ID).
    if incoming is not None and re.fullmatch(r"[\x21-\x2b\x2d-\x7e]{1,200}", incoming):
        assert request_id == incoming
    else:
        assert UUID4.match(request_id)
    if bare.status is not None:
        assert _without_id(wrapped.headers) == _without_id(bare.headers)
        assert wrapped.headers[-1] == ("X-Request-Id", request_id)
        assert len(wrapped.header("X-Request-Id")) == 1
    assert current_request_id() is None


# -- RequestIdFilter -------------------------------------------------------------------


def _record() -> logging.LogRecord:
    return logging.LogRecord("app", logging.INFO, __file__, 1, "message", None, None)


def _filtered_in_request(log_filter: logging.Filter, authorization: str | None,
                         request_id: str = "filter-1") -> logging.LogRecord:
    records = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        record = _record()
        assert log_filter.filter(record) is True
        records.append(record)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b""]

    headers = {"X-Request-Id": request_id}
    if authorization is not None:
        headers["Authorization"] = authorization
    run_wsgi(checked(app), wsgi_environ(headers=headers))
    return records[0]


def test_filter_outside_a_request() -> None:
    record = _record()
    assert RequestIdFilter().filter(record) is True
    assert (record.request_id, record.auth_token) == ("-", "-")  # type: ignore[attr-defined]


@pytest.mark.parametrize("authorization, log_tokens, env, expected", [
    pytest.param(f"Bearer {TOKEN}", None, None, mask(TOKEN), id="default-on"),
    pytest.param(f"bearer   {TOKEN}", None, None, mask(TOKEN), id="scheme-case"),
    pytest.param(f"Bearer {TOKEN}", None, "false", "-", id="env-off"),
    pytest.param(f"Bearer {TOKEN}", None, "0", "-", id="env-zero"),
    pytest.param(f"Bearer {TOKEN}", None, "true", mask(TOKEN), id="env-on"),
    pytest.param(f"Bearer {TOKEN}", False, "true", "-", id="argument-off-wins"),
    pytest.param(f"Bearer {TOKEN}", True, "false", mask(TOKEN), id="argument-on-wins"),
    pytest.param("Basic dXNlcjpwYXNz", None, None, mask("Basic dXNlcjpwYXNz"),
                 id="other-scheme-masked-whole"),
    pytest.param("Bearer ", None, None, "-", id="empty-bearer"),
    pytest.param(None, None, None, "-", id="no-authorization"),
])
def test_filter_masks_the_bearer_token(
    monkeypatch: pytest.MonkeyPatch, authorization: str | None, log_tokens: bool | None,
    env: str | None, expected: str,
) -> None:
    if env is not None:
        monkeypatch.setenv("LOG_TOKENS", env)
    record = _filtered_in_request(RequestIdFilter(log_tokens=log_tokens), authorization)
    assert record.request_id == "filter-1"  # type: ignore[attr-defined]
    assert record.auth_token == expected  # type: ignore[attr-defined]
    assert TOKEN not in repr(vars(record))


def test_invalid_log_tokens_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_TOKENS", "sometimes")
    with pytest.raises(ValueError, match=r"log_tokens \(LOG_TOKENS\) must be true or false, "
                       r"got .sometimes."):
        RequestIdFilter()


def test_a_log_tokens_argument_that_is_no_bool_is_refused() -> None:
    """It said "must be true or false, got 'yes'": an argument is a bool, a string is what
    the environment holds."""
    with pytest.raises(ValueError) as raised:
        RequestIdFilter(log_tokens="yes")  # type: ignore[arg-type]
    assert str(raised.value) == (
        "readme_metrics: log_tokens must be a bool (True or False), got the str 'yes'; "
        "strings like 'yes' are read from LOG_TOKENS")
    with pytest.raises(ValueError, match=r"log_tokens \(LOG_TOKENS\) must be a bool "
                       r"\(True or False\), got the int 1$"):
        RequestIdFilter(log_tokens=1)  # type: ignore[arg-type]


@pytest.fixture
def dict_config_logging() -> Iterator[list[str]]:
    """Root logging configured by dictConfig with the filter; yields the formatted lines."""
    lines: list[str] = []
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)
            lines.append(self.format(record))

    root = logging.getLogger()
    saved = (root.level, list(root.handlers), root.filters[:])
    library = logging.getLogger("readme_metrics")
    saved_library_level = library.level
    logging.config.dictConfig({
        "version": 1,
        "disable_existing_loggers": False,  # other tests' loggers must keep working
        "filters": {"request_id": {"()": "readme_metrics.request_id.RequestIdFilter"}},
        "formatters": {"line": {
            "format": "%(levelname)s [%(request_id)s] [%(auth_token)s] %(name)s: %(message)s",
        }},
        "handlers": {"collect": {"()": lambda: Collect(), "formatter": "line",
                                 "filters": ["request_id"]}},
        "root": {"level": "DEBUG", "handlers": ["collect"]},
        "loggers": {"readme_metrics": {"level": "DEBUG"}},
    })
    try:
        yield lines
    finally:
        handler = next(h for h in root.handlers if isinstance(h, Collect))
        root.removeHandler(handler)
        root.setLevel(saved[0])
        for old in saved[1]:
            if old not in root.handlers:
                root.addHandler(old)
        library.setLevel(saved_library_level)
        # Every record anywhere: never the raw token, in any attribute.
        for record in records:
            assert TOKEN not in repr(vars(record)), record
            assert TOKEN not in record.getMessage()


def test_dict_config_format_with_request_id(dict_config_logging: list[str]) -> None:
    log = logging.getLogger("tests.app")

    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        log.info("order created")
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"ok"
        log.warning("streamed")

    with ThreadedWSGIServer(RequestIdMiddleware(app)) as server:
        requests.get(server.url, headers={"X-Request-Id": "dict-1",
                                          "Authorization": f"Bearer {TOKEN}"}, timeout=30)
        requests.get(server.url, headers={"X-Request-Id": "dict-2"}, timeout=30)
    log.info("outside")
    assert f"INFO [dict-1] [{mask(TOKEN)}] tests.app: order created" in dict_config_logging
    assert f"WARNING [dict-1] [{mask(TOKEN)}] tests.app: streamed" in dict_config_logging
    assert "INFO [dict-2] [-] tests.app: order created" in dict_config_logging
    assert "INFO [-] [-] tests.app: outside" in dict_config_logging
    assert not any(TOKEN in line for line in dict_config_logging)


def _result_id(result: WSGIResult) -> str:
    return result.header("X-Request-Id")[0]


def test_uuid_ids_are_version_4() -> None:
    request_id = _result_id(run_wsgi(checked(plain_app()), wsgi_environ()))
    assert uuid.UUID(request_id).version == 4


# -- stacked with MetricsMiddleware and CORSMiddleware -----------------------------------


def test_full_stack_metrics_log_carries_the_id_and_no_raw_token(
    collector: Any, dict_config_logging: list[str]
) -> None:
    from readme_metrics import MetricsApiConfig, MetricsMiddleware
    from readme_metrics.cors import CORSMiddleware

    log = logging.getLogger("tests.app")

    def api(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        log.info("serving %s", environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"id": current_request_id()}).encode()]

    config = MetricsApiConfig(
        api_key="rdme_abcdefghijklmnopqrstuvwxyz", metrics_api=collector.url,
        grouping_function=lambda req: {"api_key": "owlbert-key", "label": "Owlbert"},
        buffer_length=1, background_worker_mode=False, timeout=INLINE_TIMEOUT,
        base_log_url="https://docs.example.com",  # no docs URL lookup off loopback
    )
    metrics = MetricsMiddleware(CORSMiddleware(api, ["https://app.example"]), config)
    stack = RequestIdMiddleware(metrics)
    auth = {"Authorization": f"Bearer {TOKEN}", "Origin": "https://app.example"}
    try:
        with ThreadedWSGIServer(stack) as server, requests.Session() as session:
            kept = session.get(server.url + "/kept", timeout=30,
                               headers={"X-Request-Id": "stack-1", **auth})
            made = session.get(server.url + "/made", timeout=30,
                               headers={"X-Request-Id": "bad id", **auth})
            preflight = session.options(server.url + "/kept", timeout=30, headers={
                "Origin": "https://app.example", "Access-Control-Request-Method": "PUT"})
            assert metrics.flush(10)
    finally:
        metrics.close()
    made_id = made.headers["X-Request-Id"]
    assert UUID4.match(made_id)
    assert (kept.json()["id"], made.json()["id"]) == ("stack-1", made_id)
    assert preflight.status_code == 204 and UUID4.match(preflight.headers["X-Request-Id"])
    logs = collector.logs
    assert len(logs) == 2  # the preflight is not logged (skip_methods: OPTIONS)
    by_path: dict[str, dict[str, Any]] = {}
    for item in logs:
        entry = item["request"]["log"]["entries"][0]
        by_path[entry["request"]["url"].rsplit("/", 1)[1]] = entry
    for path, request_id in (("kept", "stack-1"), ("made", made_id)):
        request_headers = {h["name"].lower(): h["value"]
                           for h in by_path[path]["request"]["headers"]}
        assert request_headers["x-request-id"] == request_id
        assert request_headers["authorization"] != f"Bearer {TOKEN}"
        # CORS sits inside metrics, so the log shows the CORS headers the client got.
        response_headers = {h["name"].lower(): h["value"]
                            for h in by_path[path]["response"]["headers"]}
        assert response_headers["access-control-allow-origin"] == "https://app.example"
    assert TOKEN not in json.dumps(logs)
    assert f"INFO [stack-1] [{mask(TOKEN)}] tests.app: serving /kept" in dict_config_logging
    assert f"INFO [{made_id}] [{mask(TOKEN)}] tests.app: serving /made" in dict_config_logging
    assert not any(TOKEN in line for line in dict_config_logging)


# -- the README recipe for forwarding the id on outgoing requests ------------------------


class RequestIdSession(requests.Session):
    """A Session that forwards the current request id on every outgoing call (README)."""

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
        request_id = current_request_id()
        if request_id is not None:
            headers = requests.structures.CaseInsensitiveDict(kwargs.pop("headers", None) or {})
            headers.setdefault("X-Request-Id", request_id)
            kwargs["headers"] = headers
        return super().request(method, url, *args, **kwargs)


def test_forwarding_recipe_sends_the_id_downstream() -> None:
    def downstream(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ.get("HTTP_X_REQUEST_ID", "none").encode()]

    with ThreadedWSGIServer(downstream) as billing, RequestIdSession() as session:
        def api(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            forwarded = session.get(billing.url, timeout=30).text
            explicit = session.get(billing.url, headers={"x-request-id": "mine"},
                                   timeout=30).text
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [f"{forwarded} {explicit}".encode()]

        with ThreadedWSGIServer(RequestIdMiddleware(api)) as server:
            response = requests.get(server.url, headers={"X-Request-Id": "fwd-1"}, timeout=30)
        outside = session.get(billing.url, timeout=30).text
    assert response.text == "fwd-1 mine"
    assert outside == "none"


# -- with the metrics middleware, and a .env file (SPEC 8, black box) ----------------------


def request_id_app(seen: list[dict[str, Any]]) -> Any:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        seen.append({"current": current_request_id(), "environ": dict(environ)})
        logging.getLogger("audit.app").info("handling %s", environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    return app


@pytest.mark.parametrize("order", ["request-id-outside", "metrics-outside"])
def test_metrics_log_carries_the_request_id(collector: Collector,
                                            background_wrap: Callable[..., MetricsMiddleware],
                                            order: str) -> None:
    """SPEC 8: ... echoes it on the response, and the metrics log carries it."""
    seen: list[dict[str, Any]] = []
    if order == "request-id-outside":
        stack: Any = RequestIdMiddleware(background_wrap(request_id_app(seen), buffer_length=1))
        metrics = stack.app
    else:
        metrics = stack = background_wrap(RequestIdMiddleware(request_id_app(seen)),
                                          buffer_length=1)
    result = hit(stack, "/rid")
    [request_id] = result.header("X-Request-Id")
    assert metrics.flush(10.0) is True
    [log] = collector.logs
    assert_valid_log(log)
    entry = log["request"]["log"]["entries"][0]
    carried = [h["value"] for part in ("request", "response")
               for h in entry[part]["headers"] if h["name"].lower() == "x-request-id"]
    assert request_id in carried


DOTENV_SCRIPT = textwrap.dedent("""
    import logging
    from wsgiref.util import setup_testing_defaults
    from readme_metrics.cors import CORSMiddleware
    from readme_metrics.request_id import RequestIdFilter, RequestIdMiddleware

    records = []

    def app(environ, start_response):
        record = logging.LogRecord("x", logging.INFO, "app.py", 1, "m", None, None)
        RequestIdFilter().filter(record)
        records.append(record)
        start_response("200 OK", [])
        return [b"ok"]

    seen = {}
    environ = {"HTTP_ORIGIN": "https://dotenv.example", "HTTP_X_TRACE": "trace-1",
               "HTTP_AUTHORIZATION": "Bearer secret-token"}
    setup_testing_defaults(environ)
    stack = RequestIdMiddleware(CORSMiddleware(app))
    b"".join(stack(environ, lambda status, headers, exc_info=None: seen.update(headers)))
    [record] = records
    print(seen.get("Access-Control-Allow-Origin"), seen.get("X-Trace"), record.request_id,
          record.auth_token)
""")


def test_companions_read_a_dotenv_file(tmp_path: Path) -> None:
    """SPEC 8: configured from the environment with environs (which reads .env too)."""
    (tmp_path / ".env").write_text("CORS_ALLOWED=https://dotenv.example\n"
                                   "REQUEST_ID_HEADER=X-Trace\nLOG_TOKENS=false\n")
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("CORS_ALLOWED", "REQUEST_ID_HEADER", "LOG_TOKENS")}
    done = run_command([sys.executable, "-c", DOTENV_SCRIPT], capture_output=True,
                       text=True, timeout=60, cwd=str(tmp_path), stdin=subprocess.DEVNULL,
                       env={**environment, "PYTHONPATH": str(REPO_ROOT)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["https://dotenv.example", "trace-1", "trace-1", "-"]


def test_an_invalid_header_name_says_where_it_came_from(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As the README_* errors do: "(from the environment)", or the .env file it was read
    from; an argument is the caller's own code."""
    monkeypatch.setenv("REQUEST_ID_HEADER", "X Request")
    with pytest.raises(ValueError) as error:
        RequestIdMiddleware(plain_app())
    assert str(error.value).endswith("got 'X Request' (from the environment)")
    monkeypatch.delenv("REQUEST_ID_HEADER")
    (tmp_path / ".env").write_text("REQUEST_ID_HEADER=X Request\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError) as error:
        RequestIdMiddleware(plain_app())
    assert str(error.value).endswith(f"got 'X Request' (from {tmp_path / '.env'})")
    with pytest.raises(ValueError) as error:
        RequestIdMiddleware(plain_app(), header="X Request")
    assert str(error.value).endswith("got 'X Request'")
