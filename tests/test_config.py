"""MetricsApiConfig (SPEC section 2): argument > environment (.env too) > default."""

from __future__ import annotations

import inspect
import logging
import os
import socket
import string
import threading
import time
import warnings
from decimal import Decimal
from pathlib import Path
from typing import Any
from wsgiref.validate import validator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.middleware.lint import LintMiddleware

from readme_metrics import MetricsApiConfig, MetricsMiddleware, _env, env_source
from readme_metrics.options import OPTIONS, looks_like_a_placeholder, markdown_table
from tests.support.contract import API_KEY as CONTRACT_API_KEY
from tests.support.contract import caller, json_app
from tests.support.fake_api import INLINE_TIMEOUT, Collector, Reply, basic_auth
from tests.support.lint import validated_inside_lint
from tests.support.processes import run_command
from tests.support.wsgi import run_wsgi, wsgi_environ

ROOT = Path(__file__).resolve().parent.parent


def grouping(req: Any) -> dict[str, str]:
    return {"api_key": "k"}


DEFAULTS = [
    ("enabled", True),
    ("buffer_length", 10),
    ("flush_interval", 5.0),
    ("development_mode", False),
    ("background_worker_mode", True),
    ("denylist", []),
    ("allowlist", []),
    ("allowed_http_hosts", []),
    ("timeout", 3.0),
    ("base_log_url", None),
    ("metrics_api", "https://metrics.readme.io"),
    ("readme_api_url", "https://dash.readme.com/api"),
    ("max_body_bytes", 262144),
    ("max_queue_size", 10000),
    ("max_queue_bytes", 67108864),
    ("trusted_proxies", 0),
    ("skip_methods", ["OPTIONS"]),
    ("shutdown_timeout", 5.0),
]


@pytest.mark.parametrize("option, default", [pytest.param(o, d, id=o) for o, d in DEFAULTS])
def test_defaults(option: str, default: Any) -> None:
    config = MetricsApiConfig(api_key="rdme_key", grouping_function=grouping)
    assert getattr(config, option) == default
    assert config.logger is logging.getLogger("readme_metrics")


ENVIRONMENT = [
    ("README_METRICS_ENABLED", "false", "enabled", False),
    ("README_BUFFER_LENGTH", "25", "buffer_length", 25),
    ("README_FLUSH_INTERVAL", "0.5", "flush_interval", 0.5),
    ("README_DEVELOPMENT_MODE", "true", "development_mode", True),
    ("README_BACKGROUND_WORKER_MODE", "false", "background_worker_mode", False),
    ("README_DENYLIST", "password, token,,", "denylist", ["password", "token"]),
    ("README_ALLOWED_HTTP_HOSTS", "[::1]", "allowed_http_hosts", ["[::1]"]),
    ("README_ALLOWLIST", "id,name", "allowlist", ["id", "name"]),
    ("README_ALLOWED_HTTP_HOSTS", "API.example.com", "allowed_http_hosts", ["api.example.com"]),
    ("README_TIMEOUT", "1.5", "timeout", 1.5),
    ("README_BASE_LOG_URL", "https://docs.example.com/", "base_log_url",
     "https://docs.example.com"),
    ("README_METRICS_SERVER", "http://127.0.0.1:8001", "metrics_api", "http://127.0.0.1:8001"),
    ("README_API_URL", "http://127.0.0.1:9/api", "readme_api_url", "http://127.0.0.1:9/api"),
    ("README_MAX_BODY_BYTES", "1024", "max_body_bytes", 1024),
    ("README_MAX_QUEUE_SIZE", "50", "max_queue_size", 50),
    ("README_MAX_QUEUE_BYTES", "4096", "max_queue_bytes", 4096),
    ("README_TRUSTED_PROXIES", "2", "trusted_proxies", 2),
    ("README_SKIP_METHODS", "options,head", "skip_methods", ["OPTIONS", "HEAD"]),
    ("README_SHUTDOWN_TIMEOUT", "2", "shutdown_timeout", 2.0),
]


@pytest.mark.parametrize("variable, raw, option, expected",
                         [pytest.param(*row, id=row[0]) for row in ENVIRONMENT])
def test_environment_is_read(monkeypatch, variable, raw, option, expected) -> None:
    monkeypatch.setenv(variable, raw)
    config = MetricsApiConfig(api_key="rdme_key", grouping_function=grouping)
    assert getattr(config, option) == expected


# An argument value different from both the ENVIRONMENT value and the default.
ARGUMENTS = {
    "enabled": True, "buffer_length": 3, "flush_interval": 1.0, "development_mode": False,
    "background_worker_mode": True, "denylist": ["ssn"], "allowlist": ["id"],
    "allowed_http_hosts": ["other.example.com"], "timeout": 9.0,
    "base_log_url": "https://argument.example.com", "metrics_api": "http://127.0.0.1:8",
    "readme_api_url": "http://127.0.0.1:8/api", "max_body_bytes": 10, "max_queue_size": 9,
    "max_queue_bytes": 99, "trusted_proxies": 1, "skip_methods": ["TRACE"],
    "shutdown_timeout": 0.5,
}


@pytest.mark.parametrize("variable, raw, option", [
    pytest.param(variable, raw, option, id=option) for variable, raw, option, _ in ENVIRONMENT])
def test_argument_wins_over_environment(monkeypatch, variable, raw, option) -> None:
    monkeypatch.setenv(variable, raw)
    monkeypatch.setenv("README_API_KEY", "from-env")
    config = MetricsApiConfig(api_key="from-arg", grouping_function=grouping,
                              **{option: ARGUMENTS[option]})
    assert (config.api_key, getattr(config, option)) == ("from-arg", ARGUMENTS[option])


def test_everything_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("README_API_KEY", "rdme_env")
    monkeypatch.setenv("README_GROUPING_FUNCTION", "tests.test_config.grouping")
    config = MetricsApiConfig()
    assert config.api_key == "rdme_env"
    assert config.grouping_function is grouping


def test_dotenv_file_in_working_directory_is_read(tmp_path, monkeypatch) -> None:
    (tmp_path / ".env").write_text(
        "README_API_KEY=rdme_dotenv\nREADME_GROUPING_FUNCTION=tests.test_config:grouping\n"
        "README_BUFFER_LENGTH=7\n"
    )
    monkeypatch.chdir(tmp_path)
    for name in ("README_API_KEY", "README_GROUPING_FUNCTION", "README_BUFFER_LENGTH"):
        monkeypatch.delenv(name, raising=False)
    try:
        config = MetricsApiConfig()
        assert (config.api_key, config.buffer_length) == ("rdme_dotenv", 7)
        assert config.grouping_function is grouping
        _env.reset()
        monkeypatch.setenv("README_BUFFER_LENGTH", "6")  # the real environment wins
        assert MetricsApiConfig().buffer_length == 6
        assert MetricsApiConfig(buffer_length=2).buffer_length == 2
    finally:  # read_env exports into os.environ; do not leak into other tests
        for name in ("README_API_KEY", "README_GROUPING_FUNCTION", "README_BUFFER_LENGTH"):
            monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(("line", "message"), [
    pytest.param("README_BUFFER_LENGTH=0", "must be an integer >= 1, got 0", id="checked"),
    pytest.param("README_TIMEOUT=soon", "must be a number of seconds > 0 and <= 86400, got "
                 "'soon'", id="parsed"),
])
def test_a_wrong_value_in_the_dotenv_names_the_file(tmp_path, monkeypatch, line: str,
                                                     message: str) -> None:
    """A newcomer told "(from the environment)" looks in the environment and finds
    nothing: the error says which file the value came from."""
    (tmp_path / ".env").write_text(f"{line}\n")
    monkeypatch.chdir(tmp_path)
    variable = line.split("=")[0]
    monkeypatch.delenv(variable, raising=False)
    with pytest.raises(ValueError) as error:
        MetricsApiConfig(api_key="k", grouping_function=grouping)
    assert str(error.value).endswith(f"{message} (from {tmp_path / '.env'})")
    monkeypatch.setenv(variable, line.split("=")[1])  # the same value, set for real
    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)
    monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)
    with pytest.raises(ValueError) as error:
        MetricsApiConfig(api_key="k", grouping_function=grouping)
    # where docker's --env-file would have put it from the file: both are named, and not
    # `flask run`, which did not run (odds7); under it, tests/test_newcomer4_findings.py
    assert str(error.value).endswith(
        f"{message} (from the environment; {tmp_path / '.env'} sets the same value (put "
        "there from the file by docker's --env-file or compose's env_file, or set in both))")
    monkeypatch.setenv(variable, "-1")  # a value of the shell's own
    with pytest.raises(ValueError, match=r"\(from the environment\)$"):
        MetricsApiConfig(api_key="k", grouping_function=grouping)


