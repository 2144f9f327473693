"""Response chunks that are not bytes reach the server exactly as the app gave them.

``return b"hello"`` (a common bug: the server iterates ints), a ``None`` or ``str`` chunk:
each server has its own answer to those (gunicorn sends the headers and then fails,
waitress skips None), and the wrapped app must get the very same one, so the capture
must never raise on such a chunk before the server sees it. Buffers (bytearray,
memoryview) are counted by their bytes and copied, since the app may reuse them.
tests/test_hostile_servers.py checks the same under the real servers.
"""

from __future__ import annotations

from array import array
from typing import Any, Callable

import pytest

from readme_metrics.cli.collector.validation import validate_log
from tests.support.capture_wrap import wrap_fixture  # noqa: F401 - the fixture
from tests.support.fake_api import Collector
from tests.support.minimal_server import environ_for


def _app(result: Any) -> Callable[..., Any]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return result

    return app


def _served(app: Any) -> list[Any]:
    """What a server iterating the app's result receives, chunk by chunk."""
    got: list[Any] = []
    result = app(environ_for(), lambda status, headers, exc_info=None: got.append)
    try:
        got.extend(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return got


@pytest.mark.parametrize(("make", "logged", "size"), [
    # b"hey" returned whole iterates as ints: no bytes are sent, none logged
    pytest.param(lambda: b"hey", "", 0, id="bytes-returned-whole"),
    pytest.param(lambda: [b"a", None, b"b"], "ab", 2, id="none-chunk"),
    pytest.param(lambda: [b"a", "text", b"b"], "ab", 2, id="str-chunk"),
    pytest.param(lambda: [b"a", 7, b"b"], "ab", 2, id="int-chunk"),
    pytest.param(lambda: (b"a", bytearray(b"bc")), "abc", 3, id="bytearray-in-tuple"),
    # its four bytes (1 as an int) are binary: base64 (spec20; they were text, NULs and all)
    pytest.param(lambda: iter([memoryview(array("i", [1]))]), "AQAAAA==", 4,
                 id="int-memoryview"),
])
def test_chunks_pass_as_given_and_bytes_are_logged(wrap: Any, collector: Collector,
                                                   make: Callable[[], Any], logged: str,
                                                   size: int) -> None:
    assert _served(wrap(_app(make()))) == _served(_app(make()))
    log = collector.wait_for_logs(1)[0]
    assert validate_log(log) == []
    content = log["request"]["log"]["entries"][0]["response"]["content"]
    assert (content.get("text", ""), content["size"]) == (logged, size)


def test_a_buffer_the_app_reuses_is_logged_as_it_was_sent(wrap: Any,
                                                          collector: Collector) -> None:
    buffer = bytearray(b"first")

    def chunks() -> Any:
        yield buffer
        buffer[:] = b"later"
        yield b"!"

    _served(wrap(_app(chunks())))
    content = collector.wait_for_logs(1)[0]["request"]["log"]["entries"][0]["response"]
    assert content["content"]["text"] == "first!"
