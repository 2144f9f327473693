"""Loopback stand-ins for the Metrics API, each in its own process (started as
``bench.py collector MODE`` or ``bench.py slow-collector DELAY DRIP``): the counting
``ok`` one, ``streams``, ``500``, ``hang``, and the slow or dripping one."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import sys
from typing import Awaitable, Callable, Optional

from benchlib import SCRIPT

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
        self.process = subprocess.Popen([sys.executable, str(SCRIPT), *args],
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