def test_a_dotenv_that_is_not_utf8_is_named_in_the_error(tmp_path, monkeypatch) -> None:
    """python-dotenv's bare UnicodeDecodeError named neither the file nor the library: an
    app's own latin-1 variable in its .env stopped start-up with no hint where to look."""
    (tmp_path / ".env").write_bytes(b"APP_TITLE=caf\xe9\nREADME_BUFFER_LENGTH=3\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError) as error:
        MetricsApiConfig(api_key="k", grouping_function=grouping)
    message = str(error.value)
    assert message.startswith(f"readme_metrics: cannot read {tmp_path / '.env'}: "), message
    assert "not UTF-8" in message, message


def test_a_dotenv_in_a_new_working_directory_is_read(tmp_path, monkeypatch) -> None:
    """SPEC 2: ".env file in the working directory": the one where the config is made. A
    process that made a config elsewhere first (any earlier test of a session, a CLI that
    changes directory) still reads it; it read the first directory's only, once."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (second / ".env").write_text("README_API_KEY=rdme_second_dir\nREADME_BUFFER_LENGTH=7\n")
    monkeypatch.chdir(first)
    assert MetricsApiConfig(api_key="rdme_key", grouping_function=grouping).buffer_length == 10
    monkeypatch.chdir(second)
    try:
        config = MetricsApiConfig(grouping_function=grouping)
        assert (config.api_key, config.buffer_length) == ("rdme_second_dir", 7)
        monkeypatch.chdir(first)  # and back: the first directory has no .env
        assert MetricsApiConfig(api_key="k", grouping_function=grouping).buffer_length == 10
    finally:  # older environs export the file into os.environ
        for name in ("README_API_KEY", "README_BUFFER_LENGTH"):
            monkeypatch.delenv(name, raising=False)


def test_a_dotenv_written_or_edited_after_a_first_config_is_read(tmp_path, monkeypatch) -> None:
    """SPEC 2: the .env file in the working directory, as it is when the config is made.
    It was read once per directory: a file written (a deploy step, a test's setup) or
    edited after a first config in that directory was never seen, and a removed one's
    values stayed."""
    monkeypatch.chdir(tmp_path)
    dotenv = tmp_path / ".env"
    assert MetricsApiConfig(api_key="k", grouping_function=grouping).buffer_length == 10
    dotenv.write_text("README_BUFFER_LENGTH=7\n")
    assert MetricsApiConfig(api_key="k", grouping_function=grouping).buffer_length == 7
    dotenv.write_text("README_BUFFER_LENGTH=12\nREADME_API_KEY=rdme_from_file\n")
    config = MetricsApiConfig(grouping_function=grouping)
    assert (config.api_key, config.buffer_length) == ("rdme_from_file", 12)
    dotenv.unlink()
    assert MetricsApiConfig(api_key="k", grouping_function=grouping).buffer_length == 10


def test_the_dotenv_is_not_exported_into_the_apps_environment(tmp_path, monkeypatch) -> None:
    """The app's own variables in its .env stay out of os.environ: the library reads the
    file, the app's environment is the app's. (environs before 15, Python 3.9's newest,
    exported the whole file; with it, a variable the library reads is exported, alone.)"""
    (tmp_path / ".env").write_text("README_API_KEY=rdme_from_file\nREADME_BUFFER_LENGTH=7\n"
                                   "APP_DATABASE_URL=postgres://app\n")
    monkeypatch.chdir(tmp_path)
    config = MetricsApiConfig(grouping_function=grouping)
    assert (config.api_key, config.buffer_length) == ("rdme_from_file", 7)
    assert "APP_DATABASE_URL" not in os.environ
    assert "README_BUFFER_LENGTH" not in os.environ  # nor what the library itself read


def test_reading_the_dotenv_never_writes_os_environ(tmp_path, monkeypatch) -> None:
    """Every component reads .env without writing os.environ. environs before 15 look only
    in os.environ, and the library used to put a variable there on its first read, from
    whichever thread read first: a thread of the app iterating os.environ at that moment
    failed ("dictionary changed size during iteration"). Fails there without the fix."""
    from readme_metrics.cors import CORSMiddleware
    from readme_metrics.request_id import RequestIdFilter, RequestIdMiddleware

    (tmp_path / ".env").write_text(
        "README_API_KEY=rdme_from_file\nREADME_BUFFER_LENGTH=7\nREADME_TIMEOUT=2.5\n"
        "CORS_ALLOWED=https://a.example\nCORS_MAX_AGE=30\nREQUEST_ID_HEADER=X-Trace\n"
        "LOG_TOKENS=false\n")
    for name in ("README_API_KEY", "README_BUFFER_LENGTH", "README_TIMEOUT", "CORS_ALLOWED",
                 "CORS_MAX_AGE", "REQUEST_ID_HEADER", "LOG_TOKENS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    before = dict(os.environ)
    config = MetricsApiConfig(grouping_function=grouping)
    cors = CORSMiddleware(lambda environ, start_response: [])
    request_id = RequestIdMiddleware(cors)
    assert (config.api_key, config.buffer_length, config.timeout) == ("rdme_from_file", 7, 2.5)
    assert (cors.allowed_origins, cors.max_age) == ({"https://a.example"}, 30)
    assert (request_id.header, RequestIdFilter().log_tokens) == ("X-Trace", False)
    assert dict(os.environ) == before


def test_a_variable_the_app_set_stays_when_the_directory_changes(tmp_path, monkeypatch) -> None:
    """environs before 15: the library took the variables it had exported out of
    os.environ again when the working directory changed, also one the app had set itself
    to the same value meanwhile. Fails there without the fix."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (first / ".env").write_text("README_BUFFER_LENGTH=7\n")
    monkeypatch.delenv("README_BUFFER_LENGTH", raising=False)
    monkeypatch.chdir(first)
    assert MetricsApiConfig(api_key="k", grouping_function=grouping).buffer_length == 7
    monkeypatch.setenv("README_BUFFER_LENGTH", "7")  # the app's own setting
    monkeypatch.chdir(second)  # no .env here: the next read is a new one
    assert MetricsApiConfig(api_key="k", grouping_function=grouping).buffer_length == 7
    assert os.environ.get("README_BUFFER_LENGTH") == "7"


INVALID = [
    pytest.param({"buffer_length": -1}, {}, "buffer_length", "README_BUFFER_LENGTH",
                 id="negative-buffer"),
    pytest.param({"buffer_length": 0}, {}, "buffer_length", "README_BUFFER_LENGTH",
                 id="zero-buffer"),
    pytest.param({}, {"README_BUFFER_LENGTH": "ten"}, "buffer_length", "README_BUFFER_LENGTH",
                 id="unparsable-env-number"),
    pytest.param({}, {"README_TIMEOUT": "soon"}, "timeout", "README_TIMEOUT",
                 id="unparsable-env-float"),
    pytest.param({"timeout": 0}, {}, "timeout", "README_TIMEOUT", id="zero-timeout"),
    pytest.param({"metrics_api": "not a url"}, {}, "metrics_api", "README_METRICS_SERVER",
                 id="non-url-server"),
    pytest.param({}, {"README_METRICS_SERVER": "ftp://x"}, "metrics_api",
                 "README_METRICS_SERVER", id="non-http-server-env"),
    pytest.param({"base_log_url": "docs.example.com"}, {}, "base_log_url",
                 "README_BASE_LOG_URL", id="base-log-url-without-scheme"),
    pytest.param({"readme_api_url": "javascript:alert(1)"}, {}, "readme_api_url",
                 "README_API_URL", id="readme-api-url"),
    pytest.param({}, {"README_DEVELOPMENT_MODE": "maybe"}, "development_mode",
                 "README_DEVELOPMENT_MODE", id="unparsable-bool"),
    pytest.param({"max_queue_size": 0}, {}, "max_queue_size", "README_MAX_QUEUE_SIZE",
                 id="zero-queue"),
    pytest.param({"trusted_proxies": -1}, {}, "trusted_proxies", "README_TRUSTED_PROXIES",
                 id="negative-proxies"),
    pytest.param({"flush_interval": -2}, {}, "flush_interval", "README_FLUSH_INTERVAL",
                 id="negative-interval"),
    pytest.param({"timeout": float("inf")}, {}, "timeout", "README_TIMEOUT", id="inf-timeout"),
    pytest.param({"shutdown_timeout": float("nan")}, {}, "shutdown_timeout",
                 "README_SHUTDOWN_TIMEOUT", id="nan-shutdown"),
    pytest.param({"buffer_length": float("inf")}, {}, "buffer_length", "README_BUFFER_LENGTH",
                 id="inf-buffer"),
    pytest.param({"grouping_function": "no.such.module.fn"}, {}, "grouping_function",
                 "README_GROUPING_FUNCTION", id="unimportable-grouping"),
    pytest.param({"grouping_function": 42}, {}, "grouping_function",
                 "README_GROUPING_FUNCTION", id="non-callable-grouping"),
    pytest.param({}, {"README_BUFFER_LENGTH": "-5"}, "buffer_length", "README_BUFFER_LENGTH",
                 id="negative-buffer-env"),
    pytest.param({}, {"README_METRICS_SERVER": "metrics.readme.io"}, "metrics_api",
                 "README_METRICS_SERVER", id="schemeless-server-env"),
    pytest.param({}, {"README_FLUSH_INTERVAL": "soon"}, "flush_interval",
                 "README_FLUSH_INTERVAL", id="unparsable-interval-env"),
    pytest.param({}, {"README_MAX_BODY_BYTES": "1e"}, "max_body_bytes",
                 "README_MAX_BODY_BYTES", id="unparsable-max-body-env"),
    pytest.param({"readme_api_url": "ftp://dash.readme.com"}, {}, "readme_api_url",
                 "README_API_URL", id="non-http-readme-api-url"),
]


@pytest.mark.parametrize("arguments, environment, option, variable", INVALID)
def test_invalid_values_raise_naming_option_and_variable(
    monkeypatch, arguments, environment, option, variable
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    arguments.setdefault("grouping_function", grouping)
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(api_key="rdme_key", **arguments)
    assert option in str(raised.value)
    assert variable in str(raised.value)


def test_missing_api_key_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="api_key.*README_API_KEY"):
        MetricsApiConfig(grouping_function=grouping)


@pytest.mark.parametrize("option, variable, value", [
    pytest.param("api_key", "README_API_KEY", "rdme_from_the_environment", id="api_key"),
    pytest.param("grouping_function", "README_GROUPING_FUNCTION", "json.dumps",
                 id="grouping_function"),
])
def test_a_required_option_passed_as_none_says_it_hides_the_variable(
        monkeypatch, option: str, variable: str, value: str) -> None:
    """An explicit None wins over the environment (README): with the variable set, "set
    README_API_KEY" would send the user after a variable that is already there."""
    monkeypatch.setenv(variable, value)
    arguments = {"api_key": "rdme_key", "grouping_function": grouping, option: None}
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(**arguments)
    message = str(raised.value)
    assert f"{option}=None was passed, which overrides {variable} (set)" in message
    assert value not in message


def test_missing_grouping_function_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="grouping_function.*README_GROUPING_FUNCTION"):
        MetricsApiConfig(api_key="rdme_key")


@pytest.mark.parametrize("alias, option, given, expected", [
    pytest.param("blacklist", "denylist", ["pw"], ["pw"], id="blacklist"),
    pytest.param("whitelist", "allowlist", ["pw"], ["pw"], id="whitelist"),
    pytest.param("blacklist", "denylist", "pw,token", ["pw", "token"], id="blacklist-string"),
])
def test_deprecated_aliases_warn_and_apply(alias: str, option: str, given: Any,
                                           expected: list[str]) -> None:
    with pytest.warns(DeprecationWarning, match=alias):
        config = MetricsApiConfig(api_key="k", grouping_function=grouping, **{alias: given})
    assert getattr(config, option) == expected


def test_no_warning_without_aliases() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        MetricsApiConfig(api_key="k", grouping_function=grouping)


#: ``MetricsApiConfig.__init__``'s positional parameters in the official package 3.1 to
#: 3.4 (3.0 had no base_log_url); allowlist comes before denylist in every 3.x.
OFFICIAL_POSITIONAL = [
    "api_key", "grouping_function", "base_log_url", "buffer_length", "development_mode",
    "background_worker_mode", "allowlist", "denylist", "blacklist", "whitelist",
    "allowed_http_hosts", "timeout"]


def test_positional_order_of_the_official_package() -> None:
    """Code written for the official package that passes options by position keeps its
    meaning: a swapped allowlist/denylist would send what the user meant to keep back."""
    config = MetricsApiConfig("rdme_key", grouping, "https://docs.example.com", 3, True,
                              False, ["kept"], ["secret"], None, None, ["api.example.com"],
                              2)
    assert (config.base_log_url, config.buffer_length, config.development_mode,
            config.background_worker_mode, config.allowlist, config.denylist,
            config.allowed_http_hosts, config.timeout) == (
        "https://docs.example.com", 3, True, False, ["kept"], ["secret"],
        ["api.example.com"], 2.0)
    assert (config.README_API_KEY, config.BUFFER_LENGTH, config.IS_BACKGROUND_MODE) == (
        "rdme_key", 3, False)


def test_positional_base_log_url_of_official_3_0_code_is_refused_not_misread() -> None:
    """3.0 had buffer_length third: that call now fails loudly, naming the option."""
    with pytest.raises(ValueError, match=r"base_log_url \(README_BASE_LOG_URL\)"):
        MetricsApiConfig("rdme_key", grouping, 3)


OFFICIAL_NAMES = [
    ("README_API_KEY", "api_key", "other-key"), ("BUFFER_LENGTH", "buffer_length", 3),
    ("GROUPING_FUNCTION", "grouping_function", len),
    ("IS_DEVELOPMENT_MODE", "development_mode", True),
    ("IS_BACKGROUND_MODE", "background_worker_mode", False),
    ("DENYLIST", "denylist", ["password"]), ("ALLOWLIST", "allowlist", ["id"]),
    ("ALLOWED_HTTP_HOSTS", "allowed_http_hosts", ["api.example.com"]),
    ("METRICS_API", "metrics_api", "http://127.0.0.1:8001"),
    ("README_API_URL", "readme_api_url", "http://127.0.0.1:8002"),
    ("BASE_LOG_URL", "base_log_url", "https://docs.example.com"),
    ("METRICS_API_TIMEOUT", "timeout", 1.5),
    ("LOGGER", "logger", logging.getLogger("app")),
]


@pytest.mark.parametrize(("official", "name", "value"), OFFICIAL_NAMES,
                         ids=[row[0] for row in OFFICIAL_NAMES])
def test_the_official_attribute_names_read_and_set_the_options(official: str, name: str,
                                                                value: Any) -> None:
    # Code written for the official package sets these after construction.
    config = MetricsApiConfig(api_key="rdme_key", grouping_function=grouping)
    assert getattr(config, official) == getattr(config, name)
    setattr(config, official, value)
    assert getattr(config, name) == value == getattr(config, official)


def test_an_official_attribute_name_set_is_checked_as_the_argument() -> None:
    config = MetricsApiConfig(api_key="rdme_key", grouping_function=grouping)
    with pytest.raises(ValueError, match=r"buffer_length \(README_BUFFER_LENGTH\) must be"):
        config.BUFFER_LENGTH = 0
    with pytest.raises(ValueError, match="metrics_api"):
        config.METRICS_API = "ftp://x"
    config.METRICS_API = "http://127.0.0.1:8001/"
    assert config.metrics_api == "http://127.0.0.1:8001"  # normalised as the argument is
    assert config.buffer_length == 10


def test_readme_api_url_set_by_its_official_name_stays_when_metrics_api_moves() -> None:
    # The official 3.4 package's tests point both at a local server, in either order.
    config = MetricsApiConfig(api_key="rdme_key", grouping_function=grouping)
    config.README_API_URL = "http://127.0.0.1:8002"
    config.METRICS_API = "http://127.0.0.1:8001"
    assert (config.readme_api_url, config.metrics_api) == (
        "http://127.0.0.1:8002", "http://127.0.0.1:8001")


def test_readme_api_url_set_to_none_by_its_official_name_is_the_default_again() -> None:
    # None means the default, as readme_api_url=None in the constructor; with a loopback
    # METRICS_API (a local stand-in) no lookup is made then (below).
    config = MetricsApiConfig(api_key="rdme_key", grouping_function=grouping)
    config.README_API_URL = "http://127.0.0.1:8002"
    assert config.docs_lookup_url == "http://127.0.0.1:8002"
    config.README_API_URL = None
    config.METRICS_API = "http://127.0.0.1:8001"
    assert config.readme_api_url == "https://dash.readme.com/api"
    assert config.docs_lookup_url is None


def test_repr_never_shows_the_api_key() -> None:
    config = MetricsApiConfig(api_key="rdme_supersecretvalue", grouping_function=grouping)
    assert "supersecret" not in repr(config)


@pytest.mark.parametrize(("key", "shown"), [
    pytest.param("k1", "api_key=<2 characters>", id="2-chars-whole-key"),
    pytest.param("abcd", "api_key=<4 characters>", id="4-chars-whole-key"),
    pytest.param("rdme_abc12", "api_key=<10 characters>", id="10-chars-most-of-it"),
    pytest.param("rdme_abcdefghi12", "api_key='...hi12'", id="16-chars-tail"),
])
def test_repr_shows_a_keys_tail_only_when_the_key_is_long(key: str, shown: str) -> None:
    """The last 4 characters were shown whatever the length: the whole of a key of 4 or
    fewer, 4 of a 6-character one. Now only from 16 characters on; else the length."""
    text = repr(MetricsApiConfig(api_key=key, grouping_function=grouping))
    assert shown in text, text
    if len(key) < 16:
        assert key[-4:] not in text, text


def test_dotenv_is_read_once_per_process_for_config_cors_and_request_id(
        tmp_path, monkeypatch) -> None:
    from environs import Env

    from readme_metrics.cors import CORSMiddleware
    from readme_metrics.request_id import RequestIdFilter, RequestIdMiddleware

    reads: list[str] = []
    # A static method in older environs releases, an instance method in newer: spy on either.
    static = isinstance(inspect.getattr_static(Env, "read_env"), staticmethod)
    real_read_env = Env.read_env

    def counting_read_env(*args: Any, **options: Any) -> Any:
        call = args if static else args[1:]
        reads.append(str(call[0] if call else options.get("path")))
        return real_read_env(*args, **options)

    monkeypatch.setattr(Env, "read_env",
                        staticmethod(counting_read_env) if static else counting_read_env)
    # environs before 15 would export the whole file: the library reads it itself there
    # (env_source, which reads the file for _env).
    real_dotenv_values = env_source.dotenv_values

    def counting_dotenv_values(path: Any, *args: Any, **options: Any) -> Any:
        reads.append(str(path))
        return real_dotenv_values(path, *args, **options)

    monkeypatch.setattr(env_source, "dotenv_values", counting_dotenv_values)
    (tmp_path / ".env").write_text("README_BUFFER_LENGTH=7\nCORS_ALLOWED=https://a.example\n")
    monkeypatch.chdir(tmp_path)
    try:
        assert MetricsApiConfig(api_key="k", grouping_function=grouping).buffer_length == 7
        # Once, for its values and its names (the misspelled-variable warning) alike:
        # environs 15's read_env read it a second time at the first use.
        first_use = len(reads)
        assert first_use == 1, reads
        # An unchanged .env is not read again, by any component.
        assert CORSMiddleware(lambda e, s: []).allowed_origins == {"https://a.example"}
        assert RequestIdMiddleware(lambda e, s: []).header == "X-Request-Id"
        assert RequestIdFilter().log_tokens is True
        MetricsApiConfig(api_key="k", grouping_function=grouping)
        assert reads == [str(tmp_path / ".env")] * first_use
        # One written over it is read once more, by the next component, for all of them.
        (tmp_path / ".env").write_text("REQUEST_ID_HEADER=X-Trace\nLOG_TOKENS=false\n")
        assert CORSMiddleware(lambda e, s: []).allowed_origins == set()
        assert RequestIdMiddleware(lambda e, s: []).header == "X-Trace"
        assert RequestIdFilter().log_tokens is False
        MetricsApiConfig(api_key="k", grouping_function=grouping)
        assert reads == [str(tmp_path / ".env")] * (first_use + 1)
    finally:  # read_env exports into os.environ; do not leak into other tests
        for name in ("README_BUFFER_LENGTH", "CORS_ALLOWED"):
            monkeypatch.delenv(name, raising=False)


def test_a_dotenv_line_that_does_not_parse_is_warned_about_once(
        tmp_path, monkeypatch, caplog: pytest.LogCaptureFixture) -> None:
    """python-dotenv warns about a line it cannot parse each time it reads the file: with
    environs 15 and later the file was read twice at first use, so the warning came twice."""
    from readme_metrics.cors import CORSMiddleware

    (tmp_path / ".env").write_text("README_BUFFER_LENGTH=7\nthis is not a variable\n")
    monkeypatch.delenv("README_BUFFER_LENGTH", raising=False)
    monkeypatch.chdir(tmp_path)
    caplog.set_level(logging.WARNING)
    assert MetricsApiConfig(api_key="k", grouping_function=grouping).buffer_length == 7
    assert CORSMiddleware(lambda e, s: []).max_age == 600
    warned = [record.getMessage() for record in caplog.records if record.name == "dotenv.main"]
    assert warned == ["python-dotenv could not parse statement starting at line 2"]


@pytest.mark.parametrize("variable, option, default", [
    pytest.param(variable, option, dict(DEFAULTS)[option], id=variable)
    for variable, _, option, _ in ENVIRONMENT
])
def test_an_empty_variable_means_unset(monkeypatch, variable, option, default) -> None:
    for empty in ("", "  "):
        monkeypatch.setenv(variable, empty)
        config = MetricsApiConfig(api_key="rdme_key", grouping_function=grouping)
        assert getattr(config, option) == default


# -- the option table drives the constructor, the environment and README -------------------

def test_the_constructor_takes_exactly_the_options_of_the_table() -> None:
    parameters = list(inspect.signature(MetricsApiConfig).parameters)
    assert sorted(parameters) == sorted(option.name for option in OPTIONS)
    # The official package's positional order, then keyword-only options.
    assert parameters[:13] == [*OFFICIAL_POSITIONAL, "logger"]


def test_every_variable_of_the_table_is_tested_here() -> None:
    tested = {row[0] for row in ENVIRONMENT} | {"README_API_KEY", "README_GROUPING_FUNCTION"}
    assert tested == {option.variable for option in OPTIONS if option.variable}
    assert {name for name, _ in DEFAULTS} | {"api_key", "grouping_function", "logger"} == {
        option.name for option in OPTIONS if option.alias_of is None}


def test_readme_options_table_is_the_table() -> None:
    """README's table is ``readme_metrics.options.markdown_table()``, verbatim."""
    header = markdown_table().splitlines()[0]
    documents = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]
    found = [path for path in documents if header in path.read_text(encoding="utf-8")]
    assert found, f"no options table ({header}) in README.md or docs/"
    text = found[0].read_text(encoding="utf-8")
    lines = text[text.index(header):].splitlines()
    table = lines[:next(i for i, line in enumerate(lines) if not line.startswith("|"))]
    assert "\n".join(table) + "\n" == markdown_table()


