"""A newcomer's first hour, thirteenth pass: README followed in a fresh clone (the demo,
the test command, each quick start pointed at ``readme-metrics collect``), then the
mistakes a newcomer makes, and what the library says.

Each test is one thing tried there, with the library's real parts; none passed before its
fix.
"""

from __future__ import annotations

import pytest

from readme_metrics import MetricsApiConfig

# -- a mistyped scheme: the URL meant, not the text with https:// put before it ------------

@pytest.mark.parametrize("given, meant", [
    ("https//metrics.readme.io", "https://metrics.readme.io"),
    ("http//127.0.0.1:8001", "http://127.0.0.1:8001"),
    ("https:/metrics.readme.io", "https://metrics.readme.io"),
    ("https:metrics.readme.io", "https://metrics.readme.io"),
    ("htps://metrics.readme.io", "https://metrics.readme.io"),
    ("htttps://metrics.readme.io", "https://metrics.readme.io"),
    ("http;//127.0.0.1:8001", "http://127.0.0.1:8001"),
])
def test_a_mistyped_scheme_says_the_url_meant(given: str, meant: str) -> None:
    # README_METRICS_SERVER=https//metrics.readme.io (the ":" left out) said "did you mean
    # 'https://https//metrics.readme.io'?", a URL to host "https"; htps:// and https:/
    # said only "must be an http(s) URL".
    with pytest.raises(ValueError) as caught:
        MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None,
                         metrics_api=given)
    assert f"did you mean {meant!r}?" in str(caught.value), str(caught.value)


@pytest.mark.parametrize("given, meant", [
    ("httpbin.org", "https://httpbin.org"),
    ("hpx.example.com:8443", "https://hpx.example.com:8443"),
    ("127.0.0.1:8001", "http://127.0.0.1:8001"),
])
def test_a_host_that_starts_like_a_scheme_is_still_a_host(given: str, meant: str) -> None:
    # A host name beginning with "http" or "hp" and no ":" or "/" after those letters is a
    # URL without its scheme, as before.
    with pytest.raises(ValueError) as caught:
        MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None,
                         metrics_api=given)
    assert f"did you mean {meant!r}?" in str(caught.value), str(caught.value)


def test_a_mistyped_scheme_shows_no_password() -> None:
    with pytest.raises(ValueError) as caught:
        MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None,
                         metrics_api="https//owl:hunter2-secret@metrics.example.com")
    assert "hunter2-secret" not in str(caught.value)
    assert "did you mean 'https://***@metrics.example.com'?" in str(caught.value)
