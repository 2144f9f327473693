"""Server processes the tests start: whatever they leave behind is ended too, and no
wait on one of them is unbounded (CI has 90 minutes for a suite of about 10: a hang must
fail its test, not eat the rest; pyproject.toml's pytest-timeout is the last guard)."""

from __future__ import annotations

import ctypes
import functools
import os
import shutil
import signal
import subprocess
import sys
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as NoResult
from importlib.metadata import PackageNotFoundError, version
from queue import SimpleQueue
from typing import IO, Any, Callable, Optional, TypeVar

from tests.support import reaper

_T = TypeVar("_T")

#: How long :func:`read_line` waits for a child's line by default: a server prints its
#: first line within seconds; a busy CI machine gets a minute.
LINE_WAIT = 60.0
#: How long :func:`run_command` lets a command take when its caller names no timeout.
RUN_WAIT = 120.0

#: Run in place of the server, then replaced by it (``os.execvp``): asks Linux for
#: SIGTERM when its parent ends (prctl(2) PR_SET_PDEATHSIG = 1), or ends at once if that
#: parent is already gone. A program of its own, not a ``preexec_fn``: Python code run
#: between fork and exec in a process with threads (the tests' collectors and senders)
#: may deadlock the child before exec, and Popen waits for that exec with no timeout.
#: It also gives the server SIGINT as a terminal gives it (the default action, which a
#: Python server turns into KeyboardInterrupt): a test run started as a shell's
#: background job (``pytest &``, ``nohup``) has SIGINT ignored, which exec keeps, and
#: the tests' Ctrl-C then stopped no waitress or wsgiref server ("SIGINT did not stop
#: it (SIGINT here: <Handlers.SIG_IGN: 1>)", 5 of 6,340 in such a run).
_TIE = """\
import ctypes, os, signal, sys
ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)
signal.signal(signal.SIGINT, signal.SIG_DFL)
if os.getppid() != int(sys.argv[1]):
    sys.exit("tests.support.processes: the test run ended before its server started")
os.execvp(sys.argv[2], sys.argv[2:])
"""

#: The same tie without a Python start: util-linux's ``setpriv --pdeathsig`` asks for
#: SIGTERM at the parent's end (the same prctl), coreutils' ``env --default-signal``
#: gives SIGINT its default action, and ``sh`` checks that the parent is still the test
#: process (``$PPID`` is read as it starts, after the prctl) before it becomes the
#: server. About 3 ms of CPU a start where ``_TIE``'s interpreter and its ctypes took
#: about 20 (suite48: some 1,700 starts a run). ``_TIE`` where these are missing.
_SH_TIE = ('[ "$PPID" = "$0" ] || { echo "tests.support.processes: the test run ended'
           ' before its server started" >&2; exit 1; }; exec "$@"')


def start_server(argv: Any, **options: Any) -> subprocess.Popen[Any]:
    """``subprocess.Popen(argv, **options)`` for a server (or any process a test starts
    and ends): in a session (and process group) of its own, so that
    :func:`end_stragglers` can find what it leaves behind, and tied to this process, so
    that it does not outlive the test run however that ends. Stopping pytest with SIGTERM
    (``timeout 90 python -m pytest``), a crashed xdist worker, a SIGKILL: no finally of
    the test runs, and a daphne or gunicorn it had started kept serving, and spinning,
    as an orphan (newcomer10). On Linux the child gets SIGTERM when this process ends
    (prctl PR_SET_PDEATHSIG, asked for by small programs that then become the server:
    :func:`_tie`), as its users would stop it, so a server with workers ends them. What it
    leaves (a grandchild, a server that took SIGTERM for "reload") is ended by this
    process's watcher (:mod:`tests.support.reaper`): SIGTERM, then SIGKILL.

    Linux ties the child to the *thread* that starts it: a server started from a thread
    that ends first would be ended mid-test. So a server asked for from another thread
    than the main one (test_slow_client starts the bare and the wrapped server at once,
    from an executor's threads) is started by :func:`_on_lasting_thread`'s thread, which
    lives as long as this process: tied too (before, it was not, and outlived a run
    ended by a signal)."""
    if not sys.platform.startswith("linux"):
        return subprocess.Popen(argv, start_new_session=True, **options)
    if isinstance(argv, (str, bytes, os.PathLike)):
        argv = [argv]
    argv = [*_tie(), str(os.getpid()), *map(os.fspath, argv)]
    options["env"] = _no_control_socket(reaper.marked_env(options.get("env")))
    if threading.current_thread() is threading.main_thread():
        process = subprocess.Popen(argv, start_new_session=True, **options)
    else:
        process = _on_lasting_thread(lambda: subprocess.Popen(argv, start_new_session=True,
                                                               **options))
    reaper.register(process.pid)
    return process


