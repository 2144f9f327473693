"""cpu39's item (issue 11): a Python call fewer on a small GET's request thread.

A list answer of one bytes chunk: ``Recorder.record`` (``wrap``) is not called; the one
chunk, nothing kept yet and all of it under ``max_body_bytes``, is kept as ``record``
keeps a first chunk, written out. Failed before: called once a request. What still
calls it (two chunks, a chunk past ``max_body_bytes``, a HEAD answer) and the logs of
all of it are checked too, with the ``x-documentation-url`` the library adds (or the
app's own, kept alone) beside the one-chunk answer.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.support.capture_wrap import wrapping
from tests.support.fake_api import Collector
from tests.support.wsgi import run_wsgi, wsgi_environ

_CAPTURE = str(Path("readme_metrics", "capture")) + "/"
_WATCHED = ("record",)
_BODY = b'{"id": 12345}'


def _called(serve: Callable[[], Any]) -> list[str]:
    """The watched Python functions of the capture's modules ``serve()`` calls."""
    called: list[str] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        code = frame.f_code
        if (event == "call" and code.co_name in _WATCHED
                and _CAPTURE in code.co_filename.replace("\\", "/")):
            called.append(code.co_name)

    sys.setprofile(profile)
    try:
        serve()
    finally:
        sys.setprofile(None)
    return called


def _app(headers: list[tuple[str, str]], chunks: list[bytes]) -> Callable[..., Any]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        start_response("200 OK", list(headers))
        return list(chunks)
    return app


_PLAIN = [("Content-Type", "application/json"), ("Content-Length", str(len(_BODY)))]


def _served(collector: Collector, app: Callable[..., Any], method: str = "GET",
            **options: Any) -> tuple[list[str], Any, dict[str, Any]]:
    """(watched calls of the second request, its answer, its log's entry)."""
    collector.forget()
    with wrapping(collector, base_log_url="https://docs.example.com",
                  background_worker_mode=True, buffer_length=100, **options) as make:
        middleware = make(app)
        run_wsgi(middleware, wsgi_environ(method=method, path="/w"))  # (first time aside)
        answer: list[Any] = []
        called = _called(lambda: answer.append(
            run_wsgi(middleware, wsgi_environ(method=method, path="/w"))))
        middleware.close()
    logs = collector.wait_for_logs(2)
    return called, answer[0], logs[-1]["request"]["log"]["entries"][0]


def test_small_get_records_without_a_call(module_collector: Collector) -> None:
    called, answer, entry = _served(module_collector, _app(_PLAIN, [_BODY]))
    assert called == []
    assert answer.body == _BODY
    assert len(answer.header("x-documentation-url")) == 1
    response = entry["response"]
    assert response["status"] == 200
    assert response["content"]["text"] == _BODY.decode()
    assert response["content"]["size"] == len(_BODY)
    names = [header["name"].lower() for header in response["headers"]]
    assert names == ["content-type", "content-length", "x-documentation-url"]


def test_a_19_character_name_beside_the_docs_url(module_collector: Collector) -> None:
    headers = [*_PLAIN, ("X-Nineteen-Letters1", "v")]
    called, answer, entry = _served(module_collector, _app(headers, [_BODY]))
    assert called == []
    assert len(answer.header("x-documentation-url")) == 1  # (not that header: added)
    names = [header["name"].lower() for header in entry["response"]["headers"]]
    assert names[-2:] == ["x-nineteen-letters1", "x-documentation-url"]


def test_the_apps_own_docs_url_is_kept_alone(module_collector: Collector) -> None:
    headers = [*_PLAIN, ("X-Documentation-URL", "https://mine.example/1")]
    called, answer, entry = _served(module_collector, _app(headers, [_BODY]))
    assert called == []
    assert answer.header("x-documentation-url") == ["https://mine.example/1"]
    values = [header["value"] for header in entry["response"]["headers"]
              if header["name"].lower() == "x-documentation-url"]
    assert values == ["https://mine.example/1"]


@pytest.mark.parametrize(("chunks", "method", "options", "text", "size"), [
    ([b'{"id":', b' 1}'], "GET", {}, '{"id": 1}', 9),  # two chunks
    ([_BODY], "GET", {"max_body_bytes": 5}, None, len(_BODY)),  # past the limit
    ([b""], "GET", {}, "", 0),  # one empty chunk
    ([_BODY], "HEAD", {}, None, 0),  # no body logged
], ids=["two-chunks", "past-max-body-bytes", "empty", "head"])
def test_other_lists_are_recorded_as_before(
        module_collector: Collector, chunks: list[bytes], method: str,
        options: dict[str, Any], text: Any, size: int) -> None:
    called, answer, entry = _served(module_collector, _app(_PLAIN, chunks), method,
                                    **options)
    if len(chunks) == 2 or options or method == "HEAD":
        assert called == ["record"] * len(chunks)
    else:
        assert called == []  # (an empty chunk fits)
    assert answer.body == b"".join(chunks)
    content = entry["response"]["content"]
    assert content["size"] == size
    if text is not None:
        assert content.get("text", "") == text
    elif options:  # cut at max_body_bytes: the start kept
        assert content["text"].startswith(_BODY[:5].decode())
