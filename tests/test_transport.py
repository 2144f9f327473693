"""Transport: what goes over the wire to the Metrics API, against real loopback servers.

Most tests run on both routes (``direct``: own sockets, the answer read by
``delivery/reader.py``; ``requests``: the session, as used for proxies), so the two are
held to the same behaviour. Which route is taken, and HTTPS, are in
test_transport_routes.py; the reader against http.client in test_transport_reader.py.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.config import MetricsApiConfig
from readme_metrics.delivery import Delivery, watchdog
from readme_metrics.exchange import Exchange, Group
from readme_metrics.transport import USER_AGENT
from readme_metrics.version import __version__
from tests.support.drip import DripServer
from tests.support.fake_api import Collector, Reply, basic_auth, free_port
from tests.support.hangup import HangupServer
from tests.support.polling import wait_until
from tests.support.transports import (
    API_KEY,
    ROUTES,
    lower,
    make_transport,
    seconds_to_time_out,
    without_watchdog,
)

# No proxy or CA bundle from the machine; the API key in no log record (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("transport_guards")


# -- the request and the answer ---------------------------------------------------------


@pytest.mark.parametrize("direct", ROUTES)
@pytest.mark.parametrize("suffix", [
    pytest.param("", id="bare-base"),
    pytest.param("/", id="trailing-slash"),
])
def test_post_logs_sends_the_payload_contract(collector: Collector, suffix: str,
                                              direct: bool) -> None:
    transport = make_transport(collector.url + suffix, direct)
    assert transport.route == ("direct" if direct else "requests")
    body = json.dumps([{"_id": "a", "text": "café"}], ensure_ascii=False).encode()
    response = transport.post_logs(body)
    transport.close()

    assert response.status_code == 202
    [received] = collector.received
    assert (received.method, received.path) == ("POST", "/v1/request")
    assert received.body == body
    headers = lower(received.headers)
    assert headers["authorization"] == basic_auth(API_KEY)
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == f"readme-metrics-python@{__version__}" == USER_AGENT
    assert headers["content-length"] == str(len(body))


@pytest.mark.parametrize("reply", [
    pytest.param(Reply(202), id="plain"),
    pytest.param(Reply(202, headers={"Set-Cookie": "lb=a1"}), id="with-a-cookie"),
])
def test_both_routes_send_the_same_request(collector: Collector, reply: Reply) -> None:
    # The direct path sends the headers requests prepared: same names, values, order
    # (the second POST carries the cookie the first answer set, if any).
    collector.default = reply
    body = b'[{"_id": "same"}]'
    for direct in (False, True):
        transport = make_transport(collector.url, direct)
        transport.post_logs(body)
        transport.post_logs(body)
        transport.close()
    _, old, _, new = collector.received
    assert (new.method, new.path, new.body) == (old.method, old.path, old.body)
    assert list(new.headers.items()) == list(old.headers.items())


def _raw_requests(url: str, count: int) -> tuple[list[bytes], list[bytes]]:
    """The exact bytes of ``count`` direct POSTs to a loopback server at ``url``, then
    those of the same POSTs sent by ``http.client`` with the headers requests prepared."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    received: list[bytes] = []

    def serve() -> None:
        for _ in range(2):  # one connection per transport
            connection, _ = listener.accept()
            with connection:
                data = b""
                while True:
                    head, separator, rest = data.partition(b"\r\n\r\n")
                    if separator:
                        length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                        if len(rest) >= length:
                            received.append(head + separator + rest[:length])
                            data = rest[length:]
                            connection.sendall(
                                b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
                            continue
                    chunk = connection.recv(65536)
                    if not chunk:
                        break
                    data += chunk

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    bodies = [b'[{"_id": "%d"}]' % (10 ** n) for n in range(count)]
    try:
        transport = make_transport(url.format(port=port))
        for body in bodies:
            assert transport.post_logs(body).status_code == 202
        template = transport.session.prepare_request(
            requests.Request("POST", transport.url, data=b""))
        transport.close()
        parts = urlsplit(template.url or "")
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port)
        for body in bodies:
            connection.putrequest("POST", parts.path, skip_accept_encoding=True)
            for name, value in template.headers.items():
                connection.putheader(
                    name, str(len(body)) if name == "Content-Length" else value)
            connection.endheaders(body)
            with connection.getresponse() as response:
                assert response.status == 202
                response.read()
        connection.close()
    finally:
        server.join(5)
        listener.close()
    return received[:count], received[count:]


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:{port}",
    "http://localhost:{port}/base path/",
])
def test_the_prepared_header_block_is_what_http_client_sends(url: str) -> None:
    """Most direct POSTs send a header block made once by http.client itself: byte for
    byte what http.client sends when it builds it for each POST, bodies of any length."""
    prepared, built = _raw_requests(url, 3)
    assert len(prepared) == len(built) == 3
    assert prepared == built


