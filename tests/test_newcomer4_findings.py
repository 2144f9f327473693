"""A newcomer's first hour, fourth pass: the mistakes made in a ``.env`` file and the
environment around it, and what the library says about them.

Each test is one thing tried in a fresh clone (README's quick starts, pointed at
``readme-metrics collect``), written down with the library's real configuration and
real files; none passed before its fix.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig
from tests.support.delivery import (
    MakeDelivery,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    messages,
    proxy_taken_for_elsewhere,
)
from tests.support.fake_api import Collector
from tests.support.polling import wait_until
from tests.support.ports import free_port
from tests.support.processes import run_command

SECRET = "rdme_secretkeyinthedotenvline1234"


def grouping(request: Any) -> None:
    return None


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records
            if record.name == "readme_metrics"]


@pytest.mark.parametrize("line", [
    pytest.param(f"README_API_KEY:{SECRET}", id="colon"),
    pytest.param(f"README_API_KEY: {SECRET}", id="yaml"),
    pytest.param(f"README_API_KEY {SECRET}", id="blank"),
    pytest.param(f"export README_API_KEY:{SECRET}", id="export-colon"),
])
def test_a_dotenv_key_line_without_equals_is_named_by_line_never_echoed(
        tmp_path, monkeypatch, caplog: pytest.LogCaptureFixture, line: str) -> None:
    """``README_API_KEY:rdme_...`` (YAML's way, or docker-compose's ``environment:``
    copied into a ``.env``) is one name without a value to python-dotenv: the missing
    key's error listed it among the variables "set", key and all. Now the error and the
    warning give the line's number and the name, never the rest of the line."""
    (tmp_path / ".env").write_text(f"README_BUFFER_LENGTH=5\r\n{line}\r\n")
    monkeypatch.chdir(tmp_path)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ValueError) as error:
        MetricsApiConfig(grouping_function=grouping)
    message = str(error.value)
    said = "\n".join([message, *_warnings(caplog), caplog.text])
    assert SECRET not in said and SECRET[-8:] not in said
    assert (f"{tmp_path / '.env'} (read, but its line 2 is no README_API_KEY=value: write "
            "README_API_KEY=<the value> there)") in message
    # The error says it, and a warning no longer says it again before it (newcomer7).
    assert not [warned for warned in _warnings(caplog) if "line 2" in warned]


def test_a_dotenv_option_line_without_equals_is_warned_about(
        tmp_path, monkeypatch, caplog: pytest.LogCaptureFixture) -> None:
    """``README_BUFFER_LENGTH: 5`` left the option at its default without a word from the
    library (python-dotenv's own warning names a line, not the library or the variable).
    Lines of other names, comments, a name alone and ``NAME = value`` are not warned about."""
    (tmp_path / ".env").write_text(
        "# README_TIMEOUT: 2 in a comment\nREADME_BUFFER_LENGTH: 5\nAPP_MODE: fast\n"
        "README_DENYLIST\nexport README_TIMEOUT = 4\nREADME_FLUSH_INTERVAL=1 # one\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("README_API_KEY", "rdme_from_the_environment")
    caplog.set_level(logging.WARNING)
    config = MetricsApiConfig(grouping_function=grouping)
    assert (config.buffer_length, config.timeout, config.flush_interval) == (10, 4.0, 1.0)
    assert [message for message in _warnings(caplog) if ".env" in message] == [
        f"readme_metrics: line 2 of {tmp_path / '.env'} is no README_BUFFER_LENGTH=value "
        "(a ':' or a blank where '=' belongs?), so it does not set README_BUFFER_LENGTH: "
        "write README_BUFFER_LENGTH=<the value>"]


def test_an_empty_variable_hiding_the_dotenv_value_is_said(
        tmp_path, monkeypatch, caplog: pytest.LogCaptureFixture) -> None:
    """``README_API_KEY=`` exported empty (a shell's leftover, a compose file's
    ``${README_API_KEY}`` of a host variable not set) wins over the ``.env`` and means
    unset: the missing key's error said the file was "read, but without a value for it",
    though the file has one, and an option's value in the file was dropped without a
    word. The precedence stays (the environment wins); the messages say what happened."""
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"README_API_KEY={SECRET}\nREADME_BUFFER_LENGTH=5\nAPP_NAME=shop\n")
    monkeypatch.chdir(tmp_path)
    for name in ("README_API_KEY", "README_BUFFER_LENGTH", "APP_NAME"):
        monkeypatch.setenv(name, "")
    caplog.set_level(logging.WARNING)
    with pytest.raises(ValueError) as error:
        MetricsApiConfig(grouping_function=grouping)
    assert (f"or set README_API_KEY in the environment or in {dotenv} (which has it, but "
            "README_API_KEY is set empty in the environment, and the environment wins: "
            "unset it there)") in str(error.value)
    monkeypatch.setenv("README_API_KEY", "rdme_from_the_environment")
    assert MetricsApiConfig(grouping_function=grouping).buffer_length == 10
    # README_API_KEY's is said by the error alone (newcomer7: not twice).
    assert _warnings(caplog) == [
        f"readme_metrics: {name} is set empty in the environment, which wins over its value "
        f"in {dotenv}, so that value is not used: unset {name} in the environment (or give "
        "it the value there)" for name in ("README_BUFFER_LENGTH",)]
    assert SECRET not in caplog.text + str(error.value)
    monkeypatch.delenv("README_BUFFER_LENGTH")  # unset: the file's value is used
    assert MetricsApiConfig(grouping_function=grouping).buffer_length == 5


