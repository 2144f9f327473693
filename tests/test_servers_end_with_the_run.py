"""Every server the tests start ends with the test run, however the run is stopped (flake27).

A newcomer stopped README's test command after a minute (SIGTERM from ``timeout``), and
a uWSGI test server stayed running for 40 minutes, holding its port (a later run on that
port failed). start_server's tie (PR_SET_PDEATHSIG: SIGTERM when the test process ends)
reaches its child alone: what that child started, or a child that takes SIGTERM for
something else than "stop" (uWSGI without ``--die-on-term`` reloads), outlived the run.
Here a real pytest run starts one of each kind of server the suite starts and blocks;
it is stopped as a person or the OOM killer stops it, and then nothing it started may
remain, and every port is free again.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Optional

import pytest

from tests.support.command import REPO_ROOT
from tests.support.polling import wait_until
from tests.support.processes import start_server, stop_server

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")]

_APP = '''\
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


async def asgi(scope, receive, send):
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


SECRET_KEY = "flake27"
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = "tiny_app"
urlpatterns = []
'''

#: The run that is stopped: one test that starts each kind of server, says their ports
#: in a file once they all answer, and blocks.
_BLOCKING_TEST = '''\
import importlib.util, json, os, socket, subprocess, sys, threading, time
from pathlib import Path

from tests.support.ports import free_ports
from tests.support.processes import run_command, start_server
from tests.test_e2e_servers import SERVERS, UWSGI, uwsgi_argv

PY = sys.executable
KINDS = {
    "waitress": lambda port: SERVERS["waitress"](port, "tiny_app:app"),
    "gunicorn": lambda port: SERVERS["gunicorn-sync"](port, "tiny_app:app"),
    "werkzeug": lambda port: [PY, "-c", "import sys, tiny_app; from werkzeug.serving import "
                              "run_simple; run_simple('127.0.0.1', int(sys.argv[1]), "
                              "tiny_app.app, threaded=True)", str(port)],
    "cheroot": lambda port: SERVERS["cheroot"](port, "tiny_app:app"),
    "granian": lambda port: SERVERS["granian"](port, "tiny_app:app"),
    "uwsgi": lambda port: uwsgi_argv(port, "tiny_app:app", "--threads=2"),
    "uvicorn": lambda port: [PY, "-m", "uvicorn", "--workers", "2", "--host", "127.0.0.1",
                             "--port", str(port), "tiny_app:asgi"],
    "hypercorn": lambda port: [PY, "-m", "hypercorn", "--bind", f"127.0.0.1:{port}",
                               "tiny_app:asgi"],
    "daphne": lambda port: [PY, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                            "tiny_app:asgi"],
    # runserver with its autoreloader: the server is the reloader's child.
    "runserver": lambda port: [PY, "-m", "django", "runserver", f"127.0.0.1:{port}",
                               "--skip-checks"],
}
MISSING = {"granian": importlib.util.find_spec("granian") is None,
           "cheroot": importlib.util.find_spec("cheroot") is None,
           "uwsgi": UWSGI is None}


def answers(port):
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
        return True
    except OSError:
        return False


def test_blocks(tmp_path):
    kinds = [kind for kind in KINDS if not MISSING.get(kind)]
    ports = dict(zip(kinds, free_ports(len(kinds))))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tiny_app"}
    for kind in kinds:
        start_server(KINDS[kind](ports[kind]), env=env, cwd=os.environ["TINY_APP"],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)
    # A command that starts a process of its own (as a test's script does).
    threading.Thread(target=run_command, daemon=True, args=([PY, "-c",
        "import os, sys, time; os.spawnv(os.P_NOWAIT, sys.executable, [sys.executable, "
        "'-c', 'import time; time.sleep(900)']); time.sleep(900)"],), kwargs={"timeout": 900}
        ).start()
    for _ in range(1200):
        if all(answers(port) for port in ports.values()):
            break
        time.sleep(0.1)
    Path(os.environ["SAY_PORTS"]).write_text(json.dumps(ports))
    threading.Event().wait()
'''


def _stat(pid: int) -> Optional[tuple[str, int, int]]:
    """``pid``'s state, parent and start time (None: no such process)."""
    try:
        rest = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return rest[0], int(rest[1]), int(rest[19])
    except (OSError, IndexError, ValueError):
        return None


def _tree(root: int) -> dict[int, int]:
    """``root`` and every process descended from it: PID -> start time."""
    children: dict[int, list[int]] = {}
    started: dict[int, int] = {}
    for name in os.listdir("/proc"):
        state = _stat(int(name)) if name.isdigit() else None
        if state:
            children.setdefault(state[1], []).append(int(name))
            started[int(name)] = state[2]
    tree: dict[int, int] = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        if pid in started:
            tree[pid] = started[pid]
        todo += children.get(pid, [])
    return tree


def _remaining(tree: dict[int, int]) -> list[str]:
    """What of ``tree`` still runs (a zombie counts as ended), with its command line."""
    left = []
    for pid, started in tree.items():
        state = _stat(pid)
        if state and state[0] not in ("Z", "X") and state[2] == started:
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                command = b"?"
            left.append(f"{pid}: {command.decode(errors='replace')[:120]}")
    return left


def _free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.mark.parametrize("how, workers", [
    pytest.param(signal.SIGTERM, [], id="SIGTERM-as-timeout-sends-it"),
    pytest.param(signal.SIGKILL, ["-n", "1"], id="SIGKILL-an-xdist-worker-and-controller"),
])
def test_nothing_a_stopped_run_started_remains_and_its_ports_are_free(
        tmp_path: Path, how: signal.Signals, workers: list[str]) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "tiny_app.py").write_text(_APP)
    (tmp_path / "test_blocks.py").write_text(_BLOCKING_TEST)
    said = tmp_path / "ports.json"
    env = {**os.environ, "TINY_APP": str(app), "SAY_PORTS": str(said),
           "PYTHONPATH": os.pathsep.join([str(app), str(REPO_ROOT)])}
    env.pop("PYTEST_XDIST_WORKER", None)
    run = start_server([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "-c", os.devnull, "--rootdir", str(tmp_path), *workers,
                        str(tmp_path / "test_blocks.py")],
                       cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tree: dict[int, int] = {}
    try:
        wait_until(lambda: said.exists() or run.poll() is not None, timeout=240)
        assert run.poll() is None, "the blocking run ended before its servers answered"
        ports = json.loads(said.read_text())
        tree = _tree(run.pid)
        os.killpg(run.pid, how)  # the run's group, as `timeout` and Ctrl-C signal it
        run.wait(60)
        try:  # what remains is named below
            wait_until(lambda: not _remaining(tree), timeout=60)
        except AssertionError:
            pass
    finally:
        left = _remaining(tree)
        stop_server(run)
        for line in left:
            try:
                os.kill(int(line.split(":")[0]), signal.SIGKILL)
            except OSError:
                pass
    assert left == []
    assert [kind for kind, port in ports.items() if not _free(port)] == []