@pytest.mark.parametrize("variable, option", [
    pytest.param(option.variable, option.name, id=option.name)
    for option in OPTIONS if option.variable and option.parse != "str"])
def test_explicit_none_wins_over_the_environment(monkeypatch, variable, option) -> None:
    raw = next(row[1] for row in ENVIRONMENT if row[0] == variable)
    monkeypatch.setenv(variable, raw)
    config = MetricsApiConfig(api_key="rdme_key", grouping_function=grouping, **{option: None})
    assert getattr(config, option) == dict(DEFAULTS)[option]


def test_explicit_base_log_url_none_wins_over_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("README_BASE_LOG_URL", "https://docs.example.com")
    monkeypatch.setenv("README_DENYLIST", "password")
    config = MetricsApiConfig(api_key="k", grouping_function=grouping, base_log_url=None,
                              denylist=None)
    assert (config.base_log_url, config.denylist) == (None, [])
    assert MetricsApiConfig(api_key="k", grouping_function=grouping).base_log_url == (
        "https://docs.example.com")


# -- messages -------------------------------------------------------------------------------

@pytest.mark.parametrize("variable, raw, message", [
    pytest.param("README_BUFFER_LENGTH", "abc", "buffer_length (README_BUFFER_LENGTH) must be "
                 "an integer >= 1, got 'abc' (from the environment)", id="int-text"),
    pytest.param("README_BUFFER_LENGTH", "0", "buffer_length (README_BUFFER_LENGTH) must be "
                 "an integer >= 1, got 0 (from the environment)", id="int-range"),
    pytest.param("README_MAX_BODY_BYTES", "1.5", "max_body_bytes (README_MAX_BODY_BYTES) must "
                 "be an integer >= 0, got '1.5'", id="int-fraction"),
    pytest.param("README_TIMEOUT", "soon", "timeout (README_TIMEOUT) must be a number of "
                 "seconds > 0 and <= 86400, got 'soon'", id="float"),
    pytest.param("README_DEVELOPMENT_MODE", "maybe", "development_mode "
                 "(README_DEVELOPMENT_MODE) must be true or false, got 'maybe'", id="bool"),
    pytest.param("README_METRICS_ENABLED", "perhaps", "enabled (README_METRICS_ENABLED) "
                 "must be true or false, got 'perhaps'", id="enabled"),
    pytest.param("README_METRICS_SERVER", "ftp://x", "metrics_api (README_METRICS_SERVER) "
                 "must be an http(s) URL, got 'ftp://x'", id="url"),
    pytest.param("README_DENYLIST", '["password", "token"]', "denylist (README_DENYLIST) "
                 "must be a list of strings (comma-separated in the environment), got "
                 "'[\"password\", \"token\"]'", id="list-as-json"),
    pytest.param("README_ALLOWLIST", "[id,name]", "allowlist (README_ALLOWLIST) must be a "
                 "list of strings (comma-separated in the environment), got '[id,name]'",
                 id="list-in-brackets"),
])
def test_a_bad_variable_says_what_is_expected(monkeypatch, variable, raw, message) -> None:
    monkeypatch.setenv(variable, raw)
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(api_key="rdme_key", grouping_function=grouping)
    assert message in str(raised.value)
    assert str(raised.value).startswith("readme_metrics: ")


