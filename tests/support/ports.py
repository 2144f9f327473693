"""Ports for the servers the tests start: free, and taken by nothing else meanwhile.

A port found by binding port 0 is free only until its socket is closed. The server the
test then starts binds it a second or two later under load, and until then the kernel
may hand the same port to anything else that binds port 0: the other xdist worker's
collector or ``free_port``. That one's server (or collector) then answers the test's
requests, and its collector gets the logs, while the test's own server died of "Address
already in use" unseen (a CI run: "collector got 0 logs, expected 1").

So the ports come from below the kernel's ephemeral range, where neither a bind of port
0 nor an outgoing connection ever lands; each xdist worker takes its own share of them
(``port % workers == its number``), in turn from a random start, each checked free by a
bind. Where the ephemeral range leaves no room below it, port 0 as before.
"""

from __future__ import annotations

import os
import random
import socket
import threading

#: The lowest port handed out: below it, more of the registered services listen.
LOWEST = 20000


def _ephemeral_start() -> int:
    """Where the ports the kernel picks begin (Linux's ip_local_port_range; 49152, the
    IANA range of macOS and Windows, elsewhere)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as ports:
            return int(ports.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 49152


def _share() -> list[int]:
    """This process's ports, from a random one on (empty: none below the range)."""
    try:
        number = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:])
        workers = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    except ValueError:
        number, workers = 0, 1
    ours = [port for port in range(LOWEST, _ephemeral_start())
            if port % workers == number % workers]
    start = random.randrange(len(ours)) if ours else 0
    return ours[start:] + ours[:start]


_lock = threading.Lock()
_ports: list[int] = []
_next = 0


def _bound(port: int) -> socket.socket:
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    return sock


def free_ports(count: int) -> list[int]:
    """``count`` ports free on 127.0.0.1, all different (for servers started at once:
    each socket is held until every port is found)."""
    global _next
    sockets: list[socket.socket] = []
    try:
        with _lock:
            if not _ports:
                _ports.extend(_share())
            for _ in range(len(_ports)):
                if len(sockets) == count:
                    break
                port = _ports[_next]
                _next = (_next + 1) % len(_ports)
                try:
                    sockets.append(_bound(port))
                except OSError:  # in use, or in TIME_WAIT: the next one
                    continue
        while len(sockets) < count:  # no room below the ephemeral range
            sockets.append(_bound(0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def free_port() -> int:
    return free_ports(1)[0]
