"""What the delivery tests share: plain items, a tiny build, and a Delivery to test.

``item`` makes a plain :class:`Exchange` and ``build_id`` turns it into a small log, so the
queue, batching, retry and accounting rules are pinned independently of HAR building.
The ``make_delivery`` fixture (defined as ``make_delivery_fixture``) builds Deliveries with
test-sized retry timings and closes them; ``api_key_never_logged_fixture`` is autouse: in
every test of a module that imports it, no log record shows the API key. A test module
imports these two names to have the fixtures.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import threading
from typing import Any, Callable, Iterator, Optional

import pytest

from readme_metrics.config import MetricsApiConfig
from readme_metrics.delivery import Delivery, policy
from readme_metrics.delivery import health as health_module
from readme_metrics.delivery.batcher import Batcher
from readme_metrics.delivery.queue import Batch, LogQueue
from readme_metrics.delivery.stretch import Stretch
from readme_metrics.delivery.transport import Transport
from readme_metrics.exchange import Exchange, Group
from tests.support.contract import API_KEY as CONTRACT_API_KEY
from tests.support.fake_api import Collector, Reply, inline_timeout
from tests.support.logs import assert_api_key_not_logged
from tests.support.polling import wait_until
from tests.support.processes import LINE_WAIT

API_KEY = "rdme_delivery_SECRET_key_31337"


def item(name: str, body: bytes = b"") -> Exchange:
    """A plain GET exchange named ``name`` whose response body is ``body``."""
    return Exchange(id=name, started=0.0, method="GET", url="http://api.test/x",
                    http_version="HTTP/1.1", request_headers=[], client_ip="127.0.0.1",
                    group=Group("caller"), response_body=body, response_body_size=len(body))


def clocked_batcher(now: list[float], logs: int = 0, post_logs: int = 1,
                    **queue_options: int) -> tuple[LogQueue, Batcher]:
    """A queue of ``logs`` logs (``log-0`` ...), one a batch, at most ``post_logs`` a
    POST, and its batcher with the defaults' backoff on the fake clock ``now[0]``: the
    retry rules stepped through without a sender or a wait."""
    sizes = {"max_size": 1000, "max_bytes": 10**7, **queue_options}
    queue = LogQueue(batch_size=1, interval=0.0, max_post_logs=post_logs, **sizes)
    batcher = Batcher(queue, backoff_base=policy.BACKOFF_BASE,
                      backoff_cap=policy.BACKOFF_CAP, clock=lambda: now[0])
    for n in range(logs):
        put_log(batcher, f"log-{n}")
    return queue, batcher


def put_log(batcher: Batcher, name: str) -> None:
    """What a request does: one log named ``name`` queued."""
    log = item(name)
    batcher.put(log, log.nbytes, inline=False)


def take_batch(queue: LogQueue, batcher: Batcher) -> Optional[Batch]:
    """What a sender does: the next batch due, or None."""
    with queue.lock:
        return batcher.take_locked()[0]


def fail_attempt(batcher: Batcher, batch: Batch, retry_after: Optional[float] = None,
                 max_attempts: int = policy.MAX_ATTEMPTS,
                 max_down: int = policy.MAX_DOWN_ATTEMPTS) -> bool:
    """What Attempt does with a failed attempt (a 503, or a 429 with ``retry_after``):
    True if the batch is dropped."""
    batch.attempts += 1
    if batcher.exhausted(batch, max_attempts, max_down):
        batcher.settle(batch, "retries_exhausted")
        return True
    batcher.retry_later(batch, retry_after)
    return False


def build_id(pending: Any) -> dict:
    """The default build: the log is the exchange's id and response body size."""
    exchange = pending.to_exchange()
    return {"_id": exchange.id, "size": exchange.response_body_size}


def new_stretch(timeout: float = 3.0) -> Stretch:
    """A Stretch as a Delivery with that ``timeout`` makes it (its rules on given times)."""
    return Stretch(timeout, functools.partial(policy.next_timeout, timeout=timeout))


def ids(logs: list[dict]) -> list[str]:
    """The ``_id`` of each log, in order."""
    return [log["_id"] for log in logs]


def said_counts(line: str) -> tuple[int, int]:
    """An interrupted close's line: (logs not delivered, logs unknown: in POSTs sent in
    full, cut unanswered; 0 if it names none). Fails the test if it names no count."""
    found = re.search(r"(\d+) logs? not delivered(?:, (\d+) unknown)?", line)
    assert found is not None, line
    return int(found.group(1)), int(found.group(2) or 0)


def adds_up(stats: dict[str, int]) -> bool:
    """Every captured log is sent, dropped, queued or skipped, and the drop reasons sum
    to ``dropped``."""
    reasons = sum(value for key, value in stats.items() if key.startswith("dropped_"))
    return (stats["captured"] == stats["sent"] + stats["dropped"] + stats["queued"]
            + stats["skipped"] and reasons == stats["dropped"])