# One argument of a wrong Python type per option: the message says the type the option
# takes and the type given; a string (what the environment holds) says where strings go.
_STR_HINT = "; strings like {!r} are read from {}"
WRONG_TYPES = [
    ("enabled", "false", "a bool (True or False)"),
    ("development_mode", "false", "a bool (True or False)"),
    ("background_worker_mode", 1, "a bool (True or False)"),
    ("buffer_length", "10", "an int >= 1"),
    ("max_body_bytes", True, "an int >= 0"),
    ("max_queue_size", "100", "an int >= 1"),
    ("max_queue_bytes", Decimal("1048576"), "an int >= 1"),
    ("trusted_proxies", "1", "an int >= 0"),
    ("flush_interval", "0.5", "an int or a float of seconds from 0 to 86400"),
    ("timeout", "3", "an int or a float of seconds > 0 and <= 86400"),
    ("shutdown_timeout", [5], "an int or a float of seconds from 0 to 86400"),
    ("denylist", 5, "a list of str (or one comma-separated str)"),
    ("allowlist", ["id", 1], "a list of str (or one comma-separated str)"),
    ("blacklist", 5, "a list of str (or one comma-separated str)"),
    ("whitelist", {"id": 1}, "a list of str (or one comma-separated str)"),
    ("allowed_http_hosts", b"example.com", "a list of str (or one comma-separated str)"),
    ("skip_methods", ("GET", None), "a list of str (or one comma-separated str)"),
    ("base_log_url", b"https://docs.example.com", "a str (an http(s) URL)"),
    ("metrics_api", 8001, "a str (an http(s) URL)"),
    ("readme_api_url", ["https://dash.readme.com/api"], "a str (an http(s) URL)"),
    ("grouping_function", 42, "a callable or a str (a 'module.attribute' path)"),
    ("logger", "myapp", "a logging.Logger"),
]


@pytest.mark.parametrize("name, value, takes", [
    pytest.param(*row, id=row[0]) for row in WRONG_TYPES])
def test_an_argument_of_a_wrong_type_says_the_type_it_takes_and_the_one_given(
        name: str, value: Any, takes: str) -> None:
    """``development_mode="false"`` said "must be true or false, got 'false'"."""
    arguments: dict[str, Any] = {"api_key": "rdme_key", "grouping_function": grouping,
                                 name: value}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(ValueError) as raised:
            MetricsApiConfig(**arguments)
    variable = next(option.variable for option in OPTIONS if option.name == name)
    got = f"got the {type(value).__name__} {value!r}"
    if isinstance(value, str) and variable:
        expected = f"{name} must be {takes}, {got}" + _STR_HINT.format(value, variable)
    else:
        expected = f"{name} ({variable}) must be {takes}, {got}" if variable else (
            f"{name} must be {takes}, {got}")
    assert str(raised.value) == "readme_metrics: " + expected


def test_every_option_has_a_wrong_type_case() -> None:
    assert sorted(row[0] for row in WRONG_TYPES) == sorted(
        option.name for option in OPTIONS if option.name != "api_key")


def test_an_api_key_of_a_wrong_type_is_named_by_type_never_by_value() -> None:
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(api_key=918273645, grouping_function=grouping)
    assert str(raised.value) == ("readme_metrics: api_key (README_API_KEY) must be a str, "
                                 "got a value of type int")


# -- a misspelled README_* variable (it was ignored without a word) ----------------------

SECRET_VALUE = "rdme_secret_value_42"


def _misspelling_warnings(caplog: pytest.LogCaptureFixture, logger_name: str,
                          **arguments: Any) -> list[str]:
    """The warnings about variables while a config is built (twice: said once)."""
    logger = logging.getLogger(logger_name)  # a logger of its own: a fresh once-per-process
    caplog.set_level(logging.DEBUG)
    for _ in range(2):
        try:
            MetricsApiConfig(grouping_function=grouping, logger=logger, **arguments)
        except ValueError:
            pass
    assert SECRET_VALUE not in caplog.text
    return [record.getMessage() for record in caplog.records
            if record.name == logger_name and "is no variable" in record.getMessage()]


#: A misspelling and the variable meant.
NEAR_MISSES = {"README_METRIC_SERVER": "README_METRICS_SERVER",  # a letter dropped
               "README_METRICS_SEVRER": "README_METRICS_SERVER",  # two swapped
               "README_DENY_LIST": "README_DENYLIST", "README_TIMEOUTS": "README_TIMEOUT",
               "readme_metrics_server": "README_METRICS_SERVER",
               "README_APIKEY": "README_API_KEY"}  # leaves the required key unset


@pytest.mark.parametrize("name, meant", NEAR_MISSES.items(), ids=list(NEAR_MISSES))
def test_a_near_miss_of_a_variable_is_warned_once_naming_the_right_one(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, name: str,
        meant: str) -> None:
    monkeypatch.setenv(name, SECRET_VALUE)
    arguments = {} if meant == "README_API_KEY" else {"api_key": "rdme_key"}
    warned = _misspelling_warnings(caplog, f"near-miss-{name}", **arguments)
    if meant == "README_API_KEY":
        # The missing key's error names it, and no warning says it again before it
        # (tests/test_newcomer7_findings.py); with metrics off, the warning does.
        assert warned == []
        arguments = {"enabled": False}
        warned = _misspelling_warnings(caplog, f"near-miss-off-{name}", **arguments)
    assert warned == [f"readme_metrics: {name} (set in the environment) is no variable of "
                      f"this library and is ignored: did you mean {meant}?"]
    assert [r.levelno for r in caplog.records if "is no variable" in r.getMessage()] == [
        logging.WARNING]


