"""The library's own log lines never show the caller's key (SPEC 6 and 7).

The api_key the grouping function returned is masked wherever the HAR carries it; the
lines the library logs must not show it either. Two kinds of line could:

* "could not build a log": the exception's message, and the traceback at DEBUG, are
  logged to say what failed; they were scrubbed of the ReadMe API key only, and an
  exception raised while a log is built quotes request data (a ``KeyError`` names a
  header, a ``ValueError`` a field). The caller's key is hidden there too, in every
  spelling the HAR masking knows (percent- or form-encoded, JSON- or repr-escaped).
* tracebacks logged with ``exc_info`` ("could not record a request", "could not start
  capturing", ...): the handler formats them, message included, and the caller's key is
  not known there (the fault may come before the grouping function). Their messages are
  withheld: type and frames only, as the grouping function's tracebacks already were.

A short key (under 8 characters: ``1234``, a numeric id) is hidden where no letter or
digit touches it, or every "line 1234" of a traceback would go; one under 4 characters
(``k``, ``42``) only where a whole value is it (quoted, or the whole line: secrets19), or
the library's own words went ("could not build [REDACTED] log" for the key "a"); the
checks below read it so.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any, Callable, Iterator
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics._logging import MIN_FREE_TEXT_SECRET, LogLimiter, QuietLogger, hidden
from readme_metrics.asgi import MetricsMiddleware as AsgiMetricsMiddleware
from readme_metrics.delivery import Delivery
from readme_metrics.exchange import Exchange, Group
from readme_metrics.masking import utf8
from tests.support.asgi import http_scope, run
from tests.support.fake_api import Collector, free_port
from tests.support.wsgi import run_wsgi, wsgi_environ

API_KEY = "rdme_leak3_project_key"


class Lines(logging.Handler):
    """Every record, formatted as a handler with the default formatter writes it
    (``exc_info`` tracebacks included)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def lines() -> Iterator[tuple[logging.Logger, Lines]]:
    logger = logging.getLogger(f"tests.leak3.{id(object())}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    handler = Lines()
    logger.addHandler(handler)
    yield logger, handler
    logger.removeHandler(handler)


def _spellings(key: str) -> set[str]:
    data = utf8(key)
    return {key, quote(data, safe=""), quote_plus(data, safe=""), json.dumps(key)[1:-1],
            repr(key)[1:-1], repr(data)[2:-1]}


def shows(text: str, key: str) -> bool:
    """Whether ``text`` shows ``key`` (a short key: where no letter or digit touches it;
    one under MIN_FREE_TEXT_SECRET characters: as a whole value, quoted)."""
    for spelling in _spellings(key):
        written = re.escape(spelling)
        if len(key) >= 8:
            if spelling in text:
                return True
        elif len(key) < MIN_FREE_TEXT_SECRET:
            if re.search(rf"'{written}'|\"{written}\"", text):
                return True
        elif re.search(r"(?<![^\W_])" + written + r"(?![^\W_])", text):
            return True
    return False


# -- "could not build a log" -------------------------------------------------------------


def _raising(key: str, how: str) -> Callable[[Any], dict]:
    """A build that fails as HAR building might, its exception quoting the caller's key."""
    def build(pending: Any) -> dict:
        if how == "key-error":
            raise KeyError(key)
        if how == "value-error":
            raise ValueError(f"invalid literal for int() with base 10: {key!r}")
        if how == "quoted":
            raise ValueError(f"bad query api_key={quote_plus(key)}&x={quote(key, safe='')}")
        if how == "json":
            raise ValueError(f"cannot read {json.dumps({'k': key})}")
        if how == "bytes":
            raise UnicodeError(f"cannot decode {utf8(key)!r}")
        try:
            raise LookupError(f"no caller {key}")
        except LookupError as cause:  # chained: both messages in the traceback
            raise RuntimeError(f"build failed for {key}") from cause
    return build


def _built(logger: logging.Logger, build: Callable[[Any], dict], caller: str,
           api_key: str = API_KEY) -> None:
    """One exchange of ``caller`` delivered with ``build`` (to a port nothing listens
    on), its lines to ``logger``."""
    config = MetricsApiConfig(api_key=api_key, grouping_function=lambda req: None,
                              metrics_api=f"http://127.0.0.1:{free_port()}",
                              logger=logger, flush_interval=0, shutdown_timeout=1.0)
    delivery = Delivery(config, build)
    try:
        delivery.submit(Exchange(id="x", started=0.0, method="GET", url="http://api.test/",
                                 http_version="HTTP/1.1", request_headers=[],
                                 client_ip="127.0.0.1", group=Group(caller)))
        delivery.flush(5.0)
    finally:
        delivery.close()


_KEYS = st.one_of(
    st.text(min_size=1, max_size=24).filter(lambda key: key.strip() != ""),
    st.from_regex(r"[A-Za-z0-9_\-]{8,40}", fullmatch=True),
    st.integers(0, 10**12).map(str),
)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(key=_KEYS, how=st.sampled_from(["key-error", "value-error", "quoted", "json",
                                        "bytes", "chained"]))
def test_could_not_build_a_log_never_shows_the_callers_key(
        lines: tuple[logging.Logger, Lines], key: str, how: str) -> None:
    logger, handler = lines
    handler.lines.clear()
    _built(logger, _raising(key, how), key)
    # The two lines are there, the key hidden in them (a short key may stand alone in
    # other lines, "orjson 3.10.0", which quote no request data).
    quoting = [line for line in handler.lines
               if "could not build a log" in line or "Traceback" in line]
    assert len(quoting) == 2, handler.lines
    for line in quoting:
        assert not shows(line, key), line
        assert API_KEY not in line


def test_could_not_build_a_log_still_says_what_failed(
        lines: tuple[logging.Logger, Lines]) -> None:
    logger, handler = lines
    _built(logger, _raising("owlbert-caller-key", "value-error"), "owlbert-caller-key")
    assert ("ERROR readme_metrics: could not build a log, dropping it: ValueError: invalid "
            "literal for int() with base 10: '[REDACTED]'") in handler.lines


@pytest.mark.parametrize(("text", "key", "expected"), [
    pytest.param("no user 4242 at line 42420", "4242", "no user [REDACTED] at line 42420",
                 id="short-key-alone-only"),
    pytest.param("no user 42 ('42') at line 420", "42", "no user 42 ('[REDACTED]') at line 420",
                 id="very-short-key-a-whole-value-only"),
    pytest.param("could not build a log: a", "a", "could not build a log: a",
                 id="very-short-key-not-in-words"),
    pytest.param("k", "k", "[REDACTED]", id="very-short-key-the-whole-line"),
    pytest.param("k=owlbert-key-1&x=owlbert-key-12", "owlbert-key-1",
                 "k=[REDACTED]&x=[REDACTED]2", id="long-key-anywhere"),
    pytest.param("D]xxxxxxxxxxxx", "D]xxxxxx", "[REDACTE[REDACTED]",
                 id="the-marker-completes-it"),
    pytest.param("ab%2Fcd ab+cd", "ab/cd", "[REDACTED] ab+cd", id="percent-encoded"),
])
def test_hidden(text: str, key: str, expected: str) -> None:
    assert hidden(text, [key]) == expected


# -- tracebacks logged with exc_info ----------------------------------------------------------


SECRET = "owlbert-caller-secret"


@pytest.mark.parametrize("call", [
    pytest.param(lambda log: log.exception("readme_metrics: could not record a request"),
                 id="exception"),
    pytest.param(lambda log: log.debug("readme_metrics: grouping failed", exc_info=True),
                 id="debug-exc-info"),
    pytest.param(lambda log: log.error("readme_metrics: %s", "failed",
                                       exc_info=KeyError(SECRET)), id="an-exception-given"),
    pytest.param(lambda log: LogLimiter(log, None).log(logging.WARNING, "k", "a %s", "b",
                                                       exc_info=True), id="limiter"),
])
def test_quiet_logger_tracebacks_withhold_the_message(
        lines: tuple[logging.Logger, Lines], call: Callable[[QuietLogger], Any]) -> None:
    logger, handler = lines
    try:
        try:
            raise KeyError(SECRET)
        except KeyError as inner:
            raise ValueError(f"no caller {SECRET}") from inner
    except ValueError:
        call(QuietLogger(logger))
    (line,) = handler.lines
    assert SECRET not in line, line
    assert "Traceback (most recent call last)" in line and "(message withheld)" in line


def test_quiet_logger_below_the_level_formats_nothing(
        lines: tuple[logging.Logger, Lines]) -> None:
    logger, handler = lines
    logger.setLevel(logging.INFO)
    try:
        raise KeyError(SECRET)
    except KeyError:
        QuietLogger(logger).debug("readme_metrics: grouping failed", exc_info=True)
    assert handler.lines == []


def _fault(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    """A fault of the library's while a log is queued, quoting the caller's key (as a
    bug reading the request would)."""
    def pending(*args: Any, **kwargs: Any) -> Any:
        group = next(arg for arg in args if isinstance(arg, Group))
        raise KeyError(group.id)
    monkeypatch.setattr(f"readme_metrics.capture.{module}.Pending", pending)


def test_could_not_record_a_request_never_shows_the_callers_key_wsgi(
        collector: Collector, lines: tuple[logging.Logger, Lines],
        monkeypatch: pytest.MonkeyPatch) -> None:
    logger, handler = lines
    _fault(monkeypatch, "wsgi_exchange")

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    middleware = MetricsMiddleware(app, MetricsApiConfig(
        api_key=API_KEY, grouping_function=lambda req: {"api_key": req.headers["X-Key"]},
        metrics_api=collector.url, base_log_url="https://docs.test", logger=logger))
    try:
        result = run_wsgi(middleware, wsgi_environ(headers={"X-Key": SECRET}))
    finally:
        middleware.close()
    assert (result.status, result.body, result.error) == ("200 OK", b"ok", None)
    assert "could not record a request" in handler.text
    assert SECRET not in handler.text, handler.text


def test_could_not_record_a_request_never_shows_the_callers_key_asgi(
        collector: Collector, lines: tuple[logging.Logger, Lines],
        monkeypatch: pytest.MonkeyPatch) -> None:
    logger, handler = lines
    _fault(monkeypatch, "asgi_end")  # (where the log is queued)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    middleware = AsgiMetricsMiddleware(app, MetricsApiConfig(
        api_key=API_KEY, grouping_function=lambda req: {"api_key": req.headers["x-key"]},
        metrics_api=collector.url, base_log_url="https://docs.test", logger=logger))
    try:
        ran = asyncio.run(run(middleware, http_scope(headers=[(b"x-key", SECRET.encode())])))
    finally:
        middleware.close()
    assert ran.error is None and ran.body == b"ok"
    assert "could not record a request" in handler.text
    assert SECRET not in handler.text, handler.text


