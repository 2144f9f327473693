"""The ports the tests' servers get (tests/support/ports.py), and what ``serve`` says when
a server's logs do not all arrive.

A CI run failed with "collector got 0 logs, expected 1" while the same test passed every
time alone: a port found by binding port 0 was handed to a bind of port 0 elsewhere (the
other xdist worker's collector, its ``free_port``) before the test's server bound it. The
server died of "Address already in use", unseen: the other one answered the requests,
and its collector got the log.
"""

from __future__ import annotations

import re
import socket
import sys
from pathlib import Path

import pytest

from tests.support import ports
from tests.support.fake_api import Collector, LogsMissing
from tests.support.polling import wait_until
from tests.test_e2e_servers import serve, server_env

ROOM = ports._ephemeral_start() > ports.LOWEST + 100


@pytest.mark.skipif(not ROOM, reason="no room below the kernel's ephemeral ports")
def test_a_port_is_none_the_kernel_hands_out_for_port_0() -> None:
    """Before the fix: every one was in the ephemeral range, as a bind of port 0 is."""
    got = [ports.free_port() for _ in range(50)]
    assert all(ports.LOWEST <= port < ports._ephemeral_start() for port in got), got
    assert len(set(got)) == len(got)  # in turn: none again soon after


def test_xdist_workers_take_ports_of_their_own(monkeypatch: pytest.MonkeyPatch) -> None:
    shares = []
    for worker in ("gw0", "gw1", "gw2"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "3")
        shares.append(set(ports._share()))
    assert all(shares)
    assert not (shares[0] & shares[1] or shares[0] & shares[2] or shares[1] & shares[2])


@pytest.mark.skipif(not ROOM, reason="no room below the kernel's ephemeral ports")
def test_a_port_in_use_is_passed_over() -> None:
    ports.free_port()  # the list is made
    taken = ports._ports[ports._next]
    with socket.create_server(("127.0.0.1", taken)):
        assert ports.free_port() != taken


def test_a_server_whose_port_was_taken_says_so_when_logs_are_missing(
        collector: Collector, tmp_path: Path) -> None:
    """Another server (here a collector) holds the port: it answers the probe, so the
    test talks to it. The wait for logs fails, and says what the test's server said."""
    squatter = Collector().start()
    try:
        port = squatter.port
        server = ("import socket, sys, time\n"
                  "try:\n"
                  "    socket.socket().bind(('127.0.0.1', int(sys.argv[1])))\n"
                  "except OSError as exc:\n"
                  "    print('cannot listen:', exc, flush=True)\n"
                  "time.sleep(60)\n")
        said = tmp_path / f"server-{port}.log"
        with pytest.raises(LogsMissing) as failed, serve(
                [sys.executable, "-c", server, str(port)], server_env(collector), tmp_path,
                port):
            # (the whole line: unbuffered, print writes "cannot listen:", " ", the error
            # and "\n" apart, and CI78 at a load of ~20 read the first piece only)
            wait_until(lambda: re.search(r"cannot listen: .+\n", said.read_text()))
            collector.wait_for_logs(1, timeout=0)
    finally:
        squatter.stop()
    message = str(failed.value)
    assert message.startswith("collector got 0 logs, expected 1\n")
    assert f"--- server-{port}.log (stopped since) ---\ncannot listen: " in message
