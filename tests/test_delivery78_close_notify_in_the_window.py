"""delivery78: a client's close_notify that lands between the capture's look at the socket
and the server's read, every time (delivery75's residual race, 1 in 160 rounds at load 30).

While the capture waits for the rest of a body the app left unread, the server's reading
is paused (``asgi_watch``). When the rest came, a look at the socket
(``asgi_receive._client_done`` → ``tls_records.past_body``) found nothing behind it, and
the server was let read: a close_notify landing right after the look was read with the
rest, and asyncio's and uvloop's TLS layers took it for the client's end (what the app
wrote after was dropped). Here the look is the gate: once it has seen the rest alone, the
client's close_notify (and its FIN, in a row) is put in the socket before the look
returns, so it is there for whatever reads the socket next. The server is uvicorn or
hypercorn's asyncio worker in a thread, over TLS, on asyncio and on uvloop; the client a
TLS session in memory, as delivery75's; the body of a declared length or chunked.
"""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path
from typing import Any, Optional

import pytest

from readme_metrics.capture import asgi_receive
from readme_metrics.capture.sockets import unread_bytes
from tests.support.fake_api import Collector
from tests.support.polling import PATIENCE
from tests.support.tls import make_certificates
from tests.support.tls_asgi_thread import LOOPS, SERVERS, served
from tests.support.tls_bio import connected

DECLARED = 100
REST = b"x" * (DECLARED - 5)


class _Gate:
    """The capture's look at the socket (``past_body``), patched: ``began`` once it first
    looked (the capture waits for the body's rest), and, once it has seen the rest alone
    (``rest`` bytes of ciphertext in the socket, nothing told behind them), the client's
    ``notify`` (its close_notify; and its FIN, ``fin``) sent before it returns."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.began = threading.Event()
        self.sent = threading.Event()
        self.sock: Optional[socket.socket] = None
        self.rest = 0
        self.notify = b""
        self.fin = False

    def __call__(self, transport: Any, remaining: Optional[int]) -> bool:
        told = bool(self._real(transport, remaining))
        self.began.set()
        sock = self.sock
        if told or sock is None or self.sent.is_set():
            return told
        if unread_bytes(transport.get_extra_info("socket").fileno()) >= self.rest:
            sock.sendall(self.notify)
            if self.fin:
                sock.shutdown(socket.SHUT_WR)
            self.sent.set()
        return told


def _parts(port: int, path: str, chunked: bool) -> tuple[bytes, bytes]:
    """(the head and the body's first 5 bytes, the body's rest): of :data:`DECLARED`
    bytes declared, or ``chunked`` (a chunk of 5, then one of 95 and the last, in one
    write: one record)."""
    head = (f"POST {path} HTTP/1.1\r\nHost: localhost:{port}\r\n"
            "Content-Type: text/plain\r\n")
    if not chunked:
        return f"{head}Content-Length: {DECLARED}\r\n\r\nshort".encode(), REST
    return (f"{head}Transfer-Encoding: chunked\r\n\r\n5\r\nshort\r\n".encode(),
            b"%x\r\n%s\r\n0\r\n\r\n" % (len(REST), REST))


def _client(port: int, context: ssl.SSLContext, path: str, gate: Optional[_Gate],
            fin: bool, chunked: bool = False) -> bytes:
    """The decrypted answer to a POST of 100 bytes (``chunked`` or not): the head and 5;
    then (``gate``: once the capture looks for the rest; without: once the answer came,
    the bare app's) the other 95, and close_notify (``gate``: when the capture's look
    has seen the rest alone; without: right behind it), the FIN behind (``fin``). Read
    until the server closed."""
    first, second = _parts(port, path, chunked)
    with connected(port, context, timeout=PATIENCE) as client:
        client.send(first)
        rest = client.sealed(second)
        notify = client.close_notify()  # (its answer never waited for)
        got = b""
        if gate is None:  # (the bare app's answer, before the rest)
            got = client.read_until(lambda got: b"\r\n\r\nok" in got, PATIENCE)
            client.sock.sendall(rest + notify)
            if fin:
                client.sock.shutdown(socket.SHUT_WR)
        else:
            gate.rest, gate.notify, gate.fin = len(rest), notify, fin
            gate.sock = client.sock
            assert gate.began.wait(PATIENCE)
            client.sock.sendall(rest)
            assert gate.sent.wait(PATIENCE), "the capture never looked at the rest alone"
        return got + client.read_to_end()


@pytest.mark.parametrize("chunked", [False, True], ids=["sized", "chunked"])
@pytest.mark.parametrize("fin", [False, True], ids=["close-notify", "close-notify-fin"])
@LOOPS
@SERVERS
def test_a_close_notify_landing_after_the_look_loses_no_answer(
        server: str, loop: str, fin: bool, chunked: bool, collector: Collector,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The wrapped app's client gets the whole answer, as the bare app's does (before:
    nothing, the close_notify read with the rest), and its log the 200 and the body
    (a chunked one's too: before, its close_notify was held back 2 turns only)."""
    gate = _Gate(asgi_receive.past_body)
    monkeypatch.setattr(asgi_receive, "past_body", gate)
    monkeypatch.setattr(asgi_receive, "GRACE", PATIENCE)  # (the rest comes in the wait)
    with served(server, loop, collector, tmp_path, "delivery78") as (port, context):
        bare = _client(port, context, "/bare/noread", None, fin, chunked)
        wrapped = _client(port, context, "/wrap/noread", gate, fin, chunked)
        log = collector.wait_for_log(lambda log: True)
    assert bare.startswith(b"HTTP/1.1 200") and bare.endswith(b"\r\n\r\nok"), bare
    assert wrapped.startswith(b"HTTP/1.1 200") and wrapped.endswith(b"\r\n\r\nok"), wrapped
    entry = log["request"]["log"]["entries"][0]
    assert entry["response"]["status"] == 200, entry["response"]
    assert entry["request"]["postData"]["text"] == "short" + REST.decode(), entry["request"]


