"""Checks on the library's own log records."""

from __future__ import annotations

import base64
import logging


def assert_api_key_not_logged(records: list[logging.LogRecord], api_key: str) -> None:
    """No record shows the API key or its Basic token (SPEC 7: never log the key)."""
    token = base64.b64encode(f"{api_key}:".encode()).decode()
    formatter = logging.Formatter("%(message)s")
    for record in records:
        text = formatter.format(record)
        assert api_key not in text and token not in text, text