@functools.cache
def _tie() -> tuple[str, ...]:
    """The tie's command, given the test process's PID and the server's argv after it:
    ``_SH_TIE`` under setpriv and env where both are here and take the options (tried
    once), else ``_TIE`` under this interpreter. Absolute paths: a test's ``env`` may
    have no PATH, and Popen looks the program up in it."""
    programs = [shutil.which(name, path=os.defpath) for name in ("setpriv", "env", "sh")]
    if all(programs):
        setpriv, env, sh = map(str, programs)
        tie = (setpriv, "--pdeathsig", "TERM", "--", env, "--default-signal=INT", sh,
               "-c", _SH_TIE)
        try:
            tried = subprocess.run([*tie, str(os.getpid()), "true"], capture_output=True,
                                   timeout=LINE_WAIT, check=False)
        except (OSError, subprocess.TimeoutExpired):
            tried = None
        if tried is not None and tried.returncode == 0 and not tried.stderr:
            return tie
    return (sys.executable, "-I", "-S", "-c", _TIE)


# The thread that starts the servers asked for from threads other than the main one: a
# daemon that never ends while this process lives (Linux's PR_SET_PDEATHSIG fires when
# the thread that forked the child ends). Started at the first such request.
_starts: SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = SimpleQueue()
_starter: list[threading.Thread] = []
_starter_lock = threading.Lock()


def _no_control_socket(env: Optional[dict[Any, Any]]) -> Optional[dict[Any, Any]]:
    """``env`` (None: off Linux, unchanged) with ``--no-control-socket`` in
    ``GUNICORN_CMD_ARGS``, which every gunicorn reads (after its config file, before its
    command line), where this gunicorn knows the flag. gunicorn >= 27 opens a control
    socket at one path in $HOME (``~/.gunicorn/gunicorn.ctl``), and each gunicorn a test
    ran took it from the one before: a -n 4 run of ten gunicorn modules bound it 31
    times, two servers at once three times (suite44), the newer unlinking the older's
    file, and the older's stop, or its restart of the socket after each worker's fork,
    unlinking the newer's. No test speaks to it; four modules turned it off each."""
    if env is None or not _gunicorn_knows_no_control_socket():
        return env
    given = env.get("GUNICORN_CMD_ARGS", "")
    if "control-socket" not in given:
        env["GUNICORN_CMD_ARGS"] = f"{given} --no-control-socket".strip()
    return env


@functools.cache
def _gunicorn_knows_no_control_socket() -> bool:
    """Whether the gunicorn installed here has ``--no-control-socket`` (27 and later; an
    older one exits at a flag it does not know, in GUNICORN_CMD_ARGS too). Read from its
    metadata: importing gunicorn here would change what the in-process tests of
    readme_metrics' gunicorn hooks see in sys.modules."""
    try:
        major = version("gunicorn").split(".")[0]
    except PackageNotFoundError:
        return False
    return major.isdigit() and int(major) >= 27


def _on_lasting_thread(start: Callable[[], _T]) -> _T:
    """``start()`` run on the lasting starter thread; its result or its exception."""
    with _starter_lock:
        if not _starter or not _starter[0].is_alive():
            thread = threading.Thread(target=_start_forever, name="tests-server-starter",
                                      daemon=True)
            thread.start()
            _starter[:] = [thread]
    done: Future[_T] = Future()
    _starts.put((start, done))
    return done.result(timeout=LINE_WAIT)


def _start_forever() -> None:
    while True:
        start, done = _starts.get()
        try:
            done.set_result(start())
        except BaseException as error:  # noqa: BLE001 - handed to the caller
            done.set_exception(error)


