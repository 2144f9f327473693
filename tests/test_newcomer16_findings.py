"""A newcomer's first hour, sixteenth pass: README followed in a fresh clone by a Bottle, a
Pyramid, a Falcon (WSGI and ASGI), a Starlette, a Litestar and a Django (uvicorn, daphne)
user, pointed at `readme-metrics collect`, then what the library says of what they tried.

Each test is one thing tried there, with the library's real parts; none passed before its
fix.
"""

from __future__ import annotations

import logging
import signal
import subprocess

import pytest
import requests

from readme_metrics import MetricsApiConfig
from tests.test_newcomer15_findings import _app_returning

# -- a user's id of 8 digits or more as the caller's key ---------------------------------
#
# newcomer15 warned of a caller's key of a few digits (a user's pk: every 1 in that user's
# logs went out as the mask). A key of 8 digits or more (an account number, a larger pk)
# got no word, yet it is masked wherever its digits occur, inside longer numbers too: a
# Bottle user's grouping function returning the account number 12345678 sent the response
# {"order": 9912345678, "ts": 1733312345678} as {"order": "99sha512-...?5678", "ts":
# "17333sha512-...?5678"}, JSON numbers turned into text, without a word.


@pytest.mark.parametrize("key", ["12345678", 1234567890123])
def test_a_long_number_as_the_callers_key_is_warned_about_once(
        collector, caplog: pytest.LogCaptureFixture, key: object) -> None:  # type: ignore[no-untyped-def]
    from werkzeug.test import Client

    from readme_metrics import MetricsMiddleware

    config = MetricsApiConfig(api_key="any-key", metrics_api=collector.url,
                              grouping_function=lambda request: {"api_key": key})
    body = b'{"order": 99%s, "page": 2}' % (str(key).encode(),)
    middleware = MetricsMiddleware(_app_returning(body), config)
    client = Client(middleware)
    with caplog.at_level(logging.WARNING, logger="readme_metrics"):
        for _ in range(3):
            client.get("/api/orders", buffered=True)
    assert middleware.flush(5)
    said = [record.getMessage() for record in caplog.records
            if "a user's id or an account number" in record.getMessage()]
    assert len(said) == 1, caplog.text
    message = said[0]
    assert f"an api_key of {len(str(key))} digits:" in message, message
    assert "inside longer numbers too" in message and "f\"user-{" in message, message
    assert str(key) not in message, message
    # what it warns of is so: the order number went out with the mask in its middle
    text = collector.wait_for_logs(3)[0]["request"]["log"]["entries"][0]["response"][
        "content"]["text"]
    assert '"order": "99sha512-' in text.replace('":"', '": "'), text
    middleware.close()


# -- Litestar: the metrics middleware in `middleware=[...]` instead of around the app ------
#
# README's table says to wrap the `Litestar(...)` app; a Litestar user writes middleware in
# `Litestar(middleware=[DefineMiddleware(MetricsMiddleware, config=...)])`, as Litestar's
# own docs teach, and nothing said not to. Litestar builds that list once per route
# handler: 3 routes made 26 middlewares, one sender thread and one batch per route called,
# none saw the lifespan, so `uvicorn app:app` stopped by SIGTERM (a redeploy) lost the logs
# still queued (0 of 2, run by hand; wrapped: 2 of 2). README's row now says so.

_LITESTAR_APP = '''
import os

from litestar import Litestar, get
from litestar.middleware import DefineMiddleware

from readme_metrics import MetricsApiConfig
from readme_metrics.asgi import MetricsMiddleware

made = []


class Counted(MetricsMiddleware):
    def __init__(self, *args, **kwargs):
        made.append(self)
        super().__init__(*args, **kwargs)


@get("/pets")
async def pets() -> dict:
    print("middlewares made:", len(made), flush=True)
    return {"pets": []}


@get("/owners")
async def owners() -> dict:
    return {"owners": []}


def grouping(request):
    return {"api_key": request.headers.get("x-api-key")}


config = MetricsApiConfig(grouping_function=grouping)
if os.environ["FORM"] == "list":
    app = Litestar([pets, owners], middleware=[DefineMiddleware(Counted, config=config)])
else:
    app = Counted(Litestar([pets, owners]), config)
'''


