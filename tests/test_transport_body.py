"""A batch's body in pieces (``encode.Body``): the same bytes on the wire as joined.

The direct route hands the pieces to ``sendmsg`` on a plain socket and writes them (small
ones joined) on a TLS one; the requests route joins them. Against the real collector on
127.0.0.1, plain and behind TLS; partial sends forced with a small send buffer; and a
server reading slowly, which the POST's timeout must still bound.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from typing import Any, Optional

import pytest
import requests

from readme_metrics.delivery import direct, direct_connect, encode
from tests.support.fake_api import Collector
from tests.support.polling import wait_until
from tests.support.tls import Certificates, TLSCollector, make_certificates, server_context
from tests.support.transports import ROUTES, make_transport, without_watchdog

pytestmark = pytest.mark.usefixtures("transport_guards")

#: Logs of these sizes: large ones (sent as they are), small ones between them (joined
#: with the commas), around the sizes where the pieces change.
SIZES = [300_000, 10, 40, 20_000, 16_383, 16_384, 5, 70_000, 65_536, *[900] * 80, 120_000]


def body_of(sizes: list[int]) -> encode.Body:
    parts = [encode.dumps({"_id": str(index), "pad": "é" * (size // 2)})
             for index, size in enumerate(sizes)]
    return encode.array_body(parts)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("certificates"))


@pytest.fixture(params=["http", "https"])
def api(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Collector:
    """The recording collector, plain or behind TLS (its CA trusted)."""
    if request.param == "http":
        return request.getfixturevalue("collector")  # type: ignore[no-any-return]
    certificates = request.getfixturevalue("certificates")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificates.ca))
    server = TLSCollector(certificates)
    request.addfinalizer(server.stop)
    return server.start()


def small_send_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The direct route's sockets with a 4 KiB send buffer: a send takes a little at a time."""
    connect = direct_connect.open_socket

    def small(*args: Any) -> socket.socket:
        sock = connect(*args)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        return sock

    monkeypatch.setattr(direct_connect, "open_socket", small)  # (what connects calls)


@pytest.mark.parametrize("direct", ROUTES)
def test_a_body_in_pieces_goes_out_as_the_joined_bytes(api: Collector, direct: bool) -> None:
    body = body_of(SIZES)
    assert len(body.pieces) > 10  # large logs alone, small ones joined with the commas
    small = body_of([2600] * 10)
    assert len(small.pieces) == 1
    transport = make_transport(api.url, direct)
    for sent in (body, bytes(body), small, bytes(small), body):  # the last: a retry
        assert transport.post_logs(sent).status_code == 202
    transport.close()
    received = api.received
    assert len(received) == 5
    assert len({each.peer for each in received}) == 1  # one kept-alive connection
    for pieces, joined in ((received[0], received[1]), (received[2], received[3]),
                           (received[4], received[1])):
        assert (pieces.method, pieces.path) == (joined.method, joined.path)
        assert list(pieces.headers.items()) == list(joined.headers.items())
        assert pieces.body == joined.body
    assert received[0].body == bytes(body)
    assert received[0].headers["Content-Length"] == str(len(bytes(body)))
    assert json.loads(received[0].body)[3]["_id"] == "3"


@pytest.mark.parametrize("watched", [True, False], ids=["watched", "unwatched"])
def test_partial_sends_of_a_body_in_pieces_lose_no_byte(
        api: Collector, watched: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    # Without the watchdog the socket has a timeout, and each sendmsg sends what fits in
    # the 4 KiB buffer: the rest must follow, from where it stopped.
    small_send_buffer(monkeypatch)
    if not watched:
        without_watchdog(monkeypatch)
    body = body_of(SIZES * 3)
    transport = make_transport(api.url, timeout=20.0)
    for _ in range(2):
        assert transport.post_logs(body).status_code == 202
    transport.close()
    assert [each.body for each in api.received] == [bytes(body)] * 2


class SlowReader:
    """A Metrics API reading its requests 4 KiB every 10 ms (a small receive buffer), and
    never answering; ``read`` counts the bytes it took."""

    def __init__(self, context: Optional[ssl.SSLContext]) -> None:
        self.read = 0
        self._context = context
        self._stop = threading.Event()
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(4)
        port = self._listener.getsockname()[1]
        self.url = f"https://localhost:{port}" if context else f"http://127.0.0.1:{port}"
        self.ended = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        try:
            conn, _ = self._listener.accept()
            if self._context is not None:
                conn = self._context.wrap_socket(conn, server_side=True)
            with conn:
                while not self._stop.wait(0.01):
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    self.read += len(chunk)
        except OSError:
            pass
        finally:
            self.ended.set()

    def close(self) -> None:
        self._stop.set()
        self._listener.close()


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
@pytest.mark.parametrize("watched", [True, False], ids=["watched", "unwatched"])
def test_timeout_bounds_the_send_of_a_body_to_a_server_reading_slowly(
        tls: bool, watched: bool, monkeypatch: pytest.MonkeyPatch,
        request: pytest.FixtureRequest) -> None:
    # Each send takes a little (the server reads 400 KB/s), so no single system call
    # waits for long: without the watchdog the send's calls must share what is left of
    # the timeout, or the POST would last until the whole body went out (5 s).
    context = None
    if tls:
        certificates = request.getfixturevalue("certificates")
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificates.ca))
        context = server_context(certificates)
    small_send_buffer(monkeypatch)
    if not watched:
        without_watchdog(monkeypatch)
    body = body_of([100_000] * 20)  # 2 MB, the most a POST carries
    server = SlowReader(context)
    transport = make_transport(server.url, timeout=0.5)
    try:
        with pytest.raises(requests.Timeout):
            transport.post_logs(body)
        transport.close()
        wait_until(server.ended.is_set)
    finally:
        server.close()
    assert 0 < server.read < len(body) // 2, server.read


class Writes:
    """What ``sendall`` was called with (the direct route over TLS, which has no sendmsg)."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def sendall(self, data: bytes) -> None:
        self.writes.append(bytes(data))


def test_without_sendmsg_small_pieces_are_joined_into_one_write() -> None:
    head = b"POST /v1/request HTTP/1.1\r\n\r\n"
    small, large = body_of([2600] * 10), body_of([100_000, 100_000])
    for body, writes in ((small, 1), (large, 5)):
        sock = Writes()
        assert direct._send(sock, head, body.pieces, None) is None
        assert b"".join(sock.writes) == head + bytes(body)
        assert len(sock.writes) == writes  # head and "[" | log | "," | log | "]"
