"""review83: an adversarial read of the session's smaller landings (odds3, newcomer17,
the lead's grouping and -n 4 changes, speed6).

An unsigned 64-bit id has 20 digits (18446744073709551615), one more than the signed 19
that MAX_ID_DIGITS was set to: a grouping function returning such an id (a MySQL
BIGINT UNSIGNED key, a uint64 snowflake) was not told it looked like a user's id, yet
that id is masked wherever its digits occur in the caller's logs.

The "no key yet?" hint of the missing and the placeholder key's errors named no key:
followed as written after README's quick start (run with its placeholder), it failed
again with the same error.
"""

from __future__ import annotations

import logging

import pytest

from readme_metrics import MetricsApiConfig
from tests.test_newcomer15_findings import _app_returning


@pytest.mark.parametrize("key, warned", [
    ("18446744073709551615", True),  # the largest unsigned 64-bit integer: 20 digits
    ("10000000000000000000", True),  # past the signed range, still an unsigned id
    ("1" * 21, False),
])
def test_an_unsigned_64_bit_id_is_warned_about(
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


def test_the_no_key_yet_hint_followed_as_written_gets_past_the_placeholder(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """README's quick starts run the app with `README_API_KEY='<your ReadMe API key>'`;
    copied as written, the placeholder is refused, and the error says "no key yet? any key
    works against the local collector: `readme-metrics collect`, then
    README_METRICS_SERVER=http://127.0.0.1:8001". Done as said (the server set, the
    placeholder still the key), the same error came again, hint and all: "any key" did
    not take the one given. The hint now sets a key too, and followed as written, the
    configuration is made."""
    import re

    monkeypatch.setenv("README_API_KEY", "<your ReadMe API key>")
    with pytest.raises(ValueError) as refused:
        MetricsApiConfig(grouping_function=lambda request: None)
    hint = str(refused.value).partition("no key yet?")[2]
    assert hint, refused.value
    told = dict(re.findall(r"\b(README_[A-Z_]+)=([^\s`)]+)", hint))
    assert told.get("README_METRICS_SERVER") == "http://127.0.0.1:8001", hint
    for name, value in told.items():
        monkeypatch.setenv(name, value)
    config = MetricsApiConfig(grouping_function=lambda request: None)
    assert config.METRICS_API == "http://127.0.0.1:8001"