def test_an_empty_variable_of_an_option_given_as_an_argument_is_not_warned_about(
        tmp_path, monkeypatch, caplog: pytest.LogCaptureFixture) -> None:
    """The argument wins over the environment and the ``.env`` alike (review20): the
    empty variable hides nothing that would have been used, so no warning."""
    (tmp_path / ".env").write_text(f"README_API_KEY={SECRET}\nREADME_BUFFER_LENGTH=5\n")
    monkeypatch.chdir(tmp_path)
    for name in ("README_API_KEY", "README_BUFFER_LENGTH"):
        monkeypatch.setenv(name, "")
    logger = logging.getLogger("newcomer4-empty-given")  # warned once per logger
    caplog.set_level(logging.WARNING)
    config = MetricsApiConfig(api_key="rdme_argument", grouping_function=grouping,
                              buffer_length=3, logger=logger)
    assert config.buffer_length == 3
    assert [r.getMessage() for r in caplog.records if r.name == logger.name] == []
    MetricsApiConfig(api_key="rdme_argument", grouping_function=grouping, logger=logger)
    assert [r.getMessage() for r in caplog.records if r.name == logger.name] == [
        "readme_metrics: README_BUFFER_LENGTH is set empty in the environment, which wins "
        f"over its value in {tmp_path / '.env'}, so that value is not used: unset "
        "README_BUFFER_LENGTH in the environment (or give it the value there)"]


@pytest.mark.parametrize("name, meant", [
    ("README_BUFFER_SIZE", "README_BUFFER_LENGTH"),
    ("README_BATCH_SIZE", "README_BUFFER_LENGTH"),
    ("README_DEV_MODE", "README_DEVELOPMENT_MODE"),
    ("README_MAX_BODY_SIZE", "README_MAX_BODY_BYTES"),
    ("README_GROUPING", "README_GROUPING_FUNCTION"),
    # the opposite sense: the value is turned round too (review20)
    ("README_DISABLED", "README_METRICS_ENABLED (the opposite: README_DISABLED=true is "
                        "README_METRICS_ENABLED=false)"),
    ("README_METRICS_API_URL", "README_METRICS_SERVER"),
    # the official package's argument and attribute names, as variables
    ("README_BLACKLIST", "README_DENYLIST"),
    ("readme_whitelist", "README_ALLOWLIST"),
    ("README_IS_BACKGROUND_MODE", "README_BACKGROUND_WORKER_MODE"),
    ("README_METRICS_API_TIMEOUT", "README_TIMEOUT"),
])
def test_a_guessed_name_for_an_option_names_the_variable(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, name: str,
        meant: str) -> None:
    """``README_BUFFER_SIZE=1`` (to see each call at once) left batches of 10, and
    ``README_BLACKLIST=password`` (the official package's argument) sent the password:
    both ignored without a word, too far from the variable for the near-miss check."""
    monkeypatch.setenv(name, "1")
    logger = logging.getLogger(f"newcomer4-guessed-{name}")  # warned once per logger
    caplog.set_level(logging.WARNING)
    MetricsApiConfig(api_key="any-key", grouping_function=grouping, logger=logger)
    assert [r.getMessage() for r in caplog.records if r.name == logger.name] == [
        f"readme_metrics: {name} (set in the environment) is no variable of this library "
        f"and is ignored: did you mean {meant}?"]


