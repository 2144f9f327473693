"""Debian's headless Chromium driven over the DevTools protocol, with the standard library.

The dashboard's browser tests need a page that runs the dashboard's JavaScript, a mouse,
a keyboard, a clipboard and screenshots: the DevTools protocol gives all of them over one
websocket, so the test extra needs no browser driver package (Playwright was 53 MB and a
node driver; newcomer38). tests/support/page.py is the page and locator layer on top.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

from tests.support.processes import start_server, stop_server

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--no-default-browser-check", "--remote-debugging-port=0",
]
STARTUP_BOUND = 60.0  # seconds for Chromium to write its DevTools port (a loaded machine)
ANSWER_BOUND = 60.0  # seconds for one protocol answer


class WebSocket:
    """A client websocket (RFC 6455): text frames out (masked), text frames in."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=ANSWER_BOUND)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                           ).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError(f"no websocket handshake from {url}: {head!r}")
            head += chunk
        head, self.buffer = head.split(b"\r\n\r\n", 1)
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(f"websocket refused by {url}: {head!r}")

    def send(self, text: str) -> None:
        payload, mask = text.encode(), os.urandom(4)
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x81, 0x80 | length)
        elif length < 1 << 16:
            header = struct.pack("!BBH", 0x81, 0x80 | 126, length)
        else:
            header = struct.pack("!BBQ", 0x81, 0x80 | 127, length)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def _read(self, count: int) -> bytes:
        while len(self.buffer) < count:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("the browser closed its websocket")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def recv(self) -> str:
        message = b""
        while True:
            first, second = self._read(2)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack("!H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self._read(8))[0]
            payload = self._read(length)  # a server's frames are not masked
            opcode = first & 0x0F
            if opcode == 8:
                raise ConnectionError("the browser closed its websocket")
            if opcode in (0, 1, 2):
                message += payload
                if first & 0x80:
                    return message.decode()

    def close(self) -> None:
        self.sock.close()


class Connection:
    """The browser's DevTools endpoint: commands answered in order, events to listeners."""

    def __init__(self, url: str) -> None:
        self.socket = WebSocket(url)
        self.next_id = 0
        self.listeners: dict[tuple[Optional[str], str], list[Callable[[dict], None]]] = \
            defaultdict(list)

    def on(self, session: Optional[str], method: str, listener: Callable[[dict], None]) -> None:
        self.listeners[(session, method)].append(listener)

    def _dispatch(self, message: dict) -> None:
        for listener in self.listeners.get((message.get("sessionId"), message["method"]), []):
            listener(message.get("params", {}))

    def call(self, method: str, session: Optional[str] = None, **params: Any) -> dict:
        self.next_id += 1
        command: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if session:
            command["sessionId"] = session
        self.socket.send(json.dumps(command))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))
            if "method" in message:
                self._dispatch(message)

    def pump_until(self, done: Callable[[], bool]) -> None:
        """Read events (to their listeners) until ``done()``: a listener saw what it waits
        for, before or after this call (each read is bound by the socket's timeout)."""
        while not done():
            message = json.loads(self.socket.recv())
            if "method" in message:
                self._dispatch(message)


class Chromium:
    """One headless Chromium process, its own profile folder, and its DevTools connection."""

    def __init__(self, executable: str = CHROMIUM, args: Optional[list[str]] = None) -> None:
        self.profile = tempfile.mkdtemp(prefix="rm-chromium-")
        self.log = open(Path(self.profile) / "chromium.log", "wb")  # noqa: SIM115
        # Its own process group, tied to this process and its watcher: nothing of its
        # dozen processes outlives the run, however the run ends (tests/support/processes).
        self.process = start_server(
            [executable, *(args or ARGS), f"--user-data-dir={self.profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + STARTUP_BOUND
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError("chromium did not start: "
                                   + (Path(self.profile) / "chromium.log").read_text()[-2000:])
            time.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        self.connection = Connection(f"ws://127.0.0.1:{port}{path}")

    def new_target(self, context: Optional[str] = None) -> str:
        """A new blank tab (in a browser context, if given); its session id."""
        params: dict[str, Any] = {"url": "about:blank"}
        if context:
            params["browserContextId"] = context
        target = self.connection.call("Target.createTarget", **params)["targetId"]
        return str(self.connection.call("Target.attachToTarget", targetId=target,
                                        flatten=True)["sessionId"])

    def close(self) -> None:
        try:
            if hasattr(self, "connection"):
                try:
                    self.connection.call("Browser.close")
                except (OSError, RuntimeError):
                    pass
                self.connection.socket.close()
            stop_server(self.process)
        finally:
            self.log.close()
            shutil.rmtree(self.profile, ignore_errors=True)
