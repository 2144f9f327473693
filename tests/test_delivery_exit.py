"""Delivery (SPEC section 7): close() and interpreter exit, against a real, programmable
collector on loopback.

close() is bounded by shutdown_timeout even against a hanging collector, idempotent, and
says what it gave up; a closed Delivery can be garbage collected; at interpreter exit
everything queued is sent within shutdown_timeout, Delivery alone and through the
middleware (black box), never a hang, nothing on stdout.

Items and ``build`` are plain (tests.support.delivery); a gunicorn worker's exit and a
forked child are in test_fork.py. In every test, no log record shows the API key.
"""

from __future__ import annotations

import base64
import gc
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
import weakref
from pathlib import Path
from typing import Optional

import pytest

from readme_metrics.config import MetricsApiConfig
from readme_metrics.delivery import Delivery
from tests.support.command import REPO_ROOT
from tests.support.contract import run_python
from tests.support.delivery import (
    API_KEY,
    EXIT_CLOCK,
    SLACK,
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    assert_exit_sent,
    build_id,
    exit_took,
    ids,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    messages,
    second_post_while_the_first_is_held,
)
from tests.support.drip import DripServer
from tests.support.fake_api import Collector, Reply, free_port
from tests.support.polling import wait_until
from tests.support.processes import read_line, start_server


def test_hanging_collector_never_blocks_submit_and_close_is_bounded(
        collector: Collector, make_delivery: MakeDelivery) -> None:
    collector.default = Reply(hang=5.0)
    delivery = make_delivery(collector.url, buffer_length=10, timeout=30.0,
                             shutdown_timeout=0.5)
    results = [delivery.submit(item(f"log-{n}")) for n in range(10)]
    wait_until(lambda: len(collector.failed) == 1)  # the first POST is stuck
    results += [delivery.submit(item(f"log-{n}")) for n in range(10, 35)]
    assert all(results)  # queued while the worker is stuck on the first batch
    started = time.monotonic()
    delivery.close()
    assert time.monotonic() - started < 0.5 + 1.0
    stats = delivery.stats
    # (the POSTs the API read in full: dropped_unknown since delivery80)
    assert stats["sent"] == 0
    assert stats["dropped_shutdown"] + stats["dropped_unknown"] >= 25, stats
    assert adds_up(stats)  # the batch still in flight counts as queued


def test_close_posts_what_waits_while_the_lone_sender_is_in_a_slow_post(
        collector: Collector, make_delivery: MakeDelivery) -> None:
    # Exit under a slow API: the lone sender's POST of ten logs is held (an API as slow as
    # the test likes) when close() begins. The five logs waiting behind it go in a POST
    # of their own at once, not after that answer, which may come too late for
    # shutdown_timeout. (At interpreter exit no thread can start on Python 3.12+: the
    # closing thread posts them itself.)
    delivery = make_delivery(collector.url, buffer_length=10, timeout=30.0,
                             shutdown_timeout=20.0)
    names = [f"log-{n}" for n in range(15)]
    second_post_while_the_first_is_held(collector, delivery, names, held=10,
                                        then=delivery.close)
    delivered = ids(collector.logs)
    assert sorted(delivered) == sorted(names) and len(delivered) == 15
    stats = delivery.stats
    assert (stats["sent"], stats["dropped"], stats["queued"]) == (15, 0, 0)
    assert adds_up(stats)


def test_close_says_which_logs_it_gave_up_on_were_posted_and_unanswered(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture) -> None:
    # The API read the POST and had not answered by shutdown_timeout: those logs count
    # as not delivered, but the API may have them (a slow API at exit usually does: at
    # 2 s an answer, every log of 30,000 reached it while the warning said 5,540 not
    # delivered). The warning tells them apart from logs that were never sent.
    gate = threading.Event()
    collector.default = Reply(gate=gate)
    delivery = make_delivery(collector.url, buffer_length=2, timeout=30.0,
                             shutdown_timeout=0.3)
    try:
        delivery.submit(item("a"))
        delivery.submit(item("b"))
        wait_until(lambda: len(collector.received) == 1)  # read, its answer held
        delivery.close()
        # The close cuts that POST at its deadline (delivery29): its sender is back then,
        # the logs dropped at shutdown. (A guard, not a synchronisation.)
        delivery._pool.join(time.monotonic() + 30.0)
    finally:
        gate.set()
    stats = delivery.stats
    # (read in full, unanswered: unknown since delivery80, "2 logs not delivered (2 of
    # them in POSTs cut at the close, ...)" and dropped_shutdown before)
    assert (stats["queued"], stats["dropped_unknown"]) == (0, 2), stats
    assert messages(caplog, logging.WARNING, "0 logs not delivered, 2 unknown (in POSTs "
                                             "sent in full, cut unanswered: the Metrics "
                                             "API may have them)")


