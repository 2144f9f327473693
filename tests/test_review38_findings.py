"""review38: an adversarial read of this session's landings (odds14's Expect:
100-continue capture, review36's collector framing, body deadline and config refusals,
the lead's root-dot Host). Each test failed on main at 6d3439d and passes with its fix.

1. A metrics_api/readme_api_url whose password holds an unencoded ``#``, ``?`` or ``/``
   (generated passwords often do) ends the URL's authority early: urlsplit (as a
   browser) reads ``user:pass`` as a host and a port, the rest as a fragment, query or
   path. The URL is refused ("its port must be a number"), and the refusal quoted it as
   given: shown_url masks a userinfo only up to the first ``/``, ``?`` or ``#`` (as it
   must for a URL that parses), so the password went out in clear, into a traceback or
   a log. A refused URL is now shown masked up to its last ``@``.
2. Found clean and kept as a check: odds14's capture of a body sent with ``Expect:
   100-continue`` on a kept-alive connection, the next request answered as bare.
   granian differs there, and is left out: it closes the bare app's connection after a
   413 to such a request whose body came with its head (unread), and keeps the wrapped
   one (the capture read the body after the answer), serving the next request on it,
   as it does for the same request without Expect, bare too.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from readme_metrics import MetricsApiConfig
from tests.support.fake_api import Collector, free_port
from tests.test_asgi_client_got import ALL, _servers
from tests.test_asgi_conformance import SAFETY, _raw
from tests.test_e2e_servers import MAX_BODY, serve, server_env
from tests.test_odds14_findings import EXPECT, PLAIN, _entries, _lines
from tests.test_slow_client import complete, read_answer

PASSWORD = "review38-pass"  # noqa: S105 - a test value


@pytest.mark.parametrize("value", [
    pytest.param(f"http://owl:{PASSWORD}#x@metrics.example.com", id="hash"),
    pytest.param(f"https://owl:{PASSWORD}?x@metrics.example.com/base", id="question-mark"),
    pytest.param(f"http://owl:{PASSWORD}/x@127.0.0.1:8001", id="slash"),
    pytest.param(f"http://owl:ab#{PASSWORD}@metrics.example.com", id="after-the-hash"),
    pytest.param(f"http://{PASSWORD}#x@metrics.example.com", id="token-as-user"),
    pytest.param(f"owl:{PASSWORD}#x@127.0.0.1:8001", id="no-scheme"),
    pytest.param(f"http:/owl:{PASSWORD}?x@metrics.example.com", id="one-slash"),
])
@pytest.mark.parametrize("option", ["metrics_api", "readme_api_url", "base_log_url"])
def test_a_refused_url_never_shows_a_password_holding_a_delimiter(
        caplog: pytest.LogCaptureFixture, option: str, value: str) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(api_key="rdme_review38_key", grouping_function=lambda r: None,
                         **{option: value})
    message = str(raised.value)
    assert option in message and "***@" in message, message
    assert PASSWORD not in message, message
    assert PASSWORD not in caplog.text


# -- 2. ASGI Expect: 100-continue on a kept-alive connection (found clean, kept) --------

EXPECT_BODY = b'{"kept": "' + b"k" * 6000 + b'"}'


def _kept_expect(port: int, prefix: str, waits: bool) -> bytes:
    """``POST /status?code=413`` with ``Expect: 100-continue`` on a kept-alive
    connection, the app answering without reading; the body sent with the head, or
    after waiting for the answer (a 100, or the 413); then ``GET /hello`` on the same
    connection. All the connection got, to the close."""
    head = _raw(port, prefix, f"{prefix}-{'waits' if waits else 'together'}", "POST",
                "/status?code=413", b"", *EXPECT, length=len(EXPECT_BODY)).replace(
                    b"Connection: close", b"Connection: keep-alive")
    with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as sock:
        if waits:
            sock.sendall(head)
            got = read_answer(sock, SAFETY, until=b"\r\n\r\n")
            if got.startswith(b"HTTP/1.1 100"):  # hypercorn's own, before the app runs
                got += read_answer(sock, SAFETY)
            else:  # the app's answer, whole: its head may come in a write of its own
                while not complete(got) and (chunk := sock.recv(65536)):
                    got += chunk
            sock.sendall(EXPECT_BODY)  # sent all the same, as its framing asks
        else:
            sock.sendall(head + EXPECT_BODY)
            got = read_answer(sock, SAFETY)
        sock.sendall(_raw(port, prefix, f"{prefix}-next-{waits}", "GET", "/hello"))
        return got + b"|" + read_answer(sock, SAFETY)


@pytest.mark.e2e
@pytest.mark.parametrize("server", _servers("uvicorn-h11", "uvicorn-httptools"))
def test_expect_100_continue_keeps_the_next_request_on_the_connection(
        collector: Collector, tmp_path: Path, server: str) -> None:
    """The capture reads a body sent with ``Expect: 100-continue`` once the response
    head is written (odds14): the next request on the same connection is answered as
    the bare app's, neither read as body nor held back; each call logged once, the
    body sent with its head logged. (hypercorn closes the connection after such an
    exchange, bare too, and daphne calls the app only once the body is in; granian
    closes the bare app's and keeps the wrapped one's: see the module's note.)"""
    traces = tmp_path / "traces"
    port = free_port()
    with serve(ALL[server](port, PLAIN), server_env(collector, ASGI_TRACES=str(traces)),
               tmp_path, port):
        answers = {(prefix, waits): _lines(_kept_expect(port, prefix, waits), server)
                   for waits in (False, True) for prefix in ("bare", "wrap")}
        entries = _entries(collector, traces)
    for waits in (False, True):
        assert answers["wrap", waits] == answers["bare", waits], waits
        assert answers["wrap", waits][-1] == b"hello", answers["wrap", waits]
    assert sorted(entries) == ["wrap-next-False", "wrap-next-True", "wrap-together",
                               "wrap-waits"]
    together = entries["wrap-together"]
    assert together["response"]["status"] == 413
    assert together["request"]["bodySize"] == len(EXPECT_BODY)
    assert together["request"]["postData"]["text"] == EXPECT_BODY[:MAX_BODY].decode()
