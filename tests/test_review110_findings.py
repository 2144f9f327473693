"""review110: an adversarial read of hostile24's and codings1's redaction.

1. A Python ``bytes`` (or raw) string after a denied member's name in single quotes,
   ``{'password': b'...'}`` (a repr's bytes), in a text body read for its members
   (Markdown, XML, HTML, CSV, a script): the ``b`` was taken for a literal value and
   hidden alone, the string after it sent in clear. Its quote after the prefix now
   starts the string, whose text is hidden.
2. A CSV header field with blanks before its quotes, ``user, "password"``: docs/BODIES.md
   says the header is read with its quotes and surrounding blanks taken off, but the
   quotes were taken off only at the field's first character, so the column was sent in
   clear.
3. A CSV's delimiter was one guess: a tab for tab-separated values (a TSV holding
   commas, ``user,password``, kept its column), a comma unless the first line held a
   ``;`` and no ``,`` (``user;"a,b";password``, a quoted comma in a header, kept it),
   never ``|``; and a header after empty lines was not read. The type's delimiter and
   each other the first line holds are each read; empty lines before the header skipped.
4. A CSV with a quote never closed (benchmarks/hostile_doubling.py: 4 -> 47 ms at 512
   KiB): the quoted field's pattern repeated a group a character at a time, and sre
   keeps a frame for each: 78 MB and 47 to 420 ms at 512 KiB, superlinear. Its runs are
   taken whole now (0.5 MB, 0.3 ms).
5. A gzip (or zlib) upload declared a form (``application/x-www-form-urlencoded``) was
   read as one: its bytes kept in a field's name, which percent-decoded and gunzipped
   gave the password back (codings1 read such data under binary types only). A form
   body that starts compressed is checked as binary data is; one spelling a listed key,
   or under an allowlist, is hidden whole.
6. An HTML attribute's value in no quotes (``<input name=password value=...>``, which
   HTML allows and minifiers write) was sent in clear (docs/BODIES.md listed it as
   sent as written); HTML's attributes are now read with such values too.
"""

from __future__ import annotations

import base64
import csv
import gzip
import io
import json
import tracemalloc
import zlib
from typing import Any, Callable, Optional
from urllib.parse import unquote_to_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.har import redaction_csv
from readme_metrics.har.bodies import content, post_data
from readme_metrics.har.headers import RAW_CONTENT_TYPE
from readme_metrics.har.redaction import Redactor

DENY = Redactor(denylist=["password"])
SECRET = "Zq8h22Xw3K"


def _records(text: str, mime: Optional[str]) -> list[dict[str, Any]]:
    body = text.encode()
    head = {} if mime is None else {"content-type": mime, RAW_CONTENT_TYPE: mime}
    return [post_data(body, len(body), head, DENY, 1 << 20),
            content(body, len(body), head, DENY, 1 << 20)]


#: Where main sent the secret in clear.
LEAKED = {
    "markdown-bytes": ("text/markdown", f"x{{b'password': b'{SECRET}'}}"),
    "markdown-bytes-value": ("text/markdown", f"x{{'password': b'{SECRET}'}}"),
    "xml-bytes": ("application/xml", f"<a>{{'password': b'{SECRET}'}}</a>"),
    "html-raw-string": ("text/html", f"<p>{{'password': r'{SECRET}'}}</p>"),
    "script-bytes-double": ("application/javascript", f"x = {{'password': b\"{SECRET}\"}}"),
    "csv-bytes-cell": ("text/csv", f"id,data\n1,\"{{'password': b'{SECRET}'}}\"\n"),
    "csv-blank-before-quoted-header": ("text/csv", f'user, "password"\nzoe,{SECRET}\n'),
    "html-unquoted": ("text/html", f"<input name=password value={SECRET}>"),
    "html-unquoted-uppercase": ("text/html", f"<INPUT NAME=password VALUE={SECRET}>"),
    "html-unquoted-value-first": ("text/html", f"<input value={SECRET} name=password >"),
    "html-unquoted-spaced": ("text/html", f"<input name = password value = {SECRET}/>"),
    "html-unquoted-denied-attribute": ("text/html", f"<form password={SECRET}></form>"),
    "tsv-holding-commas": ("text/tab-separated-values", f"user,password\nzoe,{SECRET}\n"),
    "tsv-mixed-delimiters": ("text/tab-separated-values",
                             f"id\tuser,password\n1\tzoe,{SECRET}\n"),
    "csv-quoted-comma-in-a-semicolon-header": ("text/csv",
                                               f'user;"a,b";password\nzoe;x;{SECRET}\n'),
    "csv-pipes": ("text/csv", f"user|password\nzoe|{SECRET}\n"),
    "csv-empty-lines-first": ("text/csv", f"\r\n\nuser,password\nzoe,{SECRET}\n"),
    "tsv-blank-before-quoted-header": ("text/tab-separated-values",
                                       f'user\t "password" \nzoe\t{SECRET}\n'),
}


@pytest.mark.parametrize("shape", LEAKED)
def test_the_denied_value_is_hidden(shape: str) -> None:
    mime, text = LEAKED[shape]
    for record in _records(text, mime):
        sent = json.dumps(record)
        assert SECRET not in sent, (shape, record)
        assert "REDACTED" in sent


