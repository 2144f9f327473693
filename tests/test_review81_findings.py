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

from readme_metrics.capture.chunked import dechunk
from tests.support.fake_api import Collector
from tests.test_review79_findings import werkzeug_reads_five
from tests.test_review80_findings import logged_urls

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
    targets = [target for target, _ in FRAGMENT]
    assert logged_urls(collector, server, targets) == [
        f"http://{host}{path}" for _, path in FRAGMENT]


# -- (b) a chunked body exactly max_body_bytes long ------------------------------------------

@pytest.mark.parametrize("rest", [10, 100_000], ids=["16", "100006"])
@pytest.mark.parametrize("shut", [True, False], ids=["shut", "open"])
def test_a_chunked_body_exactly_max_body_bytes_long_is_whole_not_truncated(
        collector: Collector, rest: int, shut: bool) -> None:
    """werkzeug's server; the app reads 5 bytes of a chunked body sent whole, as long
    as max_body_bytes (16, or 100,006: a chunk larger than werkzeug's reader buffers)."""
    body = b"abcdef" + b"q" * rest
    chunks = b"6\r\nabcdef\r\n%x\r\n" % rest + b"q" * rest + b"\r\n0\r\n\r\n"
    request = werkzeug_reads_five(collector, chunks, shut, len(body))
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
