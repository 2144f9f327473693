"""review80: an adversarial read of the last session's redaction, URL, config and
collector landings (secrets19, spec29, newcomer15 + review78, the collector's HAR lock).

* (a) A caller's key of 4 to 7 characters is hidden in the library's lines where no
  letter or digit touches it (secrets19). A percent escape's or a backslash escape's
  last character is a letter or digit, though: ``next=%2Fkeys%2Fabcd``, repr's
  ``'x\\nabcd'``, ``\\xffabcd``, JSON's ``\\u0022abcd`` showed the key "abcd" in a
  "could not build a log" line and its traceback.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics._logging import hidden
from readme_metrics.cors import CORSMiddleware
from readme_metrics.request_id import RequestIdMiddleware
from tests import test_logging_secrets
from tests.support.contract import API_KEY, inline_options, reading_app
from tests.support.fake_api import Collector
from tests.support.wsgi_servers import served
from tests.test_logging_secrets import Lines, _build_error
from tests.test_secrets19_findings import SLASHED, USERS, _b64, _sent
from tests.test_spec29_acceptance import logged_url, plain_app, send_raw

#: test_logging_secrets' fixture: the lines a logger of the test's own takes.
lines = test_logging_secrets.lines


# -- (a) a short key after an escape ---------------------------------------------------------

ESCAPED = [
    pytest.param("abcd", "bad next=%2Fkeys%2Fabcd%2Fx", id="percent-escape-before"),
    pytest.param("abcd", "bad q=api_key%3Dabcd", id="percent-encoded-equals"),
    pytest.param("ab12", repr("x\nab12"), id="repr-newline"),
    pytest.param("ab1234", repr("tab\tab1234"), id="repr-tab"),
    pytest.param("abcd", repr(b"\xffabcd"), id="repr-bytes"),
    pytest.param("abcdefg", '{"a": "\\u0022abcdefg"}', id="json-unicode-escape"),
]


@pytest.mark.parametrize(("key", "message"), ESCAPED)
def test_a_short_key_after_an_escape_is_hidden_in_the_librarys_lines(
        lines: tuple[logging.Logger, Lines], key: str, message: str) -> None:
    logger, handler = lines
    _build_error(logger, "rdme_review80_project_key", key, message)
    quoting = [line for line in handler.lines
               if "could not build a log" in line or "Traceback" in line]
    assert len(quoting) == 2, handler.lines
    for line in quoting:
        assert key not in line, line
    assert "[REDACTED]" in quoting[0]


@pytest.mark.parametrize(("text", "key"), [
    ("no user xabcd at line abcdx", "abcd"),
    ("%2Fxabcd \\nabcde", "abcd"),
])
def test_a_short_key_inside_a_word_is_still_left(text: str, key: Any) -> None:
    assert hidden(text, [key]) == text


# -- (b) an absolute-form target with a query and no path ----------------------------------

ABSOLUTE = [
    ("http://api.example?next=/x", "http://api.example/?next=/x"),
    ("http://api.example?q=1", "http://api.example/?q=1"),
    ("http://api.example/p?next=/x", "http://api.example/p?next=/x"),
]


def logged_urls(collector: Collector, server: str, targets: list[str]) -> list[str]:
    """The urls logged for a GET of each request target, in turn, under ``server``."""
    middleware = MetricsMiddleware(plain_app, MetricsApiConfig(
        api_key=API_KEY, metrics_api=collector.url, **inline_options({})))
    urls = []
    try:
        with served(server, middleware) as port:
            for count, target in enumerate(targets):
                send_raw(port, f"GET {target} HTTP/1.1\r\nHost: api.example\r\n"
                               "Connection: close\r\n\r\n".encode())
                urls.append(logged_url(collector, count))
    finally:
        middleware.close()
    return urls


@pytest.mark.parametrize("server", ["wsgiref", "werkzeug", "waitress"])
def test_an_absolute_form_target_keeps_its_query(collector: Collector, server: str) -> None:
    targets = [target for target, _ in ABSOLUTE]
    assert logged_urls(collector, server, targets) == [url for _, url in ABSOLUTE]


# -- (c) the companions' variables with quotes or a comment ---------------------------------

QUOTES = ("it is between \" quotes, which are part of the value where nothing removes them "
          "(`docker run --env-file` keeps lines as written): write it without them")
COMMENT = ("it ends with a comment (' # ...'), which is part of the value where nothing "
           "removes it (`docker run --env-file` keeps lines as written): write it without "
           "the comment")


def _plain(environ: Any, start_response: Any) -> list[bytes]:
    start_response("200 OK", [])
    return []


@pytest.mark.parametrize(("variable", "text", "said"), [
    ("CORS_ALLOWED", '"https://app.example"', f"{QUOTES}, 'https://app.example'"),
    ("CORS_ALLOWED", '"https://a.example","https://b.example"',
     f"{QUOTES}, 'https://a.example,https://b.example'"),
    ("CORS_ALLOWED", "https://app.example # prod", f"{COMMENT}, 'https://app.example'"),
    ("CORS_ALLOW_METHODS", '"GET,POST"', f"{QUOTES}, 'GET,POST'"),
    ("CORS_MAX_AGE", '"600"', f"{QUOTES}, '600'"),
    ("CORS_ALLOW_CREDENTIALS", "true # yes", f"{COMMENT}, 'true'"),
    ("REQUEST_ID_HEADER", '"X-Req-Id"', f"{QUOTES}, 'X-Req-Id'"),
])
def test_a_companions_variable_with_quotes_or_a_comment_says_so(
        monkeypatch: pytest.MonkeyPatch, variable: str, text: str, said: str) -> None:
    monkeypatch.setenv(variable, text)
    middleware = RequestIdMiddleware if variable.startswith("REQUEST_ID") else CORSMiddleware
    with pytest.raises(ValueError) as refused:
        middleware(_plain)
    message = str(refused.value)
    assert f"({variable})" in message and "(from the environment)" in message
    assert said in message, message
    assert message.count("quotes") + message.count("comment") == said.count(
        "quotes") + said.count("comment"), message  # said once


def test_a_companions_plain_refusal_is_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ALLOWED", "app.example")
    with pytest.raises(ValueError) as refused:
        CORSMiddleware(_plain)
    assert str(refused.value) == (
        "readme_metrics: allowed_origins (CORS_ALLOWED) entries must be "
        "'scheme://host[:port]' or '*', got 'app.example' (from the environment)")


# -- (d) the collector's HAR lock: two forks, one that waited its _FORK_WAIT out --------------


def test_forks_from_two_threads_release_only_their_own_hold(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Thread B forks while the lock's open is held (a hung mount: its wait runs out, no
    hold); the open ends and thread C forks while B's fork is still under way (C holds).
    The holds were one list: B's after-fork took C's (True) and released a lock it did
    not hold (RuntimeError in os.fork's hook), C's took B's (False) and kept the lock for
    good: every later write of a HAR file in the process (``with _opening``) waited for
    ever. The hooks are called as os.fork calls them, in those threads."""
    from readme_metrics.cli.collector import har_file

    monkeypatch.setattr(har_file, "_FORK_WAIT", 0.05)
    opening = har_file._opening
    errors: list[BaseException] = []
    step = {name: threading.Event() for name in ("b_before", "c_before", "b_after")}

    def guarded(run: Callable[[], None]) -> Callable[[], None]:
        def call() -> None:
            try:
                run()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
        return call

    def thread_b() -> None:
        har_file._before_fork()  # waits its _FORK_WAIT out: the open holds the lock
        step["b_before"].set()
        step["c_before"].wait(10)
        har_file._after_fork_in_parent()
        step["b_after"].set()

    def thread_c() -> None:
        har_file._before_fork()  # the open has ended: holds the lock
        step["c_before"].set()
        step["b_after"].wait(10)
        har_file._after_fork_in_parent()

    opening.acquire()  # the hung open
    b = threading.Thread(target=guarded(thread_b))
    b.start()
    assert step["b_before"].wait(10)
    opening.release()  # the open ended
    c = threading.Thread(target=guarded(thread_c))
    c.start()
    b.join(10)
    c.join(10)
    assert errors == []
    # The lock is free again: another thread's write can take it.
    taken: list[bool] = []

    def take() -> None:
        taken.append(opening.acquire(timeout=1))
        if taken[-1]:
            opening.release()

    other = threading.Thread(target=take)
    other.start()
    other.join(10)
    assert taken == [True]


