"""delivery62: a streamed Django answer under uvicorn whose handler the server's stop
cancelled mid-stream is logged as cut where the client's answer was cut, not whole.

Django's ASGI handler (5.0+) sends the answer from its chain's task; uvicorn's graceful
timeout at a stop (``--timeout-graceful-shutdown``) cancels the handler, which leaves
that task streaming. uvicorn closes the connection of an answer started once the
handler's call ended, and its send returns without a word from then on: the client has
the chunks sent before, no end. The log said the whole stream, 200, not cut.

Real parts: uvicorn in a subprocess, a real Django site (delivery56's stop site, its
``/sync`` route streaming here), the loopback collector, a raw socket client. Nothing
timed: the stream pauses on a file the test writes once the server cancelled the
handler (the site tells it).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.support.fake_api import Collector
from tests.test_delivery56_django_cancelled import SITE as D56_SITE
from tests.test_delivery56_django_cancelled import _stopped_mid_view, _uvicorn

pytest.importorskip("django", minversion="5.0")  # (the handler's own task: 5.0+)
pytest.importorskip("uvicorn")
pytestmark = pytest.mark.e2e

#: delivery56's site, its ``/sync`` route an answer streamed from an async iterator that
#: sends its first chunk, then waits for the test (``D54_ENTERED``, ``D54_RELEASE``).
SITE = D56_SITE.replace("inner = app", textwrap.dedent("""
    from django.http import StreamingHttpResponse

    async def _paused_chunks():
        yield b"first,"
        open(os.environ["D54_ENTERED"], "w").close()
        while not os.path.exists(os.environ["D54_RELEASE"]):
            await asyncio.sleep(0.01)
        yield b"second"

    urlpatterns[1] = path("sync", lambda request: StreamingHttpResponse(_paused_chunks()))
    inner = app
"""), 1)


def test_a_stream_the_servers_stop_cut_is_logged_cut(collector: Collector,
                                                      tmp_path: Path) -> None:
    """SIGTERM with the answer streaming (its first chunk out); the graceful timeout
    cancels Django's handler, uvicorn closes the connection; then the stream sends its
    second chunk and ends, into nothing. The log: the first chunk, marked cut (before
    delivery62: both chunks, whole, 1 of 1)."""
    got, said, entries = _stopped_mid_view(collector, tmp_path, _uvicorn, SITE)
    assert sorted(entries) == ["quick", "sync"], said
    assert got.startswith(b"HTTP/1.1 200"), (got, said)
    assert got.endswith(b"\r\n\r\n6\r\nfirst,\r\n"), (got, said)  # no second, no end
    response = entries["sync"]["response"]
    assert response["status"] == 200, response
    content = response["content"]
    assert (content["text"], content["size"]) == ("first,", 6), content
    assert content["comment"].startswith("incomplete: the app's answer broke off after 6 "
                                         "bytes, with no end of its body"), content
