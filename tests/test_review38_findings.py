"""review38: an adversarial read of this session's landings (odds14's Expect:
100-continue capture, review36's collector framing, body deadline and config refusals,
the lead's root-dot Host). Each test failed on main at 6d3439d and passes with its fix.

1. A metrics_api/readme_api_url whose password holds an unencoded ``#``, ``?`` or ``/``
   (generated passwords often do) ends the URL's authority early: urlsplit (as a
   browser) reads ``user:pass`` as a host and a port, the rest as a fragment, query or
   path. The URL is refused ("its port must be a number"), and the refusal quoted it as
   given: shown_url masks a userinfo only up to the first ``/``, ``?`` or ``#`` (as it
   must for a URL that parses), so the password went out in clear, into a traceback or
   a log. A refused URL is now shown masked up to its last ``@``.
"""

from __future__ import annotations

import logging

import pytest

from readme_metrics import MetricsApiConfig

PASSWORD = "review38-pass"  # noqa: S105 - a test value


@pytest.mark.parametrize("value", [
    pytest.param(f"http://owl:{PASSWORD}#x@metrics.example.com", id="hash"),
    pytest.param(f"https://owl:{PASSWORD}?x@metrics.example.com/base", id="question-mark"),
    pytest.param(f"http://owl:{PASSWORD}/x@127.0.0.1:8001", id="slash"),
    pytest.param(f"http://owl:ab#{PASSWORD}@metrics.example.com", id="after-the-hash"),
    pytest.param(f"http://{PASSWORD}#x@metrics.example.com", id="token-as-user"),
    pytest.param(f"owl:{PASSWORD}#x@127.0.0.1:8001", id="no-scheme"),
    pytest.param(f"http:/owl:{PASSWORD}?x@metrics.example.com", id="one-slash"),
])
@pytest.mark.parametrize("option", ["metrics_api", "readme_api_url", "base_log_url"])
def test_a_refused_url_never_shows_a_password_holding_a_delimiter(
        caplog: pytest.LogCaptureFixture, option: str, value: str) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(api_key="rdme_review38_key", grouping_function=lambda r: None,
                         **{option: value})
    message = str(raised.value)
    assert option in message and "***@" in message, message
    assert PASSWORD not in message, message
    assert PASSWORD not in caplog.text
