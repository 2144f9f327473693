"""delivery57 (1): a signal handler's raise (README's SIGTERM lines: ``sys.exit(0)``) that
lands in the Django middleware's async chain after its log was queued, before Django's
handler sent the answer, ends the event loop: the view's answer never goes out. Under
hypercorn (its worker runs the site's handler) the client gets hypercorn's own 500, no
body; the log said the view's 200 (delivery54's sweep left 37 such landing points of
each route). Now the queued log is made again as what the client got (the server's 500,
its comment quoting the app's 200; no answer where no such server is loaded: the
sweep's). Under uvicorn its own SIGTERM handler is the one in force (installed after
the app is imported): its graceful stop sends the view's 200, logged so. Under
``uvicorn --workers`` the site's handler is in force in each worker: the raise lands,
and uvicorn answers its own 500 (delivery59: asked whether the client got nothing there;
it gets the 500, with either loop), logged so.

Real parts: uvicorn and hypercorn in a subprocess, a real Django site whose module makes
SIGTERM an exit as README says, the loopback collector, a raw socket client. The raise
is made to land just after the queueing: the site sends its own main thread a real
SIGTERM from inside the library's queue call for the path ``/land`` (its handler runs
at the next instruction, still in the library's call).
"""

from __future__ import annotations

import signal
import sys
import textwrap
from pathlib import Path
from typing import Callable

import pytest

from tests.support.command import app_environment
from tests.support.django_stop_site import SITE as D54_SITE
from tests.support.fake_api import Collector
from tests.support.har_check import assert_valid_log
from tests.support.polling import wait_until
from tests.support.ports import free_port
from tests.support.processes import kill_server, start_server
from tests.support.raw_requests import answers_200, get_closing

pytest.importorskip("django")
pytestmark = pytest.mark.e2e

# delivery54's stop site (MIDDLEWARE, the views, with_lifespan), with README's SIGTERM
# lines (unconditioned) and a path whose log's queueing is followed by a real SIGTERM
SITE = D54_SITE + textwrap.dedent("""
    import signal, sys, threading

    from readme_metrics.django_exchange import Capture

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    MAIN = threading.main_thread().ident
    submit = Capture._submit

    def landing_submit(self, pending):  # the raise lands just after the queue's put
        submit(self, pending)
        if self.request.path == "/land":
            signal.pthread_kill(MAIN, signal.SIGTERM)

    Capture._submit = landing_submit
    urlpatterns.append(path("land", quick))
""")


def _uvicorn(port: int) -> list[str]:
    return ["uvicorn", "--port", str(port)]


def _hypercorn(port: int) -> list[str]:
    return ["hypercorn", "--bind", f"127.0.0.1:{port}"]


def _uvicorn_asyncio(port: int) -> list[str]:  # (uvicorn's default loop is uvloop's here)
    return [*_uvicorn(port), "--loop", "asyncio"]


def _uvicorn_workers(port: int) -> list[str]:
    return [*_uvicorn(port), "--workers", "2"]


def _uvicorn_workers_asyncio(port: int) -> list[str]:
    return [*_uvicorn_workers(port), "--loop", "asyncio"]


@pytest.mark.parametrize("server, answered", [
    (_uvicorn, 200), (_hypercorn, 500), (_uvicorn_asyncio, 200), (_uvicorn_workers, 500),
    (_uvicorn_workers_asyncio, 500)],
    ids=["uvicorn", "hypercorn", "uvicorn-asyncio", "uvicorn-workers", "uvicorn-workers-asyncio"])
def test_a_raise_after_the_log_was_queued_is_logged_as_what_the_client_got(
        collector: Collector, tmp_path: Path, server: Callable[[int], list[str]],
        answered: int) -> None:
    pytest.importorskip(server(0)[0])
    (tmp_path / "d57_site.py").write_text(SITE)
    port = free_port()
    err_path = tmp_path / "err"
    with open(err_path, "wb") as err_file:
        process = start_server([sys.executable, "-m", *server(port), "d57_site:app"],
                               cwd=tmp_path, env=app_environment(collector.url, tmp_path),
                               stdout=err_file, stderr=err_file)
    try:
        wait_until(lambda: answers_200(port))
        got = get_closing(port, "/land")
        if process.poll() is None:  # hypercorn's parent outlives its worker
            process.send_signal(signal.SIGTERM)
        process.wait(60)
    finally:
        kill_server(process)
    said = err_path.read_text(errors="replace")
    logs = collector.wait_for_logs(2)
    for log in logs:
        assert_valid_log(log)
    landed = [log["request"]["log"]["entries"][0]["response"] for log in logs
              if log["request"]["log"]["entries"][0]["request"]["url"].endswith("/land")]
    assert len(landed) == 1, said
    response = landed[0]
    # What the client got is what is logged: uvicorn's own SIGTERM handler is the one in
    # force in a single process (its graceful stop: the view's 200 goes out); hypercorn's
    # worker runs the site's, whose raise ends the loop there, and hypercorn answers its
    # own 500; so does uvicorn's worker under --workers (the site's handler in force
    # there: uvicorn's 500, its text body not logged, as every server's own answer),
    # uvloop's loop and asyncio's alike (delivery59).
    status = int(got.split(b" ", 2)[1])
    assert status == answered, (got, said[-2000:])
    assert response["status"] == status, (got, response, said[-2000:])
    if status == 500:
        assert response["content"]["size"] == 0, response
        assert "the event loop ended at a SystemExit" in response["comment"], response
        assert "200" in response["comment"], response  # the app's answer, never sent
    else:
        assert got.endswith(b'{"quick": true}\r\n0\r\n\r\n'), got