@pytest.mark.parametrize("direct", ROUTES)
@pytest.mark.parametrize(("base", "path"), [
    pytest.param("/base path", "/base%20path/v1/request", id="space"),
    pytest.param("/räume", "/r%C3%A4ume/v1/request", id="non-ascii"),
    pytest.param("/a%20b", "/a%20b/v1/request", id="already-encoded"),
])
def test_a_base_path_is_sent_as_requests_encodes_it(collector: Collector, base: str,
                                                    path: str, direct: bool) -> None:
    transport = make_transport(collector.url + base, direct)
    assert transport.post_logs(b"[]").status_code == 202
    transport.close()
    assert [received.path for received in collector.received] == [path]


def test_an_international_host_name_is_connected_to_in_idna() -> None:
    # No such host can be reached from a test; what the direct poster will connect to
    # and name in Host and SNI must be the IDNA form, as requests sends it.
    transport = make_transport("https://bücher.test")
    assert transport.route == "direct"
    assert transport._poster._host == "xn--bcher-kva.test"  # type: ignore[union-attr]
    transport.close()


@pytest.mark.parametrize("direct", ROUTES)
def test_one_keep_alive_connection_for_many_posts(collector: Collector, direct: bool) -> None:
    transport = make_transport(collector.url, direct)
    for n in range(5):
        assert transport.post_logs(json.dumps([{"n": n}]).encode()).status_code == 202
    transport.close()
    assert len(collector.received) == 5
    assert len({received.peer for received in collector.received}) == 1


@pytest.mark.parametrize("direct", ROUTES)
def test_each_post_carries_its_own_body_and_length(collector: Collector,
                                                   direct: bool) -> None:
    # Every POST reuses headers prepared in advance: nothing of one body may leak into
    # the next (a longer body first, then a shorter one, then an empty array; one large
    # enough to go apart from the header block).
    transport = make_transport(collector.url, direct)
    bodies = [json.dumps([{"n": "x" * 300}]).encode(), b'[{"n":1}]', b"[]",
              json.dumps([{"n": "é" * 150_000}], ensure_ascii=False).encode(), b"[2]"]
    for body in bodies:
        assert transport.post_logs(body).status_code == 202
    transport.close()
    assert [received.body for received in collector.received] == bodies
    for received, body in zip(collector.received, bodies):
        headers = lower(received.headers)
        assert headers["content-length"] == str(len(body))
        assert headers["authorization"] == basic_auth(API_KEY)


@pytest.mark.parametrize("direct", ROUTES)
def test_a_cookie_the_api_sets_is_sent_back(collector: Collector, direct: bool) -> None:
    # As Session.post would (a load balancer's sticky-session cookie).
    collector.default = Reply(202, headers={"Set-Cookie": "lb=node-7; Path=/"})
    transport = make_transport(collector.url, direct)
    for _ in range(3):
        assert transport.post_logs(b"[]").status_code == 202
    transport.close()
    first, *others = collector.received
    assert "cookie" not in lower(first.headers)
    assert [lower(other.headers)["cookie"] for other in others] == ["lb=node-7"] * 2