def test_a_near_miss_in_the_dotenv_file_names_the_file(
        caplog: pytest.LogCaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text(f"README_METRIC_SERVER={SECRET_VALUE}\n")
    monkeypatch.chdir(tmp_path)
    warned = _misspelling_warnings(caplog, "near-miss-dotenv", api_key="rdme_key")
    assert warned == [f"readme_metrics: README_METRIC_SERVER (set in {tmp_path / '.env'}) is "
                      "no variable of this library and is ignored: did you mean "
                      "README_METRICS_SERVER?"]


def test_our_own_names_and_other_tools_readme_variables_are_not_warned_about(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """Other ReadMe tools read README_* variables too (the key is shared); exact names of
    ours are never warned about, nor names far from ours."""
    valid = {"bool": "true", "int": "5", "float": "1.5", "str": "http://127.0.0.1:1"}
    for option in OPTIONS:
        if option.variable:
            monkeypatch.setenv(option.variable, valid[option.parse])
    monkeypatch.setenv("README_API_KEY", "rdme_key")
    monkeypatch.setenv("README_GROUPING_FUNCTION", "tests.test_config.grouping")
    monkeypatch.setenv("README_ALLOWED_HTTP_HOSTS", "example.com")
    monkeypatch.setenv("README_SKIP_METHODS", "HEAD")
    for name in ("README_OAS_KEY", "README_API_TOKEN", "README_METRICS_CONFIG",
                 "README_PROJECT", "README_VERSION", "README_SECRET", "READMEAPIKEY"):
        monkeypatch.setenv(name, SECRET_VALUE)
    assert _misspelling_warnings(caplog, "near-miss-none") == []
    assert MetricsApiConfig(grouping_function=grouping).buffer_length == 5  # all were read


# What no key is, real or a test's dummy (a blank inside: README's placeholder pasted as
# written): refused.
PLACEHOLDERS = ["<your ReadMe API key>", "{{ readme_api_key }}", "your api key", " ",
                "rdme_ xxxx"]
# Whole words and shapes that read as placeholders, but that test suites use as dummy keys
# (the official package's tests construct MetricsApiConfig("README_API_KEY", ...); SPEC 2's
# example has api_key="rdme_..."; ReadMe's docs template <<apiKey>>): accepted, so that
# they run without edits, with one warning.
PLACEHOLDER_WORDS = ["README_API_KEY", "YOUR_API_KEY", "your-readme-api-key", "changeme",
                     "secret", "api_key", "key", "rdme_...", "rdme_xxxxxxxx", "<YOUR_API_KEY>",
                     "${README_API_KEY}", "rdme_…", "<<user>>", "<<apiKey>>", "xxx"]


@pytest.mark.parametrize("placeholder", PLACEHOLDERS)
def test_a_placeholder_api_key_is_refused(monkeypatch, placeholder: str) -> None:
    with pytest.raises(ValueError, match="api_key .*looks like a placeholder") as raised:
        MetricsApiConfig(api_key=placeholder, grouping_function=grouping)
    assert "got" not in str(raised.value)  # the value itself is never echoed
    if placeholder.strip():
        monkeypatch.setenv("README_API_KEY", placeholder)
        with pytest.raises(ValueError, match="README_API_KEY.*placeholder"):
            MetricsApiConfig(grouping_function=grouping)


def test_the_spec_example_runs_as_written() -> None:
    """SPEC 2's example, verbatim: its api_key="rdme_..." was refused as a placeholder
    (ValueError), so the specification's own code did not run."""
    app = MetricsMiddleware(hello_app, MetricsApiConfig(
        api_key="rdme_...",
        grouping_function=lambda req: {"api_key": ..., "label": ..., "email": ...},
    ))
    assert app.config.api_key == "rdme_..."
    app.close()


@pytest.mark.parametrize("word", PLACEHOLDER_WORDS)
def test_a_placeholder_word_is_accepted_with_one_warning(
        monkeypatch, caplog: pytest.LogCaptureFixture, word: str) -> None:
    """SPEC 2: code and tests written for the official package run without edits."""
    from readme_metrics import config as config_module

    monkeypatch.setattr(config_module, "_WARNED", config_module.LogLimiter(
        logging.getLogger("readme_metrics"), interval=None))  # as in a new process
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    config = MetricsApiConfig(word, grouping)  # the official positional form
    assert config.api_key == word
    monkeypatch.setenv("README_API_KEY", word)
    assert MetricsApiConfig(grouping_function=grouping).api_key == word
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    # The same words whatever the key: the value itself is never echoed.
    assert warnings == ["readme_metrics: api_key (README_API_KEY) looks like a placeholder, "
                        "not a key: ReadMe will refuse it; use your project's API key from "
                        "the ReadMe dashboard"]


@given(st.text(string.ascii_letters + string.digits, min_size=20, max_size=64))
def test_a_real_looking_key_is_never_taken_for_a_placeholder(body: str) -> None:
    assert not looks_like_a_placeholder("rdme_" + body)
    assert not looks_like_a_placeholder(body)


# -- enabled --------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["argument", "environment"])
def test_disabled_needs_no_api_key_nor_grouping_function(monkeypatch, how: str) -> None:
    if how == "environment":
        monkeypatch.setenv("README_METRICS_ENABLED", "false")
        config = MetricsApiConfig()
    else:
        config = MetricsApiConfig(enabled=False)
    assert config.enabled is False
    assert config.api_key == ""
    assert config.grouping_function(object()) is None
    assert repr(config) == "MetricsApiConfig(enabled=False)"


def test_disabled_keeps_what_was_given_and_still_checks_the_rest(monkeypatch) -> None:
    monkeypatch.setenv("README_METRICS_ENABLED", "0")
    config = MetricsApiConfig(api_key="<your ReadMe API key>", grouping_function=grouping)
    assert (config.enabled, config.grouping_function) == (False, grouping)
    with pytest.raises(ValueError, match="buffer_length"):
        MetricsApiConfig(buffer_length=0)
    # An explicit argument wins over the variable, here too.
    with pytest.raises(ValueError, match="api_key is required"):
        MetricsApiConfig(enabled=True, grouping_function=grouping)


def test_enabled_is_the_default_and_still_needs_a_key(monkeypatch) -> None:
    monkeypatch.setenv("README_METRICS_ENABLED", "true")
    with pytest.raises(ValueError, match="README_METRICS_ENABLED=false"):
        MetricsApiConfig(grouping_function=grouping)


# -- a local metrics server gets what ReadMe's Metrics API gets, and nothing else ----------

@pytest.mark.parametrize("server, local", [
    pytest.param("http://127.0.0.1:8001", True, id="127.0.0.1"),
    pytest.param("http://127.9.8.7:8001/", True, id="127/8"),
    pytest.param("http://localhost:8001", True, id="localhost"),
    pytest.param("http://[::1]:8001", True, id="ipv6"),
    pytest.param("https://metrics.readme.io", False, id="readme"),
    pytest.param("http://10.0.0.5:8001", False, id="private-not-loopback"),
    pytest.param("http://127.0.0.1.nip.io:8001", False, id="look-alike-name"),
])
def test_readme_api_url_keeps_its_default_whatever_the_metrics_server(
        monkeypatch, server, local) -> None:
    """SPEC 2: readme_api_url defaults to https://dash.readme.com/api. A loopback
    metrics_api (a test's collector, readme-metrics collect, ReadMe's cross-SDK suites)
    does not move it; no lookup is made then, so that server receives the POSTs alone."""
    monkeypatch.setenv("README_METRICS_SERVER", server)
    monkeypatch.delenv("README_API_URL", raising=False)
    for config in (MetricsApiConfig(api_key="rdme_key", grouping_function=grouping),
                   MetricsApiConfig(api_key="rdme_key", grouping_function=grouping,
                                    metrics_api=server)):
        assert config.readme_api_url == "https://dash.readme.com/api"
        assert config.docs_lookup_url == (None if local else "https://dash.readme.com/api")


def test_an_explicit_readme_api_url_is_looked_up_with_a_loopback_server(monkeypatch) -> None:
    local = "http://127.0.0.1:8001"
    monkeypatch.delenv("README_API_URL", raising=False)
    config = MetricsApiConfig(api_key="k", grouping_function=grouping, metrics_api=local,
                              readme_api_url="https://dash.readme.com/api")
    assert config.docs_lookup_url == "https://dash.readme.com/api"
    monkeypatch.setenv("README_API_URL", "http://127.0.0.1:9/api")
    config = MetricsApiConfig(api_key="k", grouping_function=grouping, metrics_api=local)
    assert config.readme_api_url == config.docs_lookup_url == "http://127.0.0.1:9/api"


def test_the_official_metrics_api_name_set_to_loopback_stops_the_docs_lookup(
        monkeypatch) -> None:
    """The official package's style (set METRICS_API after construction) gets what the
    argument gets: no lookup while it is a loopback server, unless a readme_api_url was
    given, which stays."""
    monkeypatch.delenv("README_API_URL", raising=False)
    config = MetricsApiConfig(api_key="rdme_key", grouping_function=grouping)
    config.METRICS_API = "http://127.0.0.1:8001/"
    assert config.readme_api_url == "https://dash.readme.com/api"
    assert config.docs_lookup_url is None
    config.METRICS_API = "https://metrics.readme.io"
    assert config.docs_lookup_url == "https://dash.readme.com/api"
    kept = MetricsApiConfig(api_key="rdme_key", grouping_function=grouping,
                            readme_api_url="https://docs-lookup.example")
    kept.METRICS_API = "http://127.0.0.1:8001"
    assert kept.readme_api_url == kept.docs_lookup_url == "https://docs-lookup.example"


def _three_calls(middleware: MetricsMiddleware) -> list[dict[str, str]]:
    """Three calls through ``middleware``; the response headers of each."""
    answered = []
    for _ in range(3):
        result = run_wsgi(middleware, wsgi_environ(path="/pets"))
        answered.append({name.lower(): value for name, value in result.headers})
    return answered


def test_a_local_metrics_server_receives_the_posts_alone(
        collector: Collector, monkeypatch) -> None:
    """A metrics server on loopback with no readme_api_url given is not asked for the docs
    URL: it receives POST /v1/request and nothing else. ReadMe's cross-SDK suites take
    the first request their local metrics server gets as the log (a GET /v1 got there
    first under FastAPI), and a test's collector counts what arrives."""
    monkeypatch.delenv("README_API_URL", raising=False)
    monkeypatch.delenv("README_BASE_LOG_URL", raising=False)
    collector.get_v1 = lambda received: Reply(200, b'{"baseUrl": "https://docs.example"}')
    middleware = MetricsMiddleware(json_app, MetricsApiConfig(
        api_key=CONTRACT_API_KEY, grouping_function=caller, metrics_api=collector.url,
        buffer_length=1, background_worker_mode=False, timeout=INLINE_TIMEOUT))
    try:
        answered = _three_calls(middleware)
        assert middleware.flush(10.0)
        time.sleep(0.2)  # a lookup thread started by the calls would have asked by now
    finally:
        middleware.close()
    assert len(collector.logs) == 3
    assert [(got.method, got.path) for got in collector.gets] == []
    assert [headers.get("x-documentation-url") for headers in answered] == [None] * 3


def test_a_readme_api_url_given_beside_a_local_metrics_server_is_asked(
        collector: Collector, monkeypatch) -> None:
    """README_API_URL set too (what readme-metrics collect prints): the lookup goes there
    and the header follows."""
    monkeypatch.delenv("README_BASE_LOG_URL", raising=False)
    monkeypatch.setenv("README_API_URL", collector.url)
    collector.get_v1 = lambda received: Reply(200, b'{"baseUrl": "https://docs.example"}')
    middleware = MetricsMiddleware(json_app, MetricsApiConfig(
        api_key=CONTRACT_API_KEY, grouping_function=caller, metrics_api=collector.url,
        buffer_length=1, background_worker_mode=False, timeout=INLINE_TIMEOUT))
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if _three_calls(middleware)[-1].get("x-documentation-url"):
                break
            time.sleep(0.05)
        else:
            pytest.fail("no x-documentation-url")
    finally:
        middleware.close()
    assert {(got.method, got.path) for got in collector.gets} == {("GET", "/v1")}


def _typed_user_code(folder: Path) -> list[str]:
    """README's quick starts and the examples, written to ``folder`` as a user has them
    (one module name each), with a mypy.ini; the module names to check."""
    import shutil

    from tests.test_readme import code_blocks, readme_sections

    names = []
    for heading, section in readme_sections().items():
        if not heading.startswith("Quick start"):
            continue
        for index, code in enumerate(code_blocks(section, "python")):
            name = f"quick_{heading.split()[2].strip(':').lower()}_{index}"
            if "MIDDLEWARE.insert" in code:  # appended to the settings Django generates
                code = "MIDDLEWARE: list[str] = []\n" + code
            (folder / f"{name}.py").write_text(code)
            names.append(name)
    for example in ("wsgi_app.py", "flask/app.py", "flask/webhooks.py", "fastapi/app.py",
                    "fastapi/webhooks.py"):
        name = "example_" + example.replace("/", "_")[:-3]
        shutil.copy(ROOT / "examples" / example, folder / f"{name}.py")
        names.append(name)
    shutil.copytree(ROOT / "examples" / "django" / "exampleproject", folder / "exampleproject")
    names.append("exampleproject")
    # Django ships no types (django-stubs is a separate package): as a user without them.
    # The library is read from the checkout (MYPYPATH), not site-packages (an editable
    # install): its own imports are not the user's to fix, as for an installed package.
    (folder / "mypy.ini").write_text(
        "[mypy]\n[mypy-django.*]\nignore_missing_imports = True\n"
        "[mypy-readme_metrics.*]\nfollow_imports = silent\n")
    return names


#: What the users' code of the two mypy tests below reveals: the official attribute names'
#: types, and an assignment through one.
_OFFICIAL_NAMES_USER = (
    "from readme_metrics import MetricsApiConfig\n"
    "config = MetricsApiConfig(api_key='k', grouping_function=lambda r: None)\n"
    "reveal_type(config.BUFFER_LENGTH)\n"
    "reveal_type(config.METRICS_API)\n"
    "reveal_type(config.DENYLIST)\n"
    "config.BUFFER_LENGTH = 5\n")
#: A grouping function returning no mapping: mypy must refuse it.
_WRONG_GROUPING_USER = (
    "from readme_metrics import MetricsApiConfig\n"
    "def group(request: object) -> int:\n    return 1\n"
    "MetricsApiConfig(api_key='k', grouping_function=group)\n")


@pytest.fixture(scope="module")
def mypy_said(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], str]:
    """One mypy run over the users' code of the two tests below (suite50: each ran mypy
    of its own, about 5 s of CPU each, most of it the standard library's stubs read
    twice): the module names written, and what mypy printed."""
    import sys

    folder = tmp_path_factory.mktemp("typed_user")
    names = _typed_user_code(folder)
    (folder / "user.py").write_text(_OFFICIAL_NAMES_USER)
    (folder / "wrong.py").write_text(_WRONG_GROUPING_USER)
    import readme_metrics

    checkout = str(Path(readme_metrics.__file__).parent.parent)  # an editable install
    out = run_command(
        [sys.executable, "-m", "mypy", "--cache-dir", str(folder / "cache"),
         *[arg for name in [*names, "user", "wrong"] for arg in ("-m", name)]],
        capture_output=True, text=True, timeout=600, cwd=folder,
        env={**os.environ, "MYPYPATH": checkout})
    return names, out.stdout + out.stderr


@pytest.mark.timeout(660)  # its mypy run's own bound, 600 s, and more: not the 300 s default
def test_the_official_attribute_names_keep_their_types_for_mypy(
        mypy_said: tuple[list[str], str]) -> None:
    """They were typed properties; users' type checks must still see int, str, ..."""
    said = mypy_said[1]
    mine = [line for line in said.splitlines() if line.startswith("user.py:")]
    revealed = [line.split("Revealed type is ")[1].replace("builtins.", "")
                for line in mine if "Revealed" in line]
    assert revealed == ['"int"', '"str"', '"list[str]"'], said
    assert not [line for line in mine if ": error:" in line], said


@pytest.mark.timeout(660)  # its mypy run's own bound, 600 s, and more
def test_readmes_quick_starts_and_the_examples_pass_mypy(
        mypy_said: tuple[list[str], str]) -> None:
    """The package ships py.typed, so users' type checks read its annotations: the code
    README and examples/ tell them to write (an ``async def`` grouping function under
    FastAPI among it) must type-check; a grouping function returning no mapping must not."""
    names, said = mypy_said
    assert len(names) >= 10, names
    errors = [line for line in said.splitlines()
              if ": error:" in line and not line.startswith("user.py:")]  # the test above's
    assert [line.split(":")[0] for line in errors] == ["wrong.py"], said
    assert "grouping_function" in errors[0], errors


# -- through the WSGI middleware -------------------------------------------------------------

def hello_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b"hello"
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


def serve_one_and_close(middleware: MetricsMiddleware) -> None:
    """One GET through ``middleware``, its log delivered, then the middleware closed."""
    try:
        run_wsgi(middleware, wsgi_environ("GET", "/a"))
        assert middleware.flush(10.0) is True
    finally:
        middleware.close()


def test_disabled_middleware_starts_nothing_and_sends_nothing(monkeypatch, collector) -> None:
    connects: list[Any] = []
    real_connect = socket.socket.connect

    def spy_connect(self: socket.socket, address: Any) -> Any:
        connects.append(address)
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", spy_connect)
    monkeypatch.setenv("README_METRICS_ENABLED", "false")
    monkeypatch.setenv("README_METRICS_SERVER", collector.url)
    threads = set(threading.enumerate())
    # A key and a grouping function that identifies everyone: were the switch ignored,
    # every request would be logged and sent.
    config = MetricsApiConfig(api_key="rdme_key", grouping_function=lambda req: {
        "api_key": "caller"}, buffer_length=1, flush_interval=0.01)
    assert config.enabled is False
    middleware = MetricsMiddleware(validated_inside_lint(hello_app), config)
    app = validator(LintMiddleware(middleware))
    for body in (b"", b"x" * 100, b'{"api_key": "k"}'):
        wrapped = run_wsgi(app, wsgi_environ("POST", "/pets", body=body))
        bare = run_wsgi(hello_app, wsgi_environ("POST", "/pets", body=body))
        assert (wrapped.status, wrapped.headers, wrapped.body, wrapped.error) == (
            bare.status, bare.headers, bare.body, None)
    # No thread started (one of an earlier test's ending meanwhile is not this one's).
    assert not set(threading.enumerate()) - threads
    middleware.flush(0.5)
    middleware.close()
    assert not set(threading.enumerate()) - threads
    assert connects == [] and collector.received == [] and collector.gets == []


def test_the_local_loop_with_the_docs_link(monkeypatch, collector, caplog) -> None:
    """README_METRICS_SERVER and README_API_URL (what readme-metrics collect prints): logs
    and the docs URL lookup both go to the collector, and nothing is warned about."""
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    collector.get_v1 = lambda received: Reply(200, b'{"baseUrl": "http://docs.local"}')
    monkeypatch.setenv("README_API_KEY", "any-key")
    monkeypatch.setenv("README_METRICS_SERVER", collector.url)
    monkeypatch.setenv("README_API_URL", collector.url)
    middleware = MetricsMiddleware(hello_app, MetricsApiConfig(
        grouping_function=lambda req: {"api_key": "caller"}, buffer_length=1))
    try:
        links: list[str] = []
        deadline = time.monotonic() + 10
        while not links and time.monotonic() < deadline:
            links = run_wsgi(middleware, wsgi_environ()).header("x-documentation-url")
            time.sleep(0.02)  # the lookup runs on its own thread; ask again shortly
        assert links and links[0].startswith("http://docs.local/logs/")
        assert middleware.flush(5.0)
    finally:
        middleware.close()
    assert [get.path for get in collector.gets][:1] == ["/v1"]
    assert collector.logs
    assert [r.getMessage() for r in caplog.records] == []


def test_grouping_function_as_a_dotted_path_argument() -> None:
    made = MetricsApiConfig(api_key="k", grouping_function="tests.test_config.grouping")
    assert made.grouping_function is grouping
    with pytest.raises(ValueError, match="grouping_function.*README_GROUPING_FUNCTION"):
        MetricsApiConfig(api_key="k", grouping_function="tests.test_config.no_such_function")


def test_library_logger_has_no_handlers_and_basic_config_is_not_called(
        inline_wrap: Any, collector: Any) -> None:
    from tests.support.contract import exchange, reading_app

    root_handlers = list(logging.getLogger().handlers)
    middleware = inline_wrap(reading_app())
    assert middleware.config.logger is logging.getLogger("readme_metrics")
    exchange(middleware, collector)
    assert logging.getLogger("readme_metrics").handlers == []
    assert logging.getLogger().handlers == root_handlers


@pytest.mark.parametrize("option", [
    pytest.param(option, id=option.variable) for option in OPTIONS
    if option.variable and option.name not in ("api_key", "grouping_function")])
@given(text=st.text(max_size=30))
def test_any_text_in_a_variable_is_a_value_or_a_clear_error(option: Any, text: str) -> None:
    if "\x00" in text:
        return  # the environment cannot hold NUL
    saved = os.environ.get(option.variable)
    os.environ[option.variable] = text
    try:
        config = MetricsApiConfig(api_key="rdme_key", grouping_function=grouping)
    except ValueError as error:
        assert f"{option.name} ({option.variable}) must be {option.expects}" in str(error)
    else:
        value = getattr(config, option.name)
        if option.parse in ("int", "float"):
            assert value == value and abs(value) != float("inf")
    finally:
        if saved is None:
            os.environ.pop(option.variable, None)
        else:
            os.environ[option.variable] = saved


# -- documentation URLs are http(s) URLs, as an argument or a variable (SPEC 7) ------------


@pytest.mark.parametrize(("option", "variable", "value"), [
    pytest.param("base_log_url", "README_BASE_LOG_URL", "ftp://docs.example.com", id="base-ftp"),
    pytest.param("base_log_url", "README_BASE_LOG_URL", "docs.example.com", id="base-no-scheme"),
    pytest.param("base_log_url", "README_BASE_LOG_URL", "javascript:alert(1)", id="base-js"),
    pytest.param("readme_api_url", "README_API_URL", "file:///etc/passwd", id="api-file"),
    pytest.param("readme_api_url", "README_API_URL", "dash.readme.com/api", id="api-no-scheme"),
])
@pytest.mark.parametrize("source", ["argument", "environment"])
def test_documentation_urls_must_be_http_urls(monkeypatch: pytest.MonkeyPatch, option: str,
                                              variable: str, value: str, source: str) -> None:
    """SPEC 7: base_log_url and readme_api_url must be http(s) URLs (else ValueError)."""
    options: dict[str, Any] = {"api_key": CONTRACT_API_KEY, "grouping_function": caller}
    if source == "argument":
        options[option] = value
    else:
        monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=option):
        MetricsApiConfig(**options)


