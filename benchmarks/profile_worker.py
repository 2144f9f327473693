"""Profile the delivery worker's own Python per log: build the HAR log, encode it.

.. code-block:: sh

    python benchmarks/profile_worker.py            # medians, microseconds per log
    python benchmarks/profile_worker.py --profile  # plus the cProfile top functions
    python benchmarks/profile_worker.py --stdlib   # as without the fast extra
    python benchmarks/profile_worker.py --post     # plus the POST's share, per log

The three workloads of ``bench.py`` (small GET; POST 2 KB in / 100 KB JSON out; the
browser's GET) go through
the real WSGI middleware once each; the queued items it captured are then turned into
logs (``MetricsPipeline.build_log``) and encoded (``delivery.encode.dumps``) in a loop,
as the worker does, without HTTP. Prints one JSON document: medians of the process's CPU
time (``time.process_time``) per log, for the whole and for each stage (``stages_us``:
the queued item made an Exchange, the Exchange made a log, the log encoded; ``free``,
part of the Exchange made a log: the log's tree of dicts and lists freed, as each is
once encoded). With ``--post``, ``post_us``: the sender thread's CPU
(``time.thread_time``) per log of a POST of ``--batch`` such logs (default 10, SPEC 7's
buffer_length) over the route the senders use (``Transport.post_logs``) to
``bench.py``'s loopback collector, answer read; the system time of the loopback's
both ends is in it, the collector's own CPU is not.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
if "--stdlib" in sys.argv:
    sys.modules["orjson"] = None  # type: ignore[assignment]  # as without the fast extra

import bench  # noqa: E402

from readme_metrics import MetricsApiConfig, MetricsMiddleware  # noqa: E402
from readme_metrics.har import build_log  # noqa: E402

try:
    from readme_metrics.delivery.encode import ENCODER, dumps  # noqa: E402
except ImportError:  # before the fast extra: the standard library only
    from readme_metrics.delivery.encode import dumps  # noqa: E402

    ENCODER = "json (standard library)"


def captured(app: Callable, method: str, body: bytes,
             headers: Any = None) -> tuple[Any, Any]:
    """(pipeline, the pending item the middleware queued for one call; ``headers``: the
    request's, bench.py's ``GET_HEADERS`` by default)."""
    config = MetricsApiConfig(api_key=bench.API_KEY, grouping_function=bench.grouping,
                              metrics_api="http://127.0.0.1:9", base_log_url="https://d")
    middleware = MetricsMiddleware(app, config)
    pipeline = getattr(middleware, "pipeline", None) or middleware._pipeline
    items: list[Any] = []
    pipeline.submit = items.append  # type: ignore[method-assign]
    environ = bench.environ_for(method, body, headers)
    environ["wsgi.input"] = io.BytesIO(body)
    result = middleware(environ, lambda status, headers, exc_info=None: None)
    for _chunk in result:
        pass
    if hasattr(result, "close"):
        result.close()
    return pipeline, items[0]


def per_log(pipeline: Any, item: Any, count: int, encode: bool = True) -> float:
    """Microseconds of CPU per log to build (and encode) the log of ``item``."""
    build = pipeline.build_log
    start = time.process_time()
    for _ in range(count):
        log = build(item)
        if encode:
            dumps(log)
    return (time.process_time() - start) / count * 1e6


def stages(pipeline: Any, item: Any, count: int) -> dict[str, float]:
    """Microseconds of CPU per log of each stage: the queued item made an Exchange, the
    Exchange made a log (``har.build_log`` with the pipeline's options), the log encoded."""
    exchange = item.to_exchange()
    log = pipeline.build_log(item)
    config = pipeline.config
    options = {"development": config.development_mode, "redactor": pipeline.redactor,
               "max_body_bytes": config.max_body_bytes}
    out = {"free": free_per_log(pipeline, item, count)}
    for stage, run in (("to_exchange", item.to_exchange),
                       ("har_build_log", lambda: build_log(exchange, **options)),
                       ("encode", lambda: dumps(log))):
        start = time.process_time()
        for _ in range(count):
            run()
        out[stage] = (time.process_time() - start) / count * 1e6
    return out


def free_per_log(pipeline: Any, item: Any, count: int) -> float:
    """Microseconds of CPU per log to free ``count`` built logs (their trees of dicts and
    lists; the strings they share with the item stay)."""
    logs = [pipeline.build_log(item) for _ in range(count)]
    start = time.process_time()
    logs.clear()
    return (time.process_time() - start) / count * 1e6


def post_per_log(url: str, part: bytes, batch: int, count: int) -> float:
    """Microseconds of the calling thread's CPU per log to POST ``count`` arrays of
    ``batch`` copies of the encoded log ``part`` to the Metrics API stand-in at ``url``
    (each answered, 2xx, before the next), as a sender thread does."""
    from readme_metrics.delivery.encode import array_body
    from readme_metrics.delivery.transport import Transport

    config = MetricsApiConfig(api_key=bench.API_KEY, grouping_function=bench.grouping,
                              metrics_api=url, base_log_url="https://d")
    transport = Transport(config)
    body = array_body([part] * batch)
    try:
        for _ in range(max(count // 10, 1)):  # the connection made, the path warm
            transport.post_logs(body)
        start = time.thread_time()
        for _ in range(count):
            status = transport.post_logs(body).status_code
            if not 200 <= status < 300:
                raise RuntimeError(f"the collector answered {status}")
        return (time.thread_time() - start) / count / batch * 1e6
    finally:
        transport.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--stdlib", action="store_true", help="as without the fast extra")
    parser.add_argument("--post", action="store_true",
                        help="time a POST of --batch logs to a loopback collector too")
    parser.add_argument("--batch", type=int, default=10, help="logs per POST (--post)")
    args = parser.parse_args()
    report: dict[str, Any] = {"encoder": ENCODER, "python": sys.version.split()[0]}
    collector = bench.Collector("ok") if args.post else None
    try:
        for name, app, method, body, count, headers in (
            ("small_get", bench.get_app, "GET", b"", 3000, None),
            ("post_100kb", bench.post_app, "POST", bench.POST_BODY, 300, None),
            ("browser_get", bench.get_app, "GET", b"", 3000, bench.BROWSER_HEADERS),
        ):
            pipeline, item = captured(app, method, body, headers)
            per_log(pipeline, item, count // 10)  # warm caches
            runs = [per_log(pipeline, item, count) for _ in range(args.repeat)]
            build = statistics.median(
                per_log(pipeline, item, count, encode=False) for _ in range(args.repeat)
            )
            split = [stages(pipeline, item, count) for _ in range(args.repeat)]
            report[name] = {"build_and_encode_us": round(statistics.median(runs), 1),
                            "build_us": round(build, 1), "min_us": round(min(runs), 1),
                            "stages_us": {
                                stage: round(statistics.median(r[stage] for r in split), 1)
                                for stage in split[0]}}
            if collector is not None:
                part = dumps(pipeline.build_log(item))
                report[name]["post_us"] = round(statistics.median(
                    post_per_log(collector.url, part, args.batch, max(count // 30, 10))
                    for _ in range(args.repeat)), 1)
                report[name]["post_batch"] = args.batch
            if args.profile:
                profiler = cProfile.Profile()
                profiler.runcall(per_log, pipeline, item, count)
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(14)
                print(out.getvalue(), file=sys.stderr)
    finally:
        if collector is not None:
            collector.stop()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
