"""odds5's items: each test failed on main at d4145a4 and passes with its fix, under
real parts (the collector on 127.0.0.1, real Django and WSGI apps, real forks)."""

from __future__ import annotations

import gc
import os
import textwrap
from typing import Any, Iterator
from urllib.parse import quote
from wsgiref.util import setup_testing_defaults

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.capture import unclosed
from readme_metrics.har.pairs import parse_query
from readme_metrics.masking import mask
from tests.support.contract import run_python
from tests.support.delivery import (  # noqa: F401 - fixtures
    EXIT_CLOCK,
    adds_up,
    api_key_never_logged_fixture,
    assert_exit_sent,
    build_id,
    ids,
    item,
    make_delivery_fixture,
)
from tests.support.fake_api import Collector
from tests.support.key_site import Site
from tests.support.polling import wait_until

# -- 1. flush() after a log of the batch could not be built --------------------------------


def _build_or_fail(pending: Any) -> dict:
    if pending.to_exchange().id.startswith("bad"):
        raise ValueError("this log cannot be built")
    return build_id(pending)


@pytest.mark.parametrize("background", [pytest.param(True, id="background"),
                                        pytest.param(False, id="inline")])
def test_flush_says_false_for_a_log_dropped_before_it_was_called(
        collector: Collector, make_delivery: Any, background: bool) -> None:
    """Inline, a full batch is sent by the request that fills it: a log of it that could
    not be built was dropped before the flush at the end of the invocation, which found
    nothing waiting and said True (background mode too, once the sender was done). The
    flush answers for every log since the last flush's answer: False here, once."""
    delivery = make_delivery(collector.url, _build_or_fail, buffer_length=2,
                             background_worker_mode=background)
    assert delivery.submit(item("ok-1"))
    assert delivery.submit(item("bad-1"))  # the batch of two goes (inline: right here)
    wait_until(lambda: delivery.stats["queued"] == 0)
    assert delivery.stats["dropped_build_error"] == 1
    assert delivery.flush(5.0) is False
    assert delivery.flush(5.0) is True  # said once: nothing dropped since
    assert delivery.submit(item("ok-2"))
    assert delivery.flush(5.0) is True
    assert delivery.submit(item("ok-3"))
    assert delivery.submit(item("bad-2"))
    wait_until(lambda: delivery.stats["queued"] == 0)
    assert delivery.flush(5.0) is False
    assert sorted(ids(collector.logs)) == ["ok-1", "ok-2", "ok-3"]
    assert adds_up(delivery.stats)


# -- 2. Django: a response dropped unclosed in a reference cycle, at exit ------------------

# As test_delivery_exit's WSGI script (0a36944): gc.disable() stands for a cycle the GC
# has not reached by the exit; the interpreter's own collection comes after delivery closed.
DJANGO_CYCLE_EXIT = EXIT_CLOCK + textwrap.dedent("""
    import gc, sys, django
    from django.conf import settings
    from readme_metrics import MetricsApiConfig

    url, background, view = sys.argv[1], sys.argv[2] == "1", sys.argv[3]
    settings.configure(
        DEBUG=False, SECRET_KEY="x", ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__,
        MIDDLEWARE=["readme_metrics.django.MetricsMiddleware"],
        README_METRICS_CONFIG=MetricsApiConfig(
            api_key="rdme_exit_SECRET_key_5150", metrics_api=url, buffer_length=10,
            flush_interval=600, timeout=30, shutdown_timeout=1.0,
            background_worker_mode=background,
            grouping_function=lambda req: {"api_key": "caller"}))
    django.setup()
    from django.core.handlers.wsgi import WSGIHandler
    from django.http import HttpResponse, StreamingHttpResponse
    from django.urls import path
    from wsgiref.util import setup_testing_defaults

    urlpatterns = [path("streamed", lambda request: StreamingHttpResponse(iter([b"ok"]))),
                   path("plain", lambda request: HttpResponse(b"ok"))]
    handler = WSGIHandler()
    gc.collect()
    gc.disable()
    environ = {"PATH_INFO": "/" + view}
    setup_testing_defaults(environ)
    response = handler(environ, lambda status, headers, exc_info=None: None)
    holder = {"response": response}
    holder["self"] = holder  # the cycle: only the cyclic GC frees it
    del response, holder
    exit_begins()  # no flush(), no close(), no gc.collect(): exit must find it
""")