def test_the_body_s_records_are_told_from_what_lands_behind_them(tmp_path: Path) -> None:
    """tls_feed.body_bytes on real TLS 1.3 records: the rest's records, not the
    close_notify behind them (a declared length), nor a last record of its size
    (chunked); under TLS 1.2 up to the alert."""
    from readme_metrics.capture.tls_feed import UNTOLD, body_bytes
    from tests.test_delivery75_tls_end_behind_data import _records

    certificates = make_certificates(tmp_path)
    for version, tls13 in ((ssl.TLSVersion.TLSv1_3, True), (ssl.TLSVersion.TLSv1_2, False)):
        alone = _records(certificates, version, REST, False)
        notified = _records(certificates, version, REST, True)
        assert len(notified) > len(alone)
        assert body_bytes(notified, len(REST), tls13)[0] == len(alone)
        assert body_bytes(notified, None, tls13)[0] == len(alone)
        assert body_bytes(alone, len(REST), tls13)[0] == len(alone)
        # (not whole yet: its arrived part, 1 byte owed; delivery83)
        assert body_bytes(alone[:-1], len(REST), tls13) == (
            len(alone) - 1, len(REST) if tls13 else 0, 1)
        assert body_bytes(alone[-1:], 0, tls13, owed=1)[::2] == (1, 0)  # (its rest)
        assert body_bytes(notified[len(alone) - 1:], 0, tls13, owed=1)[0] == 1
        assert body_bytes(alone[7:], len(REST), tls13)[0] == UNTOLD  # (a record's middle)
        assert body_bytes(notified[len(alone):], 2, tls13)[0] == (
            len(notified) - len(alone) if tls13 else 0)  # (1.3: the body's 2 last bytes)
        # (1.3: 2 bytes that do not end the body, last in the socket: held, as a client's
        # close_notify before its body's end; review151)
        assert body_bytes(notified[len(alone):], len(REST) + 2, tls13)[0] == 0
