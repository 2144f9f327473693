"""A soak: real servers at a steady rate while the Metrics API's latency steps, it goes
away, it answers 429; does every call show up?

.. code-block:: sh

    python benchmarks/soak.py                        # every server, the default phases
    python benchmarks/soak.py --servers sync --rate 300 --phase 20

The wrapped app of tests/support/blackbox14_apps.py (plain WSGI; Starlette under
uvicorn) under a real server (``sync``: gunicorn sync, 2 workers; ``gthread``: 2 x 4;
``waitress``; ``uvicorn-w2``: 2 workers) is driven by ``wrk`` at ``--rate`` req/s
(paced: each of its connections waits between calls) through the phases, each
``--phase`` seconds but the outage (30 s): the API (benchmarks/outage.py's, its own
process) answers 202 after 50 ms; 4 s late; 50 ms; nothing listens (30 s); 50 ms; 429
with ``Retry-After: 5``; 50 ms. Then the server is left ``--drain`` seconds at most for
the API to get every log, and is sent SIGTERM. One JSON line per server: served (wrk's
completed calls, plus the one that waited for the server), delivered (distinct
``_id``), duplicates (logs received less distinct), said (the library's lines that say
logs were not delivered, tests/support/blackbox14_run.said_in), lost unsaid (served less
delivered less said), each phase's wrk percentiles (ms) and its calls answered and
delivered, and the server's RSS (KiB) and threads (all its processes) every 5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from outage import Api  # noqa: E402

from tests.support.blackbox14_run import argv, rss_kb, said_in, server_env, stopped, wait_up  # noqa: E402,E501
from tests.support.ports import free_port  # noqa: E402

MOD = "tests.support.blackbox14_apps"
SERVERS = {"sync": f"{MOD}:plain_app", "gthread": f"{MOD}:plain_app",
           "waitress": f"{MOD}:plain_app", "uvicorn-w2": f"{MOD}:starlette_app"}
CONNECTIONS = 8

PACED = """
local i = 0
local seen = io.open("%(seen)s", "a")
seen:setvbuf("line")
request = function()
  i = i + 1
  return wrk.format("GET", "/hello?name=%(prefix)sw" .. i .. "&x=1",
                    {["X-Api-Key"] = "owlbert-key"})
end
response = function(status, headers, body)
  local name = body:match('"hello":%%s*"([^"]+)"')
  if name then seen:write(name, "\\n") end
end
delay = function() return %(delay)d end
"""

def threads_of(pid: int) -> int:
    """Threads of ``pid`` and its children (gunicorn's, uvicorn's workers)."""
    total = 0
    pids = [pid]
    try:
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("Threads:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def wrk(base: str, seconds: float, rate: float, script: str, prefix: str,
        seen: str) -> dict[str, Any]:
    Path(script).write_text(PACED % {"seen": seen, "prefix": prefix,
                                     "delay": int(CONNECTIONS * 1000 / rate)})
    out = subprocess.run(["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{int(seconds)}s", "--latency",
                          "--timeout", "20s", "-s", script, base], capture_output=True,
                         text=True, check=False, timeout=seconds + 60).stdout
    done = re.search(r"(\d+) requests in", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    pct = {}
    for p in ("50", "90", "99"):
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)\b", out)
        if m:
            pct[f"p{p}_ms"] = round(float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[
                m.group(2)], 2)
    m = re.search(r"Latency\s+[\d.]+\w+\s+[\d.]+\w+\s+([\d.]+)(us|ms|s)", out)
    if m:
        pct["max_ms"] = round(float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[
            m.group(2)], 2)
    return {"served": int(done.group(1)) if done else 0, "non_2xx": int(bad.group(1)) if bad
            else 0, "errors": errors.group(1).strip() if errors else "", **pct}


def side_by_side(bases: tuple[str, str], seconds: float, rate: float, script: str,
                 prefix: str, seen: str) -> dict[str, Any]:
    """wrk on the wrapped app and, at the same time, on the bare one: the wrapped one's
    counts and percentiles, the bare one's percentiles (``bare``)."""
    beside: dict[str, Any] = {}
    twin = threading.Thread(target=lambda: beside.update(wrk(
        bases[1], seconds, rate, script + ".bare", "b" + prefix, seen + ".bare")))
    twin.start()
    wrapped = wrk(bases[0], seconds, rate, script, prefix, seen)
    twin.join()
    return {**wrapped, "bare": {k: v for k, v in beside.items() if k.startswith(("p", "max"))}}


