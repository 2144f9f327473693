"""blackbox8: the capture under servers and workers not checked before, as a user sees it.

1. gunicorn's gevent worker (``-k gevent``): an app's ``sys.exit()`` (a SystemExit) after
   it started its 201, before the server had a chunk, from the app's call or its
   iterable's first ``next()``. The worker's ``handle_request`` swallows a SystemExit
   (``except SystemExit: pass``) and closes the connection with nothing sent; the log
   said the server answered its own 500, which no client got. Now logged as no answer,
   as under the gthread worker. A KeyboardInterrupt there passes on to the worker's
   ``handle_error``, which answers its 500: logged so, before and after.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.fake_api import Collector
from tests.test_e2e_servers import GUNICORN
from tests.test_exit18_findings import served_once
from tests.test_greenlet_servers import _worker_missing

_GEVENT_APP = """\
import os
import sys

from readme_metrics import MetricsApiConfig, MetricsMiddleware

ERROR = SystemExit if os.environ["STOP_WITH"] == "SystemExit" else KeyboardInterrupt


def chunks():
    raise ERROR()
    yield b"never"


def inner(environ, start_response):
    start_response("201 Created", [("Content-Type", "text/plain")])
    if environ["PATH_INFO"] == "/call":
        raise ERROR()
    return chunks()


# (buffer_length=1: the worker outlives the request, its log is posted at once)
app = MetricsMiddleware(inner, MetricsApiConfig(
    buffer_length=1, grouping_function=lambda request: {"api_key": "caller-1"}))
"""

NO_GEVENT = pytest.mark.skipif(bool(_worker_missing("gevent")),
                               reason=_worker_missing("gevent") or "-")


@NO_GEVENT
@pytest.mark.e2e
@pytest.mark.parametrize("error", ["SystemExit", "KeyboardInterrupt"])
@pytest.mark.parametrize("where", ["call", "iterable"])
def test_gevent_worker_and_a_stop_before_the_first_chunk(
        collector: Collector, where: str, error: str, tmp_path: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOP_WITH", error)
    got, response = served_once(tmp_path, collector, _GEVENT_APP, where, lambda port: [
        *GUNICORN[1:], "--worker-class=gevent", f"--bind=127.0.0.1:{port}",
        "exit18_app:app"])
    assert (response["status"], response["headers"]) == (500, []), response
    if error == "KeyboardInterrupt":
        assert got.startswith(b"HTTP/1.1 500 Internal Server Error\r\n"), got
        assert response["comment"].startswith("the server answered 500"), response
    else:
        assert got == b""
        assert response["comment"] == (
            "no answer reached the client: the server stopped serving the request at a "
            "SystemExit and closed the connection; the app answered 201"), response