@pytest.mark.parametrize("direct", ROUTES)
@pytest.mark.parametrize("reply", [
    pytest.param(Reply(500, b"oops"), id="500"),
    pytest.param(Reply(429, headers={"Retry-After": "7"}), id="429"),
    pytest.param(Reply(401, b'{"error":"unauthorized"}'), id="401"),
    pytest.param(Reply(400, b'{"error":"bad"}',
                       headers={"Content-Type": "application/json; charset=utf-8"}),
                 id="400"),
    pytest.param(Reply(302, headers={"Location": "http://elsewhere.invalid/"}),
                 id="302-not-followed"),
])
def test_error_statuses_are_returned_not_raised(collector: Collector, reply: Reply,
                                                direct: bool) -> None:
    # Deciding what a status means is delivery's job; the transport only reports it.
    collector.default = reply
    transport = make_transport(collector.url, direct)
    response = transport.post_logs(b"[]")
    assert response.status_code == reply.status
    assert response.content == reply.body
    assert response.text == reply.body.decode()
    for name, value in reply.headers.items():
        assert response.headers[name] == value
        assert response.headers.get(name.upper()) == value
    transport.close()


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answers=st.lists(st.tuples(
    st.sampled_from([200, 201, 202, 400, 401, 404, 408, 429, 500, 503]),
    st.binary(max_size=3000)), min_size=1, max_size=5),
    bodies=st.lists(st.binary(max_size=5000), min_size=5, max_size=5))
def test_any_bodies_and_answers_over_one_connection(answers: list[tuple[int, bytes]],
                                                    bodies: list[bytes]) -> None:
    # Whatever bytes go out and whatever the API answers (errors included), each POST
    # gets its own answer in full and the connection stays usable for the next.
    collector = Collector().start()
    try:
        collector.default = Reply(202)
        collector.replies.extend(Reply(status, body) for status, body in answers)
        transport = make_transport(collector.url)
        got = [transport.post_logs(body) for body in bodies]
        transport.close()
        expected = answers + [(202, b"")] * (len(bodies) - len(answers))
        assert [(answer.status_code, answer.content) for answer in got] == expected
        arrived = collector.received + collector.failed
        assert sorted(received.body for received in arrived) == sorted(bodies)
        assert len({received.peer for received in arrived}) == 1
    finally:
        collector.stop()


# -- failures ---------------------------------------------------------------------------


@pytest.mark.parametrize("direct", ROUTES)
@pytest.mark.parametrize(("reply", "timeout", "error"), [
    pytest.param(Reply(hang=2.0), 0.2, requests.Timeout, id="hang-config-timeout"),
    pytest.param(Reply(hang=2.0), None, requests.Timeout, id="hang-call-timeout"),
    pytest.param(Reply(drop=True), None, requests.ConnectionError, id="connection-dropped"),
])
def test_io_failures_raise_requests_exceptions(collector: Collector, reply: Reply,
                                               timeout: float | None,
                                               error: type[Exception], direct: bool) -> None:
    collector.default = reply
    transport = make_transport(collector.url, direct, timeout=timeout or 30.0)
    with pytest.raises(error):
        transport.post_logs(b"[]", timeout=None if timeout else 0.2)
    collector.default = Reply()
    assert transport.post_logs(b"[]").status_code == 202  # usable after a failure
    transport.close()


@pytest.mark.parametrize("direct", ROUTES)
def test_connection_refused_raises_connection_error(direct: bool) -> None:
    transport = make_transport(f"http://127.0.0.1:{free_port()}", direct)
    with pytest.raises(requests.ConnectionError) as info:
        transport.post_logs(b"[]")
    assert API_KEY not in str(info.value)
    transport.close()


