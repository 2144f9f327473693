"""delivery75 (g): a Django response dropped unclosed while its log waits for the verdict.

The server (uvicorn, hypercorn: their graceful timeout at a stop) cancelled Django's
handler before the view returned; the log waits for what goes out first, the chain's
task sending the view's answer or the handler's end, after which the server answers its
own 500 (``django_abandoned.await_verdict``). A middleware outside the library's that
answers with a response of its own drops the view's response unclosed: its finalizer
handed the log's finish over at once (``django_streams._finish_dropped``), and the log
was queued with the view's status before the verdict came, which then left it as it
was: the view's 200 for a client that got the server's 500. Now a finish handed over
from the finalizer leaves a log still waiting for its verdict to it.

delivery56's stop site and run (uvicorn and hypercorn, the sync chain, the server's 500
first: Django's send held until the handler ended), an outer middleware that answers
``/sync`` with a response of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from tests.support.fake_api import Collector
from tests.test_delivery56_django_cancelled import SITE as D56_SITE
from tests.test_delivery56_django_cancelled import _hypercorn, _stopped_mid_view, _uvicorn

pytest.importorskip("django", minversion="5.0")
pytestmark = pytest.mark.e2e

_MIDDLEWARE = "INSTALLED_APPS=[], MIDDLEWARE=("
assert _MIDDLEWARE in D56_SITE

#: The outer middleware before the library's (a function middleware: the sync chain),
#: defined before Django loads the chain (``get_asgi_application``).
SITE = D56_SITE.replace(_MIDDLEWARE, _MIDDLEWARE.replace("=(", '=[f"{__name__}.outer"] + (')
                        ).replace(
    "\ndef quick(request):", '''
def outer(get_response):  # (answers /sync with a response of its own)
    def middleware(request):
        response = get_response(request)
        if request.path == "/sync":
            return JsonResponse({"outer": True})
        return response
    return middleware

def quick(request):''', 1)


@pytest.mark.parametrize("server", [pytest.param(_uvicorn, id="uvicorn"),
                                    pytest.param(_hypercorn, id="hypercorn")])
def test_a_response_dropped_unclosed_waits_for_the_verdict(
        collector: Collector, tmp_path: Path, server: Callable[[int], list[str]]) -> None:
    """The client got the server's 500 (the handler's end came first); the log says that
    500, commented, not the view's 200 (before: the view's 200, 2 of 2)."""
    pytest.importorskip(server(0)[0])
    got, said, entries = _stopped_mid_view(collector, tmp_path, server, SITE, "sync",
                                           server_first=True)
    assert got.startswith(b"HTTP/1.1 500"), (got, said)  # the order made
    assert sorted(entries) == ["quick", "sync"], said
    response = entries["sync"]["response"]
    assert response["status"] == 500, (response, said[-2000:])
    assert response["comment"] == (
        "the server answered 500 itself (Django's handler cancelled before the view "
        "returned) and sent none of the app's answer; the app answered 200"), response
