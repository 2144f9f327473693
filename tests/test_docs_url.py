"""The x-documentation-url base: configured, or looked up once off the request path."""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any, Callable, Optional

import pytest
import requests

from readme_metrics import MetricsMiddleware, docs_url
from readme_metrics import config as config_module
from readme_metrics.config import MetricsApiConfig
from readme_metrics.docs_url import DocsUrl
from tests.support.contract import DOCS as CONTRACT_DOCS
from tests.support.contract import documentation_url, hit
from tests.support.fake_api import Collector, Received, Reply, basic_auth, free_port
from tests.support.polling import wait_until
from tests.support.threads import no_thread_starts
from tests.support.tls import TLSCollector, make_certificates

DOCS = b'{"baseUrl": "https://docs.example.com/"}'


class Records(logging.Handler):
    """Collects a logger's records and lets a test wait for the next one."""

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__(logging.DEBUG)
        self.logger = logger
        self.records: list[logging.LogRecord] = []
        self.cond = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self.cond:
            self.records.append(record)
            self.cond.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[logging.LogRecord]:
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.records) >= count, timeout):
                raise AssertionError(f"expected {count} log records, got {self.records}")
            return list(self.records)

    def text(self) -> str:
        return "\n".join(self.format(r) + repr(r.args) for r in self.records)


