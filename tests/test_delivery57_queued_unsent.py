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

import textwrap
from pathlib import Path

import pytest

from tests.support.django_stop_site import SITE as D54_SITE
from tests.support.fake_api import Collector
from tests.support.landed_site import SIGTERM_EXIT, landed

pytest.importorskip("django")
pytestmark = pytest.mark.e2e

# delivery54's stop site (MIDDLEWARE, the views, with_lifespan), with README's SIGTERM
# lines (unconditioned) and a path whose log's queueing is followed by a real SIGTERM
SITE = D54_SITE + SIGTERM_EXIT + textwrap.dedent("""
    from readme_metrics.django_exchange import Capture

    submit = Capture._submit

    def landing_submit(self, pending):  # the raise lands just after the queue's put
        submit(self, pending)
        if self.request.path == "/land":
            signal.pthread_kill(MAIN, signal.SIGTERM)

    Capture._submit = landing_submit
    urlpatterns.append(path("land", quick))
""")


UVICORN = ["uvicorn", "--port", "{port}"]
HYPERCORN = ["hypercorn", "--bind", "127.0.0.1:{port}"]
UVICORN_ASYNCIO = [*UVICORN, "--loop", "asyncio"]  # (uvicorn's default loop is uvloop's here)
UVICORN_WORKERS = [*UVICORN, "--workers", "2"]
UVICORN_WORKERS_ASYNCIO = [*UVICORN_WORKERS, "--loop", "asyncio"]


@pytest.mark.parametrize("server, answered", [
    (UVICORN, 200), (HYPERCORN, 500), (UVICORN_ASYNCIO, 200), (UVICORN_WORKERS, 500),
    (UVICORN_WORKERS_ASYNCIO, 500)],
    ids=["uvicorn", "hypercorn", "uvicorn-asyncio", "uvicorn-workers", "uvicorn-workers-asyncio"])
def test_a_raise_after_the_log_was_queued_is_logged_as_what_the_client_got(
        collector: Collector, tmp_path: Path, server: list[str], answered: int) -> None:
    pytest.importorskip(server[0])
    got, said, response = landed(SITE, server, "/land", collector, tmp_path)
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
