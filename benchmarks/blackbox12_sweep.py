"""blackbox12's sweep: real servers under load against a stand-in Metrics API on 127.0.0.1,
stopped (or reloaded) the way a user does it. Counts served vs delivered vs said dropped
(the library's own lines), and the logs delivered twice.

.. code-block:: sh

    python benchmarks/blackbox12_sweep.py SCENARIO [SECONDS] [CLIENTS]
    python benchmarks/blackbox12_sweep.py list
    SWEEP_API=slow250 python benchmarks/blackbox12_sweep.py SCENARIO  # API at 250 ms
    SWEEP_STOP=int+int SWEEP_SECOND=0.5 python benchmarks/blackbox12_sweep.py SCENARIO

delivery42: ``SWEEP_STOP`` replaces the scenario's stop; ``A+B`` stops with ``A`` and
``SWEEP_SECOND`` seconds later (0.5 by default) ``B`` (a second Ctrl-C, a process
manager's SIGTERM then SIGINT), each of ``term``, ``int``, ``ctrlc``, ``termgroup``,
``quit`` (SIGQUIT to the server) or ``intchild`` (SIGINT to its child processes: a
gunicorn worker, a reloader's child).

Each call a distinct name (``/hello?name=nN``); served = answers the clients read whole
(status 200), delivered = distinct names the API read, said = what the library's warning
lines count as not delivered. One JSON line, then the library's lines.
"""
from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import requests  # noqa: E402

from tests.support.blackbox14_run import said_in  # noqa: E402
from tests.support.fake_api import Collector, Reply  # noqa: E402
from tests.support.ports import free_port  # noqa: E402
from tests.support.processes import end_stragglers, start_server  # noqa: E402
from tests.test_e2e_servers import server_env, uwsgi_argv  # noqa: E402

PY = sys.executable
GUNI = [PY, "-m", "gunicorn", "--workers=1", "--graceful-timeout=5", "--no-control-socket"]


FLASK_APP = """\
import os
from flask import Flask, jsonify, request
from readme_metrics import MetricsApiConfig
from readme_metrics.flask_readme import ReadMeMetrics
app = Flask(__name__)
@app.get("/hello")
def hello():
    return jsonify(hello=request.args.get("name", ""), v=VERSION)
@app.route("/nolog", methods=["GET", "OPTIONS"])
def nolog():
    return "ok"
VERSION = 1
ReadMeMetrics(MetricsApiConfig(os.environ["README_API_KEY"],
    lambda req: {"api_key": "caller-1", "label": "c"}, background_worker_mode=True,
    buffer_length=10), app)
"""

PLAIN_WERKZEUG = """\
import sys
from werkzeug.serving import run_simple
from tests.support.e2e_apps import plain_app
run_simple("127.0.0.1", int(sys.argv[1]), plain_app, threaded=True)
"""

Argv = Callable[[int], list[str]]
PLAIN = "tests.support.e2e_apps:plain_app"
FASTAPI = "tests.support.asgi_apps:fastapi_app"
DJANGO_ASGI = "tests.support.e2e_apps:django_asgi_app"
DJANGO = {"DJANGO_SETTINGS_MODULE": "tests.support.e2e_apps",
          "README_GROUPING_FUNCTION": "tests.support.e2e_apps.django_grouping"}


def runserver(*more: str) -> Argv:
    return lambda p: [PY, "-m", "django", "runserver", f"127.0.0.1:{p}", "--skip-checks",
                      *more]


def flask_run(reload: str) -> Argv:
    return lambda p: [PY, "-m", "flask", "--app", "bb12app", "run", reload,
                      "--port", str(p), "--host", "127.0.0.1"]


def uvicorn(target: str, *more: str) -> Argv:
    return lambda p: [PY, "-m", "uvicorn", "--host=127.0.0.1", f"--port={p}",
                      "--no-access-log", *more, target]


def hypercorn(*more: str) -> Argv:
    return lambda p: [PY, "-m", "hypercorn", *more, f"--bind=127.0.0.1:{p}", FASTAPI]


def waitress(*more: str) -> Argv:
    return lambda p: [PY, "-m", "waitress", f"--listen=127.0.0.1:{p}", *more, PLAIN]


def gunicorn(*more: str, target: str = PLAIN) -> Argv:
    return lambda p: [*GUNI, *more, f"--bind=127.0.0.1:{p}", target]


