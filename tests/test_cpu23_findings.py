"""cpu23's findings: what a multipart body of tiny parts costs the log worker.

A form of tiny parts (``name="a"``, ``1``: 19,000 parts a MiB) cost the worker 0.7 to
0.9 s a MiB to build on main 18ad0b3, about 35 us a part in webob's FieldStorage (email's
FeedParser for each part's header, a Message asked 8 times, a file object per part).
Now a body framed as browsers, curl, requests and Go frame it is split at its boundary
and each part's one Content-Disposition (and Content-Type) read by a pattern
(``_usual_fields``); any other body is read by FieldStorage as before. The same parts and
logs: FieldStorage's reading (main's code, unchanged) is the reference below, on
generated bodies, usual and not.
"""

from __future__ import annotations

from typing import Any, Optional

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from readme_metrics.exchange import Group
from readme_metrics.har import build_log, multipart
from readme_metrics.har.redaction import Redactor
from tests.support.exchanges import post
from tests.test_hostile11_findings import _calls
from tests.test_review37_findings import BOUNDARIES, _bodies

_REDACTORS = [None, Redactor(denylist=["password", "token"]), Redactor(allowlist=["id"]),
              Redactor(denylist=["value"], allowlist=["a"])]


def _parts_view(fields: list[tuple[Any, str, Any]]) -> list[tuple[Any, ...]]:
    """What this module reads of each part: its name, file name, bytes, headers, charset,
    and the name and field it gave."""
    view = []
    for part, name, field in fields:
        headers = part.headers
        value = part.value if isinstance(part.value, bytes) else repr(part.value)
        view.append((part.name, part.filename, value, name,
                     field if isinstance(field, str) else "(the part)",
                     [headers.get(key) for key in (
                         "content-disposition", "content-type", "content-transfer-encoding")],
                     part.type_options))
    return view


def _both(body: bytes, content_type: str) -> tuple[Any, Any]:
    """(the usual reader's, FieldStorage's) parts and params of a body: each an error
    type when it raised."""
    def read() -> Any:
        try:
            return _parts_view(multipart._fields(body, content_type))
        except Exception as error:  # noqa: BLE001 - the same failure is the same answer
            return type(error).__name__

    def params() -> list[Any]:
        return [multipart.multipart_params(body, content_type, redactor)
                for redactor in _REDACTORS]

    ours = read(), params()
    usual = multipart._usual_fields
    multipart._usual_fields = lambda body, content_type: None  # type: ignore[assignment]
    try:
        reference = read(), params()
    finally:
        multipart._usual_fields = usual  # type: ignore[assignment]
    return ours, reference


# Names, file names and values as clients send them, and (``odd``) what the usual
# reader must leave to FieldStorage: a quote, a backslash, ";", "*", a line break, a line
# starting with the boundary (b"--b"), another header. Bytes beyond ASCII, NUL and 0x85
# (U+0085 as latin-1 reads it, a line break to str.splitlines) are usual.
_USUAL_NAMES = st.sampled_from([
    "a", "password", "files[]", "env[0][value]", "env[0][name]", "value", "name", "",
    " a ", "pass word", "x=y", "é", "名前", "a\x00", "\x85", "Å", "\ufeffid", "id", "token",
    "NAME", "a\tb"]) | st.text(st.characters(blacklist_characters='"\\;*\r\n'), max_size=6)
_ODD_NAMES = st.sampled_from(["a;b", "a*", "a*0", 'a"b', "a\\b", "a\rb"]) | st.text(max_size=6)
_USUAL_VALUES = st.sampled_from([
    b"", b"1", b"hunter2", b"password", b'{"password": "x"}', b"[1]", b"--", b"\r", b"\n",
    b"a\r\nb", b"\r\n", b"\xff\xfe{\x00}\x00", b"\xef\xbb\xbf[1]", b"caf\xe9",
    b"next=/cb?password=1", b"x" * 1500, b"\x00\x00\x00{", b"\r\n-", b"-\r\n"]) | \
    st.binary(max_size=12).filter(lambda value: b"\n--" not in value)
_ODD_VALUES = st.sampled_from([b"--b", b"\r\n--b", b"\n--b", b"\r\n--bx", b"--b--",
                               b"\n--b--", b"x\n--b \r\n"])
