"""The Metrics API's name lookup within ``timeout`` and ``shutdown_timeout`` (SPEC 7:
"within shutdown_timeout; never a hang").

``socket.getaddrinfo`` blocks for as long as the system resolver takes, and nothing cuts
it. Here it is replaced, in this process, by one that does not answer for the test's
name until the test lets it (a name server that does not answer): a POST, ``close()``
and interpreter exit must end while it still has not answered. Ordering, not timing:
before the fix, each of them returned only once the lookup did.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import threading
from typing import Any, Iterator

import pytest
import requests

from readme_metrics.delivery import resolve
from tests.support.command import REPO_ROOT
from tests.support.delivery import (
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    ids,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    messages,
)
from tests.support.fake_api import Collector, Reply
from tests.support.processes import start_server
from tests.support.threads import AT_EXIT, no_thread_starts
from tests.support.transports import make_transport

NAME = "metrics.test"
#: How long the stand-in resolver waits for the test before it answers anyway: the old
#: code returned after that (a POST delivered, a close() that took that long).
GIVE_UP = 10.0


class SilentResolver:
    """``socket.getaddrinfo`` for NAME answers the collector's address only once
    ``answer`` is set (or after GIVE_UP); other names as usual."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.answer = threading.Event()
        self.calls = 0
        self.answered = 0
        self._real = socket.getaddrinfo

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != NAME:
            return self._real(host, port, *args, **kwargs)
        self.calls += 1
        self.answer.wait(GIVE_UP)
        self.answered += 1
        return self._real("127.0.0.1", self.port, *args, **kwargs)


@pytest.fixture(name="resolver")
def resolver_fixture(collector: Collector,
                     monkeypatch: pytest.MonkeyPatch) -> Iterator[SilentResolver]:
    resolver = SilentResolver(collector.port)
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    yield resolver
    resolver.answer.set()  # the lookup threads end


def url(resolver: SilentResolver) -> str:
    return f"http://{NAME}:{resolver.port}"


def test_a_post_ends_at_its_timeout_while_the_lookup_hangs(
        resolver: SilentResolver, collector: Collector) -> None:
    transport = make_transport(url(resolver), timeout=0.3)
    with pytest.raises(requests.Timeout):
        transport.post_logs(b'[{"_id": "a"}]')
    assert resolver.answered == 0  # it ended while the lookup had no answer
    # The lookup's late answer serves the next POST: no second lookup.
    resolver.answer.set()
    assert transport.post_logs(b'[{"_id": "b"}]', timeout=30.0).status_code == 202
    assert (resolver.calls, ids(collector.logs)) == (1, ["b"])
    transport.close()


def test_posts_during_one_lookup_wait_for_it_and_a_new_connection_looks_up_again(
        resolver: SilentResolver, collector: Collector) -> None:
    transport = make_transport(url(resolver), timeout=0.2)
    for _ in range(3):
        with pytest.raises(requests.Timeout):
            transport.post_logs(b"[]")
    assert resolver.calls == 1  # one lookup thread, however many POSTs wait for it
    resolver.answer.set()
    assert transport.post_logs(b"[]", timeout=30.0).status_code == 202
    transport.close()  # the kept-alive connection goes: the next one looks up afresh
    transport = make_transport(url(resolver), timeout=30.0)
    assert transport.post_logs(b"[]").status_code == 202
    assert resolver.calls == 2
    transport.close()


@pytest.mark.parametrize("background", [True, False], ids=["background", "inline"])
def test_close_ends_within_shutdown_timeout_while_the_lookup_hangs(
        resolver: SilentResolver, collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture, background: bool) -> None:
    delivery = make_delivery(url(resolver), buffer_length=10, timeout=30.0,
                             shutdown_timeout=0.5, background_worker_mode=background)
    for n in range(5):
        assert delivery.submit(item(f"log-{n}"))
    delivery.close()
    assert resolver.answered == 0  # close() did not wait for the resolver
    stats = delivery.stats
    assert (stats["sent"], stats["dropped_shutdown"], stats["queued"]) == (0, 5, 0)
    assert adds_up(stats)
    assert messages(caplog, 30, "closing gave up after shutdown_timeout "
                                "(README_SHUTDOWN_TIMEOUT) of 0.5s")


