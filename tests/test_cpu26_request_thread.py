"""cpu26's items (issue 11): the serving thread's calls under gunicorn's sync worker.

A small GET answered with PEP 3333's list, under gunicorn's environ (its
``gunicorn.socket``, SERVER_SOFTWARE and ``wsgi.file_wrapper`` class), asked on the
request thread:

1. ``hasattr(headers, "__next__")`` of the app's header list (``start_response``),
   ``isinstance(file_wrapper, type)`` and ``isinstance(result, file_wrapper)`` of the
   list answer (``wrap``), and ``isinstance(request, tuple)`` of the environ's strings
   (``Pending``): four C calls, none now (failed before: 4). A list or a tuple has no
   ``__next__`` and is no server's file_wrapper object.
2. ``self.layers[0]`` three times a call (``MetricsMiddleware.__call__``): once now
   (failed before: 3).

What still asks them: headers given as an iterator (read along), a file_wrapper object
(handed back as the very same object) and a list subclass (asked, as before); and the
log of the list answer is the same.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
from gunicorn.http.wsgi import FileWrapper

from tests.support.capture_wrap import wrap_fixture  # noqa: F401 - ``wrap``
from tests.support.fake_api import Collector
from tests.support.wsgi import run_wsgi, wsgi_environ

#: The modules of the request thread's capture whose C calls are counted.
_CAPTURE = tuple(str(Path("readme_metrics", "capture", name))
                 for name in ("wsgi.py", "wsgi_exchange.py", "pending.py"))
_ASKED = ("hasattr", "isinstance")
_BODY = b'{"id": 12345}'


def _environ() -> dict[str, Any]:
    environ = wsgi_environ(path="/v1/widgets/12345", headers={"Authorization": "Bearer x"})
    environ.update({"SERVER_SOFTWARE": "gunicorn/23.0.0", "gunicorn.socket": object(),
                    "wsgi.file_wrapper": FileWrapper})
    return environ


def _list_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(_BODY)))])
    return [_BODY]


def _start_response(status: str, headers: Any, exc_info: Any = None) -> Callable[..., Any]:
    return lambda data: None


def _asked(serve: Callable[[], Any]) -> list[str]:
    """The ``hasattr`` and ``isinstance`` calls the capture's modules make in
    ``serve()``, by name."""
    asked: list[str] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        if (event == "c_call" and getattr(arg, "__name__", "") in _ASKED
                and frame.f_code.co_filename.endswith(_CAPTURE)):
            asked.append(arg.__name__)

    sys.setprofile(profile)
    try:
        serve()
    finally:
        sys.setprofile(None)
    return asked


@pytest.fixture(name="queued")
def queued_fixture(wrap: Callable[..., Any]) -> Callable[..., Any]:
    """``wrap`` with the background delivery (the hand-off only on the request thread);
    the logs go at the close."""
    return lambda app: wrap(app, background_worker_mode=True, buffer_length=100)


def test_no_question_of_a_list_answer_under_gunicorn(
        queued: Callable[..., Any], collector: Collector) -> None:
    middleware = queued(_list_app)
    run_wsgi(middleware, _environ())  # (the first request's one-time work aside)
    served: list[Any] = []
    assert _asked(lambda: served.append(middleware(_environ(), _start_response))) == []
    assert served[0].__class__ is list and b"".join(served[0]) == _BODY
    middleware.close()
    logs = collector.wait_for_logs(2)
    for log in logs:
        entry = log["request"]["log"]["entries"][0]
        assert entry["response"]["status"] == 200
        assert entry["response"]["content"]["text"] == _BODY.decode()
        assert entry["request"]["url"] == "http://127.0.0.1/v1/widgets/12345"


class _CountedLayers(list):  # type: ignore[type-arg]
    """The middleware's ``layers``, counting its reads."""

    reads = 0

    def __getitem__(self, index: Any) -> Any:
        _CountedLayers.reads += 1
        return list.__getitem__(self, index)


def test_the_layers_read_once_a_call(queued: Callable[..., Any]) -> None:
    middleware = queued(_list_app)
    middleware.layers = _CountedLayers(middleware.layers)
    _CountedLayers.reads = 0
    run_wsgi(middleware, _environ())
    assert _CountedLayers.reads == 1


def test_headers_given_as_an_iterator_are_still_read_along(
        queued: Callable[..., Any], collector: Collector) -> None:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        start_response("200 OK", iter([("Content-Type", "text/plain"),
                                       ("Content-Length", "2")]))
        return [b"ok"]

    got: list[Any] = []
    middleware = queued(app)
    for _ in range(2):  # (run_wsgi reads the headers, as a server does)
        assert run_wsgi(middleware, _environ()).body == b"ok"
    middleware.close()
    for log in collector.wait_for_logs(2):
        got.append({h["name"].lower(): h["value"] for h in
                    log["request"]["log"]["entries"][0]["response"]["headers"]})
    assert all(headers.get("content-length") == "2" for headers in got)


def test_a_file_wrapper_object_and_a_list_subclass_are_still_asked(
        queued: Callable[..., Any], collector: Collector) -> None:
    class Chunks(list):  # type: ignore[type-arg]
        pass

    wrapper: list[Any] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
        if environ["PATH_INFO"] == "/file":
            wrapper.append(environ["wsgi.file_wrapper"](io.BytesIO(b"hello")))
            return wrapper[-1]
        return Chunks([b"hello"])

    middleware = queued(app)
    environ = _environ()
    environ["PATH_INFO"] = "/file"
    asked: list[Any] = []
    assert _asked(lambda: asked.append(middleware(environ, _start_response))) == [
        "isinstance", "isinstance"]
    assert asked[0] is wrapper[0]  # the very same object back (sendfile's fast path)
    list(asked[0])
    asked[0].close()
    asked.clear()
    # (and hasattr(result, "__len__"): the wrapped response's, as before)
    assert _asked(lambda: asked.append(run_wsgi(middleware, _environ()))).count(
        "isinstance") == 2
    assert asked[0].body == b"hello"
    middleware.close()
    texts = sorted(log["request"]["log"]["entries"][0]["response"]["content"].get("text", "")
                   for log in collector.wait_for_logs(2))
    assert texts[-1] == "hello"