_USUAL_TYPES = st.sampled_from([
    None, "text/plain", "text/plain; charset=utf-8", "application/json", "image/png",
    "text/plain; charset=latin-1", "text/plain; charset=utf-16", 'text/plain; charset="utf-8"',
    "Multipart/Mixed; boundary=i", "text/plain;;;;", "  text/plain  ",
    "application/octet-stream; name=x", "\ttext/plain", "é/x", "text/plain; charset=utf-7",
    "", "application/X-WWW-form-urlencoded"])
_ODD_TYPES = st.sampled_from(["application/x-www-form-urlencoded",
                              "multipart/mixed; boundary=i", "multipart/form-data"])


@st.composite
def _usual_part(draw: Any, boundary: str, odd: bool) -> bytes:
    name = draw(_ODD_NAMES if odd and draw(st.booleans()) else _USUAL_NAMES)
    disposition = f'form-data; name="{name}"'
    filename = draw(st.none() | st.sampled_from(["a.txt", "", "r\xe9sum\xe9.pdf"]) | (
        st.sampled_from(["a;b", "C:\\x.png", 'a"b', "a*"]) if odd else st.nothing()))
    if filename is not None:
        disposition += f'; filename="{filename}"'
    head = draw(st.sampled_from(["Content-Disposition", "content-disposition",
                                 "CONTENT-DISPOSITION"] + (["Content-Disposition "] * odd)))
    lines = [f"{head}: {disposition}"]
    part_type = draw(_ODD_TYPES if odd and draw(st.booleans()) else _USUAL_TYPES)
    if part_type is not None:
        lines.append(f"{draw(st.sampled_from(['Content-Type', 'content-type']))}: "
                     f"{part_type}")
    if odd and draw(st.booleans()):  # what the usual reader does not read
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from([
            "Content-Transfer-Encoding: base64", "Content-Length: 1", "X-Other: y",
            " folded", f"{head}: form-data; name=\"other\"", "Content-Type: text/plain"])))
    text = "\r\n".join(lines) + "\r\n\r\n"
    value = draw(_ODD_VALUES if odd and draw(st.booleans()) else _USUAL_VALUES)
    return text.encode(draw(st.sampled_from(["utf-8", "latin-1"])), "replace") + \
        value.replace(b"--b", f"--{boundary}".encode())


@st.composite
def _usual_bodies(draw: Any) -> tuple[bytes, str]:
    """A body as clients frame it, with awkward names and bytes in its parts; or (one in
    three) one with something the usual reader leaves to FieldStorage."""
    odd = draw(st.integers(0, 2)) == 0
    boundary = draw(st.sampled_from(BOUNDARIES + ["XyZ"]))
    quoted = " " in boundary or draw(st.booleans())
    content_type = "multipart/form-data; boundary=" + (
        f'"{boundary}"' if quoted else boundary)
    dash = f"--{boundary}".encode()
    parts = draw(st.lists(_usual_part(boundary, odd), min_size=1, max_size=5))
    body = b"".join(dash + b"\r\n" + part + b"\r\n" for part in parts) + dash + \
        draw(st.sampled_from([b"--\r\n", b"--"] + [
            b"--\r\nepilogue", b"-- \r\n", b"\r\n", b"", b"--\n"] * odd))
    if odd and draw(st.booleans()):
        body = draw(st.sampled_from([
            lambda b: b"preamble\r\n" + b, lambda b: b.replace(b"\r\n", b"\n"),
            lambda b: b.replace(dash + b"\r\n", dash + b" \r\n", 1),
            lambda b: b + b"\r\n" + dash + b"--\r\n", lambda b: b[:-3]]))(body)
    if odd and draw(st.booleans()):
        content_type = draw(st.sampled_from([
            "multipart/mixed; boundary=" + boundary, "Multipart/form-data; boundary=XyZ",
            "multipart/form-data", "multipart/form-data; boundary=" + boundary + "\n",
            "multipart/form-data; boundary=" + boundary + "é",
            "multipart/form-data; charset=utf-8; boundary=" + boundary]))
    return body, content_type


_TINY = (b'--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n', b"--XyZ--\r\n")
_FILE = b'--XyZ\r\nContent-Disposition: form-data; name="f"; filename="a.json"\r\n' \
    b'Content-Type: application/json\r\n\r\n{"password": "x", "id": 1}\r\n'


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(_usual_bodies())
@example((_TINY[0] * 3 + _TINY[1], "multipart/form-data; boundary=XyZ"))
@example((_FILE + _TINY[1], "multipart/form-data; boundary=XyZ"))
def test_the_usual_reader_reads_what_fieldstorage_reads(case: tuple[bytes, str]) -> None:
    """The usual reader against FieldStorage (main's reading, unchanged) on bodies framed
    as clients frame them, with awkward names, file names, values, part types and
    boundaries, and some framed otherwise: the same parts (names, file names, bytes,
    header values, charset), the same params under four redactors."""
    body, content_type = case
    ours, reference = _both(body, content_type)
    assert ours == reference, (body, content_type)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(_bodies())
