"""review68's findings: cpu23's multipart reader and house5's split of CallerKey and
Redactor, reviewed.

1. cpu23 (``multipart._usual_fields``): the usual reader against webob's FieldStorage
   alone on wider shapes than cpu23's own property: boundaries with regex and odd
   characters, a boundary inside a part's data without its CR LF, CR LF-only data,
   empty and odd names, two Content-Dispositions, header case and ``Form-Data``,
   blanks around ``;`` and ``=``, ``filename=""``, transfer padding after a boundary,
   bodies without their closing boundary, per-part charsets. No difference found
   (5,000 examples when reviewed; fewer here).
2. house5 found a url with a lone surrogate that raised UnicodeEncodeError in
   ``key_authority.valid_authority``. It is reached from a real request: a WSGI app's
   Location (or Link, Content-Location) holding a lone surrogate, as one built from a
   path read with surrogateescape does, and the caller's key in its authority. The log
   was dropped (``dropped_build_error``), the exchange never recorded; the key was not
   sent. Now the authority is percent-encoded with the surrogate as its byte. A
   differential of CallerKey and Redactor before house5 (ef61827) and after (23b25e7),
   147,500 calls on hostile inputs, found no difference, and the same failure at four
   more places in CallerKey: a query's name or value re-quoted once masked (the key
   JSON-escaped, a JSON number of its value, a short key in JSON), beside a lone
   surrogate.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.har import build_log
from readme_metrics.har.credentials import CallerKey
from readme_metrics.har.redaction import Redactor
from readme_metrics.masking import mask
from tests.support.capture_wrap import only_log
from tests.support.exchanges import make_exchange
from tests.support.fake_api import Collector
from tests.support.wsgi import run_wsgi, wsgi_environ
from tests.test_cpu23_findings import _both

KEY = "rdme_key_1234"

# --- 2. a lone surrogate in a url's authority holding the key ---------------------------

_SURROGATE_URLS = [
    pytest.param(f"http://\udc80:{KEY}/p", id="surrogateescape-byte-before-the-key"),
    pytest.param(f"http://h\udcffx:{KEY}/p?a=1", id="in-the-host"),
    pytest.param(f"http://[\udc80{KEY}/p", id="half-an-ip-literal"),
    pytest.param(f"http://\ud800:{KEY}/p", id="a-surrogate-no-byte-stands-for"),
    pytest.param(f"https://{KEY}{KEY}\\h[\ud800]", id="found-by-fuzzing"),
]


@pytest.mark.parametrize("url", _SURROGATE_URLS)
def test_a_url_with_a_lone_surrogate_is_masked(url: str) -> None:
    """The key in an authority left invalid once masked, beside a lone surrogate: the
    authority is percent-encoded whole (the surrogate as its byte, or its own three
    bytes); it raised UnicodeEncodeError."""
    masked = CallerKey(KEY).url(url)
    assert KEY not in masked
    assert "%3F1234" in masked  # the mask's "?1234", percent-encoded


# The same in a query: a pair whose name or value spells the key in JSON escapes
# (rdme\/key, caf\u00e9), as a JSON number of its value written otherwise (1e3 for 1000),
# or whole (a short key), beside a lone surrogate: re-quoted once masked, it raised.
_SURROGATE_QUERIES = [
    pytest.param("rdme/key_1234", "http://h/p?q=rdme%5C/key_1234\udc80", id="json-escaped-slash"),
    pytest.param("caf\xe9-key-long", "http://h/p?q=caf%5Cu00e9-key-long\ud800",
                 id="json-escaped-letter"),
    pytest.param("caf\xe9-key-long", "http://h/p?caf%5Cu00e9-key-long\udc80=1",
                 id="json-escaped-name"),
    pytest.param("1000", "http://h/p?f=[1e3,\udc80]", id="a-number-written-otherwise"),
    pytest.param("k42", "http://h/p?f={%22a%22:%22k42%22}\udc80", id="short-key-in-json"),
    pytest.param("k42", "http://h/p?{%22k42%22:1}\udc80=1", id="short-key-in-a-json-name"),
]


@pytest.mark.parametrize(("key", "url"), _SURROGATE_QUERIES)
def test_a_query_with_a_lone_surrogate_is_masked(key: str, url: str) -> None:
    """The key masked in a query beside a lone surrogate (the surrogate as its byte once
    re-quoted); url and form raised UnicodeEncodeError."""
    caller = CallerKey(key)
    for masked in (caller.url(url), caller.form(url.partition("?")[2])):
        assert "sha512-" in masked and "%80" in masked  # the surrogate as its byte(s)
        assert key not in re.sub("sha512-.*?%3F.{4}", "", masked)  # (its last four)
        assert "%5C/key" not in masked and "%5Cu00e9-key" not in masked and "1e3" not in masked


@pytest.mark.parametrize("header", ["Location", "Content-Location", "Link"])
def test_a_response_url_header_with_a_lone_surrogate_is_logged(header: str) -> None:
    """build_log of a response whose URL header holds the key and a lone surrogate: the
    log is built, the key masked (it raised, and the worker dropped the log)."""
    url = f"http://\udc80:{KEY}/p"
    value = f"<{url}>; rel=next" if header == "Link" else url
    exchange = make_exchange(response_headers=[("Content-Type", "application/json"),
                                               (header, value)])
    for redactor in (None, Redactor(denylist=["token"]), Redactor(allowlist=["id"])):
        text = json.dumps(build_log(exchange, redactor=redactor))
        assert KEY not in text


def test_a_wsgi_app_location_with_a_lone_surrogate_is_recorded(collector: Collector) -> None:
    """End to end: a WSGI app redirecting to a url with a lone surrogate and the caller's
    key in its authority. The log reaches the collector, the key masked; it was dropped
    as a build error."""
    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("302 Found", [("Location", f"http://\udc80:{KEY}/p"),
                                     ("Content-Type", "text/plain")])
        return [b"x"]

    middleware = MetricsMiddleware(app, MetricsApiConfig(
        api_key="rdme_review68_project_key", metrics_api=collector.url, buffer_length=1,
        grouping_function=lambda request: {"api_key": KEY}))
    run_wsgi(middleware, wsgi_environ())
    assert middleware.flush(5.0) is True
    assert middleware.stats["dropped_build_error"] == 0
    log = only_log(collector)
    assert KEY not in json.dumps(log)
    headers = log["request"]["log"]["entries"][0]["response"]["headers"]
    location = next(header["value"] for header in headers if header["name"] == "Location")
    assert location.startswith("http://%80%3Asha512-") and location.endswith("/p")
    assert mask(KEY).endswith("?1234")


# --- 1. cpu23's usual reader against FieldStorage, wider shapes ---------------------------

_BOUNDARIES = ["B", "XyZ", "a.b*c+d?", "(x)[y]{z}", "^$|\\", "--", "-", "a-", "a b",
               "=;,/:", "'q'", "----WebKitFormBoundary7MA4YWxkTrZu0gW", "x" * 70, "0",
               "\xe9", "a\tb", "?", "B "]
_NAMES = st.sampled_from([
    "a", "", "password", "token", "id", "value", "name", " a", "a ", "x=y", "\xe9", "\x85",
    "a\x0cb", "files[]", "env[0][name]", "env[0][value]", "to\\ken", "a;b", "a*"]) | \
    st.text(max_size=5)
_VALUES = st.sampled_from([
    b"", b"\r\n", b"\r\n\r\n", b"\r", b"\n", b"hunter2", b"x--B", b"\r--B", b"--B",
    b"\r\n--B", b"\n--B", b"--Bx", b"\r\n--Bx", b"\r\n--B--", b'{"password": "x"}',
    b"caf\xe9", b"\xff\xfe{\x00}\x00", b"a" * 1200, b"password=1&token=2", b"\x00\x00\x00{",
    b"+2AA-", b"\xe9t\xe9"]) | st.binary(max_size=10)
_DISPOSITIONS = st.sampled_from([
    "Content-Disposition: ", "content-disposition: ", "CONTENT-DISPOSITION: ",
    "Content-Disposition:", "Content-Disposition:  ", "Content-Disposition :",
    "Content-disposition:\t"])
_FORMS = st.sampled_from(["form-data", "Form-Data", "FORM-DATA", "form-data ", "attachment"])
_TYPES = st.sampled_from([
    None, "text/plain", "text/plain; charset=utf-8", "text/plain; charset=latin-1",
    "text/plain;charset=UTF-16", "text/plain; Charset=utf-16le", 'text/plain; charset="utf-8"',
    "text/plain; charset=bogus", "text/plain; charset=utf-7", "text/plain; charset=cp500",
    "text/plain; charset=utf-32", "text/plain; charset=", "application/json",
    "application/json; charset=utf-16", "image/png", "", "application/x-www-form-urlencoded",
    "Application/X-Www-Form-Urlencoded", "multipart/mixed; boundary=i",
    "MULTIPART/mixed; boundary=i", "text/plain; charset=shift_jis", "text/plain; charset=koi8-r"])
_OTHER_HEADERS = st.sampled_from([
    "Content-Transfer-Encoding: base64", "Content-Transfer-Encoding: quoted-printable",
    "Content-Length: 1", "X-A: b", " folded", 'Content-Disposition: form-data; name="dup"',
    'Content-Disposition: form-data; name="password"',
    "Content-Type: text/plain; charset=utf-16"])


_USUAL_NAMES = _NAMES.filter(lambda name: not any(c in name for c in '"\\;*\r\n'))
_USUAL_VALUES = _VALUES.filter(lambda value: b"\n--" not in value)


@st.composite
def _part(draw: Any, boundary: str, odd: bool) -> bytes:
    """A part as clients write it (any header-name case, a Content-Type with any
    parameters, names and data the usual reader takes); or, ``odd``, one with the
    shapes it leaves to FieldStorage (blanks around ``;`` and ``=``, ``Form-Data``, no
    blank after the colon, two Content-Dispositions, other headers, reversed order, a
    boundary in its data)."""
    name = draw(_NAMES if odd else _USUAL_NAMES)
    colon = draw(st.sampled_from(["Content-Disposition: ", "content-disposition: ",
                                  "CONTENT-DISPOSITION: ", "Content-disposition: "]))
    if odd and draw(st.booleans()):
        disposition = (draw(_DISPOSITIONS) + draw(_FORMS) +
                       draw(st.sampled_from(["; ", ";", " ; ", ";\t"])) + "name" +
                       draw(st.sampled_from(["=", " =", "= "])) + f'"{name}"')
    else:
        disposition = f'{colon}form-data; name="{name}"'
    filename = draw(st.none() | st.sampled_from(["", "a.txt", "a.json", "r\xe9sum\xe9.pdf"]))
    if filename is not None:
        disposition += draw(st.sampled_from(["; ", ";"] if odd else ["; "])) + \
            f'filename="{filename}"'
    if odd and draw(st.integers(0, 3)) == 0:
        disposition += draw(st.sampled_from([" ", "\t", ";", "; x=1"]))
    lines = [disposition]
    part_type = draw(_TYPES)
    if part_type is not None:
        lines.append(draw(st.sampled_from(["Content-Type: ", "content-type:",
                                           "Content-Type:\t", "CONTENT-TYPE:  "])) + part_type)
    if odd and draw(st.integers(0, 2)) == 0:
        lines.insert(draw(st.integers(0, len(lines))), draw(_OTHER_HEADERS))
    if odd and draw(st.integers(0, 3)) == 0:
        lines.reverse()
    head = ("\r\n".join(lines) + "\r\n\r\n").encode(
        draw(st.sampled_from(["utf-8", "latin-1"])), "replace")
    value = draw(_VALUES if odd else _USUAL_VALUES)
    return head + value.replace(b"--B", b"--" + boundary.encode("latin-1"))


@st.composite
def _bodies(draw: Any) -> tuple[bytes, str]:
    """A body as clients frame it (two in three), or one with one odd part or odd
    framing: padding after a boundary, no closing boundary, an epilogue, a bare LF, a
    leading CR LF, another spelling of its Content-Type."""
    odd = draw(st.integers(0, 2)) == 0
    boundary = draw(st.sampled_from(_BOUNDARIES))
    quoted = draw(st.booleans()) or any(c in boundary for c in ' ;=,/:\t"\\')
    content_type = "multipart/form-data; boundary=" + (
        f'"{boundary}"' if quoted else boundary)
    dash = b"--" + boundary.encode("latin-1")
    count = draw(st.integers(1, 6))
    odd_part = draw(st.integers(0, count)) if odd else -1  # (count: the framing)
    body = b""
    for index in range(count):
        padding = draw(st.sampled_from([b" ", b"\t", b"  "])) if \
            index == odd_part and draw(st.booleans()) else b""
        body += dash + padding + b"\r\n" + draw(_part(boundary, index == odd_part)) + b"\r\n"
    body += dash + draw(st.sampled_from([b"--", b"--\r\n"]))
    if odd_part == count:
        body = draw(st.sampled_from([
            lambda b: b"\r\n" + b, lambda b: b[:-1], lambda b: b + b"\r\n",
            lambda b: b.replace(b"\r\n", b"\n", 1), lambda b: b + b"epilogue",
            lambda b: b[:b.rindex(dash)], lambda b: b + b"  ",
            lambda b: b.replace(dash + b"--", dash + b"-- ")]))(body)
    if draw(st.integers(0, 4)) == 0:
        content_type = draw(st.sampled_from([
            "Multipart/Form-Data; boundary=", "multipart/form-data; Boundary=",
            "multipart/form-data;boundary=", "multipart/form-data; boundary = ",
            "multipart/form-data; charset=latin-1; boundary=", "multipart/mixed; boundary="
        ])) + (f'"{boundary}"' if quoted else boundary)
    return body, content_type


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(_bodies())
def test_wider_shapes_read_as_fieldstorage_reads_them(case: tuple[bytes, str]) -> None:
    """The usual reader (or its fallback) against FieldStorage alone: the same parts,
    names, bytes, header values and charsets, and the same params under cpu23's four
    redactors (denylist, allowlist, both)."""
    body, content_type = case
    ours, reference = _both(body, content_type)
    assert ours == reference, (body, content_type)
