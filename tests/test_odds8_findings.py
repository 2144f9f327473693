"""odds8's items (leftovers of earlier sessions' notes): each test failed on main at
ed38dd6 and passes with its fix, under real parts (the collector on 127.0.0.1, real WSGI
servers, the middleware as users build it)."""

from __future__ import annotations

import base64
import http.client
import json
import logging
import textwrap
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote, urlsplit

import pytest
import requests

from readme_metrics import MetricsApiConfig
from readme_metrics.masking import mask
from tests.support.command import CommandProcess
from tests.support.contract import run_python
from tests.support.fake_api import Collector
from tests.support.wsgi_servers import served

# -- 1. the response's httpVersion when the app raises in its call --------------------------


def _raising(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    raise RuntimeError("odds8: the app raised before answering")


@pytest.mark.parametrize("kind", ["wsgiref", "werkzeug-unthreaded", "waitress"])
def test_an_app_raising_in_its_call_logs_the_version_of_the_servers_500(
        collector: Collector, inline_wrap: Any, kind: str) -> None:
    """wsgiref answers its own 500 to an app that raised in HTTP/1.0 whatever the request's
    version (as it answers everything): the log said HTTP/1.1, the request's. odds6 took
    the status line's version where the app returned; an app that raised before it
    returned never got there. Checked against what the client read."""
    with served(kind, inline_wrap(_raising)) as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/raises")
        answer = connection.getresponse()
        answer.read()
        connection.close()
    entry = collector.wait_for_logs(1)[0]["request"]["log"]["entries"][0]
    assert answer.status == 500 and entry["response"]["status"] == 500
    assert entry["request"]["httpVersion"] == "HTTP/1.1"  # http.client's
    assert entry["response"]["httpVersion"] == f"HTTP/{answer.version / 10:.1f}", (
        kind, answer.version)


# -- 9. a caller's key that is the url's path, "/" first ------------------------------------


def _hello(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


@pytest.mark.parametrize(("path", "query"), [
    pytest.param("/health", "", id="short"),  # under 8 characters: whole segments only
    pytest.param("/users/me", "", id="long"),
    pytest.param("/v1/items/42", "x=1", id="long-with-query"),
])
def test_a_key_that_is_the_path_is_masked_and_the_host_kept(
        collector: Collector, inline_wrap: Any, path: str, query: str) -> None:
    """A grouping function returning the path (``{"api_key": req.path}``, to group by
    endpoint). A short key ("/health") is masked where whole path segments are it; "/"
    is no segment, so it went out in clear. A long one ("/users/me") is masked where the
    url holds it, "/" and all: the url was ``http://127.0.0.1:<port>sha512-...``, the
    mask run into the port, a url of another host (the collector's check took it)."""
    app = inline_wrap(_hello, grouping_function=lambda req: {"api_key": req.path})
    with served("wsgiref", app) as port:
        target = f"http://127.0.0.1:{port}{path}" + (f"?{query}" if query else "")
        assert requests.get(target, timeout=10).status_code == 200
    request = collector.wait_for_logs(1)[0]["request"]["log"]["entries"][0]["request"]
    url = request["url"]
    assert path not in url, url
    assert url == target.replace(path, "/" + quote(mask(path), safe="")), url
    parts = urlsplit(url)
    assert (parts.hostname, parts.port) == ("127.0.0.1", port), url


# -- 3. more guessed names for the Metrics API's address ------------------------------------


@pytest.mark.parametrize("name", [
    "README_SERVER", "README_METRICS_ENDPOINT", "README_ENDPOINT", "README_METRICS_BASE_URL",
    # newcomer16/odds3: ``README_COLLECTOR_URL=http://127.0.0.1:8001`` (the docs call
    # readme-metrics collect the collector) was ignored without a word too
    "README_COLLECTOR_URL", "README_COLLECTOR", "README_COLLECTOR_HOST",
    "README_METRICS_COLLECTOR", "README_METRICS_COLLECTOR_URL", "README_SERVER_URL",
    "README_METRICS_ADDRESS", "README_METRICS_URI", "README_METRICS_API_HOST",
    "README_METRICS_API_ENDPOINT", "README_METRICS_API_BASE_URL"])
def test_a_guessed_name_for_the_metrics_address_names_the_variable(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """``README_SERVER=http://127.0.0.1:8001`` (the argument's README_METRICS_API and
    README_METRICS_URL are answered since newcomer): ignored without a word, the logs went
    to ReadMe and the local collector showed nothing. Too far from README_METRICS_SERVER
    for difflib."""
    monkeypatch.setenv(name, "http://127.0.0.1:8001")
    logger = logging.getLogger(f"odds8-guessed-{name}")  # warned once per logger
    caplog.set_level(logging.WARNING)
    MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None,
                     logger=logger)
    assert [r.getMessage() for r in caplog.records if r.name == logger.name] == [
        f"readme_metrics: {name} (set in the environment) is no variable of this library "
        "and is ignored: did you mean README_METRICS_SERVER?"]


# -- 10. CORS: expose_headers "*" with credentials ------------------------------------------

SITE = "https://app.example.com"
APP_HEADERS = [("Content-Type", "text/plain"), ("X-Total", "42"), ("X-Request-Id", "r-1"),
               ("Set-Cookie", "s=1")]


def _counted(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", list(APP_HEADERS))
    return [b"ok"]


async def _counted_asgi(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [
        (name.lower().encode(), value.encode()) for name, value in APP_HEADERS]})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
@pytest.mark.parametrize("credentials", [True, False])
def test_expose_headers_star_with_credentials_lists_the_apps_header_names(
        kind: str, credentials: bool) -> None:
    """``CORS_EXPOSE_HEADERS=*`` with ``CORS_ALLOW_CREDENTIALS=true`` sent
    ``Access-Control-Expose-Headers: *``, which a browser reads on a credentialed answer
    as a header named "*" (Fetch): the page could read no header. With credentials, the
    names of the app's headers (Set-Cookie is never readable); without, ``*`` as before."""
    options = {"allowed_origins": [SITE], "allow_credentials": credentials,
               "expose_headers": "*"}
    if kind == "wsgi":
        from readme_metrics.cors import CORSMiddleware

        with served("wsgiref", CORSMiddleware(_counted, **options)) as port:
            answer = requests.get(f"http://127.0.0.1:{port}/things", timeout=10,
                                  headers={"Origin": SITE})
        headers = answer.headers
    else:
        from starlette.testclient import TestClient

        from readme_metrics.asgi_cors import CORSMiddleware as AsgiCORSMiddleware

        client = TestClient(AsgiCORSMiddleware(_counted_asgi, **options))  # no lifespan
        headers = client.get("/things", headers={"Origin": SITE}).headers
    exposed = headers["Access-Control-Expose-Headers"]
    if credentials:
        assert headers["Access-Control-Allow-Credentials"] == "true"
        assert [name.lower() for name in exposed.split(", ")] == [
            "content-type", "x-total", "x-request-id"], exposed
    else:
        assert exposed == "*"


# -- 7. wsgi.input.readinto with a buffer no read can go into -------------------------------


@pytest.mark.parametrize("server", ["wsgiref", "werkzeug", "waitress"])
@pytest.mark.parametrize("call", [
    pytest.param(lambda stream: stream.readinto("abcd"), id="str"),
    pytest.param(lambda stream: stream.readinto(None), id="none"),
    pytest.param(lambda stream: stream.readinto(bytes(4)), id="bytes"),
    pytest.param(lambda stream: stream.readinto(bytes(100)), id="bytes-past-the-body"),
    pytest.param(lambda stream: stream.readinto(memoryview(bytearray(8))[::2]),
                 id="strided"),
])
def test_readinto_a_bad_buffer_raises_as_bare_and_the_body_is_logged_whole(
        collector: Collector, inline_wrap: Any, server: str,
        call: Callable[[Any], Any]) -> None:
    """``wsgi.input.readinto("abcd")``: the app's own mistake, as odds7's ``read("10")``.
    The tee's own memoryview raised ("memoryview: a bytes-like object is required"), not
    the server's TypeError; a read-only ``bytes`` got the server's, which marked the
    input failed, and the log's body was "incomplete: 0 of 18 bytes"."""
    from tests.test_odds7_findings import assert_misuse_answered_as_bare

    assert_misuse_answered_as_bare(collector, inline_wrap, server, call)


# -- 6. the grouping path's hint, over a source too deep for the parser ---------------------

DEEP_MODULE = """from readme_metrics import MetricsApiConfig
config = MetricsApiConfig(api_key="any-key", grouping_function="odds8_deep.grouping")
TABLE = {terms}
def grouping(request):
    return None
"""
# Compiled to its .pyc under a higher recursion limit (as compileall at a shallow stack
# may; the import then reads the .pyc), imported under the usual one.
DEEP_IMPORT = textwrap.dedent("""
    import importlib.util, py_compile, sys
    sys.path.insert(0, sys.argv[1])
    source = sys.argv[1] + "/odds8_deep.py"
    sys.setrecursionlimit(30000)
    py_compile.compile(source, cfile=importlib.util.cache_from_source(source), doraise=True)
    sys.setrecursionlimit(1000)
    try:
        import odds8_deep
    except BaseException as error:
        print(type(error).__name__, error)
""")


def test_the_circular_import_hint_over_a_source_too_deep_to_parse(tmp_path: Path) -> None:
    """The hint reads the module's source to tell a name defined below the config's line
    from a typo (odds7). A source the parser cannot build from there (a 5,000-term
    expression: "maximum recursion depth exceeded during ast construction") made the
    config raise that RecursionError, not the ValueError naming the option; the hint is
    now the one for a module without source."""
    (tmp_path / "odds8_deep.py").write_text(
        DEEP_MODULE.format(terms="+".join(["1"] * 5000)))
    ran = run_python(DEEP_IMPORT, str(tmp_path))
    assert ran.returncode == 0, ran.stderr
    said = ran.stdout.strip()
    assert said.startswith("ValueError readme_metrics: grouping_function "
                           "(README_GROUPING_FUNCTION) cannot import"), said
    assert "odds8_deep is still being imported; if 'grouping' is defined below" in said, said


# -- 4. the collector CLI's tracebacks: a lone surrogate in a POST --------------------------

COLLECT_KEY = "rdme_odds8_collect_key_4242"


def test_the_collector_answers_logs_holding_a_lone_surrogate(tmp_path: Path) -> None:
    """JSON's ``"\\udc80"`` is valid JSON that json.loads gives as a lone surrogate, which
    UTF-8 has no bytes for: the collector's handler raised UnicodeEncodeError writing its
    400 answer or the HAR line, printed socketserver's traceback, and the client got no
    answer at all (the library retries such a batch, then drops it). The tracebacks
    never held the key (the exception names a character); now there are none: the same
    escape is written. (The console was safe: the CLI's streams backslash-escape.)"""
    from tests.support.sample_logs import valid_log

    har = tmp_path / "calls.har"
    log = valid_log()
    entry = log["request"]["log"]["entries"][0]
    entry["request"]["url"] = "http://api.example.com/caf\udc80"
    log["group"]["label"] = "bob\udc80"
    auth = {"Authorization": "Basic " + base64.b64encode(f"{COLLECT_KEY}:".encode()).decode(),
            "Content-Type": "application/json"}
    with CommandProcess("collect", "--port", "0", "--har", str(har), "--api-key",
                        COLLECT_KEY, cwd=tmp_path) as proc:
        url = proc.wait_for(r"listening on (http://\S+)").group(1)
        refused = requests.post(f"{url}/v1/request", headers=auth, timeout=10,
                                data=json.dumps([{"_id": "\ud800"}]))
        accepted = requests.post(f"{url}/v1/request", headers=auth, timeout=10,
                                 data=json.dumps([log]))
        proc.wait_for(r"GET .*caf")  # the console line, the surrogate escaped
        shown = requests.get(f"{url}/api/logs", timeout=10)
        assert proc.stop() == 0
    assert refused.status_code == 400, refused.text
    assert refused.json()["invalid"][0]["_id"] == "\ud800"
    assert accepted.status_code == 202, accepted.text
    assert shown.status_code == 200 and shown.json()["logs"]
    [kept] = json.loads(har.read_text(encoding="utf-8"))["log"]["entries"]
    assert kept["request"]["url"] == "http://api.example.com/caf\udc80"
    assert kept["_readme"]["group"]["label"] == "bob\udc80"
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "console's output is closed" not in proc.stderr, proc.stderr
    for said in (proc.stdout, proc.stderr):
        assert COLLECT_KEY not in said
