"""review120: adversarial review of delivery39's landing.

Under gunicorn's ``-k asgi`` worker the exit's close counts from the server's stop (the
ASGI lifespan's flush had the same bound, from the same SIGTERM). The lifespan's flush
gave up at that bound ("gave up after 2s ... 22 logs not delivered yet"); the close,
beginning after it with no time left, said "closing: 22 logs to send within 2s ...
counted from its SIGTERM 3.0s before the close began" (it began 5 s after it, with
none) and then "closing gave up after 2s" (it gave up at once): the lifespan's figures
said again as the close's own. Now the close says the time it has (none) and the time
since the SIGTERM as it begins.

Real parts: gunicorn 27 (``-k asgi``) in a subprocess, the loopback collector holding
every answer; nothing timed (the close begins past the lifespan's deadline: no time
left, whatever the machine's load).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import requests

from tests.support.delivery import gave_up_total
from tests.support.fake_api import Collector, Reply
from tests.support.gunicorn_close import answers
from tests.support.polling import wait_until
from tests.support.ports import free_port
from tests.support.processes import start_server, stop_for_output
from tests.test_delivery39_gunicorn_stops import CASES, run_stop
from tests.test_greenlet_servers import _check_quiet

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.e2e
def test_asgi_close_after_the_lifespans_give_up_says_the_time_it_has(
        collector: Collector, tmp_path: Path) -> None:
    source, argv = CASES["asgi"]
    answered, out, err = run_stop(collector, tmp_path, source, argv)
    assert answered == [200]
    assert "was sent SIGKILL" not in err, err
    flushed = re.search(r"the flush at the ASGI lifespan's shutdown gave up after "
                        r"([\d.]+)s.*?22 logs not delivered yet", err)
    assert flushed is not None, err
    began = re.search(r"closing: 22 logs to send within ([\d.]+)s, .*?counted from its "
                      r"SIGTERM ([\d.]+)s before the close began \(requests still "
                      r"served meanwhile, then the flush at the server's stop for "
                      r"([\d.]+)s\)", err)
    assert began is not None, err
    assert float(began.group(1)) == 0  # the lifespan's flush had the whole bound
    assert float(began.group(2)) == pytest.approx(5, abs=0.15)
    assert gave_up_total(r"closing gave up after 0s, gunicorn's --graceful-timeout of 6s "
                         r"being near: ", err) == 22, err
    _check_quiet(out, err)


INLINE_APP = textwrap.dedent("""
    import os
    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    def inner(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    application = MetricsMiddleware(inner, MetricsApiConfig(
        api_key=os.environ["PROJECT_KEY"], metrics_api=os.environ["METRICS_URL"],
        base_log_url="http://docs.example", buffer_length=5000, flush_interval=600,
        background_worker_mode=False, shutdown_timeout=5, timeout=30,
        grouping_function=lambda req: {"api_key": "caller-120"}))
""")


@pytest.mark.e2e
def test_gthread_inline_exit_posts_a_backlog_side_by_side(
        collector: Collector, tmp_path: Path) -> None:
    """3,000 logs queued at the SIGTERM, an API answering in 1 s: the exit's POSTs go
    side by side, all delivered, nothing said. Before: one at a time (peak 2), 1,000
    said not delivered."""
    collector.default = Reply(delay=1.0)
    (tmp_path / "inline_app.py").write_text(INLINE_APP)
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("README_")},
           "METRICS_URL": collector.url, "PROJECT_KEY": "rdme_review120_key",
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    process = start_server(
        [sys.executable, "-m", "gunicorn", "--worker-class=gthread", "--threads=4",
         "--workers=1", f"--bind=127.0.0.1:{port}", "inline_app:application"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: answers(f"{base}/ready"))
    with requests.Session() as session:
        for n in range(2999):
            assert session.get(f"{base}/r/{n}", timeout=10).status_code == 200
    out, err = stop_for_output(process)
    assert "not delivered" not in err, err
    assert len(collector.logs) == 3000
    assert collector.peak_in_flight >= 3
    _check_quiet(out, err)
