"""A newcomer's first hour, sixteenth pass: README followed in a fresh clone by a Bottle, a
Pyramid, a Falcon (WSGI and ASGI), a Starlette, a Litestar and a Django (uvicorn, daphne)
user, pointed at `readme-metrics collect`, then what the library says of what they tried.

Each test is one thing tried there, with the library's real parts; none passed before its
fix.
"""

from __future__ import annotations

import logging

import pytest

from readme_metrics import MetricsApiConfig
from tests.test_newcomer15_findings import _app_returning

# -- a user's id of 8 digits or more as the caller's key ---------------------------------
#
# newcomer15 warned of a caller's key of a few digits (a user's pk: every 1 in that user's
# logs went out as the mask). A key of 8 digits or more (an account number, a larger pk)
# got no word, yet it is masked wherever its digits occur, inside longer numbers too: a
# Bottle user's grouping function returning the account number 12345678 sent the response
# {"order": 9912345678, "ts": 1733312345678} as {"order": "99sha512-...?5678", "ts":
# "17333sha512-...?5678"}, JSON numbers turned into text, without a word.


@pytest.mark.parametrize("key", ["12345678", 1234567890123])
def test_a_long_number_as_the_callers_key_is_warned_about_once(
        collector, caplog: pytest.LogCaptureFixture, key: object) -> None:  # type: ignore[no-untyped-def]
    from werkzeug.test import Client

    from readme_metrics import MetricsMiddleware

    config = MetricsApiConfig(api_key="any-key", metrics_api=collector.url,
                              grouping_function=lambda request: {"api_key": key})
    body = b'{"order": 99%s, "page": 2}' % (str(key).encode(),)
    middleware = MetricsMiddleware(_app_returning(body), config)
    client = Client(middleware)
    with caplog.at_level(logging.WARNING, logger="readme_metrics"):
        for _ in range(3):
            client.get("/api/orders", buffered=True)
    assert middleware.flush(5)
    said = [record.getMessage() for record in caplog.records
            if "a user's id or an account number" in record.getMessage()]
    assert len(said) == 1, caplog.text
    message = said[0]
    assert f"an api_key of {len(str(key))} digits:" in message, message
    assert "inside longer numbers too" in message and "f\"user-{" in message, message
    assert str(key) not in message, message
    # what it warns of is so: the order number went out with the mask in its middle
    text = collector.wait_for_logs(3)[0]["request"]["log"]["entries"][0]["response"][
        "content"]["text"]
    assert '"order": "99sha512-' in text.replace('":"', '": "'), text
    middleware.close()