def run_command(argv: Any, timeout: Optional[float] = RUN_WAIT, input: Any = None,
        check: bool = False, capture_output: bool = False,
        **options: Any) -> subprocess.CompletedProcess[Any]:
    """``subprocess.run`` for the tests: the command is tied to this process as
    :func:`start_server`'s are (a run ended by a signal left it running), always within
    ``timeout`` (RUN_WAIT by default: subprocess.run's default is no bound at all).
    When it is over, the command and what it left in its group are killed and
    ``subprocess.TimeoutExpired`` is raised, as subprocess.run does."""
    if capture_output:
        options["stdout"] = options["stderr"] = subprocess.PIPE
    if input is not None:
        options["stdin"] = subprocess.PIPE
    process = start_server(argv, **options)
    try:
        out, err = process.communicate(input, timeout=timeout)
    except BaseException:
        process.kill()
        end_stragglers(process)  # a grandchild holding the pipes open
        process.communicate(timeout=LINE_WAIT)
        raise
    code = process.poll()
    assert code is not None
    if check and code:
        raise subprocess.CalledProcessError(code, argv, out, err)
    return subprocess.CompletedProcess(argv, code, out, err)


def read_line(stream: IO[_T], timeout: float = LINE_WAIT, about: str = "") -> _T:
    """``stream.readline()`` (a child's stdout), waiting at most ``timeout`` seconds:
    an AssertionError naming ``about`` when no line came by then (a child stuck before
    it prints would otherwise hold the test, and the run, for ever). The read goes on in
    a daemon thread, which the caller's end of the child (its pipe closed) ends."""
    line: Future[_T] = Future()

    def read() -> None:
        try:
            line.set_result(stream.readline())
        except BaseException as error:  # noqa: BLE001 - handed to the caller
            line.set_exception(error)

    threading.Thread(target=read, name="tests-read-line", daemon=True).start()
    try:
        return line.result(timeout=timeout)
    except NoResult:  # concurrent.futures' own before 3.11
        raise AssertionError(f"no line within {timeout} s from {about or 'the child'}"
                             ) from None


def tie_to_parent() -> None:
    """In a child forked by the tests (multiprocessing's fork context): SIGKILL when the
    thread that forked it ends, as :func:`start_server`'s children get SIGTERM; ends at
    once if that parent is gone already. Linux only; elsewhere nothing."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent or parent == 1:
        os._exit(1)


def stop_server(process: subprocess.Popen[bytes], patience: float = 15.0) -> None:
    """End a server as its users would (SIGTERM by its PID), killed if it is still there
    after ``patience`` seconds; then whatever is left of its group (:func:`end_stragglers`)."""
    process.terminate()
    try:
        process.wait(patience)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(LINE_WAIT)
    end_stragglers(process)


def stop_for_output(process: subprocess.Popen[bytes], patience: float = 30.0,
                    stop: int = signal.SIGTERM) -> tuple[str, str]:
    """A server started with its stdout and stderr piped, stopped by SIGTERM (or
    ``stop``) to its PID (as a deployment does) and given ``patience`` seconds to end
    (then killed, with what is left of its group): what it printed, (stdout, stderr). It
    must have exited 0."""
    process.send_signal(stop)
    try:
        out, err = process.communicate(timeout=patience)
    finally:
        process.kill()
        end_stragglers(process)
        if process.returncode is None:  # (its communicate timed out: not left unwaited,
            process.wait(LINE_WAIT)  # "ResourceWarning: subprocess N is still running")
    assert process.returncode == 0, err.decode(errors="replace")
    return out.decode(errors="replace"), err.decode(errors="replace")


def end_stragglers(process: subprocess.Popen[bytes]) -> None:
    """Kill what is left of ``process``'s group (a worker orphaned when a master was
    killed). The server itself is ended by its PID first, as its users would."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def kill_server(process: subprocess.Popen[Any]) -> None:
    """A test's ``finally`` for a server it started: killed by its PID, what is left of its
    group (:func:`end_stragglers`), then waited for."""
    process.kill()
    end_stragglers(process)
    process.wait(10)
