"""CPU per POST to the Metrics API: requests against the direct path (``--only post``).

Both transports (``Transport(config, direct=False)``, the requests session as before, and
``Transport(config)``, the kept-alive http.client path) post the same body, ``--post-logs``
logs shaped as the middleware builds them for the benchmark's small GET, to the loopback
collector in another process, interleaved, ``--repeat`` runs of ``--posts`` POSTs each.
Figures are medians: CPU of the posting thread (``time.thread_time``) and of the whole
process (the watchdog thread included) per POST and per log, and the logs the collector
counted out of the logs sent. ``http_client`` is the floor for reference: a bare
kept-alive ``http.client`` connection posting the same body and headers, with no
watchdog, no checks and no error handling.
"""

from __future__ import annotations

import http.client
import json
import statistics
import time
import uuid
from types import SimpleNamespace
from typing import Any

import bench
import requests


def sample_body(logs: int) -> bytes:
    """A JSON array of ``logs`` logs like those of the benchmark's small GET."""
    def one() -> dict[str, Any]:
        headers = [{"name": name, "value": value} for name, value in bench.GET_HEADERS.items()]
        return {
            "_id": str(uuid.uuid4()),
            "group": {"id": "sha512-" + "A" * 88 + "?0000", "label": "bench", "email": ""},
            "clientIPAddress": "203.0.113.7", "development": False,
            "request": {"log": {"version": "1.2", "creator": {
                "name": "readme-metrics (python)", "version": "4.0.0",
                "comment": "x86_64-Linux6/3.11"}, "entries": [{
                    "pageref": "http://api.example.com/widgets?id=12345",
                    "startedDateTime": "2026-11-21T10:31:43.123Z", "time": 1.2,
                    "request": {"method": "GET", "url": "http://api.example.com/widgets",
                                "httpVersion": "HTTP/1.1", "headers": headers,
                                "queryString": [{"name": "id", "value": "12345"}],
                                "cookies": [], "headersSize": -1, "bodySize": -1},
                    "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1",
                                 "headers": [{"name": "Content-Type",
                                              "value": "application/json"}],
                                 "cookies": [], "redirectURL": "", "headersSize": -1,
                                 "bodySize": len(bench.GET_BODY), "content": {
                                     "size": len(bench.GET_BODY),
                                     "mimeType": "application/json",
                                     "text": bench.GET_BODY.decode()}},
                    "cache": {}, "timings": {"send": 0, "wait": 1.2, "receive": 0}}]}}}
    return json.dumps([one() for _ in range(logs)]).encode()


class _BareHttpClient:
    """The reference floor: one kept-alive http.client connection, nothing else."""

    route = "http.client"

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port)
        self.headers = headers

    def post_logs(self, body: bytes) -> Any:
        self.connection.request("POST", "/v1/request", body, self.headers)
        response = self.connection.getresponse()
        response.read()
        return SimpleNamespace(status_code=response.status)

    def close(self) -> None:
        self.connection.close()


def _run(transport: Any, body: bytes, posts: int) -> tuple[float, float, int]:
    """Thread CPU and process CPU (seconds) for ``posts`` POSTs, and how many got a 2xx."""
    accepted = 0
    thread0, process0 = time.thread_time(), time.process_time()
    for _ in range(posts):
        if transport.post_logs(body).status_code < 300:
            accepted += 1
    return time.thread_time() - thread0, time.process_time() - process0, accepted


def bench_post(repeat: int, posts: int, logs: int) -> dict[str, Any]:
    """Both transports, interleaved, ``repeat`` runs of ``posts`` POSTs of ``logs`` logs."""
    from readme_metrics.config import MetricsApiConfig
    from readme_metrics.delivery.transport import Transport

    collector = bench.Collector("ok")
    body = sample_body(logs)
    config = MetricsApiConfig(api_key=bench.API_KEY, grouping_function=bench.grouping,
                              metrics_api=collector.url)
    transports: dict[str, Any] = {
        "requests": Transport(config, direct=False), "direct": Transport(config)}
    prepared = transports["requests"].session.prepare_request(
        requests.Request("POST", collector.url, data=b""))
    headers = {name: value for name, value in prepared.headers.items()
               if name != "Content-Length"}  # http.client sets each body's own
    transports["http_client"] = _BareHttpClient(collector.port, headers)
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in transports}
    sent = {name: 0 for name in transports}
    delivered = {name: 0 for name in transports}
    try:
        for transport in transports.values():
            _run(transport, body, 50)  # warm-up: connection open, code paths hot
        for rep in range(repeat):
            names = list(transports) if rep % 2 == 0 else list(reversed(transports))
            for name in names:
                before = collector.count()
                thread, process, accepted = _run(transports[name], body, posts)
                runs[name].append((thread, process))
                sent[name] += posts * logs
                delivered[name] += collector.count() - before
                bench.log(f"post rep {rep + 1}/{repeat} {name}: "
                          f"{thread / posts * 1e6:.1f} us CPU/POST ({accepted} accepted)")
    finally:
        for transport in transports.values():
            transport.close()
        collector.stop()
    result: dict[str, Any] = {"posts": posts, "logs_per_post": logs, "body_bytes": len(body)}
    for name in transports:
        thread = statistics.median(run[0] for run in runs[name]) / posts * 1e6
        process = statistics.median(run[1] for run in runs[name]) / posts * 1e6
        result[name] = {
            "route": transports[name].route,
            "thread_cpu_us_per_post": round(thread, 1),
            "thread_cpu_us_per_log": round(thread / logs, 2),
            "process_cpu_us_per_post": round(process, 1),
            "process_cpu_us_per_log": round(process / logs, 2),
            "delivered": f"{delivered[name]} of {sent[name]} logs sent",
        }
    result["saved_thread_cpu_us_per_log"] = round(
        result["requests"]["thread_cpu_us_per_log"]
        - result["direct"]["thread_cpu_us_per_log"], 2)
    return result