def lock_held(lock: Any) -> bool:
    """Whether any thread holds ``lock``: the queue's lock is an RLock (delivery56),
    which has no ``locked()`` before Python 3.14."""
    if lock._is_owned():
        return True
    if lock.acquire(blocking=False):
        lock.release()
        return False
    return True


def worker_threads() -> list[threading.Thread]:
    """The delivery threads alive now."""
    return [t for t in threading.enumerate() if t.name == "readme-metrics-worker"]


MakeDelivery = Callable[..., Delivery]


def posting(delivery: Delivery, *names: str, timeout: float = 60.0) -> None:
    """Submit logs named ``names`` and wait until a POST of them began (``sent_at``)."""
    assert all(delivery.submit(item(name)) for name in names)
    queue = delivery._batcher.queue
    wait_until(lambda: any(batch.sent_at for batch in queue.in_flight), timeout=timeout)


def retried_out(make_delivery: MakeDelivery, url: str, **options: Any) -> Delivery:
    """Logs ``a`` and ``b`` in one batch of 2 posted to ``url``, ``max_attempts`` 2 (and
    ``max_down_attempts``), ``backoff_base`` 0.05 s: the Delivery once both are
    dropped."""
    delivery = make_delivery(url, buffer_length=2, max_attempts=2, max_down_attempts=2,
                             backoff_base=0.05, **options)
    for name in ("a", "b"):
        assert delivery.submit(item(name))
    wait_until(lambda: delivery.stats["dropped"] == 2, timeout=LINE_WAIT)
    return delivery


@contextlib.contextmanager
def pool_join_at_once(delivery: Delivery) -> Iterator[None]:
    """Within it, the pool's join returns at once, as it does for senders that ended
    (one started after it looked goes on: review108's seam)."""
    pool = delivery._pool
    pool.join = lambda deadline: not pool.running()  # type: ignore[method-assign]
    try:
        yield
    finally:
        del pool.join


@pytest.fixture(name="never")
def never_fixture() -> Iterator[threading.Event]:
    """An event set at the end: a collector's POSTs held by it (``Reply(gate=never)``,
    read and never answered) are answered then."""
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture(name="make_delivery")
def make_delivery_fixture() -> Iterator[MakeDelivery]:
    """Delivery factory with test-sized retry timings; closes them all afterwards.
    ``direct=False`` posts on the requests route (the direct one is the default's). An
    inline Delivery's POST has ``INLINE_TIMEOUT`` for its answer unless the test sets
    ``timeout`` (flaky61, as flaky58's helpers): past the default 3 s, a collector
    starved on a loaded machine had the log sent twice (at-least-once, SPEC 7)."""
    made: list[Delivery] = []
    transports: list[Transport] = []

    def make(metrics_api: str, build: Callable[[Any], dict] = build_id, *,
             max_attempts: int = 5, backoff_base: float = 0.01, backoff_cap: float = 0.05,
             auth_pause: float = 60.0,
             max_down_attempts: int = policy.MAX_DOWN_ATTEMPTS, direct: bool = True,
             **options: Any) -> Delivery:
        options.setdefault("flush_interval", 0)
        options.setdefault("shutdown_timeout", 2.0)
        inline_timeout(options)
        config = MetricsApiConfig(api_key=API_KEY, grouping_function=lambda req: None,
                                  metrics_api=metrics_api, **options)
        transport = None if direct else Transport(config, direct=False)
        if transport is not None:
            transports.append(transport)
        delivery = Delivery(config, build, max_attempts=max_attempts,
                            backoff_base=backoff_base, backoff_cap=backoff_cap,
                            auth_pause=auth_pause, max_down_attempts=max_down_attempts,
                            transport=transport)
        made.append(delivery)
        return delivery

    yield make
    for delivery in made:
        delivery.close()
    for transport in transports:
        transport.close()


