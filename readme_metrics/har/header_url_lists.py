"""A URL header's query pairs (and a fragment's) redacted by the lists (SPEC 6), as the
request's url's are (:meth:`.Redactor.url`), and, with a denylist, those of a value that
is no URL as written: wholly percent-encoded (hostile63) or written with JSON's escapes
(hostile65). The URL's password is :mod:`.header_urls`' (which re-exports this).
"""

from __future__ import annotations

from readme_metrics.har.redaction import Redactor
from readme_metrics.har.redaction_query import linked

__all__ = ["listed_url"]


def listed_url(redactor: Redactor, value: str) -> str:
    """A URL header's ``value`` with its query's (and a fragment's) pairs redacted by the
    lists (SPEC 6: :meth:`.Redactor.url`, as the request's url); with a denylist, a value
    that is no URL as written, wholly percent-encoded (``https%3A%2F%2Fsite%2Fp%3Ftoken
    %3D...``, its ``?`` encoded: its token sent till hostile63), as a query's value
    holding such a URL is (:func:`.redaction_query.linked`), and one written with JSON's
    escapes (``https:\\u002f\\u002fh\\u002f\\u003fpassword\\u003d...``), read as the
    JSON string it spells (hostile65: sent, where the same percent-encoded was hidden)."""
    value = redactor.url(value)
    if redactor.has_deny and "?" not in value and "#" not in value:
        if "%" in value:
            value = linked(redactor, value)
        if "\\u" in value:
            value = _escaped_listed(redactor, value)
    return value


def _escaped_listed(redactor: Redactor, value: str) -> str:
    """A URL header's ``value`` with JSON's escapes read by the denylist as the JSON
    string it spells (:meth:`.Redactor.json_text`, which reads a URL's query in a
    string): as that logs it, unescaped, where it hides something; else as it is."""
    written = '"' + value + '"'
    hidden = redactor.json_text(written)
    return value if hidden is None or hidden == written else hidden[1:-1]