# -- (e) the key's base64 percent-encoded in a body ----------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", "application/xml"])
@pytest.mark.parametrize("side", ["request", "response"])
def test_the_keys_base64_percent_encoded_in_a_body_is_masked(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        content_type: str, side: str) -> None:
    import json
    from urllib.parse import quote

    for user in USERS:
        for safe, times in (("", 1), ("/", 1), ("", 2)):  # quote(value) keeps "/"
            encoded = quote(_b64(user + SLASHED), safe=safe)
            if times == 2:
                encoded = quote(encoded, safe="")
            text = f"see https://x.example/cb?auth=Basic%20{encoded}&n=1 now"
            body = (json.dumps({"link": text}) if content_type == "application/json"
                    else f"<a>{text}</a>" if content_type == "application/xml" else text)
            typed = [("Content-Type", content_type)]
            if side == "request":
                hits, log = _sent(collector, inline_wrap, SLASHED, method="POST",
                                  body=body.encode(), headers=dict(typed))
                written = log["request"]["log"]["entries"][0]["request"]["postData"]["text"]
            else:
                hits, log = _sent(collector, inline_wrap, SLASHED,
                                  reading_app("200 OK", typed, [body.encode()]))
                written = log["request"]["log"]["entries"][0]["response"]["content"]["text"]
            assert hits == [], written
            assert written.startswith(body[:body.index("Basic%20") + 8]), written
            assert written.endswith(body[body.index("&n=1"):]), written
            if content_type == "application/json":
                json.loads(written)


@pytest.mark.parametrize("where", ["query", "header value", "header name", "status text"])
def test_the_keys_base64_percent_encoded_twice_is_masked(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware], where: str
        ) -> None:
    from urllib.parse import quote

    for user in USERS:
        twice = quote(quote(_b64(user + SLASHED), safe=""), safe="")
        if where == "query":
            hits, log = _sent(collector, inline_wrap, SLASHED,
                              path="/cb", query=f"auth={twice}&n=1")
        elif where == "header value":
            hits, log = _sent(collector, inline_wrap, SLASHED,
                              headers={"X-Next": f"/x?auth={twice}"})
        elif where == "header name":
            hits, log = _sent(collector, inline_wrap, SLASHED, reading_app(
                "200 OK", [("Content-Type", "text/plain"), (f"X-{twice}", "1")]))
        else:
            hits, log = _sent(collector, inline_wrap, SLASHED, reading_app(
                f"401 Unknown token {twice}", [("Content-Type", "text/plain")]))
        assert hits == [], log["request"]["log"]["entries"][0]
