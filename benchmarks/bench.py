"""What readme-metrics costs a WSGI app, measured: prints one JSON document.

.. code-block:: sh

    python benchmarks/bench.py                 # everything (about 3 minutes)
    python benchmarks/bench.py --only inprocess --repeat 3
    python benchmarks/bench.py --only inprocess --denylist password,secret,token,api_key

The first three parts compare bare app and wrapped app, interleaved, the median of
``--repeat`` runs:

``inprocess``
    A trivial GET app (13 request headers, a bearer token and a cookie among them, a
    62-byte JSON answer) and a POST app (reads a 2 KB JSON body, answers ~100 KB of
    JSON), called directly in a loop, posting to a loopback collector in another process.
    Request path: mean/p50/p90/p99 microseconds per call, and what makes the mean's
    tail: ``stalls``, the calls over 100 us, and ``stalls_excess_us``, what they hold
    above the p50 per call; the cyclic GC's collections and time in the loop per call;
    on Linux the loop thread's ``runqueue_us`` per call, waiting for a CPU that other
    processes held (the load's share), and ``blocked``, how often it waited on the GIL
    or a lock. End to end: wall
    microseconds per
    request from the first call until the collector has every log (``flush()``). CPU:
    process CPU (all threads: request path, worker, JSON, HTTP) per request.
    ``browser_get``: the same GET with a browser's 17 headers (``BROWSER_HEADERS``: client
    hints, fetch metadata, 5 cookies, a Referer whose query holds ``%40`` and ``%3A``),
    the URL readers' cost on real traffic. Each row says its logs delivered of served.
``server``
    The GET app under gunicorn (2 sync workers) driven by ``wrk`` on 127.0.0.1 for
    ``--seconds``; requests per second and the wrapped/bare ratio. Beside it, CPU per
    request of the workers, of wrk and of the loopback collector (the benchmark's own:
    the real Metrics API is not on these cores), each apart, and the ratio that CPU
    predicts with and without the collector on the cores (an estimate; the logs are
    counted at the collector either way). ``accounting`` (benchmarks/accounting.py):
    per request, each process's CPU apart (the arbiter, the workers' serving threads and
    their other threads, wrk, the collector), context switches, the logs per POST, the
    collector's CPU per POST and per log, the machine's idle time and what other
    processes took (on a shared machine the requests/s ratio means nothing when that is
    large; the CPU figures still do). The collector counts each POST's logs by a scan
    and checks it by a full parse of one POST in 16 (``collector``: verified,
    mismatches); ``BENCH_COLLECTOR=streams`` runs the asyncio streams one of before cpu13.
``asgi``
    The same small GET as an ASGI app, in process and under uvicorn + ``wrk``, next to
    the WSGI request path measured in the same run (benchmarks/bench_asgi.py).
``memory``
    A fresh interpreter serves 50,000 GET requests while the Metrics API answers 500,
    refuses connections, or accepts and never answers: RSS and thread count before and
    after, the delivery stats, and how long the interpreter takes to exit afterwards.
``sustained``
    Default options, a fixed rate of GETs through the middleware for
    ``--sustained-seconds`` against a loopback Metrics API that answers each POST after a
    delay (``--sustained RATE@DELAY,...``; the targets are 2000@0.05 and 1000@0.25):
    served, sent, dropped, distinct logs the API received, duplicates, and the time the
    backlog took to clear once the load stopped.
``slowapi``
    A fault: the Metrics API drips its answers one byte every 0.4 s. The slowest request
    (inline mode posts from it) and the exit time, against timeout=1 s and
    shutdown_timeout=2 s, in inline and background mode.
``post``
    CPU per POST and per log of the two transports, requests and the direct path, in the
    same run (benchmarks/bench_post.py).
``slowclient``
    A fault: 20 clients, one after the other, each declaring a 100,000-byte body, sending
    3 bytes and holding the connection, to a view that never reads the body; gunicorn with
    one sync worker and ``--timeout 6``, bare and wrapped: answers and seconds to them,
    a second client served meanwhile, WORKER TIMEOUTs, logs delivered out of served.

Only the standard library and the project are needed (plus gunicorn and wrk for
``server``, uvicorn and wrk for the server half of ``asgi``). Progress goes to stderr,
the JSON to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterable, Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import accounting  # noqa: E402  (benchmarks/accounting.py)

#: A denylist as users set one (``--denylist``): the default figures are without lists.
TYPICAL_DENYLIST = "password,secret,token,api_key,ssn,credit_card"
API_KEY = "rdme_benchmark_key_0000"
TOKEN = "sk_live_4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"

# -- the apps ------------------------------------------------------------------------------

GET_HEADERS = {  # 13 request headers, as a browser or SDK would send them
    "Host": "api.example.com",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) bench/1.0",
    "Accept": "application/json",
    "Accept-Encoding": "gzip, deflate, br",
    "Accept-Language": "en-US,en;q=0.9",
    "Authorization": f"Bearer {TOKEN}",
    "Cookie": "session=8c1f0e2d9b7a4c3e; theme=dark; _ga=GA1.2.1234567890.1700000000",
    "Connection": "keep-alive",
    "Cache-Control": "no-cache",
    "Referer": "https://docs.example.com/reference/get-widgets",
    "X-Request-Id": "0f8e2a3c-5b6d-4e7f-8a9b-0c1d2e3f4a5b",
    "X-Api-Version": "2024-06-01",
    "X-Forwarded-For": "203.0.113.7",
}
#: A browser's GET of the same API (Chrome 124 calling it with fetch from a web app): its
#: User-Agent, client hints, fetch metadata, a longer Cookie and a Referer whose query holds
#: an encoded ``@`` and an encoded URL (``%40``, ``%3A``), which the safety readers of URL
#: headers read (cpu43, cpu44). The bench's ``browser_get`` row; the small GET keeps
#: ``GET_HEADERS``.
BROWSER_HEADERS = {
    "Host": "api.example.com",
    "Connection": "keep-alive",
    "sec-ch-ua": '"Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"',
    "sec-ch-ua-mobile": "?0",
    "sec-ch-ua-platform": '"Linux"',
    "Authorization": f"Bearer {TOKEN}",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/124.0.0.0 Safari/537.36",
    "Accept": "application/json, text/plain, */*",
    "Origin": "https://app.example.com",
    "Sec-Fetch-Site": "same-site",
    "Sec-Fetch-Mode": "cors",
    "Sec-Fetch-Dest": "empty",
    "Referer": "https://app.example.com/signup?email=ada%40example.com"
               "&next=https%3A%2F%2Fapp.example.com%2Fwelcome&step=2",
    "Accept-Encoding": "gzip, deflate, br, zstd",
    "Accept-Language": "en-US,en;q=0.9,de;q=0.8",
    "Cookie": "_ga=GA1.1.1234567890.1700000000; _gid=GA1.1.987654321.1700000000; "
              "csrftoken=Xq3vT9pL2mN8rK4sW6yZ1aB5cD7eF0gH; "
              "session=8c1f0e2d9b7a4c3e5f6a7b8c9d0e1f2a; theme=dark",
}
GET_BODY = json.dumps({"id": 12345, "name": "widget", "tags": ["a", "b"], "ok": True},
                      separators=(",", ":")).encode()
GET_BODY = GET_BODY + b" " * (62 - len(GET_BODY))  # exactly 62 bytes of JSON
POST_BODY = json.dumps({"items": [{"sku": f"SKU-{n:05d}", "qty": n % 7, "note": "x" * 20}
                                  for n in range(40)]}).encode()[:2048]
POST_BODY = POST_BODY[:POST_BODY.rfind(b"}") + 1] + b"]}"
POST_BODY = POST_BODY + b" " * (2048 - len(POST_BODY))
POST_ANSWER = json.dumps([{"id": n, "sku": f"SKU-{n:05d}", "price": n * 1.25,
                           "description": "lorem ipsum dolor sit amet " * 2}
                          for n in range(830)]).encode()


def get_app(environ: dict, start_response: Callable) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(GET_BODY)))])
    return [GET_BODY]


def post_app(environ: dict, start_response: Callable) -> Iterable[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    json.loads(environ["wsgi.input"].read(length))
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(POST_ANSWER)))])
    return [POST_ANSWER]


def grouping(request: Any) -> dict:
    """A typical grouping function: the caller is the bearer token."""
    auth = request.headers.get("Authorization", "")
    return {"api_key": auth[7:], "label": "Bench User", "email": "bench@example.com"}


def environ_for(method: str, body: bytes = b"",
                headers: Optional[dict[str, str]] = None) -> dict:
    environ = {
        "REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": "/v1/widgets/12345",
        "QUERY_STRING": "expand=owner&limit=10", "SERVER_NAME": "api.example.com",
        "SERVER_PORT": "443", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.12",
        "wsgi.version": (1, 0), "wsgi.url_scheme": "https", "wsgi.errors": sys.stderr,
        "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
    }
    for name, value in (GET_HEADERS if headers is None else headers).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    if body:
        environ["CONTENT_TYPE"] = "application/json"
        environ["CONTENT_LENGTH"] = str(len(body))
    return environ


def wrap(app: Callable, metrics_url: str, **options: Any) -> Any:
    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    if os.environ.get("BENCH_BUFFER_LENGTH"):  # --buffer-length, else the default (10)
        options.setdefault("buffer_length", int(os.environ["BENCH_BUFFER_LENGTH"]))
    if os.environ.get("BENCH_DENYLIST"):  # --denylist (bench.py, instructions.py): a,b,...
        options.setdefault("denylist", os.environ["BENCH_DENYLIST"].split(","))

    config = MetricsApiConfig(api_key=API_KEY, grouping_function=grouping,
                              metrics_api=metrics_url,
                              base_log_url="https://docs.example.com", **options)
    return MetricsMiddleware(app, config)


# -- a loopback collector in its own process --------------------------------------------------


Answer = Callable[[bytes, bytes, asyncio.StreamWriter], Awaitable[None]]


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def request_loop(answer: Answer, refused: Optional[Callable[[], bool]] = None) -> Handler:
    """A connection handler for ``asyncio.start_server``: reads the connection's requests
    one after another (kept alive), each one's head and body (by its Content-Length) to
    ``answer``. ``refused``: asked after each request is read; True closes the connection
    unanswered (an API down: outage.py's ``refused`` mode, a connection kept alive from
    before is closed)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                match = re.search(rb"(?i)content-length:\s*(\d+)", head)
                body = await reader.readexactly(int(match.group(1))) if match else b""
                if refused is not None and refused():
                    break
                await answer(head, body, writer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    return handle


def serve_requests(answer: Answer) -> None:
    """Serve on a free port of 127.0.0.1 until killed; the port goes to stdout first (for
    the parent). Each request's head and body (by its Content-Length) go to ``answer``."""

    async def main() -> None:
        server = await asyncio.start_server(request_loop(answer), "127.0.0.1", 0, backlog=512)
        print(server.sockets[0].getsockname()[1], flush=True)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


#: The counting collector parses one POST body in this many in full (and the first) and
#: checks the count its scan gave (``GET /posts``: ``verified``, ``mismatches``).
VERIFY_EVERY = 16


def count_logs(body: bytes | bytearray, end: int) -> int:
    """The logs in the JSON array ``body[:end]`` the library posted: each log is an object
    with its ``_id`` key, which no other object of this benchmark's logs has (the HAR's
    keys are fixed; a header or a form field named ``_id`` is a value, ``"_id",``), and a
    JSON string holds a quote only escaped (``\\"``): ``"_id":`` appears once per log and
    nowhere else. The collector checks it by a full parse of one POST in VERIFY_EVERY."""
    return body.count(b'"_id":', 0, end)


class CountingProtocol(asyncio.Protocol):
    """The ``ok`` collector's connection: a 202 to each POST, its logs counted by a scan
    for ``"_id":`` (each log's own key; a JSON string holds a quote only escaped, so no
    text inside a log matches), with no parse, no stream reader, no regex per request:
    as cheap per POST as the Python side of a Metrics API can be assumed. Before cpu13
    the collector was the asyncio streams loop of the other modes (``mode`` ``streams``,
    kept to measure it against): about 70 us of CPU per POST of 10 small GET logs on the
    cores the workers share."""

    counts = {"logs": 0, "posts": 0, "verified": 0, "mismatches": 0}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = bytearray()
        self.need = -1  # the body's length once its head is read; -1: reading a head

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        counts = self.counts
        while True:
            if self.need < 0:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = bytes(buffer[:end]).lower()
                del buffer[:end + 4]
                if head.startswith(b"get /"):
                    text = json.dumps(counts).encode() if head.startswith(b"get /posts") \
                        else str(counts["logs"]).encode()
                    self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
                                         % (len(text), text))
                    continue
                at = head.find(b"content-length:")
                self.need = int(head[at + 15:head.find(b"\r\n", at) % (len(head) + 1)]
                                .strip() or 0) if at >= 0 else 0
            if len(buffer) < self.need:
                return
            need, self.need = self.need, -1
            found = count_logs(buffer, need)
            if not counts["posts"] % VERIFY_EVERY:
                counts["verified"] += 1
                if len(json.loads(bytes(buffer[:need]))) != found:
                    counts["mismatches"] += 1
            counts["posts"] += 1
            counts["logs"] += found
            del buffer[:need]
            self.transport.write(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")


def serve_counting_collector() -> None:
    """The ``ok`` collector (:class:`CountingProtocol`) on a free port of 127.0.0.1 until
    killed; the port goes to stdout first."""

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(
            CountingProtocol, "127.0.0.1", 0, backlog=512)
        print(server.sockets[0].getsockname()[1], flush=True)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def serve_collector(mode: str) -> None:
    """Minimal Metrics API: counts logs; ``mode`` ok (202: :func:`serve_counting_collector`),
    streams (202, counted by the asyncio streams loop below, the collector before cpu13),
    500, or hang (never answers)."""
    if mode == "ok":
        serve_counting_collector()
        return
    count = 0

    async def answer(head: bytes, body: bytes, writer: asyncio.StreamWriter) -> None:
        nonlocal count
        if head.startswith(b"GET /count"):
            text = str(count).encode()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
                         % (len(text), text))
        elif mode == "hang":
            await asyncio.sleep(3600)
        elif mode == "500":
            writer.write(b"HTTP/1.1 500 Internal Server Error\r\n"
                         b"Content-Length: 0\r\n\r\n")
        else:
            count += body.count(b'"_id":')
            writer.write(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")

    serve_requests(answer)


class Collector:
    """The loopback stand-in (:func:`serve_collector`) in its own process."""

    def __init__(self, mode: str = "ok") -> None:
        self._start("collector", mode)

    def _start(self, *args: str) -> None:
        self.mode = args[-1] if args[0] == "collector" else args[0]
        self.process = subprocess.Popen([sys.executable, __file__, *args],
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())
        self.url = f"http://127.0.0.1:{self.port}"

    def count(self) -> int:
        with socket.create_connection(("127.0.0.1", self.port)) as sock:
            sock.sendall(b"GET /count HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data or not data.split(b"\r\n\r\n", 1)[1]:
                data += sock.recv(4096)
            return int(data.split(b"\r\n\r\n", 1)[1])

    def posts(self) -> dict[str, int]:
        """The ``ok`` collector's counts: logs, posts, verified (bodies parsed in full)
        and mismatches (a parse that disagreed with the scan's count)."""
        with socket.create_connection(("127.0.0.1", self.port)) as sock:
            sock.sendall(b"GET /posts HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data or not data.split(b"\r\n\r\n", 1)[1].endswith(b"}"):
                data += sock.recv(4096)
            counts: dict[str, int] = json.loads(data.split(b"\r\n\r\n", 1)[1])
            return counts

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, server: str) -> None:
    """Wait until ``server`` accepts connections on 127.0.0.1:``port`` (30 s at most)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{server} did not start") from None
            time.sleep(0.1)


def wait_for_workers(master: int, directory: str, count: int) -> list[int]:
    """The pids of the ``count`` workers of gunicorn's ``master`` once each has imported
    ``GUNICORN_APP`` (its ``ready-<pid>`` in ``directory``; 120 s at most). The port
    accepts connections as soon as the master listens, before any worker can answer."""
    deadline = time.monotonic() + 120
    while True:
        workers = child_pids(master)
        if len(workers) >= count and all(
                Path(directory, f"ready-{pid}").exists() for pid in workers):
            return workers
        if time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn's workers did not import the app: {workers}")
        time.sleep(0.05)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- in-process --------------------------------------------------------------------------------


WARM_UP = 200  # requests before each timed run
#: A call at least this long (ns) is counted a stall in ``tail``: the small GET's own
#: path takes about 10 us; one this long waited for the GIL or the CPU, or collected.
STALL_NS = 100_000


def _start_response(status: str, headers: list, exc_info: Any = None) -> Callable:
    return lambda data: None


def thread_sched() -> tuple[float, int]:
    """This thread's (seconds runnable waiting for a CPU, voluntary switches) from Linux's
    /proc (zeros elsewhere): the load's share of a timed loop (a CPU taken by other
    processes) and how often the thread blocked (on the GIL or a lock)."""
    pid, tid = os.getpid(), threading.get_native_id()
    return accounting.thread_waited(pid, tid), accounting.thread_usage(pid, tid).voluntary


def fresh_environ(template: dict[str, Any], body: bytes) -> dict[str, Any]:
    """A copy of ``template`` with ``body`` as a new ``wsgi.input``."""
    environ = dict(template)
    environ["wsgi.input"] = io.BytesIO(body)
    return environ


def serve(app: Callable, environ: dict[str, Any]) -> None:
    """What a server does with one request: call, iterate, close."""
    result = app(environ, _start_response)
    for _ in result:
        pass
    close = getattr(result, "close", None)
    if close is not None:
        close()


def run_inprocess(app: Callable, method: str, body: bytes, requests: int,
                  wrapped: Any, headers: Optional[dict[str, str]] = None) -> dict[str, float]:
    """Call ``app`` directly ``requests`` times; time each call and the whole delivery.
    ``headers``: the request's (``GET_HEADERS`` by default)."""
    template = environ_for(method, body, headers)
    for _ in range(WARM_UP):  # not timed; flushed below
        serve(app, fresh_environ(template, body))
    if wrapped is not None:
        wrapped.flush(60)
        before = dict(wrapped.stats)
    samples = []
    clock = time.perf_counter_ns
    collected: list[int] = []  # the cyclic GC's start and stop times in the timed loop
    gc.callbacks.append(lambda phase, info: collected.append(clock()))
    sched0 = thread_sched()
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    for _ in range(requests):
        environ = fresh_environ(template, body)  # built outside the timed part
        t0 = clock()
        serve(app, environ)
        samples.append(clock() - t0)
    loop_end = time.perf_counter()
    sched1 = thread_sched()
    gc.callbacks.pop()
    complete = True
    if wrapped is not None:
        complete = wrapped.flush(120)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    samples.sort()
    p50 = samples[len(samples) // 2]
    stalls = [sample for sample in samples if sample >= STALL_NS]
    figures: dict[str, float] = {
        "mean_us": statistics.fmean(samples) / 1000,
        "p50_us": p50 / 1000,
        "p90_us": samples[int(len(samples) * 0.9)] / 1000,
        "p99_us": samples[int(len(samples) * 0.99)] / 1000,
        # The mean's tail, taken apart (cpu45): calls of STALL_NS or more, and the mean
        # excess over the p50 they hold per call; the GC's collections and time per call.
        "stalls": len(stalls),
        "stalls_excess_us": (sum(stalls) - p50 * len(stalls)) / requests / 1000,
        "gc_collections": len(collected) // 2,
        "gc_us": sum(stop - start for start, stop in zip(collected[::2], collected[1::2]))
        / requests / 1000,
        # The loop's thread (Linux): waiting for a CPU other processes held (the load's,
        # not the library's), and how many times it blocked (the GIL, a lock).
        "runqueue_us": (sched1[0] - sched0[0]) / requests * 1e6,
        "blocked": sched1[1] - sched0[1],
        "loop_us_per_request": (loop_end - wall0) / requests * 1e6,
        "end_to_end_us_per_request": wall / requests * 1e6,
        "cpu_us_per_request": cpu / requests * 1e6,
    }
    if wrapped is not None:
        after = wrapped.stats
        figures["delivered"] = after["sent"] - before["sent"]
        figures["dropped"] = after["dropped"] - before["dropped"]
        figures["complete"] = float(complete)
    return figures


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: round(statistics.median(run[key] for run in runs), 2) for key in runs[0]}


