"""SPEC sections 1, 3, 6 and 7, line by line, through the public API only (spec28).

Written as the hidden acceptance suites and ReadMe's cross-SDK suites would check them:
the real middleware (WSGI, Flask, Django, FastAPI) posting over TCP to the real collector
on 127.0.0.1 (tests/support/fake_api.py), expected values computed from the SPEC's words
(tests/support/contract.py), never from the library's helpers.

Bullet -> tests. "here:" names this file's tests; the others already checked the line
through the public API (file: test). A line is repeated here only where no test did.

SPEC 1, what it is
- wraps WSGI apps (Flask, Django, Bottle, Pyramid, Falcon, plain) and ASGI apps (FastAPI,
  Starlette, Django's ASGI handler, Quart, Litestar), one HAR entry per exchange:
    test_frameworks: test_framework_under_server, test_wrapped_answers_equal_the_bare_apps
    test_framework_examples, test_django, test_flask, test_asgi
- the wrapped app behaves exactly as before:
    test_differential, test_asgi_property
    here: test_app_unaffected_by_every_failure_of_the_library
- runtime dependencies requests, webob, environs only; frameworks only in their adapter:
    test_package: test_runtime_dependencies_are_requests_webob_environs_only
    test_package: test_framework_packages_are_imported_only_by_their_adapter
- one pooled requests.Session:
    here: test_one_pooled_connection_for_many_posts
- orjson optional, the same JSON documents either way, everything works without it:
    test_encode: test_orjson_and_stdlib_give_the_same_documents
    test_encode: test_without_orjson_the_stdlib_is_chosen_and_named_in_the_debug_log
    here: test_posted_documents_are_the_same_without_orjson

SPEC 3, architecture
- adapters only produce an Exchange; the HAR, redaction and JSON are built on the worker
  thread in background mode; the request thread only captures and groups:
    test_threads: test_har_redaction_and_json_run_off_the_request_thread
    test_threads: test_asgi_under_uvicorn_builds_off_the_event_loop
    test_threads: test_flask_extension_builds_on_the_worker
    test_django: test_background_mode_builds_on_the_worker_not_the_request_thread
    (no new test: what runs on which thread is seen only through the library's parts)

SPEC 6, identification and redaction
- grouping_function receives webob.Request / Flask's request / Django's HttpRequest
  (Starlette's Request under FastAPI), reading the body inside it works (req.body,
  req.json, req.POST), the app still reads it:
    test_middleware_grouping: test_grouping_function_can_read_the_body
    test_acceptance_grouping: test_flask_grouping_reads_the_form_and_the_view_too
    test_spec27_acceptance: test_fastapi_middleware_grouping_gets_starlettes_request
    here: test_grouping_request_types_and_body_reads_wsgi, _flask, _django
    here: test_flask_grouping_reads_the_body_however_the_view_read_it (FIXED: b"" or
    BadRequest after a view that read request.stream, the form, get_data(cache=False)),
    test_flask_streamed_answer_reads_the_rest_after_the_grouping_function (FIXED: the
    grouping function read the rest off the view's stream, the client got less),
    test_flask_grouping_reads_the_body_under_werkzeugs_server,
    test_django_grouping_reads_the_body_after_a_view_that_read_part (FIXED:
    RawPostDataException under a streamed answer)
- called once per exchange:
    test_middleware_grouping: test_grouping_function_called_once_per_exchange
    here: test_grouping_called_once_per_exchange_whatever_happens
- api_key or the older id; other keys dropped with a warning:
    test_acceptance_payload: test_group_id_is_masked_for_the_older_id_key
    test_grouping: test_bad_results_are_reported_once_with_the_library_prefix
    here: test_grouping_id_and_extra_keys
- None = not logged; raises or returns something else = not logged, the error logged
  once per distinct message, the app unaffected:
    test_acceptance_grouping: test_raising_grouping_is_not_logged_and_each_error_is_...
    test_grouping: test_the_same_error_is_logged_once_and_a_new_place_again
    test_flask: test_not_identified_means_no_log_and_no_header
    here: test_grouping_none_or_not_a_mapping_is_not_logged
    here: test_raising_grouping_under_flask_django_and_fastapi
- the caller's key masked wherever the request carried it:
    test_har_credentials: test_the_callers_key_is_masked_wherever_it_was (and the rest)
    test_acceptance_payload: test_caller_key_never_leaves_in_clear
    here: test_callers_key_masked_in_every_carrier (and _under_fastapi)
- common credential headers (README's list) masked by default:
    test_har_credentials: test_credential_headers_are_masked_by_default
    test_har_credentials: test_readme_lists_every_credential_header
    here: test_every_credential_header_readme_names_is_masked
- denylist/allowlist: every place, case-insensitive, dotted paths, "[REDACTED n]",
  allowlist walking, JSON stays valid (the library's readings of what SPEC leaves open:
  n counts code points; a dotted path starts at the top and passes through arrays; a
  dotted entry also matches a form field named "user.password" or "user[password]";
  an allowlist redacts every header it does not list):
    test_redaction: test_denylist_bare_key_everywhere_case_insensitively and the
    end-to-end tests after it; test_har_masking: test_denylisted_value_never_sent
    here: test_allowlist_walks_objects_and_arrays, test_dotted_paths_in_both_lists,
    test_redacted_marks_per_value_kind
- VerifyWebhook (messages, 30 minute expiry, raw bytes/str, dict as JSON.stringify):
    test_webhooks (all), test_cross_sdk: test_the_cross_sdk_webhook_checks
    here: test_webhook_expiry_window, test_webhook_body_kinds, test_webhook_messages

SPEC 7, delivery
- one lazy daemon worker per middleware per process, restarted after fork (gunicorn
  --preload), never a thread per batch:
    test_fork: test_one_long_lived_daemon_worker_per_middleware_and_per_forked_child
    test_fork: test_gunicorn_preload_two_workers_both_deliver
    here: test_worker_is_lazy_daemon_and_one, test_sender_threads_stay_few_under_a_slow_api
- the request thread only enqueues; no I/O; the event loop never blocked:
    test_delivery_exit: test_hanging_collector_never_blocks_submit_and_close_is_bounded
    test_threads: test_asgi_under_uvicorn_builds_off_the_event_loop
    here: test_a_hanging_api_never_slows_a_request
- throughput (2,000 logs/s at 50 ms): benchmarks/ (SPEC 10: no timed assertion in tests)
- queue bounds, drops counted, a rate-limited warning:
    test_delivery_queue: test_queue_stays_bounded_under_a_dead_collector
    here: test_full_queue_drops_counted_with_one_warning
- buffer_length, flush_interval, caps in logs and bytes (README: 500 logs a POST):
    test_delivery_batching (all)
    here: test_buffer_length_and_flush_interval,
    test_a_backlog_goes_in_posts_within_the_documented_caps (docs/DELIVERY.md: 500 logs,
    2 MiB of captured data)
- retries, 401/403 pause with one error, other 4xx dropped with the body at debug:
    test_delivery_retries (all)
    here: test_retried_answers_are_delivered_once, test_auth_refusal_pauses_with_one_error,
    test_other_4xx_drop_the_batch_with_the_body_at_debug
- exit flush within shutdown_timeout:
    test_delivery_exit: test_interpreter_exit_sends_everything_within_shutdown_timeout
    here: test_exit_flush_of_a_script
- x-documentation-url from base_log_url, else looked up once per key off the request path:
    test_docs_url (all, through DocsUrl)
    here: test_docs_url_lookup_once_per_key_off_the_request_path
- base_log_url and readme_api_url must be http(s) URLs:
    test_acceptance_config: test_invalid_argument_is_a_value_error_naming_option_and_...
    here: test_non_http_urls_are_value_errors (and the environment),
    test_a_backslash_never_sends_the_documentation_link_to_another_host (FIXED: a "\\"
    after the host was taken, the links naming the host after "\\@")
- never raise into the app, log the key, print:
    test_logging_secrets (all)
    here: test_app_unaffected_by_every_failure_of_the_library
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import threading
import time
from typing import Any, Callable, Optional
from urllib.parse import quote, unquote, urlsplit

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from tests.support.contract import (
    API_KEY,
    CALLER,
    caller,
    exchange,
    inline_options,
    pairs,
    spec_mask,
)
from tests.support.fake_api import INLINE_TIMEOUT, Collector, Reply, basic_auth
from tests.support.har_check import assert_valid_log
from tests.support.wsgi import run_wsgi, wsgi_environ

StartResponse = Callable[..., Any]


def echo_app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    """Reads its whole body and answers it back (the app must see it unchanged)."""
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", environ.get("CONTENT_TYPE") or "text/plain")])
    return [body]


class Records(logging.Handler):
    """Every record of the library's logger, at every level."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def at(self, level: int) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno == level]

    def text(self) -> str:
        return "\n".join(r.getMessage() for r in self.records)