@pytest.fixture
def records() -> Iterator[Records]:
    logger = logging.getLogger(f"readme_metrics.test.{uuid.uuid4().hex}")
    handler = Records(logger)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Move the back-off clock forward without sleeping."""
    offset = [0.0]
    real = time.monotonic
    monkeypatch.setattr(docs_url, "_clock", lambda: real() + offset[0])

    def advance(seconds: float) -> None:
        offset[0] += seconds

    return advance


def make_config(api_url: str, records: Optional[Records] = None, **options: Any
                ) -> MetricsApiConfig:
    logger = records.logger if records is not None else None
    return MetricsApiConfig(
        api_key=options.pop("api_key", f"rdme_{uuid.uuid4().hex}"),
        grouping_function=lambda req: {"api_key": "x"},
        readme_api_url=api_url,
        logger=logger,
        **options,
    )


def wait_for_base(docs: DocsUrl, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        base = docs.base()
        if base is not None:
            return base
        time.sleep(0.01)
    raise AssertionError("the docs URL was never looked up")


def test_base_log_url_is_used_without_any_lookup(collector: Collector) -> None:
    config = make_config(collector.url, base_log_url="https://docs.example.com/")
    assert DocsUrl(config).base() == "https://docs.example.com"
    assert collector.gets == []


def test_lookup_runs_once_with_basic_auth_and_is_shared(collector: Collector) -> None:
    collector.get_v1 = lambda received: Reply(200, DOCS)
    config = make_config(collector.url)
    docs = DocsUrl(config)

    assert docs.base() is None  # not known yet: the caller is never made to wait
    assert wait_for_base(docs) == "https://docs.example.com"
    assert [(g.path, g.headers.get("Authorization")) for g in collector.gets] == [
        ("/v1", basic_auth(config.api_key))
    ]
    assert "readme-metrics-python@" in collector.gets[0].headers["User-Agent"]

    # Another middleware with the same key (another config object) shares the answer.
    again = DocsUrl(make_config(collector.url, api_key=config.api_key))
    assert again.base() == "https://docs.example.com"
    for _ in range(50):
        docs.base()
    assert len(collector.gets) == 1

    # A different key is a different project: its own lookup.
    other = DocsUrl(make_config(collector.url))
    assert wait_for_base(other) == "https://docs.example.com"
    assert len(collector.gets) == 2


@pytest.mark.parametrize("api_key", ["rdme_clé_ü", "rdme_ключ", "rdme_鍵_🔑"])
def test_the_lookup_sends_a_non_ascii_key_as_the_posts_do(
        collector: Collector, api_key: str) -> None:
    # requests' auth=(key, "") encodes the key as latin-1: it raised for the last two,
    # and sent latin-1 bytes for the first, where the POSTs send the key as UTF-8.
    collector.get_v1 = lambda received: Reply(200, DOCS)
    docs = DocsUrl(make_config(collector.url, api_key=api_key))
    assert wait_for_base(docs) == "https://docs.example.com"
    assert [g.headers.get("Authorization") for g in collector.gets] == [basic_auth(api_key)]


def test_concurrent_callers_start_one_lookup_and_never_block(collector: Collector) -> None:
    release = threading.Event()

    def slow(received: Received) -> Reply:
        release.wait(10)
        return Reply(200, DOCS)

    collector.get_v1 = slow
    docs = DocsUrl(make_config(collector.url))
    answers: list[Optional[str]] = []

    def call() -> None:
        for _ in range(20):
            answers.append(docs.base())

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    # Every call returned while the lookup was still hanging on the server.
    assert answers == [None] * 160
    release.set()
    assert wait_for_base(docs) == "https://docs.example.com"
    assert len(collector.gets) == 1


def test_the_given_session_is_used(collector: Collector) -> None:
    collector.get_v1 = lambda received: Reply(200, DOCS)
    session = requests.Session()
    session.headers["X-Probe"] = "from-session"
    docs = DocsUrl(make_config(collector.url), session=session)
    wait_for_base(docs)
    assert collector.gets[0].headers.get("X-Probe") == "from-session"
    session.close()


FAILURES = [
    pytest.param(lambda r: Reply(500, b"oops"), "HTTP 500", id="server-error"),
    pytest.param(lambda r: Reply(401, b'{"error":"APIKEY_NOTFOUND"}'),
                 "HTTP 401 (the API key was refused)", id="unauthorized"),
    pytest.param(lambda r: Reply(403, b'{"error":"no"}'), "HTTP 403 (the API key was refused)",
                 id="forbidden"),
    pytest.param(lambda r: Reply(200, b"<html>"), "baseUrl", id="not-json"),
    pytest.param(lambda r: Reply(200, b'["https://x.example"]'), "baseUrl", id="json-list"),
    pytest.param(lambda r: Reply(200, b'{"name": "x"}'), "baseUrl", id="no-base-url"),
    pytest.param(lambda r: Reply(200, b'{"baseUrl": "javascript:alert(1)"}'), "baseUrl",
                 id="base-url-not-http"),
    pytest.param(lambda r: Reply(200, b'{"baseUrl": 42}'), "baseUrl", id="base-url-number"),
    pytest.param(lambda r: Reply(200, DOCS, hang=2.0), "Timeout", id="timeout"),
    pytest.param(lambda r: Reply(drop=True), "ConnectionError", id="connection-dropped"),
    pytest.param(None, "ConnectionError", id="connection-refused"),
]


@pytest.mark.parametrize(("reply", "reason"), FAILURES)
def test_failures_are_logged_retried_later_then_succeed(
    collector: Collector,
    records: Records,
    clock: Callable[[float], None],
    reply: Optional[Callable[[Received], Reply]],
    reason: str,
) -> None:
    url = collector.url if reply is not None else f"http://127.0.0.1:{free_port()}"
    collector.get_v1 = reply
    config = make_config(url, records, timeout=0.3)
    docs = DocsUrl(config)

    assert docs.base() is None
    [warning] = records.wait_for(1)
    assert warning.levelno == logging.WARNING
    assert reason in records.text()
    assert config.api_key not in records.text()

    # Not hammered: more requests before the back-off has passed start no lookup.
    clock(30)
    for _ in range(20):
        assert docs.base() is None
    assert len(records.records) == 1
    lookups = len(collector.gets)
    assert lookups == (1 if reply is not None else 0)

    # Not cached forever: after the back-off the next request tries again.
    collector.get_v1 = lambda received: Reply(200, DOCS)
    clock(31)
    if reply is None:  # nothing listens there: the retry is a second failed attempt
        assert docs.base() is None
        records.wait_for(2)
        assert "next try in 120 s" in records.text()
        return
    assert wait_for_base(docs) == "https://docs.example.com"
    assert len(collector.gets) == lookups + 1


def test_an_endless_answer_is_not_read_into_memory(records: Records) -> None:
    # Delivery reads at most MAX_CONTENT of an answer so that a misbehaving API cannot
    # grow the process's memory (SPEC 7); the lookup read all of it (then failed on the
    # JSON). Judged by how much the server could send before the client hung up.
    size = 64 * 1024 * 1024
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    sent = [0]

    def endless() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)  # the GET
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n" % size)
            piece = b" " * (1024 * 1024)
            try:
                while sent[0] < size:
                    conn.sendall(piece)
                    sent[0] += len(piece)
            except OSError:  # the client hung up
                pass

    server = threading.Thread(target=endless, daemon=True)
    server.start()
    docs = DocsUrl(make_config(f"http://127.0.0.1:{listener.getsockname()[1]}", records,
                               timeout=30.0))
    try:
        assert docs.base() is None
        records.wait_for(1, timeout=60.0)
        server.join(30)
    finally:
        listener.close()
    assert sent[0] < size // 4, sent[0]  # a few MiB in socket buffers, not 64
    assert "more than 65536 bytes" in records.text()


def test_back_off_doubles_per_consecutive_failure(
    collector: Collector, records: Records, clock: Callable[[float], None]
) -> None:
    collector.get_v1 = lambda received: Reply(503)
    docs = DocsUrl(make_config(collector.url, records))

    docs.base()
    records.wait_for(1)
    clock(61)
    docs.base()
    records.wait_for(2)
    assert len(collector.gets) == 2

    clock(61)  # the second wait is 120 s
    docs.base()
    assert len(collector.gets) == 2 and len(records.records) == 2
    clock(60)
    docs.base()
    records.wait_for(3)
    assert len(collector.gets) == 3
    assert "next try in 240 s" in records.text()


def test_a_forked_child_does_not_inherit_a_running_lookup(collector: Collector) -> None:
    release = threading.Event()

    def slow(received: Received) -> Reply:
        release.wait(10)
        return Reply(200, DOCS)

    collector.get_v1 = slow
    docs = DocsUrl(make_config(collector.url))
    docs.base()
    # What os.fork runs in the child: the parent's lookup thread does not exist there.
    docs_url._after_fork_in_child()
    collector.get_v1 = lambda received: Reply(200, DOCS)
    assert wait_for_base(docs) == "https://docs.example.com"
    release.set()


@pytest.mark.parametrize("metrics_api", ["https://metrics.example", "http://127.0.0.1:9"],
                         ids=["base-known", "loopback-no-lookup"])
def test_the_request_path_does_not_parse_metrics_api_per_response(
        monkeypatch: pytest.MonkeyPatch, metrics_api: str) -> None:
    # base() runs on the request path for every logged response. Whether a lookup may be
    # made (no readme_api_url given: is metrics_api a loopback address?) parsed the URL
    # each time, before the cached base was even read: 3.5 us per request. Nothing is
    # sent here: the base is known, or no lookup is made.
    config = MetricsApiConfig(api_key=f"rdme_{uuid.uuid4().hex}",
                              grouping_function=lambda req: None, metrics_api=metrics_api)
    known = None if "127.0.0.1" in metrics_api else "https://docs.example.com"
    monkeypatch.setitem(docs_url._states, docs_url._cache_key(config),
                        docs_url._State(base=known))
    parsed: list[str] = []
    real = config_module.is_loopback_url
    monkeypatch.setattr(config_module, "is_loopback_url",
                        lambda url: parsed.append(url) or real(url))
    docs = DocsUrl(config)
    assert [docs.base() for _ in range(50)] == [known] * 50
    assert len(parsed) <= 1, len(parsed)


# -- the x-documentation-url header through the middleware (SPEC 7, black box) -------------


def test_documentation_url_from_base_log_url_names_the_logs_id(
        collector: Collector, background_wrap: Callable[..., MetricsMiddleware]) -> None:
    """SPEC 7: x-documentation-url: {base}/logs/{_id}; base_log_url needs no lookup."""
    middleware = background_wrap(buffer_length=1, base_log_url=CONTRACT_DOCS + "/")
    result = hit(middleware, "/a")
    assert middleware.flush(10.0) is True
    [log] = collector.logs
    assert documentation_url(result) == f"{CONTRACT_DOCS}/logs/{log['_id']}"
    assert uuid.UUID(log["_id"]).version == 4
    assert collector.gets == []


def test_documentation_url_lookup_keeps_the_api_url_path(
        collector: Collector, background_wrap: Callable[..., MetricsMiddleware]) -> None:
    """The default readme_api_url is https://dash.readme.com/api: the lookup must go to
    /api/v1 under it, not to the host's /v1."""
    middleware = background_wrap(api_key=f"rdme_path_{uuid.uuid4().hex}", buffer_length=1,
                      base_log_url=None, readme_api_url=collector.url + "/api")
    assert documentation_url(hit(middleware, "/")) is None
    wait_until(lambda: bool(collector.gets), timeout=15.0)
    assert collector.gets[0].path == "/api/v1"


