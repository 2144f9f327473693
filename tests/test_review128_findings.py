"""review128: an adversarial read of the session's landings (delivery43's SIGTERM during
the library's close, blackbox16, newcomer31, hostile35, cpu17/18).

1. A process that is its PID namespace's init (a container's ``CMD ["python",
   "app.py"]``, ``docker stop``'s SIGTERM) never dies of a signal left at its default:
   the kernel drops it, so bare, a SIGTERM during the exit's close did nothing and the
   close delivered what it held. delivery43's watcher gave it a handler there: the
   SIGTERM cut the close ("N logs not delivered"), then its ``os.kill`` of itself was
   dropped too, so the process went on exiting, the logs lost that the bare close would
   have delivered. Now the SIGTERM is not watched where the process is PID 1.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
from pathlib import Path

import pytest

from tests.support.fake_api import Collector
from tests.support.polling import wait_until
from tests.support.processes import LINE_WAIT, run_command
from tests.support.runserver import Served, children, held_collector, serving
from tests.test_e2e_servers import server_env

ROOT = Path(__file__).resolve().parents[1]


def _env(held: Collector, tmp_path: Path) -> dict[str, str]:
    return server_env(held, PYTHONPATH=f"{ROOT}{os.pathsep}{tmp_path}",
                      README_BACKGROUND_WORKER_MODE="true", README_BUFFER_LENGTH="1000",
                      README_FLUSH_INTERVAL="600", README_SHUTDOWN_TIMEOUT="120",
                      README_TIMEOUT="120")


#: werkzeug's ``run_simple`` (no SIGTERM handler) as its PID namespace's init; SIGWINCH
#: (28, after SIGTERM's 15: Python runs the pending handlers in that order) prints a
#: line once every signal sent before it has been handled.
_PID1 = """\
import os, signal, sys
from readme_metrics.delivery import process
from werkzeug.serving import run_simple
from tests.support.e2e_apps import plain_app

signal.signal(signal.SIGWINCH, lambda *_: print("barrier", flush=True))
process.before_exit(lambda: print(f"exit close begins in pid {os.getpid()}", flush=True))
run_simple("127.0.0.1", int(sys.argv[1]), plain_app, threaded=True)
"""

#: ``python -c`` becoming ``unshare``, whose child runs app.py as PID 1.
_AS_INIT = ("import os, sys; os.execvp('unshare', ['unshare', '--pid', '--fork', "
            "sys.executable, *sys.argv[1:]])")


def _unshare_works() -> bool:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    done = run_command(["unshare", "--pid", "--fork", sys.executable, "-c",
                        "import os; print(os.getpid())"], timeout=LINE_WAIT,
                       capture_output=True)
    return done.returncode == 0 and done.stdout.strip() == b"1"


def _init_of(served: Served) -> int:
    """The app's process (PID 1 inside), unshare's one child, as this namespace sees it."""
    found: list[int] = []

    def one() -> bool:
        found[:] = children(served.process.pid)
        return len(found) == 1
    wait_until(one, timeout=LINE_WAIT)
    return found[0]


@pytest.mark.e2e
@pytest.mark.skipif(sys.platform != "linux", reason="PID namespaces")
def test_pid1_sigterm_during_the_exit_close_is_dropped_as_bare_and_the_logs_delivered(
        tmp_path: Path) -> None:
    """``python app.py`` (werkzeug) as PID 1, 40 calls, Ctrl-C: the exit's close waits
    for the held answers; SIGTERM (``docker stop``): dropped by the kernel, as bare (the
    process has no handler for it); the answers then come, the 40 logs are delivered,
    nothing said lost. Before: the close's SIGTERM handler cut it, "40 logs not
    delivered" said, and the process went on exiting all the same (its own SIGTERM
    dropped)."""
    if not _unshare_works():
        pytest.skip("no PID namespace here (unshare --pid as root)")
    (tmp_path / "app128.py").write_text(_PID1)
    gate = threading.Event()
    with held_collector(gate) as held:
        with serving(["-c", _AS_INIT, "app128.py", "{port}"], _env(held, tmp_path),
                     tmp_path, "server.log") as served:
            app = _init_of(served)
            served.call([f"n{n}" for n in range(40)])
            os.kill(app, signal.SIGINT)
            held.wait_for_logs(40, timeout=LINE_WAIT)
            assert "exit close begins in pid 1" in served.wait_said("exit close begins")
            os.kill(app, signal.SIGTERM)
            os.kill(app, signal.SIGWINCH)
            wait_until(lambda: "barrier" in served.said()
                       or served.process.poll() is not None, timeout=LINE_WAIT)
            before = served.said()
            gate.set()
            code = served.process.wait(LINE_WAIT)
            said = served.said()
    assert "not delivered" not in before, before
    assert "closing gave up" not in said and "not delivered" not in said, said
    assert code == 0, said