# -- a 1 to 3 character key: whole values only (secrets19) --------------------------------


def _build_error(logger: logging.Logger, api_key: str, caller: str, message: str) -> None:
    """A log whose build raises ``ValueError(message)``: "could not build a log"."""
    def build(pending: Any) -> dict[str, Any]:
        raise ValueError(message)

    _built(logger, build, caller, api_key)


@pytest.mark.parametrize(("api_key", "caller"), [
    ("k", "caller-key-0001"), ("ok", "caller-key-0001"), ("rdme_secrets19_key", "a"),
    ("rdme_secrets19_key", "log"),
])
def test_a_short_key_leaves_the_librarys_words_alone(
        lines: tuple[logging.Logger, Lines], api_key: str, caller: str) -> None:
    logger, handler = lines
    _build_error(logger, api_key, caller, "bad token in a log, ok")
    said = "readme_metrics: could not build a log, dropping it: ValueError: bad token in a log, ok"
    assert "ERROR " + said in handler.lines, handler.lines


@pytest.mark.parametrize("short", ["k", "42", "abc"])
def test_a_short_key_is_still_hidden_where_a_whole_value_is_it(
        lines: tuple[logging.Logger, Lines], short: str) -> None:
    logger, handler = lines
    _build_error(logger, "rdme_secrets19_key", short, f"no caller {short!r} (of {short})")
    said = ("readme_metrics: could not build a log, dropping it: ValueError: no caller "
            f"'[REDACTED]' (of {short})")
    assert "ERROR " + said in handler.lines, handler.lines
    assert hidden(short, [short]) == "[REDACTED]"
    assert hidden(json.dumps({"id": short}), [short]) == '{"id": "[REDACTED]"}'
