"""An interrupt during the exit's close ends it said, not unsaid (delivery42).

NOTE43: under Django's runserver a Ctrl-C's ``KeyboardInterrupt`` raised in the exit's
close (``finish_exit`` waiting for the senders' POSTs) ended it there: the logs it still
held (waiting, in POSTs unanswered) were lost and no line said so. The same for a second
Ctrl-C (or a process manager's SIGTERM then SIGINT) while the close of the first runs,
under every server whose close runs in Python's exit (werkzeug, ``flask run``, waitress,
runserver), and for gunicorn's worker, whose handler of a SIGINT or SIGQUIT
(``sys.exit(0)``) raised ``SystemExit`` into its close. Now the close ends at once, says
what it gave up on in one line, counts it in ``dropped_shutdown``, and the interrupt
goes on: the process exits as promptly as before.

Real parts: a collector on 127.0.0.1 that reads every POST and holds its answer (the
close mid-way, no timing), real signals, werkzeug's ``run_simple`` and gunicorn in
subprocesses; in-process, a real SIGINT sent to the main thread (which is in
``close()``) as the collector reads the POST.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.support.delivery import (  # noqa: F401 (fixtures)
    MakeDelivery,
    adds_up,
    item,
    make_delivery_fixture,
    said_counts,
)
from tests.support.fake_api import Collector, Received, Reply
from tests.support.polling import wait_until
from tests.support.processes import LINE_WAIT
from tests.support.runserver import Served, held_collector, held_env, serving

#: A close whose bound no test reaches: one that ends did so at the interrupt.
LONG = "120"


def _interrupt_main_thread_as_read(gate: threading.Event, signum: int) -> Any:
    """A judge: each POST read, its answer held until ``gate``; the first one read sends
    ``signum`` to this process's main thread (in ``close()``: the close mid-way)."""
    sent = []

    def judge(received: Received) -> Reply:
        if not sent:
            sent.append(True)
            signal.pthread_kill(threading.main_thread().ident or 0, signum)
        return Reply(gate=gate)
    return judge


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signals reach the main thread only")
@pytest.mark.parametrize("background", [True, False])
def test_close_interrupted_by_ctrl_c_says_and_counts_what_it_held_then_raises(
        make_delivery: MakeDelivery, collector: Collector, caplog: Any,
        background: bool) -> None:
    """A KeyboardInterrupt in ``close()`` while its POST of 600 logs is unanswered: it
    goes on (raised by ``close()``), every log is counted ``dropped_shutdown`` (stats
    add up), one warning names the interrupt and says 600 logs not delivered. Inline
    (the close's own thread in the POST) too. Before: the interrupt went on with
    nothing said and the logs still ``queued``."""
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT is not Python's KeyboardInterrupt here")
    gate = threading.Event()
    collector.judge = _interrupt_main_thread_as_read(gate, signal.SIGINT)
    delivery = make_delivery(collector.url, buffer_length=1000, shutdown_timeout=60.0,
                             background_worker_mode=background, timeout=60.0)
    for n in range(600):
        assert delivery.submit(item(f"log-{n}"))
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    try:
        with pytest.raises(KeyboardInterrupt):
            delivery.close()
    finally:
        gate.set()
    stats = delivery.stats
    assert stats["dropped_shutdown"] + stats["dropped_unknown"] == 600, stats
    assert stats["queued"] == 0, stats
    assert stats["sent"] == 0 and adds_up(stats), stats
    said = [r.getMessage() for r in caplog.records if "closing gave up" in r.getMessage()]
    assert len(said) == 1, said
    assert "closing gave up at a KeyboardInterrupt" in said[0], said
    # The logs in POSTs sent in full, unanswered, are said unknown (the Metrics API may
    # have them), the others not delivered: exactly those the API read (delivery79: 600
    # "may have them" said where it read one POST of 500 or 100, the other never sent).
    lost, unknown = said_counts(said[0])
    assert lost + unknown == 600 and unknown, said
    # (delivery80: all 600 counted dropped_shutdown before)
    assert (stats["dropped_shutdown"], stats["dropped_unknown"]) == (lost, unknown), stats
    assert len(collector.wait_for_logs(unknown)) == unknown, said
    assert "the Metrics API may have them" in said[0], said
    delivery.close()  # (ended: a second close says and changes nothing)
    assert delivery.stats == stats


_PLAIN = """\
import sys
from readme_metrics.delivery import process
from werkzeug.serving import run_simple
from tests.support.e2e_apps import plain_app

# At the exit's close, before it sends: the test's sign that the close began.
process.before_exit(lambda: print("exit close begins", flush=True))
run_simple("127.0.0.1", int(sys.argv[1]), plain_app, threaded=True)
"""


def _stopped_twice(served: Served, held: Collector, calls: int, first: int,
                   second: int, target: int) -> str:
    """``calls`` logged calls, ``first`` to the server, the close seen mid-way (it
    began, and the API read every log: their answers held), ``second`` to ``target``;
    the server's output once it exited (it must, within LINE_WAIT: the interrupt is
    not waited out, the close's bound being LONG)."""
    served.call([f"n{n}" for n in range(calls)])
    served.process.send_signal(first)
    held.wait_for_logs(calls, timeout=LINE_WAIT)
    served.wait_said("exit close begins")
    os.kill(target, second)
    served.process.wait(LINE_WAIT)
    return served.said()


