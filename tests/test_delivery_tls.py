"""A TLS failure no retry can heal fails the batch at once (delivery, SPEC section 7).

An ``https://`` Metrics API that speaks plain HTTP, or whose certificate does not verify,
was retried five times (about 7.5 s of backoff) before the one warning, which named
neither. Real servers on 127.0.0.1: the plain collector, and the collector behind TLS
with a certificate of a CA made for the test (not trusted here: only certifi's bundle is).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator
from typing import Callable

import pytest
import requests
import urllib3

from readme_metrics.delivery.policy import FAIL, RETRY, outcome_of_error
from readme_metrics.delivery.sender import Sender
from tests.support.delivery import (
    API_KEY,
    MakeDelivery,
    adds_up,
    build_id,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    messages,
)
from tests.support.fake_api import Collector
from tests.support.polling import wait_until
from tests.support.tls import Certificates, TLSCollector, make_certificates
from tests.support.transports import ROUTES, make_transport

# No proxy or CA bundle from the machine; the API key in no log record (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("transport_guards")


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[tuple[TLSCollector, Certificates]]:
    """The collector behind TLS, for the module (no POST here gets as far as to be
    recorded), and its certificates, of a CA made for the test and trusted nowhere."""
    certificates = make_certificates(tmp_path_factory.mktemp("certificates"))
    server = TLSCollector(certificates)
    server.start()
    try:
        yield server, certificates
    finally:
        server.stop()


# The https:// URL of a server that fails TLS, whether the test CA is trusted, what the
# warning says, and OpenSSL's reason.
Failing = Callable[[Collector, TLSCollector], str]
CASES = [
    pytest.param(lambda plain, tls: f"https://127.0.0.1:{plain.port}", False,
                 "does not speak TLS", "WRONG_VERSION_NUMBER", id="plain-http-server"),
    pytest.param(lambda plain, tls: tls.url, False, "certificate does not verify",
                 "CERTIFICATE_VERIFY_FAILED", id="certificate-no-trusted-ca-signed"),
    pytest.param(lambda plain, tls: f"https://127.0.0.1:{tls.port}", True,
                 "certificate does not verify", "CERTIFICATE_VERIFY_FAILED",
                 id="host-name-not-in-the-certificate"),
]


@pytest.mark.parametrize("direct", ROUTES)
@pytest.mark.parametrize(("url", "trusted", "meaning", "reason"), CASES)
def test_an_unhealing_tls_failure_is_no_retry_on_either_route(
        collector: Collector, tls_server: tuple[TLSCollector, Certificates], url: Failing,
        trusted: bool, meaning: str, reason: str, direct: bool,
        monkeypatch: pytest.MonkeyPatch) -> None:
    tls_collector, certificates = tls_server
    if trusted:  # the certificate then fails on the host name alone
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificates.ca))
    sender = Sender(make_transport(url(collector, tls_collector), direct), build_id, API_KEY)
    outcome = sender.post(b"[]", 5.0)
    sender.transport.close()
    assert outcome.verdict == FAIL, outcome
    if trusted and not direct and urllib3.__version__.startswith("1."):
        reason = "doesn't match"  # urllib3 1.x checks the host name itself (tox -e min)
    assert meaning in outcome.cause and reason in outcome.cause, outcome.cause
    assert collector.received == [] and tls_collector.received == []


def test_a_refused_connection_is_still_retried(collector: Collector) -> None:
    port = collector.port
    collector.stop()  # nothing listens there now
    sender = Sender(make_transport(f"https://127.0.0.1:{port}"), build_id, API_KEY)
    outcome = sender.post(b"[]", 5.0)
    sender.transport.close()
    assert outcome.verdict == RETRY, outcome


@pytest.mark.parametrize(("url", "trusted", "meaning", "reason"), CASES[:2])
def test_an_unhealing_tls_failure_drops_the_batch_at_once_with_one_warning(
        collector: Collector, tls_server: tuple[TLSCollector, Certificates],
        make_delivery: MakeDelivery, caplog: pytest.LogCaptureFixture, url: Failing,
        trusted: bool, meaning: str, reason: str) -> None:
    tls_collector = tls_server[0]
    delivery = make_delivery(url(collector, tls_collector), buffer_length=2)
    for name in ("a", "b", "c", "d"):
        delivery.submit(item(name))
    wait_until(lambda: delivery.stats["dropped"] == 4)
    stats = delivery.stats
    # Two batches of two, or one of four (a backlog makes a larger POST): none retried.
    assert 1 <= stats["failed_batches"] <= 2
    # Counted apart from the batches the API answered with a 4xx (dropped_rejected).
    assert (stats["dropped_tls"], stats["dropped_rejected"], stats["retries"],
            stats["sent"]) == (4, 0, 0, 0)
    assert adds_up(stats)
    warnings = messages(caplog, logging.WARNING, "could not deliver")
    assert len(warnings) == 1, warnings  # rate-limited per kind, as the others
    assert meaning in warnings[0] and reason in warnings[0] and "retrying cannot help" in (
        warnings[0])
    assert collector.received == [] and tls_collector.received == []


@pytest.mark.parametrize(("error", "verdict"), [
    pytest.param(requests.exceptions.SSLError(
        "SSLError: [SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)"), FAIL,
        id="wrong-version-number"),
    pytest.param(requests.exceptions.SSLError(
        "SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
        "failed: certificate has expired (_ssl.c:1006)"), FAIL, id="certificate-expired"),
    # The TLS failures a retry may heal: a connection cut during the handshake.
    pytest.param(requests.exceptions.SSLError(
        "SSLEOFError: [SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of "
        "protocol (_ssl.c:1006)"), RETRY, id="eof-in-handshake"),
    # urllib3 1.x checks the host name itself, after the handshake: no OpenSSL reason.
    pytest.param(requests.exceptions.SSLError(urllib3.exceptions.MaxRetryError(
        None, "/v1/request", urllib3.exceptions.SSLError(ssl.SSLCertVerificationError(
            "hostname '127.0.0.1' doesn't match 'localhost'")))), FAIL,
        id="host-name-mismatch-urllib3-1"),
    # The same on Python 3.12+, which has no ssl.match_hostname: urllib3 1.x's own
    # CertificateError (a ValueError) then (tox -e min on 3.13, urllib3 1.26.5).
    pytest.param(requests.exceptions.SSLError(urllib3.exceptions.MaxRetryError(
        None, "/v1/request", urllib3.exceptions.SSLError(
            type("CertificateError", (ValueError,), {})(
                "hostname '127.0.0.1' doesn't match 'localhost'")))), FAIL,
        id="host-name-mismatch-urllib3-1-python-3.12"),
    pytest.param(requests.ConnectionError("ConnectionResetError: reset"), RETRY, id="reset"),
    # Only an SSLError says it: the words elsewhere (a proxy's text) are no TLS failure.
    pytest.param(requests.ConnectionError("proxy said CERTIFICATE_VERIFY_FAILED"), RETRY,
                 id="words-outside-an-ssl-error"),
    pytest.param(requests.Timeout("no complete answer within 3s"), RETRY, id="timeout"),
])
def test_outcome_of_error(error: Exception, verdict: str) -> None:
    assert outcome_of_error(error).verdict == verdict


@pytest.mark.parametrize("direct", ROUTES)
def test_a_tls_failure_is_told_once_on_either_route(collector: Collector, direct: bool) -> None:
    """An https:// URL for the plain-HTTP collector: the cause read "SSLError: SSLError:
    [SSL: WRONG_VERSION_NUMBER] ..." on the direct route, and on the requests route
    "SSLError: _WatchedHTTPSPool(host=..., port=...): Max retries exceeded with url:
    /v1/request (Caused by SSLError(SSLError(1, '[SSL: WRONG_VERSION_NUMBER] ...')))".
    Either route now says it once, the same way."""
    sender = Sender(make_transport(f"https://127.0.0.1:{collector.port}", direct), build_id,
                    API_KEY)
    outcome = sender.post(b"[]", 5.0)
    sender.transport.close()
    assert outcome.verdict == FAIL, outcome
    meaning = "the server does not speak TLS (an https:// URL for a plain-HTTP server)"
    assert outcome.cause.startswith(f"{meaning}; SSLError: [SSL: WRONG_VERSION_NUMBER] "), (
        outcome.cause)
    assert outcome.cause.count("SSLError") == 1, outcome.cause
    assert outcome.cause.count("WRONG_VERSION_NUMBER") == 1, outcome.cause
    assert "Caused by" not in outcome.cause and "Max retries" not in outcome.cause


def test_the_warning_names_a_tls_failure_once(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture) -> None:
    url = f"https://127.0.0.1:{collector.port}"
    delivery = make_delivery(url, buffer_length=1)
    delivery.submit(item("a"))
    wait_until(lambda: delivery.stats["dropped"] == 1)
    (warning,) = messages(caplog, logging.WARNING, "could not deliver")
    assert warning.startswith(f"readme_metrics: could not deliver a batch of 1 log to {url}"
                              "/v1/request: the server does not speak TLS"), warning
    assert warning.count("SSLError") == 1 and warning.count("WRONG_VERSION_NUMBER") == 1, (
        warning)


@pytest.mark.parametrize(("error", "cause"), [
    pytest.param(requests.exceptions.SSLError(urllib3.exceptions.MaxRetryError(
        None, "/v1/request", urllib3.exceptions.SSLError(ssl.SSLCertVerificationError(
            "hostname '127.0.0.1' doesn't match 'localhost'")))),
        "SSLError: SSLCertVerificationError: hostname '127.0.0.1' doesn't match 'localhost'",
        id="urllib3-1-host-name"),
    pytest.param(requests.ConnectionError(ConnectionRefusedError(111, "Connection refused")),
                 "ConnectionError: ConnectionRefusedError: [Errno 111] Connection refused",
                 id="refused"),
    pytest.param(requests.Timeout("no complete answer within 3s"),
                 "Timeout: no complete answer within 3s", id="timeout"),
    pytest.param(requests.ConnectionError(), "ConnectionError", id="no-message"),
])
def test_a_cause_names_each_kind_once(error: Exception, cause: str) -> None:
    assert outcome_of_error(error).cause.endswith(cause), outcome_of_error(error).cause
