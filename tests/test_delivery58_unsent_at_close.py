"""delivery58 (2): a signal handler's raise (README's SIGTERM lines: ``sys.exit(0)``) that
lands in the Django middleware's async chain once the response is made, before Django's
handler sent it, when the log is left to the response's close() (a streamed answer) or
held by inline mode's sends: the raise ends the event loop, the answer never goes out.
Under hypercorn (its worker runs the site's handler) the client reads hypercorn's own
500, no body (raw socket). The log said the view's 200: "incomplete: the process
exited while the answer was being sent" (the exit's cut of the response never closed),
or the view's 200 whole (inline mode: delivery57's remake looked at queued logs only).
Now it is logged as what the client got: hypercorn's 500, its comment quoting the app's
200. Before: 2 of 2 failed; after: pass.

Real parts: hypercorn in a subprocess, a real Django site whose module makes SIGTERM an
exit as README says, the loopback collector, a raw socket client. The raise is made to
land in the middleware's call, just after the view's answer was recorded: the site
sends its own main thread a real SIGTERM from the library's ``returned`` (its handler
runs at the next instruction, still in the middleware's call).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.support.django_stop_site import SITE as D54_SITE
from tests.support.fake_api import Collector
from tests.support.landed_site import SIGTERM_EXIT, landed

pytest.importorskip("django")
pytest.importorskip("hypercorn")
pytestmark = pytest.mark.e2e

# delivery54's stop site (MIDDLEWARE, the views, with_lifespan), with README's SIGTERM
# lines and a streamed route; a path under /land has a real SIGTERM follow the record
# of its answer, in the middleware's call
SITE = D54_SITE + SIGTERM_EXIT + textwrap.dedent("""
    import readme_metrics.django as metrics_django
    from django.http import StreamingHttpResponse

    returned = metrics_django.returned

    def landing_returned(capture):  # the async chain, once its answer was recorded
        if capture.request.path.startswith("/land"):
            signal.pthread_kill(MAIN, signal.SIGTERM)
        returned(capture)

    metrics_django.returned = landing_returned

    def streamed(request):
        return StreamingHttpResponse(iter([b"one,", b"two"]), content_type="text/plain")

    urlpatterns += [path("land-stream", streamed), path("land", quick)]
""")


@pytest.mark.parametrize("route, background", [("/land-stream", "1"), ("/land", "0")],
                         ids=["streamed", "inline"])
def test_a_raise_before_the_answer_went_out_is_logged_as_the_servers_500(
        collector: Collector, tmp_path: Path, route: str, background: str) -> None:
    got, said, response = landed(SITE, ["hypercorn", "--bind", "127.0.0.1:{port}"], route,
                                 collector, tmp_path,
                                 README_BACKGROUND_WORKER_MODE=background)
    # The client read hypercorn's own 500, no body: so says the log, quoting the app's 200
    assert got.startswith(b"HTTP/1.1 500 ") and got.endswith(b"\r\n\r\n"), got
    assert response["status"] == 500, (got, response, said[-2000:])
    assert response["content"]["size"] == 0, response
    assert "comment" not in response["content"], response  # not "incomplete"
    assert "the event loop ended at a SystemExit" in response["comment"], response
    assert "200" in response["comment"], response  # the app's answer, never sent