def test_odd_bodies_read_as_fieldstorage_reads_them(case: tuple[bytes, str]) -> None:
    """review37's bodies (LF for CR LF, preambles and epilogues, missing or odd final
    boundaries, nested multipart/mixed, RFC 2231 names, part Content-Lengths, raw bytes):
    the same parts and params as FieldStorage alone gives."""
    body, content_type = case
    ours, reference = _both(body, content_type)
    assert ours == reference, (body, content_type)


@pytest.mark.parametrize(("body", "usual"), [
    pytest.param(_TINY[0] * 2 + _TINY[1], True, id="browser-fields"),
    pytest.param(_FILE + _TINY[1], True, id="a-file-with-its-type"),
    pytest.param(_TINY[0] + b"--XyZ--", True, id="no-last-line-break"),
    pytest.param(b"preamble\r\n" + _TINY[0] + _TINY[1], False, id="preamble"),
    pytest.param((_TINY[0] + _TINY[1]).replace(b"\r\n", b"\n"), False, id="bare-lf"),
    pytest.param(_TINY[0].replace(b"1\r\n", b"1\n--XyZ\r\n") + _TINY[1], False,
                 id="a-boundary-after-a-bare-lf"),
    pytest.param(_TINY[0].replace(b"1", b"1\r\n--XyZx") + _TINY[1], False,
                 id="a-line-starting-with-the-boundary"),
    pytest.param(_TINY[0].replace(b'"a"', b"\"a\"; name*=UTF-8''b") + _TINY[1], False,
                 id="rfc-2231"),
    pytest.param(_TINY[0].replace(b'"\r\n', b'"\r\nContent-Transfer-Encoding: base64\r\n')
                 + _TINY[1], False, id="transfer-encoding"),
    pytest.param(_TINY[0].replace(b'"\r\n', b'"\r\nContent-Type: multipart/mixed; '
                                            b'boundary=i\r\n') + _TINY[1], False,
                 id="nested"),
    pytest.param(_TINY[0] + b"--XyZ--\r\nepilogue", False, id="epilogue"),
    pytest.param(_TINY[1], False, id="no-part"),
])
def test_which_bodies_the_usual_reader_reads(body: bytes, usual: bool) -> None:
    """The usual reader reads the framing clients send and leaves the rest to
    FieldStorage, which gives the same parts either way."""
    content_type = "multipart/form-data; boundary=XyZ"
    assert (multipart._usual_fields(body, content_type) is not None) is usual
    ours, reference = _both(body, content_type)
    assert ours == reference


def test_the_parameters_bound_is_kept() -> None:
    """hostile9's bound on what part headers' parameters cost (MOST_PARAMETER_WORK) holds
    for the usual reader too: a body over it does not parse, either way."""
    name = "n" * 3000
    part = f'--XyZ\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n1\r\n'.encode()
    body = part * (multipart.MOST_PARAMETER_WORK // (2 * 3000) + 2) + _TINY[1]
    content_type = "multipart/form-data; boundary=XyZ"
    assert multipart._usual_fields(body, content_type) is None
    assert multipart.multipart_params(body, content_type, None) is None
    assert multipart._usual_fields(part + _TINY[1], content_type) is not None


@pytest.mark.parametrize("redactor", [None, Redactor(denylist=["password"])],
                         ids=["no-lists", "denylist"])
def test_tiny_parts_make_fewer_python_calls_a_kib(redactor: Optional[Redactor]) -> None:
    """64 KiB of tiny parts (``name="a"``, ``1``): about 6,000 Python calls a KiB on
    main 18ad0b3 (FieldStorage, FeedParser and Message per part), under 1,500 now."""
    body = _TINY[0] * (64 * 1024 // len(_TINY[0])) + _TINY[1]
    exchange_ = post("multipart/form-data; boundary=XyZ", body,
                     group=Group("rdme_key_1234"))
    per_kib = _calls(lambda: build_log(exchange_, redactor=redactor, max_body_bytes=1 << 20)
                     ) / 64
    assert per_kib <= 1500, per_kib
