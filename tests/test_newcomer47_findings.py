"""A newcomer's first hour (newcomer47): README followed from the top on a fresh clone.

The official 3.x package's ``MetricsApiConfig`` kept its settings as class attributes
(``METRICS_API = "https://metrics.readme.io"``, ``BUFFER_LENGTH = 1``, ...), which
``__init__`` did not all set: ``MetricsApiConfig.METRICS_API = "https://..."`` (or
``mock.patch.object(MetricsApiConfig, "METRICS_API", ...)`` in a test) pointed every
config at another Metrics API. Here the upper-case names read and set the options of a
config, but on the class a read gave the descriptor object, not a value, and an
assignment replaced it without a word: ``config.METRICS_API`` then read the new URL while
the logs, with the API key, still went to ``metrics_api``'s default, ReadMe's own. Now the
class read gives the option's default, as the official class attribute gave its own, and
the assignment raises ``AttributeError`` saying where the option is set instead.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig

#: The official package's class attributes (3.4), each with this version's option and
#: its default.
OFFICIAL: dict[str, tuple[str, Any]] = {
    "README_API_KEY": ("api_key", None),
    "GROUPING_FUNCTION": ("grouping_function", None),
    "BASE_LOG_URL": ("base_log_url", None),
    "BUFFER_LENGTH": ("buffer_length", 10),
    "IS_DEVELOPMENT_MODE": ("development_mode", False),
    "IS_BACKGROUND_MODE": ("background_worker_mode", True),
    "DENYLIST": ("denylist", []),
    "ALLOWLIST": ("allowlist", []),
    "ALLOWED_HTTP_HOSTS": ("allowed_http_hosts", []),
    "README_API_URL": ("readme_api_url", "https://dash.readme.com/api"),
    "METRICS_API": ("metrics_api", "https://metrics.readme.io"),
    "METRICS_API_TIMEOUT": ("timeout", 3.0),
    "LOGGER": ("logger", logging.getLogger("readme_metrics")),
}

#: A value each name could be set to, as code written for the official package would.
SET_TO: dict[str, Any] = {
    "README_API_KEY": "rdme-key-of-another-project",
    "GROUPING_FUNCTION": lambda request: None,
    "BASE_LOG_URL": "https://docs.example.com",
    "BUFFER_LENGTH": 1,
    "IS_DEVELOPMENT_MODE": True,
    "IS_BACKGROUND_MODE": False,
    "DENYLIST": ["password"],
    "ALLOWLIST": ["id"],
    "ALLOWED_HTTP_HOSTS": ["api.example.com"],
    "README_API_URL": "http://127.0.0.1:9/api",
    "METRICS_API": "http://127.0.0.1:9",
    "METRICS_API_TIMEOUT": 10,
    "LOGGER": logging.getLogger("my-app"),
}


def _group(request: Any) -> dict[str, str]:
    return {"api_key": "owlbert-key"}


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_an_official_name_read_on_the_class_is_the_options_default(name: str) -> None:
    option, default = OFFICIAL[name]
    assert getattr(MetricsApiConfig, name) == default, (
        f"MetricsApiConfig.{name} is {getattr(MetricsApiConfig, name)!r}, not the "
        f"default of {option}")


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_an_official_name_set_on_the_class_says_where_to_set_it(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    option, default = OFFICIAL[name]
    monkeypatch.delenv("README_METRICS_SERVER", raising=False)
    monkeypatch.delenv("README_API_URL", raising=False)
    before = MetricsApiConfig.__dict__[name]
    try:
        with pytest.raises(AttributeError) as raised:
            setattr(MetricsApiConfig, name, SET_TO[name])
    finally:  # unfixed, the class lost its descriptor: give it back to the next tests
        type.__setattr__(MetricsApiConfig, name, before)
    said = str(raised.value)
    assert f"MetricsApiConfig.{name}" in said and f"{option}=" in said
    assert f"config.{name} =" in said  # where the official code can keep its name
    config = MetricsApiConfig("rdme-test-key-12345", _group, enabled=True)
    if name == "METRICS_API":
        assert "README_METRICS_SERVER" in said
        assert config.metrics_api == config.METRICS_API == default


def test_the_names_still_read_and_set_a_config() -> None:
    config = MetricsApiConfig("rdme-test-key-12345", _group, enabled=True)
    config.METRICS_API = "http://127.0.0.1:9"
    assert config.metrics_api == config.METRICS_API == "http://127.0.0.1:9"
    assert MetricsApiConfig.METRICS_API == "https://metrics.readme.io"
    config.BUFFER_LENGTH = 3
    assert config.buffer_length == 3
    with pytest.raises(ValueError, match="buffer_length"):
        config.BUFFER_LENGTH = 0


def test_an_official_name_given_a_value_in_a_subclass_says_where_to_set_it() -> None:
    with pytest.raises(AttributeError) as raised:
        class LocalConfig(MetricsApiConfig):
            METRICS_API = "http://127.0.0.1:9"
    said = str(raised.value)
    assert "LocalConfig.METRICS_API" in said and "metrics_api=" in said
    assert "README_METRICS_SERVER" in said

    class Overridden(MetricsApiConfig):  # a property of its own is the subclass's to define
        @property
        def BUFFER_LENGTH(self) -> int:  # noqa: N802 - the official name
            return 7

    config = Overridden("rdme-test-key-12345", _group, enabled=True)
    assert config.BUFFER_LENGTH == 7 and config.buffer_length == 10
