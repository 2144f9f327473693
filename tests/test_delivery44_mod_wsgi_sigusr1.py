"""A SIGUSR1 sent to a mod_wsgi daemon process alone (delivery44).

``kill -USR1 <daemon pid>`` restarts that one daemon process: mod_wsgi's notice says
``graceful_signal`` and only mod_wsgi's own reaper follows (``--shutdown-timeout``, 5 s).
Apache's stop or restart (``apachectl graceful`` too) never sends SIGUSR1 to a daemon
process (Apache 2.4.71: its pool's cleanup SIGTERMs it, the notice says
``shutdown_signal``, and SIGKILLs it 3 s later). The library took ``graceful_signal``
for Apache's restart: its close gave up 2.4 s after the SIGUSR1, said "Apache's stop or
restart, 3s after its signal", where the daemon process had 5 s.

A real Apache + mod_wsgi (``mod_wsgi-express``, daemon mode), a collector on 127.0.0.1
that answers no POST in time: the words of the close's line say which bound it kept.
Skipped where mod_wsgi-express or Apache is not installed.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any, Callable

import pytest

from readme_metrics.delivery import gunicorn_stop
from tests.support.fake_api import Collector, Reply
from tests.support.mod_wsgi_daemon import daemon_fixture  # noqa: F401 (``daemon``)
from tests.support.mod_wsgi_express import Express, serve, unavailable
from tests.support.polling import wait_until
from tests.support.runserver import children

REASON = unavailable()
#: An API slower than any bound at a stop: no POST begun is answered in time.
NEVER = 30.0


def _daemon_process(server: Express) -> int:
    """The one mod_wsgi daemon process (``(wsgi:...)``) under Apache's master."""
    found: list[int] = []

    def one() -> bool:
        found[:] = [pid for pid in children(server.process.pid)
                    if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"(wsgi:")]
        return len(found) == 1
    wait_until(one, 60)
    return found[0]


@pytest.mark.skipif(REASON is not None, reason=REASON or "")
@pytest.mark.timeout(240)
def test_sigusr1_to_the_daemon_process_keeps_mod_wsgis_shutdown_timeout() -> None:
    """40 calls, the API answering none in time, SIGUSR1 to the daemon process: its
    close keeps mod_wsgi's ``--shutdown-timeout`` (5 s), and says the 40 logs before
    the reaper; then SIGUSR1 to Apache (``apachectl graceful``) is Apache's 3 s kill,
    said so. Before: the first said "Apache's stop or restart, 3s after its signal" and
    gave up 2.4 s after the signal."""
    collector = Collector().start()
    collector.default = Reply(delay=NEVER)
    try:
        server = Express("plain", collector.url, "--processes", "1", "--threads", "5")
        with server:
            assert serve(server.url, 40) == [200] * 40
            os.kill(_daemon_process(server), signal.SIGUSR1)
            wait_until(lambda: server.said_lost() >= 40, 60)
            log = server.log
            assert "this daemon process ending (a SIGUSR1 sent to it)" in log, log
            assert "mod_wsgi's --shutdown-timeout (5s as mod_wsgi-express set it)" in log, log
            assert "Apache's stop or restart" not in log, log
            # mod_wsgi starts a new daemon process: Apache's graceful restart then.
            assert serve(server.url, 10, start=40) == [200] * 10
            server.signal(signal.SIGUSR1)
            wait_until(lambda: server.said_lost() >= 50, 60)
            log = server.stop()
        assert "Apache's stop or restart, 3s after its signal" in log, log
        assert server.said_lost() == 50, log
        assert "Traceback" not in log, log
    finally:
        collector.stop()


@pytest.mark.parametrize("reason", ["graceful_signal", "eviction_signal"])
def test_a_sigusr1_of_its_own_is_mod_wsgis_bound_not_apaches(
        daemon: list[Callable[..., Any]], reason: str) -> None:
    """The notice's ``graceful_signal`` (and ``eviction_signal``): mod_wsgi's 5 s, not
    Apache's 3 s (before: 3 s, "Apache's stop or restart")."""
    daemon[0]({"shutdown_reason": reason})
    bound, limit = gunicorn_stop.close_bound(10.0)
    assert limit is not None and float(limit) == 5.0
    assert 3.5 < bound <= 4.0
    assert "(a SIGUSR1 sent to it)" in limit.said()
    assert "--shutdown-timeout" in limit.advice()
