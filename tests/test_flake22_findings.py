"""flake22: a log missing for 30 s under uvicorn in inline mode (a fresh CI, load ~7).

tests/test_hostile18_findings.py's two-Cookie case under uvicorn: "collector got 0 logs,
expected 1" after PATIENCE (30 s), the server's output clean. The served apps run in
inline mode (``server_env``), where a request's POST is one attempt within ``timeout``,
and one that fails is tried again only at the next request, a ``flush()`` or the exit
(docs/DELIVERY.md, Serverless / tests): the one request's log then waits in the server's
queue while the test waits, and the server's exit flush sends it once the test gave up.
A collector that drops the first POST shows that exactly (0 logs while serving, the log
at the exit, the same clean output). On a loaded machine the POST that failed was one
cut at ``README_TIMEOUT`` of 5 s, a stall of the server's process before the collector
read it: shorter than the test's own patience. The served apps' POSTs now wait
``PATIENCE`` (a POST cut there fails a test that gave up anyway), and a LogsMissing
under :func:`serve` says what the server's exit delivered after the test gave up.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.support.fake_api import Collector, LogsMissing, Reply, free_port
from tests.support.polling import PATIENCE
from tests.test_asgi_servers import SERVERS as ASGI_SERVERS
from tests.test_e2e_servers import serve, server_env


def test_a_served_apps_post_waits_as_long_as_the_test_waits_for_its_log(
        collector: Collector) -> None:
    """Inline mode does not try a failed POST again while no request comes: a POST bound
    shorter than PATIENCE turned a stall between the two into a log missing."""
    assert float(server_env(collector)["README_TIMEOUT"]) >= PATIENCE


@pytest.mark.e2e
def test_a_log_left_queued_by_a_failed_post_is_said_to_have_come_at_the_servers_exit(
        collector: Collector, tmp_path: Path) -> None:
    collector.replies.append(Reply(drop=True))  # the first POST fails; later ones not
    port = free_port()
    env = server_env(collector, DJANGO_SETTINGS_MODULE="tests.support.asgi_apps")
    argv = ASGI_SERVERS["uvicorn"](port, "tests.support.asgi_apps:starlette_app")
    with pytest.raises(LogsMissing) as missing, serve(argv, env, tmp_path, port) as base:
        answer = requests.get(f"{base}/hello", headers={"X-Api-Key": "owlbert-flake22"},
                              timeout=PATIENCE)
        assert answer.status_code == 200
        # The log waits for the next request, a flush or the exit: none comes here.
        collector.wait_for_logs(1, timeout=0)
    said = str(missing.value)
    assert "after the test gave up, until the server stopped: 1 more logs arrived" in said, said
    assert "the collector failed 1 POSTs in all" in said, said
    assert "Uvicorn running on" in said, said  # the server's output, as before
    assert [log["request"]["log"]["entries"][0]["request"]["url"]
            for log in collector.logs] == [f"{base}/hello"]