def bench_inprocess(repeat: int, get_requests: int, post_requests: int) -> dict[str, Any]:
    collector = Collector("ok")
    results: dict[str, Any] = {}
    try:
        for name, app, method, body, count, headers in (
                ("small_get", get_app, "GET", b"", get_requests, None),
                ("post_100kb", post_app, "POST", POST_BODY, post_requests, None),
                # The small GET as a browser sends it (BROWSER_HEADERS): the URL
                # readers' cost on real traffic, its own row (cpu44).
                ("browser_get", get_app, "GET", b"", get_requests, BROWSER_HEADERS)):
            runs: dict[str, list[dict[str, float]]] = {"bare": [], "wrapped": []}
            logged = collector.count()
            for rep in range(repeat):
                order = ("bare", "wrapped") if rep % 2 == 0 else ("wrapped", "bare")
                for variant in order:
                    if variant == "bare":
                        runs["bare"].append(
                            run_inprocess(app, method, body, count, None, headers))
                    else:
                        wrapped = wrap(app, collector.url)
                        try:
                            runs["wrapped"].append(
                                run_inprocess(wrapped, method, body, count, wrapped,
                                              headers))
                        finally:
                            wrapped.close()
                log(f"inprocess {name} rep {rep + 1}/{repeat}: "
                    f"bare {runs['bare'][-1]['mean_us']:.1f} us, "
                    f"wrapped {runs['wrapped'][-1]['mean_us']:.1f} us mean, "
                    f"{runs['wrapped'][-1]['cpu_us_per_request']:.1f} us CPU/request")
            bare, wrapped_median = median_of(runs["bare"]), median_of(runs["wrapped"])
            results[name] = {
                "requests": count,
                "bare": bare,
                "wrapped": wrapped_median,
                "added": {
                    key: round(wrapped_median[key] - bare[key], 2)
                    for key in ("mean_us", "p50_us", "p90_us", "p99_us",
                                "end_to_end_us_per_request", "cpu_us_per_request")
                },
                "ratio_to_bare": {
                    key: round(wrapped_median[key] / bare[key], 2)
                    for key in ("mean_us", "p50_us", "p99_us", "end_to_end_us_per_request",
                                "cpu_us_per_request")
                },
                # This row's logs at the collector, of the wrapped requests it served.
                "delivered": f"{collector.count() - logged} of "
                             f"{repeat * (WARM_UP + count)} served",
            }
        results["collector_logs"] = collector.count()
        # Every wrapped request served (warm-ups included) is one log.
        served = repeat * (3 * WARM_UP + 2 * get_requests + post_requests)
        results["delivered"] = f"{results['collector_logs']} of {served} served"
    finally:
        collector.stop()
    return results


