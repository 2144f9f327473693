"""A newcomer's first hour, eleventh pass: README's quick starts followed in a fresh
clone, pointed at ``readme-metrics collect``, then the mistakes a newcomer makes, and what
the library says about each.

Each test is one thing tried there, with the library's real parts (the real middleware,
delivery and logger, real sockets on this machine); none passed before its fix.
"""

from __future__ import annotations

import logging
import re
import shlex
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest
import requests
from werkzeug.test import Client

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.delivery.errors import described, requests_error
from tests.support.command import REPO_ROOT, app_environment
from tests.support.fake_api import Collector
from tests.support.ports import free_port
from tests.support.processes import run_command
from tests.test_readme import _one_log, _start_app, code_blocks, readme_sections


def _name_for_this_machine() -> Optional[str]:
    """A host name /etc/hosts gives a loopback address (the machine's own, as ``vm`` or a
    container's), so a URL with it is not taken for the local collector's (no
    ``localhost``, no 127.x), yet reaches only this machine, with no name server asked.
    None where the file lists none."""
    try:
        lines = Path("/etc/hosts").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split("#", 1)[0].split()
        if len(fields) < 2:
            continue
        if fields[0] != "127.0.0.1":
            continue
        for name in fields[1:]:
            if "localhost" not in name.lower():
                return name
    return None


HOST = _name_for_this_machine()
needs_host = pytest.mark.skipif(HOST is None, reason="/etc/hosts names no host 127.0.0.1")


def _hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


def _close_warnings(url: str, caplog: pytest.LogCaptureFixture, **options: Any) -> str:
    """The warnings of an app whose one log cannot reach ``url``, closed at once, as a
    short script's exit does."""
    app = MetricsMiddleware(_hello, MetricsApiConfig(
        api_key="any-key", metrics_api=url, base_log_url="https://docs.example.com",
        grouping_function=lambda request: {"api_key": "owlbert-key"}, **options))
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    assert Client(app).get("/", buffered=True).status_code == 200
    app.close()
    return "\n".join(record.getMessage() for record in caplog.records
                     if "not delivered" in record.getMessage()
                     or " in a row " in record.getMessage())


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that takes connections and never answers (a firewall that lets the SYN
    through and drops the rest acts the same for the POST)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield server.getsockname()[1]
    server.close()


