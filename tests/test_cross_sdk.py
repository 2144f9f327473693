"""As ReadMe's cross-SDK integration suites check an SDK: its example server, started with
README_API_KEY and a local metrics server's URL in the environment, is sent a GET and a
POST, and the JSON that server receives is checked (SPEC 4, 6); its webhook server is
sent signed and badly signed calls, and its answers are checked strictly (SPEC 6).

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
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from readme_metrics import __version__
from readme_metrics.masking import mask
from tests.support.contract import pairs
from tests.support.fake_api import Collector, basic_auth, free_port
from tests.support.har_check import assert_valid_log
from tests.test_e2e_servers import serve, sign

API_KEY = "a-random-readme-api-key"
CALLER = {"api_key": "owlbert-api-key", "label": "Owlbert", "email": "owlbert@example.com"}

ROOT = Path(__file__).resolve().parent.parent
#: The servers such a suite is pointed at (EXAMPLE_SERVER="python <file>"), shipped in
#: examples/metrics_sdks/ so that ReadMe's own suite can be run against this SDK too.
APPS = {
    "flask": ROOT / "examples" / "metrics_sdks" / "flask_app.py",
    "fastapi": ROOT / "examples" / "metrics_sdks" / "fastapi_app.py",
}
#: The webhook servers the suite's webhook test is pointed at, beside those.
WEBHOOKS = {
    "flask": ROOT / "examples" / "metrics_sdks" / "flask_webhooks.py",
    "fastapi": ROOT / "examples" / "metrics_sdks" / "fastapi_webhooks.py",
}
#: The examples' own ``python <file>`` (their ``__main__``) and a route each answers.
MAINS = {
    "wsgi_app.py": "/pets", "flask/app.py": "/pets", "flask/webhooks.py": "/webhook",
    "bottle/app.py": "/pets",
    **{f"metrics_sdks/{path.name}": "/" for path in APPS.values()},
    **{f"metrics_sdks/{path.name}": "/webhook" for path in WEBHOOKS.values()},
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


@pytest.mark.e2e
@pytest.mark.parametrize("example", sorted([*APPS.values(), *WEBHOOKS.values()]),
                         ids=lambda path: path.name)
def test_a_cross_sdk_server_listens_on_host(example: Path, tmp_path: Path) -> None:
    """Run in a container, such a server must listen on 0.0.0.0, which ``HOST`` says:
    given 127.0.0.2, it answers there and not on 127.0.0.1 (its default)."""
    port = free_port()
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("README_")}
    env.update(README_API_KEY=API_KEY, PORT=str(port), HOST="127.0.0.2",
               PYTHONPATH=str(ROOT))
    with serve([sys.executable, str(example)], env, tmp_path, port, host="127.0.0.2") as base:
        assert requests.get(f"{base}/", timeout=30).status_code in (200, 404)
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/", timeout=30)


# -- the webhook test: POST /webhook, signed as ReadMe signs (t=<ms>,v0=<hex hmac>) --------

#: What the suite's webhook server answers a verified call: exactly this, nothing more.
USER = {"petstore_auth": "default-key", "basic_auth": {"user": "user", "pass": "pass"}}
#: Spaced and escaped, unlike JSON.stringify's text: the server verifies the raw bytes
#: (SPEC 6), which are what was signed, not the JSON re-serialised.
BODY = b'{"email": "dom@readme.io", "name": "Zo\\u00eb"}'


@pytest.fixture(scope="module", params=sorted(WEBHOOKS))
def webhook_server(request: pytest.FixtureRequest,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The example webhook server, run as the suite runs it (``python <file>``)."""
    port = free_port()
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("README_")}
    env.update(README_API_KEY=API_KEY, PORT=str(port), PYTHONPATH=str(ROOT))
    with serve([sys.executable, str(WEBHOOKS[request.param])], env,
               tmp_path_factory.mktemp("webhooks"), port) as base:
        yield base


def _now() -> int:
    return int(time.time() * 1000)


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("signature", "status", "answer"),
    [
        pytest.param(lambda: sign(BODY, API_KEY, _now()), 200, USER, id="valid"),
        pytest.param(lambda: sign(BODY, API_KEY, _now() - 29 * 60 * 1000), 200, USER,
                     id="valid-29-minutes-old"),
        pytest.param(None, 401, {"error": "Missing Signature"}, id="missing"),
        pytest.param(lambda: "", 401, {"error": "Missing Signature"}, id="empty"),
        pytest.param(lambda: sign(BODY, "rdme_another_key", _now()), 401,
                     {"error": "Invalid Signature"}, id="another-secret"),
        pytest.param(lambda: sign(BODY + b" ", API_KEY, _now()), 401,
                     {"error": "Invalid Signature"}, id="another-body"),
        pytest.param(lambda: "t=abc,v0=def", 401, {"error": "Invalid Signature"},
                     id="malformed"),
        pytest.param(lambda: sign(BODY, API_KEY, _now() - 31 * 60 * 1000), 401,
                     {"error": "Expired Signature"}, id="expired"),
    ],
)
def test_the_cross_sdk_webhook_checks(webhook_server: str, signature: Any, status: int,
                                      answer: dict[str, Any]) -> None:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["ReadMe-Signature"] = signature()  # header names are case-insensitive
    response = requests.post(f"{webhook_server}/webhook", data=BODY, headers=headers,
                             timeout=30)
    assert (response.status_code, response.json()) == (status, answer)
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