def test_close_is_idempotent_and_later_logs_are_counted(collector: Collector,
                                                        make_delivery: MakeDelivery) -> None:
    delivery = make_delivery(collector.url, buffer_length=10)
    delivery.submit(item("a"))
    delivery.close()
    delivery.close()
    assert ids(collector.logs) == ["a"]  # close flushed the partial batch
    assert delivery.submit(item("late")) is False
    stats = delivery.stats
    assert (stats["sent"], stats["dropped_shutdown"]) == (1, 1)
    assert adds_up(stats)


@pytest.mark.parametrize("count, words", [(2, "2 logs not delivered"),
                                          (1, "1 log not delivered")])
def test_close_warns_about_a_batch_still_waiting_for_its_retry(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture, count: int, words: str) -> None:
    # The retry is due long after shutdown_timeout: close gives the batch up, and says so.
    collector.default = Reply(503, headers={"Retry-After": "30"})
    delivery = make_delivery(collector.url, buffer_length=count, shutdown_timeout=0.5)
    for name in "ab"[:count]:
        delivery.submit(item(name))
    wait_until(lambda: len(collector.failed) == 1)
    delivery.close()
    stats = delivery.stats
    assert (stats["dropped_shutdown"], stats["failed_batches"], stats["queued"]) == (
        count, 1, 0)
    assert adds_up(stats)
    assert messages(caplog, logging.WARNING, words)


def test_a_closed_delivery_can_be_garbage_collected(collector: Collector) -> None:
    config = MetricsApiConfig(api_key=API_KEY, grouping_function=lambda req: None,
                              metrics_api=collector.url, buffer_length=2)
    delivery = Delivery(config, build_id)
    delivery.submit(item("a"))
    delivery.submit(item("b"))
    collector.wait_for_logs(2)
    delivery.close()
    ref = weakref.ref(delivery)
    del delivery
    gc.collect()
    assert ref() is None  # atexit and fork hooks hold it weakly


ROOT = Path(__file__).resolve().parents[1]


EXIT_SCRIPT = EXIT_CLOCK + textwrap.dedent("""
    import sys
    from readme_metrics.config import MetricsApiConfig
    from readme_metrics.delivery import Delivery
    from readme_metrics.exchange import Exchange, Group

    url, background, backoff = sys.argv[1], sys.argv[2] == "1", float(sys.argv[3])
    config = MetricsApiConfig(api_key="k", grouping_function=lambda req: None,
                              metrics_api=url, buffer_length=10, timeout=30.0,
                              shutdown_timeout=1.0, background_worker_mode=background)
    delivery = Delivery(config, lambda item: {"_id": item.to_exchange().id},
                        backoff_base=backoff, backoff_cap=backoff)
    for n in range(25 if background else 9):
        delivery.submit(Exchange(str(n), 0.0, "GET", "http://a/", "HTTP/1.1", [], "1",
                                 Group("g")))
    exit_begins()  # atexit must take about 1 s (shutdown_timeout), not 30
""")