EXACT = [
    ("text/markdown", "x{'password': b'S3cr', 'n': b'1'}",
     "x{'password': b'[REDACTED 4]', 'n': b'1'}"),
    ("text/csv", 'user, "password"\nzoe,S3cr\n', 'user, "password"\nzoe,[REDACTED 4]\n'),
    ("text/html", "<p class=a><INPUT type=password NAME=password VALUE=S3cr><p>kept",
     "<p class=a><INPUT type=password NAME=password VALUE=[REDACTED 4]><p>kept"),
    ("text/csv", 'id;"a,b";password\n1;"x,y";S3cr\n',
     'id;"a,b";password\n1;"x,y";[REDACTED 4]\n'),
    # (A header no delimiter of its line makes denied: kept.)
    ("text/csv", "id,a;password2|n\n1,x;S3cr|4\n", "id,a;password2|n\n1,x;S3cr|4\n"),
    # (A word before a quote that is no prefix: still a literal, hidden to the quote.)
    ("text/markdown", "x{'password': abc'd'}", "x{'password': [REDACTED]'d'}"),
]


@pytest.mark.parametrize(("mime", "text", "sent"), EXACT)
def test_what_is_sent(mime: str, text: str, sent: str) -> None:
    for record in _records(text, mime):
        assert record["text"] == sent


_TEXT = st.text(alphabet=list("ab '\"&=;,:{}<>\\\n"), max_size=6)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(before=_TEXT, after=_TEXT, value=st.binary(max_size=6), other=st.binary(max_size=4),
       mime=st.sampled_from(["text/markdown", "application/javascript", "text/plain", None]))
def test_a_repr_of_bytes_never_leaks(before: str, after: str, value: bytes, other: bytes,
                                     mime: Optional[str]) -> None:
    document = {b"n": other, "password": value[:3] + SECRET.encode() + value[3:]}
    text = before + str(document) + after
    # (A body that is one JSON string holding it is read as JSON encoded twice: hostile25.)
    for record in _records(text, mime):
        assert SECRET not in json.dumps(record), (text, record)



@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.lists(_TEXT, min_size=3, max_size=3), max_size=3),
       column=st.integers(0, 2), value=_TEXT, empty=st.sampled_from(["", "\n", "\r\n\r\n"]),
       delimiter=st.sampled_from([",", ";", "\t", "|"]),
       mime=st.sampled_from(["text/csv", "text/tab-separated-values"]))
def test_a_csv_column_never_leaks_whatever_its_delimiter(
        rows: list[list[str]], column: int, value: str, empty: str, delimiter: str,
        mime: str) -> None:
    header = ["id", "note", "n"]
    header[column] = "password"
    planted = ["1", "a", "2"]
    planted[column] = value[:3] + SECRET + value[3:]
    lines = [header, *rows, planted]
    stream = io.StringIO()
    csv.writer(stream, delimiter=delimiter).writerows(lines)
    for record in _records(empty + stream.getvalue(), mime):
        assert SECRET not in json.dumps(record), (stream.getvalue(), record)


def test_a_quote_never_closed_reads_in_memory_linear_in_the_text() -> None:
    """hostile_doubling's CSV with a quote never closed: the quoted-field pattern took a
    character a repeat, and sre a frame for each (512 KiB: 78 MB, 47 to 420 ms). Memory,
    not time: the peak while reading stays within a few copies of the text."""
    text = 'id,password\r\n1,"' + "a," * (256 << 10)
    tracemalloc.start()
    try:
        sent = redaction_csv.csv_redacted(text, DENY.denies,
                                          redaction_csv.delimiters_of("text/csv", text))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sent == f"id,password\r\n1,[REDACTED {len(text) - 15}]"
    assert peak < 4 * len(text), peak


FORM = "application/x-www-form-urlencoded"


def _form_record(body: bytes, redactor: Redactor) -> dict[str, Any]:
    return post_data(body, len(body), {"content-type": FORM, RAW_CONTENT_TYPE: FORM},
                     redactor, 1 << 20)


@pytest.mark.parametrize("coder", [gzip.compress, zlib.compress])
def test_a_gzip_upload_declared_a_form_is_not_kept_in_a_fields_name(
        coder: Callable[[bytes], bytes]) -> None:
    """Its bytes were kept byte for byte in a field's name: percent-decoded and gunzipped
    they gave the password back."""
    body = coder(json.dumps({"password": SECRET, "user": "zoe"}).encode())
    for redactor in (DENY, Redactor(allowlist=["user"])):
        record = _form_record(body, redactor)
        names = [unquote_to_bytes(param["name"].encode("latin-1"))
                 for param in record.get("params", ())]
        assert body not in names, record
        assert record["text"] == "[REDACTED]"


def test_guard_a_compressed_form_naming_nothing_listed_is_kept() -> None:
    """Its bytes as sent: a field's name until hostile26, now base64 of them (binary
    data, as under any other type: the caller's key it held compressed went out)."""
    body = gzip.compress(b'{"user": "zoe"}')
    record = _form_record(body, DENY)
    assert record["comment"] == "base64"
    assert base64.b64decode(record["text"]) == body
