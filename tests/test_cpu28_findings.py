"""cpu28: one more of the log worker's per-log costs, cut with the same logs
(docs/PERFORMANCE.md, "Eighteenth session", cpu28).

* ``masked_base64_runs`` looks first, in a long text, for the rarest character every
  spelling of the key holds: bench.py's 100 KB answer is passed by in one scan, where
  each spelling's probes took two.

Held against what it stands for: the same answers. Also kept: the Content-Length
``Pending.to_exchange`` reads for a log that ended (exit15's ``response_content_length``)
for every way of declaring it, against that function's own reading (cpu28 tried reading
it from the record's header walk: tried, not kept, as it moved the cost onto the request
path).
"""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.capture.recorder import response_content_length
from readme_metrics.har.key_base64 import masked_base64_runs
from readme_metrics.har.key_base64_spellings import base64_probe, base64_spellings
from readme_metrics.har.text import PROBED_TEXT

BENCH_KEY = "rdme_benchmark_key_0000"  # benchmarks/bench.py's caller


def _records(app: Any) -> list[Any]:
    """The records the real WSGI middleware queues for one request to ``app``."""
    records: list[Any] = []
    config = MetricsApiConfig(api_key="rdme_cpu28_key_0000", grouping_function=lambda r: {
        "api_key": "k", "label": "L", "email": "e@example.com"},
        metrics_api="http://127.0.0.1:9/", background_worker_mode=False)
    middleware = MetricsMiddleware(app, config)
    middleware.pipeline.submit = lambda item, send=True: records.append(item) or True
    environ = {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": "/", "QUERY_STRING": "",
               "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
               "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""),
               "wsgi.errors": io.StringIO(),
               "wsgi.multithread": False, "wsgi.multiprocess": False, "wsgi.run_once": False,
               "wsgi.version": (1, 0)}
    result = middleware(environ, lambda status, headers, exc_info=None: None)
    for _ in result:
        pass
    getattr(result, "close", lambda: None)()
    return records


def _app(headers: list[tuple[str, str]], chunks: list[bytes]) -> Any:
    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", list(headers))
        return list(chunks)
    return app


_DECLARED = [
    [],
    [("Content-Length", "10")],
    [("content-length", "4")],
    [("CONTENT-LENGTH", "99")],
    [("Content-Length", "abc")],
    [("Content-Length", "\u0661\u0662")],
    [("Content-Length", " 12 ")],
    [("Content-Length", "4"), ("Content-Length", "12")],
    [("Content-Length", "x"), ("Content-Length", "12")],
    [("Accept-Charset", "utf-8"), ("Content-Length", "12")],
    [("Accept-Charset", "utf-8")],
    [("Content-Lengthx", "12")],
    [("X-Length-Hint!", "12"), ("Content-Length", "3")],
]


@pytest.mark.parametrize("declared", _DECLARED, ids=repr)
@pytest.mark.parametrize("size", [0, 4, 10, 12])
def test_the_length_read_is_main_s(declared: list[tuple[str, str]], size: int) -> None:
    headers = [("Content-Type", "text/plain"), *declared]
    record, = _records(_app(headers, [b"y" * size]))
    exchange = record.to_exchange()
    length = response_content_length(headers)  # main's reading (the app's pairs)
    short = 0 <= size < length
    assert (exchange.response_body_short, exchange.response_body_cut) == (
        short, length if short else None)


class _Counted(str):
    """A text counting the single characters looked for in it."""

    looked = 0

    def __contains__(self, part: object) -> bool:
        if isinstance(part, str) and len(part) == 1:
            _Counted.looked += 1
        return str.__contains__(self, part)  # type: ignore[operator]


def test_a_long_text_without_the_shared_character_takes_one_scan() -> None:
    answer = _Counted("[" + ", ".join(
        f'{{"id": {n}, "sku": "SKU-{n:05d}", "description": "lorem ipsum dolor sit"}}'
        for n in range(400)) + "]")
    assert len(answer) >= PROBED_TEXT
    _Counted.looked = 0
    # (As scrub passes it: whether the text holds a backslash, a scan CallerKey.body
    # shares; secrets17 looks for a missing character's \u escape only in one that does.)
    assert masked_base64_runs(answer, BENCH_KEY, "sha512-x", backslash=False) is answer
    assert _Counted.looked == 1  # main: 2 (a probe of each of two spellings)


@pytest.mark.parametrize("key", [BENCH_KEY, "sk_live_4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c",
                                 "k3y", "12345678", "x" * 130, "clé-secrète-0123456789",
                                 "a b c d e f g h", "/v1/widgets"])
def test_the_shared_character_is_in_every_spelling(key: str) -> None:
    shared = base64_probe(key)
    assert all(shared in needle for needle in base64_spellings(key))


@pytest.mark.parametrize("key", [BENCH_KEY, "sk_live_4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c",
                                 "k3y", "x" * 130, "clé-secrète-0123456789"])
@pytest.mark.parametrize("prefix", [b"", b"u:", b"ab", b"user:"])
@pytest.mark.parametrize("urlsafe", [False, True])
def test_a_long_text_holding_a_spelling_is_still_masked(key: str, prefix: bytes,
                                                       urlsafe: bool) -> None:
    data = prefix + key.encode()
    spelled = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(data).decode()
    text = "lorem ipsum dolor sit amet " * 60 + spelled + " tail"
    hidden = masked_base64_runs(text, key, "sha512-masked")
    assert hidden != text and spelled not in hidden