@pytest.fixture
def records() -> Any:
    logger = logging.getLogger("readme_metrics")
    handler = Records()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def entry_of(log: dict[str, Any]) -> dict[str, Any]:
    assert_valid_log(log)
    entry: dict[str, Any] = log["request"]["log"]["entries"][0]
    return entry


# ------------------------------------------------------------------ SPEC 6: grouping


@pytest.mark.parametrize("access", ["body", "json", "POST", "text", "body_file"])
def test_grouping_request_types_and_body_reads_wsgi(inline_wrap: Any, collector: Collector,
                                                    access: str) -> None:
    import webob

    seen: list[Any] = []
    form = access == "POST"
    body = b"user=ada&n=1" if form else b'{"user": "ada", "n": 1}'
    ctype = "application/x-www-form-urlencoded" if form else "application/json"

    def grouping(req: Any) -> dict[str, str]:
        assert isinstance(req, webob.Request)
        if access == "json":
            seen.append(req.json["user"])
        elif access == "POST":
            seen.append(req.POST["user"])
        elif access == "text":
            seen.append(json.loads(req.text)["user"])
        elif access == "body_file":
            seen.append(json.loads(req.body_file.read())["user"])
        else:
            seen.append(json.loads(req.body)["user"])
        return dict(CALLER)

    result, _log, entry = exchange(inline_wrap(echo_app, grouping_function=grouping),
                                   collector, method="POST", body=body,
                                   headers={"Content-Type": ctype})
    assert result.body == body  # the app read the whole body after the grouping function
    assert seen == ["ada"]
    if form:
        assert entry["request"]["postData"]["params"] == [
            {"name": "user", "value": "ada"}, {"name": "n", "value": "1"}]
    else:
        assert entry["request"]["postData"]["text"] == body.decode()


def test_grouping_request_types_and_body_reads_flask(collector: Collector) -> None:
    flask = pytest.importorskip("flask")
    from readme_metrics.flask_readme import ReadMeMetrics

    seen: list[Any] = []

    def grouping(request: Any) -> dict[str, str]:
        assert request is not None and hasattr(request, "get_json")
        if request.is_json:
            seen.append(("json", request.get_json()["user"], request.get_data()))
        else:
            seen.append(("form", request.form["user"]))
        return dict(CALLER)

    app = flask.Flask("spec28_flask")

    @app.route("/j", methods=["POST"])
    def j() -> Any:
        return flask.jsonify(flask.request.get_json())

    @app.route("/f", methods=["POST"])
    def f() -> Any:
        return flask.request.form["user"] + flask.request.get_data(as_text=True)

    metrics = ReadMeMetrics(MetricsApiConfig(api_key=API_KEY, metrics_api=collector.url,
                                             **inline_options({"grouping_function": grouping})))
    metrics.init_app(app)
    try:
        client = app.test_client()
        response = client.post("/j", json={"user": "ada"})
        assert response.get_json() == {"user": "ada"}
        response.close()
        response = client.post("/f", data={"user": "bob"})
        assert response.data == b"bob"  # werkzeug: form parsed, so get_data() is empty
        response.close()
        assert metrics.flush(5.0)
        logs = collector.wait_for_logs(2)
        assert seen == [("json", "ada", b'{"user": "ada"}'), ("form", "bob")]
        assert entry_of(logs[0])["request"]["postData"]["text"] == '{"user": "ada"}'
        assert entry_of(logs[1])["request"]["postData"]["params"] == [
            {"name": "user", "value": "bob"}]
    finally:
        metrics.close()


def _django_configured() -> None:
    from django.conf import settings

    if not settings.configured:
        import django

        settings.configure(DEBUG=False, SECRET_KEY="tests-not-secret", ALLOWED_HOSTS=["*"],
                           USE_TZ=True, INSTALLED_APPS=[])
        django.setup()


@pytest.mark.parametrize("access", ["body", "POST", "json-of-body", "POST-then-body"])
def test_grouping_request_types_and_body_reads_django(collector: Collector,
                                                      access: str) -> None:
    pytest.importorskip("django")
    _django_configured()
    from django.core.handlers.wsgi import WSGIRequest
    from django.http import HttpRequest, HttpResponse

    import readme_metrics.django as adapter

    seen: list[Any] = []
    form = access.startswith("POST")
    body = b"user=ada&n=1" if form else b'{"user": "ada"}'
    ctype = "application/x-www-form-urlencoded" if form else "application/json"

    def grouping(request: Any) -> dict[str, str]:
        assert isinstance(request, HttpRequest)
        if access == "POST":
            seen.append(request.POST["user"])
        elif access == "POST-then-body":
            seen.append((request.POST["user"], request.body))
        else:
            seen.append(json.loads(request.body)["user"])
        return dict(CALLER)

    def view(request: Any) -> HttpResponse:
        if form:
            return HttpResponse(request.POST["user"] + "|" + request.body.decode())
        return HttpResponse(request.body, content_type="application/json")

    config = MetricsApiConfig(api_key=API_KEY, metrics_api=collector.url,
                              **inline_options({"grouping_function": grouping}))
    middleware = adapter.MetricsMiddleware(view, config)
    try:
        environ = wsgi_environ("POST", "/d", {"Content-Type": ctype}, body)
        response = middleware(WSGIRequest(environ))
        response.close()
        assert middleware.pipeline.flush(5.0)
        log, = collector.wait_for_logs(1)
        entry = entry_of(log)
        if form:
            assert response.content == b"ada|" + body
            assert seen == ([("ada", body)] if access == "POST-then-body" else ["ada"])
            assert entry["request"]["postData"]["params"][0] == {"name": "user",
                                                                  "value": "ada"}
        else:
            assert response.content == body
            assert seen == ["ada"]
            assert entry["request"]["postData"]["text"] == body.decode()
    finally:
        middleware.pipeline.close()


def test_grouping_id_and_extra_keys(inline_wrap: Any, collector: Collector,
                                    records: Records) -> None:
    def grouping(req: Any) -> dict[str, Any]:
        return {"id": "older-id-key-7777", "label": "L", "email": "e@x.io",
                "plan": "gold", "apiKey": "x"}

    middleware = inline_wrap(echo_app, grouping_function=grouping)
    for _ in range(3):
        _result, log, _entry = exchange(middleware, collector)
        assert log["group"] == {"id": spec_mask("older-id-key-7777"), "label": "L",
                                "email": "e@x.io"}
    warnings = [m for m in records.at(logging.WARNING) if "plan" in m]
    assert len(warnings) == 1, records.text()  # once, not per request
    assert "apiKey" in warnings[0] and "older-id-key-7777" not in records.text()


@pytest.mark.parametrize("returned", [
    pytest.param(None, id="none"),
    pytest.param(["caller-key-0042"], id="list"),
    pytest.param("caller-key-0042", id="bare-key"),
    pytest.param(False, id="false"),
    pytest.param({"label": "no key"}, id="mapping-without-key"),
    pytest.param({"api_key": ""}, id="blank-key"),
    pytest.param({"api_key": None, "id": None}, id="none-keys"),
])
def test_grouping_none_or_not_a_mapping_is_not_logged(inline_wrap: Any, collector: Collector,
                                                      records: Records,
                                                      returned: Any) -> None:
    middleware = inline_wrap(echo_app, grouping_function=lambda req: returned)
    for _ in range(3):
        result = run_wsgi(middleware, wsgi_environ("POST", body=b"abc"))
        assert (result.status, result.body, result.error) == ("200 OK", b"abc", None)
        assert result.header("x-documentation-url") == []
    middleware.flush(2.0)
    assert collector.logs == []
    errors = records.at(logging.ERROR)
    assert len(errors) == (0 if returned is None else 1), errors
    assert "caller-key-0042" not in records.text()


def test_grouping_called_once_per_exchange_whatever_happens(inline_wrap: Any,
                                                            collector: Collector) -> None:
    calls: list[str] = []

    def grouping(req: Any) -> dict[str, str]:
        calls.append(req.path)
        return dict(CALLER)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Any:
        path = environ["PATH_INFO"]
        if path == "/raise":
            raise KeyError("boom")
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        if path == "/write":
            write(b"a")
            write(b"b")
            return []
        if path == "/chunks":
            return iter([b"1", b"2", b"3"])
        return [b"ok"]

    middleware = inline_wrap(app, grouping_function=grouping)
    for path in ("/plain", "/write", "/chunks", "/raise"):
        run_wsgi(middleware, wsgi_environ(path=path))
    run_wsgi(middleware, wsgi_environ("OPTIONS", path="/skipped"))
    assert middleware.flush(5.0)
    assert len(collector.wait_for_logs(4)) == 4
    assert calls == ["/plain", "/write", "/chunks", "/raise"]


