"""blackbox12: ``manage.py runserver`` under Django's autoreloader, stopped by Ctrl-C.

The terminal's Ctrl-C reaches the autoreloader (the parent) and runserver's child alike;
the parent's ``subprocess.run`` waits 0.25 s for the child, then SIGKILLs it. The child's
exit close waited for the Metrics API's answers up to ``shutdown_timeout`` and said what
it gave up on only at its end: killed first, nothing was said (the sweep,
``benchmarks/blackbox12_sweep.py runserver-reload-ctrlc-slow1``: API answering in 1 s,
3,117 calls served, 2,943 delivered, 174 said by no line). Now, in that child, the close
ends before the kill and says what it holds as it begins. At a reload (a file changed:
the parent waits for the old child) the close keeps its whole ``shutdown_timeout``.

Real parts: runserver with its autoreloader in a subprocess on a free 127.0.0.1 port, the
collector on 127.0.0.1 holding every answer. The child alone gets the SIGINT here, the
parent none, so that the close's bound shows in its line whatever the machine's load
(the parent's 0.25 s kill would race a loaded machine's child).
"""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Iterator, Optional

import pytest

from tests.support.delivery import gave_up_total
from tests.support.fake_api import Collector
from tests.support.runserver import children, held_collector, held_env, runserver, serving

pytestmark = pytest.mark.e2e

SETTINGS = "from tests.support.e2e_apps import *  # noqa\n"  # (delivery40/41 import it)


@pytest.fixture(name="never")
def never_fixture() -> Iterator[threading.Event]:
    """Set at the end, or when a test lets the held answers go."""
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture(name="held")
def held_fixture(never: threading.Event) -> Iterator[Collector]:
    """A collector that reads every POST and answers none until ``never`` is set."""
    with held_collector(never) as collector:
        yield collector


def _runserver(held: Collector, tmp_path: Path, calls: int, stop: str, late: int = 0,
               answer: Optional[threading.Event] = None) -> str:
    """runserver with its autoreloader, ``calls`` calls logged and held by the API, then
    ``stop``: "ctrl-c" (SIGINT to the child) or "reload" (its settings file touched,
    ``late`` calls made as the old child exits, then the held answers let go by setting
    ``answer``); what it printed once the old child's close ended."""
    (tmp_path / "bb12_settings.py").write_text(SETTINGS)
    env = held_env(held, tmp_path, "30" if answer is not None else "4",
                   DJANGO_SETTINGS_MODULE="bb12_settings",
                   README_GROUPING_FUNCTION="tests.support.e2e_apps.django_grouping")
    with serving(runserver(), env, tmp_path, "runserver.log") as server:
        child = children(server.process.pid)
        assert len(child) == 1, child
        server.call([f"n{n}" for n in range(calls)])
        if stop == "reload":
            later = time.time() + 10
            os.utime(tmp_path / "bb12_settings.py", (later, later))
            # The exit began once its logs are posted (post_waiting, before the close):
            # runserver serves on while the close waits for the held answers.
            held.wait_for_logs(calls, timeout=60)
            server.call([f"late{n}" for n in range(late)])
            assert answer is not None
            answer.set()  # (the close ends once its POSTs are answered)
            return server.wait_said("after the close began")
        os.kill(child[0], signal.SIGINT)
        return server.wait_said("closing gave up")

def test_runservers_autoreloaded_child_closes_before_its_kill_and_says_so(
        held: Collector, tmp_path: Path) -> None:
    """5 logs held (only the exit sends them), the API holding every answer,
    ``shutdown_timeout`` 4 s: at Ctrl-C the child says the 5 logs not delivered yet and
    the autoreloader's kill 0.25 s after Ctrl-C, or its close says so as it begins
    (0.15 s), not both since newcomer46 (the same logs and kill, said twice), and the
    close ends within its time saying them not delivered.
    Before: the close took its 4 s, killed after 0.25 s under a terminal's Ctrl-C, no
    line."""
    said = _runserver(held, tmp_path, 5, "ctrl-c")
    # One of the two, never both: the Ctrl-C's line where the autoreloader's main thread
    # had put its handler in place (at its next look at the files after the first
    # request), else the close's own as it begins.
    ahead = re.search(r"5 logs not delivered yet; Ctrl-C: the SIGKILL of Django's "
                      r"autoreloader, 0\.25s after Ctrl-C ends this process \(runserver's "
                      r"child\) then, and they are lost with it unless the close sends "
                      r"them first \(run runserver with --noreload", said)
    begun = re.search(r"closing: 5 logs to send within 0\.15s, not shutdown_timeout "
                      r"\(README_SHUTDOWN_TIMEOUT\) of 4s: the SIGKILL of Django's "
                      r"autoreloader, 0\.25s after Ctrl-C ends this process \(runserver's "
                      r"child\) then \(run runserver with --noreload", said)
    assert bool(ahead) != bool(begun), said
    assert re.search(r"closing gave up after 0\.\ds, the SIGKILL of Django's autoreloader"
                     r", 0\.25s after Ctrl-C being near: 0 logs not delivered, 5 unknown "
                     r"\(in POSTs sent in full, cut unanswered: the Metrics API may have "
                     r"them\)", said), said  # (delivery80: "5 logs not delivered (5 of them")
    assert len(held.logs) == 5