def uwsgi(*more: str) -> Argv:
    return lambda p: uwsgi_argv(p, PLAIN, "--processes=2", "--threads=4", *more)


RELOAD_DIR = f"--reload-dir={ROOT}/tests/support"
GEVENT = ("--worker-class=gevent", "--worker-connections=200")
INLINE = {"README_BACKGROUND_WORKER_MODE": "false", "README_BUFFER_LENGTH": "1000",
          "README_FLUSH_INTERVAL": "600"}

# name -> (argv(port), env extra, stop, judge mode)
#   stop: "term" SIGTERM to the server, "int" SIGINT to it, "ctrlc" SIGINT to its whole
#   process group (a terminal's Ctrl-C), "touch-then-int": touch the app file mid-load
#   (a reload) then Ctrl-C.
SCENARIOS: dict[str, tuple[Argv, dict[str, str], str, str]] = {
    "runserver-reload-ctrlc-slow1": (runserver(), DJANGO, "ctrlc", "slow1"),
    "runserver-reload-ctrlc-fast": (runserver(), DJANGO, "ctrlc", "ok"),
    "runserver-reload-touch-slow1": (
        runserver(), {**DJANGO, "DJANGO_SETTINGS_MODULE": "bb12_settings"},
        "touch-then-int", "slow1"),
    # delivery40: SIGTERM alone (a process manager: to the group; ``kill`` of the child)
    "runserver-reload-termgroup-slow1": (runserver(), DJANGO, "termgroup", "slow1"),
    "runserver-reload-termchild-slow1": (runserver(), DJANGO, "termchild", "slow1"),
    "flask-reload-termgroup-slow1": (flask_run("--reload"), {}, "termgroup", "slow1"),
    "flask-reload-termchild-slow1": (flask_run("--reload"), {}, "termchild", "slow1"),
    "uvicorn-w2-term-slow1": (uvicorn(FASTAPI, "--workers=2"), {}, "term", "slow1"),
    "uvicorn-w2-ctrlc-slow1": (uvicorn(FASTAPI, "--workers=2"), {}, "ctrlc", "slow1"),
    "hypercorn-w2-ctrlc-slow1": (hypercorn("--workers=2"), {}, "ctrlc", "slow1"),
    "runserver-noreload-ctrlc-slow1": (runserver("--noreload"), DJANGO, "ctrlc", "slow1"),
    "flask-reload-ctrlc-slow1": (flask_run("--reload"), {}, "ctrlc", "slow1"),
    "flask-reload-touch-slow1": (flask_run("--reload"), {}, "touch-then-int", "slow1"),
    "uvicorn-reload-touch-slow1": (
        uvicorn(FASTAPI, "--reload", RELOAD_DIR), {}, "touch-then-int", "slow1"),
    "uvicorn-reload-ctrlc-slow1": (
        uvicorn(FASTAPI, "--reload", RELOAD_DIR), {}, "ctrlc", "slow1"),
    "hypercorn-reload-ctrlc-slow1": (hypercorn("--reload"), {}, "ctrlc", "slow1"),
    "gunicorn-reload-touch-slow1": (
        gunicorn("--reload", target="bb12wsgi:app"), {}, "touch-then-int", "slow1"),
    "daphne-django-slow1": (
        lambda p: [PY, "-m", "daphne", "-b", "127.0.0.1", "-p", str(p), DJANGO_ASGI],
        DJANGO, "term", "slow1"),
    "uvicorn-django-slow1": (uvicorn(DJANGO_ASGI), DJANGO, "int", "slow1"),
    "waitress-storm-250ms": (
        waitress("--threads=32", "--connection-limit=400"),
        {"README_MAX_QUEUE_SIZE": "300"}, "int", "slow250"),
    "gthread50-slow1": (
        gunicorn("--worker-class=gthread", "--threads=50"), {}, "term", "slow1"),
    "gevent-slow1": (gunicorn(*GEVENT), {}, "term", "slow1"),
    "gevent-fast": (gunicorn(*GEVENT), {}, "term", "ok"),
    "gevent-slow5": (gunicorn(*GEVENT), {}, "term", "slow5"),
    "hypercorn-w2-slow1": (hypercorn("--workers=2"), {}, "term", "slow1"),
    # 2 of the clients post 5 MB bodies to /echo (logged whole: max_body_bytes 8 MB),
    # the others GET; queue bounds 1,000 logs and 32 MiB.
    "waitress-5mb-mix-slow1": (
        waitress("--threads=8"),
        {"README_MAX_BODY_BYTES": str(8 * 2**20), "README_MAX_QUEUE_BYTES": str(32 * 2**20),
         "README_MAX_QUEUE_SIZE": "1000"}, "int", "slow1"),
    "waitress-500once": (waitress("--threads=8"), {}, "int", "500once"),
    # delivery40: uWSGI threads (a worker's requests may all run outside its main thread)
    "uwsgi-threads4-term-slow1": (uwsgi(), {}, "term", "slow1"),
    "uwsgi-threads4-int-slow1": (uwsgi(), {}, "int", "slow1"),
    "uwsgi-threads4-touch-slow1": (
        uwsgi("--touch-reload=bb12wsgi.py"), {}, "touch-then-int", "slow1"),
    # delivery42: servers stopped twice (SWEEP_STOP=int+int ...)
    "werkzeug-plain-slow1": (lambda p: [PY, "bb42plain.py", str(p)], {}, "int", "slow1"),
    "werkzeug-plain-inline-slow1": (  # (inline: the close's POSTs one after another)
        lambda p: [PY, "bb42plain.py", str(p)], INLINE, "int", "slow1"),
    "flask-run-slow1": (flask_run("--no-reload"), {}, "int", "slow1"),
    "waitress-slow1": (waitress("--threads=8"), {}, "int", "slow1"),
    "gunicorn-sync-slow1": (gunicorn(), {}, "term", "slow1"),
    "uvicorn-slow1": (uvicorn(FASTAPI), {}, "int", "slow1"),
    "hypercorn-slow1": (hypercorn(), {}, "int", "slow1"),
    "waitress-late200": (waitress("--threads=8"), {}, "int", "late200"),
}

