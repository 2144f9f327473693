"""delivery50: a signal handler's raise in the Django middleware under ``manage.py
runserver --nothreading`` (delivery46's sweep, tests/test_delivery46_findings.py, on
the Django middleware; readme_metrics/django_interrupted.py).

With ``--nothreading --noreload`` runserver serves in the process's main thread, where
a handler set with ``signal.signal`` that raises (a SIGTERM handler's ``sys.exit(0)``,
Ctrl-C's KeyboardInterrupt) raises wherever that thread is: in the middleware too, which
captures and queues the log within the app's call (before the server writes the answer),
and, in inline mode, in the response's close. runserver takes the raise for the app's
error, answers its own 500 and serves on. A real runserver, a real Django site
(tests/support/landing_django.py), a real collector; one server swept from N = 0 to the
end of the library's part, a request per N, the raise at the Nth landing point.

Under the autoreloader (no ``--noreload``) the app runs in a thread of its own and the
main thread runs the reloader's loop, where the library notes Django's SIGTERM handler
(delivery/reloader_stop.py): a raise landing there is swept too.
"""

from __future__ import annotations

import ast
import collections
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.app_log import wait_for_port
from tests.support.command import app_environment
from tests.support.fake_api import INLINE_TIMEOUT, Collector, Reply
from tests.support.landing_django import write_site
from tests.support.ports import free_port
from tests.support.processes import start_server
from tests.test_delivery46_findings import flush

pytestmark = pytest.mark.e2e

#: Where a raise lands before the middleware took the request: Django's
#: request_started receiver of the library's (the first request's look for a missing
#: MIDDLEWARE line), and the middleware's very entry (its first instruction, before any
#: of its code). As a raise landing in Django's own code there: the server's 500, no log.
BEFORE = ("unwrapped.py:", "django.py:__call__:call")
#: Where a raise cuts the grouping function's answer short: no caller to log it under,
#: counted dropped and said (as the WSGI middleware's, delivery/interrupted.py).
GROUPING = ("grouping.py:", "django_grouping.py:grouped:call")


def _serve(tmp_path: Path, collector: Collector, *options: str, **extra: str
           ) -> tuple[subprocess.Popen[bytes], int, Path]:
    from tests.test_readme import _start_app

    write_site(tmp_path)
    port = free_port()
    env = app_environment(collector.url, tmp_path,
                          DJANGO_SETTINGS_MODULE="landing_settings", **extra)
    log = tmp_path / "runserver-output.txt"
    argv = [sys.executable, "-m", "django", "runserver", "--nothreading", *options,
            f"127.0.0.1:{port}", "--skip-checks"]
    return _start_app(argv, tmp_path, env, port, log), port, log


def _sweep(port: int, targets: Any) -> list[tuple[int, str, int]]:
    """A request per landing point N in ``targets`` (``/pets?N&N``), until one where no
    raise landed (past the library's part): (N, where it landed, the answer's status)."""
    swept = []
    for target in targets:
        answer = requests.get(f"http://127.0.0.1:{port}/pets?{target}&{target}", timeout=30)
        raised, _ = ast.literal_eval(
            requests.get(f"http://127.0.0.1:{port}/report", timeout=30).text)
        if raised is None:
            assert answer.status_code == 200 and answer.content == b'{"pets": []}'
            break
        swept.append((target, raised, answer.status_code))
    return swept


def _logged(collector: Collector, count: int) -> dict[str, list[int]]:
    """The statuses logged, by request (its N)."""
    statuses: dict[str, list[int]] = collections.defaultdict(list)
    for log in collector.wait_for_logs(count, timeout=30):
        for entry in log["request"]["log"]["entries"]:
            statuses[entry["request"]["url"].rsplit("&", 1)[1]].append(
                entry["response"]["status"])
    return statuses


def _outcomes(swept: list[tuple[int, str, int]], logged: dict[str, list[int]]
              ) -> dict[str, list[tuple[int, str]]]:
    """Each landing point's outcome: 'before' the middleware (no log, as bare), 'said'
    (in the grouping function: dropped and said), 'once' (its log, once), 'lost',
    'twice'."""
    found: dict[str, list[tuple[int, str]]] = collections.defaultdict(list)
    for target, place, _ in swept:
        count = len(logged.get(str(target), []))
        if place.startswith(BEFORE):
            kind = "before" if count == 0 else "logged before"
        elif place.startswith(GROUPING):
            kind = "said" if count == 0 else "once" if count == 1 else "twice"
        else:
            kind = "once" if count == 1 else "lost" if count == 0 else "twice"
        found[kind].append((target, place))
    return found