# -- values a newcomer writes that would silently match nothing, or post to the wrong URL --


@pytest.mark.parametrize(("option", "variable", "raw", "hint"), [
    pytest.param("skip_methods", "README_SKIP_METHODS", "GET POST", "HTTP methods",
                 id="methods-space-separated"),
    pytest.param("skip_methods", "README_SKIP_METHODS", "OPTIONS;HEAD", "HTTP methods",
                 id="methods-semicolon"),
    pytest.param("allowed_http_hosts", "README_ALLOWED_HTTP_HOSTS", "https://api.example.com",
                 "no URL", id="host-as-url"),
    pytest.param("allowed_http_hosts", "README_ALLOWED_HTTP_HOSTS", "api.example.com/v1",
                 "no URL", id="host-with-path"),
    pytest.param("allowed_http_hosts", "README_ALLOWED_HTTP_HOSTS", "*.example.com",
                 "wildcard", id="host-wildcard"),
    pytest.param("allowed_http_hosts", "README_ALLOWED_HTTP_HOSTS", ".example.com",
                 "wildcard", id="host-django-subdomains"),
    pytest.param("allowed_http_hosts", "README_ALLOWED_HTTP_HOSTS", "*", "wildcard",
                 id="host-star"),
    pytest.param("metrics_api", "README_METRICS_SERVER",
                 "http://127.0.0.1:8001/v1/request?x=1", "without /v1/request",
                 id="server-with-endpoint-and-query"),
    # Each of these was accepted, then every POST went to a wrong URL or failed.
    pytest.param("metrics_api", "README_METRICS_SERVER", "http://127.0.0.1:8001?x=1",
                 "no query or fragment", id="server-with-query"),
    pytest.param("base_log_url", "README_BASE_LOG_URL", "https://docs.example.com#top",
                 "no query or fragment", id="docs-url-with-fragment"),
    pytest.param("metrics_api", "README_METRICS_SERVER", "http://127.0.0.1:80o1",
                 "port", id="server-port-not-a-number"),
    pytest.param("metrics_api", "README_METRICS_SERVER", "http://127.0.0.1:80010",
                 "port", id="server-port-out-of-range"),
    pytest.param("readme_api_url", "README_API_URL", "https://:443/api", "no host",
                 id="api-url-without-host"),
    pytest.param("metrics_api", "README_METRICS_SERVER", "http://metrics .example.com",
                 "blank or control character", id="server-host-with-a-blank"),
    pytest.param("base_log_url", "README_BASE_LOG_URL", "https://docs.exa\tmple.com",
                 "blank or control character", id="docs-url-with-a-tab"),
    pytest.param("metrics_api", "README_METRICS_SERVER", "http://[::1:8001",
                 "not a valid URL", id="server-unclosed-ipv6"),
    # requests refused these at the first POST, or at Transport() (MetricsMiddleware(app,
    # config) raised requests' InvalidURL), or retried every batch for ever (odds11).
    pytest.param("metrics_api", "README_METRICS_SERVER", "http://\u2603.com",
                 "host name is not valid", id="server-host-not-idna"),
    pytest.param("metrics_api", "README_METRICS_SERVER", "http://metrics..example.com",
                 "empty label", id="server-host-two-dots"),
    pytest.param("readme_api_url", "README_API_URL", "https://.example.com",
                 "empty label", id="api-url-host-leading-dot"),
])
@pytest.mark.parametrize("source", ["argument", "environment"])
def test_a_value_that_would_silently_do_nothing_is_refused(
        monkeypatch: pytest.MonkeyPatch, option: str, variable: str, raw: str, hint: str,
        source: str) -> None:
    """Each of these was accepted and then matched no request (every call skipped, or
    none), or sent every batch to a URL that answers 404: the newcomer saw no error."""
    options: dict[str, Any] = {"api_key": "rdme_key", "grouping_function": grouping}
    if source == "argument":
        options[option] = raw if option in ("metrics_api", "readme_api_url",
                                            "base_log_url") else [raw]
    else:
        monkeypatch.setenv(variable, raw)
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(**options)
    message = str(raised.value)
    assert f"{option} ({variable}) must be" in message and hint in message, message
    assert repr(raw) in message or repr([raw]) in message, message