def run(server: str, rate: float, phase: float, slow: float, outage: float,
        drain: float, rest: float) -> dict[str, Any]:
    api = Api(0.05)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "paced.lua")
        seen = os.path.join(tmp, "seen.txt")
        out_path = os.path.join(tmp, "server.out")
        app = SERVERS[server].split(":")[1]
        with open(out_path, "wb") as out:
            process = subprocess.Popen(argv(server, SERVERS[server], port),
                                       env=server_env(api.url, app, BB14_SIGTERM="1"),
                                       stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        bare_port = free_port()
        bare_base = f"http://127.0.0.1:{bare_port}"
        bare = subprocess.Popen(argv(server, SERVERS[server], bare_port),
                                env=server_env(api.url, app, BB14_BARE="1"),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
        samples: list[dict[str, Any]] = []
        sampling = threading.Event()
        began = time.monotonic()
        current = ["start"]

        def sample() -> None:
            while not sampling.wait(5.0):
                samples.append({"t": round(time.monotonic() - began), "phase": current[0],
                                "rss_kb": rss_kb(process.pid),
                                "threads": threads_of(process.pid)})

        sampler = threading.Thread(target=sample, daemon=True)
        try:
            wait_up(base, process)
            wait_up(bare_base, bare)
            sampler.start()
            phases: list[dict[str, Any]] = []
            schedule = (("fast", "ok", phase), ("slow-4s", "slow", slow),
                        ("fast-again", "ok", phase), ("outage", "refused", outage),
                        ("back", "ok", phase), ("429-ra5", "429", phase),
                        ("after-429", "ok", phase))
            for k, (name, mode, seconds) in enumerate(schedule):
                current[0] = name
                api.say(mode)
                phases.append({"phase": name, **side_by_side(
                    (base, bare_base), seconds, rate, script, f"s{k}", seen)})
            current[0] = "drain"
            load_end = time.monotonic()
            answered = set(Path(seen).read_text().split())
            deadline = load_end + drain
            while time.monotonic() < deadline and not answered <= api.names():
                time.sleep(0.5)
            drained_s = round(time.monotonic() - load_end, 1)
            current[0] = "rest"  # no calls: do the senders a burst started end?
            resting = time.monotonic() + rest
            while time.monotonic() < resting and process.poll() is None:
                time.sleep(0.5)
            process.send_signal(signal.SIGTERM)
            rc = stopped(process)
        finally:
            sampling.set()
            bare.kill()
            bare.wait()
            if process.poll() is None:
                process.kill()
                process.wait()
        counts = api.counts()
        api_names = api.names()
        api.stop()
        text = Path(out_path).read_text(errors="replace")
    said, lines = said_in(text)
    got = api_names
    for k, phase_row in enumerate(phases):  # (each phase's calls: names s<k>w<i>)
        mine = {name for name in answered if name.startswith(f"s{k}w")}
        phase_row["answered"], phase_row["delivered"] = len(mine), len(mine & got)
    return {"server": server, "rate": rate, "answered": len(answered),
            "delivered_logs": counts["distinct"], "answered_delivered": len(answered & got),
            "duplicates": counts["logs"] - counts["distinct"], "said": said,
            "lost_unsaid": max(0, len(answered - got) - said),
            "missing_names": sorted(answered - got)[:10], "rc": rc,
            "drain_s_after_load": drained_s, "phases": phases, "samples": samples,
            "lines": lines[:12]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--servers", default=",".join(SERVERS))
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--phase", type=float, default=20.0)
    parser.add_argument("--slow", type=float, default=60.0)
    parser.add_argument("--outage", type=float, default=30.0)
    parser.add_argument("--drain", type=float, default=60.0)
    parser.add_argument("--rest", type=float, default=0.0)
    args = parser.parse_args()
    for server in args.servers.split(","):
        print(json.dumps(run(server, args.rate, args.phase, args.slow, args.outage,
                                  args.drain, args.rest)),
              flush=True)


if __name__ == "__main__":
    main()