def _litestar_row() -> str:
    """README's Litestar row (its quick start for the other frameworks)."""
    from tests.test_readme import readme_sections

    return [line for line in readme_sections()[
        "Quick start: Bottle, Pyramid, Falcon, Starlette and others"].splitlines()
        if line.startswith("| Litestar |")][0]


@pytest.mark.e2e
@pytest.mark.parametrize("form", ["wrapped", "list"])
def test_litestar_wrapped_as_readme_says_keeps_its_last_log_at_a_uvicorn_stop(
        tmp_path, collector, form: str) -> None:  # type: ignore[no-untyped-def]
    import sys

    pytest.importorskip("litestar")
    pytest.importorskip("uvicorn")
    from tests.support.command import app_environment
    from tests.support.ports import free_port
    from tests.test_readme import _get_then_sigterm

    row = _litestar_row()
    assert "not in its `middleware=[...]`" in row, row
    (tmp_path / "app.py").write_text(_LITESTAR_APP)
    port = free_port()
    env = app_environment(collector.url, tmp_path, FORM=form)  # flush_interval stays 5 s
    log = tmp_path / "app-output.txt"
    answer = _get_then_sigterm([sys.executable, "-m", "uvicorn", "app:app", "--port",
                                str(port)], tmp_path, env, port, log, "/pets")
    assert answer.status_code == 200, log.read_text()
    output = log.read_text()
    if form == "wrapped":
        assert "middlewares made: 1\n" in output, output
        assert len(collector.wait_for_logs(1, timeout=10)) == 1, output
    else:  # what README's row says: one per route, and the queued log lost at the stop
        made = int(output.split("middlewares made: ")[1].split()[0])
        assert made > 2, output
        assert collector.logs == [], collector.logs


# -- the Bottle and Pyramid examples stopped by SIGTERM under their own servers ----------
#
# examples/bottle and examples/pyramid say to serve them with `waitress-serve`, Bottle's
# also with `bottle.run` (`python app.py`, wsgiref), the servers a Pyramid user's `pserve`
# and a Bottle user's tutorial start. Neither takes SIGTERM: a `docker stop` or `kill`
# ended Python without its exit hooks, and the logs still queued (up to flush_interval's)
# were lost, 0 of 2 by hand under each. examples/wsgi_app.py and examples/django made
# SIGTERM an exit; these two now do too, with Troubleshooting's lines.


@pytest.mark.e2e
@pytest.mark.parametrize(("name", "server"), [
    pytest.param("bottle/app.py", "waitress", id="bottle-waitress"),
    pytest.param("bottle/app.py", "python", id="bottle-run"),
    pytest.param("pyramid/app.py", "waitress", id="pyramid-waitress"),
])
def test_the_bottle_and_pyramid_examples_send_their_last_logs_at_a_sigterm(
        tmp_path, collector, name: str, server: str) -> None:  # type: ignore[no-untyped-def]
    import shutil
    import sys

    from tests.support.command import app_environment
    from tests.support.ports import free_port
    from tests.test_readme import EXAMPLES, _start_app

    folder = tmp_path / name.split("/")[0]
    shutil.copytree(EXAMPLES / name.split("/")[0], folder)
    port = free_port()
    argv = {"waitress": [sys.executable, "-m", "waitress", f"--listen=127.0.0.1:{port}",
                         "app:app"],
            "python": [sys.executable, "app.py"]}[server]
    env = app_environment(collector.url, folder, PORT=str(port))  # flush_interval: 5 s
    log = tmp_path / "app-output.txt"
    proc = _start_app(argv, folder, env, port, log)
    try:
        answer = requests.get(f"http://127.0.0.1:{port}/pets", timeout=10,
                              headers={"Authorization": "Bearer owlbert-key"})
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            if server != "python":
                raise
            # bottle.run is wsgiref: a SIGTERM landing while it still ends the answer
            # (the client has it; a CI at load 9 once) is taken for the app's error and
            # it serves on (docs/DELIVERY.md Exit): a second one, between requests, ends
            # it, as Troubleshooting says.
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    assert answer.status_code == 200, log.read_text()
    assert len(collector.wait_for_logs(1, timeout=10)) == 1, log.read_text()
    assert proc.returncode == 0, log.read_text()  # an exit, not SIGTERM's default action


