"""As ReadMe's cross-SDK integration suites check an SDK: its example server, started with
README_API_KEY and a local metrics server's URL in the environment, is sent a GET and a
POST, and the JSON that server receives is checked (SPEC 4, 6).

The apps are those suites' Python examples (a fixed caller, Owlbert; GET / answers
``{"message": "hello world"}``, POST / answers 200 empty; ``background_worker_mode=False``,
``buffer_length=1``), written against the public API only, shipped as
examples/metrics_sdks/ and run by their own server process. Those suites take the first
request their metrics server receives as the log: it must be ``POST /v1/request``, and
nothing else may reach that server (no documentation URL lookup: 8df0753).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from readme_metrics import __version__
from readme_metrics.masking import mask
from tests.support.contract import pairs
from tests.support.fake_api import Collector, basic_auth, free_port
from tests.support.har_check import assert_valid_log
from tests.test_e2e_servers import serve

API_KEY = "a-random-readme-api-key"
CALLER = {"api_key": "owlbert-api-key", "label": "Owlbert", "email": "owlbert@example.com"}

ROOT = Path(__file__).resolve().parent.parent
#: The servers such a suite is pointed at (EXAMPLE_SERVER="python <file>"), shipped in
#: examples/metrics_sdks/ so that ReadMe's own suite can be run against this SDK too.
APPS = {
    "flask": ROOT / "examples" / "metrics_sdks" / "flask_app.py",
    "fastapi": ROOT / "examples" / "metrics_sdks" / "fastapi_app.py",
}
#: The examples' own ``python <file>`` (their ``__main__``) and a route each answers.
MAINS = {
    "wsgi_app.py": "/pets", "flask/app.py": "/pets", "flask/webhooks.py": "/webhook",
    "bottle/app.py": "/pets",
    **{f"metrics_sdks/{path.name}": "/" for path in APPS.values()},
}


def _run(app: str, collector: Collector, tmp_path: Path,
         server: tuple[str, str] = ("", "")) -> list[dict[str, Any]]:
    """Start the example, send a GET with a query and a POST with JSON; the logs.

    ``server``: the variable naming the collector and its value, if not
    README_METRICS_SERVER and the collector's URL."""
    source = APPS[app]
    port = free_port()
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("README_") and name != "METRICS_SERVER"}
    variable, url = server
    env.update(README_API_KEY=API_KEY, PORT=str(port), PYTHONPATH=str(ROOT))
    env[variable or "README_METRICS_SERVER"] = url or collector.url
    with serve([sys.executable, str(source)], env, tmp_path, port) as base:
        got = requests.get(f"{base}/?arr%5B1%5D=3&val=1", timeout=30)
        assert got.status_code == 200 and got.json() == {"message": "hello world"}
        collector.wait_for_logs(1)
        posted = requests.post(f"{base}/", json={"user": {"email": "dom@readme.io"}},
                               timeout=30)
        assert posted.status_code == 200
        return collector.wait_for_logs(2)


@pytest.mark.e2e
@pytest.mark.parametrize("app", sorted(APPS))
def test_the_cross_sdk_checks_of_a_get_and_a_post(
        app: str, collector: Collector, tmp_path: Path) -> None:
    logs = _run(app, collector, tmp_path)
    # What the metrics server received: two POSTs of one log each, and nothing else.
    assert [(got.method, got.path) for got in collector.received] == [
        ("POST", "/v1/request")] * 2
    assert collector.gets == []
    first = collector.received[0]
    assert first.headers["Authorization"] == basic_auth(API_KEY)
    assert first.headers["Content-Type"] == "application/json"
    assert first.headers["User-Agent"] == f"readme-metrics-python@{__version__}"
    for log in logs:
        assert_valid_log(log)
        assert log["group"] == {"id": mask(CALLER["api_key"]), "label": "Owlbert",
                                "email": "owlbert@example.com"}
        assert log["group"]["id"].endswith("?-key")
        assert log["clientIPAddress"] == "127.0.0.1"
        assert log["development"] is False
        creator = log["request"]["log"]["creator"]
        assert (creator["name"], creator["version"]) == ("readme-metrics (python)",
                                                          __version__)
    get, post = (log["request"]["log"]["entries"][0] for log in logs)
    assert get["request"]["method"] == "GET"
    assert get["request"]["url"].endswith("/?arr%5B1%5D=3&val=1")
    assert get["request"]["queryString"] == [{"name": "arr[1]", "value": "3"},
                                             {"name": "val", "value": "1"}]
    assert "postData" not in get["request"]
    assert get["response"]["status"] == 200
    assert pairs(get["response"]["headers"])  # as the app sent them
    content = get["response"]["content"]
    assert json.loads(content["text"]) == {"message": "hello world"}
    assert content["size"] == len(content["text"].encode())
    assert post["request"]["method"] == "POST"
    assert post["request"]["postData"] == {"mimeType": "application/json",
                                           "text": '{"user": {"email": "dom@readme.io"}}'}
    assert post["response"]["status"] == 200


@pytest.mark.e2e
@pytest.mark.parametrize("app", sorted(APPS))
def test_the_suites_own_metrics_server_variable_is_read(
        app: str, collector: Collector, tmp_path: Path) -> None:
    """ReadMe's suite names its metrics server in METRICS_SERVER (as the URL's string,
    with a trailing slash), not in this library's README_METRICS_SERVER: the examples it
    runs read that variable too, or every log would go to metrics.readme.io instead."""
    logs = _run(app, collector, tmp_path, server=("METRICS_SERVER", collector.url + "/"))
    assert [(got.method, got.path) for got in collector.received] == [
        ("POST", "/v1/request")] * 2
    assert [log["request"]["log"]["entries"][0]["request"]["method"] for log in logs] == [
        "GET", "POST"]


@pytest.mark.e2e
@pytest.mark.parametrize("example", sorted(MAINS))
def test_an_example_run_as_a_script_listens_on_port(
        example: str, collector: Collector, tmp_path: Path) -> None:
    """Such suites (and twelve-factor hosts) choose the port and say it in ``PORT``: an
    example started as ``python examples/<file>`` listens there, not on its default."""
    port = free_port()
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("README_")}
    env.update(README_API_KEY=API_KEY, README_METRICS_SERVER=collector.url, PORT=str(port),
               PYTHONPATH=str(ROOT))
    script = ROOT / "examples" / example
    with serve([sys.executable, str(script)], env, tmp_path, port) as base:
        answer = requests.get(f"{base}{MAINS[example]}", timeout=30,
                              headers={"Authorization": "Bearer owlbert-key"})
    assert answer.status_code in (200, 405), answer.text  # /webhook takes POST only
