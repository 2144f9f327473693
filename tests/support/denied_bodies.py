"""A body's records as the HAR builder writes them (the request's ``postData``, the
response's ``content``), read with hostile30's denylist of common words: for the table
tests of what a denylist hides in a body and what it keeps as written (hostile30,
review117, review122, review124, review125)."""

from __future__ import annotations

import json
from typing import Any, Optional

from readme_metrics.har.bodies import content, post_data
from readme_metrics.har.headers import RAW_CONTENT_TYPE
from readme_metrics.har.redaction import Redactor

SECRET = "Zq8h22Xw3K"
WORDS = ["password", "token", "secret", "api_key", "key", "auth"]
DENY = Redactor(denylist=WORDS)


def _head(mime: Optional[str]) -> dict[str, str]:
    return {} if mime is None else {"content-type": mime, RAW_CONTENT_TYPE: mime}


def records(body: bytes, mime: Optional[str],
            redactor: Optional[Redactor] = DENY) -> list[dict[str, Any]]:
    """``body`` typed ``mime`` (no Content-Type where None) as a request's ``postData``
    and as a response's ``content``, read with ``redactor`` (1 MiB of body at most)."""
    return [post_data(body, len(body), _head(mime), redactor, 1 << 20),
            content(body, len(body), _head(mime), redactor, 1 << 20)]


def assert_hidden(sent: Any) -> None:
    """``sent`` (a record, a log) has no SECRET, and a redaction's mark."""
    text = json.dumps(sent)
    assert SECRET not in text, text
    assert "REDACTED" in text


def assert_hidden_in_both(body: str, mime: Optional[str]) -> None:
    """``body`` has its SECRET hidden as a request's body and as a response's."""
    for record in records(body.encode(), mime):
        assert_hidden(record)


def assert_kept_in_both(body: str, mime: Optional[str]) -> None:
    """``body`` is kept as written, as a request's body and as a response's."""
    for record in records(body.encode(), mime):
        assert record["text"] == body, record
