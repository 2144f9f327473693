"""``readme-metrics collect``: the local Metrics API stand-in (SPEC section 9).

The collector runs as a real subprocess (``python -m readme_metrics collect --port 0``) and
receives logs from a real MetricsMiddleware over loopback HTTP; the tests read its HAR
file, its console lines, its stderr and its JSON API. Its parts are checked in-process in
test_collector_parts.py, its defences in test_collector_safety.py.
"""

from __future__ import annotations

import base64
import json
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest
import requests

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from tests.support.command import CommandProcess
from tests.support.contract import hit
from tests.support.fake_api import Collector, basic_auth
from tests.support.har_check import assert_valid_log
from tests.support.har_file import har_file_logs
from tests.support.processes import read_line, start_server
from tests.support.sample_logs import entry_count, valid_log
from tests.support.wsgi import ThreadedWSGIServer

LISTENING = r"listening on (http://127\.0\.0\.1:\d+)"


def example_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """A tiny API: echoes what it received as JSON; /boom fails with 500."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    path = environ["PATH_INFO"]
    status = "500 Internal Server Error" if path == "/boom" else (
        "201 Created" if environ["REQUEST_METHOD"] == "POST" and path == "/items" else "200 OK"
    )
    answer = json.dumps({"path": path, "received": len(body), "ok": status[0] == "2"})
    start_response(status, [("Content-Type", "application/json")])
    return [answer.encode()]


def grouping(request: Any) -> dict[str, str]:
    label = request.headers.get("X-Caller", "nobody")
    return {"api_key": f"key-of-{label}", "label": label, "email": f"{label}@example.com"}


def metrics(url: str, api_key: str = "rdme_test_key_1234") -> MetricsMiddleware:
    """The real middleware, sending each log at once to the collector at ``url``."""
    return MetricsMiddleware(example_app, MetricsApiConfig(
        api_key=api_key,
        grouping_function=grouping,
        metrics_api=url,
        base_log_url=url,  # x-documentation-url is then known at once: it names the log
        background_worker_mode=False,
        buffer_length=1,
        flush_interval=0,
        timeout=10,
    ))


@pytest.fixture(scope="module")
def collect(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CommandProcess, str,
                                                                        Path]]:
    """One collector for the module (no --api-key): (process, url, HAR path)."""
    home = tmp_path_factory.mktemp("collect")
    har = home / "calls.har"
    proc = CommandProcess("collect", "--port", "0", "--har", str(har), cwd=home)
    try:
        url = proc.wait_for(LISTENING).group(1)
        yield proc, url, har
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CommandProcess, str,
                                                                        Path]]:
    """A collector that accepts only the key ``rdme_right``: (process, url, HAR path)."""
    home = tmp_path_factory.mktemp("guarded")
    har = home / "guarded.har"
    proc = CommandProcess("collect", "--port", "0", "--har", str(har), "--api-key",
                          "rdme_right", cwd=home)
    try:
        url = proc.wait_for(LISTENING).group(1)
        yield proc, url, har
    finally:
        proc.stop()


CALLS = [
    pytest.param("GET", "/items?limit=2&q=a+b", {}, 200, id="get-query"),
    pytest.param("POST", "/items", {"json": {"name": "anvil", "tags": ["heavy"]}}, 201,
                 id="post-json"),
    pytest.param("POST", "/login", {"data": {"user": "wile", "password": "carrot"}}, 200,
                 id="post-form"),
    pytest.param("POST", "/upload", {"files": {"file": ("a.csv", b"id\n1\n", "text/csv")}},
                 200, id="multipart-upload"),
    pytest.param("PUT", "/items/7", {"data": b"\x00\xff\x10", "headers": {
        "Content-Type": "application/octet-stream"}}, 200, id="binary"),
    pytest.param("GET", "/boom", {"headers": {"Authorization": "Bearer t0k3n",
                                              "Cookie": "sid=abc"}}, 500, id="error"),
]


@pytest.mark.parametrize(("method", "path", "options", "status"), CALLS)
def test_middleware_log_reaches_file_console_and_api(
    collect: tuple[CommandProcess, str, Path], request: pytest.FixtureRequest,
    method: str, path: str, options: dict[str, Any], status: int,
) -> None:
    proc, url, har = collect
    caller = request.node.callspec.id
    middleware = metrics(url)
    headers = {"X-Caller": caller, **options.get("headers", {})}
    kwargs = {k: v for k, v in options.items() if k != "headers"}
    with ThreadedWSGIServer(middleware) as server:
        response = requests.request(method, server.url + path, headers=headers, timeout=10,
                                    **kwargs)
    assert response.status_code == status
    assert middleware.flush(timeout=10) is True
    assert middleware.stats["sent"] == 1 and middleware.stats["failed_batches"] == 0
    middleware.close()
    log_id = response.headers["x-documentation-url"].rsplit("/", 1)[1]

    # One console line: time, caller, method, path (without the query), status, duration.
    plain_path = path.split("?")[0]
    line = proc.wait_for(
        rf"^\d\d:\d\d:\d\d  {caller}\s+{method}\s+{plain_path}\s+{status}\s+[\d.]+ ms$"
    ).group(0)
    assert "password" not in line

    # The HAR file: one valid document, this call in it, as a valid log of SPEC 4.
    logs = {log["_id"]: log for log in har_file_logs(har)}
    log = logs[log_id]
    assert_valid_log(log)
    entry = log["request"]["log"]["entries"][0]
    assert entry["request"]["method"] == method
    assert entry["request"]["url"] == server.url + path
    assert entry["response"]["status"] == status
    assert log["group"]["label"] == caller

    # The dashboard's JSON and the page x-documentation-url points at.
    detail = requests.get(f"{url}/api/logs/{log_id}", timeout=5).json()
    assert detail["entry"] == entry and detail["caller"] == caller
    page = requests.get(response.headers["x-documentation-url"], timeout=5)
    assert page.status_code == 200 and 'src="/app.js"' in page.text


def test_summary_counts_endpoints_and_errors(collect: tuple[CommandProcess, str, Path]) -> None:
    proc, url, _ = collect
    middleware = metrics(url)
    with ThreadedWSGIServer(middleware) as server:
        for path in ("/things/1", "/things/2", "/things/3", "/boom"):
            requests.get(server.url + path, headers={"X-Caller": "summary"}, timeout=10)
    assert middleware.flush(timeout=10)
    middleware.close()
    summary = requests.get(url + "/api/summary", timeout=5).json()
    by_endpoint = {item["endpoint"]: item for item in summary["endpoints"]}
    assert by_endpoint["GET /things/{id}"]["count"] == 3
    assert by_endpoint["GET /boom"]["errors"] >= 1
    assert summary["errors"] >= 1 and 0 < summary["errorRate"] < 1
    newest = requests.get(url + "/api/logs", timeout=5).json()["logs"]
    assert [row["path"] for row in newest[:4]] == ["/boom", "/things/3", "/things/2",
                                                   "/things/1"]  # newest first


@pytest.mark.parametrize(("authorization", "status"), [
    pytest.param(None, 401, id="missing"),
    pytest.param("Bearer rdme_right", 401, id="not-basic"),
    pytest.param(basic_auth("rdme_wrong"), 401, id="wrong-key"),
    pytest.param("Basic !!!notbase64", 401, id="garbage"),
    pytest.param("Basic " + base64.b64encode(b"rdme_right").decode(), 401, id="no-colon"),
    pytest.param(basic_auth("rdme_right"), 202, id="right-key"),
])
def test_basic_auth_is_checked(guarded: tuple[CommandProcess, str, Path],
                               authorization: str | None, status: int) -> None:
    _, url, har = guarded
    before = entry_count(har)
    headers = {"Authorization": authorization} if authorization else {}
    response = requests.post(url + "/v1/request", json=[valid_log()], headers=headers,
                             timeout=5)
    assert response.status_code == status
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Basic")
        assert entry_count(har) == before
    else:
        assert response.json() == {"accepted": 1}
        assert entry_count(har) == before + 1


def test_wrong_key_from_the_middleware_is_refused(
        guarded: tuple[CommandProcess, str, Path]) -> None:
    proc, url, har = guarded
    before = entry_count(har)
    middleware = metrics(url, api_key="rdme_wrong_key")
    with ThreadedWSGIServer(middleware) as server:
        requests.get(server.url + "/denied", headers={"X-Caller": "intruder"}, timeout=10)
    assert middleware.flush(timeout=10) is False
    middleware.close()
    assert entry_count(har) == before
    assert "intruder" not in proc.stdout


def test_a_wrong_key_shows_on_the_console_in_the_summary_and_on_the_dashboard(
        tmp_path: Path) -> None:
    """collect --api-key: a refused app is seen where the user looks (issue 12, item 4)."""
    with CommandProcess("collect", "--port", "0", "--har", str(tmp_path / "k.har"),
                        "--api-key", "rdme_right", "--summary-every", "0",
                        cwd=tmp_path) as proc:
        url = proc.wait_for(LISTENING).group(1)
        middleware = metrics(url, api_key="rdme_wrong_key")
        with ThreadedWSGIServer(middleware) as server:
            requests.get(server.url + "/denied", headers={"X-Caller": "intruder"}, timeout=10)
        assert middleware.flush(timeout=10) is False
        middleware.close()
        line = "refused POST /v1/request of 1 log with 401: a wrong API key"
        deadline = time.monotonic() + 10
        while line not in proc.stderr and time.monotonic() < deadline:
            time.sleep(0.05)
        assert line in proc.stderr
        summary = requests.get(url + "/api/summary", timeout=5).json()
        assert summary["rejected"] >= 1 and summary["accepted"] == 0
        no_auth = requests.post(url + "/v1/request", json=[valid_log()], timeout=5)
        assert no_auth.status_code == 401
        refused = requests.get(url + "/api/summary", timeout=5).json()["rejected"]
        assert refused == summary["rejected"] + 1
        assert proc.stop() == 0
    proc.wait_for(rf"stopped: 0 logs received, {refused} refused; 0 entries in ")
    assert "rdme_wrong_key" not in proc.stdout + proc.stderr


def _raw_group_id() -> list[dict[str, Any]]:
    bad = valid_log("mallory")
    bad["group"]["id"] = "rdme_raw_api_key"
    return [valid_log("fine"), bad]


@pytest.mark.parametrize(("body", "content_type", "reason"), [
    pytest.param(b"{not json", "application/json", "body: not JSON", id="not-json"),
    pytest.param(b'{"a": 1}', "application/json", "body: must be a JSON array", id="object"),
    pytest.param(b"[]", "application/json", "must hold at least one log", id="empty-array"),
    pytest.param(json.dumps([valid_log()]).encode(), "text/plain",
                 "Content-Type must be application/json", id="content-type"),
    pytest.param(json.dumps(_raw_group_id()).encode(), "application/json",
                 "group.id: must be masked", id="raw-group-id"),
])
def test_invalid_batches_get_400_with_reasons(
    guarded: tuple[CommandProcess, str, Path], body: bytes, content_type: str, reason: str,
) -> None:
    proc, url, har = guarded
    before = entry_count(har)
    response = requests.post(url + "/v1/request", data=body, timeout=5, headers={
        "Authorization": basic_auth("rdme_right"), "Content-Type": content_type})
    assert response.status_code == 400
    answer = response.json()
    reasons = [p for item in answer["invalid"] for p in item["problems"]]
    assert any(reason in p for p in reasons), answer
    assert entry_count(har) == before  # a batch with an invalid log is refused whole
    deadline = time.monotonic() + 10
    while reason not in proc.stderr and time.monotonic() < deadline:
        time.sleep(0.05)
    assert reason in proc.stderr


def test_other_routes(guarded: tuple[CommandProcess, str, Path]) -> None:
    _, url, _ = guarded
    port = url.rsplit(":", 1)[1]
    auth = {"Authorization": basic_auth("rdme_right")}
    assert requests.get(url + "/v1", headers=auth, timeout=5).json() == {"baseUrl": url}
    assert requests.get(url + "/v1", timeout=5).status_code == 401
    assert requests.post(url + "/v2/request", json=[], headers=auth, timeout=5).status_code \
        == 404
    assert requests.get(url + "/api/logs/no-such-id", timeout=5).status_code == 404
    assert requests.get(url + "/api/logs?after=x", timeout=5).status_code == 400
    # DNS rebinding: a page from another site must not read the captured calls.
    assert requests.get(url + "/api/logs", headers={"Host": f"evil.example:{port}"},
                        timeout=5).status_code == 403
    assert requests.get(url + "/api/logs", headers={"Host": f"localhost:{port}"},
                        timeout=5).status_code == 200


@pytest.mark.parametrize(("path", "kind"), [
    pytest.param("/", "text/html", id="index"),
    pytest.param("/logs/some-id", "text/html", id="focused-log"),
    pytest.param("/app.js", "text/javascript", id="script"),
    pytest.param("/charts.js", "text/javascript", id="charts"),
    pytest.param("/detail.js", "text/javascript", id="detail"),
    pytest.param("/curl.js", "text/javascript", id="curl"),
    pytest.param("/util.js", "text/javascript", id="util"),
    pytest.param("/style.css", "text/css", id="style"),
])
def test_dashboard_files_load_nothing_from_outside(
        collect: tuple[CommandProcess, str, Path], path: str, kind: str) -> None:
    _, url, _ = collect
    response = requests.get(url + path, timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(kind)
    assert "default-src 'none'" in response.headers.get("Content-Security-Policy", "") \
        or kind != "text/html"
    text = response.text.replace("http://www.w3.org/2000/svg", "")  # a name, not a fetch
    assert "http://" not in text and "https://" not in text and "//cdn" not in text


@pytest.mark.parametrize("sig", [
    pytest.param(signal.SIGTERM, id="sigterm"),
    pytest.param(signal.SIGINT, id="ctrl-c"),
])
def test_signals_stop_cleanly(tmp_path: Path, sig: int) -> None:
    har = tmp_path / "stop.har"
    with CommandProcess("collect", "--port", "0", "--har", str(har), cwd=tmp_path) as proc:
        url = proc.wait_for(LISTENING).group(1)
        answer = requests.post(url + "/v1/request", json=[valid_log("last")], timeout=5,
                               headers={"Authorization": basic_auth("k")})
        assert answer.status_code == 202
        proc.wait_for(r"last\s+GET\s+/items\s+200")
        assert proc.stop(sig) == 0
        proc.wait_for(rf"stopped: 1 log received, 0 refused; 1 entry in {har}")
    assert len(har_file_logs(har)) == 1
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []


def test_piped_into_head_it_keeps_collecting_and_stops_without_a_traceback(
        tmp_path: Path) -> None:
    """``readme-metrics collect | head -1``: once head has exited, every console line
    failed, was taken for a HAR write failure (503 to every POST, so the app retried) and
    the exit line ended in a BrokenPipeError traceback."""
    import os
    import subprocess
    import sys

    from tests.support.command import REPO_ROOT

    har = tmp_path / "piped.har"
    env = {k: v for k, v in os.environ.items() if not k.startswith("README_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    errors = tmp_path / "stderr.txt"
    with open(errors, "wb") as stderr:
        proc = start_server(
            [sys.executable, "-m", "readme_metrics", "collect", "--port", "0", "--har",
             str(har)], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        assert proc.stdout is not None
        url = re.search(LISTENING, read_line(proc.stdout, about="readme-metrics collect")).group(1)  # type: ignore[union-attr]
        proc.stdout.close()  # what head does after its one line
        for label in ("first", "second"):
            answer = requests.post(url + "/v1/request", json=[valid_log(label)], timeout=5,
                                   headers={"Authorization": basic_auth("k")})
            assert answer.status_code == 202, (answer.text, errors.read_text())
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(20)
    text = errors.read_text()
    assert proc.returncode == 0 and "Traceback" not in text and "Exception" not in text, text
    assert [log["group"]["label"] for log in har_file_logs(har)] == ["first", "second"]


def test_restart_continues_the_har_file(tmp_path: Path) -> None:
    har = tmp_path / "kept.har"
    for label in ("first", "second"):
        with CommandProcess("collect", "--port", "0", "--har", str(har), cwd=tmp_path) as proc:
            url = proc.wait_for(LISTENING).group(1)
            if label == "second":
                proc.wait_for(r"HAR file: .*\(continuing, 1 entry so far\)")
                rows = requests.get(url + "/api/logs", timeout=5).json()["logs"]
                assert [row["caller"] for row in rows] == ["first"]  # history is shown
            requests.post(url + "/v1/request", json=[valid_log(label)], timeout=5,
                          headers={"Authorization": basic_auth("k")})
            proc.wait_for(label)
    assert [log["group"]["label"] for log in har_file_logs(har)] == ["first", "second"]


@pytest.mark.parametrize(("content", "why"), [
    pytest.param(b"my notes, not a HAR file", "it is not JSON (Expecting value", id="text"),
    pytest.param(b"\x89PNG\r\n\x1a\n\xff", "it is not JSON (", id="binary"),
    pytest.param(b'{"log": {"entries": 3}}', "no log.entries list in it", id="json-not-har"),
    pytest.param(b'{"name": "x"}', "no log.entries list in it", id="json-object"),
    pytest.param(b"[1, 2]", "no log.entries list in it", id="json-array"),
])
def test_refuses_to_overwrite_a_file_that_is_not_har(tmp_path: Path, content: bytes,
                                                     why: str) -> None:
    """``--har notes.txt``: refused with the reason in words (it said
    ``(JSONDecodeError('Expecting value: ...'))`` or ``(KeyError('log'))``)."""
    target = tmp_path / "precious.har"
    target.write_bytes(content)
    with CommandProcess("collect", "--port", "0", "--har", str(target), cwd=tmp_path) as proc:
        assert proc.wait(60) == 2
    assert f"{target} exists and is not a HAR file: {why}" in proc.stderr, proc.stderr
    assert "Error(" not in proc.stderr, proc.stderr
    assert target.read_bytes() == content


def test_the_two_printed_variables_close_the_local_loop(
        guarded: tuple[CommandProcess, str, Path]) -> None:
    """metrics_api and readme_api_url (README_METRICS_SERVER, README_API_URL) point at
    collect, as it prints: the docs URL lookup goes there, authenticated, and
    x-documentation-url opens the call on its dashboard."""
    proc, url, _ = guarded
    # Printed after the "listening" line the fixture waits for: waited for too.
    proc.wait_for(re.escape(f"export README_METRICS_SERVER={url} README_API_URL={url}"))
    config = MetricsApiConfig(api_key="rdme_right", grouping_function=grouping,
                              metrics_api=url, readme_api_url=url,
                              background_worker_mode=False, buffer_length=1, timeout=10)
    assert config.docs_lookup_url == url
    middleware = MetricsMiddleware(example_app, config)
    docs_url = None
    with ThreadedWSGIServer(middleware) as server:
        deadline = time.monotonic() + 20
        while docs_url is None and time.monotonic() < deadline:
            # The lookup runs on a thread after the first call; later calls carry the link.
            response = requests.get(server.url + "/loop", headers={"X-Caller": "loop"},
                                    timeout=10)
            docs_url = response.headers.get("x-documentation-url")
            time.sleep(0.05)
    assert middleware.flush(timeout=10)
    middleware.close()
    assert docs_url is not None and docs_url.startswith(url + "/logs/")
    log_id = docs_url.rsplit("/", 1)[1]
    assert requests.get(f"{url}/api/logs/{log_id}", timeout=5).json()["caller"] == "loop"
    page = requests.get(docs_url, timeout=5)
    assert page.status_code == 200 and 'src="/app.js"' in page.text
# -- without --api-key a POST is judged on its logs alone (SPEC 9, issue 6) ----------------


def _one_valid_log(collector: Collector, background_wrap: Callable[..., MetricsMiddleware]) -> dict:
    middleware = background_wrap(buffer_length=1)
    hit(middleware, "/sample")
    assert middleware.flush(10.0) is True
    return collector.logs[-1]


def test_collect_without_api_key_checks_the_logs_not_the_key(
        tmp_path: Path, collector: Collector, background_wrap: Any) -> None:
    """Issue 6: "Basic auth checked if --api-key is given: 401 otherwise": without
    --api-key a POST is judged on its logs alone (400 with reasons, or 202)."""
    good = _one_valid_log(collector, background_wrap)
    bad = json.loads(json.dumps(good))
    bad["request"]["log"]["version"] = "1.1"
    with CommandProcess("collect", "--port", "0", "--har", "open.har", cwd=tmp_path) as proc:
        url = proc.wait_for(r"listening on (http://127\.0\.0\.1:\d+)").group(1)
        post = f"{url}/v1/request"
        answer = requests.post(post, json=[bad], timeout=10)
        assert answer.status_code == 400, answer.text
        assert "version" in answer.text
        assert requests.post(post, json=[good], timeout=10).status_code == 202
        assert requests.post(post, json=[good], timeout=10, headers={
            "Authorization": basic_auth("rdme_any_key")}).json() == {
            "accepted": 0, "duplicates": 1}
    assert len(har_file_logs(tmp_path / "open.har")) == 1
