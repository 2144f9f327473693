"""cpu24 (issue 11): the GC containers a queued WSGI log holds until a sender frees it.

Every container (an object of a GC type: tuple, list, dict, a slots object) allocated on
the request thread and freed on a sender's raises the cyclic GC's generation-0 count
where it is made; when the queue backs up (a sender behind the requests), those counts
add up to collections run on the request thread. The WSGI log's (keys, values, bytes)
of the environ's strings was kept as that 3-tuple: now its parts are two slots of the
``Pending`` and the tuple dies with the request's capture.

1. A queued small GET's own containers (the ones a second identical request does not
   share with the first): 3, none of them the 3-tuple (failed before: 4, the Pending,
   the 3-tuple, its values tuple, the response headers' tuple).
2. What the queued log becomes is unchanged: for random header sets, its Exchange is the
   one ``environ_head`` makes of ``environ_strings`` of the same environ, and its
   ``nbytes`` the same count.
"""

from __future__ import annotations

import gc
import io
from typing import Any, Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.capture.environ_strings import environ_strings
from readme_metrics.capture.request_head import environ_head

#: Py_TPFLAGS_HAVE_GC: the type's objects are counted by the cyclic GC when made.
_HAVE_GC = 1 << 14


_PAIRS = (("Content-Type", "application/json"), ("Content-Length", "2"))


def _app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", list(_PAIRS))
    return [b"{}"]


def _environ(headers: dict[str, str]) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": "/widgets",
        "QUERY_STRING": "a=1", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(), "wsgi.multithread": True,
        "wsgi.multiprocess": False, "wsgi.run_once": False, "wsgi.version": (1, 0),
    }
    environ.update(headers)
    return environ


def _served(app: Callable[..., Any], config: MetricsApiConfig, headers: dict[str, str],
            count: int, start_response: Callable[..., Any],
            keep: bool = True) -> list[Any]:
    """The items ``app`` wrapped with ``config`` queues for ``count`` requests with
    ``headers``, each read to its end and closed as a server would. ``keep=False``: each
    item freed as it is queued (a sender that keeps up). cpu34's and cpu36's tests count
    the GC containers and the text work of this loop: it makes nothing per request but
    what a server's own loop would."""
    records: list[Any] = []
    middleware = MetricsMiddleware(app, config)
    middleware.pipeline.submit = ((lambda item, send=True: records.append(item) or True)
                                  if keep else (lambda item, send=True: True))
    try:
        for _ in range(count):
            result = middleware(_environ(headers), start_response)
            for _ in result:
                pass
            close = getattr(result, "close", None)
            if close is not None:
                close()
    finally:
        middleware.close()
    return records


def _queued(headers: dict[str, str], count: int) -> list[Any]:
    """The items a wrapped app queues for ``count`` requests with ``headers``."""
    config = MetricsApiConfig(
        api_key="rdme_abcdefghijklmnopqrstuvwxyz", grouping_function=lambda req: {
            "api_key": "caller-key-1", "label": "L", "email": "e@example.com"},
        metrics_api="http://127.0.0.1:9/", background_worker_mode=False)
    return _served(_app, config, headers, count, lambda *args: None)


def _containers(root: object) -> dict[int, object]:
    """The GC-type objects reachable from ``root`` (itself included), by id."""
    found: dict[int, object] = {}
    todo = [root]
    while todo:
        obj = todo.pop()
        if id(obj) in found or not type(obj).__flags__ & _HAVE_GC:
            continue
        if isinstance(obj, type) or type(obj).__name__ in ("module", "function"):
            continue
        found[id(obj)] = obj
        todo.extend(gc.get_referents(obj))
    return found


_HEADERS = {"HTTP_HOST": "api.example.com", "HTTP_ACCEPT": "application/json",
            "HTTP_USER_AGENT": "test/1.0", "HTTP_X_REQUEST_ID": "0f8e2a3c"}


def test_a_queued_get_holds_no_tuple_of_its_environ_strings() -> None:
    first, second = _queued(_HEADERS, 2)
    shared = _containers(first)
    # (The keys tuple is the environ shape's plan's, shared by every request of it, but
    # for a process whose plans are all taken: not counted either way.)
    own = [obj for key, obj in _containers(second).items()
           if key not in shared
           and not (isinstance(obj, tuple) and obj and obj[0] == "REQUEST_METHOD")]
    # The Pending, its values tuple and the response headers' tuple (the app's pairs are
    # its code's constants here): nothing else of its own (main: the 3-tuple besides).
    kinds = sorted(type(obj).__name__ for obj in own)
    assert not [obj for obj in own if isinstance(obj, tuple) and len(obj) == 3
                and isinstance(obj[2], int)], kinds
    assert len(own) <= 3, kinds


_NAMES = st.from_regex(r"HTTP_[A-Z][A-Z0-9_]{0,12}", fullmatch=True)
_VALUES = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=20)


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(_NAMES, _VALUES, max_size=6))
def test_the_queued_log_reads_as_the_environ_strings_do(headers: dict[str, str]) -> None:
    (item,) = _queued(headers, 1)
    keys, values, nbytes = environ_strings(_environ(headers))
    exchange = item.to_exchange()
    assert (exchange.method, exchange.url, exchange.http_version,
            exchange.request_headers, exchange.client_ip) == environ_head(keys, values)
    # (The app's pairs: the queued log holds them joined, cpu34.)
    response_bytes = sum(len(name) + len(value) for name, value in _PAIRS)
    assert item.nbytes == nbytes + response_bytes + len(item.response_body)
