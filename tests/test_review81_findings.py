"""review81: an adversarial read of this session's first landings (newcomer16, review79,
review80).

* (a) capture/request._origin_form: an absolute-form target's authority ends at a "#"
  too. ``GET http://h#a/b`` was logged ``/b`` (the "#a" read as the host's), and
  ``GET http://h#frag`` as ``/``, where ``GET /#frag`` keeps its ``%23frag``.
* (b) review79's record_rest (gives up only while there is room): under werkzeug's
  server a chunked body exactly ``max_body_bytes`` long the app read part of was
  "truncated to 16 bytes of a body of unknown length" (bodySize -1), a body whole and
  kept whole (waitress: bodySize 16, no comment). capture/chunked.dechunk stopped at
  the wanted bytes without looking at the size line after them, the last chunk's.
"""

from __future__ import annotations

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.capture.chunked import dechunk
from tests.support.capture_wrap import only_log
from tests.support.contract import API_KEY, inline_options
from tests.support.fake_api import Collector
from tests.support.wsgi_servers import served
from tests.test_hostile15_findings import _reads_five, _send
from tests.test_spec29_acceptance import logged_url, plain_app, send_raw

# -- (a) an absolute-form target with a "#" in its authority's place -----------------------

FRAGMENT = [
    ("http://h#frag", "/%23frag"),
    ("http://h#a/b", "/%23a/b"),
    ("http://h/#frag", "/%23frag"),
    ("http://h?a#b/c", "/?a%23b/c"),
]


# (werkzeug takes the host from the target; wsgiref gives no raw target, and its decoded
# PATH_INFO cannot tell a "#" sent from a %23: left as it was.)
@pytest.mark.parametrize(("server", "host"), [("werkzeug", "h"), ("waitress", "api.example")])
def test_an_absolute_form_targets_fragment_is_not_read_as_its_host(
        collector: Collector, server: str, host: str) -> None:
    middleware = MetricsMiddleware(plain_app, MetricsApiConfig(
        api_key=API_KEY, metrics_api=collector.url, **inline_options({})))
    try:
        with served(server, middleware) as port:
            for count, (target, path) in enumerate(FRAGMENT):
                send_raw(port, f"GET {target} HTTP/1.1\r\nHost: api.example\r\n"
                               "Connection: close\r\n\r\n".encode())
                assert logged_url(collector, count) == f"http://{host}{path}", target
    finally:
        middleware.close()


# -- (b) a chunked body exactly max_body_bytes long ------------------------------------------

@pytest.mark.parametrize("rest", [10, 100_000], ids=["16", "100006"])
@pytest.mark.parametrize("shut", [True, False], ids=["shut", "open"])
def test_a_chunked_body_exactly_max_body_bytes_long_is_whole_not_truncated(
        collector: Collector, rest: int, shut: bool) -> None:
    """werkzeug's server; the app reads 5 bytes of a chunked body sent whole, as long
    as max_body_bytes (16, or 100,006: a chunk larger than werkzeug's reader buffers)."""
    body = b"abcdef" + b"q" * rest
    chunks = b"6\r\nabcdef\r\n%x\r\n" % rest + b"q" * rest + b"\r\n0\r\n\r\n"
    read: list[bytes] = []
    middleware = MetricsMiddleware(_reads_five(read), MetricsApiConfig(
        api_key="rdme_review81_project_key", metrics_api=collector.url, buffer_length=1,
        grouping_function=lambda request: {"api_key": "review81-caller"},
        max_body_bytes=len(body)))
    with served("werkzeug", middleware) as port:
        answer = _send(port, chunks, shut)
    assert middleware.flush(5.0) is True
    request = only_log(collector)["request"]["log"]["entries"][0]["request"]
    middleware.close()
    assert answer.split(b"\r\n")[0] == b"HTTP/1.1 200 OK"
    assert read[0] == b"abcde"
    post = request["postData"]
    assert post["text"] == body.decode()
    assert "comment" not in post, post
    assert request["bodySize"] == len(body)


@pytest.mark.parametrize(("raw", "want", "got"), [
    (b"6\r\nabcdef\r\n0\r\n\r\n", 6, (b"abcdef", True)),
    (b"6\r\nabcdef\r\n0\r\n", 6, (b"abcdef", True)),
    (b"6\r\nabcdef\r\n1\r\nx\r\n0\r\n\r\n", 6, (b"abcdef", False)),
    (b"6\r\nabcdef\r\n", 6, (b"abcdef", False)),
    (b"6\r\nabcdef\r\n0\r\n", 4, (b"abcd", False)),
    (b"0\r\n\r\n", 0, (b"", True)),
    (b"1\r\nx\r\n0\r\n\r\n", 0, (b"", False)),
])
def test_dechunk_sees_the_last_chunk_right_after_the_wanted_bytes(
        raw: bytes, want: int, got: tuple[bytes, bool]) -> None:
    assert dechunk(raw, want) == got