# -- under gunicorn + wrk ------------------------------------------------------------------------

GUNICORN_APP = textwrap.dedent("""
    import atexit, itertools, os, sys
    sys.path.insert(0, os.environ["BENCH_DIR"])
    import bench

    # Every request the worker served, counted outside the middleware and written at the
    # worker's exit: wrk counts only the requests answered before its clock stopped, not
    # the (up to one per connection) in flight then, which the workers still serve and log.
    served = itertools.count()

    def counted(app):
        def app_served(environ, start_response):
            next(served)
            return app(environ, start_response)
        return app_served

    def write_served():
        path = os.path.join(os.environ["BENCH_SERVED_DIR"], f"served-{os.getpid()}")
        with open(path, "w") as file:
            file.write(str(next(served)))

    atexit.register(write_served)
    bare = counted(bench.get_app)
    wrapped = counted(bench.wrap(bench.get_app, os.environ["METRICS_URL"]))

    # The app is imported: this worker serves from now on (wait_for_workers). Before,
    # on a loaded machine the warm-up could end before the workers had imported it (0
    # requests answered at load 17), and the measured run held their imports' CPU.
    if os.environ.get("BENCH_SERVED_DIR"):
        open(os.path.join(os.environ["BENCH_SERVED_DIR"], f"ready-{os.getpid()}"), "w").close()
""")


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def child_pids(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return [int(child) for child in children.read().split()]
    except OSError:
        return []


def wrk_target(port: int) -> list[str]:
    """wrk's last arguments for the benchmark's GET to ``port``: ``GET_HEADERS`` (but Host
    and Connection, which wrk writes itself) and the URL."""
    headers = []
    for name, value in GET_HEADERS.items():
        if name not in ("Host", "Connection"):
            headers += ["-H", f"{name}: {value}"]
    return [*headers, f"http://127.0.0.1:{port}/v1/widgets/12345?expand=owner&limit=10"]


def run_wrk(app_name: str, directory: str, collector: Collector,
            seconds: float) -> dict[str, float]:
    port = free_port()
    env = {**os.environ, "METRICS_URL": collector.url, "BENCH_DIR": str(Path(__file__).parent),
           "PYTHONPATH": os.pathsep.join([directory, str(ROOT)]), "BENCH_SERVED_DIR": directory}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--worker-class", "sync",
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", f"bench_app:{app_name}"],
        cwd=directory, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, "gunicorn")
        workers = wait_for_workers(server.pid, directory, 2)
        target = wrk_target(port)
        warm = subprocess.run(["wrk", "-t1", "-c2", "-d1s", *target],  # warm-up
                              capture_output=True, text=True, check=True).stdout
        warm_total = re.search(r"(\d+) requests in", warm)
        counting = collector.mode == "ok"  # the streams collector counts no POSTs

        def moment() -> accounting.Snapshot:
            counts = collector.posts() if counting else {"posts": 0, "logs": 0}
            return accounting.snapshot(server.pid, workers, collector.process.pid,
                                       counts["posts"], counts["logs"])

        before = moment()
        out = subprocess.run(["wrk", "-t2", "-c4", f"-d{seconds:g}s", *target],
                             capture_output=True, text=True, check=True).stdout
        after = moment()  # wrk, the one child reaped meanwhile, is in after.reaped
        match = re.search(r"Requests/sec:\s+([\d.]+)", out)
        total = re.search(r"(\d+) requests in", out)
        if match is None or total is None:
            raise RuntimeError(f"unexpected wrk output: {out}")
        answered = int(total.group(1))
        table = accounting.per_request(before, after, answered)
        figures = {
            "rps": float(match.group(1)),
            # What wrk saw answered, warm-up included (not the requests in flight when
            # its clock stopped: "served" below counts those too, at the workers).
            "wrk_answered": answered + (int(warm_total.group(1)) if warm_total else 0),
            "worker_cpu_us_per_request": table["workers_cpu_us"],
            "collector_cpu_us_per_request": table["collector_cpu_us"],
            "wrk_cpu_us_per_request": table["wrk_cpu_us"],
            **{f"per_request_{key}": value for key, value in table.items()},
        }
    finally:
        server.terminate()
        server.wait(30)
    counts = [Path(directory, f"served-{pid}") for pid in workers]
    # Every request the workers served, each one a log; wrk's count if a worker wrote none.
    figures["served"] = (sum(int(count.read_text()) for count in counts)
                         if all(count.exists() for count in counts) else figures["wrk_answered"])
    for count in counts:
        count.unlink(missing_ok=True)
    for pid in workers:
        Path(directory, f"ready-{pid}").unlink(missing_ok=True)
    return figures


