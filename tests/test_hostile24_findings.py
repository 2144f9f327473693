"""hostile24: a denied key's value in text the lists did not read.

1. Python's ``str(dict)`` (names and strings in single quotes) in a text/plain body, a
   form or a multipart field: text before it (``x{'password': '...'}``) went out in
   clear, and so did the pieces a raw ``&`` or ``=`` in its value cut
   (``x{'password': 'a&b=c'}`` sent ``b=c``). A member named in single quotes by a
   denied key is now hidden as a double-quoted one is (hostile22/23, forms23); prose
   with apostrophes is kept.
2. XML, HTML, CSV and other text bodies: a JSON member of a denied key inside them
   (``<data>{"password": ...}</data>``, a script's object), a CSV column headed by a
   denied key, an HTML form's ``<input name="password" value=...>`` went out in clear.
   The member's value, the column's fields and the input's value are now hidden.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Optional
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.har.bodies import content, post_data
from readme_metrics.har.headers import RAW_CONTENT_TYPE
from readme_metrics.har.redaction import Redactor
from tests.support.fake_api import Collector
from tests.support.flask_echo import logged_echo

DENY = Redactor(denylist=["password"])
SECRET = "Zq8h22Xw3K"
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data; boundary=XyZ"


def _head(mime: Optional[str]) -> dict[str, str]:
    return {} if mime is None else {"content-type": mime, RAW_CONTENT_TYPE: mime}


def _part(value: str) -> bytes:
    return (f'--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\n{value}\r\n'
            "--XyZ--\r\n").encode()


def _records(body: bytes, mime: Optional[str], redactor: Redactor = DENY
             ) -> list[dict[str, Any]]:
    """The request's postData and the response's content of ``body``."""
    return [post_data(body, len(body), _head(mime), redactor, 1 << 20),
            content(body, len(body), _head(mime), redactor, 1 << 20)]


#: Python's str(dict) where main kept its denied value (or a piece of it) in clear.
REPR_LEAKED = {
    "text-before": ("text/plain", f"x{{'password': '{SECRET}'}}"),
    "prose-then-member": ("text/plain", f"note: 'password': '{SECRET}'"),
    "cut-by-and": ("text/plain", f"x{{'password': 'a&b={SECRET}'}}"),
    "second-member": ("text/plain", f"x{{'user': 'zoe', 'password': '{SECRET}'}}"),
    "no-type": (None, f"x{{'password': '{SECRET}'}}"),
    "form-name": (FORM, f"x{{'password': '{SECRET}'}}"),
    "form-name-after-a-pair": (FORM, f"a=1&x{{'password': '{SECRET}'}}"),
    "form-value-cut": (FORM, f"a={{'password': 'a&b={SECRET}'}}"),
    "form-double-quoted-value": (FORM, f"x{{'password': \"it's&{SECRET}\"}}"),
    "form-percent-encoded": (FORM, "a=1&" + quote(f"x{{'password': '{SECRET}'}}")),
    "multipart-text-before": (MULTIPART, f"x{{'password': '{SECRET}'}}"),
    "multipart-prose": (MULTIPART, f"note 'password': '{SECRET}'"),
    # (Found by test_a_repr_never_leaks: a field starting with a quote before a JSON
    # document, double-quoted too, was read as a JSON string only.)
    "multipart-quote-first": (MULTIPART, f'"{{"password": "{SECRET}"}}'),
    "multipart-quote-first-repr": (MULTIPART, f"\"{{'password': '{SECRET}'}}"),
    # (And a text/plain line's value cut at an "=" in a string: '", "password": ...}'.)
    "plain-value-quote-first": ("text/plain", f'x{{"a": "=", "password": "{SECRET}"}}'),
    "plain-value-quote-first-repr": ("text/plain", f"x{{'a': '=', 'password': '{SECRET}'}}"),
}

#: Text (XML, HTML, CSV, other types) where main kept a denied key's value in clear.
TEXT_LEAKED = {
    "xml-json-member": ("application/xml", f'<a>{{"password": "{SECRET}"}}</a>'),
    "xml-repr-member": ("text/xml", f"<a>{{'password': '{SECRET}'}}</a>"),
    "soap-json-member": ("application/soap+xml", f'<b>{{"password":"{SECRET}"}}</b>'),
    "html-input": ("text/html", f'<input name="password" value="{SECRET}">'),
    "html-textarea": ("text/html", f'<textarea name="password">{SECRET}</textarea>'),
    "html-script": ("text/html", f'<script>var c = {{"password": "{SECRET}"}}</script>'),
    "html-escaped": ("text/html",
                     f'<script>JSON.parse("{{\\"password\\": \\"{SECRET}\\"}}")</script>'),
    "csv-column": ("text/csv", f"user,password\nzoe,{SECRET}\n"),
    "csv-quoted-column": ("text/csv", f'user,"Password"\r\nzoe,"{SECRET}, x"\r\n'),
    "csv-semicolons": ("text/csv", f"user;password\nzoe;{SECRET}\n"),
    "tsv-column": ("text/tab-separated-values", f"user\tpassword\nzoe\t{SECRET}\n"),
    "csv-json-cell": ("text/csv", f'id,data\n1,"{{""password"": ""{SECRET}""}}"\n'),
    "markdown": ("text/markdown", f'see {{"password": "{SECRET}"}}'),
    "javascript": ("application/javascript", f'var c = {{"password": "{SECRET}"}}'),
    "number": ("application/xml", '<a>{"password": 73914528}</a>'),
}


def _body(mime: Optional[str], text: str) -> bytes:
    return _part(text) if mime == MULTIPART else text.encode()


@pytest.mark.parametrize("shape", [*REPR_LEAKED, *TEXT_LEAKED])
def test_a_denied_value_is_hidden(shape: str) -> None:
    mime, text = REPR_LEAKED.get(shape) or TEXT_LEAKED[shape]
    planted = "73914528" if shape == "number" else SECRET
    for record in _records(_body(mime, text), mime):
        assert planted not in json.dumps(record), (shape, record)
        assert "REDACTED" in json.dumps(record)


#: What each text type now sends, exactly: the value only, the rest as sent.
EXACT = [
    ("application/xml", '<a>{"password": "S3cr", "user": "zoe"}</a>',
     '<a>{"password": "[REDACTED 4]", "user": "zoe"}</a>'),
    ("text/html", '<form><input type="text" name="password" value="S3cr"><p>hi</p>',
     '<form><input type="text" name="password" value="[REDACTED 4]"><p>hi</p>'),
    # An input naming a denied key with no value is whole: the page after it is kept.
    ("text/html", '<input name="password"><p>kept</p>', '<input name="password"><p>kept</p>'),
    ("text/csv", 'id,password,n\r\n1,"a,""b""",2\r\n3,c,4',
     "id,password,n\r\n1,[REDACTED 9],2\r\n3,[REDACTED 1],4"),
    ("text/csv", "id,pass\n1,2\n", "id,pass\n1,2\n"),
    ("text/plain", "x{'password': 'a&b=c'}", "%5BREDACTED%2021%5D}"),
    ("text/xml", "<a>{'password': \"it's\", 'n': 1}</a>",
     "<a>{'password': \"[REDACTED 4]\", 'n': 1}</a>"),
]


