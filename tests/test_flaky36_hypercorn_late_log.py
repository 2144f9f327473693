"""flaky36: a SIGTERM to a hypercorn worker between its answer and its log.

Under ASGI the log is queued once the last ``send`` returned: the client has its answer
first. A SIGTERM to the worker in that window (review132's test, under load) began the
close with nothing queued: it ended at once, said nothing, and the SIGTERM it sent on
killed the worker before the log was queued: lost unsaid. The window is widened here by
the test app alone: an ASGI wrapper outside the middleware holds the last ``send`` until
the worker's close has begun (the library's SIGTERM handler reads ``closing``).

Real hypercorn (delivery44's script), a real Starlette app, a collector on 127.0.0.1
holding its answers (``shutdown_timeout`` 4 s): the log is posted and said not delivered.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.delivery import gave_up_total
from tests.test_review132_findings import APP, sigterm_the_serving_worker

#: The review132 app, wrapped outside by an ASGI layer whose last ``send`` returns only
#: once the worker's SIGTERM handler has begun its close (10 s at most).
WIDE_APP = APP.replace("app = Starlette(", "inner = Starlette(") + '''

import asyncio
import signal


async def app(scope, receive, send):
    async def held_send(message):
        await send(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            for _ in range(1000):
                if getattr(signal.getsignal(signal.SIGTERM), "closing", False):
                    break
                await asyncio.sleep(0.01)
    await inner(scope, receive, held_send)
'''


@pytest.mark.e2e
def test_hypercorn_sigterm_after_the_answer_before_the_log_posts_it_or_says_it(
        tmp_path: Path) -> None:
    """The worker's SIGTERM after the client had its answer, before the log was queued:
    the log is posted within the close's bound (the API holds it: "1 log not delivered"
    said), then the worker dies by the SIGTERM. Before: nothing posted, nothing said."""
    code, said, posted = sigterm_the_serving_worker(tmp_path, WIDE_APP, 1)
    assert "worker exit -15" in said, said
    assert gave_up_total(r"closing gave up [^\n]*?: ", said) == 1, said
    assert posted == 1, said
    assert code == 0, said