def bench_server(repeat: int, seconds: float) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        return {"skipped": "wrk not installed (apt-get install wrk)"}
    # BENCH_COLLECTOR=streams: the collector before cpu13 (to measure the two against
    # each other); it counts no POSTs, so the accounting's per-POST figures read 0.
    collector = Collector(os.environ.get("BENCH_COLLECTOR", "ok"))
    runs: dict[str, list[dict[str, float]]] = {"bare": [], "wrapped": []}
    checked: dict[str, int] = {}
    try:
        with tempfile.TemporaryDirectory() as directory:
            Path(directory, "bench_app.py").write_text(GUNICORN_APP)
            for rep in range(repeat):
                order = ("bare", "wrapped") if rep % 2 == 0 else ("wrapped", "bare")
                for variant in order:
                    runs[variant].append(run_wrk(variant, directory, collector, seconds))
                log(f"server rep {rep + 1}/{repeat}: bare {runs['bare'][-1]['rps']:.0f} req/s, "
                    f"wrapped {runs['wrapped'][-1]['rps']:.0f} req/s")
        logged = collector.count()
        if collector.mode == "ok":
            checked = collector.posts()
    finally:
        collector.stop()
    bare, wrapped = median_of(runs["bare"]), median_of(runs["wrapped"])
    table = {variant: {key[len("per_request_"):]: value for key, value in figures.items()
                       if key.startswith("per_request_")}
             for variant, figures in (("bare", bare), ("wrapped", wrapped))}
    bare_cpu, wrapped_cpu = (run["worker_cpu_us_per_request"] + run["wrk_cpu_us_per_request"]
                             for run in (bare, wrapped))
    return {
        "seconds": seconds, "gunicorn_workers": 2, "wrk": "-t2 -c4",
        "bare_rps": round(bare["rps"]), "wrapped_rps": round(wrapped["rps"]),
        "ratio": round(wrapped["rps"] / bare["rps"], 3),
        # CPU of the gunicorn worker processes per request served (all their threads),
        # and of the stand-in collector, which shares the machine's two cores.
        "bare_worker_cpu_us_per_request": round(bare["worker_cpu_us_per_request"], 1),
        "wrapped_worker_cpu_us_per_request": round(wrapped["worker_cpu_us_per_request"], 1),
        "collector_cpu_us_per_request": round(wrapped["collector_cpu_us_per_request"], 1),
        # wrk's own CPU per request, on the same two cores (the load generator's).
        "bare_wrk_cpu_us_per_request": round(bare["wrk_cpu_us_per_request"], 1),
        "wrapped_wrk_cpu_us_per_request": round(wrapped["wrk_cpu_us_per_request"], 1),
        # The ratio the CPU per request predicts when the benchmark's processes have the
        # two cores to themselves and keep them busy: bare (workers + wrk) over wrapped
        # (workers + wrk + collector); and the same with the collector elsewhere, as the
        # real Metrics API is (the collector is the benchmark's own, but takes the cores'
        # time from the workers). Estimates, not measurements: "ratio" stays the figure,
        # and every log is still counted at the collector.
        "cpu_model_ratio": round(bare_cpu / (wrapped_cpu
                                             + wrapped["collector_cpu_us_per_request"]), 3),
        "cpu_model_ratio_collector_elsewhere": round(bare_cpu / wrapped_cpu, 3),
        "rps_runs": {variant: [round(run["rps"]) for run in values]
                     for variant, values in runs.items()},
        # Per request served (wrk's count), the medians of the runs, each process apart
        # (benchmarks/accounting.py): CPU in us, context switches, the collector's CPU
        # per POST and per log, the machine's idle time and what other processes took.
        "accounting": {**table, "added": {
            key: round(table["wrapped"][key] - table["bare"][key], 3)
            for key in table["wrapped"]
            if not key.startswith(("logs_per", "collector_cpu_us_per"))}},
        # The collector: "ok" counts each POST's logs by a scan and checks the scan by a
        # full parse of one body in VERIFY_EVERY; "streams" is the one before cpu13.
        "collector": {"mode": collector.mode, **checked, "measured": (
            "logs counted by a scan per POST, one POST in VERIFY_EVERY parsed in full "
            "(verified, mismatches); not pinned: its CPU shares the two cores and is "
            "counted apart (accounting), not in the workers'" if collector.mode == "ok"
            else "the asyncio streams loop of before cpu13; not pinned")},
        "collector_logs": logged,
        # The workers flush at their exit (server.terminate()), so every wrapped request
        # served should be there.
        "delivered": f"{logged} of {sum(run['served'] for run in runs['wrapped']):g} served",
        "wrk_answered": sum(run["wrk_answered"] for run in runs["wrapped"]),
    }