# -- redirects: the lookup carries the API key ------------------------------------------------


def _moved(received: Received) -> Reply:
    """/v1 moved to /v1/moved on the same host."""
    if received.path == "/v1/moved":
        return Reply(200, DOCS)
    return Reply(301, headers={"Location": "/v1/moved"})


def test_the_lookup_follows_a_redirect_on_its_own_host(collector: Collector) -> None:
    collector.get_v1 = _moved
    config = make_config(collector.url)
    docs = DocsUrl(config)
    assert docs.base() is None
    assert wait_for_base(docs) == "https://docs.example.com"
    auth = basic_auth(config.api_key)
    assert [(g.path, g.headers.get("Authorization")) for g in collector.gets] == [
        ("/v1", auth), ("/v1/moved", auth)]


def test_the_lookup_follows_at_most_a_few_redirects(
        collector: Collector, records: Records) -> None:
    # A redirect loop on the API's own host: requests alone followed 30 of them.
    collector.get_v1 = lambda received: Reply(
        302, headers={"Location": f"/v1?hop={len(collector.gets)}"})
    docs = DocsUrl(make_config(collector.url, records))
    assert docs.base() is None
    records.wait_for(1)
    assert len(collector.gets) == 4, len(collector.gets)  # the GET and 3 redirects
    assert "redirected more than 3 times" in records.text()
    assert docs.base() is None