def test_timeout_bounds_connecting_to_every_address_of_the_api(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The API's name gives several addresses and none answers (a firewall dropping the
    # SYN, an API down behind it): socket.create_connection gives each address the whole
    # timeout, so 20 addresses held a 0.3 s POST for 6 s; they share it. Each listener
    # here has one connection waiting in a backlog of 0: Linux drops the next SYN.
    listeners, waiting = [], []
    for _ in range(20):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        waiting.append(socket.create_connection(listener.getsockname()))
        listeners.append(listener)
    addresses = [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "",
                  listener.getsockname()) for listener in listeners]
    resolve = socket.getaddrinfo

    def resolved(host: str, *args: object, **kwargs: object) -> object:
        return addresses if host == "metrics.test" else resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolved)
    transport = make_transport("http://metrics.test", timeout=0.3)
    try:
        elapsed = seconds_to_time_out(transport)
    finally:
        for sock in listeners + waiting:
            sock.close()
    assert elapsed < 3.0  # within 10 x timeout (the contract: timeout bounds a POST)


@pytest.mark.parametrize("direct", ROUTES)
@pytest.mark.parametrize("how", ["close", "reset"])
def test_a_kept_alive_connection_the_server_ended_is_replaced(how: str,
                                                              direct: bool) -> None:
    # The server hangs up (FIN or RST) while the connection is idle, without a word in
    # its answer: the next POST notices before sending, reconnects, and nothing fails.
    server = HangupServer(how=how, after=1, on_release=True)
    transport = make_transport(server.url, direct)
    try:
        for n in range(3):
            assert transport.post_logs(b'[{"n": %d}]' % n).status_code == 202
            server.release()  # the answer is read: now the connection is idle
            server.wait_hangups(n + 1)
        transport.close()
    finally:
        server.close()
    assert server.bodies == [b'[{"n": %d}]' % n for n in range(3)]
    assert len(server.peers) == 3


@pytest.mark.parametrize("direct", ROUTES)
@pytest.mark.parametrize(("answer", "after", "content"), [
    pytest.param(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nread until closed",
                 1, b"read until closed", id="http-1.0-no-length"),
    pytest.param(b"HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n", 3, b"abcdefg", id="chunked"),
    pytest.param(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\n"
                 b"Content-Length: 2\r\n\r\nok", 3, b"ok", id="interim-100"),
    # RFC 9110 15.2: a client passes over every interim answer (1xx but 101), headers and
    # all. http.client passes over 100 only: it would take 103's headers for the answer.
    pytest.param(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
                 b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok", 3, b"ok",
                 id="interim-103"),
    pytest.param(b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"
                 b"HTTP/1.1 199 Whatever\r\nX-A: 1\r\nX-B: 2\r\n\r\n"
                 b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 3, b"ok",
                 id="interim-several"),
])
def test_answers_framed_every_way_http_allows(answer: bytes, after: int, content: bytes,
                                             direct: bool) -> None:
    server = HangupServer(how="close", after=after, answer=answer)
    transport = make_transport(server.url, direct)
    try:
        got = [transport.post_logs(b'[{"n": %d}]' % n) for n in range(3)]
        transport.close()
    finally:
        server.close()
    assert [answer.content for answer in got] == [content] * 3
    assert len(server.bodies) == 3
    assert len(server.peers) == 3 // after  # kept alive only where the framing allows


def test_hangups_racing_posts_lose_nothing_and_duplicate_nothing() -> None:
    # The server ends every connection right after its answer, so some POSTs start on a
    # connection that is being closed: they fail before the server read them, and the
    # delivery policy retries them. Every log arrives exactly once.
    server = HangupServer(how="close", after=1)
    config = MetricsApiConfig(api_key=API_KEY, grouping_function=lambda req: None,
                              metrics_api=server.url, buffer_length=2, flush_interval=0,
                              shutdown_timeout=10.0)
    delivery = Delivery(config, lambda item: {"_id": item.to_exchange().id},
                        max_attempts=50, backoff_base=0.001, backoff_cap=0.01)
    try:
        for n in range(300):
            assert delivery.submit(Exchange(
                id=f"log-{n}", started=0.0, method="GET", url="http://api.test/x",
                http_version="HTTP/1.1", request_headers=[], client_ip="127.0.0.1",
                group=Group("caller")))
        assert delivery.flush(60.0) is True
        delivery.close()
    finally:
        server.close()
    delivered = [log["_id"] for body in server.bodies for log in json.loads(body)]
    assert sorted(delivered) == sorted(f"log-{n}" for n in range(300))
    assert delivery.stats["sent"] == 300 and delivery.stats["dropped"] == 0