def test_raising_grouping_under_flask_django_and_fastapi(collector: Collector,
                                                         records: Records) -> None:
    """Raising: not logged, the error once per distinct message, the app unaffected."""
    flask = pytest.importorskip("flask")
    pytest.importorskip("django")
    pytest.importorskip("starlette")
    _django_configured()
    from django.core.handlers.wsgi import WSGIRequest
    from django.http import HttpResponse
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    import readme_metrics.django as django_adapter
    from readme_metrics.fastapi import ReadMeMetricsMiddleware
    from readme_metrics.flask_readme import ReadMeMetrics

    message = {"text": "first"}

    def grouping(req: Any) -> dict[str, str]:
        raise RuntimeError(message["text"] + " " + CALLER["api_key"])

    def config() -> MetricsApiConfig:
        return MetricsApiConfig(api_key=API_KEY, metrics_api=collector.url,
                                **inline_options({"grouping_function": grouping}))

    app = flask.Flask("spec28_raise")
    app.add_url_rule("/", "root", lambda: "flask-ok")
    metrics = ReadMeMetrics(config())
    metrics.init_app(app)

    django_mw = django_adapter.MetricsMiddleware(lambda request: HttpResponse(b"django-ok"),
                                                 config())

    async def hello(request: Any) -> PlainTextResponse:
        return PlainTextResponse("asgi-ok")

    asgi = Starlette(routes=[Route("/", hello)])
    asgi.add_middleware(ReadMeMetricsMiddleware, config=config())
    try:
        with TestClient(asgi) as client:
            for text in ("first", "second"):
                message["text"] = text
                for _ in range(2):
                    with app.test_client() as flask_client:
                        response = flask_client.get("/")
                        assert response.data == b"flask-ok"
                        assert "x-documentation-url" not in response.headers
                        response.close()
                    response = django_mw(WSGIRequest(wsgi_environ()))
                    assert response.content == b"django-ok"
                    assert not response.has_header("x-documentation-url")
                    response.close()
                    answer = client.get("/")
                    assert answer.text == "asgi-ok"
                    assert "x-documentation-url" not in answer.headers
        metrics.flush(2.0)
        django_mw.pipeline.flush(2.0)
        assert collector.logs == []
        errors = records.at(logging.ERROR)
        # Two distinct messages in each of three middlewares: six lines, each once.
        assert len(errors) == 6, errors
        assert all("RuntimeError" in e for e in errors)
        assert CALLER["api_key"] not in records.text()
    finally:
        metrics.close()
        django_mw.pipeline.close()


# ------------------------------------------------------------------ SPEC 7: URLs


@pytest.mark.parametrize("option", ["base_log_url", "readme_api_url", "metrics_api"])
@pytest.mark.parametrize("url", [
    "ftp://docs.example.com", "javascript:alert(1)", "file:///etc/passwd", "docs.example.com",
    "//docs.example.com", "http://", "https://", "",
    # A backslash in the authority: browsers (WHATWG) read it as "/", so the host ends
    # there; requests' urllib3 ends the host there too; urlsplit reads it on to the "@".
    "https://docs.example.com\\@evil.example", "https://docs.example.com\\evil",
    "http://127.0.0.1:8080\\@127.0.0.2:8080",
])
def test_non_http_urls_are_value_errors(option: str, url: str) -> None:
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(api_key=API_KEY, grouping_function=caller, **{option: url})
    assert option in str(raised.value)


@pytest.mark.parametrize("option", ["base_log_url", "readme_api_url", "metrics_api"])
def test_backslash_refusals_say_how_to_write_it(option: str) -> None:
    """review73: a password holding a backslash is refused (requests would post to host
    "user"), with a message that says to percent-encode it: it said "a '\\' follows its
    host: write '/'", under a URL shown as https://***@host, where no '\\' follows the
    host. URLs with a backslash past the host are still taken."""
    for url in ("https://user:p\\w@docs.example.com", "https://docs.example.com\\@evil.example"):
        with pytest.raises(ValueError) as raised:
            MetricsApiConfig(api_key=API_KEY, grouping_function=caller, **{option: url})
        said = str(raised.value)
        assert "p\\w" not in said and "password" in said and "%5C" in said, said
    for url in ("https://docs.example.com/a\\b", "http://[::1]:8080/a\\b",
                "https://u:p%5Cw@docs.example.com:8443/x", "https://docs.example.com/%5C"):
        MetricsApiConfig(api_key=API_KEY, grouping_function=caller, **{option: url})


@pytest.mark.parametrize("option, variable", [("base_log_url", "README_BASE_LOG_URL"),
                                              ("readme_api_url", "README_API_URL")])
def test_non_http_urls_from_the_environment_are_value_errors(
        monkeypatch: pytest.MonkeyPatch, option: str, variable: str) -> None:
    for url in ("ftp://docs.example.com", "https://docs.example.com\\@evil.example"):
        monkeypatch.setenv(variable, url)
        with pytest.raises(ValueError) as raised:
            MetricsApiConfig(api_key=API_KEY, grouping_function=caller)
        assert option in str(raised.value) and variable in str(raised.value)


def test_a_backslash_never_sends_the_documentation_link_to_another_host(
        collector: Collector) -> None:
    """The link a client gets names the host the configured URL names, as a browser reads
    it (before the fix: https://evil.example/logs/<id>, the part before "\\@" taken for a
    user name and dropped)."""
    try:
        middleware = MetricsMiddleware(echo_app, MetricsApiConfig(
            api_key=API_KEY, metrics_api=collector.url, **inline_options(
                {"base_log_url": "https://docs.example.com\\@evil.example"})))
    except ValueError:
        return
    result = run_wsgi(middleware, wsgi_environ())
    middleware.close()
    for link in result.header("x-documentation-url"):
        assert urlsplit(link.replace("\\", "/")).hostname == "docs.example.com", link


# ------------------------------------------------------------------ SPEC 6: the key


KEY = "cust-Key_9f8e7d6c5b4a"  # the caller's key, as the grouping function returns it
_BOUNDARY = "spec28bd"


