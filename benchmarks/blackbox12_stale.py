"""blackbox12: the connection to the Metrics API goes stale while the app is idle.

.. code-block:: sh

    python benchmarks/blackbox12_stale.py KIND [IDLE]
    # KIND: silent (a NAT or load balancer forgets the flow: no byte forwarded either way,
    #   no FIN, no RST), rst (the relay resets every connection it held), fin (closes them)

waitress serves the plain app (background sender, buffer_length 10, flush_interval 1 s,
timeout 3 s); its POSTs go through a TCP relay on 127.0.0.1 to the stand-in API. A first
burst of 100 calls, every log delivered; then the relay's connections go stale, IDLE
seconds (default 5) of no traffic, and a second burst of 100: the seconds until its
every log is in, the logs twice, the library's lines.
"""
from __future__ import annotations

import json
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import requests  # noqa: E402

from tests.support.fake_api import Collector  # noqa: E402
from tests.support.ports import free_port  # noqa: E402
from tests.support.processes import end_stragglers, start_server  # noqa: E402
from tests.test_e2e_servers import server_env  # noqa: E402


class Relay:
    """Forwards each connection to ``target``; :meth:`go_stale` ends the ones it holds
    as ``kind`` says, new ones forwarded as before."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.flows: list[tuple[socket.socket, socket.socket, threading.Event]] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            dead = threading.Event()
            with self.lock:
                self.flows.append((client, upstream, dead))
            threading.Thread(target=self._pipe, args=(client, upstream, dead),
                             daemon=True).start()

    @staticmethod
    def _pipe(client: socket.socket, upstream: socket.socket, dead: threading.Event) -> None:
        try:
            while not dead.is_set():
                readable, _, _ = select.select([client, upstream], [], [], 0.05)
                for source in readable:
                    if dead.is_set():
                        break
                    data = source.recv(65536)
                    if not data:
                        return
                    (upstream if source is client else client).sendall(data)
        except OSError:
            return

    def go_stale(self, kind: str) -> int:
        with self.lock:
            flows, self.flows = self.flows, []
        for client, upstream, dead in flows:
            dead.set()
            if kind == "rst":
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                  b"\x01\x00\x00\x00\x00\x00\x00\x00")
                client.close()
            elif kind == "fin":
                client.close()
            # silent: kept open, nothing forwarded, nothing read
            upstream.close()
        return len(flows)


def main() -> None:
    kind = sys.argv[1]
    idle = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
    c = Collector().start()
    relay = Relay(c.port)
    port = free_port()
    work = Path(tempfile.mkdtemp())
    env = server_env(c, README_BACKGROUND_WORKER_MODE="true", README_BUFFER_LENGTH="10",
                     README_FLUSH_INTERVAL="1", README_TIMEOUT="3",
                     README_BASE_LOG_URL="https://docs.example.com",
                     README_METRICS_SERVER=f"http://127.0.0.1:{relay.port}",
                     README_API_URL=f"http://127.0.0.1:{relay.port}")
    out = work / "server.log"
    argv = [sys.executable, "-m", "waitress", f"--listen=127.0.0.1:{port}", "--threads=4",
            "tests.support.e2e_apps:plain_app"]
    with out.open("wb") as log:
        p = start_server(argv, env=env, cwd=str(work), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.options(f"{url}/nolog", timeout=2)
            break
        except requests.RequestException:
            assert time.monotonic() < deadline and p.poll() is None
            time.sleep(0.05)

    def names() -> Counter[str]:
        found: Counter[str] = Counter()
        for entry in c.logs:
            u = entry["request"]["log"]["entries"][0]["request"]["url"]
            found[parse_qs(urlsplit(u).query).get("name", [""])[0]] += 1
        return found

    def burst(prefix: str) -> float:
        s = requests.Session()
        for i in range(100):
            s.get(f"{url}/hello", params={"name": f"{prefix}{i}"}, timeout=30,
                  headers={"X-Api-Key": "caller-1"})
        began = time.monotonic()
        while sum(1 for n in names() if n.startswith(prefix)) < 100:
            if time.monotonic() - began > 120:
                return -1.0
            time.sleep(0.05)
        return time.monotonic() - began

    first = burst("a")
    flows = relay.go_stale(kind)
    time.sleep(idle)
    second = burst("b")
    p.send_signal(signal.SIGINT)
    p.wait(60)
    end_stragglers(p)
    got = names()
    lines = [line[:300] for line in out.read_text(errors="replace").splitlines()
             if "readme_metrics" in line]
    print(json.dumps({"kind": kind, "idle": idle, "flows_made_stale": flows,
                      "first_burst_in_s": round(first, 2),
                      "second_burst_in_s": round(second, 2),
                      "delivered": sum(1 for n in got if n[:1] in "ab"),
                      "twice": sum(1 for v in got.values() if v > 1),
                      "posts": len(c.received)}))
    for line in lines:
        print("   ", line)


if __name__ == "__main__":
    main()