# -- the whole POST within timeout (a dripping API) -------------------------------------


@pytest.mark.parametrize("direct", ROUTES)
@pytest.mark.parametrize("timeout", [pytest.param(1.0, id="config-timeout"),
                                     pytest.param(None, id="call-timeout")])
def test_timeout_bounds_the_whole_post_against_a_dripping_server(
        timeout: float | None, direct: bool) -> None:
    # One byte every 0.4 s never trips a per-read timeout of 1 s: only a limit on the
    # whole exchange stops it. Judged by how much of the answer the client waited for.
    server = DripServer(interval=0.4, max_bytes=100)
    transport = make_transport(server.url, direct, timeout=timeout or 30.0)
    started = time.monotonic()
    try:
        with pytest.raises(requests.Timeout):
            transport.post_logs(b"[]", timeout=None if timeout else 1.0)
        elapsed = time.monotonic() - started
        transport.close()
        wait_until(lambda: server.sent)
    finally:
        server.close()
    assert server.requests == 1
    assert server.sent[0] < 10, server.sent  # a few bytes (about 1 s), not 100 (40 s)
    assert elapsed < 10.0


@pytest.mark.parametrize("direct", ROUTES)
def test_timeout_bounds_a_body_dripped_until_the_server_closes(direct: bool) -> None:
    # HTTP/1.0 without a length: the body lasts until the server closes, and http.client
    # hands the socket over to the answer; the watchdog must still reach it. Cut there,
    # the POST ends with the status the API gave (the logs were accepted: sending them
    # again would duplicate them) and the body it had sent so far.
    server = DripServer(interval=0.4, max_bytes=100,
                        prefix=b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n")
    transport = make_transport(server.url, direct, timeout=1.0)
    try:
        answer = transport.post_logs(b"[]")
        transport.close()
        wait_until(lambda: server.sent)
    finally:
        server.close()
    assert answer.status_code == 200
    assert server.sent[0] < 10, server.sent  # a few body bytes (about 1 s), not 100
    assert len(answer.content) <= server.sent[0]


@pytest.mark.parametrize("direct", ROUTES)
def test_posts_after_a_cut_post_use_a_fresh_connection(collector: Collector,
                                                       direct: bool) -> None:
    server = DripServer(interval=0.4, max_bytes=100)
    transport = make_transport(server.url, direct, timeout=0.5)
    try:
        with pytest.raises(requests.Timeout):
            transport.post_logs(b"[]")
    finally:
        server.close()
    # The same transport, pointed elsewhere, still works (nothing left armed).
    transport.url = collector.url + "/v1/request"
    assert transport.route == ("direct" if direct else "requests")
    for _ in range(3):
        assert transport.post_logs(b"[]").status_code == 202
    transport.close()


def test_without_a_watchdog_socket_timeouts_bound_a_direct_post(
        collector: Collector, monkeypatch: pytest.MonkeyPatch) -> None:
    # While the watchdog runs, a direct POST's socket blocks (one system call per read);
    # when none can start (a first POST at interpreter exit), the socket's timeout must
    # bound each read instead, or a silent server would hold the POST for good.
    without_watchdog(monkeypatch)
    transport = make_transport(collector.url, timeout=0.3)
    # A first POST the collector answers at once, on the socket kept alive for the next
    # one; on a loaded machine its answer may itself take longer than 0.3 s (CI at load
    # 15-20 saw it), which is not what this test is about: tried again then.
    answered = None
    for _ in range(10):
        try:
            answered = transport.post_logs(b"[]").status_code
            break
        except requests.exceptions.ReadTimeout:
            continue
    assert answered == 202
    collector.default = Reply(hang=3.0)  # answers after 3 s: too late
    with pytest.raises(requests.exceptions.ReadTimeout):
        transport.post_logs(b"[]")
    transport.close()


@pytest.mark.parametrize("proxy", [
    pytest.param(None, id="direct"),
    pytest.param("HTTP_PROXY", id="requests-via-a-proxy"),
    pytest.param("HTTPS_PROXY", id="requests-via-a-proxy-tunnel"),
])
def test_without_a_watchdog_timeout_bounds_a_post_against_a_dripping_server(
        proxy: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    # Without a watchdog (a first POST at interpreter exit, where Python 3.12+ starts no
    # thread), a socket timeout per read alone would let a server dripping a byte every
    # 0.1 s hold a 0.3 s POST for as long as it drips: the reads share what is left of
    # the timeout. With a proxy (the requests route) the dripping server is the proxy:
    # it drips its answer to the POST, or to the CONNECT of an https URL (a status line
    # at once, then a header line a byte at a time). Judged by how much of the answer
    # the client waited for.
    without_watchdog(monkeypatch)
    server = DripServer(interval=0.1, max_bytes=40, prefix=b"HTTP/1.1 200 OK\r\n")
    api = server.url
    if proxy is not None:
        monkeypatch.setenv(proxy, server.url)
        api = "https://metrics.test" if proxy == "HTTPS_PROXY" else "http://metrics.test"
    transport = make_transport(api, timeout=0.3)
    assert transport.route == ("direct" if proxy is None else "requests")
    try:
        with pytest.raises(requests.RequestException):
            transport.post_logs(b"[]")
        transport.close()
        wait_until(lambda: server.sent)
    finally:
        server.close()
    assert server.sent[0] < 20, server.sent  # a few bytes (about 0.3 s), not 40 (4 s)


# -- the watchdog -------------------------------------------------------------------------


class _Held:
    """Something the watchdog can cut: it shuts down ``sock``."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock


def test_a_short_limit_fires_while_a_long_one_is_waiting() -> None:
    # The watchdog sleeps until the earliest deadline it knows of; a later, shorter
    # limit must wake it, or that exchange would run until the long one's deadline.
    long_pair, short_pair = socket.socketpair(), socket.socketpair()
    for sock in (*long_pair, *short_pair):
        sock.settimeout(20.0)  # the guard if the watchdog never cuts
    long_limit: list[watchdog.Limit] = []

    def long_exchange() -> None:
        with watchdog.limit(30.0) as current:
            long_limit.append(current)
            watchdog.watch(_Held(long_pair[0]))
            long_pair[0].recv(1)  # ended by the test below, not by the watchdog

    thread = threading.Thread(target=long_exchange)
    thread.start()
    wait_until(lambda: long_limit)
    try:
        with watchdog.limit(0.3) as short:
            watchdog.watch(_Held(short_pair[0]))
            assert short_pair[0].recv(1) == b""  # shut down at 0.3 s, not at 30 s
        assert short.fired
    finally:
        long_pair[1].sendall(b"x")
        thread.join()
        for sock in (*long_pair, *short_pair):
            sock.close()
    assert not long_limit[0].fired


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_watchdog_thread_that_ended_is_started_again_by_the_next_limit() -> None:
    # Each POST asks whether the watchdog thread runs by a reference the thread clears as
    # it ends (not Thread.is_alive(), three Python calls). Ended (here by an errand that
    # raises what _run_errand does not catch), the next limit must start another and
    # still be cut at its deadline.
    with watchdog.limit(5.0):  # the watchdog thread runs from here on
        pass
    first = watchdog.state.thread
    assert first is not None

    def end_the_thread() -> None:
        raise SystemExit  # not an Exception: it ends the watchdog thread

    watchdog.run_soon(end_the_thread)
    first.join(10)
    assert not first.is_alive()
    pair = socket.socketpair()
    for sock in pair:
        sock.settimeout(20.0)  # the guard if the watchdog never cuts
    try:
        with watchdog.limit(0.3) as current:
            watchdog.watch(_Held(pair[0]))
            assert pair[0].recv(1) == b""  # shut down by a new watchdog thread
        assert current.watched and current.fired
    finally:
        for sock in pair:
            sock.close()
    assert watchdog.state.thread is not None and watchdog.state.thread is not first