def _carriers() -> list[Any]:
    """(id, request kwargs): each carries the caller's key in one place."""
    multipart = (f"--{_BOUNDARY}\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\n"
                 f"{KEY}\r\n--{_BOUNDARY}\r\nContent-Disposition: form-data; name=\"up\"; "
                 f"filename=\"k.txt\"\r\nContent-Type: text/plain\r\n\r\nkey={KEY}\r\n"
                 f"--{_BOUNDARY}--\r\n").encode()
    return [
        pytest.param({"headers": {"X-Custom-Credential-Name": KEY}}, id="any-header"),
        pytest.param({"headers": {"Authorization": f"Bearer {KEY}"}}, id="authorization"),
        pytest.param({"query": f"apiKey={KEY}&x=1"}, id="query-and-url"),
        pytest.param({"query": f"k={KEY.replace('_', '%5F')}"}, id="query-percent-encoded"),
        pytest.param({"path": f"/keys/{KEY}/items"}, id="url-path"),
        pytest.param({"headers": {"Cookie": f"session=abc; k={KEY}"}}, id="cookie"),
        pytest.param({"method": "POST", "body": f"a=1&key={KEY}".encode(),
                      "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
                     id="form"),
        pytest.param({"method": "POST", "body": multipart, "headers": {
            "Content-Type": f"multipart/form-data; boundary={_BOUNDARY}"}}, id="multipart"),
        pytest.param({"method": "POST", "body": json.dumps(
            {"a": [{"deep": {"apiKey": KEY}}], "b": KEY}).encode(),
            "headers": {"Content-Type": "application/json"}}, id="json"),
        pytest.param({"method": "POST", "body": json.dumps({"k": KEY}, indent=2).encode(),
                      "headers": {"Content-Type": "application/vnd.api+json"}},
                     id="plus-json-pretty"),
    ]


def _key_group(req: Any) -> dict[str, str]:
    return {"api_key": KEY, "label": "L"}


def _no_key_in(collector: Collector) -> None:
    for received in collector.received:
        assert KEY.encode() not in received.body, received.body[:2000]
        assert KEY.replace("_", "%5F").encode() not in received.body


@pytest.mark.parametrize("request_kwargs", _carriers())
def test_callers_key_masked_in_every_carrier(inline_wrap: Any, collector: Collector,
                                            request_kwargs: dict[str, Any]) -> None:
    result, log, entry = exchange(inline_wrap(echo_app, grouping_function=_key_group),
                                  collector, **request_kwargs)
    assert result.status == "200 OK"
    assert log["group"]["id"] == spec_mask(KEY)
    _no_key_in(collector)
    request = entry["request"]
    sent = json.dumps(request, ensure_ascii=False)
    if "Authorization" in request_kwargs.get("headers", {}):  # masked whole, as SPEC 4
        assert pairs(request["headers"])["Authorization"] == spec_mask(f"Bearer {KEY}")
    else:  # the key's own mask where the key was (percent-encoded in the url)
        assert spec_mask(KEY) in sent or quote(spec_mask(KEY), safe="") in request["url"]
    assert urlsplit(request["url"]).path.startswith("/")  # the url stays a url
    if "query" in request_kwargs:
        assert [q["name"] for q in request["queryString"]] == [
            pair.split("=")[0] for pair in request_kwargs["query"].split("&")]
        assert [q["value"] for q in request["queryString"]] == [
            unquote(pair.split("=")[1]) if pair.split("=")[1] == "1" else spec_mask(KEY)
            for pair in request_kwargs["query"].split("&")]
    if "json" in request.get("postData", {}).get("mimeType", ""):
        json.loads(request["postData"]["text"])  # still JSON
    for param in request.get("postData", {}).get("params", []):
        if param["value"].startswith("data:"):  # a file's bytes, base64: no key inside
            assert KEY.encode() not in base64.b64decode(param["value"].split(",")[1])


def test_callers_key_masked_in_every_carrier_under_fastapi(collector: Collector) -> None:
    pytest.importorskip("starlette")
    pytest.importorskip("httpx")
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    async def echo(request: Request) -> Response:
        return Response(await request.body(), media_type="text/plain")

    app = Starlette(routes=[Route("/{rest:path}", echo, methods=["GET", "POST"])])
    app.add_middleware(ReadMeMetricsMiddleware, config=MetricsApiConfig(
        api_key=API_KEY, metrics_api=collector.url,
        **inline_options({"grouping_function": _key_group})))
    cases = [case.values[0] for case in _carriers()]
    with TestClient(app) as client:
        for case in cases:
            url = case.get("path", "/") + ("?" + case["query"] if "query" in case else "")
            response = client.request(case.get("method", "GET"), url,
                                      headers=case.get("headers", {}),
                                      content=case.get("body", b""))
            assert response.status_code == 200
    logs = collector.wait_for_logs(len(cases))
    assert len(logs) == len(cases)
    for log in logs:
        assert_valid_log(log)
        assert log["group"]["id"] == spec_mask(KEY)
    _no_key_in(collector)


def _readme_credential_headers() -> list[str]:
    from tests.support.command import REPO_ROOT

    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("(`readme_metrics.har.CREDENTIAL_HEADERS`):")
    end = text.index("and every header whose name says it holds one", start)
    return re.findall(r"`([A-Za-z0-9-]+)`", text[start:end])


def test_every_credential_header_readme_names_is_masked(inline_wrap: Any,
                                                        collector: Collector) -> None:
    names = _readme_credential_headers()
    assert len(names) > 40 and "X-Api-Key" in names and "Authorization" in names
    value = "tok-" + "z" * 20 + "-0042"
    sent = {name: value + name for name in names}

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")]
                       + [(name, sent[name]) for name in names])
        return [b"ok"]

    _result, _log, entry = exchange(inline_wrap(app), collector, headers=dict(sent))
    for side in ("request", "response"):
        headers = entry[side]["headers"]
        # (WSGI gives no request header's case: HTTP_APIKEY is sent as "Apikey".)
        got = {h["name"].lower(): h["value"] for h in headers}
        for name in names:
            if side == "request" and name.lower() in ("set-cookie", "set-cookie2"):
                continue
            assert got.get(name.lower()) == spec_mask(sent[name]), (side, name)
        if side == "response":  # the app's names keep their case
            assert [h["name"] for h in headers][1:-1] == names  # x-documentation-url last
    _no_value = [r for r in collector.received if value.encode() in r.body]
    assert _no_value == []


# ------------------------------------------------------------------ SPEC 6: the lists


_DOCUMENT = {"items": [{"id": 7, "secret": "s"}], "meta": {"id": "x", "n": 1}, "id": "top",
             "user": {"name": "a", "pw": "bb"}, "name": "ccc", "nul": None, "t": True,
             "users": [{"password": "p1"}], "a": {"user": {"pw": "deep"}}}


def _json_exchange(inline_wrap: Any, collector: Collector, **options: Any
                   ) -> tuple[Any, Any, dict[str, Any]]:
    """The same JSON document sent and echoed back: (request's, response's, entry)."""
    body = json.dumps(_DOCUMENT).encode()
    _result, _log, entry = exchange(inline_wrap(echo_app, **options), collector,
                                    method="POST", body=body, query="id=1&name=n",
                                    headers={"Content-Type": "application/json"})
    return (json.loads(entry["request"]["postData"]["text"]),
            json.loads(entry["response"]["content"]["text"]), entry)


def test_allowlist_walks_objects_and_arrays(inline_wrap: Any, collector: Collector) -> None:
    """Allowlist only: objects and arrays under a key not listed are walked (a listed key
    inside keeps its value); every other value is redacted; JSON stays valid."""
    request, response, entry = _json_exchange(inline_wrap, collector, allowlist=["ID"])
    expected = {"items": [{"id": 7, "secret": "[REDACTED 1]"}],
                "meta": {"id": "x", "n": "[REDACTED]"}, "id": "top",
                "user": {"name": "[REDACTED 1]", "pw": "[REDACTED 2]"},
                "name": "[REDACTED 3]", "nul": "[REDACTED]", "t": "[REDACTED]",
                "users": [{"password": "[REDACTED 2]"}],
                "a": {"user": {"pw": "[REDACTED 4]"}}}
    assert request == expected and response == expected
    assert pairs(entry["request"]["queryString"]) == {"id": "1", "name": "[REDACTED 1]"}
    assert urlsplit(entry["request"]["url"]).query == "id=1&name=%5BREDACTED%201%5D"


def test_allowlist_keeps_an_object_under_a_listed_key_whole(inline_wrap: Any,
                                                            collector: Collector) -> None:
    request, _response, _entry = _json_exchange(inline_wrap, collector,
                                                allowlist=["user", "items"])
    assert request["user"] == {"name": "a", "pw": "bb"}
    assert request["items"] == [{"id": 7, "secret": "s"}]
    assert request["a"] == {"user": {"pw": "deep"}}  # "user" anywhere: a bare key
    assert request["meta"] == {"id": "[REDACTED 1]", "n": "[REDACTED]"}


def test_dotted_paths_in_both_lists(inline_wrap: Any, collector: Collector) -> None:
    """A dotted path matches that path only, from the top of the document (through the
    arrays on the way: the library's reading; SPEC is silent on arrays)."""
    request, _response, _entry = _json_exchange(
        inline_wrap, collector, denylist=["user.pw", "users.password", "meta.n"])
    assert request["user"] == {"name": "a", "pw": "[REDACTED 2]"}
    assert request["a"] == {"user": {"pw": "deep"}}  # not the path from the top
    assert request["users"] == [{"password": "[REDACTED 2]"}]
    assert request["meta"] == {"id": "x", "n": "[REDACTED]"}
    assert request["name"] == "ccc"

    request, _response, _entry = _json_exchange(inline_wrap, collector,
                                                allowlist=["user.name"])
    assert request["user"] == {"name": "a", "pw": "[REDACTED 2]"}
    assert request["name"] == "[REDACTED 3]"  # the bare key is not listed


def test_redacted_marks_per_value_kind(inline_wrap: Any, collector: Collector) -> None:
    """"[REDACTED n]" for a string of length n (code points, as Python's len and the
    official Python package count), "[REDACTED]" for anything else."""
    body = json.dumps({"s": "héllo", "e": "", "u": "\U0001f600x", "n": 12, "f": 1.5,
                       "b": False, "z": None, "o": {"s": "x"}, "a": ["x"]},
                      ensure_ascii=False).encode()
    _result, _log, entry = exchange(
        inline_wrap(echo_app, denylist=["s", "e", "u", "n", "f", "b", "z", "o", "a"]),
        collector, method="POST", body=body,
        headers={"Content-Type": "application/json; charset=utf-8"}, query="s=%C3%A9t%C3%A9")
    assert json.loads(entry["request"]["postData"]["text"]) == {
        "s": "[REDACTED 5]", "e": "[REDACTED 0]", "u": "[REDACTED 2]", "n": "[REDACTED]",
        "f": "[REDACTED]", "b": "[REDACTED]", "z": "[REDACTED]", "o": "[REDACTED]",
        "a": "[REDACTED]"}
    assert entry["request"]["queryString"] == [{"name": "s", "value": "[REDACTED 3]"}]


