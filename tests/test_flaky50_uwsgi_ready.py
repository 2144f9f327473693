"""flaky50: a uWSGI master (or worker) stopped before it took its stop signals.

uWSGI's master (2.0.30) ignores SIGTERM from its start until its loop, which sets its
handlers once it has spawned every worker, while its first worker already serves.
test_delivery36's ``--skip-atexit --processes=2`` stop (tests/support/uwsgi_run.py)
sent SIGTERM as soon as a worker had answered: on a loaded machine (the whole suite),
the master had not yet spawned the second worker, the SIGTERM was ignored, and the
master served on for the test's 60 s (2 of 3 whole-suite runs, CI93 and CI94), until
stop_server's SIGTERM ended it, exit 0. Likewise a worker just spawned: the master's
SIGINT ("killing workers") before uWSGI set the worker's handlers went to the Python
handler it inherited, never acted on, and the master waited its mercy (60 s). The
helper now yields once the master and each worker catch their stop signals too.

Each window is made here, not waited for: the master held after its first worker's
fork (an after-fork hook of the app's, run there by ``--py-call-uwsgi-fork-hooks``), or
the second worker held as it starts (``uwsgi.post_fork_hook``), until the test writes
"go" after its SIGTERM (HOLD_S at most), as a process waiting for a core would be.
Real uWSGI, a real collector on 127.0.0.1.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import requests

from tests.support.fake_api import Collector
from tests.support.processes import LINE_WAIT
from tests.support.uwsgi_run import APP, NO_UWSGI, paths, uwsgi

#: How long a hold below lasts at most (seconds). The test's "go" comes only once
#: ``uwsgi()`` yields, which (fixed) waits for the end of the hold: each case waits it
#: out. Before the fix the stop came within a second of the first fork, inside it
#: (suite49: 3 s, was 10).
HOLD_S = 3

#: The app, whose master waits after its first worker's fork (its after-fork hook, run
#: there by --py-call-uwsgi-fork-hooks) until the file "go" is in its folder, or HOLD_S.
SLOW_MASTER = APP.replace("from readme_metrics import", '''\
import time

HOLD_S = HELD_SECONDS

_forks = []


def _after_a_fork():
    _forks.append(None)
    if len(_forks) == 1:
        give_up = time.monotonic() + HOLD_S
        while not os.path.exists("go") and time.monotonic() < give_up:
            time.sleep(0.05)


os.register_at_fork(after_in_parent=_after_a_fork)

from readme_metrics import'''.replace("HELD_SECONDS", str(HOLD_S)), 1)
assert SLOW_MASTER != APP


@NO_UWSGI
def test_a_stop_once_the_helper_yields_ends_a_master_slow_to_reach_its_loop(
        tmp_path: Path, collector: Collector) -> None:
    """The stop comes while the master would still be held ("go" is written only after
    it): before, uwsgi() yielded as the first worker answered, the SIGTERM was ignored,
    and the master never ended (60 s)."""
    with uwsgi(tmp_path, collector, "--processes=2", "--py-call-uwsgi-fork-hooks",
               app=SLOW_MASTER) as (process, base, output):
        assert requests.get(f"{base}/f0", timeout=LINE_WAIT).status_code == 200
        process.send_signal(signal.SIGTERM)
        (tmp_path / "go").touch()
        assert ended(process, output) == 0, output.read_text(errors="replace")
    assert paths(collector) == ["f0"], output.read_text(errors="replace")


#: The app, whose second worker waits as it starts (``uwsgi.post_fork_hook``, before
#: uWSGI sets the worker's handlers) until the file "go" is in its folder, or HOLD_S.
SLOW_WORKER = APP.replace("from readme_metrics import", '''\
import time

HOLD_S = HELD_SECONDS

import uwsgi


def _slow_second_worker():
    if uwsgi.worker_id() == 2:
        give_up = time.monotonic() + HOLD_S
        while not os.path.exists("go") and time.monotonic() < give_up:
            time.sleep(0.05)


uwsgi.post_fork_hook = _slow_second_worker

from readme_metrics import'''.replace("HELD_SECONDS", str(HOLD_S)), 1)
assert SLOW_WORKER != APP


@NO_UWSGI
def test_a_stop_once_the_helper_yields_ends_a_worker_slow_to_start(
        tmp_path: Path, collector: Collector) -> None:
    """``--skip-atexit`` (no handler of the library's in the workers): the master's
    SIGINT to a worker still starting went to the Python handler it inherited, never
    run; the master waited for it until its mercy (60 s)."""
    with uwsgi(tmp_path, collector, "--skip-atexit", "--processes=2",
               app=SLOW_WORKER) as (process, base, output):
        assert requests.get(f"{base}/f0", timeout=LINE_WAIT).status_code == 200
        process.send_signal(signal.SIGTERM)
        (tmp_path / "go").touch()
        assert ended(process, output) == 0, output.read_text(errors="replace")


def ended(process: subprocess.Popen[bytes], output: Path) -> int:
    """The exit code of uWSGI, which was sent SIGTERM; its output if it has not ended
    within LINE_WAIT."""
    try:
        return process.wait(LINE_WAIT)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"no end {LINE_WAIT:g} s after the SIGTERM:\n"
                             + output.read_text(errors="replace")) from None