@pytest.mark.parametrize("url", ["http://xn--n3h.com", "http://caf\u00e9.example",
                                 "http://localhost.", "http://[::1]:8001",
                                 "http://127.0.0.1:8001", "https://api_1.example.com"])
def test_a_host_requests_can_post_to_is_taken(url: str) -> None:
    """The host name check refuses only what requests cannot post to: a punycode or
    accented name, a fully qualified name's final dot, IP literals, an underscore."""
    config = MetricsApiConfig(api_key="rdme_key", grouping_function=grouping,
                              metrics_api=url)
    assert config.metrics_api == url


@pytest.mark.parametrize("option", ["metrics_api", "readme_api_url", "base_log_url"])
def test_a_url_argument_is_stripped_as_the_variable_is(option: str) -> None:
    """The environment's value is stripped; the same text as an argument was kept whole,
    and every POST went to '  https://...  /v1/request'."""
    config = MetricsApiConfig(api_key="rdme_key", grouping_function=grouping,
                              **{option: "  https://example.com/api/ \n"})
    assert getattr(config, option) == "https://example.com/api"


@pytest.mark.parametrize(("option", "raw", "expected"), [
    pytest.param("skip_methods", "options, head", ["OPTIONS", "HEAD"], id="methods"),
    pytest.param("skip_methods", "PROPFIND,M-SEARCH", ["PROPFIND", "M-SEARCH"],
                 id="extension-methods"),
    pytest.param("allowed_http_hosts", "API.example.com:8000, [::1]:8080,localhost,10.0.0.7",
                 ["api.example.com:8000", "[::1]:8080", "localhost", "10.0.0.7"], id="hosts"),
    pytest.param("metrics_api", "https://gateway.example.com/readme/",
                 "https://gateway.example.com/readme", id="server-behind-a-path"),
    pytest.param("readme_api_url", "https://dash.readme.com/api",
                 "https://dash.readme.com/api", id="api-url"),
    pytest.param("metrics_api", "https://v1", "https://v1", id="server-named-v1"),
    # The official package joined "/v1/request" to the server as an absolute path, so a
    # server given with it worked: the library adds it, and takes it off such a value.
    pytest.param("metrics_api", "http://127.0.0.1:8001/v1/request", "http://127.0.0.1:8001",
                 id="server-with-endpoint"),
    pytest.param("metrics_api", "https://metrics.readme.io/V1/", "https://metrics.readme.io",
                 id="server-with-v1"),
    pytest.param("readme_api_url", "https://dash.readme.com/api/v1",
                 "https://dash.readme.com/api", id="api-url-with-v1"),
])
def test_the_values_such_checks_must_keep_accepting(option: str, raw: str,
                                                    expected: Any) -> None:
    variable = next(o.variable for o in OPTIONS if o.name == option)
    assert variable is not None
    saved = os.environ.get(variable)
    os.environ[variable] = raw
    try:
        config = MetricsApiConfig(api_key="rdme_key", grouping_function=grouping)
    finally:
        if saved is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = saved
    assert getattr(config, option) == expected


