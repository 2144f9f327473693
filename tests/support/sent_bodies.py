"""A body as the HAR builder logs it, request (``postData``) and response (``content``)
alike, with a denylist of ``password``: for the tests of what a denylist hides in a body
of some format and what it keeps as written (hostile29 had these; hostile31 to hostile51
and review121 to review141 imported them from its test module before house57)."""

from __future__ import annotations

import base64
from typing import Optional

from readme_metrics.har.bodies import content, post_data
from readme_metrics.har.headers import RAW_CONTENT_TYPE
from readme_metrics.har.redaction import Redactor

#: A password's value the tests' bodies hold: hidden when a body is read right.
SECRET = "Zq8h22Xw3K"
DENY = Redactor(denylist=["password"])


def body_head(mime: Optional[str]) -> dict[str, str]:
    """The headers a body of ``mime`` (None: no Content-Type) comes with."""
    return {} if mime is None else {"content-type": mime, RAW_CONTENT_TYPE: mime}


def bodies_logged(body: bytes, mime: Optional[str], redactor: Redactor = DENY) -> list[str]:
    """The request's and the response's body as logged (base64 read back)."""
    out = []
    for record in (post_data(body, len(body), body_head(mime), redactor, 1 << 22),
                   content(body, len(body), body_head(mime), redactor, 1 << 22)):
        text = record.get("text", "")
        if record.get("encoding") == "base64" or record.get("comment") == "base64":
            text = base64.b64decode(text).decode("latin-1")
        out.append(text)
    return out


def kept_as_sent(body: bytes, mime: Optional[str], redactor: Redactor = DENY) -> bool:
    """Both records of ``body`` are its bytes as sent."""
    return all(text == body.decode("latin-1") for text in bodies_logged(body, mime, redactor))
