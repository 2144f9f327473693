"""``readme-metrics demo``: an example API, wrapped with the middleware, on your machine.

One command shows the whole flow with no ReadMe account and no network: the example API
(:mod:`.demo_app`) is wrapped with :class:`MetricsMiddleware`, served by wsgiref on
127.0.0.1, and sends its logs to an embedded :class:`LocalCollector`, whose dashboard and
HAR file show exactly what ReadMe would receive. The configuration shows the main options
at work: a grouping function, a denylist (the login's ``password`` is redacted),
development mode, and the docs URL lookup (responses carry an ``x-documentation-url``
pointing at the local dashboard).

The main thread waits in :meth:`StopSignals.wait` for the first of: a signal, or (with
``--requests N``) the thread making the calls being done. Then one shutdown path runs.
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
import threading
import time
from collections import Counter
from socketserver import ThreadingMixIn
from typing import Any, Optional
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from readme_metrics.cli.collector import SHUTDOWN_POLL, LocalCollector
from readme_metrics.cli.demo_app import DemoApp, demo_grouping, fire_requests
from readme_metrics.cli.demo_sample import sample_lines
from readme_metrics.cli.proxies import exempt_loopback
from readme_metrics.cli.signals import StopSignals, end_the_ctrl_c_line
from readme_metrics.cli.text import cannot_listen, counted
from readme_metrics.config import MetricsApiConfig
from readme_metrics.config_values import arguments_meant
from readme_metrics.middleware import MetricsMiddleware

__all__ = ["DEMO_API_KEY", "run_demo"]

#: Not a ReadMe key: the embedded collector accepts only this one, so auth is shown too.
DEMO_API_KEY = "rdme_demo_local_only_not_a_real_key"
#: Seconds the demo waits at start for the docs URL lookup (the collector answers it).
DOCS_URL_WAIT = 1.0
#: The last lines of a ``--requests N`` run that went well: what a newcomer does next (the
#: run ended on one log's lines, with no word of how to see their own app's calls).
NEXT_STEP = (
    "next:        your own app's calls: `readme-metrics collect` in one terminal, the app in",
    "             another with the export line it prints (README.md, \"See it locally\");",
    "             `readme-metrics demo` alone serves this API until Ctrl-C, for you to call it",
)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a hung client must not keep the demo from exiting


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # the collector prints one line per call already


class _Calls(threading.Thread):
    """``--requests N``: make the calls on a thread, then wake the main thread."""

    def __init__(self, base: str, count: int, signals: StopSignals) -> None:
        super().__init__(name="readme-metrics-demo-calls", daemon=True)
        self.base, self.count, self.signals = base, count, signals
        self.halt = threading.Event()
        self.statuses: Counter[str] = Counter()
        self.error: Optional[BaseException] = None

    @property
    def done(self) -> int:
        return sum(self.statuses.values())

    def run(self) -> None:
        try:
            fire_requests(self.base, self.count, self.halt, self.statuses)
        except Exception as exc:  # reported by the main thread; the demo then exits 1
            self.error = exc
        finally:
            self.signals.wake()


def _wrap(collector: LocalCollector) -> MetricsMiddleware:
    # Its arguments win over the machine's README_* variables on purpose: the warning
    # that asks an app to leave api_key= out is not said of them (newcomer45).
    with arguments_meant():
        config = _config(collector)
    return MetricsMiddleware(DemoApp(), config)


def _config(collector: LocalCollector) -> MetricsApiConfig:
    return MetricsApiConfig(
        api_key=DEMO_API_KEY,
        grouping_function=demo_grouping,
        metrics_api=collector.url,
        # The docs URL lookup asks the collector, so x-documentation-url opens its dashboard.
        readme_api_url=collector.url,
        development_mode=True,
        denylist=["password"],
        # Explicit values for every option, so README_* variables of the machine (or a
        # project's .env in the working directory) cannot change the demo.
        enabled=True,
        allowlist=[],
        allowed_http_hosts=[],
        skip_methods=["OPTIONS"],
        background_worker_mode=True,
        buffer_length=5,
        flush_interval=0.5,
        timeout=3.0,
        max_body_bytes=262144,
        max_queue_size=10000,
        max_queue_bytes=64 * 1024 * 1024,
        trusted_proxies=0,
        shutdown_timeout=5.0,
        # Not README_BASE_LOG_URL: the base is looked up from the collector (readme_api_url),
        # so the links open the local dashboard.
        base_log_url=None,
    )


def _look_up_the_docs_url(middleware: MetricsMiddleware) -> None:
    """Have the docs URL before the first call: looked up on the first request, it was
    known only from the second on, so the first `curl -i` the demo suggests showed no
    x-documentation-url (docs/COLLECTOR.md: every logged response carries one). The
    collector answers at once; a second at most, then the calls go on without it."""
    docs = middleware.pipeline.docs if middleware.pipeline is not None else None
    deadline = time.monotonic() + DOCS_URL_WAIT
    while docs is not None and docs.base() is None and time.monotonic() < deadline:
        time.sleep(0.01)


def _print_summary(collector: LocalCollector, middleware: MetricsMiddleware,
                   har_path: str) -> None:
    summary = collector.store.summary()
    stats = middleware.stats
    print("middleware:  " + ", ".join(
        f"{name} {stats.get(name, 0)}"
        for name in ("captured", "skipped", "sent", "dropped", "failed_batches", "retries")
    ))
    # The rates and the endpoints' counts are over the logs the collector keeps in memory
    # (1000): past them, the counts below added up to 1000 under "1200 logs accepted".
    window = ("" if summary["kept"] == summary["accepted"] else
              f"; over the last {summary['kept']} (all it keeps in memory; the HAR file has "
              "every one)")
    print(f"collector:   {counted(summary['accepted'], 'log')} accepted, "
          f"{summary['rejected']} refused{window}; "
          f"error rate {summary['errorRate'] * 100:.0f}%, p50 {summary['p50']:.1f} ms, "
          f"p95 {summary['p95']:.1f} ms")
    for item in summary["endpoints"]:
        print(f"   {item['count']:>4}  {item['endpoint']:<28} errors {item['errors']:<3} "
              f"p50 {item['p50']:.1f} ms  p95 {item['p95']:.1f} ms")
    count = collector.har.count if collector.har is not None else 0
    print(f"HAR file:    {har_path} ({counted(count, 'entry', 'entries')}, HAR 1.2; open it "
          "in your browser's devtools Network tab)", flush=True)
    if count:
        # Not "passwords redacted" alone: read as a default, it left a newcomer's own
        # app sending its callers' passwords, which only a denylist redacts.
        print("             it holds what was sent for each call (caller keys masked, "
              "always; passwords redacted by the demo's denylist=[\"password\"]: your "
              "app redacts only what its denylist names)", flush=True)


def _also_in_use(port: int) -> str:
    """The example API's ``port`` named too when it is taken as well: after `readme-metrics
    collect` (8001) and the app it watches (8000), both of the demo's defaults are, and
    the second error came only after the first was fixed."""
    if not port:
        return ""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as make_server binds
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (f" Port {port}, the example API's, is in use too: add --port 0 (or "
                        "--port N).")
    return ""


def _start(args: argparse.Namespace, once: bool,
           har_path: str) -> tuple[LocalCollector, MetricsMiddleware, WSGIServer] | None:
    """Bind the collector and the example API, or say which port to change and why."""
    api_port = args.port if args.port is not None else (0 if once else 8000)
    collector_port = (
        args.collector_port if args.collector_port is not None else (0 if once else 8001)
    )
    if api_port and api_port == collector_port:
        # Else the collector took the port and the API's bind failed with "already in use
        # (another collector or app?)", which sent the user after another process.
        print(f"readme-metrics demo: the example API (--port) and the collector "
              f"(--collector-port) would both listen on port {api_port}: give them two "
              "ports (or --port 0 to pick a free one)", file=sys.stderr)
        return None
    try:
        collector = LocalCollector(
            "127.0.0.1", collector_port, har_path=har_path, fresh_har=True,
            api_key=DEMO_API_KEY, out=sys.stdout, err=sys.stderr,
            summary_every=None if once else 30.0,  # --requests ends with a full summary
        )
    except ValueError as exc:  # --har names a file that is not a HAR file: kept as it is
        print(f"readme-metrics demo: {exc}; choose another file with --har", file=sys.stderr)
        return None
    except OSError as exc:
        print("readme-metrics demo: cannot start the collector: "
              + cannot_listen("127.0.0.1", collector_port, exc, "--collector-port")
              + _also_in_use(api_port), file=sys.stderr)
        return None
    middleware = _wrap(collector)
    try:
        server = make_server("127.0.0.1", api_port, middleware,
                             server_class=_ThreadingWSGIServer, handler_class=_QuietHandler)
    except OSError as exc:
        print("readme-metrics demo: cannot serve the example API: "
              + cannot_listen("127.0.0.1", api_port, exc), file=sys.stderr)
        middleware.close()
        collector.stop()
        return None
    return collector, middleware, server


def run_demo(args: argparse.Namespace) -> int:
    """``readme-metrics demo``: serve until stopped, or make ``args.requests`` calls and exit."""
    once = args.requests is not None
    har_path = os.path.abspath(args.har)
    # Every call of the demo is to 127.0.0.1: a proxy of the machine (http_proxy) would
    # take them, the middleware's POSTs included (it reads the proxies when it starts).
    exempt_loopback()
    started = _start(args, once, har_path)
    if started is None:
        return 2
    collector, middleware, server = started
    api_url = f"http://127.0.0.1:{server.server_port}"
    calls: Optional[_Calls] = None
    with StopSignals() as stop:
        collector.start()
        _look_up_the_docs_url(middleware)
        threading.Thread(target=server.serve_forever, name="readme-metrics-demo-api",
                         daemon=True, kwargs={"poll_interval": SHUTDOWN_POLL}).start()
        if once:  # no URLs: both servers are gone a few seconds later
            print(f"HAR file:    {har_path}", flush=True)
            print(f"The demo calls the example API {counted(args.requests, 'time')}; below, "
                  "each call's log as the collector received it:", flush=True)
            calls = _Calls(api_url, args.requests, stop)
            calls.start()
        else:
            print(f"example API: {api_url}/", flush=True)
            print(f"dashboard:   {collector.url}/", flush=True)
            print(f"HAR file:    {har_path}", flush=True)
            print(f"try:         curl -H 'X-Api-Key: demo-key-alice' {api_url}/api/items",
                  flush=True)
            print("Press Ctrl-C to stop.", flush=True)
        end_the_ctrl_c_line(stop.wait(), sys.stdout)
        if calls is not None:
            calls.halt.set()
            calls.join(15)  # at most the call in flight (its timeout is 10 s)
        server.shutdown()
        server.server_close()
        # flush() returns once the collector answered, and it prints before it answers.
        delivered = middleware.flush(timeout=10)
        middleware.close()
        collector.stop()
    return _finish(collector, middleware, har_path, calls, delivered)


def _finish(collector: LocalCollector, middleware: MetricsMiddleware, har_path: str,
            calls: Optional[_Calls], delivered: bool) -> int:
    """Print what happened; the exit code of ``--requests N`` says whether all arrived."""
    if calls is not None:
        print("requests:    " + ", ".join(
            f"{name} {calls.statuses[name]}" for name in sorted(calls.statuses)), flush=True)
        if calls.done != calls.count:
            why = f" ({calls.error})" if calls.error is not None else ""
            print(f"interrupted after {calls.done} of {calls.count} requests{why}", flush=True)
    _print_summary(collector, middleware, har_path)
    if calls is None:
        return 0
    for line in sample_lines(har_path):
        print(line, flush=True)
    store = collector.store
    if calls.done != calls.count:
        return 1
    if not delivered or store.accepted != calls.done or store.rejected:
        print(f"readme-metrics demo: expected {calls.done} valid logs, the collector accepted "
              f"{store.accepted} and refused {store.rejected}", file=sys.stderr, flush=True)
        return 1
    for line in NEXT_STEP:
        print(line, flush=True)
    return 0
