"""review148 (1): over TLS 1.3, a keep-alive client's next request pipelined behind a body's
rest whose first record holds 2 bytes (19 bytes of ciphertext: close_notify's size,
``tls_records``) was read as the client's close_notify, records following it or not: the
capture stopped waiting for the rest that sat in the socket, and the body was logged
short (5 of 100 bytes). No client sends a record after its close_notify (RFC 8446,
6.1): one of that size with records behind it is the next request's.

Each round over one TLS 1.3 connection: a POST's head and 5 of 100 declared bytes; the
app answers without reading (the capture waits, its grace 2 s here, for the rest); the
client sends the other 95, then a GET written in two parts (``GE``, then the rest of it),
three records in one send, then reads both answers.

review148 (2): a URL glued to a character not ASCII (Japanese or Chinese prose, which
puts no blank before it: ``連絡先はhttps://ada:...@host/``) was read as no URL, that
character being a word's (``\\w``), and its password was sent in clear with a denylist
set: as written, in JSON, percent-encoded in a form's value, with Unicode escapes. A
scheme is ASCII: the URL starts there.
"""

from __future__ import annotations

import json
import ssl
import time
from functools import partial
from pathlib import Path
from urllib.parse import quote

import pytest

from readme_metrics.har.redaction import Redactor
from readme_metrics.har.text_userinfo import userinfo_hidden_in
from tests.support.exchanges import logged_bodies
from tests.support.fake_api import Collector
from tests.support.tls import make_certificates
from tests.support.tls_bio import connected
from tests.test_asgi_servers import NO_UVLOOP
from tests.test_delivery75_tls_end_behind_data import (  # noqa: F401 - its fixture
    _records,
    tls_grace_served,
)
from tests.test_e2e_servers import Served, telling
from tests.test_half_close_late import _of_url, _tagged
from tests.test_review147_findings import DECLARED

pytestmark = pytest.mark.e2e

GET = b"GET /bare/next HTTP/1.1\r\nHost: localhost\r\n\r\n"


def _pipelined_in_parts(port: int, context: ssl.SSLContext, route: str) -> bytes:
    """The decrypted bytes answered to a POST (head and 5 bytes, 0.2 s later the other 95,
    then a GET in two records, ``GE`` first), read until both answers came (10 s)."""
    with connected(port, context) as client:
        client.send(f"POST /wrap/{route} HTTP/1.1\r\nHost: localhost:{port}\r\n"
                    f"Content-Type: text/plain\r\nContent-Length: {DECLARED}\r\n\r\n"
                    "short".encode())
        time.sleep(0.2)  # the app answered, the capture waits for the rest
        records = b"".join(client.sealed(part)  # (a record each, sent together)
                           for part in (b"x" * (DECLARED - 5), GET[:2], GET[2:]))
        client.sock.sendall(records)
        return client.read_until(lambda got: got.count(b"HTTP/1.1 ") >= 2)


@pytest.mark.parametrize("server", [
    "uvicorn", pytest.param("uvicorn-uvloop", marks=NO_UVLOOP),
    "hypercorn"], scope="module")
def test_a_pipelined_request_in_small_records_is_not_a_close_notify(
        kept_collector: Collector,
        tls_grace_served: tuple[Served, ssl.SSLContext],  # noqa: F811 - the fixture
        server: str) -> None:
    served, context = tls_grace_served
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    routes = _tagged(3)
    with telling(served):
        answers = [_pipelined_in_parts(served.port, context, route) for route in routes]
        logs = [kept_collector.wait_for_log(partial(_of_url, route)) for route in routes]
    assert all(answer.count(b"HTTP/1.1 200") == 2 for answer in answers), answers
    posts = [log["request"]["log"]["entries"][0]["request"]["postData"] for log in logs]
    short = [post for post in posts if post["text"] != "short" + "x" * (DECLARED - 5)]
    assert not short, (f"{len(short)} of {len(posts)} logged short", short)


def test_a_close_notify_sized_record_with_records_behind_is_not_past_the_body(
        tmp_path: Path) -> None:
    """Real TLS 1.3 records: the rest, 2 bytes in a record of their own, then more records:
    not past the body; the rest then a close_notify still is, and so is the rest then 2
    bytes alone (as a close_notify: nothing tells them apart)."""
    from readme_metrics.capture.tls_records import _beyond

    certificates = make_certificates(tmp_path)
    tls13 = ssl.TLSVersion.TLSv1_3
    rest = _records(certificates, tls13, b"x" * 95, False)
    two, more = (_records(certificates, tls13, part, False) for part in (GET[:2], GET[2:]))
    assert len(two) == 5 + 19  # (close_notify's size)
    assert _beyond(rest + two + more, 95, True) is False
    assert _beyond(rest + two + more[:3], 95, True) is False  # (a record's start behind)
    assert _beyond(_records(certificates, tls13, b"x" * 95, True), 95, True) is True
    assert _beyond(rest + two, 95, True) is True


SECRET = "Zq8hX22wK"
PROSE = [f"連絡先はhttps://ada:{SECRET}@host/です", f"详见postgres://ada:{SECRET}@db/x",
         f"смотриhttps://ada:{SECRET}@h/"]


@pytest.mark.parametrize("text", PROSE)
def test_a_url_right_after_a_character_not_ascii_has_its_password_hidden(text: str) -> None:
    """As written, in JSON (as written and with ensure_ascii), with Unicode escapes, and
    in a form's value (percent-encoded): the password hidden, the rest kept."""
    spellings = [text, json.dumps({"m": text}, ensure_ascii=False), json.dumps({"m": text}),
                 text.replace("://", ":\\u002f\\u002f").replace("@", "\\u0040")]
    for written in spellings:
        hidden = userinfo_hidden_in(written)
        assert SECRET not in hidden and "%5BREDACTED%209%5D" in hidden, (written, hidden)
        assert hidden.replace("%5BREDACTED%209%5D", SECRET) == written
    form = "a=1&m=" + quote(text, safe="") + "&b=2"
    assert SECRET not in userinfo_hidden_in(form)
    deny = Redactor(["password"])
    for written, mime in ((spellings[1], "application/json"), (text, "text/plain"),
                          (form, "application/x-www-form-urlencoded")):
        for logged in logged_bodies(written, mime, deny):
            assert SECRET not in logged, (mime, logged)


@pytest.mark.parametrize("text", [
    "連絡先はada@example.comです", "見てhttps://example.com/と ada@example.com",
    "詳細はhttps://example.com:8080/です", "x_https://ada@h",
])
def test_prose_without_a_userinfo_is_kept(text: str) -> None:
    """Guards (passed before): an address, a website then an address, a port."""
    for written in (text, json.dumps({"m": text}), quote(text, safe="")):
        assert userinfo_hidden_in(written) == written