@pytest.mark.parametrize(("mime", "text", "sent"), EXACT)
def test_what_is_sent(mime: str, text: str, sent: str) -> None:
    for record in _records(text.encode(), mime):
        assert record["text"] == sent


#: Prose with apostrophes and no member a denied key names in single quotes: kept.
KEPT = [
    ("text/plain", "it's the user's password: don't tell"),
    ("text/plain", "I said 'no': the password stays"),
    ("text/plain", "Bob's 'password' field, Zoe's too"),
    (FORM, "note=it's+the+user's+password"),
    (MULTIPART, "it's 'fine': my password is long"),
    ("text/html", "<p>Don't reuse your password: it's weak</p>"),
    ("text/csv", "user,passwords\nzoe,3\n"),
    ("application/xml", "<a note=\"it's\">the password</a>"),
]


@pytest.mark.parametrize(("mime", "text"), KEPT)
def test_prose_with_apostrophes_is_kept(mime: str, text: str) -> None:
    body = _body(mime, text)
    record = post_data(body, len(body), _head(mime), DENY, 1 << 20)
    assert "REDACTED" not in json.dumps(record), record


def test_the_allowlist_still_hides_such_text_whole() -> None:
    allow = Redactor(allowlist=["user"])
    for mime, text in [("text/csv", "user,password\nzoe,S\n"), ("text/html", "<p>x</p>")]:
        for record in _records(text.encode(), mime, allow):
            assert record["text"] == f"[REDACTED {len(text)}]"