def test_a_proxy_in_the_way_of_a_loopback_url_says_to_exempt_it(
        make_delivery: MakeDelivery, collector: Collector, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """An app started from a shell with ``http_proxy`` (a company machine) and pointed at
    ``readme-metrics collect``: requests sends the POSTs to the proxy, which cannot reach
    the machine's 127.0.0.1. The warning said "ProxyError: ('Unable to connect to proxy'
    ..." and nothing of the cause; it now names the variable that exempts the address.
    The collector is real and listening: with the address exempted it gets the log.
    The dead proxy stands for one on another host (one on 127.0.0.1, mitmproxy's, can
    reach the collector: odds10): the library is made to take it for one elsewhere."""
    proxy_taken_for_elsewhere(monkeypatch)
    for name in ("http_proxy", "HTTP_PROXY", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{free_port()}")  # a dead proxy
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    delivery = make_delivery(collector.url, buffer_length=1,
                             max_down_attempts=5)  # given up sooner: the same words
    delivery.submit(item("a"))
    wait_until(lambda: delivery.stats["dropped"] == 1)
    (warning,) = messages(caplog, logging.WARNING, "could not deliver")
    assert "ProxyError" in warning, warning
    assert warning.endswith(
        "; the POSTs went to the proxy that http_proxy, HTTP_PROXY or ALL_PROXY names, "
        "and a proxy cannot reach this machine's loopback address: start the app with "
        "NO_PROXY=127.0.0.1 set (keeping what it holds, comma-separated), then the POSTs "
        "go straight to metrics_api (README_METRICS_SERVER)"), warning
    assert collector.logs == []
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # as the warning says
    exempted = make_delivery(collector.url, buffer_length=1)
    exempted.submit(item("b"))
    wait_until(lambda: exempted.stats["sent"] == 1)
    assert len(collector.wait_for_logs(1)) == 1


@pytest.mark.parametrize("text, expected", [
    pytest.param("true\r", True, id="crlf-true"),
    pytest.param("false\r", False, id="crlf-false"),
    pytest.param(" yes ", True, id="blanks"),
])
def test_a_flag_with_a_carriage_return_is_read_as_the_flag(
        monkeypatch: pytest.MonkeyPatch, text: str, expected: bool) -> None:
    """A ``.env`` saved with Windows line ends and read by ``docker run --env-file`` or
    bash's ``set -a; . ./.env`` keeps the ``\\r``: ``README_DEVELOPMENT_MODE=true\\r``
    stopped start-up with "must be true or false, got 'true\\r'", while every number and
    list variable (``README_BUFFER_LENGTH=5\\r``) and the key were read without it."""
    from readme_metrics.request_id import RequestIdFilter

    for name in ("README_DEVELOPMENT_MODE", "README_BACKGROUND_WORKER_MODE", "LOG_TOKENS"):
        monkeypatch.setenv(name, text)
    monkeypatch.setenv("README_BUFFER_LENGTH", "5\r")
    config = MetricsApiConfig(api_key="any-key\r", grouping_function=grouping)
    assert (config.development_mode, config.background_worker_mode) == (expected, expected)
    assert (config.buffer_length, config.api_key) == (5, "any-key")
    assert RequestIdFilter().log_tokens is expected
    monkeypatch.setenv("README_METRICS_ENABLED", text)
    assert MetricsApiConfig(api_key="any-key", grouping_function=grouping).enabled is expected


def test_a_flag_that_is_no_flag_is_still_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("README_DEVELOPMENT_MODE", "maybe\r")
    with pytest.raises(ValueError, match=r"^readme_metrics: development_mode "
                       r"\(README_DEVELOPMENT_MODE\) must be true or false, got 'maybe\\r' "
                       r"\(from the environment\)$"):
        MetricsApiConfig(api_key="any-key", grouping_function=grouping)


def test_a_wrong_value_flask_run_loaded_from_the_dotenv_names_the_file(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """README's Flask quick start runs ``flask --app app run``, which loads the working
    directory's ``.env`` into ``os.environ`` itself (python-dotenv is installed with
    environs). A wrong value there was blamed on "the environment", where a newcomer's
    shell has no such variable. Run for real: ``flask run`` and the app's module."""
    (tmp_path / "app.py").write_text(
        "from flask import Flask\n"
        "from readme_metrics import MetricsApiConfig\n"
        "from readme_metrics.flask_readme import ReadMeMetrics\n"
        "app = Flask(__name__)\n"
        "ReadMeMetrics(MetricsApiConfig(grouping_function=lambda request: None), app)\n")
    dotenv = tmp_path / ".env"
    dotenv.write_text("README_API_KEY=any-key\nREADME_BUFFER_LENGTH=abc\n"
                      "README_METRIC_SERVER=http://127.0.0.1:8001\n")
    environ = {name: value for name, value in os.environ.items()
               if not name.startswith(("README_", "FLASK_"))}
    ran = run_command([sys.executable, "-m", "flask", "--app", "app", "routes"],
                      cwd=tmp_path, env=environ, capture_output=True, text=True,
                      timeout=60)
    assert ran.returncode != 0
    where = (f"the environment; {dotenv} sets the same value, which Flask (`flask run`, "
             "`app.run()`) loads there")
    assert ("readme_metrics: buffer_length (README_BUFFER_LENGTH) must be an integer >= 1, "
            f"got 'abc' (from {where})") in ran.stderr, ran.stderr
    assert (f"readme_metrics: README_METRIC_SERVER (set in {where}) is no variable of "
            "this library and is ignored: did you mean README_METRICS_SERVER?"
            ) in ran.stderr, ran.stderr
    assert "any-key" not in ran.stderr + ran.stdout


def test_a_variable_of_the_real_environment_is_still_the_environments(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("README_BUFFER_LENGTH=abc\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("README_BUFFER_LENGTH", "zero")  # another value: the shell's own
    with pytest.raises(ValueError, match=r"got 'zero' \(from the environment\)$"):
        MetricsApiConfig(api_key="any-key", grouping_function=grouping)


def test_a_missing_name_in_an_imported_module_is_still_said_plainly() -> None:
    with pytest.raises(ValueError) as error:
        MetricsApiConfig(api_key="any-key", grouping_function="json:no_such_function")
    assert str(error.value).endswith("module 'json' has no attribute 'no_such_function'")


def test_the_queue_full_warning_names_the_variables(
        make_delivery: MakeDelivery, caplog: pytest.LogCaptureFixture) -> None:
    """"the delivery queue is full (max_queue_size=10000, max_queue_bytes=67108864)" named
    the arguments only: under Django and FastAPI, configured from the environment, the
    variables to raise are what one needs. Nothing listens at the URL, so logs pile up."""
    delivery = make_delivery(f"http://127.0.0.1:{free_port()}", buffer_length=5,
                             max_attempts=3, backoff_base=0.2, backoff_cap=0.2,
                             shutdown_timeout=0.5, max_queue_size=3)
    for n in range(10):
        delivery.submit(item(f"log-{n}"))
    (warning,) = messages(caplog, logging.WARNING, "queue is full")
    assert warning.startswith(
        "readme_metrics: the delivery queue is full (max_queue_size (README_MAX_QUEUE_SIZE) "
        "is 3 logs, max_queue_bytes (README_MAX_QUEUE_BYTES) 67108864 bytes): new logs are "
        "dropped ("), warning


def test_the_troubleshooting_row_for_an_unused_dotenv_value_holds(
        tmp_path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """README's row "a value in your `.env` file is not used": each cause it gives, met
    for real, says what the row quotes."""
    from tests.test_readme import troubleshooting_row

    row = troubleshooting_row("a value in your `.env` file is not used")
    quoted = re.findall(r'"([^"]+)"', row)
    assert quoted[0] == "api_key is required"
    hidden = re.compile(re.escape(quoted[1]).replace("README_X", r"README_\w+")
                        .replace(r"\.\.\.", ".*"))
    (tmp_path / ".env").write_text("README_API_KEY=any-key\nREADME_BUFFER_LENGTH=5\n"
                                   "README_TIMEOUT: 2\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("README_BUFFER_LENGTH", "")
    caplog.set_level(logging.WARNING)
    config = MetricsApiConfig(grouping_function=grouping)
    assert (config.buffer_length, config.timeout) == (10, 3.0)
    said = _warnings(caplog)
    assert [m for m in said if hidden.search(m)], (hidden.pattern, said)
    assert [m for m in said if f"line 3 of {tmp_path / '.env'}" in m], said
    monkeypatch.chdir(tmp_path.parent)  # the app run from elsewhere: its .env is not read
    monkeypatch.delenv("README_BUFFER_LENGTH")
    with pytest.raises(ValueError, match=quoted[0] + r".*\(" + re.escape(str(tmp_path.parent))
                       + " has none\\)"):
        MetricsApiConfig(grouping_function=grouping)
