"""review87: an adversarial review of the session's first landings (c1e185c and before).

A raw request target without "?" takes QUERY_STRING (c1e185c, for werkzeug's test
environ) only where no server named itself: under a real server, such a target means
the client sent no query, and a QUERY_STRING then is one an outer middleware of the app's
wrote (a rewrite of ``/v1/items/5`` to ``/items?id=5``, an internal token added): SPEC 4
logs the url exactly as received, and c1e185c logged that query, the token in clear,
only for the requests that came without a query of their own.

A check's cut (``DirectPoster.end_check``, close()) was lost when it landed between
``_open``'s look at ``ended()`` and its connect (the connect of a socket shut down before
it began returns at once, as if made), or as the socket was wrapped for TLS (the shutdown
hit the detached descriptor): the GET still went, or waited to the 1 s bound.
"""

from __future__ import annotations

import http.client
from pathlib import Path
from typing import Any, Callable

import pytest

from readme_metrics.config import MetricsApiConfig
from readme_metrics.delivery import direct, watchdog
from readme_metrics.delivery.direct import DirectPoster
from readme_metrics.delivery.resolve import Resolver
from readme_metrics.delivery.transport import Transport
from tests.support.delivery import API_KEY
from tests.support.fake_api import Collector
from tests.support.har_check import assert_valid_log
from tests.support.tls import TLSCollector, make_certificates
from tests.support.wsgi_servers import served
from tests.test_review85_findings import _syn_dropping

_TOKEN = "internal-s3cr3t-token"


def _app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """Reads no body: werkzeug's server gives a GET without Content-Length the socket."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def _rewriting(app: Callable[..., Any]) -> Callable[..., Any]:
    """An outer middleware of the app's: /v1/items/<id> becomes /items?id=<id>, with an
    internal token for the app behind it; a query the client sent is kept after them."""

    def rewrite(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ["PATH_INFO"]
        if path.startswith("/v1/items/"):
            environ["PATH_INFO"] = "/items"
            query = environ.get("QUERY_STRING", "")
            environ["QUERY_STRING"] = "&".join(
                part for part in (f"id={path.rsplit('/', 1)[1]}&token={_TOKEN}", query)
                if part)
        return app(environ, start_response)

    return rewrite


@pytest.mark.parametrize("kind", ["werkzeug", "waitress"])
@pytest.mark.parametrize(("target", "query"), [
    ("/v1/items/5", []),
    ("/v1/items/5?x=1", [{"name": "x", "value": "1"}]),
])
def test_a_query_an_outer_middleware_wrote_is_not_logged_as_received(
        inline_wrap: Any, collector: Collector, kind: str, target: str,
        query: list[dict[str, str]]) -> None:
    """The url (and queryString) are the request target the client sent, with or without
    a query of its own; failed before for the target without one (its url
    ``.../v1/items/5?id=5&token=internal-s3cr3t-token``)."""
    middleware = inline_wrap(_app)
    with served(kind, _rewriting(middleware)) as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("GET", target)
            response = connection.getresponse()
            response.read()
            assert response.status == 200
        finally:
            connection.close()
        [log] = collector.wait_for_logs(1)
    request = log["request"]["log"]["entries"][0]["request"]
    assert request["url"] == f"http://127.0.0.1:{port}{target}"
    assert request["queryString"] == query
    assert _TOKEN not in str(log)
    assert_valid_log(log)


# -- delivery/direct.py: a check cut between its look at ended() and its connect ----------


def _cut_right_after_the_look(poster: DirectPoster) -> Callable[[], bool]:
    """``poster._ended`` whose first call answers False, then close()'s cut lands
    (``end_check``: the flag set, the check's socket shut down): the moment between
    ``_open``'s look and its ``connect``, where a cut is lost."""
    looks: list[bool] = []

    def ended() -> bool:
        if not looks:
            looks.append(True)
            poster.end_check()
            return False
        return poster._checks_ended

    return ended


def test_a_check_cut_just_before_its_connect_writes_no_get(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """end_check() (close) landing after ``_open`` looked at ``ended()`` but before its
    connect, the API's host dropping every SYN: the shutdown of a socket not yet
    connecting is ENOTCONN and does nothing, that connect then returned at once as if
    connected, and the check wrote its GET on a socket still in SYN-SENT, waiting there
    until the watchdog's 1 s bound: the readme-metrics-check thread outlived close() by
    it (1 of 10 runs of answers() racing end_check, /tmp/r87/race0.py). Now ``_open``
    looks again once its connect returns: no GET is written. Failed before (one)."""
    found = _syn_dropping()
    if found is None:
        pytest.skip("no 127.0.0.1 listener that leaves a connect unanswered here")
    port, held = found
    written: list[bytes] = []
    real_write = direct._write_one

    def write(sock: Any, data: bytes, deadline: Any) -> Any:
        written.append(data)
        return real_write(sock, data, deadline)

    monkeypatch.setattr(direct, "_write_one", write)
    try:
        transport = Transport(MetricsApiConfig(
            api_key=API_KEY, metrics_api=f"http://127.0.0.1:{port}",
            grouping_function=lambda req: None))
        poster = transport._poster
        assert isinstance(poster, DirectPoster)
        monkeypatch.setattr(poster, "_ended", _cut_right_after_the_look(poster))
        try:
            assert transport.answers(1.0) is False
            assert written == []
        finally:
            transport.close()
    finally:
        for sock in held:
            sock.close()


def test_a_check_cut_just_before_its_connect_to_a_host_dropping_the_syn_fails() -> None:
    """The same cut on a host that drops every SYN: the connect of a socket shut down
    before it began returns at once as if connected (its poll sees the shutdown), and
    the check went on with a socket that never connected until the watchdog's 1 s bound
    (the thread past close() again). Now ``_open`` raises. Failed before (a socket
    returned)."""
    found = _syn_dropping()
    if found is None:
        pytest.skip("no 127.0.0.1 listener that leaves a connect unanswered here")
    port, held = found
    try:
        resolver = Resolver("127.0.0.1", port)
        line = watchdog.Line()
        ended = [False]

        def cut_after_the_look() -> bool:
            if not ended[0]:
                ended[0] = True
                watchdog.cut(line)
                return False
            return True

        with pytest.raises(OSError):
            direct._open(resolver, 1.0, line, cut_after_the_look).close()
    finally:
        for sock in held:
            sock.close()


def test_a_check_cut_as_its_tls_begins_sends_no_get(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """end_check() (close) landing as the check's socket is wrapped for TLS: wrapping
    detaches the TCP socket, the cut shut down that dead descriptor (EBADF, nothing
    cut), and the handshake and the GET went on to the API's host after close() had cut
    the check. Now the check looks once connected and sends nothing. Failed before (the
    host got the GET)."""
    certificates = make_certificates(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificates.ca))
    server = TLSCollector(certificates).start()
    try:
        transport = Transport(MetricsApiConfig(api_key=API_KEY, metrics_api=server.url,
                                               grouping_function=lambda req: None))
        poster = transport._poster
        assert isinstance(poster, DirectPoster)
        context = poster.context()
        real_wrap = context.wrap_socket

        def wrap(*args: Any, **kwargs: Any) -> Any:
            wrapped = real_wrap(*args, **kwargs)
            poster.end_check()
            return wrapped

        monkeypatch.setattr(context, "wrap_socket", wrap)
        try:
            assert transport.answers(1.0) is False
            assert server.gets == []
        finally:
            transport.close()
    finally:
        server.stop()
