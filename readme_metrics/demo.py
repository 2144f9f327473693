"""``readme-metrics demo``: an example API, wrapped with the middleware, on your machine.

One command shows the whole flow with no ReadMe account and no network: a small JSON API
(:class:`DemoApp`: list, read, create and delete items, a form login, a file upload and
one endpoint that fails on purpose) is wrapped with :class:`MetricsMiddleware`, served by
wsgiref on 127.0.0.1, and sends its logs to an embedded :class:`LocalCollector`, whose
dashboard and HAR file show exactly what ReadMe would receive. The demo configuration
shows the main options at work: a grouping function (callers are told apart by their
``X-Api-Key`` header), a denylist (the login's ``password`` is redacted), development
mode, and the docs URL lookup (responses carry an ``x-documentation-url`` pointing at
the local dashboard).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections import Counter
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any, Iterable, Optional
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import webob

from readme_metrics.cli import Stop, stop_on_sigterm, wait_forever
from readme_metrics.collector import LocalCollector
from readme_metrics.config import MetricsApiConfig

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from readme_metrics.middleware import MetricsMiddleware

#: Not a ReadMe key: the embedded collector accepts only this one, so auth is shown too.
DEMO_API_KEY = "rdme_demo_local_only_not_a_real_key"

#: The example API's own keys (header ``X-Api-Key``) and who they belong to.
DEMO_CALLERS: dict[str, dict[str, str]] = {
    "demo-key-alice": {"label": "Alice (Acme Corp)", "email": "alice@acme.example"},
    "demo-key-bob": {"label": "Bob (Globex)", "email": "bob@globex.example"},
    "demo-key-carol": {"label": "Carol (Initech)", "email": "carol@initech.example"},
}


def demo_grouping(request: webob.Request) -> dict[str, str]:
    """Who is calling: the X-Api-Key header's owner, or an anonymous caller per address."""
    key = request.headers.get("X-Api-Key", "")
    if key in DEMO_CALLERS:
        return {"api_key": key, **DEMO_CALLERS[key]}
    return {"api_key": f"anonymous-{request.remote_addr or 'unknown'}", "label": "anonymous"}