@pytest.mark.parametrize(("background", "view"), [
    pytest.param(True, "streamed", id="background-streamed"),
    pytest.param(False, "streamed", id="inline-streamed"),
    pytest.param(False, "plain", id="inline-plain"),
])
def test_a_django_response_dropped_unclosed_in_a_reference_cycle_is_sent_at_exit(
        collector: Collector, background: bool, view: str) -> None:
    """The WSGI capture's responses are counted open for the exit's one gc.collect();
    Django's (finished at close(), else by a weakref.finalize) were not: 0 of 1 logs
    delivered."""
    pytest.importorskip("django")
    child = run_python(DJANGO_CYCLE_EXIT, collector.url, "1" if background else "0",
                       view, timeout=60)
    assert_exit_sent(child, collector, 1)


# -- 3. background mode: a WSGI response read to its end, never closed ---------------------


def _streaming_app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"hello"


def test_a_response_read_to_its_end_in_background_mode_is_no_longer_counted_open(
        collector: Collector) -> None:
    """In background mode the log is queued when the iteration ends (test clients leave
    close() to the test); the response still counted open until closed or finalized, so
    an exit then ran a needless gc.collect(). Counted off once, whatever comes after."""
    middleware = MetricsMiddleware(_streaming_app, MetricsApiConfig(
        api_key="rdme_odds5_SECRET_key_0003", metrics_api=collector.url,
        grouping_function=lambda request: {"api_key": "caller"}, buffer_length=1))
    try:
        before = len(unclosed._open)
        environ = {"PATH_INFO": "/read"}
        setup_testing_defaults(environ)
        result = middleware(dict(environ), lambda status, headers, exc_info=None: None)
        assert len(unclosed._open) == before + 1
        assert b"".join(result) == b"hello"  # read to its end, not closed
        assert len(unclosed._open) == before
        assert list(result) == []  # asked again after its end: counted off once
        assert len(unclosed._open) == before
        collector.wait_for_logs(1)
        other = middleware(dict(environ), lambda status, headers, exc_info=None: None)
        assert len(unclosed._open) == before + 1  # another, still open
        result.close()  # the first one's close and finalizer count nothing off
        del result
        gc.collect()
        assert len(unclosed._open) == before + 1
        other.close()
        assert len(unclosed._open) == before
        collector.wait_for_logs(2)
        assert middleware.flush(5.0) is True
    finally:
        middleware.close()


# -- 4. background mode in a worker forked without Python's fork hooks (uWSGI) -------------

_DROPPED_IN_A_C_CHILD = textwrap.dedent("""
    import ctypes, gc, os, sys, threading, time, types
    sys.modules["uwsgi"] = types.ModuleType("uwsgi")  # (a server that forks in C: cpu21)
    from wsgiref.util import setup_testing_defaults
    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    def streamed(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"ok"

    middleware = MetricsMiddleware(streamed, MetricsApiConfig(
        api_key="rdme_odds5_SECRET_key_0004", metrics_api=sys.argv[1], buffer_length=1,
        grouping_function=lambda req: {"api_key": "caller"}))

    def call(path):
        environ = {"PATH_INFO": path}
        setup_testing_defaults(environ)
        return middleware(environ, lambda status, headers, exc_info=None: None)

    result = call("/master")  # the master serves once: its unclosed thread runs
    b"".join(result)
    result.close()
    middleware.flush(10.0)
    # A C fork() copies the GIL's own mutex held if another thread was taking or giving
    # up the GIL at that instant (under load: a thread waiting for it wakes every switch
    # interval), and the child then hangs at its first thread switch, bare CPython too:
    # fork once the master's other threads are parked in their waits (the library's
    # sender answered the flush and may still be running then).
    me = threading.get_ident()
    parked = 0
    for _ in range(1000):  # twice, a sleep apart: a thread just woken still shows its wait
        parked = parked + 1 if all(
            frame.f_code.co_name == "wait" or (frame.f_code.co_name == "_run"
                                               and frame.f_code.co_filename.endswith(
                                                   "unclosed.py"))
            for ident, frame in sys._current_frames().items() if ident != me) else 0
        if parked == 2:
            break
        time.sleep(0.01)
    pid = ctypes.PyDLL(None).fork()  # as uWSGI forks its workers: no Python fork hooks
    if pid == 0:
        result = call("/child")
        del result  # dropped unread and unclosed: its log waits for the finalizer
        gc.collect()
        delivery = middleware.pipeline.delivery

        def sent():  # by this process (its copy of the master's counts until then)
            return delivery._queue.counts["sent"] if delivery._pid == os.getpid() else 0

        deadline = time.monotonic() + 10.0
        while sent() < 1 and time.monotonic() < deadline:
            time.sleep(0.02)  # (not stats, flush or a request: each runs what waits)
        os.write(1, b"child sent: %d" % sent())
        os._exit(0)
    os.waitpid(pid, 0)
""")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_background_mode_in_a_child_forked_without_hooks_sends_a_dropped_response(
        collector: Collector) -> None:
    """A response dropped unclosed in such a child woke the master's thread, which is not
    there: its log waited for the child's next request (lost if none came before an
    os._exit or a SIGKILL). The child now starts its own thread at its first response."""
    result = run_python(_DROPPED_IN_A_C_CHILD, collector.url, timeout=60)
    assert "child sent: 1" in result.stdout, (result.stdout, result.stderr)
    urls = sorted(entry["request"]["log"]["entries"][0]["request"]["url"]
                  for entry in collector.wait_for_logs(2))
    assert [url.rsplit("/", 1)[1] for url in urls] == ["child", "master"]
    assert "rdme_odds5_SECRET_key_0004" not in result.stderr