def test_a_grouping_path_django_cannot_import_yet_is_imported_on_its_first_call(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """settings.py runs before Django loads its apps: a grouping module that imports models
    raises AppRegistryNotReady then (README's Django quick start, in a real project)."""
    pytest.importorskip("django")
    (tmp_path / "fh_not_ready.py").write_text(
        "import os\n"
        "from django.core.exceptions import AppRegistryNotReady\n"
        "if os.environ.get('FH_APPS_READY') != '1':\n"
        "    raise AppRegistryNotReady(\"Apps aren't loaded yet.\")\n"
        "def grouping(request):\n"
        "    return {'api_key': 'caller-key'}\n")
    (tmp_path / "fh_broken.py").write_text("raise RuntimeError('a bug in the module')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    config = MetricsApiConfig(api_key="rdme_key", grouping_function="fh_not_ready.grouping")
    assert "fh_not_ready.grouping" in repr(config.grouping_function)
    monkeypatch.setenv("FH_APPS_READY", "1")  # Django has loaded its apps: the first call
    assert config.grouping_function(object()) == {"api_key": "caller-key"}
    assert config.grouping_function(object()) == {"api_key": "caller-key"}
    with pytest.raises(RuntimeError):  # any other error of the module: at start-up, as before
        MetricsApiConfig(api_key="rdme_key", grouping_function="fh_broken.grouping")


@pytest.mark.parametrize("given", ["rdme_from_a_file\n", "  rdme_from_a_file\t"])
def test_an_api_key_argument_is_stripped_as_the_variable_is(
        collector: Collector, given: str) -> None:
    """A key read from a secrets file (``open(path).read()``, a Kubernetes secret) ends
    in a line break: README_API_KEY is stripped, the same text as an argument was posted
    as is, and ReadMe refused every batch with 401."""
    middleware = MetricsMiddleware(hello_app, MetricsApiConfig(
        api_key=given, grouping_function=grouping, metrics_api=collector.url,
        base_log_url="https://docs.example.com"))
    serve_one_and_close(middleware)
    assert middleware.config.api_key == "rdme_from_a_file"
    [post] = [r for r in collector.received if r.path == "/v1/request"]
    assert post.headers["Authorization"] == basic_auth("rdme_from_a_file")


def test_a_server_given_with_the_endpoint_path_still_receives_the_logs(
        collector: Collector, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """README_METRICS_SERVER copied with the endpoint (``.../v1/request``) worked with the
    official package: the logs arrive, and one warning says what was taken off."""
    monkeypatch.setenv("README_METRICS_SERVER", collector.url + "/v1/request")
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    middleware = MetricsMiddleware(hello_app, MetricsApiConfig(
        api_key="rdme_key", grouping_function=grouping,
        base_log_url="https://docs.example.com"))
    serve_one_and_close(middleware)
    assert len(collector.logs) == 1
    assert middleware.config.metrics_api == collector.url
    warned = [r.getMessage() for r in caplog.records if "/v1/request" in r.getMessage()]
    assert len(warned) == 1 and "metrics_api (README_METRICS_SERVER)" in warned[0], warned


@pytest.mark.parametrize(("option", "value", "named"), [
    pytest.param("allowed_http_hosts", ["api.example.com", "https://web.example.com:8443/",
                                        "localhost"],
                 "'https://web.example.com:8443/' is a URL: list its host, "
                 "'web.example.com:8443'", id="url-among-hosts"),
    pytest.param("allowed_http_hosts", ["api.example.com", "*.example.com"],
                 "'*.example.com' is a wildcard", id="wildcard-among-hosts"),
    pytest.param("allowed_http_hosts", ["api.example.com", "::1"],
                 "'::1' is not a host name: an IPv6 address goes in brackets", id="bare-ipv6"),
    # review47: an internationalised name (as Django's ALLOWED_HOSTS, matched as sent).
    pytest.param("allowed_http_hosts", ["B\u00fccher.example:8080"],
                 "'b\u00fccher.example:8080' is an internationalised name, which clients "
                 "send in its ASCII form: list 'xn--bcher-kva.example:8080'", id="idna-host"),
    pytest.param("skip_methods", ["OPTIONS", "HEAD GET"],
                 "'HEAD GET' is not one method", id="spaces-among-methods"),
])
def test_a_refused_list_names_the_entry_at_fault(option: str, value: list[str],
                                                 named: str) -> None:
    """In a list of several entries the error says which one is wrong, and how to fix it."""
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(api_key="rdme_key", grouping_function=grouping, **{option: value})
    assert named in str(raised.value), str(raised.value)


class _Kept(logging.Handler):
    """Keeps the records it is given (a handler of its own, not caplog's root one)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.parametrize("source", ["arguments", "environment"])
def test_start_up_warnings_go_to_the_configs_logger(
        monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str],
        source: str) -> None:
    """The placeholder-key and trimmed-endpoint warnings fire while the options are read,
    before ``logger`` is: they went to the library's default logger, which an app that
    gave its own logger does not watch (and which, with no logging configured, Python's
    last-resort handler prints to stderr)."""
    mine = logging.getLogger(f"app.metrics.{source}")
    mine.propagate = False  # nothing reaches the root, caplog or stderr but through `kept`
    kept, default = _Kept(), _Kept()
    mine.addHandler(kept)
    logging.getLogger("readme_metrics").addHandler(default)
    server = f"http://127.0.0.1:8001/{source}/v1/request"  # a value no other test warned of
    options: dict[str, Any] = {"api_key": "YOUR_API_KEY", "metrics_api": server}
    if source == "environment":
        monkeypatch.setenv("README_API_KEY", options.pop("api_key"))
        monkeypatch.setenv("README_METRICS_SERVER", options.pop("metrics_api"))
    try:
        config = MetricsApiConfig(grouping_function=grouping, logger=mine, **options)
        config.METRICS_API = server  # set later, as official-package code may: once only
    finally:
        mine.removeHandler(kept)
        logging.getLogger("readme_metrics").removeHandler(default)
    assert config.metrics_api == f"http://127.0.0.1:8001/{source}"
    assert [r.getMessage() for r in kept.records] == [
        "readme_metrics: api_key (README_API_KEY) looks like a placeholder, not a key: "
        "ReadMe will refuse it; use your project's API key from the ReadMe dashboard",
        f"readme_metrics: metrics_api (README_METRICS_SERVER) ends in /v1/request, which "
        f"the library adds itself: using http://127.0.0.1:8001/{source}",
    ]
    assert all(r.levelno == logging.WARNING for r in kept.records)
    assert default.records == []
    assert capfd.readouterr() == ("", "")


# -- a URL's user and password are never shown (leak2) ---------------------------------------


@pytest.mark.parametrize("url", [
    pytest.param("http://owl:pw-s3cr3t@", id="no-host"),
    pytest.param("ftp://owl:pw-s3cr3t@h.example", id="not-http"),
    pytest.param("http://owl:pw-s3cr3t@h.example:99999", id="bad-port"),
    pytest.param("http://owl:pw-s3cr3t@h.example/api?x=1", id="query"),
    pytest.param("http://owl:pw-s3cr3t@[::1", id="unclosed-bracket"),
])
@pytest.mark.parametrize("option", ["metrics_api", "readme_api_url", "base_log_url"])
def test_an_invalid_url_is_refused_without_its_password(url: str, option: str) -> None:
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(api_key="rdme_x", grouping_function=lambda req: None,
                         **{option: url})  # type: ignore[arg-type]
    assert option in str(raised.value)
    assert "s3cr3t" not in str(raised.value) and "owl" not in str(raised.value), raised.value


def test_the_config_repr_and_warnings_never_show_a_urls_password(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    config = MetricsApiConfig(api_key="rdme_x", grouping_function=lambda req: None,
                              metrics_api="https://owl:pw-s3cr3t@h.example/v1/request")
    assert config.metrics_api == "https://owl:pw-s3cr3t@h.example"  # used as given
    assert "s3cr3t" not in repr(config) and "h.example" in repr(config)
    shown = "\n".join(record.getMessage() for record in caplog.records)
    assert "ends in /v1/request" in shown and "s3cr3t" not in shown, shown


# -- a key between quotes, or between blanks (newcomer) -----------------------------------


@pytest.mark.parametrize("source", ["argument", "environment"])
@pytest.mark.parametrize("key", [
    pytest.param('"rdme_quoted_key_1234"', id="double-quotes"),
    pytest.param("'rdme_quoted_key_1234'", id="single-quotes"),
])
def test_a_quoted_key_is_warned_about_once_without_showing_it(
        monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], source: str,
        key: str) -> None:
    """README_API_KEY="rdme_..." in a file for `docker run --env-file` keeps the quotes:
    the key was accepted silently and ReadMe refused every POST. One warning at start-up
    through the config's logger (the quote named, never the key), however many configs."""
    quote = "double" if key.startswith('"') else "single"
    mine = logging.getLogger(f"app.metrics.quoted.{source}.{quote}")
    mine.propagate = False
    kept = _Kept()
    mine.addHandler(kept)
    try:
        for _ in range(3):
            if source == "environment":
                monkeypatch.setenv("README_API_KEY", key)
                config = MetricsApiConfig(grouping_function=grouping, logger=mine)
            else:
                config = MetricsApiConfig(api_key=key, grouping_function=grouping,
                                          logger=mine)
    finally:
        mine.removeHandler(kept)
    assert config.api_key == key  # not changed: a key is opaque to the library
    messages = [r.getMessage() for r in kept.records]
    assert messages == [
        f"readme_metrics: api_key (README_API_KEY) starts and ends with a {key[0]} quote, "
        "which is taken as part of the key: ReadMe will refuse it; remove the quotes "
        "(`docker run --env-file` keeps them as written)"], messages
    assert "quoted_key" not in "".join(messages) + repr(config)
    assert capfd.readouterr() == ("", "")


@pytest.mark.parametrize("source", ["argument", "environment"])
def test_blanks_around_a_key_are_stripped_without_a_word(
        monkeypatch: pytest.MonkeyPatch, source: str) -> None:
    """A key with a line break (a secrets file) or spaces around it is the key without
    them: no key has them, so they are stripped, as the variable's value is."""
    mine = logging.getLogger(f"app.metrics.blanks.{source}")
    kept = _Kept()
    mine.addHandler(kept)
    try:
        if source == "environment":
            monkeypatch.setenv("README_API_KEY", "  rdme_blank_key_1234\n")
            config = MetricsApiConfig(grouping_function=grouping, logger=mine)
        else:
            config = MetricsApiConfig(api_key=" rdme_blank_key_1234 \n",
                                      grouping_function=grouping, logger=mine)
    finally:
        mine.removeHandler(kept)
    assert config.api_key == "rdme_blank_key_1234"
    assert kept.records == []