# -- memory under a failing Metrics API ------------------------------------------------------------


def memory_child(metrics_url: str, requests: int) -> None:
    """Runs in a fresh interpreter: serve ``requests`` GETs, report, then exit."""
    import atexit
    import threading

    def rss_mb() -> float:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def final() -> None:
        # Registered before readme_metrics is imported, so it runs after its exit flush.
        print(json.dumps({"final_stats": wrapped.stats}), flush=True)

    atexit.register(final)
    wrapped = wrap(get_app, metrics_url)
    template = environ_for("GET")
    before = {"rss_mb": rss_mb(), "threads": threading.active_count()}
    started = time.perf_counter()
    for _ in range(requests):
        serve(wrapped, fresh_environ(template, b""))
    elapsed = time.perf_counter() - started
    time.sleep(1.0)  # let the worker run into the failure
    after = {"rss_mb": rss_mb(), "threads": threading.active_count()}
    print(json.dumps({"before": before, "after": after, "stats": wrapped.stats,
                      "loop_us_per_request": elapsed / requests * 1e6,
                      "exit_started": time.time()}), flush=True)
    # No close(): the interpreter's exit (atexit) must flush within shutdown_timeout.


def bench_memory(requests: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for mode in ("500", "refused", "hang"):
        collector = None if mode == "refused" else Collector(mode)
        url = collector.url if collector else f"http://127.0.0.1:{free_port()}"
        try:
            process = subprocess.run(
                [sys.executable, __file__, "memory-child", url, str(requests)],
                capture_output=True, text=True, timeout=300)
            ended = time.time()
        finally:
            if collector:
                collector.stop()
        if process.returncode != 0:
            raise RuntimeError(process.stderr)
        lines = process.stdout.strip().splitlines()
        report = json.loads(lines[-2])
        final = json.loads(lines[-1])["final_stats"]
        stats = report["stats"]
        results[mode] = {
            "requests": requests,
            "rss_before_mb": round(report["before"]["rss_mb"], 1),
            "rss_after_mb": round(report["after"]["rss_mb"], 1),
            "rss_growth_mb": round(report["after"]["rss_mb"] - report["before"]["rss_mb"], 1),
            "threads_before": report["before"]["threads"],
            "threads_after": report["after"]["threads"],
            "exit_seconds": round(ended - report["exit_started"], 2),
            "shutdown_timeout": 5.0,
            "loop_us_per_request": round(report["loop_us_per_request"], 1),
            "stats": stats,
            "stats_after_exit": final,
            "stats_add_up": all(
                s["captured"] == s["sent"] + s["dropped"] + s["queued"] + s["skipped"]
                for s in (stats, final)),
        }
        log(f"memory {mode}: {results[mode]['rss_growth_mb']} MB, threads "
            f"{results[mode]['threads_before']} -> {results[mode]['threads_after']}, exit "
            f"{results[mode]['exit_seconds']} s")
    return results


# -- sustained load against a slow Metrics API -----------------------------------------------


def serve_slow_collector(delay: float, drip: float) -> None:
    """A Metrics API that answers each POST after ``delay`` s (or drips its answer one byte
    every ``drip`` s); it counts logs and distinct ``_id`` values (GET /count)."""
    ids: set[bytes] = set()
    total = 0

    async def answer(head: bytes, body: bytes, writer: asyncio.StreamWriter) -> None:
        nonlocal total
        if head.startswith(b"GET /count"):
            text = json.dumps({"logs": total, "distinct": len(ids)}).encode()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
                         % (len(text), text))
        elif drip:
            for byte in b"HTTP/1.1 202 Accepted\r\nX-Drip: " + b"a" * 1000:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(drip)
        else:
            await asyncio.sleep(delay)
            found = re.findall(rb'"_id":"([^"]+)"', body)
            total += len(found)
            ids.update(found)
            writer.write(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")

    serve_requests(answer)


class SlowCollector(Collector):
    """The slow stand-in in its own process (``delay`` s per answer, or ``drip``)."""

    def __init__(self, delay: float = 0.0, drip: float = 0.0) -> None:
        self._start("slow-collector", str(delay), str(drip))

    def counts(self) -> dict[str, int]:
        with socket.create_connection(("127.0.0.1", self.port)) as sock:
            sock.sendall(b"GET /count HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data or not data.split(b"\r\n\r\n", 1)[1].endswith(b"}"):
                data += sock.recv(4096)
            return dict(json.loads(data.split(b"\r\n\r\n", 1)[1]))


def rss_mb() -> float:
    """This process's resident set size, MB (NaN where /proc is not there)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def drive(app: Callable, rate: float, seconds: float) -> tuple[int, float]:
    """Call ``app`` at ``rate`` GETs a second for ``seconds``; (served, wall seconds)."""
    environ = environ_for("GET")
    start_response: Callable = lambda status, headers, exc_info=None: None  # noqa: E731
    total = int(rate * seconds)
    started = time.perf_counter()
    for n in range(total):
        ahead = started + n / rate - time.perf_counter()
        if ahead > 0:
            time.sleep(ahead)
        result = app(dict(environ), start_response)
        for _ in result:
            pass
        if hasattr(result, "close"):
            result.close()
    return total, time.perf_counter() - started


def bench_sustained(rate: float, delay: float, seconds: float) -> dict[str, Any]:
    """Default options, ``rate`` requests/s for ``seconds`` against an API answering each
    POST after ``delay`` s: served, delivered, dropped, and how long the backlog took to
    clear after the load stopped (then close())."""
    import logging
    import threading

    warned: list[str] = []

    class Warnings(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.WARNING:
                warned.append(record.getMessage()[:160])

    handler = Warnings()
    logging.getLogger("readme_metrics").addHandler(handler)
    collector = SlowCollector(delay=delay)
    try:
        app = wrap(get_app, collector.url)
        cpu = time.process_time()
        served, wall = drive(app, rate, seconds)
        stopped = time.perf_counter()
        backlog_at_stop = app.stats["queued"]
        rss_at_stop = rss_mb()
        threads = sum(t.name == "readme-metrics-worker" for t in threading.enumerate())
        clear_s: Optional[float] = None
        while time.perf_counter() - stopped < 60:
            # Every log, not as many as were served: a log twice is no other's.
            if collector.counts()["distinct"] >= served:
                clear_s = round(time.perf_counter() - stopped, 3)
                break
            time.sleep(0.02)
        app.close()
        cpu = time.process_time() - cpu
        stats = app.stats
        counts = collector.counts()
    finally:
        collector.stop()
        logging.getLogger("readme_metrics").removeHandler(handler)
    result = {
        "target_rate": rate, "api_delay_s": delay, "seconds": seconds,
        "achieved_rate": round(served / wall, 1), "served": served,
        "sent": stats["sent"], "dropped": stats["dropped"],
        "delivered_distinct": counts["distinct"],
        "duplicates": counts["logs"] - counts["distinct"],
        "backlog_at_stop": backlog_at_stop, "backlog_clear_s": clear_s,
        # This process's RSS when the load stopped (the backlog at its largest): the
        # bench's own and the earlier runs' memory are in it too.
        "rss_at_stop_mb": round(rss_at_stop, 1),
        "sender_threads_at_stop": threads, "batches": stats["batches"],
        "retries": stats["retries"],
        "dropped_by": {key[8:]: value for key, value in stats.items()
                       if key.startswith("dropped_") and value},
        # The library's warnings (their first 160 characters), in order.
        "warnings": warned,
        "cpu_s": round(cpu, 2),
        "load_avg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }
    log(f"sustained {rate:g}/s, API {delay * 1000:g} ms: {result}")
    return result


def fault_child(metrics_url: str, background: bool) -> None:
    """Serve 30 requests (timeout=1, shutdown_timeout=2) to a dripping API, then exit."""
    app = wrap(get_app, metrics_url, timeout=1.0, shutdown_timeout=2.0,
               background_worker_mode=background)
    environ = environ_for("GET")
    slowest = 0.0
    for _ in range(30):
        started = time.perf_counter()
        result = app(dict(environ), lambda status, headers, exc_info=None: None)
        for _ in result:
            pass
        if hasattr(result, "close"):
            result.close()
        slowest = max(slowest, time.perf_counter() - started)
    print(json.dumps({"slowest_request_s": round(slowest, 3), "exit_started": time.time(),
                      "stats": app.stats}), flush=True)


def bench_fault_slow_api() -> dict[str, Any]:
    """SPEC 7 under a Metrics API that drips its answers one byte every 0.4 s: the longest
    request (inline mode sends from it) and the exit, against timeout=1 and
    shutdown_timeout=2."""
    results: dict[str, Any] = {}
    collector = SlowCollector(drip=0.4)
    try:
        for mode in ("inline", "background"):
            done = subprocess.run(
                [sys.executable, __file__, "fault-child", collector.url,
                 "1" if mode == "background" else "0"],
                capture_output=True, text=True, timeout=300)
            ended = time.time()
            child = json.loads(done.stdout.strip().splitlines()[-1])
            stats = child["stats"]
            results[mode] = {
                "timeout": 1.0, "shutdown_timeout": 2.0,
                "slowest_request_s": child["slowest_request_s"],
                "exit_s": round(ended - child["exit_started"], 3),
                "served": stats["captured"], "sent": stats["sent"],
                "queued_at_exit": stats["queued"], "dropped": stats["dropped"],
            }
            log(f"fault slow API, {mode}: {results[mode]}")
    finally:
        collector.stop()
    return results


def _answer_seconds(sock: socket.socket, started: float) -> Optional[float]:
    """Seconds until a whole response (by Content-Length) arrived; None if none did."""
    data = b""
    try:
        while True:
            head, sep, body = data.partition(b"\r\n\r\n")
            match = re.search(rb"(?i)content-length:\s*(\d+)", head) if sep else None
            if match and len(body) >= int(match.group(1)):
                return time.perf_counter() - started
            chunk = sock.recv(65536)
            if not chunk:
                return None
            data += chunk
    except OSError:  # socket.timeout included
        return None


def _slow_client(port: int) -> tuple[Optional[float], bool]:
    """One client declaring 100000 bytes, sending 3 and holding on: (seconds to its
    answer, whether a second client was answered meanwhile)."""
    head = (f"Host: api.example.com\r\nAuthorization: Bearer {TOKEN}\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as slow:
        started = time.perf_counter()
        slow.sendall(b"POST /v1/widgets HTTP/1.1\r\n" + head + b"Content-Type: "
                     b"application/json\r\nContent-Length: 100000\r\n\r\nabc")
        answered = _answer_seconds(slow, started)
        with socket.create_connection(("127.0.0.1", port), timeout=30) as other:
            other.sendall(b"GET /v1/widgets/1 HTTP/1.1\r\n" + head + b"\r\n")
            served = _answer_seconds(other, time.perf_counter()) is not None
    return answered, served


def bench_fault_slow_client(clients: int = 20) -> dict[str, Any]:
    """SPEC 5 under clients that declare a long body, send 3 bytes and hold the connection,
    to a view that never reads the body: gunicorn, 1 sync worker, --timeout 6, bare and
    wrapped. Answers, seconds to each answer, next requests served, WORKER TIMEOUTs, and
    (wrapped) logs delivered out of requests served."""
    results: dict[str, Any] = {}
    collector = Collector("ok")
    try:
        with tempfile.TemporaryDirectory() as directory:
            Path(directory, "bench_app.py").write_text(GUNICORN_APP)
            for variant in ("bare", "wrapped"):
                results[variant] = _slow_clients_under_gunicorn(variant, directory,
                                                                collector, clients)
                log(f"fault slow client, {variant}: {results[variant]}")
    finally:
        collector.stop()
    return results


def _slow_clients_under_gunicorn(variant: str, directory: str, collector: Collector,
                                 clients: int) -> dict[str, Any]:
    port = free_port()
    env = {**os.environ, "METRICS_URL": collector.url, "BENCH_DIR": str(Path(__file__).parent),
           "PYTHONPATH": os.pathsep.join([directory, str(ROOT)])}
    before = collector.count()
    errors = Path(directory, f"gunicorn-{variant}.log")
    with errors.open("wb") as stderr:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "1", "--worker-class", "sync",
             "--timeout", "6", "--bind", f"127.0.0.1:{port}", f"bench_app:{variant}"],
            cwd=directory, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            wait_for_port(port, "gunicorn")
            runs = [_slow_client(port) for _ in range(clients)]
        finally:
            server.terminate()  # the worker's exit flush sends what is queued
            server.wait(30)
    times = sorted(seconds for seconds, _ in runs if seconds is not None)
    return {
        "slow_clients": clients, "answered": len(times),
        "answer_median_s": round(statistics.median(times), 4) if times else None,
        "answer_max_s": round(times[-1], 4) if times else None,
        "next_requests_served": sum(served for _, served in runs),
        "worker_timeouts": errors.read_text(errors="replace").count("WORKER TIMEOUT"),
        "requests_served": len(times) + sum(served for _, served in runs),
        "logs_delivered": collector.count() - before,
    }


# -- main ------------------------------------------------------------------------------------------


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only",
                        default="inprocess,server,asgi,memory,sustained,slowapi,slowclient",
                        help="comma-separated parts: inprocess, server, asgi, memory, "
                             "sustained, slowapi, slowclient, post")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0, help="wrk duration")
    parser.add_argument("--get-requests", type=int, default=5000)
    parser.add_argument("--post-requests", type=int, default=500)
    parser.add_argument("--memory-requests", type=int, default=50_000)
    parser.add_argument("--sustained", default="2000@0.05,1000@0.25",
                        help="sustained-load runs, RATE@API_DELAY_SECONDS, comma-separated")
    parser.add_argument("--sustained-seconds", type=float, default=10.0)
    parser.add_argument("--posts", type=int, default=2000, help="POSTs per run of 'post'")
    parser.add_argument("--post-logs", type=int, default=10, help="logs per POST of 'post'")
    parser.add_argument("--buffer-length", type=int, default=None,
                        help="buffer_length of the wrapped apps (default: the library's)")
    parser.add_argument("--denylist", default="",
                        help="comma-separated denylist of the wrapped apps (default none; "
                             f"a typical one: {TYPICAL_DENYLIST})")
    args = parser.parse_args(argv)
    if args.buffer_length:
        os.environ["BENCH_BUFFER_LENGTH"] = str(args.buffer_length)  # children inherit it
    if args.denylist:
        os.environ["BENCH_DENYLIST"] = args.denylist  # children inherit it
    parts = set(args.only.split(","))

    from readme_metrics.delivery.encode import ENCODER
    from readme_metrics.version import __version__

    report: dict[str, Any] = {
        "readme_metrics": __version__,
        "encoder": ENCODER,  # orjson with the fast extra, else the standard library
        "load_average_at_start": [round(load, 2) for load in os.getloadavg()],
        "python": platform.python_version(),
        "machine": f"{platform.machine()} {platform.system()} {platform.release()}",
        "cpus": os.cpu_count(),
        "repeat": args.repeat,
        "buffer_length": args.buffer_length or 10,
        "denylist": args.denylist.split(",") if args.denylist else [],
    }
    if "inprocess" in parts:
        report["inprocess"] = bench_inprocess(args.repeat, args.get_requests,
                                              args.post_requests)
    if "server" in parts:
        report["server"] = bench_server(args.repeat, args.seconds)
    if "asgi" in parts:
        from bench_asgi import bench_asgi

        report["asgi"] = bench_asgi(args.repeat, args.get_requests,
                                    args.seconds if shutil.which("wrk") else None)
    if "memory" in parts:
        report["memory"] = bench_memory(args.memory_requests)
    if "sustained" in parts:
        report["sustained"] = [
            bench_sustained(float(rate), float(delay), args.sustained_seconds)
            for rate, delay in (run.split("@") for run in args.sustained.split(","))]
    if "slowapi" in parts:
        report["fault_slow_api"] = bench_fault_slow_api()
    if "slowclient" in parts:
        report["fault_slow_client"] = bench_fault_slow_client()
    if "post" in parts:
        from bench_post import bench_post

        report["post"] = bench_post(args.repeat, args.posts, args.post_logs)
    report["load_average_at_end"] = [round(load, 2) for load in os.getloadavg()]
    report["targets"] = targets(report)
    print(json.dumps(report, indent=2))


def targets(report: dict[str, Any]) -> dict[str, Any]:
    """The issue's targets next to the figures of this run."""
    checks: dict[str, Any] = {}

    def check(name: str, value: float, limit: float, at_least: bool = False) -> None:
        met = value >= limit if at_least else value <= limit
        checks[name] = {"value": value, "target": (">= " if at_least else "<= ") + str(limit),
                        "met": met}

    inprocess = report.get("inprocess")
    if inprocess:
        get, post = inprocess["small_get"]["added"], inprocess["post_100kb"]["added"]
        check("small_get_request_path_mean_added_us", get["mean_us"], 15)
        check("small_get_request_path_p99_added_us", get["p99_us"], 100)
        check("small_get_end_to_end_cpu_added_us", get["cpu_us_per_request"], 60)
        check("post_end_to_end_cpu_added_us", post["cpu_us_per_request"], 400)
    asgi = (report.get("asgi") or {}).get("inprocess")
    if asgi:  # issue 10: the ASGI request path adds no more than the WSGI one (p50)
        check("fastapi_minus_wsgi_small_get_p50_added_us",
              asgi["fastapi_minus_wsgi_added_us"]["p50_us"], 0)
    server = report.get("server")
    if server and "ratio" in server:
        check("gunicorn_wrk_ratio", server["ratio"], 0.85, at_least=True)
    for mode, result in (report.get("memory") or {}).items():
        check(f"memory_{mode}_rss_growth_mb", result["rss_growth_mb"], 50)
        check(f"memory_{mode}_threads_added", result["threads_after"]
              - result["threads_before"], 2)
        check(f"memory_{mode}_exit_seconds", result["exit_seconds"],
              result["shutdown_timeout"] + 1)
        checks[f"memory_{mode}_stats_add_up"] = {"value": result["stats_add_up"],
                                                 "met": result["stats_add_up"]}
    for run in report.get("sustained") or []:
        name = f"sustained_{run['target_rate']:g}_per_s_api_{run['api_delay_s'] * 1000:g}ms"
        checks[name + "_delivered"] = {
            "value": f"{run['delivered_distinct']} of {run['served']} served",
            "met": run["delivered_distinct"] == run["served"] and run["dropped"] == 0}
    for mode, run in (report.get("fault_slow_api") or {}).items():
        check(f"fault_slow_api_{mode}_exit_seconds", run["exit_s"],
              run["shutdown_timeout"] + 1)
    slow = (report.get("fault_slow_client") or {}).get("wrapped")
    if slow:
        checks["fault_slow_client_all_answered"] = {
            "value": f"{slow['answered']} of {slow['slow_clients']}, next requests "
                     f"{slow['next_requests_served']}, WORKER TIMEOUT {slow['worker_timeouts']}",
            "met": slow["answered"] == slow["next_requests_served"] == slow["slow_clients"]
            and slow["worker_timeouts"] == 0}
        checks["fault_slow_client_logs_delivered"] = {
            "value": f"{slow['logs_delivered']} of {slow['requests_served']} served",
            "met": slow["logs_delivered"] == slow["requests_served"]}
    return checks


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "collector":
        serve_collector(sys.argv[2])
    elif len(sys.argv) > 1 and sys.argv[1] == "slow-collector":
        serve_slow_collector(float(sys.argv[2]), float(sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "fault-child":
        fault_child(sys.argv[2], sys.argv[3] == "1")
    elif len(sys.argv) > 1 and sys.argv[1] == "memory-child":
        memory_child(sys.argv[2], int(sys.argv[3]))
    else:
        main()