# -- 5. the caller's key: short, across path segments; a flag after a "#" ------------------


@pytest.mark.parametrize(("key", "path", "query"), [
    pytest.param("k/42", "/keys/k/42/usage", "", id="slash-across-segments"),
    pytest.param("k/42", "/k/42", "a=1", id="slash-whole-path"),
    pytest.param("k/42", "/keys/k%2F42/usage", "", id="slash-encoded-in-one-segment"),
    pytest.param("a/b/c", "/x/a/b%2Fc", "", id="two-slashes-one-encoded"),
    pytest.param("k42", "/", "a=1#k42", id="flag-after-hash-in-a-value"),
    pytest.param("k42", "/", "a=1#k42&b=2", id="flag-after-hash-then-a-pair"),
    pytest.param("k42", "/p", "#k42", id="flag-after-hash-as-the-query"),
    pytest.param("k42", "/p#k42", "", id="flag-after-hash-in-the-path"),
    pytest.param("k42", "/", "a=1;k42", id="flag-after-semicolon"),
    pytest.param("k/42", "/", "a=1#k/42", id="slash-key-after-hash"),
])
def test_a_short_key_across_path_segments_or_after_a_hash_is_masked(
        site: Site, key: str, path: str, query: str) -> None:
    """A short key (fewer than 8 characters) is masked where a whole value equals it: a
    path segment, a pair's value or name, a ``k=v`` after a ``#``. One holding a ``/``
    spans segments (WSGI's PATH_INFO decodes ``%2F``), and a flag (a name alone) after a
    ``#`` is a fragment's flag: both went out in clear, in url and pageref (and
    queryString)."""
    entry, leaks = site.send(key, path, query)
    assert leaks == [], (entry["request"]["url"], entry["request"]["queryString"])
    assert entry["pageref"] == entry["request"]["url"]
    assert [{"name": name, "value": value} for name, value in parse_query(
        entry["request"]["url"].partition("?")[2])] == entry["request"]["queryString"]


@pytest.mark.parametrize(("key", "path", "query"), [
    pytest.param("k/42", "/k/420/x", "", id="longer-segment"),
    pytest.param("k/42", "/xk/42", "", id="segment-ending-with-it"),
    pytest.param("k42", "/p", "a=1#k42x&b=#k4", id="other-flags"),
    pytest.param("k42", "/p#section-2", "a=1#top", id="ordinary-fragments"),
])
def test_ordinary_urls_near_a_short_key_are_kept(site: Site, key: str, path: str,
                                                 query: str) -> None:
    """What the fix must not do: mask segments or fragments that are not the key (the
    key is in them, so the batch's search finds it: not a leak for a short key)."""
    entry, _ = site.send(key, path, query)
    assert mask(key) not in entry["request"]["url"]
    assert quote(mask(key), safe="") not in entry["request"]["url"]


@pytest.mark.parametrize(("key", "referer"), [
    pytest.param("k42", "http://x.test/p#k42", id="fragment"),
    pytest.param("k42", "http://x.test/p?a=1#k42", id="fragment-after-a-query"),
    pytest.param("k/42", "http://x.test/keys/k/42/x", id="slash-across-segments"),
])
def test_a_short_key_in_a_url_header_is_masked_alike(site: Site, key: str,
                                                     referer: str) -> None:
    """A header holding a URL is masked as the url is (a real fragment there)."""
    entry, leaks = site.send(key, "/", "", headers={"Referer": referer})
    assert leaks == [], entry["request"]["headers"]