@pytest.mark.parametrize(("background", "reply", "backoff"), [
    pytest.param(True, Reply(500), 30.0, id="background-long-backoff"),
    pytest.param(False, Reply(500), 30.0, id="inline-long-backoff"),
    pytest.param(True, None, 0.01, id="background-dripping"),
    pytest.param(False, None, 0.01, id="inline-dripping"),
])
def test_interpreter_exit_within_shutdown_timeout(collector: Collector, background: bool,
                                                  reply: Optional[Reply],
                                                  backoff: float) -> None:
    # reply None: an API that drips its answer one byte every 0.4 s (timeout is 30 s).
    drip = DripServer(interval=0.4, max_bytes=200) if reply is None else None
    if reply is not None:
        collector.default = reply
    process = start_server(
        [sys.executable, "-c", EXIT_SCRIPT, drip.url if drip else collector.url,
         "1" if background else "0", str(backoff)], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    if drip is not None:
        drip.close()
    assert process.returncode == 0, err
    # shutdown_timeout (1 s) plus slack for a loaded machine's scheduling, by the child's
    # own clock (the interpreter's teardown is not the library's: it made this check
    # fail at load 8 and 14); unbounded, the exit takes 10 s or more
    took = exit_took(out)
    assert took < 1.0 + SLACK, f"exit took {took:.1f} s"
    assert drip.requests >= 1 if drip else len(collector.failed) >= 1  # it did try


# -- through the middleware: exit sends everything (SPEC 7, black box) ----------------------


MIDDLEWARE_EXIT_SCRIPT = EXIT_CLOCK + textwrap.dedent("""
    import sys
    from wsgiref.util import setup_testing_defaults
    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    def streamed(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"ok"

    url, background, count = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3])
    unread, stuck = sys.argv[4:] in (["unread"], ["unread-stuck"]), sys.argv[4:] == ["unread-stuck"]
    if unread:  # a test client's response, its status looked at: never read nor closed
        app = streamed

    def grouping(req):
        if stuck and req.path == f"/{count - 1}":  # run when the last one is dropped
            import time
            time.sleep(60)
        return {"api_key": "caller"}
    middleware = MetricsMiddleware(app, MetricsApiConfig(
        api_key="rdme_exit_SECRET_key_5150", metrics_api=url, base_log_url="http://d.x",
        buffer_length=10, flush_interval=600, timeout=30, shutdown_timeout=1.0,
        background_worker_mode=background,
        grouping_function=grouping))
    for n in range(count):
        environ = {"PATH_INFO": f"/{n}"}
        setup_testing_defaults(environ)
        response = middleware(environ, lambda status, headers, exc_info=None: None)
        if not unread:
            b"".join(response)
        del response
    exit_begins()  # no flush(), no close(): exit must do it
""")


def _unread_room(script: str) -> str:
    """``script`` with shutdown_timeout=10 (it has 1.0): room for a starved machine to
    schedule the library's thread for responses dropped unread (see above)."""
    roomy = script.replace("shutdown_timeout=1.0", "shutdown_timeout=10.0")
    assert roomy != script
    return roomy


@pytest.mark.parametrize(("background", "count", "reply", "delivered"), [
    pytest.param(True, 7, Reply(202), 7, id="background-partial-batch"),
    pytest.param(True, 25, Reply(202), 25, id="background-batches-and-tail"),
    pytest.param(False, 7, Reply(202), 7, id="inline-partial-batch"),
    pytest.param(True, 7, Reply(202), 7, id="background-responses-unread"),
    pytest.param(False, 7, Reply(202), 7, id="inline-responses-unread"),
    pytest.param(True, 7, Reply(202), 6, id="background-responses-unread-stuck"),
    pytest.param(True, 7, [Reply(503)], 7, id="background-retried-at-exit"),
    pytest.param(False, 7, [Reply(503)], 7, id="inline-retried-at-exit"),
    pytest.param(True, 25, Reply(hang=60.0), 0, id="background-hanging-api"),
    pytest.param(False, 9, Reply(hang=60.0), 0, id="inline-hanging-api"),
    pytest.param(True, 25, Reply(500), 0, id="background-always-500"),
    pytest.param(True, 25, None, 0, id="background-connection-refused"),
    pytest.param(True, 25, Reply(401), 0, id="background-401"),
])
def test_interpreter_exit_sends_everything_within_shutdown_timeout(
        collector: Collector, background: bool, count: int,
        reply: Optional[Reply | list[Reply]], delivered: int, request: pytest.FixtureRequest,
) -> None:
    """SPEC 7: at interpreter exit (atexit) everything queued is sent, within
    shutdown_timeout; never a hang. Also: no output on stdout, the key never shown.
    "unread": each response dropped neither read to its end nor closed (a test
    client's); "-stuck": the grouping function, run when the last one is dropped, never
    returns (the exit does not wait for it)."""
    case = request.node.callspec.id
    unread = (["unread"] if case.endswith("unread")
              else ["unread-stuck"] if case.endswith("unread-stuck") else [])
    url = collector.url if reply is not None else f"http://127.0.0.1:{free_port()}"
    if isinstance(reply, list):  # a failure first, then 202: retried within the bound
        collector.replies.extend(reply)
    elif reply is not None:
        collector.default = reply
    # Unread, the logs are finished by the library's thread, which a loaded machine may
    # not schedule for a while: the exit waits for it up to half of shutdown_timeout
    # (unclosed._wait_until), here 5 s, and still ends within 1 s and SLACK (checked
    # below) once they are sent; a stuck grouping function is waited for EXIT_WAIT.
    script = _unread_room(MIDDLEWARE_EXIT_SCRIPT) if unread else MIDDLEWARE_EXIT_SCRIPT
    process = start_server(
        [sys.executable, "-c", script, url, "1" if background else "0", str(count),
         *unread],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(REPO_ROOT),
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, stdin=subprocess.DEVNULL)
    try:
        out, err = process.communicate(timeout=1.0 + 30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    took = exit_took(out)  # by the child's clock, also: nothing else on stdout
    assert took < 1.0 + SLACK, f"exit took {took:.1f} s"
    assert "rdme_exit_SECRET_key_5150" not in err
    assert base64.b64encode(b"rdme_exit_SECRET_key_5150:").decode() not in err
    assert len(collector.logs) == delivered
    # The stuck one is not lost without a word (exit12): one warning names it.
    assert err.count("not yet queued") == (1 if case.endswith("-stuck") else 0), err
    if isinstance(reply, Reply) and reply.status == 401:
        # The last-resort handler shows the library's one error for the pause.
        assert err.count("HTTP 401") == 1, err


# -- an app dropped before exit: its partial batch is still sent (SPEC 7) -----------------


DROPPED_EXIT_SCRIPT = EXIT_CLOCK + textwrap.dedent("""
    import asyncio, gc, sys
    from wsgiref.util import setup_testing_defaults
    from readme_metrics import MetricsApiConfig, MetricsMiddleware
    from readme_metrics.asgi import MetricsMiddleware as AsgiMetricsMiddleware

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    async def asgi_app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    def wsgi_request(middleware, n):
        environ = {"PATH_INFO": f"/{n}"}
        setup_testing_defaults(environ)
        b"".join(middleware(environ, lambda status, headers, exc_info=None: None))

    def asgi_request(middleware, n):
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": "GET", "scheme": "http", "path": f"/{n}",
                 "raw_path": f"/{n}".encode(), "query_string": b"", "root_path": "",
                 "headers": [(b"host", b"localhost")], "client": ("127.0.0.1", 5000),
                 "server": ("localhost", 80)}

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            pass

        asyncio.run(middleware(scope, receive, send))

    url, kind, background = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    for app_number in range(3):  # an app factory: three apps, each dropped in turn
        config = MetricsApiConfig(
            api_key="rdme_exit_SECRET_key_5150", metrics_api=url, buffer_length=10,
            flush_interval=600, timeout=30, shutdown_timeout=1.0,
            background_worker_mode=background,
            grouping_function=lambda req: {"api_key": "caller"})
        if kind == "asgi":
            middleware = AsgiMetricsMiddleware(asgi_app, config)
            request = asgi_request
        else:
            middleware = MetricsMiddleware(app, config)
            request = wsgi_request
        for n in range(3):
            request(middleware, n)
        del middleware, config
        gc.collect()
    exit_begins()  # no flush(), no close(), the apps gone: exit must still send
""")


@pytest.mark.parametrize(("kind", "background", "delay"), [
    pytest.param("wsgi", False, 0.0, id="wsgi-inline"),
    # Each POST takes 0.2 s: exit comes while the library's thread still sends the
    # dropped apps' logs, and takes over (waits for that POST, sends the rest).
    pytest.param("wsgi", False, 0.2, id="wsgi-inline-slow-api"),
    pytest.param("asgi", False, 0.0, id="asgi-inline"),
    pytest.param("wsgi", True, 0.0, id="wsgi-background"),
])
def test_the_partial_batches_of_dropped_apps_are_sent_by_exit(
        collector: Collector, kind: str, background: bool, delay: float) -> None:
    """SPEC 7 "everything queued is sent": also what an app that was dropped (an app
    factory, a test client) had queued. Inline mode lost it: nothing held the queue once
    the middleware was gone, and the exit flush did not know of it."""
    collector.default = Reply(delay=delay)
    child = run_python(DROPPED_EXIT_SCRIPT, collector.url, kind, "1" if background else "0",
                       timeout=30)
    assert_exit_sent(child, collector, 9)


# The same apps dropped, in a process that goes on: their logs go out now, not at exit.
DROPPED_ALIVE_SCRIPT = DROPPED_EXIT_SCRIPT.replace(
    "exit_begins()  # no flush(), no close(), the apps gone: exit must still send",
    textwrap.dedent("""\
    import time
    from readme_metrics.delivery import process
    deadline = time.monotonic() + 15
    while process._held and time.monotonic() < deadline:
        time.sleep(0.02)
    print(f"held={len(process._held)}", flush=True)
    sys.stdin.readline()  # alive until the test has counted the logs
    """))


@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
def test_inline_dropped_apps_are_sent_while_the_process_goes_on(
        collector: Collector, kind: str) -> None:
    """A long-running process that makes and drops inline-mode apps (an app factory): the
    dropped apps' logs were held in process._held, unsent, until the process ended, when
    the app's responses were lists (WSGI) or always (ASGI): nothing had started the
    library's thread that drains them."""
    assert DROPPED_ALIVE_SCRIPT != DROPPED_EXIT_SCRIPT
    process = start_server(
        [sys.executable, "-c", DROPPED_ALIVE_SCRIPT, collector.url, kind, "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.PIPE, text=True,
        cwd=str(REPO_ROOT), env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    try:
        assert process.stdout is not None
        line = read_line(process.stdout, about="the app factory's process")
        logs = len(collector.logs)  # before the process exits
        _, err = process.communicate("\n", timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert line.strip() == "held=0", (line, err)
    assert logs == 9, err


def test_the_exit_wait_for_unclosed_responses_is_within_a_short_shutdown_timeout(
        collector: Collector) -> None:
    """SPEC: shutdown_timeout is the longest the exit flush may take. unclosed.py's exit
    hook waited up to 0.5 s for a response dropped unread (its grouping function stuck)
    before the deliveries' own shutdown_timeout began: 0.50 s with shutdown_timeout=0.1.
    It now takes at most half of it, and the flush counts from the exit's start."""
    script = MIDDLEWARE_EXIT_SCRIPT.replace("shutdown_timeout=1.0", "shutdown_timeout=0.1")
    assert script != MIDDLEWARE_EXIT_SCRIPT
    child = run_python(script, collector.url, "1", "7", "unread-stuck", timeout=30)
    out, err = child.stdout, child.stderr
    assert child.returncode == 0, err
    took = exit_took(out)  # by the child's clock: the library's exit alone
    assert took < 0.1 + 0.25, f"exit took {took:.2f} s with shutdown_timeout=0.1"


# A response dropped unclosed in a reference cycle: its finalizer runs only when the
# cyclic GC reaches it. gc.disable() stands for a cycle the GC has not reached by the
# exit (one in an old generation): the interpreter's own collection at shutdown comes
# after the exit hook, when delivery is closed.
CYCLE_EXIT_SCRIPT = EXIT_CLOCK + textwrap.dedent("""
    import gc, sys
    from wsgiref.util import setup_testing_defaults
    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    def streamed(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"ok"

    url, background, read = sys.argv[1], sys.argv[2] == "1", sys.argv[3] == "read"
    middleware = MetricsMiddleware(streamed, MetricsApiConfig(
        api_key="rdme_exit_SECRET_key_5150", metrics_api=url, buffer_length=10,
        flush_interval=600, timeout=30, shutdown_timeout=1.0,
        background_worker_mode=background,
        grouping_function=lambda req: {"api_key": "caller"}))
    gc.collect()
    gc.disable()
    environ = {"PATH_INFO": "/cycle"}
    setup_testing_defaults(environ)
    response = middleware(environ, lambda status, headers, exc_info=None: None)
    if read:
        b"".join(response)
    holder = {"response": response}
    holder["self"] = holder  # the cycle: only the cyclic GC frees it
    del response, holder
    exit_begins()  # no flush(), no close(), no gc.collect(): exit must find it
""")


@pytest.mark.parametrize(("background", "read"), [
    pytest.param(True, "unread", id="background-unread"),
    pytest.param(False, "unread", id="inline-unread"),
    pytest.param(False, "read", id="inline-read"),
])
def test_a_response_dropped_unclosed_in_a_reference_cycle_is_sent_at_exit(
        collector: Collector, background: bool, read: str) -> None:
    """The exit ran before the cyclic GC finalized such a response: 0 of 1 logs
    delivered. With captures outstanding, the exit hook now collects once first. Unread,
    the log is finished by the library's thread after that collection: room for a loaded
    machine to schedule it (_unread_room); the exit still ends within 1 s and SLACK."""
    script = _unread_room(CYCLE_EXIT_SCRIPT) if read == "unread" else CYCLE_EXIT_SCRIPT
    child = run_python(script, collector.url, "1" if background else "0", read,
                       timeout=30)
    assert_exit_sent(child, collector, 1)