@pytest.fixture
def elsewhere() -> Iterator[Collector]:
    """Another server, on another host name than the API's (localhost, not 127.0.0.1)."""
    server = Collector().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("how", ["another-host", "https-to-http"])
def test_the_lookup_never_follows_a_redirect_off_its_host_or_to_plain_http(
        collector: Collector, elsewhere: Collector, records: Records, how: str,
        tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # The key must not go to another host, nor in clear to the same one. requests
    # followed both (without the key, which it drops when host or scheme change; with
    # a .netrc entry for the other host, it sent that one).
    if how == "https-to-http":  # the API behind TLS at https://localhost, to http://localhost
        certificates = make_certificates(tmp_path_factory.mktemp("certificates"))
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificates.ca))
        api: Collector = TLSCollector(certificates).start()
        target = f"http://localhost:{elsewhere.port}/v1"
    else:  # the API at http://127.0.0.1, to http://localhost
        api = collector
        target = f"http://localhost:{elsewhere.port}/v1"
    try:
        api.get_v1 = lambda received: Reply(302, headers={"Location": target})
        config = make_config(api.url, records)
        docs = DocsUrl(config)
        assert docs.base() is None
        records.wait_for(1)
    finally:
        if api is not collector:
            api.stop()
    assert len(api.gets) == 1 and elsewhere.gets == []
    text = records.text()
    assert ("redirected from https to http" if how == "https-to-http"
            else "redirected to another host (http://localhost)") in text, text
    assert config.api_key not in text
    assert docs.base() is None


def test_a_failed_lookup_never_logs_the_password_of_its_url(
        collector: Collector, records: Records) -> None:
    """README_API_URL may carry a user and password (a proxy's, or a gateway's, in front
    of ReadMe's API): the warning quoted the URL whole (leak2)."""
    collector.get_v1 = lambda received: Reply(404)
    url = collector.url.replace("http://", "http://owl:pw-s3cr3t@")
    DocsUrl(make_config(url, records)).base()
    records.wait_for(1)
    text = records.text()
    assert "could not look up" in text and f"127.0.0.1:{collector.port}" in text
    assert "s3cr3t" not in text and "owl:" not in text, text


def test_where_no_lookup_thread_starts_the_header_waits_and_the_lookup_is_tried_later(
        collector: Collector, records: Records, clock: Callable[[float], None],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A thread limit (or Python 3.12+'s exit): the request goes on without the header,
    # said once, and a request after the back-off tries again (once threads start).
    collector.get_v1 = lambda received: Reply(200, DOCS)
    docs = DocsUrl(make_config(collector.url, records))
    with monkeypatch.context() as patch:
        refused = no_thread_starts(patch, "readme-metrics-docs-url")
        for _ in range(3):
            assert docs.base() is None
    assert refused == ["readme-metrics-docs-url"]  # once: then the back-off
    [warning] = records.records
    assert "could not start the lookup thread" in warning.getMessage()
    assert collector.gets == []
    clock(docs_url.RETRY_AFTER + 1)
    assert docs.base() is None
    assert wait_for_base(docs) == "https://docs.example.com"
