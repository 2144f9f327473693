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
    _project(tmp_path, monkeypatch)
    monkeypatch.setenv(variable, text)
    with pytest.raises(ValueError) as caught:
        MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None)
    message = str(caught.value)
    assert f"({variable})" in message and "(from the environment)" in message, message
    assert "quotes" in message and "docker run --env-file" in message, message
    assert f"write it without them, {meant}" in message, message
    assert "separate methods with commas" not in message, message  # they are


@pytest.mark.parametrize("variable", ["README_METRICS_SERVER", "README_API_URL",
                                      "README_BASE_LOG_URL"])
def test_a_url_between_quotes_is_refused_saying_to_remove_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    _project(tmp_path, monkeypatch)
    monkeypatch.setenv(variable, '"http://ops:hunter2@127.0.0.1:9001"')
    with pytest.raises(ValueError) as caught:
        MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None)
    message = str(caught.value)
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