class DemoApp:
    """The example API: a plain PEP 3333 app over webob, items kept in memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[int, dict[str, Any]] = {
            1: {"id": 1, "name": "Anvil", "price": 49.0, "tags": ["heavy"]},
            2: {"id": 2, "name": "Rocket skates", "price": 129.5, "tags": ["fast", "risky"]},
            3: {"id": 3, "name": "Bird seed", "price": 3.25, "tags": []},
        }
        self._next_id = 4

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = webob.Request(environ)
        response = self.dispatch(request)
        return response(environ, start_response)

    @staticmethod
    def _json(data: Any, status: int = 200, **headers: str) -> webob.Response:
        response = webob.Response(
            body=json.dumps(data, indent=None).encode("utf-8"), status=status,
            content_type="application/json", charset=None,
        )
        for name, value in headers.items():
            response.headers[name.replace("_", "-")] = value
        return response

    def dispatch(self, request: webob.Request) -> webob.Response:
        """Route one request (a dozen lines beat a framework dependency here)."""
        method, path = request.method, request.path_info.rstrip("/") or "/"
        if path == "/" and method == "GET":
            return self._json({
                "name": "readme-metrics demo API",
                "endpoints": [
                    "GET /api/items", "POST /api/items (JSON)", "GET /api/items/<id>",
                    "DELETE /api/items/<id>", "POST /api/login (form: username, password)",
                    "POST /api/upload (multipart: file)", "GET /api/fail (always 500)",
                ],
                "authentication": "X-Api-Key: " + " | ".join(DEMO_CALLERS),
            })
        if path == "/api/items":
            if method == "GET":
                return self._list(request)
            if method == "POST":
                return self._create(request)
        elif path.startswith("/api/items/"):
            return self._item(request, path[len("/api/items/"):])
        elif path == "/api/login" and method == "POST":
            return self._login(request)
        elif path == "/api/upload" and method == "POST":
            return self._upload(request)
        elif path == "/api/fail":
            return self._json({"error": "the warehouse database is on fire (a simulated failure)"},
                              500)
        else:
            return self._json({"error": f"no route for {method} {path}"}, 404)
        return self._json({"error": f"{method} is not allowed on {path}"}, 405,
                          Allow="GET, POST")

    def _list(self, request: webob.Request) -> webob.Response:
        with self._lock:
            items = list(self._items.values())
        tag = request.GET.get("tag")
        if tag:
            items = [item for item in items if tag in item["tags"]]
        return self._json({"items": items, "count": len(items)})

    def _create(self, request: webob.Request) -> webob.Response:
        try:
            data = json.loads(request.body or b"null")
        except ValueError:
            return self._json({"error": "the body is not JSON"}, 400)
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            return self._json({"error": "expected an object with a 'name'"}, 422)
        with self._lock:
            item = {"id": self._next_id, "name": data["name"],
                    "price": data.get("price", 0), "tags": data.get("tags", [])}
            self._items[self._next_id] = item
            self._next_id += 1
        return self._json(item, 201, Location=f"/api/items/{item['id']}")

    def _item(self, request: webob.Request, raw_id: str) -> webob.Response:
        if not raw_id.isdigit():
            return self._json({"error": f"item ids are numbers, got {raw_id!r}"}, 400)
        item_id = int(raw_id)
        with self._lock:
            if request.method == "DELETE":
                found = self._items.pop(item_id, None)
                if found is not None:
                    return webob.Response(status=204)
            else:
                found = self._items.get(item_id)
        if found is None:
            return self._json({"error": f"no item {item_id}"}, 404)
        if request.method != "GET":
            return self._json({"error": f"{request.method} is not allowed here"}, 405,
                              Allow="GET, DELETE")
        return self._json(found)

    def _login(self, request: webob.Request) -> webob.Response:
        username = request.POST.get("username", "")
        if not username or not request.POST.get("password"):
            return self._json({"error": "username and password are required"}, 400)
        response = self._json({"user": username, "token": "demo-token-" + username})
        response.set_cookie("session", "demo-session-" + username, httponly=True)
        return response

    def _upload(self, request: webob.Request) -> webob.Response:
        files = []
        for field, value in request.POST.items():
            if hasattr(value, "file"):
                data = value.file.read()
                files.append({"field": field, "filename": value.filename, "size": len(data),
                              "contentType": value.type})
        if not files:
            return self._json({"error": "send a multipart/form-data body with a file"}, 400)
        return self._json({"received": files, "note": request.POST.get("note", "")}, 201)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a hung client must not keep the demo from exiting


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # the collector prints one line per call already


def _requests_plan() -> list[tuple[str, str, dict[str, Any]]]:
    """The calls the demo makes, in order, cycled: every kind of body and outcome."""
    return [
        ("GET", "/api/items", {}),
        ("POST", "/api/items", {"json": {"name": "Giant magnet", "price": 19.99,
                                         "tags": ["new", "magnetic"]}}),
        ("GET", "/api/items/1?fields=name,price", {}),
        ("POST", "/api/login", {"data": {"username": "wile", "password": "s3cret-carrot"}}),
        ("POST", "/api/upload", {
            "files": {"file": ("order.csv", b"id,qty\n1,2\n3,1\n", "text/csv")},
            "data": {"note": "weekly order"},
        }),
        ("GET", "/api/items/999", {}),
        ("GET", "/api/fail", {}),
        ("GET", "/api/items?tag=fast", {}),
        ("DELETE", "/api/items/3", {}),
        ("POST", "/api/items", {"data": "not json", "headers": {
            "Content-Type": "application/json"}}),
    ]


def fire_requests(base: str, count: int) -> Counter[str]:
    """Make ``count`` varied calls to the example API at ``base``; count the status classes."""
    import requests  # the runtime dependency; only the demo driver needs it here

    plan = _requests_plan()
    keys = list(DEMO_CALLERS)
    statuses: Counter[str] = Counter()
    # One session per caller, as separate clients would have (the login cookie stays theirs).
    sessions = {key: requests.Session() for key in keys}
    try:
        for index in range(count):
            method, path, options = plan[index % len(plan)]
            kwargs = dict(options)
            key = keys[index % len(keys)]
            headers = {"X-Api-Key": key, **kwargs.pop("headers", {})}
            response = sessions[key].request(method, base + path, headers=headers, timeout=10,
                                             **kwargs)
            statuses[f"{response.status_code // 100}xx"] += 1
    finally:
        for session in sessions.values():
            session.close()
    return statuses


def _print_summary(collector: LocalCollector, middleware: Optional[MetricsMiddleware],
                   har_path: str) -> None:
    summary = collector.store.summary()
    if middleware is not None:
        stats = middleware.stats
        print("middleware:  " + ", ".join(
            f"{name} {stats.get(name, 0)}"
            for name in ("captured", "skipped", "sent", "dropped", "failed_batches", "retries")
        ))
    print(f"collector:   {summary['accepted']} logs accepted, {summary['rejected']} refused; "
          f"error rate {summary['errorRate'] * 100:.0f}%, p50 {summary['p50']:.1f} ms, "
          f"p95 {summary['p95']:.1f} ms")
    for item in summary["endpoints"]:
        print(f"   {item['count']:>4}  {item['endpoint']:<28} errors {item['errors']:<3} "
              f"p50 {item['p50']:.1f} ms  p95 {item['p95']:.1f} ms")
    count = collector.har.count if collector.har is not None else 0
    print(f"HAR file:    {har_path} ({count} entries, HAR 1.2; open it in your browser's "
          "devtools Network tab)", flush=True)


def _wrap(collector: LocalCollector) -> MetricsMiddleware:
    from readme_metrics.middleware import MetricsMiddleware

    config = MetricsApiConfig(
        api_key=DEMO_API_KEY,
        grouping_function=demo_grouping,
        metrics_api=collector.url,
        # The docs URL lookup asks the collector, so x-documentation-url opens its dashboard.
        readme_api_url=collector.url,
        development_mode=True,
        denylist=["password"],
        # Explicit values for every option, so README_* variables of the machine (or a
        # project's .env in the working directory) cannot change the demo.
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
    )
    # base_log_url=None would fall back to README_BASE_LOG_URL; the demo always looks the
    # base up from its own collector, so its links open the local dashboard.
    config.base_log_url = None
    return MetricsMiddleware(DemoApp(), config)


def run_demo(args: argparse.Namespace) -> int:
    """``readme-metrics demo``: serve until stopped, or make ``args.requests`` calls and exit."""
    once = args.requests is not None
    api_port = args.port if args.port is not None else (0 if once else 8000)
    collector_port = (
        args.collector_port if args.collector_port is not None else (0 if once else 8001)
    )
    har_path = os.path.abspath(args.har)
    try:
        collector = LocalCollector(
            "127.0.0.1", collector_port, har_path=har_path, fresh_har=True,
            api_key=DEMO_API_KEY, out=sys.stdout, err=sys.stderr,
            summary_every=None if once else 30.0,  # --requests ends with a full summary
        )
    except (OSError, ValueError) as exc:
        print(f"readme-metrics demo: cannot start the collector on port {collector_port}: "
              f"{exc} (try --collector-port 0)", file=sys.stderr)
        return 2
    middleware: Optional[MetricsMiddleware] = None
    server: Optional[WSGIServer] = None
    done = 0
    with stop_on_sigterm():
        try:
            collector.start()
            middleware = _wrap(collector)
            try:
                server = make_server("127.0.0.1", api_port, middleware,
                                     server_class=_ThreadingWSGIServer,
                                     handler_class=_QuietHandler)
            except OSError as exc:
                print(f"readme-metrics demo: cannot serve the example API on port "
                      f"{api_port}: {exc} (try --port 0)", file=sys.stderr)
                return 2
            api_url = f"http://127.0.0.1:{server.server_port}"
            threading.Thread(target=server.serve_forever, name="readme-metrics-demo-api",
                             daemon=True).start()
            print(f"example API: {api_url}/", flush=True)
            print(f"dashboard:   {collector.url}/", flush=True)
            print(f"HAR file:    {har_path}", flush=True)
            if not once:
                print(f"try:         curl -H 'X-Api-Key: demo-key-alice' {api_url}/api/items",
                      flush=True)
                print("Press Ctrl-C to stop.", flush=True)
                wait_forever()
            statuses = fire_requests(api_url, args.requests)
            done = args.requests
            print("requests:    " + ", ".join(
                f"{name} {statuses[name]}" for name in sorted(statuses)), flush=True)
        except (KeyboardInterrupt, Stop):
            if once:
                print(f"interrupted after {done} of {args.requests} requests", flush=True)
        finally:
            if server is not None:
                server.shutdown()
                server.server_close()
            delivered = True
            if middleware is not None:
                deadline = time.monotonic() + 10
                delivered = middleware.flush(timeout=10)
                middleware.close()
                # flush() returns once the collector answered; be sure its lines are out.
                while collector.store.accepted + collector.store.rejected < done \
                        and time.monotonic() < deadline:
                    time.sleep(0.05)
            collector.stop()
    _print_summary(collector, middleware, har_path)
    if not once:
        return 0
    store = collector.store
    if done != args.requests:
        return 1
    if not delivered or store.accepted != done or store.rejected:
        print(f"readme-metrics demo: expected {done} valid logs, the collector accepted "
              f"{store.accepted} and refused {store.rejected}", file=sys.stderr, flush=True)
        return 1
    return 0