@pytest.mark.parametrize("background", [True, False], ids=["background", "inline"])
def test_flush_returns_at_its_timeout_while_the_lookup_hangs(
        resolver: SilentResolver, collector: Collector, make_delivery: MakeDelivery,
        background: bool) -> None:
    delivery = make_delivery(url(resolver), buffer_length=10, timeout=30.0,
                             background_worker_mode=background)
    assert delivery.submit(item("a"))
    assert delivery.flush(0.3) is False  # not delivered, and on time
    assert resolver.answered == 0
    resolver.answer.set()  # the name server answers at last: the log goes
    assert delivery.flush(30.0) is True
    assert ids(collector.logs) == ["a"]


def test_where_no_lookup_thread_starts_the_last_answer_is_used(
        resolver: SilentResolver, collector: Collector,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Interpreter exit on Python 3.12+ starts no thread: a new connection then uses the
    # addresses found before instead of asking the resolver in the exiting thread.
    resolver.answer.set()
    collector.replies.append(Reply(headers={"Connection": "close"}))  # not kept alive
    transport = make_transport(url(resolver))
    assert transport.post_logs(b'[{"_id": "a"}]').status_code == 202
    resolver.answer.clear()  # from now on the resolver would not answer
    refused = no_thread_starts(monkeypatch, resolve.THREAD_NAME, message=AT_EXIT)
    assert transport.post_logs(b'[{"_id": "b"}]').status_code == 202
    transport.close()
    assert (resolver.calls, ids(collector.logs)) == (1, ["a", "b"])
    assert len({received.peer for received in collector.received}) == 2  # reconnected
    assert refused == [resolve.THREAD_NAME]  # (it tried: the fallback is what was run)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "fe80::1%lo"])
def test_a_numeric_address_is_not_looked_up_on_a_thread(host: str) -> None:
    resolver = resolve.Resolver(host, 80)
    before = {thread.name for thread in threading.enumerate()}
    assert resolver.addresses(0.0)  # a deadline already passed: no waiting at all
    assert resolve.THREAD_NAME not in before | {t.name for t in threading.enumerate()}


EXIT_SCRIPT = textwrap.dedent("""
    import socket, sys, threading, time
    from readme_metrics.config import MetricsApiConfig
    from readme_metrics.delivery import Delivery
    from readme_metrics.exchange import Exchange, Group

    real, hang, asked = socket.getaddrinfo, threading.Event(), threading.Event()

    def silent(host, *args, **kwargs):  # a name server that never answers
        if host == "metrics.test":
            asked.set()
            hang.wait()
        return real(host, *args, **kwargs)

    socket.getaddrinfo = silent
    config = MetricsApiConfig(api_key="rdme_exit_SECRET_key_7070",
                              grouping_function=lambda req: None,
                              metrics_api="http://metrics.test:" + sys.argv[1],
                              buffer_length=10, timeout=30.0, shutdown_timeout=1.0)
    delivery = Delivery(config, lambda item: {"_id": item.to_exchange().id})
    for n in range(25):
        delivery.submit(Exchange(str(n), 0.0, "GET", "http://a/", "HTTP/1.1", [], "1",
                                 Group("g")))
    # The sender's lookup has begun before exit (on Python 3.12+ no thread can start at
    # exit, and a first lookup made then is unbounded: README, Exit).
    assert asked.wait(30)
""")


def test_interpreter_exit_ends_while_the_lookup_hangs(collector: Collector) -> None:
    # The sender's lookup hangs; at exit the exiting thread's POST waits for that same
    # lookup only until shutdown_timeout. Before, the exit hung with the resolver.
    process = start_server(
        [sys.executable, "-c", EXIT_SCRIPT, str(collector.port)], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, cwd=str(REPO_ROOT), stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    try:
        out, err = process.communicate(timeout=60)  # a hang: the resolver never answers
    finally:
        process.kill()
    assert process.returncode == 0 and out == "", err
    assert ("closing gave up after shutdown_timeout (README_SHUTDOWN_TIMEOUT) of 1s: "
            "25 logs not delivered") in err
    assert "rdme_exit_SECRET_key_7070" not in err
    assert collector.received == []
