"""Which client carries a POST (proxies), and HTTPS verified as requests verifies it.

Real servers on 127.0.0.1: the recording collector (plain and behind TLS with a CA made
for the test by ``openssl``) and a tiny forward proxy that forwards and tunnels.
"""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.drip import DripServer
from tests.support.fake_api import Collector, basic_auth
from tests.support.polling import wait_until
from tests.support.processes import run_command
from tests.support.proxy import Proxy
from tests.support.tls import Certificates, TLSCollector, make_certificates, server_context
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


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("certificates"))


@pytest.fixture
def tls_collector(certificates: Certificates) -> Iterator[TLSCollector]:
    server = TLSCollector(certificates)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# -- which route: proxies ---------------------------------------------------------------


@pytest.mark.parametrize(("url", "environment", "route"), [
    pytest.param("http://api.test", {}, "direct", id="no-proxy"),
    pytest.param("https://api.test", {}, "direct", id="https-no-proxy"),
    pytest.param("http://api.test", {"HTTP_PROXY": "http://p.test:3128"}, "requests",
                 id="http-proxy"),
    pytest.param("http://api.test", {"http_proxy": "http://p.test:3128"}, "requests",
                 id="lower-case-http-proxy"),
    pytest.param("http://api.test", {"HTTPS_PROXY": "http://p.test:3128"}, "direct",
                 id="https-proxy-for-http-url"),
    pytest.param("https://api.test", {"HTTPS_PROXY": "http://p.test:3128"}, "requests",
                 id="https-proxy"),
    pytest.param("https://api.test", {"ALL_PROXY": "socks5://p.test:1080"}, "requests",
                 id="all-proxy"),
    pytest.param("https://api.test", {"HTTPS_PROXY": "http://p.test:3128",
                                      "NO_PROXY": "api.test"}, "direct", id="no-proxy-host"),
    pytest.param("https://api.test", {"HTTPS_PROXY": "http://p.test:3128",
                                      "NO_PROXY": "*"}, "direct", id="no-proxy-star"),
    pytest.param("https://user:pw@api.test", {}, "requests", id="credentials-in-url"),
])
def test_route_follows_the_proxy_settings_requests_reads(
        url: str, environment: dict[str, str], route: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    transport = make_transport(url)
    assert transport.route == route
    transport.close()


# Without a watchdog (at interpreter exit) the session's answers are read within what is
# left of the timeout (session._Response): the same POSTs must go through.
WATCHDOG = [pytest.param(True, id="watchdog"), pytest.param(False, id="no-watchdog")]


@pytest.mark.parametrize("watched", WATCHDOG)
def test_environment_proxy_is_honoured(collector: Collector, watched: bool,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    if not watched:
        without_watchdog(monkeypatch)
    proxy = Proxy()
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    try:
        transport = make_transport(collector.url)
        assert transport.route == "requests"
        for _ in range(2):
            assert transport.post_logs(b"[]").status_code == 202
        transport.close()
    finally:
        proxy.stop()
    assert proxy.seen == [("POST", collector.url + "/v1/request")] * 2
    assert [received.path for received in collector.received] == ["/v1/request"] * 2
    assert lower(collector.received[0].headers)["authorization"] == basic_auth(API_KEY)


def test_no_proxy_bypasses_the_proxy(collector: Collector,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = Proxy()
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    try:
        transport = make_transport(collector.url)
        assert transport.route == "direct"
        assert transport.post_logs(b"[]").status_code == 202
        transport.close()
    finally:
        proxy.stop()
    assert proxy.seen == []
    assert collector.received[0].path == "/v1/request"


@pytest.mark.parametrize("watched", WATCHDOG)
def test_https_through_a_proxy_tunnel_with_the_ca_bundle(
        tls_collector: TLSCollector, certificates: Certificates, watched: bool,
        monkeypatch: pytest.MonkeyPatch) -> None:
    if not watched:
        without_watchdog(monkeypatch)
    proxy = Proxy()
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificates.ca))
    try:
        transport = make_transport(tls_collector.url)
        assert transport.route == "requests"
        for _ in range(2):
            assert transport.post_logs(b"[]").status_code == 202
        transport.close()
    finally:
        proxy.stop()
    assert proxy.seen == [("CONNECT", f"localhost:{tls_collector.port}")]  # one tunnel
    assert len(tls_collector.received) == 2


# -- HTTPS: certificates verified as requests does ----------------------------------------


@pytest.mark.parametrize("direct", ROUTES)
@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_https_with_the_ca_bundle_from_the_environment(
        tls_collector: TLSCollector, certificates: Certificates, variable: str,
        direct: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(variable, str(certificates.ca))
    transport = make_transport(tls_collector.url, direct)
    for _ in range(3):
        assert transport.post_logs(b"[]").status_code == 202
    transport.close()
    assert len(tls_collector.received) == 3
    assert len({received.peer for received in tls_collector.received}) == 1  # kept alive
    assert tls_collector.server_names == ["localhost"]  # SNI, one handshake
    assert lower(tls_collector.received[0].headers)["host"] == f"localhost:{tls_collector.port}"


@pytest.mark.parametrize("direct", ROUTES)
def test_https_with_a_ca_directory_from_the_environment(
        tls_collector: TLSCollector, certificates: Certificates, tmp_path: Path,
        direct: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    # A directory is a CA path (hashed names, as `openssl rehash` makes), as in requests.
    directory = tmp_path / "cas"
    directory.mkdir()
    shutil.copy(certificates.ca, directory / "test-ca.pem")
    run_command(["openssl", "rehash", str(directory)], check=True, capture_output=True)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(directory))
    transport = make_transport(tls_collector.url, direct)
    assert transport.post_logs(b"[]").status_code == 202
    transport.close()
    assert len(tls_collector.received) == 1


@pytest.mark.parametrize("direct", ROUTES)
def test_https_refuses_a_certificate_no_trusted_ca_signed(tls_collector: TLSCollector,
                                                          direct: bool) -> None:
    # Without the test CA only certifi's bundle is trusted: the handshake must fail.
    transport = make_transport(tls_collector.url, direct)
    with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        transport.post_logs(b"[]")
    transport.close()
    assert tls_collector.received == []


@pytest.mark.parametrize("direct", ROUTES)
def test_https_refuses_a_host_name_the_certificate_does_not_name(
        tls_collector: TLSCollector, certificates: Certificates, direct: bool,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificates.ca))
    transport = make_transport(f"https://127.0.0.1:{tls_collector.port}", direct)
    with pytest.raises(requests.exceptions.SSLError):
        transport.post_logs(b"[]")
    transport.close()
    assert tls_collector.received == []


@pytest.mark.parametrize("direct", ROUTES)
def test_a_silent_https_server_is_bounded_by_timeout(direct: bool) -> None:
    # It accepts the connection and never says a word: the TLS handshake itself waits,
    # and the POST still ends at its deadline (judged by the exception, not a clock).
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        port = listener.getsockname()[1]
        transport = make_transport(f"https://localhost:{port}", direct, timeout=0.5)
        with pytest.raises(requests.Timeout):
            transport.post_logs(b"[]")
        transport.close()
    finally:
        listener.close()


@pytest.mark.parametrize("direct", ROUTES)
@pytest.mark.parametrize("prefix", [
    pytest.param(b"", id="headers-dripped"),
    pytest.param(b"HTTP/1.1 202 Accepted\r\nContent-Length: 100\r\n\r\n", id="body-dripped"),
])
def test_timeout_bounds_the_whole_post_against_a_server_dripping_over_tls(
        certificates: Certificates, prefix: bytes, direct: bool,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The default Metrics API URL is https: the deadline must reach the TLS socket, not
    # the plain one it wrapped. Judged by how much of the answer the client waited for.
    # Cut in the body, the POST ends with the status that came (the API's verdict).
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificates.ca))
    server = DripServer(interval=0.4, max_bytes=100, prefix=prefix,
                        context=server_context(certificates))
    transport = make_transport(server.url, direct, timeout=1.0)
    try:
        if prefix:
            started = time.monotonic()
            assert transport.post_logs(b"[]").status_code == 202
            elapsed = time.monotonic() - started
            transport.close()
        else:
            elapsed = seconds_to_time_out(transport)
        wait_until(lambda: server.sent)
    finally:
        server.close()
    assert server.requests == 1
    assert server.sent[0] < 12, server.sent  # a few bytes (about 1 s), not 100 (40 s)
    assert elapsed < 10.0


@pytest.mark.parametrize("direct", ROUTES)
def test_a_missing_ca_bundle_fails_each_post_not_the_app(
        tls_collector: TLSCollector, tmp_path: Path, direct: bool,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "missing.pem"))
    transport = make_transport(tls_collector.url, direct)  # constructing never raises
    with pytest.raises(requests.ConnectionError):
        transport.post_logs(b"[]")
    transport.close()


@pytest.mark.parametrize("direct", ROUTES)
def test_repr_does_not_show_the_key(collector: Collector, direct: bool) -> None:
    transport = make_transport(collector.url, direct)
    assert API_KEY not in repr(transport)
    assert basic_auth(API_KEY).split()[1] not in repr(transport)
    transport.close()