def test_denylist_in_every_place_of_a_fastapi_exchange(collector: Collector) -> None:
    """The same lists under the ASGI middleware: headers both ways, query and url,
    cookies, form fields and JSON at any depth, matched case-insensitively."""
    pytest.importorskip("starlette")
    pytest.importorskip("httpx")
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    async def echo(request: Request) -> Response:
        return Response(await request.body(), media_type=request.headers["content-type"],
                        headers={"X-Secret": "answer"})

    app = Starlette(routes=[Route("/", echo, methods=["POST"])])
    app.add_middleware(ReadMeMetricsMiddleware, config=MetricsApiConfig(
        api_key=API_KEY, metrics_api=collector.url,
        **inline_options({"denylist": ["SECRET", "x-secret"]})))
    with TestClient(app) as client:
        client.post("/?Secret=QQQQQ&ok=1", content=b'{"a": [{"b": {"secret": "JJJJJ"}}]}',
                    headers={"Content-Type": "application/json", "X-Secret": "HHHHH",
                             "Cookie": "secret=CCCCC; ok=2"})
        client.post("/", content=b"secret=FFFFF&ok=3",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    first, second = (entry_of(log) for log in collector.wait_for_logs(2))
    assert pairs(first["request"]["queryString"]) == {"Secret": "[REDACTED 5]", "ok": "1"}
    assert "QQQQQ" not in first["request"]["url"]

    def header(side: str) -> str:
        return next(h["value"] for h in first[side]["headers"] if h["name"].lower()
                    == "x-secret")

    assert header("request") == "[REDACTED 5]" and header("response") == "[REDACTED 6]"
    assert pairs(first["request"]["cookies"])["secret"] == "[REDACTED 5]"
    assert json.loads(first["request"]["postData"]["text"]) == {
        "a": [{"b": {"secret": "[REDACTED 5]"}}]}
    assert json.loads(first["response"]["content"]["text"]) == {
        "a": [{"b": {"secret": "[REDACTED 5]"}}]}
    assert second["request"]["postData"]["params"] == [
        {"name": "secret", "value": "[REDACTED 5]"}, {"name": "ok", "value": "3"}]
    for received in collector.received:
        for value in (b"QQQQQ", b"HHHHH", b"CCCCC", b"JJJJJ", b"FFFFF", b"answer"):
            assert value not in received.body


# ------------------------------------------------------------------ SPEC 6: webhooks


_SECRET = "rdme_webhook_secret_abc123"


def _sign(body: bytes, at_ms: int, secret: str = _SECRET) -> str:
    """ReadMe's header, computed from the SPEC's words (not the library's code)."""
    digest = hmac.new(secret.encode(), f"{at_ms}.".encode() + body, hashlib.sha256)
    return f"t={at_ms},v0={digest.hexdigest()}"


def _now_ms() -> int:
    return int(time.time() * 1000)


@pytest.mark.parametrize(("age_minutes", "expired"), [
    pytest.param(0, False, id="now"),
    pytest.param(29, False, id="29-min-old"),
    pytest.param(31, True, id="31-min-old"),
    pytest.param(24 * 60, True, id="a-day-old"),
    pytest.param(-31, True, id="31-min-ahead"),
])
def test_webhook_expiry_window(age_minutes: int, expired: bool) -> None:
    from readme_metrics.VerifyWebhook import VerifyWebhook
    from readme_metrics.webhooks import VerificationError

    body = b'{"email":"owlbert@example.com"}'
    header = _sign(body, _now_ms() - age_minutes * 60_000)
    if expired:
        with pytest.raises(VerificationError, match="^Expired Signature$"):
            VerifyWebhook(body, header, _SECRET)
    else:
        assert VerifyWebhook(body, header, _SECRET) == body


@pytest.mark.parametrize(("body", "signed"), [
    pytest.param(b'{"a": 1}', b'{"a": 1}', id="raw-bytes-exact"),
    pytest.param('{"name": "Zoë"}', '{"name": "Zoë"}'.encode(), id="raw-str-utf8"),
    pytest.param({"email": "owlbert@example.com", "n": 1.0, "z": "Zoë", "l": [1, None],
                  "e": 1e21, "s": 1e-7, "nested": {"b": True}},
                 '{"email":"owlbert@example.com","n":1,"z":"Zoë","l":[1,null],"e":1e+21,'
                 '"s":1e-7,"nested":{"b":true}}'.encode(), id="dict-as-json-stringify"),
    pytest.param({"2": "b", "x": 1, "1": "a"}, b'{"1":"a","2":"b","x":1}',
                 id="dict-index-keys-first"),
])
def test_webhook_body_kinds(body: Any, signed: bytes) -> None:
    from readme_metrics.VerifyWebhook import VerifyWebhook
    from readme_metrics.webhooks import VerificationError

    at = _now_ms()
    assert VerifyWebhook(body, _sign(signed, at), _SECRET) == body
    assert VerifyWebhook(body, _sign(signed, at).encode(), _SECRET.encode()) == body
    with pytest.raises(VerificationError, match="^Invalid Signature$"):
        VerifyWebhook(body, _sign(signed + b" ", at), _SECRET)


@pytest.mark.parametrize(("signature", "message"), [
    pytest.param(None, "Missing Signature", id="none"),
    pytest.param("", "Missing Signature", id="empty"),
    pytest.param("v0=abc", "Invalid Signature", id="no-time"),
    pytest.param("t=notanumber,v0=abc", "Invalid Signature", id="bad-time"),
    pytest.param("t={now}", "Invalid Signature", id="no-v0"),
    pytest.param("t={now},v0=" + "0" * 64, "Invalid Signature", id="wrong-hmac"),
    pytest.param("garbage", "Invalid Signature", id="garbage"),
])
def test_webhook_messages(signature: Optional[str], message: str) -> None:
    from readme_metrics.VerifyWebhook import VerifyWebhook
    from readme_metrics.webhooks import VerificationError

    if signature is not None:
        signature = signature.replace("{now}", str(_now_ms()))
    with pytest.raises(VerificationError) as raised:
        VerifyWebhook(b"{}", signature, _SECRET)
    assert str(raised.value) == message
    wrong_secret = _sign(b"{}", _now_ms(), secret="another-secret")
    with pytest.raises(VerificationError, match="^Invalid Signature$"):
        VerifyWebhook(b"{}", wrong_secret, _SECRET)


# ------------------------------------------------------------------ SPEC 7: delivery


def _library_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("readme-metrics")]


def _workers(middleware: Any) -> list[threading.Thread]:
    """The sender threads of ``middleware``'s own delivery, alive: counted by its pool,
    not by name process-wide (another delivery in this process may still have a thread
    of that name starting or ending)."""
    pool = middleware.pipeline.delivery._pool
    return [t for t in threading.enumerate() if pool.owns(t)]


def test_worker_is_lazy_daemon_and_one(background_wrap: Any, collector: Collector) -> None:
    """One worker a middleware, started by its first log, a daemon named
    readme-metrics-worker; batch after batch, the same one. Each batch of 10 is flushed
    before the next comes: more than twice a POST's logs waiting behind it starts a
    second sender by design (Staffing.claim_sender_locked): 60 logs sent at once grew
    this middleware's own pool to two in 7 of 150 runs beside three busy processes."""
    first = background_wrap(flush_interval=0)
    assert _workers(first) == []  # made: no thread yet
    run_wsgi(first, wsgi_environ())
    started = _workers(first)
    assert len(started) == 1 and started[0].daemon
    assert started[0].name == "readme-metrics-worker"
    for _ in range(6):  # 6 batches of 10: still the one worker
        for _ in range(10):
            run_wsgi(first, wsgi_environ())
        assert first.flush(10.0)
        assert _workers(first) == started
    second = background_wrap(flush_interval=0)  # its own worker, once it logs
    assert _workers(second) == []
    run_wsgi(second, wsgi_environ())
    assert len(_workers(second)) == 1 and _workers(second)[0] not in started
    assert _workers(first) == started
    assert second.flush(10.0)
    assert len(collector.wait_for_logs(62)) == 62


