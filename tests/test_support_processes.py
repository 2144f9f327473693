"""The servers the tests start die with the test run (tests/support/processes.py).

Stopping the suite with SIGTERM (``timeout 90 python -m pytest``, README's command) left
a daphne that a test had started serving, and spinning, as an orphan: the test's finally
never ran (newcomer10). Here a process stands for pytest: it starts a server through
``start_server``, then is ended as pytest was, with no chance to clean up.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.support.command import REPO_ROOT
from tests.support.polling import wait_until
from tests.support.processes import _tie, read_line, run_command, start_server, stop_for_output
from tests.support.signal_dispositions import ignores

#: pytest's stand-in: starts a "server" (a sleeping interpreter), says its PID, waits.
_RUNNER = """\
import sys, time
sys.path.insert(0, sys.argv[1])
from tests.support.processes import start_server
server = start_server([sys.executable, "-c", "import time; time.sleep(600)"])
print(server.pid, flush=True)
time.sleep(600)
"""

#: As _RUNNER, the "server" started from a thread that then ends (test_slow_client starts
#: its servers from an executor's threads): tied all the same.
_THREAD_RUNNER = """\
import sys, threading, time
sys.path.insert(0, sys.argv[1])
from tests.support.processes import start_server
started = []
thread = threading.Thread(target=lambda: started.append(start_server(
    [sys.executable, "-c", "import time; time.sleep(600)"])))