# -- Litestar: `litestar run`, Litestar's own command, on the wrapped app ------------------
#
# `litestar run` finds the app by looking for a `Litestar` object in app.py: with README's
# `app = MetricsMiddleware(api, config)` it found `api` and served it unwrapped, nothing
# logged and nothing said; with the Litestar app made inline it stopped with a NameError
# traceback (its autodiscovery reads the annotations of every callable in the module), and
# `litestar --app app:app run` with a TypeError (it calls a non-Litestar app as a factory).
# README's row now says to serve the wrapped app with `uvicorn app:app`.

_LITESTAR_NAMED = '''
from litestar import Litestar, get

from readme_metrics import MetricsApiConfig
from readme_metrics.asgi import MetricsMiddleware


@get("/pets")
async def pets() -> dict:
    return {"pets": []}


def grouping(request):
    return {"api_key": request.headers.get("x-api-key")}


api = Litestar([pets])
app = MetricsMiddleware(api, MetricsApiConfig(grouping_function=grouping))
'''


@pytest.mark.e2e
@pytest.mark.parametrize("command", ["uvicorn", "litestar run"])
def test_litestar_run_serves_the_unwrapped_app_as_readme_says(
        tmp_path, collector, command: str) -> None:  # type: ignore[no-untyped-def]
    import sys

    pytest.importorskip("litestar.cli")
    pytest.importorskip("uvicorn")
    from tests.support.command import app_environment
    from tests.support.ports import free_port
    from tests.test_readme import _start_app

    row = _litestar_row()
    assert "served by `uvicorn app:app`: `litestar run` looks for the `Litestar` object " \
        "and serves it without the middleware" in row, row
    (tmp_path / "app.py").write_text(_LITESTAR_NAMED)
    port = free_port()
    argv = {"uvicorn": ["uvicorn", "app:app"], "litestar run": ["litestar", "run"]}[command]
    env = app_environment(collector.url, tmp_path,
                          README_BASE_LOG_URL="https://docs.example.com")
    log = tmp_path / "app-output.txt"
    proc = _start_app([sys.executable, "-m", *argv, "--port", str(port)], tmp_path, env,
                      port, log)
    try:
        answer = requests.get(f"http://127.0.0.1:{port}/pets", timeout=10,
                              headers={"X-Api-Key": "owlbert-key"})
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert answer.status_code == 200, log.read_text()
    # the middleware puts the log's address on every response it logs
    logged = "x-documentation-url" in answer.headers
    assert logged == (command == "uvicorn"), (answer.headers, log.read_text())


# -- a random numeric API key is no user's id (review81) ---------------------------------
#
# The number-key warning above asked a caller's key of 32 digits (a random numeric API
# key, which never turns up inside the numbers of its logs) whether it was a user's id.
# An unsigned 64-bit id has at most 20 digits: longer keys get no warning (review83).


@pytest.mark.parametrize("key, warned", [
    ("1" * 19, True),
    ("18446744073709551615", True),  # the largest unsigned 64-bit integer: 20 digits
    ("10000000000000000000", True),  # past the signed range, still an unsigned id
    ("7" * 21, False),
    ("31415926535897932384626433832795", False),
])
def test_a_numeric_key_longer_than_any_id_is_not_warned_about(
        collector, caplog: pytest.LogCaptureFixture, key: str, warned: bool) -> None:  # type: ignore[no-untyped-def]
    from werkzeug.test import Client

    from readme_metrics import MetricsMiddleware

    config = MetricsApiConfig(api_key="any-key", metrics_api=collector.url,
                              grouping_function=lambda request: {"api_key": key})
    middleware = MetricsMiddleware(_app_returning(b'{"page": 2}'), config)
    with caplog.at_level(logging.WARNING, logger="readme_metrics"):
        Client(middleware).get("/api/orders", buffered=True)
    assert middleware.flush(5)
    said = [record.getMessage() for record in caplog.records
            if "a user's id or an account number" in record.getMessage()]
    assert len(said) == (1 if warned else 0), caplog.text
    assert all(key not in message for message in said)  # the key itself is never said
    middleware.close()