@pytest.mark.e2e
@pytest.mark.parametrize("mode", ["background", "inline"])
def test_werkzeug_a_second_ctrl_c_during_the_exit_close_says_what_it_held(
        tmp_path: Path, mode: str) -> None:
    """``python app.py`` (werkzeug's ``run_simple``), 40 calls, Ctrl-C, the exit's close
    mid-way (its POSTs read, unanswered), Ctrl-C again: the process exits at once and
    says "40 unknown" (read, unanswered), naming the KeyboardInterrupt. Before: the traceback
    of the KeyboardInterrupt in ``finish_exit`` alone (background: in the pool's join;
    inline: in its own POST), the 40 logs unsaid."""
    (tmp_path / "app42.py").write_text(_PLAIN)
    gate = threading.Event()
    with held_collector(gate) as held:
        env = held_env(held, tmp_path, LONG, README_TIMEOUT=LONG,
                       README_BACKGROUND_WORKER_MODE=str(mode == "background").lower())
        with serving(["app42.py", "{port}"], env, tmp_path, "server.log") as served:
            said = _stopped_twice(served, held, 40, signal.SIGINT, signal.SIGINT,
                                  served.process.pid)
        assert not gate.is_set()  # (no answer came: the close ended at the interrupt)
    assert "closing gave up at a KeyboardInterrupt" in said, said
    assert "0 logs not delivered, 40 unknown" in said, said  # (read, unanswered)


_GUNICORN_APP = """\
from readme_metrics.delivery import process
from tests.support.e2e_apps import plain_app as app

process.before_exit(lambda: print("exit close begins", flush=True))
"""


@pytest.mark.e2e
@pytest.mark.skipif(sys.platform == "win32", reason="gunicorn")
@pytest.mark.parametrize("second", ["SIGINT", "SIGQUIT"])
def test_gunicorn_worker_signalled_again_during_its_close_says_what_it_held(
        tmp_path: Path, second: str) -> None:
    """gunicorn (sync worker), 40 calls, SIGTERM to the master: the worker's close at
    exit mid-way (its POST read, unanswered), then SIGINT or SIGQUIT to the worker
    (a Ctrl-C, a quick stop): its handler's ``sys.exit(0)`` ends the close, which says
    "40 unknown" (read, unanswered), naming the SystemExit. Before: the worker's close ended
    there with nothing said."""
    (tmp_path / "app42.py").write_text(_GUNICORN_APP)
    gate = threading.Event()
    with held_collector(gate) as held:
        env = held_env(held, tmp_path, LONG, README_TIMEOUT=LONG)
        args = ["-m", "gunicorn", "--workers=1", "--graceful-timeout=120",
                "--no-control-socket", "--bind=127.0.0.1:{port}", "app42:app"]
        with serving(args, env, tmp_path, "server.log") as served:
            workers: list[int] = []

            def one_worker() -> bool:
                workers[:] = [int(pid) for pid in Path(
                    f"/proc/{served.process.pid}/task/{served.process.pid}/children"
                ).read_text().split()]
                return len(workers) == 1
            wait_until(one_worker, timeout=LINE_WAIT)
            said = _stopped_twice(served, held, 40, signal.SIGTERM,
                                  getattr(signal, second), workers[0])
        assert not gate.is_set()
    assert "closing gave up at a SystemExit" in said, said
    assert "0 logs not delivered, 40 unknown" in said, said  # (read, unanswered)


def test_the_interrupt_said_names_it() -> None:
    """The line's words for each interrupt (a Ctrl-C, a handler's exit, another)."""
    from readme_metrics.delivery.closing_interrupt import interruption

    assert "Ctrl-C" in interruption(KeyboardInterrupt())
    assert "gunicorn" in interruption(SystemExit(0))
    assert interruption(GeneratorExit()) == "a GeneratorExit"




@pytest.mark.e2e
def test_uvicorn_a_second_ctrl_c_during_the_lifespan_flush_ends_it_at_once_said(
        tmp_path: Path) -> None:
    """uvicorn (FastAPI), 40 calls, Ctrl-C: the lifespan's flush waits for the API's
    answers (held); Ctrl-C again (uvicorn's ``force_exit``, which does not cut a lifespan
    shutdown under way): the flush ends at once, "40 unknown" (read, unanswered) said naming the
    KeyboardInterrupt, and uvicorn exits. Before: the flush waited its whole
    ``shutdown_timeout`` (here 120 s, past LINE_WAIT: 20.6 s of 20 s measured)."""
    gate = threading.Event()
    with held_collector(gate) as held:
        env = held_env(held, tmp_path, LONG, README_TIMEOUT=LONG)
        args = ["-m", "uvicorn", "--host=127.0.0.1", "--port={port}", "--no-access-log",
                "tests.support.asgi_apps:fastapi_app"]
        with serving(args, env, tmp_path, "server.log") as served:
            served.call([f"n{n}" for n in range(40)])
            served.process.send_signal(signal.SIGINT)
            held.wait_for_logs(40, timeout=LINE_WAIT)  # (the lifespan's flush's POST)
            served.process.send_signal(signal.SIGINT)
            served.process.wait(LINE_WAIT)
            said = served.said()
        assert not gate.is_set()
    assert "closing gave up at a KeyboardInterrupt" in said, said
    assert "0 logs not delivered, 40 unknown" in said, said  # (read, unanswered)
    assert "flush at the ASGI lifespan's shutdown gave up" not in said, said
