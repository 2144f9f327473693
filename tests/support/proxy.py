"""A tiny forward HTTP proxy on 127.0.0.1 that records what went through it.

It forwards absolute-form requests (``POST http://host:port/path``, what a client sends
to an ``HTTP_PROXY``) to their origin and tunnels ``CONNECT host:port`` (what a client
sends to an ``HTTPS_PROXY``), so a test can show that a transport really used the proxy.
"""

from __future__ import annotations

import http.client
import select
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional
from urllib.parse import urlsplit

from tests.support.polling import SERVE_POLL

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization",
               "te", "trailer", "transfer-encoding", "upgrade"}


class Proxy:
    """``seen`` lists ``(method, target)`` for every request the proxy handled.

    ``refuse``: a status the proxy answers every request (POST or CONNECT) with itself,
    as a company proxy refuses (407 asks for credentials; 403, a host not let through).
    """

    def __init__(self, refuse: Optional[int] = None) -> None:
        self.seen: list[tuple[str, str]] = []
        proxy = self

        def refused(handler: BaseHTTPRequestHandler) -> bool:
            if refuse is None:
                return False
            body = b"refused by the proxy\n"
            handler.send_response(refuse)
            if refuse == 407:
                handler.send_header("Proxy-Authenticate", 'Basic realm="proxy"')
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            return True

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                proxy.seen.append(("POST", self.path))
                if refused(self):
                    self.rfile.read(int(self.headers.get("Content-Length") or 0))
                    return
                target = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {name: value for name, value in self.headers.items()
                           if name.lower() not in _HOP_BY_HOP}
                upstream = http.client.HTTPConnection(target.hostname or "",
                                                      target.port or 80, timeout=10)
                try:
                    upstream.request("POST", target.path or "/", body, headers)
                    answer = upstream.getresponse()
                    content = answer.read()
                finally:
                    upstream.close()
                self.send_response(answer.status, answer.reason)
                for name, value in answer.getheaders():
                    if name.lower() not in _HOP_BY_HOP | {"content-length"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def do_CONNECT(self) -> None:  # noqa: N802
                proxy.seen.append(("CONNECT", self.path))
                if refused(self):
                    return
                host, _, port = self.path.rpartition(":")
                upstream = socket.create_connection((host, int(port)), timeout=10)
                self.send_response(200, "Connection established")
                self.end_headers()
                self.wfile.flush()
                _pipe(self.connection, upstream)
                self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(SERVE_POLL,),
                         daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _pipe(client: socket.socket, upstream: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    try:
        while True:
            readable, _, _ = select.select([client, upstream], [], [], 10)
            if not readable:
                return
            for source in readable:
                data = source.recv(65536)
                if not data:
                    return
                (upstream if source is client else client).sendall(data)
    except OSError:
        return
    finally:
        upstream.close()