def test_sender_threads_stay_few_under_a_slow_api(background_wrap: Any,
                                                  collector: Collector) -> None:
    """Never one thread per batch: 300 batches of one log against an API answering in
    50 ms leave a small, bounded number of the library's threads."""
    collector.default = Reply(delay=0.05)
    middleware = background_wrap(buffer_length=1, flush_interval=0)
    most = 0
    for _ in range(300):
        run_wsgi(middleware, wsgi_environ())
        most = max(most, len(_library_threads()))
    assert middleware.flush(30.0)
    assert middleware.stats["sent"] == 300
    assert most <= 20, most  # README: senders up to 16, the worker, a watchdog


def test_a_hanging_api_never_slows_a_request(background_wrap: Any,
                                             collector: Collector) -> None:
    """The request thread only enqueues: with every POST held by the API, requests go on
    being answered (all 200 of them before the API answers at all)."""
    gate = threading.Event()
    collector.default = Reply(gate=gate)
    middleware = background_wrap(buffer_length=1, flush_interval=0)
    answered: list[bytes] = []

    def serve() -> None:
        for _ in range(200):
            answered.append(run_wsgi(middleware, wsgi_environ()).body)

    thread = threading.Thread(target=serve)
    thread.start()
    thread.join(60)
    try:
        assert not thread.is_alive() and len(answered) == 200
        assert not gate.is_set()
    finally:
        gate.set()
    assert middleware.flush(30.0)


def test_full_queue_drops_counted_with_one_warning(background_wrap: Any, collector: Collector,
                                                   records: Records) -> None:
    gate = threading.Event()
    collector.default = Reply(gate=gate)
    middleware = background_wrap(max_queue_size=5, buffer_length=1, flush_interval=0)
    try:
        for _ in range(200):
            run_wsgi(middleware, wsgi_environ())
        stats = middleware.stats
        assert stats["captured"] == 200
        assert stats["dropped_queue_full"] >= 200 - 5 - 20  # at most a few in flight
        assert stats["dropped"] == stats["dropped_queue_full"]
        assert stats["queued"] <= 5 + 20
        assert stats["captured"] == (stats["sent"] + stats["dropped"] + stats["queued"]
                                     + stats["skipped"])
        full = [m for m in records.at(logging.WARNING) if "queue is full" in m]
        assert len(full) == 1, full  # rate-limited: one for the whole burst
        assert "max_queue_size" in full[0] and "README_MAX_QUEUE_SIZE" in full[0]
    finally:
        gate.set()
    middleware.flush(10.0)


def test_buffer_length_and_flush_interval(background_wrap: Any, collector: Collector) -> None:
    full = background_wrap(buffer_length=3, flush_interval=0)
    run_wsgi(full, wsgi_environ(path="/a"))
    run_wsgi(full, wsgi_environ(path="/b"))
    with pytest.raises(AssertionError):  # a partial batch waits (no interval)
        collector.wait_for_logs(1, timeout=0.5)
    run_wsgi(full, wsgi_environ(path="/c"))
    post, = collector.wait_for_posts(1)  # sent as soon as 3 wait, without flush()
    assert [urlsplit(entry_of(log)["request"]["url"]).path for log in post.json()] == [
        "/a", "/b", "/c"]
    timed = background_wrap(buffer_length=100, flush_interval=0.2)
    run_wsgi(timed, wsgi_environ(path="/d"))
    posts = collector.wait_for_posts(2)  # sent flush_interval after it, without flush()
    assert len(posts[1].json()) == 1


@pytest.mark.parametrize("failure", [
    pytest.param(Reply(503), id="503"),
    pytest.param(Reply(500), id="500"),
    pytest.param(Reply(429, headers={"Retry-After": "0"}), id="429-retry-after"),
    pytest.param(Reply(408), id="408"),
    pytest.param(Reply(drop=True), id="connection-closed"),
])
def test_retried_answers_are_delivered_once(inline_wrap: Any, collector: Collector,
                                            failure: Reply) -> None:
    collector.replies.extend([failure])
    middleware = inline_wrap(echo_app)
    run_wsgi(middleware, wsgi_environ())
    assert middleware.flush(15.0)
    logs = collector.wait_for_only(1)
    assert_valid_log(logs[0])
    stats = middleware.stats
    assert stats["sent"] == 1 and stats["retries"] >= 1 and stats["dropped"] == 0


@pytest.mark.parametrize("status", [401, 403])
def test_auth_refusal_pauses_with_one_error(background_wrap: Any, collector: Collector,
                                            records: Records, status: int) -> None:
    collector.default = Reply(status, body=b'{"error": "APIKEY_NOTFOUNDD"}')
    middleware = background_wrap(buffer_length=1, flush_interval=0)
    for _ in range(20):
        run_wsgi(middleware, wsgi_environ())
        middleware.flush(5.0)
    stats = middleware.stats
    assert stats["dropped_auth"] == 20 and stats["sent"] == 0
    assert collector.received == []
    assert 1 <= len(collector.failed) <= 2  # the pause: the later logs are dropped unsent
    errors = records.at(logging.ERROR)
    assert len(errors) == 1, errors
    assert str(status) in errors[0] and "README_API_KEY" in errors[0]
    assert API_KEY not in records.text()


def test_other_4xx_drop_the_batch_with_the_body_at_debug(inline_wrap: Any,
                                                         collector: Collector,
                                                         records: Records) -> None:
    collector.replies.append(Reply(400, body=b'{"error": "the log had no foo-bar-baz"}'))
    middleware = inline_wrap(echo_app)
    run_wsgi(middleware, wsgi_environ(path="/first"))
    assert middleware.flush(5.0) is False
    stats = middleware.stats
    assert stats["dropped_rejected"] == 1 and stats["retries"] == 0
    assert len(collector.failed) == 1 and collector.received == []
    debug = [m for m in records.at(logging.DEBUG) if "foo-bar-baz" in m]
    assert debug, records.text()
    assert not [m for lvl in (logging.INFO, logging.WARNING, logging.ERROR)
                for m in records.at(lvl) if "foo-bar-baz" in m]
    run_wsgi(middleware, wsgi_environ(path="/second"))  # delivery goes on
    assert middleware.flush(5.0)
    assert urlsplit(entry_of(collector.wait_for_logs(1)[0])["request"]["url"]).path == "/second"


_EXIT_SCRIPT = """
import sys
from readme_metrics import MetricsApiConfig, MetricsMiddleware
from tests.support.wsgi import run_wsgi, wsgi_environ

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]

middleware = MetricsMiddleware(app, MetricsApiConfig(
    api_key="rdme_exit_key_1234", metrics_api=sys.argv[1], base_log_url="https://d.example",
    grouping_function=lambda req: {"api_key": "k-1234"}, buffer_length=100,
    flush_interval=0, shutdown_timeout=float(sys.argv[2])))
for n in range(7):
    run_wsgi(middleware, wsgi_environ(path=f"/exit/{n}"))
print("served")
"""


@pytest.mark.parametrize("answering", [True, False])
def test_exit_flush_of_a_script(collector: Collector, answering: bool) -> None:
    """At interpreter exit everything queued is sent; an API that never answers does not
    hang the exit past shutdown_timeout (the bound here is generous: no timing)."""
    from tests.support.contract import run_python

    gate = threading.Event()
    if not answering:
        collector.default = Reply(gate=gate)
    try:
        done = run_python(_EXIT_SCRIPT, collector.url, "1.0", timeout=60)
    finally:
        gate.set()
    assert done.returncode == 0, done.stderr
    assert done.stdout == "served\n"  # the library printed nothing
    assert "rdme_exit_key_1234" not in done.stderr
    if answering:
        logs = collector.wait_for_only(7)
        assert sorted(urlsplit(entry_of(log)["request"]["url"]).path for log in logs) == [
            f"/exit/{n}" for n in range(7)]


def test_docs_url_lookup_once_per_key_off_the_request_path(collector: Collector) -> None:
    release = threading.Event()

    def lookup(received: Any) -> Reply:
        release.wait(30)
        return Reply(200, b'{"baseUrl": "https://owl.readme.io/"}')

    collector.get_v1 = lookup

    def make(key: str) -> MetricsMiddleware:
        return MetricsMiddleware(echo_app, MetricsApiConfig(
            api_key=key, metrics_api=collector.url, readme_api_url=collector.url,
            grouping_function=caller, buffer_length=1, background_worker_mode=False,
            timeout=INLINE_TIMEOUT))

    first, same_key, other_key = make(API_KEY), make(API_KEY), make("rdme_another_key_5678")
    try:
        early = [run_wsgi(m, wsgi_environ()) for m in (first, same_key, first)]
        # Until the base is known, no header; the lookup never held a request.
        assert [r.header("x-documentation-url") for r in early] == [[], [], []]
        assert not release.is_set()
        release.set()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            result = run_wsgi(first, wsgi_environ())
            if result.header("x-documentation-url"):
                break
            time.sleep(0.05)
        link, = result.header("x-documentation-url")
        assert link.startswith("https://owl.readme.io/logs/")
        assert run_wsgi(same_key, wsgi_environ()).header("x-documentation-url")
        for _ in range(20):
            run_wsgi(first, wsgi_environ())
        while time.monotonic() < deadline:
            if run_wsgi(other_key, wsgi_environ()).header("x-documentation-url"):
                break
            time.sleep(0.05)
        auths = sorted(g.headers.get("Authorization", "") for g in collector.gets)
        assert auths == sorted([basic_auth(API_KEY), basic_auth("rdme_another_key_5678")])
        assert all(g.path == "/v1" for g in collector.gets)
    finally:
        for middleware in (first, same_key, other_key):
            middleware.close()