@pytest.fixture(name="full_jitter")
def full_jitter_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every backoff is its ceiling (the jitter's draw 1.0): a backoff_base of 60 s holds
    a retry 60 s, far past any wait or shutdown_timeout of a test. A test module imports
    this name to have the fixture (``full_jitter``)."""
    monkeypatch.setattr(health_module, "backoff_delay",
                        functools.partial(policy.backoff_delay, rand=lambda: 1.0))


@pytest.fixture(autouse=True, name="_api_key_never_logged")
def api_key_never_logged_fixture(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Whatever happens in a test, no log record (any logger, DEBUG up) shows the key."""
    caplog.set_level(logging.DEBUG)
    yield
    for key in (API_KEY, CONTRACT_API_KEY):  # the black-box tests' key too
        assert_api_key_not_logged(caplog.get_records("call"), key)


def through_proxy(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """Every proxy variable requests reads (http, https, all; both cases) set to ``url``,
    and none of NO_PROXY's: the POSTs go through that proxy."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "ALL_PROXY",
                 "all_proxy"):
        monkeypatch.setenv(name, url)
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)


def said_on(caplog: pytest.LogCaptureFixture, logger: logging.Logger) -> list[str]:
    """The messages ``caplog`` holds from ``logger`` (a logger made for one test: the
    start-up warnings are said once per logger)."""
    return [record.getMessage() for record in caplog.records if record.name == logger.name]


def proxy_taken_for_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the library take every proxy for one on another host (one that cannot reach
    this machine's loopback address), as it takes one not on this machine
    (``_loopback.proxy_on_this_machine``, asked through
    ``Transport.proxy_elsewhere``): the tests' proxies listen on 127.0.0.1, as every
    network test talks to loopback only."""
    from readme_metrics.delivery import transport

    monkeypatch.setattr(transport, "proxy_on_this_machine", lambda host: False)


def said_with(caplog: pytest.LogCaptureFixture, needle: str,
              level: int = logging.WARNING) -> list[str]:
    """The messages ``caplog`` holds at ``level`` or above that contain ``needle``."""
    return [r.getMessage() for r in caplog.records
            if r.levelno >= level and needle in r.getMessage()]


def messages(caplog: pytest.LogCaptureFixture, level: int, needle: str) -> list[str]:
    """The library's log messages at ``level`` that contain ``needle``."""
    return [r.getMessage() for r in caplog.records
            if r.levelno == level and r.name == "readme_metrics" and needle in r.getMessage()]


# How much longer than its bound a close() or an exit may take before it counts as
# a hang (seconds): the machine is shared and busy.
SLACK = 2.5

#: The first lines of a script whose exit is timed (see :func:`exit_took`): the script
#: calls ``exit_begins()`` as its own code ends, and the atexit hook registered here,
#: before the library registers its own, runs after the library's close (atexit runs
#: last-registered first) and prints how long the library's exit took, by the child's
#: own clock: the interpreter's start and teardown and the test's wake-up, which a
#: loaded machine stretches by seconds, are not in it.
EXIT_CLOCK = """
import atexit as _atexit, time as _time
_began = []
_atexit.register(lambda: print("exit took", _time.monotonic() - _began[0], flush=True))
def exit_begins():
    _began.append(_time.monotonic())
"""


def exit_took(out: str) -> float:
    """The seconds the library's exit took in a script that begins with EXIT_CLOCK, from
    its stdout, which must hold nothing else (the library prints nothing)."""
    lines = out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("exit took "), (
        f"the library printed to stdout: {out!r}")
    return float(lines[0].split()[-1])


#: The API key of the exit scripts' middlewares (never in what the child writes).
EXIT_KEY = "rdme_exit_SECRET_key_5150"


def assert_exit_sent(child: Any, collector: Collector, logs: int) -> None:
    """An EXIT_CLOCK script's ``child`` (a completed process) exited cleanly within its
    shutdown_timeout of 1 s (and :data:`SLACK`), wrote no :data:`EXIT_KEY`, and the
    collector has ``logs`` logs."""
    out, err = child.stdout, child.stderr
    assert child.returncode == 0, err
    took = exit_took(out)
    assert took < 1.0 + SLACK, f"exit took {took:.1f} s"
    assert EXIT_KEY not in err
    assert len(collector.logs) == logs, err


def second_post_while_the_first_is_held(collector: Collector, delivery: Delivery,
                                        names: list[str], held: int,
                                        then: Optional[Callable[[], object]] = None
                                        ) -> list[object]:
    """A Metrics API as slow as the test likes: every POST is held at a gate. Submit
    ``names[:held]`` (the lone sender's POST, held), then the rest, then run ``then``
    on a thread; fail unless a second POST starts while the first is still unanswered.
    Then answer them all; returns ``[then()]`` once it ended (``[]`` without ``then``).
    """
    answer = threading.Event()
    collector.default = Reply(gate=answer)
    for name in names[:held]:
        assert delivery.submit(item(name))
    wait_until(lambda: collector.in_flight == 1)  # the lone sender's POST is held
    for name in names[held:]:
        assert delivery.submit(item(name))
    results: list[object] = []
    thread = threading.Thread(target=lambda: results.append(then()), daemon=True)
    if then is not None:
        thread.start()
    try:
        wait_until(lambda: collector.in_flight >= 2)  # the first one still unanswered
    finally:
        answer.set()
    if then is not None:
        thread.join(30.0)
        assert not thread.is_alive() and len(results) == 1
    return results


#: What a close's "gave up ...: " line says next (delivery80: the logs the Metrics API may
#: have, sent in full and cut unanswered, said apart as unknown at every stop).
GAVE_UP_COUNTS = r"(\d+) logs? not delivered(?:, (\d+) unknown)?"
#: How a close says the logs of POSTs sent in full and cut unanswered (post_progress.said).
UNKNOWN = "unknown (in POSTs sent in full, cut unanswered: the Metrics API may have them)"


def gave_up_total(pattern: str, text: str) -> int:
    """The logs the first line of ``text`` matching ``pattern`` then
    :data:`GAVE_UP_COUNTS` gives up on (not delivered plus unknown); -1 if none does."""
    found = re.search(pattern + GAVE_UP_COUNTS, text)
    return -1 if found is None else sum(int(group) for group in found.groups()[-2:]
                                        if group)
