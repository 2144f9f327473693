"""blackbox21: every call shows up, black-box, under real servers with several workers.

A stand-in Metrics API on 127.0.0.1 answering each POST after ``--delay`` seconds; a
server (gunicorn -w 4 sync and gthread, uvicorn --workers 2 with FastAPI, waitress, Django
runserver) configured from the environment only (key and API URL: default options
otherwise); wrk drives it for ``--seconds`` at the rate it takes, each request tagged by a
unique ``?name=`` (wrk's thread and counter); the server is stopped the way README says
(SIGTERM; Ctrl+C, SIGINT to the group, for runserver), then the API's logs are counted
against the calls wrk saw answered and the "not delivered" lines the library printed.

    PYTHONPATH=$PWD python benchmarks/blackbox21_servers.py --delay 0.25 sync gthread

One line of JSON per run: served (the distinct tags the server's access log says it
answered 200: gunicorn's ``--access-logfile -``, uvicorn's, runserver's; waitress logs
none, so there wrk's count of answered calls, which misses the few cut at wrk's end),
delivered (distinct tags the API read), said (the library's not-delivered lines, counted
as tests/support/blackbox14_run.py's ``said_in`` does), unsaid (served and never
delivered, less said; ``missing`` names some), load average at the end of the load.
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
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.blackbox14_run import PY, said_in, server_env, wait_up  # noqa: E402
from tests.support.fake_api import Collector, Reply  # noqa: E402
from tests.support.ports import free_port  # noqa: E402
from tests.support.processes import start_server  # noqa: E402

PLAIN = "tests.support.blackbox14_apps:plain_app"
WRK_LUA = """
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
function init(args) n = 0 end
function request()
  n = n + 1
  return wrk.format("GET", "%s?name=t" .. tid .. "x" .. n, {["X-Api-Key"] = "bb21"})
end
"""


def command(server: str, port: int, workers: int) -> tuple[list[str], dict[str, str], str]:
    bind = f"127.0.0.1:{port}"
    guni = [PY, "-m", "gunicorn", "-b", bind, "--no-control-socket", "-w", str(workers),
            "--access-logfile", "-"]
    if server == "sync":
        return [*guni, "-k", "sync", PLAIN], {"BB14_APP": "plain_app"}, "/hello"
    if server == "gthread":
        return ([*guni, "-k", "gthread", "--threads", "4", PLAIN], {"BB14_APP": "plain_app"},
                "/hello")
    if server in ("waitress", "waitress-nohandler"):  # README: the module makes SIGTERM an exit
        handler = {"BB14_SIGTERM": "1"} if server == "waitress" else {}
        return ([PY, "-m", "waitress", f"--listen={bind}", PLAIN],
                {"BB14_APP": "plain_app", **handler}, "/hello")
    if server == "uvicorn":
        return ([PY, "-m", "uvicorn", "--host=127.0.0.1", f"--port={port}", "--workers",
                 str(workers), "tests.support.newcomer22_fastapi:app"], {}, "/")
    if server == "runserver":
        return ([PY, "-m", "django", "runserver", bind, "--skip-checks"],
                {"DJANGO_SETTINGS_MODULE": "tests.support.e2e_apps",
                 "README_GROUPING_FUNCTION": "tests.support.e2e_apps.django_grouping"},
                "/hello")
    raise SystemExit(f"unknown server {server}")


#: An answered call in a server's access log (gunicorn's, uvicorn's, runserver's).
ACCESS = re.compile(r'GET /(?:hello)?\?name=(t\d+x\d+)[^"]*"? (?:HTTP/1\.1" )?200')


def tags_in(collector: Collector) -> tuple[set[str], int]:
    seen: set[str] = set()
    entries = 0
    for one in collector.logs:
        for entry in one["request"]["log"]["entries"]:
            name = parse_qs(urlsplit(entry["request"]["url"]).query).get("name", [""])[0]
            if name.startswith("t"):
                entries += 1
                seen.add(name)
    return seen, entries


def run(server: str, delay: float, seconds: int, connections: int, workers: int) -> dict:
    collector = Collector().start()
    collector.default = Reply(delay=delay)
    port = free_port()
    argv, extra, path = command(server, port, workers)
    env = server_env(collector.url, extra.pop("BB14_APP", "plain_app"), **extra)
    handle, name = tempfile.mkstemp(prefix=f"bb21-{server}-", suffix=".log")
    with os.fdopen(handle, "wb") as out:
        process = start_server(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_up(base, process)
        lua = Path(name + ".lua")
        lua.write_text(WRK_LUA % path)
        wrk = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s",
                              "--timeout", "10s", "-s", str(lua), base],
                             capture_output=True, text=True, timeout=seconds + 60)
        load = os.getloadavg()[0]
        if server == "runserver":
            os.killpg(process.pid, signal.SIGINT)  # Ctrl+C in its terminal
        else:
            process.send_signal(signal.SIGTERM)
        began = time.monotonic()
        try:
            code = process.wait(120)
        except subprocess.TimeoutExpired:
            process.kill()
            code = None
        stop_s = round(time.monotonic() - began, 1)
    finally:
        if process.poll() is None:
            process.kill()
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        process.wait(60)
    time.sleep(1.0)  # the last answers
    m = re.search(r"(\d+) requests in", wrk.stdout)
    served = int(m.group(1)) if m else -1
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", wrk.stdout)
    errors = re.search(r"Socket errors: (.*)", wrk.stdout)
    served -= int(non2xx.group(1)) if non2xx else 0
    seen, entries = tags_in(collector)
    text = Path(name).read_text(errors="replace")
    said, lines = said_in(text)
    logged = set(ACCESS.findall(text))  # the server's own count, where it logs access
    if logged:
        served = len(logged)
    missing = sorted(logged - seen)
    collector.stop()
    return {"server": server, "workers": workers if server in ("sync", "gthread", "uvicorn")
            else 1, "delay": delay, "served": served, "delivered": len(seen),
            "dup": entries - len(seen), "said": said,
            "unsaid": max(0, (len(missing) if logged else served - len(seen)) - said),
            "by": "access log" if logged else "wrk", "missing": missing[:8],
            "rate": round(served / seconds),
            "load": round(load, 2), "exit": code, "stop_s": stop_s,
            "posts": len(collector.received),
            "socket_errors": errors.group(1) if errors else "", "log": name,
            "lines": lines[-6:]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("servers", nargs="+")
    parser.add_argument("--delay", type=float, default=0.25)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    for server in args.servers:
        workers = 2 if server == "uvicorn" else args.workers
        print(json.dumps(run(server, args.delay, args.seconds, args.connections, workers)),
              flush=True)


if __name__ == "__main__":
    main()