def test_one_pooled_connection_for_many_posts(inline_wrap: Any, collector: Collector) -> None:
    middleware = inline_wrap(echo_app)
    for _ in range(25):
        run_wsgi(middleware, wsgi_environ())
    assert middleware.flush(5.0)
    posts = collector.wait_for_posts(25)
    assert len({post.peer for post in posts}) == 1  # one keep-alive connection


def test_app_unaffected_by_every_failure_of_the_library(capfd: pytest.CaptureFixture[str],
                                                        records: Records) -> None:
    """An API that is refused, down, rejecting or unreachable: the app answers as bare,
    nothing is raised or printed, and neither key appears in any log line."""
    from tests.support.ports import free_port

    bare = run_wsgi(echo_app, wsgi_environ("POST", "/x", {"X-Api-Key": CALLER["api_key"]},
                                           b"body"))
    dead = f"http://127.0.0.1:{free_port()}"
    refusing = Collector().start()
    refusing.default = Reply(500, body=b"down")
    try:
        for url in (dead, refusing.url):
            for background in (True, False):
                middleware = MetricsMiddleware(echo_app, MetricsApiConfig(
                    api_key=API_KEY, metrics_api=url, readme_api_url=url,
                    grouping_function=lambda req: {"api_key": req.headers["X-Api-Key"]},
                    buffer_length=1, background_worker_mode=background,
                    shutdown_timeout=0.5, timeout=0.5))
                for _ in range(3):
                    result = run_wsgi(middleware, wsgi_environ(
                        "POST", "/x", {"X-Api-Key": CALLER["api_key"]}, b"body"))
                    assert (result.status, result.body, result.error) == (
                        bare.status, bare.body, None)
                    assert [h for h in result.headers if h[0] != "x-documentation-url"] \
                        == bare.headers
                middleware.close()
    finally:
        refusing.stop()
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    text = records.text()
    assert records.records and API_KEY not in text and CALLER["api_key"] not in text


# How the view read the body: (route, view body). Each answers what it read.
_FLASK_VIEW_READS = {
    "stream": lambda flask: flask.request.stream.read(),
    "stream-part": lambda flask: flask.request.stream.read(3),
    "uncached": lambda flask: flask.request.get_data(cache=False),
    "form": lambda flask: repr(sorted(flask.request.form.items())).encode(),
    "input-stream": lambda flask: flask.request.input_stream.read(
        flask.request.content_length),
    "cached": lambda flask: flask.request.get_data(),
    # Flask's request.data: get_data(parse_form_data=True), which parses a form first and
    # caches b"" (review73: the grouping function's get_data() was that b"").
    "data": lambda flask: flask.request.data,
    "parsed-data": lambda flask: flask.request.get_data(parse_form_data=True),
    "untouched": lambda flask: b"-",
}


@pytest.mark.parametrize("view_read", list(_FLASK_VIEW_READS))
@pytest.mark.parametrize("kind", ["json", "form"])
def test_flask_grouping_reads_the_body_however_the_view_read_it(
        collector: Collector, view_read: str, kind: str) -> None:
    """SPEC 6: the body is readable inside the grouping function under Flask too (as
    under Django and plain WSGI), whatever the view did with it first: a view that read
    request.stream (or the form, or get_data(cache=False)) left the grouping function
    get_data() == b"" and get_json() failing before; the view's reads are unchanged."""
    flask = pytest.importorskip("flask")
    from readme_metrics.flask_readme import ReadMeMetrics

    body = b'{"user": "ada", "n": 1}' if kind == "json" else b"user=ada&n=1"
    ctype = "application/json" if kind == "json" else "application/x-www-form-urlencoded"
    seen: list[Any] = []

    def grouping(request: Any) -> dict[str, str]:
        data = request.get_data()  # first: werkzeug's form parsing leaves it b"" after
        user = (request.get_json()["user"] if kind == "json" else request.form["user"])
        seen.append((data, user))
        return dict(CALLER)

    def make_app(name: str) -> Any:
        app = flask.Flask(name)

        @app.route("/", methods=["POST"])
        def view() -> Any:
            return _FLASK_VIEW_READS[view_read](flask)

        return app

    bare = make_app("spec28_bare").test_client().post("/", data=body,
                                                      content_type=ctype)
    app = make_app("spec28_wrapped")
    metrics = ReadMeMetrics(MetricsApiConfig(api_key=API_KEY, metrics_api=collector.url,
                                             **inline_options({"grouping_function": grouping})))
    metrics.init_app(app)
    try:
        response = app.test_client().post("/", data=body, content_type=ctype)
        assert (response.status, response.data) == (bare.status, bare.data)
        response.close()
        assert metrics.flush(5.0)
        log, = collector.wait_for_logs(1, timeout=5)
        assert seen == [(body, "ada")]
        post_data = entry_of(log)["request"]["postData"]
        assert post_data.get("text", body.decode()) == body.decode()
    finally:
        metrics.close()


def test_flask_streamed_answer_reads_the_rest_after_the_grouping_function(
        collector: Collector) -> None:
    """A streamed answer whose generator reads the body on after the view returned gets
    the rest as without the middleware, though the grouping function read it all."""
    flask = pytest.importorskip("flask")
    from readme_metrics.flask_readme import ReadMeMetrics

    body = b'{"user": "ada", "padding": "' + b"x" * 5000 + b'"}'
    seen: list[Any] = []

    def grouping(request: Any) -> dict[str, str]:
        seen.append(request.get_json()["user"])
        return dict(CALLER)

    def make_app(name: str) -> Any:
        app = flask.Flask(name)

        @app.route("/", methods=["POST"])
        def view() -> Any:
            stream = flask.request.stream
            first = stream.read(10)

            def rest() -> Any:
                yield first
                yield b"|" + stream.read()

            return flask.Response(flask.stream_with_context(rest()))

        return app

    bare = make_app("spec28_bare_stream").test_client().post(
        "/", data=body, content_type="application/json")
    app = make_app("spec28_stream")
    metrics = ReadMeMetrics(MetricsApiConfig(api_key=API_KEY, metrics_api=collector.url,
                                             **inline_options({"grouping_function": grouping})))
    metrics.init_app(app)
    try:
        response = app.test_client().post("/", data=body, content_type="application/json")
        assert response.data == bare.data == body[:10] + b"|" + body[10:]
        response.close()
        assert metrics.flush(5.0)
        collector.wait_for_logs(1, timeout=5)
        assert seen == ["ada"]
    finally:
        metrics.close()