thread.start()
thread.join(60)
print(started[0].pid, flush=True)
time.sleep(600)
"""


def _running(pid: int) -> bool:
    """True while ``pid`` runs (a zombie no init has reaped yet counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")

#: As _RUNNER, the "server" one that takes SIGTERM for something else than "stop" (as
#: uWSGI without --die-on-term takes it for "reload"): start_server's tie alone left it
#: running; the run's watcher (tests/support/reaper.py) SIGKILLs it after its grace.
_DEAF_RUNNER = _RUNNER.replace(
    '"import time; time.sleep(600)"',
    '"import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"')
assert _DEAF_RUNNER != _RUNNER


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
@pytest.mark.parametrize("runner_script", [pytest.param(_RUNNER, id="main-thread"),
                                           pytest.param(_THREAD_RUNNER, id="other-thread"),
                                           pytest.param(_DEAF_RUNNER, id="deaf-to-sigterm")])
def test_a_server_started_by_the_tests_ends_with_the_process_that_started_it(
        how: signal.Signals, runner_script: str) -> None:
    """Also a server started from a thread that ended before (test_slow_client starts
    its servers from an executor's threads): it was not tied (Linux ties a child to the
    thread that forked it), and outlived the run. Such starts now go through one thread
    that lasts as long as the process."""
    runner = start_server([sys.executable, "-c", runner_script, str(REPO_ROOT)],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    server = 0
    try:
        assert runner.stdout is not None
        server = int(read_line(runner.stdout))
        assert _running(server)
        if runner_script is _DEAF_RUNNER:  # its SIG_IGN in place before the run ends
            wait_until(lambda: ignores(server, signal.SIGTERM), timeout=30)
        runner.send_signal(how)  # as `timeout` ends pytest, or the OOM killer a worker
        runner.wait(30)
        wait_until(lambda: not _running(server), timeout=30)
    finally:
        runner.kill()
        runner.wait()
        if server and _running(server):
            os.kill(server, signal.SIGKILL)




def test_a_line_that_never_comes_fails_the_test_instead_of_hanging_it() -> None:
    """read_line: a child stuck before it prints (a server that hangs at start-up) held
    a bare readline(), and the run, for ever."""
    child = start_server([sys.executable, "-c", "import time; time.sleep(600)"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        with pytest.raises(AssertionError, match="no line within 0.5 s from the silent"):
            read_line(child.stdout, timeout=0.5, about="the silent child")
    finally:
        child.kill()
        child.wait(30)
    said = start_server([sys.executable, "-c", "print('ready')"],
                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    assert said.stdout is not None
    assert read_line(said.stdout) == "ready\n"
    said.wait(30)


def test_a_command_run_by_the_tests_is_ended_at_its_timeout_with_what_it_started(
        tmp_path: Path) -> None:
    """run_command: subprocess.run's bound, and the command's group ended with it (a
    grandchild holding the pipes open kept communicate() waiting)."""
    pid_file = tmp_path / "grandchild"
    script = ("import subprocess, sys, time\n"
              "child = subprocess.Popen([sys.executable, '-c', 'import time; "
              "time.sleep(600)'])\n"
              f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
              "time.sleep(600)\n")
    with pytest.raises(subprocess.TimeoutExpired):
        run_command([sys.executable, "-c", script], capture_output=True, timeout=3)
    grandchild = int(pid_file.read_text())
    wait_until(lambda: not _running(grandchild), timeout=30)
    done = run_command([sys.executable, "-c", "print('out')"], capture_output=True,
                       text=True, check=True)
    assert (done.returncode, done.stdout) == (0, "out\n")


def _written_in_tests(pattern: str) -> list[str]:
    """Where ``pattern`` is in tests/ code (comments aside), outside this file and
    tests/support/processes.py."""
    exempt = {(REPO_ROOT / "tests" / "support" / "processes.py").resolve(),
              (REPO_ROOT / "tests" / "support" / "reaper.py").resolve(),
              Path(__file__).resolve()}
    return [f"{path.relative_to(REPO_ROOT)}:{number}"
            for path in sorted((REPO_ROOT / "tests").rglob("*.py"))
            if path.resolve() not in exempt
            for number, line in enumerate(path.read_text("utf-8").splitlines(), 1)
            if re.search(pattern, line.split("#")[0])]


def test_no_test_waits_on_a_process_without_a_bound() -> None:
    """``subprocess.run(`` (no timeout by default, and its command not tied to the run)
    and a child's ``stdout.readline()`` (no timeout at all) go through
    :func:`run_command` and :func:`read_line`."""
    assert _written_in_tests(r"subprocess\.run\(|stdout\.readline\(") == []


def test_every_process_the_tests_start_and_end_goes_through_start_server() -> None:
    """One helper ties them all: a ``subprocess.Popen(`` written anywhere else in tests/
    would start a process that can outlive the run again (``run_command`` is
    ``subprocess.run`` through it)."""
    assert _written_in_tests(r"Popen\(") == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_a_server_is_not_ended_mid_test_because_a_thread_that_started_it_ended() -> None:
    """Linux sends PR_SET_PDEATHSIG's signal when the *thread* that forked the child ends
    (prctl(2)): a server started from a helper thread (a fixture's, an executor's) was
    SIGTERMed as soon as that thread returned, while the test still used it (review64).
    Either the start is refused there, loudly, or the server lives on."""
    started: list[subprocess.Popen[bytes]] = []
    refused: list[BaseException] = []

    def start() -> None:
        try:
            started.append(start_server([sys.executable, "-c", "import time; time.sleep(60)"]))
        except RuntimeError as error:
            refused.append(error)

    thread = threading.Thread(target=start)
    thread.start()
    thread.join(30)
    if refused:
        assert "main thread" in str(refused[0])
        return
    server = started[0]
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            server.wait(2)  # ended by the thread's end: returns at once with -SIGTERM
    finally:
        server.kill()
        server.wait()


#: CPython 3.8-3.12's subinterpreters, made non-isolated (an isolated one runs no subprocess).
_SUBINTERPRETERS = "_xxsubinterpreters" if importlib.util.find_spec("_xxsubinterpreters") else None


@pytest.mark.skipif(not sys.platform.startswith("linux") or _SUBINTERPRETERS is None,
                    reason="prctl is Linux's; subinterpreters are CPython's")
def test_the_tie_runs_no_python_between_fork_and_exec(tmp_path: Path) -> None:
    """The tie was a ``preexec_fn``: Python code run in the child between fork and exec,
    which Python's docs call unsafe in a process with threads (the child may deadlock
    before exec, and ``Popen`` waits for that exec with no timeout: the whole run hangs).
    Where CPython cannot make it even that safe it refuses it outright: inside a
    subinterpreter, ``preexec_fn not supported within subinterpreters``. A start that
    needs no preexec_fn works there too."""
    mark = tmp_path / "ran"
    touch = f"open({str(mark)!r}, 'w')"
    code = (f"import sys; sys.path.insert(0, {str(REPO_ROOT)!r})\n"
            "from tests.support.processes import start_server\n"
            f"process = start_server([sys.executable, '-c', {touch!r}])\n"
            "assert process.wait(30) == 0\n")
    script = (f"import {_SUBINTERPRETERS} as interpreters\n"
              "interpreter = interpreters.create(isolated=False)\n"
              f"interpreters.run_string(interpreter, {code!r})\n")
    run_command([sys.executable, "-c", script], check=True, timeout=60,
                capture_output=True)
    assert mark.exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="start_server's tie")
def test_a_server_gets_sigint_as_from_a_terminal_when_the_run_ignores_it() -> None:
    """A run started as a shell's background job (``pytest &``, ``nohup``) has SIGINT
    ignored, and exec keeps that: the waitress and wsgiref servers that tests stop with
    Ctrl-C ran on (5 failures in such a run: "SIGINT did not stop it (SIGINT here:
    <Handlers.SIG_IGN: 1>)"). start_server gives its server the default action back."""
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as such a run has it
    try:
        child = start_server(
            [sys.executable, "-c", "import signal; print(signal.getsignal(signal.SIGINT)"
             " is signal.default_int_handler, flush=True)"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    finally:
        signal.signal(signal.SIGINT, before)
    assert child.stdout is not None
    assert read_line(child.stdout) == "True\n"
    child.wait(30)


def test_a_server_killed_after_its_patience_is_waited_for() -> None:
    """stop_for_output of a server that ignores SIGTERM: its ``patience`` over, it is
    killed and waited for (its exit status read), not left for the garbage collector's
    "ResourceWarning: subprocess N is still running" at the end of a run. Before: killed,
    never waited for (``returncode`` None after the call)."""
    ignores = ("import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
               "print('ready', flush=True); time.sleep(600)")
    process = start_server([sys.executable, "-c", ignores], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    assert read_line(process.stdout, about="the child's ready") == b"ready\n"
    with pytest.raises(subprocess.TimeoutExpired):
        stop_for_output(process, patience=0.5)
    assert process.returncode == -signal.SIGKILL


def test_no_test_ends_a_server_without_waiting_for_it() -> None:
    """A ``terminate()`` followed at once by ``end_stragglers`` (its group SIGKILLed)
    leaves the Popen unwaited: "ResourceWarning: subprocess N is still running" when it
    is collected (test_blackbox13_findings' uvicorn servers, 21 such in one run of the
    file). :func:`stop_server` terminates, waits, kills and waits."""
    found = [f"{path.relative_to(REPO_ROOT)}"
             for path in sorted((REPO_ROOT / "tests").rglob("*.py"))
             if re.search(r"\.terminate\(\)\n\s*end_stragglers\(", path.read_text("utf-8"))]
    assert found == []


#: A test process's end, as an xdist worker's: a watcher started (a server registered),
#: then, after every exit handler of the process, whether the watcher still runs. The
#: check is registered before tests.support is imported, so it runs after reaper's own.
_EXITING = """\
import atexit, sys
def last():
    print([watcher.poll() is None for watcher in reaper._watchers], flush=True)
atexit.register(last)
sys.path.insert(0, sys.argv[1])
from tests.support import reaper
from tests.support.processes import start_server
start_server([sys.executable, "-c", "pass"]).wait(60)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the watcher is Linux's")
def test_the_watcher_is_waited_for_at_the_test_process_exit() -> None:
    """The end-of-run "ResourceWarning: subprocess N is still running" of every CI run
    (CI42 to CI48, one each, printed as the xdist workers went down): each test
    process's watcher (tests/support/reaper.py) read its pipe until the process was
    gone, so its ``Popen`` was collected at the exit while it still ran. Now the exit
    closes the pipe and waits for it. Before: ``[True]`` (still running)."""
    run = run_command([sys.executable, "-c", _EXITING, str(REPO_ROOT)],
                      capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "[False]\n", run.stderr


_LEAVES = """\
import sys
from tests.support.processes import start_server

KEPT = []


def test_keeps_a_child_running() -> None:
    KEPT.append(start_server([sys.executable, "-c", "import time; time.sleep(60)"]))


def test_drops_a_child_still_running() -> None:
    start_server([sys.executable, "-c", "import time; time.sleep(60)"])


def test_waits_for_its_child() -> None:
    start_server([sys.executable, "-c", "pass"]).wait(60)
"""


@pytest.mark.parametrize("test", ["keeps_a_child_running", "drops_a_child_still_running",
                                  "waits_for_its_child"])
def test_a_session_whose_test_leaves_a_child_unwaited_fails(tmp_path: Path,
                                                            test: str) -> None:
    """The suite's own guard (tests/conftest.py's ``_no_process_left_unwaited``): a
    pytest session with this suite's conftest, whose test keeps a child running to
    the end, or drops one still running (collected: the ResourceWarning), ends in an
    error naming that test; one that waits passes. Before: both passed silently."""
    (tmp_path / "test_leaves.py").write_text(_LEAVES)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    run = run_command([sys.executable, "-m", "pytest", "-p", "tests.conftest", "-n", "0",
                       "-p", "no:cacheprovider", "-q", "-W", "ignore::ResourceWarning",
                       f"test_leaves.py::test_{test}"],
                      cwd=str(tmp_path), env=env, capture_output=True, text=True)
    said = run.stdout + run.stderr
    if test == "waits_for_its_child":
        assert run.returncode == 0, said
        return
    assert run.returncode == 1, said
    assert "children left unwaited by the tests" in said, said
    assert f"made in test_leaves.py::test_{test}" in said, said


_TIE_PROGRAMS = all(shutil.which(name, path=os.defpath) for name in ("setpriv", "env", "sh"))


@pytest.mark.skipif(not sys.platform.startswith("linux") or not _TIE_PROGRAMS,
                    reason="start_server's tie under setpriv, env and sh (Linux)")
def test_the_tie_starts_no_interpreter_before_the_server() -> None:
    """Each start_server ran a Python of its own (``-I -S``, ctypes for the prctl) before
    it became the server: about 20 ms of CPU of the ~1,700 starts of a run (suite48).
    Where util-linux's setpriv, coreutils' env and sh are, they tie the server instead."""
    child = start_server(["true"])
    assert child.wait(30) == 0
    assert os.path.basename(str(child.args[0])) == "setpriv", child.args
    assert sys.executable not in child.args[:child.args.index("true")], child.args


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="start_server's tie")
def test_the_tie_ends_when_its_parent_is_no_longer_the_test_process(tmp_path: Path) -> None:
    """The tie's last check: a test process gone before its server started (the parent
    then init, or a subreaper) must not leave that server running untied. Here the tie is
    told another PID than its parent's: it says so and never runs the server."""
    mark = tmp_path / "ran"
    done = run_command([*_tie(), "1", sys.executable, "-c", f"open({str(mark)!r}, 'w')"],
                       capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done
    assert "the test run ended before its server started" in done.stderr
    assert not mark.exists()
