"""flaky33's findings: the raw-socket harness of hostile14/15 (``play``, ``read_to_end``)
left a server silent for QUIET (1.5 s) as one waiting on the client, and so took a
server still at work on a whole request, slow on a loaded machine, for one that answers
nothing (CI61, flask-run, form-100k-fields-echo at a load of 17-40: the wrapped app's
grouping function parses the 100,000 fields before the first byte). The wait now goes
on while the server works (tests/support/server_progress.py), up to SAFETY."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.support.processes import read_line, start_server, stop_server
from tests.support.server_progress import ServerProgress
from tests.test_hostile14_servers import QUIET, play, request

# A server of one request, in a process of its own: "busy" computes for twice QUIET of
# the machine's time (however loaded: more than the silence the harness allowed) before
# its answer; "waiting" reads from its client until the client ends.
SERVER = f"""
import socket, sys, time
listener = socket.create_server(("127.0.0.1", 0))
print(listener.getsockname()[1], flush=True)
conn, _ = listener.accept()
conn.recv(65536)
if sys.argv[1] == "busy":
    until = time.monotonic() + {2 * QUIET}
    while time.monotonic() < until:
        sum(range(1000))
else:
    conn.recv(65536)
conn.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\nConnection: close\\r\\n\\r\\nok")
conn.close()
"""


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[int]:
    process = start_server([sys.executable, "-c", SERVER, request.param],
                           stdout=subprocess.PIPE)
    try:
        yield int(read_line(process.stdout, about="the server's port"))
    finally:
        stop_server(process)


@pytest.mark.parametrize("server", ["busy"], indirect=True)
def test_a_server_busy_past_quiet_is_waited_for(server: int) -> None:
    """A server computing for twice QUIET before its answer: the harness read nothing
    (b'') before, and takes its answer now."""
    got, _ = play(server, "bare", "t", [("send", request(1, "GET", "/x"))])
    assert got.endswith(b"\r\n\r\nok"), got


@pytest.mark.parametrize("server", ["waiting"], indirect=True)
def test_a_server_waiting_on_the_client_is_not_busy(server: int) -> None:
    """A server blocked on its client neither runs nor spends CPU: the harness leaves it
    after QUIET as before."""
    with socket.create_connection(("127.0.0.1", server)) as client:
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        progress = ServerProgress(server)
        client.settimeout(QUIET)
        with pytest.raises(socket.timeout):
            client.recv(1)
        assert not progress.moved()