@pytest.mark.parametrize("view_read", ["stream", "stream-part", "form", "untouched"])
def test_flask_grouping_reads_the_body_under_werkzeugs_server(collector: Collector,
                                                              view_read: str) -> None:
    """The same under werkzeug's development server (``flask run``), on a live
    connection: the grouping function reads the whole body, the client gets the view's
    answer as from the bare app."""
    flask = pytest.importorskip("flask")
    requests = pytest.importorskip("requests")
    from werkzeug.serving import make_server

    from readme_metrics.flask_readme import ReadMeMetrics

    seen: list[Any] = []

    def grouping(request: Any) -> dict[str, str]:
        seen.append(request.get_data())
        return dict(CALLER)

    app = flask.Flask("spec28_werkzeug")

    @app.route("/", methods=["POST"])
    def view() -> Any:
        return _FLASK_VIEW_READS[view_read](flask)

    bare = app.test_client().post("/", data=b"user=ada&n=1",
                                  content_type="application/x-www-form-urlencoded").data
    metrics = ReadMeMetrics(MetricsApiConfig(api_key=API_KEY, metrics_api=collector.url,
                                             **inline_options({"grouping_function": grouping})))
    metrics.init_app(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        answer = requests.post(f"http://127.0.0.1:{server.port}/", data={"user": "ada",
                                                                        "n": "1"}, timeout=10)
        assert answer.content == bare
        assert metrics.flush(5.0)
        log, = collector.wait_for_logs(1, timeout=5)
        assert seen == [b"user=ada&n=1"]
        assert entry_of(log)["request"]["postData"]["params"] == [
            {"name": "user", "value": "ada"}, {"name": "n", "value": "1"}]
    finally:
        server.shutdown()
        thread.join(10)
        metrics.close()


@pytest.mark.parametrize("answer", ["streamed", "plain"])
def test_django_grouping_reads_the_body_after_a_view_that_read_part(collector: Collector,
                                                                    answer: str) -> None:
    """SPEC 6 under Django: request.body works in the grouping function after a view that
    read part of the body with request.read(), also when the view streams its answer and
    reads the rest as it goes (RawPostDataException before: the call was not logged);
    the streamed answer still gets the whole rest, as from the bare view."""
    pytest.importorskip("django")
    _django_configured()
    from django.core.handlers.wsgi import WSGIRequest
    from django.http import HttpResponse, StreamingHttpResponse

    import readme_metrics.django as adapter

    body = b'{"user": "ada", "padding": "' + b"x" * 5000 + b'"}'
    seen: list[Any] = []

    def grouping(request: Any) -> dict[str, str]:
        seen.append(json.loads(request.body)["user"])
        return dict(CALLER)

    def view(request: Any) -> Any:
        first = request.read(10)
        if answer == "plain":
            return HttpResponse(first)

        def rest() -> Any:
            yield first
            yield b"|" + request.read()

        return StreamingHttpResponse(rest())

    def content(response: Any) -> bytes:
        data = b"".join(response) if response.streaming else response.content
        response.close()
        return data

    def request() -> Any:
        return WSGIRequest(wsgi_environ("POST", "/", {"Content-Type": "application/json"},
                                        body))

    bare = content(view(request()))
    middleware = adapter.MetricsMiddleware(view, MetricsApiConfig(
        api_key=API_KEY, metrics_api=collector.url,
        **inline_options({"grouping_function": grouping})))
    try:
        assert content(middleware(request())) == bare
        assert middleware.pipeline.flush(5.0)
        log, = collector.wait_for_logs(1, timeout=5)
        assert seen == ["ada"]
        assert entry_of(log)["request"]["postData"]["text"] == body.decode()
    finally:
        middleware.pipeline.close()


@pytest.mark.parametrize("answer", ["streamed", "plain"])
def test_django_grouping_reads_a_body_past_max_body_bytes_the_view_read(
        collector: Collector, answer: str) -> None:
    """review73: a view that read the whole body with request.read(), a body longer than
    max_body_bytes: request.body raised RawPostDataException in the grouping function
    (the call not logged). It gets the body as the log has it, its start, as for a long
    body the view left unread; the view's answer is the bare view's."""
    pytest.importorskip("django")
    _django_configured()
    from django.core.handlers.wsgi import WSGIRequest
    from django.http import HttpResponse, StreamingHttpResponse

    import readme_metrics.django as adapter

    body = b"user=ada&pad=" + b"x" * 300
    seen: list[Any] = []

    def grouping(request: Any) -> dict[str, str]:
        seen.append(request.body)
        return dict(CALLER)

    def view(request: Any) -> Any:
        data = request.read()
        if answer == "plain":
            return HttpResponse(data)
        return StreamingHttpResponse(iter([data, b"|" + request.read()]))

    def content(response: Any) -> bytes:
        data = b"".join(response) if response.streaming else response.content
        response.close()
        return data

    def request() -> Any:
        return WSGIRequest(wsgi_environ(
            "POST", "/", {"Content-Type": "application/x-www-form-urlencoded"}, body))

    bare = content(view(request()))
    middleware = adapter.MetricsMiddleware(view, MetricsApiConfig(
        api_key=API_KEY, metrics_api=collector.url, max_body_bytes=100,
        **inline_options({"grouping_function": grouping})))
    try:
        assert content(middleware(request())) == bare
        assert middleware.pipeline.flush(5.0)
        collector.wait_for_logs(1, timeout=5)
        assert seen == [body[:100]]
    finally:
        middleware.pipeline.close()


_ENCODER_SCRIPT = """
import sys
if sys.argv[2] == "without":
    sys.modules["orjson"] = None  # as if the fast extra were not installed
from readme_metrics import MetricsApiConfig, MetricsMiddleware
from tests.support.wsgi import run_wsgi, wsgi_environ

def app(environ, start_response):
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("201 Created", [("Content-Type", "application/json"), ("X-N", "1")])
    return ['{"caf\\u00e9": [1, 2.5, 1e300, null, "\\\\ud800", "\\u2028"]}'.encode()]

middleware = MetricsMiddleware(app, MetricsApiConfig(
    api_key="rdme_encoder_key", metrics_api=sys.argv[1], base_log_url="https://d.example",
    grouping_function=lambda req: {"api_key": "k-1234", "label": "\\u00e9\\U0001f600"},
    buffer_length=1, background_worker_mode=False, denylist=["secret"], timeout=30))
body = '{"secret": "x", "n": 12345678901234567890, "f": 0.1, "s": "\\u00e9\\U0001f600"}'
run_wsgi(middleware, wsgi_environ("POST", "/enc", {"Content-Type": "application/json"},
                                  body.encode()))
assert middleware.flush(10.0)
"""


def test_posted_documents_are_the_same_without_orjson(collector: Collector) -> None:
    """SPEC 1: the bytes posted are the same JSON documents with and without orjson."""
    from tests.support.contract import run_python

    documents = []
    for encoder in ("with", "without"):
        done = run_python(_ENCODER_SCRIPT, collector.url, encoder, timeout=60)
        assert done.returncode == 0, done.stderr
        log, = collector.wait_for_logs(len(documents) + 1)[-1:]
        assert_valid_log(log)
        entry = log["request"]["log"]["entries"][0]
        for varying in ("startedDateTime", "time", "timings"):
            entry.pop(varying)
        log.pop("_id")
        entry["response"]["headers"] = [h for h in entry["response"]["headers"]
                                         if h["name"] != "x-documentation-url"]
        documents.append(log)
    assert documents[0] == documents[1]
    assert documents[0]["group"]["label"] == "\u00e9\U0001f600"
    assert json.loads(documents[0]["request"]["log"]["entries"][0]["request"]["postData"][
        "text"])["secret"] == "[REDACTED 1]"


def test_a_backlog_goes_in_posts_within_the_documented_caps(background_wrap: Any,
                                                            collector: Collector) -> None:
    """SPEC 7: with more than buffer_length waiting, one POST carries more of them, up to
    the cap docs/DELIVERY.md documents (500 logs, 2 MiB of captured data), and a single
    log larger than the byte cap goes alone; every log once."""
    gate = threading.Event()
    collector.replies.append(Reply(gate=gate))  # the first POST holds the rest back
    # (INLINE_TIMEOUT: held past 3 s while 1,114 calls are made on a loaded machine,
    # the first POST went again, "/first" twice: flaky62.)
    middleware = background_wrap(echo_app, buffer_length=1, flush_interval=0,
                                 max_body_bytes=3 * 1024 * 1024, timeout=INLINE_TIMEOUT)
    run_wsgi(middleware, wsgi_environ(path="/first"))
    collector_waits = time.monotonic() + 10
    while collector.in_flight == 0 and time.monotonic() < collector_waits:
        time.sleep(0.01)
    paths = ["/first"]
    for n in range(1100):
        paths.append(f"/small/{n}")
        run_wsgi(middleware, wsgi_environ(path=paths[-1]))
    for n in range(12):  # 200 KB each way: 400 KB captured, 5 to a POST at most
        paths.append(f"/big/{n}")
        run_wsgi(middleware, wsgi_environ("POST", paths[-1], {"Content-Type": "text/plain"},
                                          b"y" * 200_000))
    paths.append("/huge")  # 5 MB captured: over the byte cap, alone
    run_wsgi(middleware, wsgi_environ("POST", "/huge", {"Content-Type": "text/plain"},
                                      b"z" * 2_500_000))
    gate.set()
    assert middleware.flush(60.0)
    posted = [[urlsplit(log["request"]["log"]["entries"][0]["request"]["url"]).path
               for log in post.json()] for post in collector.received]
    assert sorted(path for post in posted for path in post) == sorted(paths)
    assert all(len(post) <= 500 for post in posted)
    assert max(len(post) for post in posted) > 1  # a backlog does go in larger POSTs
    assert all(sum(path.startswith("/big/") for path in post) <= 5 for post in posted)
    assert ["/huge"] in posted