# At a reload, the calls runserver serves on during the close: delivered since
# delivery41 (tests/test_delivery41_findings.py), no longer refused and said.


def test_outside_runservers_child_no_autoreloader_limit() -> None:
    """No runserver child here (RUN_MAIN unset): no limit, nothing connected."""
    from readme_metrics.delivery import reloader_stop

    assert not reloader_stop.in_autoreloader_child()
    assert reloader_stop.limit() is None
    reloader_stop.watch_reload()  # (nothing, no raise)


def test_in_runservers_child_the_close_ends_before_the_kill_unless_a_reload(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """runserver's child as Django's autoreloader runs it (RUN_MAIN=true, ``runserver``
    in its arguments, Django's autoreload module loaded, runserver serving in the
    autoreloader's ``django-main-thread``): a close of 8 s is bounded at 0.15 s (the
    kill 0.25 s after Ctrl-C, less what went before the close and a margin);
    once Django reloads (``trigger_reload``: no ``file_changed`` receiver answered), 8 s
    again."""
    import django.utils.autoreload as autoreload

    from readme_metrics.delivery import gunicorn_stop, reloader_stop

    monkeypatch.setenv("RUN_MAIN", "true")
    monkeypatch.setattr(sys, "argv", ["manage.py", "runserver", "8000"])
    monkeypatch.setattr(reloader_stop, "_reloading", False)
    monkeypatch.setattr(autoreload, "trigger_reload", autoreload.trigger_reload)
    monkeypatch.setattr(autoreload, "iter_all_python_module_files",  # (delivery40's)
                        autoreload.iter_all_python_module_files)
    assert gunicorn_stop.close_bound(8.0) == (8.0, None)  # no reloader's thread: none runs
    serving = threading.Event()  # runserver serving in the thread the autoreloader starts
    server = threading.Thread(target=serving.wait, name="django-main-thread", daemon=True)
    server.start()
    try:
        bound, limit = gunicorn_stop.close_bound(8.0)
    finally:
        serving.set()
        server.join()
    assert limit is not None and round(bound, 2) == 0.15
    assert limit.said() == "the SIGKILL of Django's autoreloader, 0.25s after Ctrl-C"
    assert "--noreload" in limit.advice()
    reloader_stop.watch_reload()
    with pytest.raises(SystemExit):
        autoreload.StatReloader().notify_file_changed(Path("settings.py"))
    assert gunicorn_stop.close_bound(8.0) == (8.0, None)


def test_a_gunicorn_worker_replaced_by_reload_keeps_shutdown_timeout(
        held: Collector, tmp_path: Path) -> None:
    """``gunicorn --reload``, a file changed: the worker leaves by itself (its reloader
    thread ended), no stop of the master's, which would abort it only at its heartbeat
    ``--timeout`` (30 s). 3 logs held, the API holding every answer, ``shutdown_timeout``
    6 s, ``--graceful-timeout`` 5 s: the close has its 6 s and says no graceful timeout.
    Before: "closing: 3 logs to send within 4s, not shutdown_timeout ... gunicorn's
    --graceful-timeout of 5s has its master SIGKILL this worker after that", given up
    at 4 s."""
    from tests.test_e2e_servers import GUNICORN

    (tmp_path / "bb12_wsgi.py").write_text(
        "from tests.support.e2e_apps import plain_app as app  # noqa\n")
    env = held_env(held, tmp_path, "6")
    args = [*GUNICORN, "--reload", "--bind=127.0.0.1:{port}", "bb12_wsgi:app"]
    with serving(args, env, tmp_path, "gunicorn.log") as server:
        server.call([f"n{n}" for n in range(3)])
        later = time.time() + 10
        os.utime(tmp_path / "bb12_wsgi.py", (later, later))
        said = server.wait_said("closing gave up")
    assert "Worker reloading" in said, said
    assert "graceful-timeout" not in said, said
    assert gave_up_total(r"closing gave up after shutdown_timeout \(README_SHUTDOWN_TIMEOUT\) "
                         r"of 6s: ", said) == 3, said
