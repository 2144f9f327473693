"""A newcomer's first hour, fifteenth pass: README followed in a fresh clone by three
newcomers (a FastAPI user under `uvicorn --reload` and `fastapi dev`, a Django user with
`runserver` and Django REST framework, an ops person with gunicorn `--preload -w 4`, a
`.env` file, `README_*` variables alone and a read-only app folder), pointed at
`readme-metrics collect`, then what the library says of what they tried.

Each test is one thing tried there, with the library's real parts; none passed before its
fix.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from readme_metrics import MetricsApiConfig
from tests.test_newcomer_findings import _project

# -- a value between quotes in the environment (`docker run --env-file` keeps them) -----------
#
# An ops person's `.env` file (`README_DENYLIST="password,token"`) is read with its quotes
# removed by the library (python-dotenv), but given to `docker run --env-file` the quotes
# are part of each value. The key list then held the keys '"password' and 'token"', which
# no field has: nothing was redacted, the password went out as sent, without a word. The
# other options were refused without saying why ('"false"' is not true or false).


def _refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str,
             text: str) -> str:
    """The ValueError's message for a configuration made with ``variable`` set to
    ``text`` in the environment (in a fresh project folder)."""
    _project(tmp_path, monkeypatch)
    monkeypatch.setenv(variable, text)
    with pytest.raises(ValueError) as caught:
        MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None)
    return str(caught.value)


@pytest.mark.parametrize(("variable", "text", "meant"), [
    pytest.param("README_DENYLIST", '"password,token"', "'password,token'", id="denylist"),
    pytest.param("README_ALLOWLIST", "'id,name'", "'id,name'", id="allowlist-single"),
    pytest.param("README_DENYLIST", '"password","token"', "'password,token'",
                 id="denylist-each-quoted"),
    pytest.param("README_SKIP_METHODS", '"OPTIONS,HEAD"', "'OPTIONS,HEAD'", id="methods"),
    pytest.param("README_ALLOWED_HTTP_HOSTS", '"api.example.com"', "'api.example.com'",
                 id="hosts"),
    pytest.param("README_METRICS_ENABLED", '"false"', "'false'", id="flag"),
    pytest.param("README_DEVELOPMENT_MODE", "'true'", "'true'", id="flag-single"),
    pytest.param("README_FLUSH_INTERVAL", '"1"', "'1'", id="seconds"),
    pytest.param("README_BUFFER_LENGTH", '"20"', "'20'", id="count"),
    pytest.param("README_MAX_BODY_BYTES", " '1024' ", "'1024'", id="size-blanks"),
])
def test_a_list_number_or_flag_between_quotes_is_refused_saying_to_remove_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, text: str,
        meant: str) -> None:
    message = _refused(tmp_path, monkeypatch, variable, text)
    assert f"({variable})" in message and "(from the environment)" in message, message
    assert "quotes" in message and "docker run --env-file" in message, message
    assert f"write it without them, {meant}" in message, message
    assert "separate methods with commas" not in message, message  # they are


@pytest.mark.parametrize("variable", ["README_METRICS_SERVER", "README_API_URL",
                                      "README_BASE_LOG_URL"])
def test_a_url_between_quotes_is_refused_saying_to_remove_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    message = _refused(tmp_path, monkeypatch, variable, '"http://ops:hunter2@127.0.0.1:9001"')
    assert "quotes" in message and "docker run --env-file" in message, message
    assert "write it without them" in message, message
    assert "hunter2" not in message.split("got", 1)[1].split(":", 1)[1], message  # the
    # hint does not write the URL again (its password: the refusal's own quote is masked
    # as before, where it masks it)


def test_a_grouping_path_between_quotes_says_to_remove_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _project(tmp_path, monkeypatch)
    monkeypatch.setenv("README_GROUPING_FUNCTION", '"newcomer_app.metrics:grouping"')
    with pytest.raises(ValueError) as caught:
        MetricsApiConfig(api_key="any-key")
    message = str(caught.value)
    assert "quotes" in message and "docker run --env-file" in message, message
    assert "write it without them, 'newcomer_app.metrics:grouping'" in message, message


def test_the_same_values_without_quotes_and_a_quoted_key_are_as_before(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    _project(tmp_path, monkeypatch)
    for variable, text in [("README_DENYLIST", "password,token"),
                           ("README_SKIP_METHODS", "OPTIONS,HEAD"),
                           ("README_METRICS_ENABLED", "true"),
                           ("README_FLUSH_INTERVAL", "1"),
                           ("README_API_KEY", '"rdme_quoted_key_1234"')]:
        monkeypatch.setenv(variable, text)
    with caplog.at_level(logging.WARNING, logger="readme_metrics"):
        config = MetricsApiConfig(grouping_function=lambda request: None)
    assert config.denylist == ["password", "token"]
    assert config.skip_methods == ["OPTIONS", "HEAD"]
    assert config.flush_interval == 1.0
    # the key keeps its own warning (accepted as given, never echoed)
    assert "starts and ends with a \" quote" in caplog.text, caplog.text
    assert "rdme_quoted_key_1234" not in caplog.text


def test_a_list_argument_between_quotes_is_refused_too(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # denylist='"password"' is one key '"password"' too: refused, said the same way.
    _project(tmp_path, monkeypatch)
    with pytest.raises(ValueError) as caught:
        MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None,
                         denylist='"password"')
    assert "write it without them, 'password'" in str(caught.value), str(caught.value)


# -- a user's id as the caller's key (README's Django quick start said str(request.user.pk)) --
#
# README's Django grouping function said `{"api_key": str(request.user.pk), ...}` works,
# and examples/django did so. The caller's key is masked wherever a whole value of the
# exchange equals it: signed in as the first user (pk 1), every 1 of that user's logs went
# out as the mask, `{"id": 1}` in the response, `?page=1`, `/api/users/1/`, `{"qty": 1}`,
# without a word (a Django REST framework project showed it at its first call). The first
# such key now gets one warning, without the key, saying what is masked and what to return.


def _app_returning(body: bytes):  # type: ignore[no-untyped-def]
    def app(environ, start_response):  # type: ignore[no-untyped-def]
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    return app


@pytest.mark.parametrize("key", [1, "42", "1234567"])
def test_a_short_number_as_the_callers_key_is_warned_about_once(
        collector, caplog: pytest.LogCaptureFixture, key: object) -> None:  # type: ignore[no-untyped-def]
    from werkzeug.test import Client

    from readme_metrics import MetricsMiddleware

    config = MetricsApiConfig(api_key="any-key", metrics_api=collector.url,
                              grouping_function=lambda request: {"api_key": key,
                                                                 "label": "owl"})
    middleware = MetricsMiddleware(_app_returning(b'{"id": %s, "name": "owl"}' % (
        str(key).encode(),)), config)
    client = Client(middleware)
    with caplog.at_level(logging.WARNING, logger="readme_metrics"):
        for _ in range(3):
            client.get(f"/api/users/{key}/?page=1", buffered=True)
    assert middleware.flush(5)
    said = [record.getMessage() for record in caplog.records
            if "a user's id" in record.getMessage()]
    assert len(said) == 1, caplog.text
    message = said[0]
    digits = "one digit" if len(str(key)) == 1 else f"{len(str(key))} digits"
    assert f"an api_key of {digits}:" in message, message
    assert "f\"user-{" in message and "masked wherever" in message, message
    assert f" {key} " not in message and f"'{key}'" not in message, message
    # what it warns of is so: the id in the body went out as the mask
    body = collector.wait_for_logs(3)[0]["request"]["log"]["entries"][0]["response"]
    assert f'"id": {key},' not in body["content"]["text"], body
    middleware.close()


@pytest.mark.parametrize("key", ["user-1", "owlbert-key", "k42", "12-34-56-78"])
def test_a_key_that_is_no_short_number_gets_no_such_warning(
        collector, caplog: pytest.LogCaptureFixture, key: str) -> None:  # type: ignore[no-untyped-def]
    from werkzeug.test import Client

    from readme_metrics import MetricsMiddleware

    config = MetricsApiConfig(api_key="any-key", metrics_api=collector.url,
                              grouping_function=lambda request: {"api_key": key})
    middleware = MetricsMiddleware(_app_returning(b'{"id": 1}'), config)
    with caplog.at_level(logging.WARNING, logger="readme_metrics"):
        Client(middleware).get("/", buffered=True)
    assert "a user's id" not in caplog.text, caplog.text
    middleware.close()


# -- a comment after a value (`docker run --env-file` keeps it, python-dotenv drops it) -------


@pytest.mark.parametrize(("variable", "text", "meant"), [
    pytest.param("README_DENYLIST", "password,token # secrets", "'password,token'",
                 id="denylist"),
    pytest.param("README_SKIP_METHODS", "OPTIONS  # preflights", "'OPTIONS'", id="methods"),
    pytest.param("README_FLUSH_INTERVAL", "1 # seconds", "'1'", id="seconds"),
    pytest.param("README_METRICS_ENABLED", "true\t# on", "'true'", id="flag"),
    pytest.param("README_DENYLIST", '"password,token" # secrets', "'password,token'",
                 id="quoted-and-comment"),
])
def test_a_value_with_a_comment_after_it_is_refused_saying_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, text: str,
        meant: str) -> None:
    # README_DENYLIST=password,token # secrets in a file for `docker run --env-file` was
    # the keys 'password' and 'token # secrets': the token was never redacted, without a
    # word; the numbers and flags were refused without saying why.
    message = _refused(tmp_path, monkeypatch, variable, text)
    assert f"({variable})" in message, message
    assert "ends with a comment" in message and "docker run --env-file" in message, message
    assert message.count("docker run --env-file") == 1, message
    assert f"{meant}" in message.split("write it without", 1)[1], message


@pytest.mark.parametrize(("variable", "text"), [
    ("README_METRICS_SERVER", "http://127.0.0.1:9001/#top"),
    ("README_DENYLIST", "#hash,password"),
    ("README_BASE_LOG_URL", "https://docs.example.com/#/logs"),
])
def test_a_hash_that_is_no_comment_is_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, text: str) -> None:
    _project(tmp_path, monkeypatch)
    monkeypatch.setenv(variable, text)
    try:
        MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None)
    except ValueError as exc:  # a URL with a fragment may be refused for it: not a comment
        assert "comment" not in str(exc), str(exc)


def test_a_key_with_a_comment_after_it_is_not_called_a_placeholder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # README_API_KEY=rdme_... # prod key (docker run --env-file): "looks like a
    # placeholder (such as '<your ReadMe API key>')", for a real key.
    _project(tmp_path, monkeypatch)
    monkeypatch.setenv("README_API_KEY", "rdme_abcdefghijklmnop1234 # prod key")
    with pytest.raises(ValueError) as caught:
        MetricsApiConfig(grouping_function=lambda request: None)
    message = str(caught.value)
    assert "placeholder" not in message, message
    assert "ends with a comment" in message and "write it without the comment" in message
    assert "rdme_abc" not in message and "prod key" not in message, message


# -- Django under `uvicorn --workers N` (and --reload): README's SIGTERM lines do not help ------


@pytest.mark.e2e
@pytest.mark.parametrize("asgi", ["sigterm-lines", "with-lifespan"])
def test_django_under_uvicorn_workers_keeps_its_last_logs_with_a_lifespan(
        tmp_path: Path, collector, asgi: str) -> None:  # type: ignore[no-untyped-def]
    """README's Django quick start with its SIGTERM lines, served by `uvicorn
    mysite.asgi:application --workers 2` and stopped by SIGTERM just after a call (a
    redeploy): README said the lines keep the last logs under uvicorn, but here uvicorn
    imports Django in each worker after taking SIGTERM, so `signal.getsignal(SIGTERM) is
    SIG_DFL` is false, the lines do nothing, and uvicorn ends the worker with SIGTERM's
    default action (no exit hooks): the log was lost (so under `--reload`, at each reload
    and at Ctrl-C, and under `gunicorn --preload -k uvicorn_worker.UvicornWorker`, run by
    hand). README says so now, and `asgi.py` wrapping Django's application in
    `readme_metrics.django_asgi.with_lifespan`, as README writes it, keeps the log."""
    import sys

    from tests.support.command import app_environment
    from tests.support.ports import free_port
    from tests.test_readme import _django, _get_then_sigterm, readme_sections, sigterm_advice

    section = " ".join(readme_sections()["Quick start: Django"].split())
    assert "Under uvicorn (`uvicorn mysite.asgi:application`, with `--workers N` or " \
        "`--reload` too" in section, section
    # (newcomer16: README's quick start now gives the asgi.py lines alone; the SIGTERM
    # lines tried here are Troubleshooting's, in settings.py.)
    _django(tmp_path, 0, lifespan=asgi == "with-lifespan")
    if asgi == "sigterm-lines":
        settings = tmp_path / "mysite" / "settings.py"
        settings.write_text(f"{settings.read_text()}\n{sigterm_advice()}\n")
    port = free_port()
    env = app_environment(collector.url, tmp_path)
    log = tmp_path / "app-output.txt"
    answer = _get_then_sigterm([sys.executable, "-m", "uvicorn", "mysite.asgi:application",
                                "--workers", "2", "--port", str(port)], tmp_path, env, port,
                               log)
    assert answer.status_code == 200, log.read_text()
    output = log.read_text()
    assert output.count("Finished server process") == 2, output  # both workers stopped
    if asgi == "with-lifespan":
        assert "lifespan' protocol appears unsupported" not in output, output
        assert len(collector.wait_for_logs(1, timeout=10)) == 1, output
    else:  # the flush_interval (5 s) had not come and no exit hook ran: nothing was sent
        assert collector.logs == [], collector.logs


@pytest.mark.parametrize("flush_fails", [False, True])
def test_with_lifespan_answers_the_lifespan_and_passes_the_rest_to_django(
        monkeypatch: pytest.MonkeyPatch, flush_fails: bool) -> None:
    """The lifespan is answered (started at once, the flush at shutdown, then complete,
    even when the flush raised); every other scope reaches the app untouched."""
    import asyncio
    from typing import Any

    from readme_metrics import django as django_adapter
    from readme_metrics.django_asgi import with_lifespan

    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def run(scope: Any, incoming: list[Any]) -> list[Any]:
        sent: list[Any] = []

        async def receive() -> Any:
            return incoming.pop(0)

        async def send(message: Any) -> None:
            sent.append(message)

        await with_lifespan(app)(scope, receive, send)
        return sent

    flushed: list[Any] = []

    def flush_all(timeout: Any = None) -> bool:
        flushed.append(timeout)
        if flush_fails:
            raise RuntimeError("no network")
        return True

    monkeypatch.setattr(django_adapter, "flush_all", flush_all)
    sent = asyncio.run(run({"type": "lifespan"}, [{"type": "lifespan.startup"},
                                                  {"type": "lifespan.shutdown"}]))
    assert sent == [{"type": "lifespan.startup.complete"},
                    {"type": "lifespan.shutdown.complete"}], sent
    assert flushed == [None] and seen == []
    http = {"type": "http", "method": "GET", "path": "/"}
    assert asyncio.run(run(http, []))[0]["status"] == 204
    assert seen == [http]
