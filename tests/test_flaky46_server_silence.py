"""A raw-socket client's "the server fell silent" counts only while the server sleeps
(flaky46): tests/test_hostile15_servers.py's flask-run row under a load of ~50 read
nothing of Flask's answer to a form of 100,000 fields, the server still working on it
when hostile14's ``read_to_end`` had waited out QUIET (1.5 s) without a byte.

A server here that works (spins) three times the quiet allowed before it answers is
read to its answer; one that waits on the client is left after the quiet, as before.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.support.fake_api import free_port
from tests.support.processes import read_line, start_server, stop_server
from tests.support.server_state import at_work, serving
from tests.test_hostile14_servers import _complete, _read

QUIET = 0.3  # seconds: the silence allowed here (hostile14's QUIET is 1.5)

SERVER = r"""
import socket, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
with socket.create_server(("127.0.0.1", port)) as listening:
    print("ready", flush=True)
    client, _ = listening.accept()
    client.recv(65536)
    if mode == "work":  # at work, silent, for 3 x QUIET of the clock: then the answer
        end = time.monotonic() + 0.9
        while time.monotonic() < end:
            pass
        client.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    client.recv(1)  # waits on the client
"""


@pytest.fixture(params=["work", "wait"])
def connected(request: pytest.FixtureRequest) -> Iterator[tuple[str, socket.socket]]:
    port = free_port()
    process = start_server([sys.executable, "-c", SERVER, str(port), request.param],
                           stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None
        assert read_line(process.stdout, about="the server's start") == b"ready\n"
        with serving(port, process.pid), \
                socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            yield request.param, sock
    finally:
        stop_server(process)


def test_a_silent_server_at_work_is_waited_for_one_waiting_on_the_client_is_left(
        connected: tuple[str, socket.socket]) -> None:
    mode, sock = connected
    got = bytearray()
    _read(sock, got, _complete, QUIET)
    if mode == "work":
        assert bytes(got).endswith(b"\r\n\r\nok"), bytes(got)
    else:
        assert got == b""
        assert not at_work(sock.getpeername()[1])