# Random content around a planted secret, each type written as its writer writes it.
_TEXT = st.text(alphabet=list("ab '\"&=;,:{}<>\\\n"), max_size=6)
_DICTS = st.dictionaries(st.sampled_from(["user", "n", "password"]), _TEXT, max_size=3)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(before=_TEXT, after=_TEXT, other=_DICTS, value=_TEXT,
       where=st.sampled_from(["text/plain", None, FORM, "form-value", MULTIPART,
                              "text/xml", "text/html", "text/markdown"]))
def test_a_repr_never_leaks(before: str, after: str, other: dict[str, str], value: str,
                            where: Optional[str]) -> None:
    document = {**other, "password": value[:3] + SECRET + value[3:]}
    text = str(document)
    if where == "form-value":
        where, text = FORM, "a=" + quote(before + text + after)
    elif where in ("text/xml", "text/html"):
        text = f"<p>{escape(before)}{escape(text)}{escape(after)}</p>"
    else:
        text = before + text + after
    # (A body that is one JSON string, '"{'password': ...}"', is read as JSON encoded
    # twice: its text before a document read as a text body's, hostile25.)
    for record in _records(_body(where, text), where):
        assert SECRET not in json.dumps(record), (text, record)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.lists(_TEXT, min_size=3, max_size=3), max_size=3),
       column=st.integers(0, 2), header=st.sampled_from(["password", "Password", "PASSWORD"]),
       value=_TEXT, delimiter=st.sampled_from([",", "\t"]),
       ending=st.sampled_from(["\r\n", "\n"]))
def test_a_csv_column_never_leaks(rows: list[list[str]], column: int, header: str,
                                  value: str, delimiter: str, ending: str) -> None:
    names = ["id", "note", "x"]
    names[column] = header
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=ending)
    writer.writerow(names)
    for row in [*rows, ["1", "2", "3"]]:
        row[column] = value[:2] + SECRET + value[2:]
        writer.writerow(row)
    mime = "text/csv" if delimiter == "," else "text/tab-separated-values"
    for record in _records(out.getvalue().encode(), mime):
        assert SECRET not in json.dumps(record), (out.getvalue(), record)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(before=_TEXT, after=_TEXT, value=_TEXT,
       shape=st.sampled_from(["element", "attribute", "input", "json", "escaped-json"]),
       mime=st.sampled_from(["application/xml", "text/xml", "application/soap+xml",
                             "text/html"]))
def test_markup_never_leaks(before: str, after: str, value: str, shape: str,
                            mime: str) -> None:
    secret = value[:2] + SECRET + value[2:]
    planted = {
        "element": f"<password>{escape(secret)}</password>",
        "attribute": f"<login password={quoteattr(secret)}/>",
        "input": f'<input name="password" value={quoteattr(secret)}>',
        "json": escape(json.dumps({"password": secret})),
        "escaped-json": escape(json.dumps(json.dumps({"password": secret}))),
    }[shape]
    text = f"<r>{escape(before)}{planted}{escape(after)}</r>"
    for record in _records(text.encode(), mime):
        assert SECRET not in json.dumps(record), (text, record)


@pytest.mark.parametrize(("mime", "sent"), [
    pytest.param("text/plain", f"x{{'password': 'a&b={SECRET}'}}", id="repr"),
    pytest.param("text/csv", f"user,password\r\nzoe,{SECRET}\r\n", id="csv"),
    pytest.param("text/html", f'<input name="password" value="{SECRET}">', id="html"),
])
def test_a_flask_app_sends_the_value_hidden(collector: Collector, mime: str,
                                            sent: str) -> None:
    log = logged_echo(collector, sent, mime)
    entry = log["request"]["log"]["entries"][0]
    assert SECRET not in json.dumps(log)
    assert "REDACTED" in entry["request"]["postData"]["text"]
    assert "REDACTED" in entry["response"]["content"]["text"]