def _signal(p: subprocess.Popen[bytes], stop: str) -> None:
    """One stop of the server ``p`` (see the module's doc)."""
    if stop in ("ctrlc", "touch-then-int"):
        os.killpg(p.pid, signal.SIGINT)
    elif stop == "int":
        p.send_signal(signal.SIGINT)
    elif stop == "quit":
        p.send_signal(signal.SIGQUIT)
    elif stop == "termgroup":
        os.killpg(p.pid, signal.SIGTERM)
    elif stop in ("termchild", "intchild"):  # (the parent ends as its child does)
        for child in Path(f"/proc/{p.pid}/task/{p.pid}/children").read_text().split():
            os.kill(int(child), signal.SIGTERM if stop == "termchild" else signal.SIGINT)
    else:
        p.send_signal(signal.SIGTERM)


def main() -> None:
    name = sys.argv[1]
    if name == "list":
        print("\n".join(SCENARIOS))
        return
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 4.0
    clients = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    argv_of, extra, stop, mode = SCENARIOS[name]
    stop = os.environ.get("SWEEP_STOP", stop)
    # delivery41: the same scenario against another API ("slow250", "slow1", "ok" ...).
    mode = os.environ.get("SWEEP_API", mode)
    c = Collector().start()
    count = [0]
    lock = threading.Lock()

    read_at: list[tuple[float, Any]] = []  # (when the API read a POST, the POST)

    def judge(received: Any) -> Reply:
        with lock:
            count[0] += 1
            n = count[0]
            read_at.append((time.monotonic(), received))
        if mode == "slow1":
            return Reply(delay=1.0)
        if mode == "slow5":
            return Reply(delay=5.0)
        if mode == "slow250":
            return Reply(delay=0.25)
        if mode == "500once":  # the 3rd POST only answered 500
            return Reply(status=500) if n == 3 else Reply()
        if mode == "late200":  # the 3rd POST answered 200 after the client's timeout
            return Reply(status=200, delay=4.0) if n == 3 else Reply()
        return Reply()

    c.judge = judge
    port = free_port()
    work = Path(tempfile.mkdtemp())
    (work / "bb12app.py").write_text(FLASK_APP)
    (work / "bb42plain.py").write_text(PLAIN_WERKZEUG)
    (work / "bb12wsgi.py").write_text("from tests.support.e2e_apps import plain_app as app\n")
    (work / "bb12_settings.py").write_text("from tests.support.e2e_apps import *  # noqa\n")
    env = server_env(c, **{
        "README_BACKGROUND_WORKER_MODE": "true", "README_BUFFER_LENGTH": "10",
        "README_FLUSH_INTERVAL": "1",
        "README_SHUTDOWN_TIMEOUT": os.environ.get("HUNT_SHUTDOWN", "8"),
        "README_TIMEOUT": "3", "README_BASE_LOG_URL": "https://docs.example.com",
        "PYTHONPATH": f"{ROOT}:{work}", **extra})
    out = work / "server.log"
    url = f"http://127.0.0.1:{port}"
    served = [0]
    served_names: set[str] = set()
    big_calls = [0]
    failed = collections.Counter()
    with out.open("wb") as log:
        p = start_server(argv_of(port), env=env, cwd=str(work), stdout=log,
                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.options(f"{url}/nolog", timeout=2)
                break
            except (requests.ConnectionError, requests.Timeout):
                assert time.monotonic() < deadline and p.poll() is None, out.read_text()
                time.sleep(0.05)
        ids = iter(range(10**9))
        go = threading.Event()
        go.set()

        big = b"x" * (5 * 10**6)

        def client(k: int) -> None:
            s = requests.Session()
            while go.is_set():
                with lock:
                    i = next(ids)
                try:
                    if "5mb" in name and k < 2:
                        r = s.post(f"{url}/echo", params={"name": f"n{i}"}, data=big,
                                   timeout=30, headers={"X-Api-Key": "caller-1",
                                                        "Content-Type": "text/plain"})
                        big_calls[0] += r.status_code == 200
                    else:
                        r = s.get(f"{url}/hello", params={"name": f"n{i}"}, timeout=30,
                                  headers={"X-Api-Key": "caller-1"})
                    if r.status_code == 200:
                        with lock:
                            served[0] += 1
                            served_names.add(f"n{i}")
                    else:
                        failed[r.status_code] += 1
                except requests.RequestException as e:
                    failed[type(e).__name__] += 1
                    s = requests.Session()
                    time.sleep(0.05)

        threads = [threading.Thread(target=client, args=(k,), daemon=True)
                   for k in range(clients)]
        for t in threads:
            t.start()
        if stop == "touch-then-int":
            time.sleep(seconds / 2)
            target = (work / "bb12app.py") if "flask" in name else (
                work / "bb12_settings.py") if "runserver" in name else (
                work / "bb12wsgi.py") if ("gunicorn" in name or "uwsgi" in name) else (
                ROOT / "tests/support/asgi_apps.py")
            later = time.time() + 5
            os.utime(target, (later, later))
            time.sleep(seconds / 2)
        else:
            time.sleep(seconds)
        began = time.monotonic()
        for n, one in enumerate(stop.split("+")):
            if n:  # (a benchmark, not a test: a second signal after a pause)
                time.sleep(float(os.environ.get("SWEEP_SECOND", "0.5")))
                if p.poll() is not None:
                    break
            _signal(p, one)
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        ended = time.monotonic()
        stop_s = ended - began
        go.clear()
        for t in threads:
            t.join(35)
        end_stragglers(p)
    time.sleep(0.5)
    text = out.read_text(errors="replace")
    names: collections.Counter[str] = collections.Counter()
    big_in = 0
    for entry in c.logs:
        u = entry["request"]["log"]["entries"][0]["request"]["url"]
        big_in += "/echo" in u
        q = parse_qs(urlsplit(u).query).get("name", [""])[0]
        if q.startswith("n"):
            names[q] += 1
    said, lines = said_in(text, 400)
    c.stop()
    delivered = len(names)
    # delivery42: logs the API read in a POST it could not answer before the process
    # ended (its answer due after that: the API's delay): the library never learnt of
    # them. Logs in such POSTs for the slow APIs' fixed delays only.
    delay = {"slow1": 1.0, "slow5": 5.0, "slow250": 0.25}.get(mode, 0.0)
    unanswered = sum(len(received.json()) for at, received in read_at
                     if delay and at + delay > ended)
    twice = sum(1 for v in names.values() if v > 1)
    print(json.dumps({"scenario": name, "served": served[0], "delivered": delivered,
                      "said_dropped": said, "adds_up": served[0] == delivered + said,
                      "twice": twice, "unanswered_at_exit": unanswered,
                      "missing": sorted(served_names - set(names))[:5],
                      "posts": count[0], "stop_s": round(stop_s, 2),
                      "client_errors": dict(failed), "rc": p.returncode,
                      "big_served": big_calls[0], "big_delivered": big_in}))
    for line in lines:
        print("   ", line)
    print("    log:", out)


if __name__ == "__main__":
    main()
