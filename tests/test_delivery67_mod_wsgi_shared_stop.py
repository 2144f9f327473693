"""delivery67 (1): two application groups (two sub-interpreters) in one mod_wsgi daemon
process, a slow API, Apache's stop: each interpreter counted its close's bound from its
own notice of the stop, and mod_wsgi tells them one after the other (its table's order,
each notice once the one before returned). The second was told as the first's close
ended, near Apache's kill, and counted 3 s more from there: Apache's SIGKILL took it
midway, its logs lost unsaid. The interpreters now share the stop's time (the first
notice's, :mod:`readme_metrics.delivery.mod_wsgi_shared`): every one ends, or says
what it gives up, before the kill.

A real Apache (mod_wsgi-express), a real collector on 127.0.0.1 answering slowly; every
log is held for the close (a batch of 100, a minute's flush interval): the logs the
collector received and the logs the error log says were not delivered add up to the
calls served. Skipped where mod_wsgi-express or Apache is not installed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.fake_api import Collector, Reply
from tests.support.mod_wsgi_express import APPS, Express, serve, unavailable

REASON = unavailable()
pytestmark = [pytest.mark.skipif(REASON is not None, reason=REASON or ""),
              pytest.mark.timeout(240)]

CALLS = 20
#: An API slower than any bound at a stop: no POST begun is answered in time.
NEVER = 30.0
HELD = {"README_BUFFER_LENGTH": "100", "README_FLUSH_INTERVAL": "60"}


@pytest.fixture
def collector() -> Any:
    api = Collector().start()
    yield api
    api.stop()


def _two_groups(collector: Collector, tmp_path: Path, second: str) -> Express:
    include = tmp_path / "second.conf"
    include.write_text(f"<Directory {Path(APPS).parent}>\n    Require all granted\n"
                       f"</Directory>\nWSGIScriptAlias /second {APPS} "
                       f"process-group=bb16 application-group={second}\n")
    return Express("plain", collector.url, "--processes", "1", "--threads", "5",
                   "--process-group", "bb16", "--application-group", "bb16",
                   "--include-file", str(include), env=HELD)


@pytest.mark.parametrize("second", ["second", "%{GLOBAL}"])
def test_two_groups_a_slow_api_every_log_said_before_apaches_kill(
        collector: Collector, tmp_path: Path, second: str) -> None:
    """The API never answering in time, SIGTERM to Apache: each interpreter's close
    says its 20 logs before the kill. Failed before: the first's 20 said, the
    second's lost unsaid (killed 0.6 s into a close counting on 2.4 s)."""
    collector.default = Reply(delay=NEVER)
    with _two_groups(collector, tmp_path, second) as server:
        assert serve(server.url, CALLS) == [200] * CALLS
        assert serve(server.url + "/second", CALLS) == [200] * CALLS
        log = server.stop()
    assert server.said_lost() == 2 * CALLS, log
    assert "Traceback" not in log
