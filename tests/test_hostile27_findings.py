"""hostile27: denied values still sent in clear in the shapes hostile26 left.

Each was sent by a real Flask app to a real collector on 127.0.0.1 and read back:

1. A link's query in a text/plain body held by a script's string
   (``fetch('/api?password=...')``) went out in clear: the line was read as a form's
   pairs, the name ``fetch('/api?password``, and its query was not read as a link.
2. Escapes JSON does not have, in a text, HTML, XML or script body: ``\\x70assword``,
   ``\\u{70}assword`` (JavaScript, Python, PHP), ``pass&#119;ord`` / ``&#x77;``,
   ``{&quot;password&quot;: ...}`` (JSON in an HTML attribute), a link's ``?`` written
   ``&#63;`` or ``%3F``, a name in a link percent-encoded (``passw%6Frd=``).
3. A multipart file part sent with ``Content-Transfer-Encoding: base64`` went out as the
   data URL of its base64 text: the file's password one more ``base64 -d`` away.
4. YAML: a complex key (``? password`` then ``: value``), and lines broken by a lone CR,
   NEL (U+0085) or LS/PS (U+2028/9), which PyYAML reads as line breaks.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.har.bodies import content, post_data
from readme_metrics.har.headers import RAW_CONTENT_TYPE
from readme_metrics.har.redaction import Redactor
from tests.support.fake_api import Collector
from tests.support.flask_echo import logged_echo

SECRET = "Zq8h22Xw3K"
DENY = Redactor(denylist=["password"])


def _head(mime: Optional[str]) -> dict[str, str]:
    return {} if mime is None else {"content-type": mime, RAW_CONTENT_TYPE: mime}


def _records(body: bytes, mime: Optional[str]) -> list[dict[str, Any]]:
    return [post_data(body, len(body), _head(mime), DENY, 1 << 20),
            content(body, len(body), _head(mime), DENY, 1 << 20)]


def _logged(collector: Collector, body: bytes, mime: str) -> dict[str, Any]:
    """The log the collector got of POSTing ``body`` typed ``mime`` to a real Flask app
    echoing it, whose denylist is ``["password"]``."""
    return logged_echo(collector, body, mime)


def _every_reading(sent: str) -> str:
    """What the collector got, with each base64 run (a data URL's, a body's) decoded
    too, twice: a secret one ``base64 -d`` away is as sent."""
    readings = [sent]
    for _ in range(2):
        for word in list(readings[-1].replace(",", " ").replace('"', " ").split()):
            try:
                readings.append(base64.b64decode(word, validate=True).decode("latin-1"))
            except (binascii.Error, ValueError):
                pass
    return "\n".join(readings)


TEXT_LEAKS = {
    "plain-fetch": ("text/plain", f"fetch('/api?password={SECRET}')"),
    "plain-fetch-more": ("text/plain", f"fetch('/api?password={SECRET}&x=1')"),
    "js-x-escape": ("application/javascript", f"var a = {{'\\x70assword': '{SECRET}'}};"),
    "js-x-escape-dq": ("application/javascript", f'var a = {{"\\x70assword": "{SECRET}"}};'),
    "js-brace-escape": ("application/javascript",
                        f'var a = {{"\\u{{70}}assword": "{SECRET}"}};'),
    "plain-x-escape": ("text/plain", f"{{'\\x70assword': '{SECRET}'}}"),
    "html-x-escape": ("text/html", f'<script>x = {{"\\x70assword": "{SECRET}"}}</script>'),
    "html-brace-escape": ("text/html",
                          f'<script>x = {{"\\u{{70}}assword": "{SECRET}"}}</script>'),
    "html-entity-link": ("text/html", f'<a href="/r?pass&#119;ord={SECRET}">x</a>'),
    "html-hex-entity-link": ("text/html", f'<a href="/r?pass&#x77;ord={SECRET}">x</a>'),
    "plain-entity": ("text/plain", f"pass&#119;ord={SECRET}"),
    "html-entity-member": ("text/html", f'<p>{{"pass&#119;ord": "{SECRET}"}}</p>'),
    "html-quot-attribute": ("text/html",
                            f'<div data-x="{{&quot;password&quot;: &quot;{SECRET}&quot;}}">'),
    "html-percent-name": ("text/html", f'<a href="/r?passw%6Frd={SECRET}">x</a>'),
    "xml-percent-name": ("application/xml", f"<d><u>/r?passw%6Frd={SECRET}</u></d>"),
    "html-entity-question": ("text/html", f'<a href="/r&#63;password={SECRET}">x</a>'),
    "html-percent-question": ("text/html", f'<a href="/r%3Fpassword={SECRET}">x</a>'),
    "plain-percent-question": ("text/plain", f"see /r%3Fpassword={SECRET} now"),
    "xml-entity-question": ("application/xml", f"<d><u>/r&#63;password={SECRET}</u></d>"),
    "yaml-complex-key": ("application/yaml", f"? password\n: {SECRET}\n"),
    "yaml-complex-key-more": ("application/yaml", f"? password\n:   {SECRET}\nx: 1\n"),
    "yaml-lone-cr": ("application/yaml", f"a: 1\rpassword: {SECRET}\r"),
    "yaml-nel": ("application/yaml", f"a: 1\u0085password: {SECRET}\u0085"),
    "yaml-ls": ("application/yaml", f"a: 1\u2028password: {SECRET}\u2028"),
    # (A flow collection's quoted string going on to a line starting with "#", which was
    # read as a comment's: hostile26's property found it with a null value.)
    "yaml-flow-hash-line": ("application/yaml", f"a: {{a: '\n  #', password: {SECRET}}}\n"),
    "yaml-flow-hash-item": ("application/yaml",
                            f"a:\n- {{a: '\n\n    #', password: {SECRET}}}\n"),
}


@pytest.mark.parametrize("shape", TEXT_LEAKS)
def test_a_text_body_hides_the_value(shape: str) -> None:
    mime, body = TEXT_LEAKS[shape]
    for record in _records(body.encode(), mime):
        assert SECRET not in json.dumps(record), record


def _file_part(data: bytes, coding: str, part_type: str = "text/plain") -> bytes:
    return (b'--XyZ\r\nContent-Disposition: form-data; name="up"; filename="cfg"\r\n'
            + f"Content-Type: {part_type}\r\nContent-Transfer-Encoding: {coding}\r\n\r\n"
            .encode() + data + b"\r\n--XyZ--\r\n")


MULTIPART = "multipart/form-data; boundary=XyZ"
FILES = {
    "base64-form": _file_part(base64.b64encode(f"user=zoe&password={SECRET}".encode()),
                              "base64"),
    "base64-json": _file_part(base64.encodebytes(json.dumps({"password": SECRET}).encode()),
                              "base64", "application/octet-stream"),
    "base64-dotenv": _file_part(base64.b64encode(f"PASSWORD={SECRET}\n".encode()), "base64"),
    "quoted-printable-split-name": _file_part(
        f'{{"pass=\r\nword": "{SECRET}"}}'.encode(), "quoted-printable"),
}


@pytest.mark.parametrize("shape", FILES)
def test_a_transfer_encoded_file_part_hides_the_value(shape: str) -> None:
    for record in _records(FILES[shape], MULTIPART):
        assert SECRET not in _every_reading(json.dumps(record)), record


SENT = {**{name: (mime, body.encode()) for name, (mime, body) in TEXT_LEAKS.items()},
        **{name: (MULTIPART, body) for name, body in FILES.items()}}


@pytest.mark.parametrize("shape", ["plain-fetch", "html-quot-attribute", "js-x-escape",
                                   "html-entity-question", "yaml-nel", "base64-form"])
def test_a_flask_app_sends_the_value_hidden(collector: Collector, shape: str) -> None:
    mime, body = SENT[shape]
    log = _logged(collector, body, mime)
    assert SECRET not in _every_reading(json.dumps(log))
    assert "REDACTED" in json.dumps(log)


KEPT = {
    "fetch-concatenated": ("text/plain", "fetch('/api?password=' + k)"),
    "prose-entity": ("text/html", "<p>reset your pass&#119;ord &amp; more</p>"),
    "escapes-no-name": ("application/javascript", 'var a = "\\x41\\u{42}"; // %3F'),
    "yaml-other": ("application/yaml", "a: 1\rb: 2\u0085"),
}


@pytest.mark.parametrize("shape", KEPT)
def test_guard_text_naming_no_denied_value_is_kept_byte_for_byte(shape: str) -> None:
    mime, body = KEPT[shape]
    for record in _records(body.encode(), mime):
        assert record["text"] == body, record


_SPELLINGS = [lambda c: c, lambda c: f"\\x{ord(c):02x}", lambda c: f"\\u{{{ord(c):x}}}",
              lambda c: f"&#{ord(c)};", lambda c: f"&#x{ord(c):X};", lambda c: f"&#{ord(c)}",
              lambda c: f"%{ord(c):02X}", lambda c: f"\\{ord(c):03o}"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(range(len(_SPELLINGS))), min_size=8, max_size=8),
       st.sampled_from(["link", "member", "single", "pair"]),
       st.sampled_from(["text/html", "application/javascript", "application/xml",
                        "text/plain"]))
def test_a_name_in_any_mix_of_escapes_hides_the_value(
        picks: list[int], shape: str, mime: str) -> None:
    name = "".join(_SPELLINGS[pick](c) for pick, c in zip(picks, "password"))
    body = {"link": f'<a href="/r?a=1&amp;{name}={SECRET}">go</a>',
            "member": f'x = {{"{name}": "{SECRET}"}};',
            "single": f"x = {{'{name}': '{SECRET}'}};",
            "pair": f"{name}={SECRET}"}[shape]
    # (A bare pair is read in text/plain only: in HTML or XML prose it stays, as before.)
    mime = "text/plain" if shape == "pair" else mime
    for record in _records(body.encode(), mime):
        assert SECRET not in json.dumps(record), (body, record)


#: Names a denylist's "password" or "token" names by Unicode case folding (the Kelvin
#: sign folds to k, long s to s), in UTF-16/32 bodies, by mark, charset or neither.
FOLDED = {"kelvin": ("token", "to\u212aen"), "long-s": ("password", "pa\u017f\u017fword")}


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32",
                                   "utf-32-le", "utf-32-be"])
@pytest.mark.parametrize("folded", FOLDED)
@pytest.mark.parametrize("declared", [True, False], ids=["charset", "no-charset"])
def test_guard_a_folded_name_in_a_wide_body_is_hidden(
        codec: str, folded: str, declared: bool) -> None:
    denied, name = FOLDED[folded]
    redactor = Redactor(denylist=[denied])
    for mime in ("application/json", "text/plain", "application/x-www-form-urlencoded"):
        text = json.dumps({name: SECRET}, ensure_ascii=False) if "json" in mime else \
            f"{name}={SECRET}"
        typed = f"{mime}; charset={codec}" if declared else mime
        body = text.encode(codec)
        for record in [post_data(body, len(body), _head(typed), redactor, 1 << 20),
                       content(body, len(body), _head(typed), redactor, 1 << 20)]:
            assert SECRET not in _every_reading(json.dumps(record)), (typed, record)
