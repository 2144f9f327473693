"""hostile26: the leaks left in text and multipart bodies.

1. Python's ``str(dict)`` value in escaped double quotes (a repr held in a JSON string:
   ``{'password': \\"...\\"}``, which Python writes for a value holding an apostrophe)
   in an HTML, XML or script body went out in clear after ``[REDACTED]`` of its
   backslash; read as a form's value at an ``=`` (a JSON string of pairs), the ``&``
   in it cut the member and the rest went out (hostile25's strict xfail). Such a value
   is now read as the string it is, its escaped quotes kept.
"""

from __future__ import annotations

import json
from typing import Any, Optional

import pytest

from readme_metrics.har.bodies import content, post_data
from readme_metrics.har.headers import RAW_CONTENT_TYPE
from readme_metrics.har.redaction import Redactor
from tests.support.fake_api import Collector
from tests.support.flask_echo import logged_echo

DENY = Redactor(denylist=["password"])
SECRET = "Zq8h22Xw3K"


def _head(mime: Optional[str]) -> dict[str, str]:
    return {} if mime is None else {"content-type": mime, RAW_CONTENT_TYPE: mime}


def _records(body: bytes, mime: Optional[str], redactor: Redactor = DENY
             ) -> list[dict[str, Any]]:
    """The request's postData and the response's content of ``body``."""
    return [post_data(body, len(body), _head(mime), redactor, 1 << 20),
            content(body, len(body), _head(mime), redactor, 1 << 20)]


def _text(record: dict[str, Any]) -> str:
    return str(record["text"]) if "text" in record else json.dumps(record["params"])


#: A repr's value in escaped double quotes in a text body: main sent SECRET in clear.
ESCAPED_REPR = {
    "html-script": ("text/html", f"<script>x = \"{{'password': \\\"{SECRET}\\\"}}\"</script>",
                    f"<script>x = \"{{'password': \\\"[REDACTED 10]\\\"}}\"</script>"),
    "xml": ("application/xml", f"<d>{{'password': \\\"{SECRET}\\\"}}</d>",
            "<d>{'password': \\\"[REDACTED 10]\\\"}</d>"),
    "javascript": ("application/javascript",
                   f"var a = \"{{'password': \\\"it's {SECRET}\\\"}}\";",
                   "var a = \"{'password': \\\"[REDACTED 15]\\\"}\";"),
    "two-deep": ("text/html", f"<p>{{'password': \\\\\\\"{SECRET}\\\\\\\"}}</p>",
                 "<p>{'password': \\\\\\\"[REDACTED 10]\\\\\\\"}</p>"),
    "double-quoted-name": ("text/html", f'<p>{{"password": \\"{SECRET}\\"}}</p>',
                           '<p>{"password": \\"[REDACTED 10]\\"}</p>'),
    "cut-by-and": ("text/html", f"<p>{{'password': \\\"a&{SECRET}\\\", 'n': 1}}</p>",
                   "<p>{'password': \\\"[REDACTED 12]\\\", 'n': 1}</p>"),
}


@pytest.mark.parametrize("shape", ESCAPED_REPR)
def test_a_repr_value_in_escaped_quotes_is_hidden(shape: str) -> None:
    mime, body, expected = ESCAPED_REPR[shape]
    for record in _records(body.encode(), mime):
        assert record["text"] == expected, record


@pytest.mark.parametrize("body", [
    pytest.param('<p>it\'s the password: \\"kept\\"</p>', id="prose-quoted"),
    pytest.param("<p>{'user': \\\"zoe\\\", 'note': \\\"password\\\"}</p>",
                 id="value-naming-it"),
])
def test_prose_and_other_members_are_kept(body: str) -> None:
    for record in _records(body.encode(), "text/html"):
        assert record["text"] == body, record


def test_a_flask_app_sends_an_escaped_repr_value_hidden(collector: Collector) -> None:
    mime, body, _ = ESCAPED_REPR["html-script"]
    log = logged_echo(collector, body, mime)
    entry = log["request"]["log"]["entries"][0]
    assert SECRET not in json.dumps(log)
    assert "[REDACTED 10]" in entry["request"]["postData"]["text"]
    assert "[REDACTED 10]" in entry["response"]["content"]["text"]
