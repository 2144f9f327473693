"""blackbox19: SPEC sections 2 and 8, read as a stranger would: every true/false option
"can be read from the environment (through environs)", and the companions are
"configured from the environment with environs".

environs reads a flag as ``true``, ``True`` or ``TRUE`` (``yes``, ``on``, ``1`` ... the same
three ways), but refused any other case: ``README_DEVELOPMENT_MODE=TrUe`` raised
``ValueError: ... must be true or false, got 'TrUe'``, a message that contradicts itself,
and so did ``yEs``, ``oFF``, ``FaLsE`` for every flag (the metrics options, CORS's
``CORS_ALLOW_CREDENTIALS``, the request-id filter's ``LOG_TOKENS``). Reading of SPEC: a
flag's words are case-insensitive, as their three accepted spellings already suggest;
anything else (``2``, ``maybe``) is still refused naming the option and the variable.

Each case failed before the fix (the ValueError above) and reads the option through the
public API.
"""

from __future__ import annotations

from typing import Any

import pytest

from readme_metrics import MetricsApiConfig
from readme_metrics._env import reset
from readme_metrics.cors import CORSMiddleware
from readme_metrics.request_id import RequestIdFilter


def config(monkeypatch: pytest.MonkeyPatch, **variables: str) -> MetricsApiConfig:
    """A config made with only ``variables`` set (tests/conftest.py clears the rest),
    the environment read again as a new process reads it."""
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    reset()
    return MetricsApiConfig(api_key="rdme_blackbox19_config_key_0123456789",
                            grouping_function=lambda request: None)


@pytest.mark.parametrize(("text", "expected"), [
    ("TrUe", True), ("tRUE", True), ("yEs", True), ("oN", True),
    ("FaLsE", False), ("fALSE", False), ("nO", False), ("oFF", False), ("OfF", False),
    (" TrUe\r", True),
])
def test_development_mode_reads_a_flag_in_any_case(monkeypatch: pytest.MonkeyPatch,
                                                    text: str, expected: bool) -> None:
    assert config(monkeypatch, README_DEVELOPMENT_MODE=text).development_mode is expected


@pytest.mark.parametrize(("text", "expected"), [("FaLsE", False), ("TrUe", True)])
def test_background_worker_mode_reads_a_flag_in_any_case(
        monkeypatch: pytest.MonkeyPatch, text: str, expected: bool) -> None:
    options = config(monkeypatch, README_BACKGROUND_WORKER_MODE=text)
    assert options.background_worker_mode is expected


def test_metrics_enabled_reads_a_flag_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("README_METRICS_ENABLED", "FaLsE")
    reset()
    # Off: neither the key nor the grouping function is needed.
    assert MetricsApiConfig().enabled is False


@pytest.mark.parametrize("text", ["2", "maybe", "truee"])
def test_a_flag_that_is_no_flag_is_still_refused(monkeypatch: pytest.MonkeyPatch,
                                                  text: str) -> None:
    with pytest.raises(ValueError, match=r"development_mode \(README_DEVELOPMENT_MODE\) "
                                         r"must be true or false, got '" + text + "'"):
        config(monkeypatch, README_DEVELOPMENT_MODE=text)


def test_cors_allow_credentials_reads_a_flag_in_any_case(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ALLOWED", "https://app.example.com")
    monkeypatch.setenv("CORS_ALLOW_CREDENTIALS", "TrUe")
    reset()
    seen: list[Any] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    CORSMiddleware(app)({"REQUEST_METHOD": "GET", "PATH_INFO": "/",
                         "HTTP_ORIGIN": "https://app.example.com"},
                        lambda status, headers, exc_info=None: seen.extend(headers))
    assert ("Access-Control-Allow-Credentials", "true") in seen


@pytest.mark.parametrize(("text", "expected"), [("fAlSe", False), ("YeS", True)])
def test_log_tokens_reads_a_flag_in_any_case(monkeypatch: pytest.MonkeyPatch, text: str,
                                             expected: bool) -> None:
    monkeypatch.setenv("LOG_TOKENS", text)
    reset()
    assert RequestIdFilter().log_tokens is expected
