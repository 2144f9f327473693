"""odds6's items: each test failed on main at 618575f and passes with its fix, under real
parts (the collector on 127.0.0.1, real WSGI and ASGI middlewares, a real subprocess)."""

from __future__ import annotations

import asyncio
import json
import logging
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.asgi import MetricsMiddleware as AsgiMetricsMiddleware
from readme_metrics.masking import mask
from tests.support.asgi import body_messages, http_scope, run
from tests.support.contract import run_python
from tests.support.fake_api import INLINE_TIMEOUT, Collector
from tests.support.load_file import load_file
from tests.support.logs import assert_api_key_not_logged
from tests.support.wsgi import run_wsgi, wsgi_environ

# -- 1. a traceback's source line that holds the API key ------------------------------------

APP_KEY = "rdme_odds6_one_line_key_5150"
# README's quick start, the grouping function a lambda on the config's own line: when the
# header is missing, its KeyError's traceback (at DEBUG) showed that line, the key in it.
ONE_LINE_APP = f"""
from readme_metrics import MetricsApiConfig
def config(url):
    return MetricsApiConfig(api_key="{APP_KEY}", grouping_function=lambda req: {{"api_key": req.headers["X-Api-Key"]}}, metrics_api=url, background_worker_mode=False)
"""  # noqa: E501 - the one line is the point


