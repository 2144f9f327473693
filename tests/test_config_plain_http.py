"""The API key sent in clear: a start-up warning for plain ``http://`` to another host.

Every POST to ``metrics_api`` carries the API key (``Authorization: Basic``), and so does
the docs URL lookup to ``readme_api_url``. Over ``http://`` to a host that is not this
machine, the key crosses the network in clear; nothing said so. One warning per URL
and process, through the library's logger (never printed), naming the option and the
URL (its password hidden), never the key; none for loopback hosts (``readme-metrics
collect``, the demo, tests) nor for https.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Iterator

import pytest

from readme_metrics import MetricsApiConfig

KEY = "rdme_plain_http_SECRET_key"


def grouping(req: Any) -> None:
    return None


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def logger() -> Iterator[tuple[logging.Logger, Kept]]:
    # A logger of its own: the config says each warning once per process and logger.
    mine = logging.getLogger(f"tests.plain_http.{uuid.uuid4().hex}")
    kept = Kept()
    mine.addHandler(kept)
    mine.setLevel(logging.DEBUG)
    yield mine, kept
    mine.removeHandler(kept)


def _clear(kept: Kept) -> list[str]:
    return [record.getMessage() for record in kept.records
            if "in clear" in record.getMessage()]


@pytest.mark.parametrize(("option", "variable", "url", "shown"), [
    pytest.param("metrics_api", "README_METRICS_SERVER", "http://metrics.example.com",
                 "http://metrics.example.com", id="a-public-host"),
    pytest.param("metrics_api", "README_METRICS_SERVER", "http://collector:8001",
                 "http://collector:8001", id="another-container"),
    pytest.param("metrics_api", "README_METRICS_SERVER", "http://10.0.0.5:8001/",
                 "http://10.0.0.5:8001", id="a-private-address"),
    pytest.param("metrics_api", "README_METRICS_SERVER", "http://[2001:db8::1]:8001",
                 "http://[2001:db8::1]:8001", id="ipv6"),
    pytest.param("metrics_api", "README_METRICS_SERVER", "HTTP://Metrics.Example.com",
                 "HTTP://Metrics.Example.com", id="scheme-in-capitals"),
    pytest.param("metrics_api", "README_METRICS_SERVER",
                 "http://owl:pw-s3cr3t@metrics.example.com", "http://***@metrics.example.com",
                 id="userinfo-hidden"),
    pytest.param("readme_api_url", "README_API_URL", "http://dash.example.com/api",
                 "http://dash.example.com/api", id="the-docs-lookup"),
])
@pytest.mark.parametrize("source", ["argument", "environment", "set-later"])
def test_plain_http_to_another_host_warns_once(
        logger: tuple[logging.Logger, Kept], monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str], option: str, variable: str, url: str,
        shown: str, source: str) -> None:
    mine, kept = logger
    options: dict[str, Any] = {}
    if source == "argument":
        options[option] = url
    elif source == "environment":
        monkeypatch.setenv(variable, url)
    config = MetricsApiConfig(api_key=KEY, grouping_function=grouping, logger=mine,
                              **options)
    official = "METRICS_API" if option == "metrics_api" else "README_API_URL"
    setattr(config, official, url)  # the official package's name; said once all the same
    MetricsApiConfig(api_key=KEY, grouping_function=grouping, logger=mine, **options)
    assert _clear(kept) == [
        f"readme_metrics: {option} ({variable}) is {shown}, plain HTTP to a host that is "
        "not this machine: the API key goes over the network in clear (in the "
        "Authorization header of every request to it); use https://"]
    assert all(record.levelno == logging.WARNING for record in kept.records)
    text = "\n".join(record.getMessage() for record in kept.records)
    assert KEY not in text and "s3cr3t" not in text
    assert capfd.readouterr() == ("", "")


@pytest.mark.parametrize("url", [
    pytest.param("https://metrics.example.com", id="https"),
    pytest.param("http://127.0.0.1:8001", id="ipv4-loopback"),
    pytest.param("http://127.8.9.10:8001", id="all-of-127/8"),
    pytest.param("http://localhost:8001", id="localhost"),
    pytest.param("http://LOCALHOST.:8001", id="localhost-fqdn"),
    pytest.param("http://api.localhost:8001", id="a-localhost-subdomain"),
    pytest.param("http://[::1]:8001", id="ipv6-loopback"),
    # The proxy check's forms of this machine (review25): `readme-metrics collect --host
    # 0.0.0.0` says "listening on http://0.0.0.0:8001", and a connection there is local.
    pytest.param("http://0.0.0.0:8001", id="unspecified"),
    pytest.param("http://[::]:8001", id="ipv6-unspecified"),
    pytest.param("http://127.1:8001", id="short-form"),
    pytest.param("http://[::ffff:127.0.0.1]:8001", id="mapped-loopback"),
])
@pytest.mark.parametrize("option", ["metrics_api", "readme_api_url"])
def test_https_or_loopback_does_not_warn(logger: tuple[logging.Logger, Kept], url: str,
                                         option: str) -> None:
    mine, kept = logger
    MetricsApiConfig(api_key=KEY, grouping_function=grouping, logger=mine,
                     **{option: url})  # type: ignore[arg-type]
    assert _clear(kept) == []


def test_the_defaults_do_not_warn(logger: tuple[logging.Logger, Kept]) -> None:
    mine, kept = logger
    MetricsApiConfig(api_key=KEY, grouping_function=grouping, logger=mine)
    assert kept.records == []
