"""delivery84: daphne's stop with a pipelined request: the view's answer, behind an
earlier answer's end in Twisted's buffer, is logged as what the client got.

A raw client sends ``GET /big`` (16 MiB) and ``GET /sync`` on one connection and reads
nothing until daphne exited; its receive buffer is small, so most of /big's answer
stays in Twisted's buffer. /sync's view (the sync chain, delivery59) is in flight at the
SIGTERM and returns once daphne's stop cancelled Django's handler; the site holds
daphne's stop until daphne took /sync's answer (behind /big's end). The stop's close
drops both: the client gets a part of /big and no byte of /sync. Before, /sync was
logged as the view's 200 with its body (flaky55: 3 of 3): the pipelined request runs
in the first one's asgiref thread-sensitive context (daphne makes its app instance
from the first one's task), so the chain's thread never saw the handler leave, and the
wire, when read, took /big's tail for /sync's start ("in part").

/big's answer was finished before the stop: logged whole (a limit the docs say).
Real parts: daphne in a subprocess, a real Django site, the loopback collector, a raw
socket. Nothing timed: files and the site's holds order it.
"""

from __future__ import annotations

import signal
import socket
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.command import app_environment
from tests.support.fake_api import Collector
from tests.support.har_check import assert_valid_log
from tests.support.polling import wait_until
from tests.support.ports import free_port
from tests.support.processes import end_stragglers, start_server
from tests.test_delivery56_django_cancelled import SITE as D56_SITE
from tests.test_delivery56_django_cancelled import _answers, _daphne

pytest.importorskip("django", minversion="5.0")
pytest.importorskip("daphne")
pytestmark = pytest.mark.e2e

BIG = 16 << 20  # far more than the kernel's buffers hold for a client that reads none

SITE = D56_SITE + textwrap.dedent("""
    from django.http import HttpResponse

    def big_view(request):
        return HttpResponse(b"x" * int(os.environ["D84_BIG"]), content_type="text/plain")
    urlpatterns.append(path("big", big_view))

    _app84 = app

    async def app(scope, receive, send):  # (daphne's stop held until it took /sync's
        try:                               # answer, 20 s at most)
            return await _app84(scope, receive, send)
        finally:
            if scope["type"] == "http" and scope["path"] == "/sync":
                for _ in range(2000):
                    if send.args[0].finished:
                        break
                    await asyncio.sleep(0.01)
""")


def test_a_pipelined_answer_behind_an_earlier_ones_end_is_logged_as_none_reached(
        collector: Collector, tmp_path: Path) -> None:
    (tmp_path / "d84_site.py").write_text(SITE)
    entered, release = tmp_path / "entered", tmp_path / "release"
    cancelled, idle = tmp_path / "cancelled", tmp_path / "idle"
    port, err = free_port(), tmp_path / "err"
    env = app_environment(collector.url, tmp_path, D54_ENTERED=str(entered),
                          D54_RELEASE=str(release), D56_CANCELLED=str(cancelled),
                          D56_IDLE=str(idle), D54_SYNC_CHAIN="1", D84_BIG=str(BIG))
    with open(err, "wb") as err_file:
        process = start_server([sys.executable, "-m", *_daphne(port), "d84_site:app"],
                               cwd=tmp_path, env=env, stdout=err_file, stderr=err_file)
    got = b""
    try:
        wait_until(lambda: _answers(port))
        conn = socket.socket()
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)  # (no autotuning)
        conn.settimeout(30)
        conn.connect(("127.0.0.1", port))
        with conn:
            conn.sendall(b"GET /big HTTP/1.1\r\nHost: d84\r\n\r\n"
                         b"GET /sync HTTP/1.1\r\nHost: d84\r\n\r\n")
            wait_until(entered.exists)  # (/sync's view: daphne took it once /big finished)
            wait_until(idle.exists)
            process.send_signal(signal.SIGTERM)
            # Django's handler cancelled (the site's mark; or daphne's word, its cancel
            # having ended the pipelined handler at once: no context of its own to exit)
            wait_until(lambda: cancelled.exists() or b"Killed" in err.read_bytes())
            release.touch()
            process.wait(60)  # (the client reads only once daphne closed and exited)
            try:
                while chunk := conn.recv(1 << 20):
                    got += chunk
            except OSError as error:
                got += repr(error).encode()
    finally:
        release.touch()
        process.kill()
        end_stragglers(process)
        process.wait(10)
    said = err.read_text(errors="replace")
    # the order made: a part of /big, none of /sync
    assert got.startswith(b"HTTP/1.1 200") and got.count(b"HTTP/1.1 ") == 1, (got[:200], said)
    assert len(got) < BIG and b'{"slow": true}' not in got, (len(got), said)
    logs = collector.wait_for_logs(3)
    for log in logs:
        assert_valid_log(log)
    entries = {log["request"]["log"]["entries"][0]["request"]["url"].rpartition("/")[2]:
               log["request"]["log"]["entries"][0] for log in logs}
    assert sorted(entries) == ["big", "quick", "sync"], said
    response = entries["sync"]["response"]
    assert (response["status"], response["content"]["size"]) == (500, 0), (response, said)
    assert response["comment"] == (
        "no answer reached the client: the server closed the connection at its stop "
        "with the app's answer still unwritten; the app answered 200"), response
    # /big's answer was finished before the stop: logged as the app handed it over (the
    # docs' limit: the server's buffers after that are not read)
    assert entries["big"]["response"]["status"] == 200