def _hello(environ: Any, start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


async def _hello_asgi(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
def test_a_grouping_lambda_on_the_configs_line_does_not_show_the_key_in_its_traceback(
        tmp_path: Path, collector: Collector, caplog: pytest.LogCaptureFixture,
        kind: str) -> None:
    path = tmp_path / "odds6_one_line_app.py"
    path.write_text(ONE_LINE_APP)
    module = load_file("odds6_one_line_app", path)
    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    config = module.config(collector.url)
    if kind == "wsgi":
        middleware: Any = MetricsMiddleware(_hello, config)
        assert run_wsgi(middleware, wsgi_environ()).status.startswith("200")
    else:
        middleware = AsgiMetricsMiddleware(_hello_asgi, config)
        done = asyncio.run(run(middleware, http_scope(), body_messages(b""),
                               then="disconnect"))
        assert done.start["status"] == 200
    middleware.close()
    traces = [r for r in caplog.records if "grouping function traceback" in r.getMessage()]
    assert len(traces) == 1, [r.getMessage() for r in caplog.records]
    # The frame is still shown, the key hidden in its line.
    assert "lambda" in traces[0].getMessage() and "[REDACTED]" in traces[0].getMessage()
    assert_api_key_not_logged(caplog.records, APP_KEY)


# -- 2. JSON nested about as deep as the recursion limit --------------------------------------

CALLER_KEY = "caller-secret-key-odds6"
# The key spelled with a JSON escape: only a parser finds it, so the body is parsed.
ESCAPED = '"\\u0063' + CALLER_KEY[1:] + '"'


def _deep(depth: int, leaf: str) -> str:
    return '{"a":' * depth + leaf + "}" * depth


def _posted_text(collector: Collector, before: int) -> dict[str, Any]:
    # POSTs counted, the last one parsed: not every earlier deep body again per depth.
    posts = collector.wait_for_posts(before + 1)
    logs = json.loads(posts[-1].body)
    assert (len(posts), len(logs)) == (before + 1, 1)
    return logs[-1]["request"]["log"]["entries"][0]["request"]["postData"]


def test_json_as_deep_as_the_recursion_limit_is_masked_in_place(
        collector: Collector) -> None:
    """From about 990 levels, the document was read (json.loads) but could not be written
    again (the encoder one frame deeper): the RecursionError reached the HAR builder, which
    sent the body as "[REDACTED]". At each depth around the limit (the exact one depends on
    the stack the build runs on: 933 under pytest) the body goes as sent, the key's
    escaped spelling masked in place: valid JSON, the same structure."""
    middleware = MetricsMiddleware(_reading, MetricsApiConfig(
        api_key="rdme_odds6_deep_key", metrics_api=collector.url, buffer_length=1,
        background_worker_mode=False, timeout=INLINE_TIMEOUT,
        grouping_function=lambda req: {"api_key": CALLER_KEY}))
    try:
        for depth in (1, 128, 129, 500, *range(700, 1001), 3000):
            text = _deep(depth, ESCAPED)
            before = len(collector.wait_for_posts(0))
            run_wsgi(middleware, wsgi_environ(
                method="POST", body=text.encode(),
                headers={"Content-Type": "application/json"}))
            post = _posted_text(collector, before)
            masked_in_place = post["text"] == _deep(depth, json.dumps(mask(CALLER_KEY)))
            assert masked_in_place, (depth, post["text"][-120:], post.get("comment"))
            assert "comment" not in post, (depth, post)
    finally:
        middleware.close()


def _reading(environ: Any, start_response: Any) -> list[bytes]:
    environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


# Every thread the app and the library start after it has a 64 KiB stack (the library's
# delivery threads inherit threading.stack_size), as some apps set to save memory (musl's
# default is 128 KiB). Deep bodies are sent through a request thread (inline) and a
# delivery thread (background): the stdlib parser's C recursion overflowed such a stack
# at about 450 levels and the process died with SIGSEGV.
SMALL_STACK = textwrap.dedent("""
    import json, sys, threading
    from readme_metrics import MetricsApiConfig, MetricsMiddleware
    from tests.support.wsgi import run_wsgi, wsgi_environ

    url, key = sys.argv[1], sys.argv[2]
    threading.stack_size(64 * 1024)

    def app(environ, start_response):
        environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    def deep(depth, leaf):
        return '{"a":' * depth + leaf + "}" * depth

    for background in (False, True):
        middleware = MetricsMiddleware(app, MetricsApiConfig(
            api_key="rdme_odds6_stack_key", metrics_api=url, buffer_length=1,
            background_worker_mode=background, denylist=["secret"], timeout=30,
            grouping_function=lambda req: {"api_key": key}))

        def send():
            for depth in (100, 450, 990, 5000):
                for leaf in ('"\\\\u0063' + key[1:] + '"', '{"secret": "hunter2"}'):
                    run_wsgi(middleware, wsgi_environ(
                        method="POST", body=deep(depth, leaf).encode(),
                        headers={"Content-Type": "application/json"}))
            middleware.flush(10.0)

        thread = threading.Thread(target=send)
        thread.start()
        thread.join()
        middleware.close()
    print("done")
""")


def test_deep_json_under_a_small_thread_stack_neither_crashes_nor_leaks(
        collector: Collector) -> None:
    done = run_python(SMALL_STACK, collector.url, CALLER_KEY, timeout=120.0)
    assert done.returncode == 0 and done.stdout == "done\n", (
        done.returncode, done.stdout, done.stderr[-2000:])
    logs = collector.wait_for_logs(16)
    assert len(logs) == 16
    for log in logs:
        post = log["request"]["log"]["entries"][0]["request"]["postData"]
        assert CALLER_KEY not in post["text"] and "hunter2" not in post["text"], post
        if "secret" in post["text"]:  # too deep for the denylist: redacted whole
            assert post["text"].startswith("[REDACTED") or '"[REDACTED 7]"' in post["text"]



@pytest.mark.parametrize(("text", "deep"), [
    pytest.param("[" * 128 + "]" * 128, False, id="at-the-limit"),
    pytest.param("[" * 129 + "]" * 129, True, id="one-past"),
    pytest.param("[" * 129, True, id="cut-short-still-counted"),
    pytest.param("[]" * 5000, False, id="many-flat"),
    pytest.param('["' + "[" * 500 + '"]', False, id="brackets-in-a-string"),
    pytest.param('["\\"' + "[" * 500 + '"]', False, id="after-an-escaped-quote"),
    pytest.param('["\\\\"' + ",[" * 200 + "]" * 200 + "]", True, id="after-an-escaped-backslash"),
    pytest.param('["' + '\\"' * 5000 + "[" * 200, False, id="unclosed-string"),
])
def test_too_deep(text: str, deep: bool) -> None:
    from readme_metrics.har.deep_json import too_deep

    assert too_deep(text) is deep


def test_a_numeric_key_in_json_too_deep_to_read_goes_as_one_json_string(
        collector: Collector) -> None:
    """The key as a bare number cannot be masked in place in a text not read as JSON (the
    mask is no JSON number): the document goes as one JSON string, the key masked."""
    key = "12345678"
    middleware = MetricsMiddleware(_reading, MetricsApiConfig(
        api_key="rdme_odds6_deep_key", metrics_api=collector.url, buffer_length=1,
        background_worker_mode=False,
        timeout=INLINE_TIMEOUT, grouping_function=lambda req: {"api_key": key}))
    try:
        text = _deep(300, key)
        run_wsgi(middleware, wsgi_environ(method="POST", body=text.encode(),
                                          headers={"Content-Type": "application/json"}))
        post = _posted_text(collector, 0)
        assert post["text"] == json.dumps(_deep(300, mask(key))), post["text"][-80:]
    finally:
        middleware.close()


# -- 4. the response's httpVersion: what the server's status line said -----------------------


@pytest.mark.parametrize("kind", ["wsgiref", "werkzeug", "werkzeug-unthreaded", "waitress"])
def test_the_responses_http_version_is_the_one_the_server_answered(
        collector: Collector, kind: str) -> None:
    """wsgiref answers HTTP/1.0 to an HTTP/1.1 request (werkzeug too, until a threaded
    server of the process set its handler class to HTTP/1.1): the log said HTTP/1.1, the
    request's version, for the response as well. Checked against what the client read."""
    import http.client

    from tests.support.wsgi_servers import served

    middleware = MetricsMiddleware(_hello, MetricsApiConfig(
        api_key="rdme_odds6_version_key", metrics_api=collector.url, buffer_length=1,
        background_worker_mode=False,
        timeout=INLINE_TIMEOUT, grouping_function=lambda req: {"api_key": "v-key"}))
    try:
        with served(kind, middleware) as port:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", "/version")
            answer = connection.getresponse()
            answer.read()
            connection.close()
        entry = collector.wait_for_logs(1)[0]["request"]["log"]["entries"][0]
    finally:
        middleware.close()
    assert entry["request"]["httpVersion"] == "HTTP/1.1"  # http.client's
    assert entry["response"]["httpVersion"] == f"HTTP/{answer.version / 10:.1f}", (
        kind, answer.version)


def _depth_reference(text: str) -> int:
    """The deepest nesting of ``text``'s brackets outside strings, read character by
    character (a string's escape takes the next character; an unclosed string runs to
    the end), as the parser reads a text up to where it fails."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


@settings(max_examples=400, deadline=None)
@given(text=st.text(alphabet='[]{}"\\n ,:aé\ud800', max_size=80),
       limit=st.integers(min_value=0, max_value=12))
def test_too_deep_is_the_depth_outside_strings(text: str, limit: int) -> None:
    """The fast count (strings cut out by splitting on quotes, innermost pairs taken
    out in passes) says what a plain scan says, escapes and cut-short texts included."""
    from readme_metrics.har.deep_json import too_deep

    assert too_deep(text, limit) is (_depth_reference(text) > limit)


@pytest.mark.parametrize("depth", [1, 3, 8, 9, 20, 128, 129])
def test_too_deep_of_a_wide_document(depth: int) -> None:
    """Many brackets (an array of 1,500 records) at a given depth, past the passes."""
    from readme_metrics.har.deep_json import too_deep

    record = json.loads("[" * (depth - 1) + '{"a": "x]"}' + "]" * (depth - 1))
    text = json.dumps([record] * 1500 if depth < 128 else record)
    assert _depth_reference(text) == (depth + 1 if depth < 128 else depth)
    assert too_deep(text) is (_depth_reference(text) > 128)