def test_a_sigterm_handlers_raise_at_every_landing_point_of_the_middleware(
        tmp_path: Path, collector: Collector) -> None:
    """runserver --nothreading --noreload, background mode: every landing point from
    the server's call of Django's handler to the end of the request (the middleware
    queues the log before the answer goes out). Before: 182 of 193 lost without a word,
    the client's 500 logged nowhere."""
    proc, port, log = _serve(tmp_path, collector, "--noreload")
    try:
        swept = _sweep(port, range(400))
        flushed, stats = flush(port)
    finally:
        proc.kill()
        proc.wait(30)
    output = log.read_text()
    assert 100 < len(swept) < 399, swept
    assert {status for _, _, status in swept} == {500}  # runserver's own, as bare
    found = _outcomes(swept, _logged(collector, stats["sent"]))
    assert not found["lost"] and not found["twice"] and not found["logged before"], (
        f"{len(found['lost'])} of {len(swept)} lost", found["lost"][:5], found["twice"])
    # The middleware's whole part was swept: its start, the view's call, the grouping
    # function, the log's build and its queueing.
    places = " ".join(place for _, place, _ in swept)
    for module in ("django.py:_start", "django_exchange.py:__init__",
                   "django_grouping.py:identify", "django.py:_complete",
                   "django_exchange.py:finish", "delivery/batcher_put.py:put"):
        assert module in places, module
    # Said: each log the grouping function's cut answer left without a caller
    assert len(found["said"]) <= 5, found["said"]
    assert stats["dropped_shutdown"] == len(found["said"]), stats
    assert output.count("1 log not sent (its caller unknown)") == len(found["said"])
    assert stats["queued"] == 0 and stats["sent"] + stats["dropped"] == stats["captured"]
    assert len(found["before"]) <= 12, found["before"]
    # The log says the client's answer, the server's 500, for every raise that came
    # before the log was queued (after it, the log keeps the app's 200).
    logged = _logged(collector, stats["sent"])
    queued_at = min(target for target, place, _ in swept
                    if place.startswith("delivery/core.py:submit") or "batcher" in place)
    early = [(target, logged[str(target)]) for target, place, _ in swept
             if target < queued_at and str(target) in logged]
    assert early and all(statuses == [500] for _, statuses in early), early
    assert output.count("SystemExit") >= len(swept)  # (runserver printed each raise)


def test_a_raise_in_the_responses_close_under_inline_mode_keeps_the_log(
        tmp_path: Path, collector: Collector) -> None:
    """Inline mode finishes the log in the response's close, once runserver wrote the
    answer, then sends it (a POST per request). Swept whole up to the close's hand-off
    and into the send (N < 110), then one point in 40 (the send's own points are
    delivery49's sweep's, tests/test_delivery49_findings.py). Before: the middleware's
    points as above, and 6 in the close (before finish() took the log), lost the log
    without a word (105 of 245)."""
    proc, port, _ = _serve(tmp_path, collector, "--noreload", LANDING_INLINE="1")
    try:
        swept = _sweep(port, [*range(110), *range(110, 4000, 40)])
        flushed, stats = flush(port)
    finally:
        proc.kill()
        proc.wait(30)
    assert len(swept) > 110, swept[-3:]
    places = " ".join(place for _, place, _ in swept)
    assert "capture/unclosed.py:sent" in places, swept  # the close, whole
    # ... and the inline send after it (the log's build, its encode, its POST)
    assert any(place.startswith(("har/", "delivery/")) for _, place, status in swept
               if status == 200), swept
    found = _outcomes(swept, _logged(collector, stats["sent"]))
    assert not found["lost"] and not found["twice"], (
        f"{len(found['lost'])} of {len(swept)} lost", found["lost"][:5], found["twice"])


def test_a_sigterm_landing_as_the_autoreloaders_child_notes_django_handler(
        tmp_path: Path) -> None:
    """Under the autoreloader, a SIGTERM to runserver's child landing in the library's
    look at Django's SIGTERM handler (the reloader's main thread, before the library's
    wrapper took its place): before, the raise went on unnoted and the close took the
    exit for a Ctrl-C, cut to 0.15 s for a kill that never comes ("the SIGKILL of
    Django's autoreloader, 0.25s after Ctrl-C"): with an API answering in 1 s, the 3
    logs given up on. Now noted: the close has its shutdown_timeout, the logs sent.
    One point (the 4th: in _take_sigterm, after it read the handler; the 2nd to 5th
    failed alike before, the 1st is the wrapper's entry, before any of its code): ~9 s,
    two processes and the reloader's look a second after the start."""
    target = 3
    collector = Collector().start()
    collector.default = Reply(delay=1.0)
    write_site(tmp_path)
    port = free_port()
    # README_TIMEOUT: answered in 1 s, past 3 s under load, the exit's POST went twice
    # (a 4th log: flaky62).
    env = app_environment(collector.url, tmp_path, DJANGO_SETTINGS_MODULE="landing_settings",
                          LANDING_MAIN=str(target), README_TIMEOUT=str(INLINE_TIMEOUT))
    output = tmp_path / "reloader-output.txt"
    try:
        with output.open("wb") as out:
            proc = start_server([sys.executable, "-m", "django", "runserver",
                                 "--nothreading", f"127.0.0.1:{port}", "--skip-checks"],
                                cwd=str(tmp_path), env=env, stdout=out,
                                stderr=subprocess.STDOUT)
        try:
            wait_for_port(port, proc, output)
            for n in range(3):  # (before the reloader's first look: a second after start)
                answer = requests.get(f"http://127.0.0.1:{port}/pets?-1&{n}", timeout=10)
                assert answer.status_code == 200
            proc.wait(60)  # the SIGTERM ends it, the child then the autoreloader
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)
        said = output.read_text()
        assert "raised at delivery/reloader_stop.py" in said, said[-2000:]
        assert "within 0.15s" not in said and "after Ctrl-C" not in said, said[-2000:]
        assert "not delivered" not in said, said[-2000:]
        assert len(collector.wait_for_logs(3, timeout=10)) == 3
    finally:
        collector.stop()