@needs_host
def test_a_metrics_api_this_machine_cannot_reach_is_said_with_what_to_check(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """The firewall of step 2: an app whose outbound connections to ReadMe are blocked
    (a REJECT, a DROP, no name server) got "closing gave up ...: 1 log not delivered; the
    last attempt to post to https://metrics.readme.io/v1/request failed (ConnectionError:
    ConnectionRefusedError: ...)", and nothing more: the hint after it was only for a
    loopback URL (start `readme-metrics collect`), and README's row for that error said
    to start the collector or unset README_METRICS_SERVER, neither of which helps a
    production app behind an egress firewall. The message now names the host, the likely
    causes and the check to run on the app's machine."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "ALL_PROXY",
                 "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    url = f"http://{HOST}:{free_port()}"  # nothing listens: refused, as a REJECT rule is
    said = _close_warnings(url, caplog, shutdown_timeout=1)
    assert "ConnectionRefusedError" in said, said
    assert f"this machine cannot reach {HOST}: a firewall or egress rule" in said, said
    assert f"`curl -sI {url}`, run on the app's machine" in said, said
    assert "readme-metrics collect" not in said, said


@needs_host
def test_a_metrics_api_that_never_answers_is_said_with_what_to_check(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
        silent_port: int) -> None:
    """A DROP further on (the connection made, no answer ever): "failed (Timeout: no
    complete answer within ...)" alone before; now what it may be and how to check."""
    for name in ("http_proxy", "HTTP_PROXY", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    url = f"http://{HOST}:{silent_port}"
    said = _close_warnings(url, caplog, shutdown_timeout=4, timeout=0.2)
    assert "Timeout" in said, said
    assert (f"no answer from {HOST} within timeout (README_TIMEOUT): a firewall that "
            "drops the connection") in said, said
    assert f"`curl -sI {url}`" in said, said


@pytest.mark.parametrize("error, connecting", [
    (socket.gaierror(-2, "Name or service not known"), True),
    (socket.gaierror(-3, "Temporary failure in name resolution"), True),
    (TimeoutError("timed out"), True),
    (TimeoutError("looking up the Metrics API's host name timed out"), True),
    (OSError(101, "Network is unreachable"), True),
    (OSError(113, "No route to host"), True),
])
def test_each_way_readme_is_not_reached_gets_the_hint(error: Exception,
                                                      connecting: bool) -> None:
    """What ReadMe's own URL meets behind an egress firewall or without a name server,
    which no test here can provoke for real (no traffic leaves this machine): the error
    as the poster raises it (``requests_error``, ``described``), and the close's
    warning built from it."""
    from readme_metrics.delivery.attempt import why_waiting

    cause = described(requests_error(error, False, 3.0, connecting))
    said = why_waiting("https://metrics.readme.io/v1/request", cause)
    assert "this machine cannot reach metrics.readme.io" in said, said
    assert "`curl -sI https://metrics.readme.io`" in said, said
    # Through a proxy the unreachable one may be the proxy: no such advice then.
    assert "cannot reach" not in why_waiting("https://metrics.readme.io/v1/request",
                                             cause, proxied=True)


def test_an_answer_from_readme_gets_no_network_hint() -> None:
    """A 4xx, a 5xx, a reset mid-answer: the network was crossed, nothing to check."""
    from readme_metrics.delivery.attempt import why_waiting

    for cause in ("HTTP 500 Internal Server Error", "HTTP 429 Too Many Requests",
                  "ConnectionError: ConnectionResetError: [Errno 104] reset by peer"):
        said = why_waiting("https://metrics.readme.io/v1/request", cause)
        assert "curl" not in said and "cannot reach" not in said, said


def test_the_troubleshooting_row_for_an_unreachable_readme_quotes_the_message() -> None:
    """README's short row and docs/TROUBLESHOOTING.md's full one, for the production
    app whose logs never leave its network, quote what the warning says."""
    from tests.test_readme import troubleshooting_row

    row = troubleshooting_row('a warning "3 POSTs in a row to https://metrics.readme.io')
    assert "this machine cannot reach metrics.readme.io" in row, row
    assert "curl -sI https://metrics.readme.io" in row, row
    assert "HTTPS_PROXY" in row, row
    assert (REPO_ROOT / "docs" / "TROUBLESHOOTING.md").exists()


@pytest.mark.e2e
def test_the_flask_quick_start_under_gunicorn_as_readme_says(tmp_path: Path,
                                                             collector: Collector) -> None:
    """Step 1 under the server people use: the Flask quick start has no module-level
    ``app`` (its ``create_app()`` makes one), so ``gunicorn app:app``, as the Django quick
    start and "Bottle, Pyramid, Falcon" teach, stops at once ("Failed to find attribute
    'app' in 'app'", the worker exiting with code 4), and README said nothing of gunicorn
    for Flask. It now gives the factory's line; both are run here as README words them."""
    section = readme_sections()["Quick start: Flask"]
    (code,) = code_blocks(section, "python")
    (tmp_path / "app.py").write_text(code)
    (line,) = re.findall(r"`README_API_KEY='<your ReadMe API key>' (gunicorn [^`]+)`",
                         " ".join(section.split()))
    assert "'app:create_app()'" in line and "-b 127.0.0.1:8000" in line, line
    env = app_environment(collector.url, tmp_path)

    wrong = run_command([sys.executable, "-m", "gunicorn", "app:app", "-b",
                         f"127.0.0.1:{free_port()}"], cwd=tmp_path, env=env,
                        stdin=subprocess.DEVNULL, capture_output=True, text=True)
    assert wrong.returncode != 0
    (quoted,) = re.findall(r'stops with "([^"]+)"', " ".join(section.split()))
    assert quoted in wrong.stderr, wrong.stderr

    port = free_port()
    command = [sys.executable, "-m", *shlex.split(line.replace("8000", str(port)))]
    log = tmp_path / "app-output.txt"
    proc = _start_app(command, tmp_path, env, port, log)
    try:
        answer = requests.get(f"http://127.0.0.1:{port}/", timeout=10,
                              headers={"X-Api-Key": "owlbert-key"})
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log.read_text()
    assert answer.json() == {"hello": "world"}
    (sent,) = _one_log(collector, log)
    assert sent["group"]["label"] == "Customer name"


@pytest.mark.e2e
@pytest.mark.parametrize("lifespan", [False, True], ids=["quick-start", "with-lifespan"])
def test_the_django_quick_start_under_uvicorn_keeps_its_last_logs_as_readme_says(
        tmp_path: Path, collector: Collector, lifespan: bool) -> None:
    """README's Django quick start, served by `uvicorn mysite.asgi:application` as its
    "Django under ASGI" row said ("nothing more"), then stopped as a redeploy stops it
    (SIGTERM) just after a call: the log, waiting for its flush_interval, was lost
    (uvicorn ends on SIGTERM without exit hooks, Django's ASGI handler having no
    lifespan). README now says so in the quick start and the row, with the lines to put
    in asgi.py (`with_lifespan`; they were SIGTERM lines in settings.py until newcomer16);
    with them the log arrives. Without them it is still lost: that is what README says,
    checked."""
    from tests.test_readme import _django, _get_then_sigterm

    section = readme_sections()["Quick start: Django"]
    assert "uvicorn mysite.asgi:application" in section
    row = [line for line in readme_sections()[
        "Quick start: Bottle, Pyramid, Falcon, Starlette and others"].splitlines()
        if line.startswith("| Django under ASGI |")][0]
    assert "with_lifespan" in row and "nothing more" not in row, row
    _django(tmp_path, 0, lifespan=lifespan)
    port = free_port()
    env = app_environment(collector.url, tmp_path)
    log = tmp_path / "app-output.txt"
    answer = _get_then_sigterm([sys.executable, "-m", "uvicorn", "mysite.asgi:application",
                                "--port", str(port)], tmp_path, env, port, log)
    assert answer.status_code == 200
    if lifespan:
        assert len(_one_log(collector, log)) == 1
    else:  # the flush_interval (5 s) has not come: nothing was sent, nor will be
        assert collector.logs == [], collector.logs


@pytest.mark.parametrize("seconds, said", [(1.61722, "1.62s"), (3.0, "3s"), (0.2, "0.2s"),
                                           (86400.0, "86400s")])
def test_a_timeout_is_said_in_readable_seconds(seconds: float, said: str) -> None:
    """The exit that gave up on a Metrics API that never answered said "(Timeout: no
    complete answer within 1.61722s)": the POST's bound, cut to what was left of
    shutdown_timeout, to the microsecond. Now to the hundredth."""
    error = requests_error(TimeoutError("timed out"), True, seconds)
    assert described(error) == f"Timeout: no complete answer within {said}"
