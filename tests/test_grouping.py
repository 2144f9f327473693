"""The grouping function's errors (SPEC section 6): contained, reported once, no values."""

from __future__ import annotations

import logging
from typing import Any, Callable

import pytest
from webob import Request

from readme_metrics.grouping import Identifier
from tests.support.contract import no_log_sent, reading_app
from tests.support.fake_api import Collector
from tests.support.wsgi import run_wsgi, wsgi_environ

SECRET = "caller-secret-key"
LOGGER = logging.getLogger("readme_metrics")


def request() -> Request:
    return Request.blank("/pets?api_key=" + SECRET, headers={"X-Api-Key": SECRET})


def raises_key_error(req: Any) -> dict[str, str]:
    # The KeyError's message is the caller's key (no comment on the raising line: the
    # traceback shows source lines, and this test looks for the key in the log).
    return {"api_key": {}[req.headers["X-Api-Key"]]}


def raises_chained(req: Any) -> dict[str, str]:
    try:
        raises_key_error(req)
    except KeyError as exc:
        raise RuntimeError(f"no user for {req.headers['X-Api-Key']}") from exc
    return {}


def raises_in_a_library(req: Any) -> dict[str, str]:
    return {"api_key": req.headers["X-Missing-Header"]}


def line_of(function: Callable[..., Any], text: str) -> int:
    """The line number of the first line of ``function``'s file containing ``text``."""
    code = function.__code__
    with open(code.co_filename, encoding="utf-8") as source:
        for number, line in enumerate(source, 1):
            if number >= code.co_firstlineno and text in line:
                return number
    raise AssertionError(text)


def everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(record.getMessage() + repr(record.args) for record in caplog.records)


@pytest.mark.parametrize("function, kind, raised_in, raised_at", [
    pytest.param(raises_key_error, "KeyError", "raises_key_error", "{}[req.headers",
                 id="key-error"),
    pytest.param(raises_chained, "RuntimeError", "raises_chained", "raise RuntimeError",
                 id="chained"),
])
def test_a_raising_grouping_function_logs_type_and_place_never_values(
        caplog: pytest.LogCaptureFixture, function: Callable[[Any], Any], kind: str,
        raised_in: str, raised_at: str) -> None:
    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    identify = Identifier(function, LOGGER)
    assert identify(request()) is None
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    message = errors[0].getMessage()
    place = f"{__file__}:{line_of(function, raised_at)} in {raised_in}"
    assert message == (f"the grouping function raised {kind} at {place}; the request is "
                       "not logged (traceback at DEBUG level)")
    [debug] = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert "Traceback (most recent call last)" in debug and kind in debug
    assert f'line {line_of(function, raised_at)}, in {raised_in}' in debug
    if function is raises_chained:  # the cause is shown too, by type and place
        assert "builtins.KeyError" in debug and "in raises_key_error" in debug
        assert "direct cause of the following" in debug
    assert SECRET not in everything_logged(caplog)


def test_an_error_raised_in_a_library_names_the_grouping_functions_line_too(
        caplog: pytest.LogCaptureFixture) -> None:
    # webob raises the KeyError; the line to fix is the grouping function's.
    identify = Identifier(raises_in_a_library, LOGGER)
    assert identify(request()) is None
    [error] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    user = f"{__file__}:{line_of(raises_in_a_library, 'X-Missing-Header')} in raises_in_a_library"
    assert error.startswith("the grouping function raised KeyError at ")
    assert "webob" in error.split(", from ")[0]
    assert error.endswith(f", from {user}; the request is not logged (traceback at DEBUG "
                          "level)")


def test_the_traceback_is_only_built_for_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="readme_metrics")
    Identifier(raises_key_error, LOGGER)(request())
    assert [r.levelno for r in caplog.records] == [logging.ERROR]


def test_the_same_error_is_logged_once_and_a_new_place_again(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    first, second = Identifier(raises_key_error, LOGGER), Identifier(raises_chained, LOGGER)
    for _ in range(5):
        assert first(request()) is None
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 1
    second(request())
    second(request())
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2 and "RuntimeError" in errors[1]


@pytest.mark.parametrize("result, level, text", [
    pytest.param("caller", logging.ERROR, "must return a mapping or None, got str",
                 id="a-string"),
    pytest.param({"label": "no key"}, logging.ERROR, "returned no 'api_key'", id="no-key"),
    pytest.param({"api_key": "k", "plan": SECRET}, logging.WARNING,
                 "returned unknown keys plan; they are dropped", id="unknown-key"),
])
def test_bad_results_are_reported_once_without_a_doubled_prefix(
        caplog: pytest.LogCaptureFixture, result: Any, level: int, text: str) -> None:
    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    identify = Identifier(lambda req: result, LOGGER)
    for _ in range(3):
        identify(request())
    [record] = caplog.records
    assert record.levelno == level and text in record.getMessage()
    # The logger's name already says readme_metrics; formatters that print it (the usual
    # "%(name)s: %(message)s") would show it twice.
    assert not record.getMessage().startswith("readme_metrics")
    assert SECRET not in everything_logged(caplog)


def test_a_message_with_percent_signs_is_logged_as_is(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    Identifier(lambda req: {"api_key": "k", "100%s": 1}, LOGGER)(request())
    assert "unknown keys 100%s;" in caplog.records[0].getMessage()


# -- through the middleware: the app never notices (SPEC 6, black box) ---------------------


@pytest.mark.parametrize("grouping, message", [
    pytest.param(lambda req: 1 / 0, "ZeroDivisionError", id="raises"),
    pytest.param(lambda req: "caller", "str", id="returns-a-string"),
    pytest.param(lambda req: ["api_key", "x"], "list", id="returns-a-list"),
    pytest.param(lambda req: {"label": "no key"}, "api_key", id="no-api-key"),
])
def test_bad_grouping_function_is_contained_and_reported_once(
        inline_wrap: Any, collector: Collector, caplog: pytest.LogCaptureFixture,
        grouping: Callable[[Any], Any], message: str) -> None:
    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    middleware = inline_wrap(reading_app(), grouping_function=grouping)
    for _ in range(3):
        result = run_wsgi(middleware, wsgi_environ())
        assert (result.status, result.body, result.error) == ("200 OK", b"ok", None)
        assert result.header("x-documentation-url") == []
    no_log_sent(middleware, collector)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and message in errors[0].getMessage()
