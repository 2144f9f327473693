"""The grouping function's errors (SPEC section 6): contained, reported once, no values."""

from __future__ import annotations

import importlib
import json
import logging
import math
import sys
from collections.abc import Iterator, Mapping
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from webob import Request

from readme_metrics._dotted import ImportedOnFirstCall
from readme_metrics.exchange import Group
from readme_metrics.grouping import Identifier
from readme_metrics.har import build_log
from readme_metrics.masking import mask
from tests.support.contract import no_log_sent, reading_app
from tests.support.exchanges import make_exchange
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
    assert message == (f"readme_metrics: the grouping function raised {kind} at {place}; "
                       "the request is "
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
    assert error.startswith("readme_metrics: the grouping function raised KeyError at ")
    assert "webob" in error.split(", from ")[0]
    # (and what to do about a key the call did not send: newcomer28)
    assert error.endswith(f", from {user} (a key the request does not have: a header or "
                          "field this call did not send? read it with .get() and return "
                          "None without it); the request is not logged (traceback at "
                          "DEBUG level)")


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


def test_distinct_messages_from_one_place_are_each_logged_once_values_withheld(
        caplog: pytest.LogCaptureFixture) -> None:
    """SPEC 6: "logged once per distinct message". Two messages of one type from one
    place were one line (the key was type and place): the second problem went unseen."""
    caplog.set_level(logging.INFO, logger="readme_metrics")
    current = {"text": "no user for " + SECRET}

    def grouping(req: Any) -> dict[str, str]:
        raise LookupError(current["text"])

    identify = Identifier(grouping, LOGGER)
    for text in ["no user for " + SECRET, "no user for " + SECRET, "other-" + SECRET,
                 "no user for " + SECRET, "other-" + SECRET]:
        current["text"] = text
        assert identify(request()) is None
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    place = f"{__file__}:{line_of(grouping, 'raise LookupError')} in grouping"
    assert errors == [
        f"readme_metrics: the grouping function raised LookupError at {place}; the request "
        "is not logged (traceback at DEBUG level)",
        f"readme_metrics: the grouping function raised LookupError at {place}, with another "
        "message (distinct message 2 from there, withheld); the request is not logged "
        "(traceback at DEBUG level)",
    ]
    assert SECRET not in everything_logged(caplog)


def test_distinct_messages_from_one_place_are_bounded(caplog: pytest.LogCaptureFixture) -> None:
    from readme_metrics.grouping import MAX_MESSAGES_PER_PLACE

    caplog.set_level(logging.INFO, logger="readme_metrics")
    count = iter(range(10 ** 6))

    def grouping(req: Any) -> dict[str, str]:
        raise LookupError(f"no user {next(count)}")  # a new message on every request

    identify = Identifier(grouping, LOGGER)
    for _ in range(MAX_MESSAGES_PER_PLACE * 3):
        identify(request())
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == MAX_MESSAGES_PER_PLACE
    assert "later ones are not logged" in errors[-1]
    assert not any("no user" in error for error in errors)


@pytest.mark.parametrize("result, level, text", [
    pytest.param("caller", logging.ERROR, "must return a mapping or None, got str",
                 id="a-string"),
    pytest.param({"label": "no key"}, logging.ERROR, "returned no 'api_key'", id="no-key"),
    pytest.param({"api_key": "k", "plan": SECRET}, logging.WARNING,
                 "returned unknown keys plan; they are dropped", id="unknown-key"),
])
def test_bad_results_are_reported_once_with_the_library_prefix(
        caplog: pytest.LogCaptureFixture, result: Any, level: int, text: str) -> None:
    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    identify = Identifier(lambda req: result, LOGGER)
    for _ in range(3):
        identify(request())
    [record] = caplog.records
    assert record.levelno == level and text in record.getMessage()
    # Prefixed once, as the library's other messages: the config's logger may be the
    # app's own, whose name says nothing of readme_metrics.
    assert record.getMessage().startswith("readme_metrics: ")
    assert record.getMessage().count("readme_metrics") == 1
    assert SECRET not in everything_logged(caplog)


@pytest.mark.parametrize("result, text", [
    pytest.param({"apikey": SECRET, "label": "L"},
                 "returned no 'api_key' (its keys: apikey, label; known: api_key, label, "
                 "email)", id="misspelled"),
    pytest.param({}, "returned no 'api_key' (its keys: none; known: api_key, label, email)",
                 id="empty-mapping"),
    pytest.param({"api_key": None, "label": "L"},
                 "returned 'api_key' None, which is not a key (a non-blank string or a "
                 "number)", id="none"),
    pytest.param({"id": "", "label": "L"}, "returned 'id' '', which is not a key", id="empty-id"),
    pytest.param({"api_key": True}, "returned 'api_key' True, which is not a key", id="bool"),
])
def test_a_missing_api_key_says_what_the_function_returned_instead(
        caplog: pytest.LogCaptureFixture, result: Any, text: str) -> None:
    """A misspelled key ({"apikey": ...}) is the usual cause: the error names the keys
    that came back (names only, never their values), so the fix is visible at once."""
    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    assert Identifier(lambda req: result, LOGGER)(request()) is None
    [record] = caplog.records
    assert record.levelno == logging.ERROR and text in record.getMessage(), record.getMessage()
    assert SECRET not in everything_logged(caplog)


@pytest.mark.parametrize("key, shown", [
    pytest.param([SECRET], "of type list", id="list"),
    pytest.param({"key": SECRET}, "of type dict", id="dict"),
    pytest.param(SECRET.encode(), "of type bytes", id="bytes"),
    pytest.param(float("nan"), "nan", id="nan"),
    pytest.param(float("inf"), "inf", id="infinity"),
    pytest.param(Decimal("NaN"), "of type Decimal", id="decimal-nan"),
    pytest.param(1j, "of type complex", id="complex"),
    pytest.param("   ", "'   '", id="blank"),
])
def test_a_key_that_is_no_string_or_number_is_not_logged(
        caplog: pytest.LogCaptureFixture, key: Any, shown: str) -> None:
    """A list or bytes would have been logged as the mask of its repr ("['...']",
    "b'...'"), an identity no caller has; the value is never shown (it may hold the key)."""
    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    assert Identifier(lambda req: {"api_key": key}, LOGGER)(request()) is None
    [record] = caplog.records
    message = record.getMessage()
    assert record.levelno == logging.ERROR and "which is not a key" in message, message
    assert f"'api_key' {shown}," in message, message
    assert SECRET not in everything_logged(caplog)


@pytest.mark.parametrize("key, identity", [
    pytest.param(SECRET, SECRET, id="string"),
    pytest.param(1234, "1234", id="integer"),
    pytest.param(12.5, "12.5", id="float"),
    # Numbers of other types were keys before (str() of them): a Decimal from a database
    # column, numpy's integers (numbers.Integral, like this Fraction is numbers.Real).
    pytest.param(Decimal("1042"), "1042", id="decimal"),
    pytest.param(Fraction(5, 2), "2.5", id="other-real"),
    # Beyond a double, float() overflows: it raised, and the request was not logged.
    pytest.param(Fraction(10 ** 400, 3), f"{10 ** 400}/3", id="fraction-beyond-a-double"),
    pytest.param(Decimal("1E+400"), "1E+400", id="decimal-beyond-a-double"),
    pytest.param(" padded ", " padded ", id="kept-as-given"),
    # Past CPython's 4,300 digits str() of an int raised, and the request was not logged.
    pytest.param(10 ** 5000 + 7, "1" + "0" * 4999 + "7", id="int-past-str-limit"),
    pytest.param(-(10 ** 5000), "-1" + "0" * 5000, id="negative-int-past-str-limit"),
    pytest.param(Fraction(10 ** 5000 + 7, 3), "1" + "0" * 4999 + "7/3",
                 id="fraction-of-huge-parts"),
    pytest.param(Fraction(10 ** 5000, 1) * 10, "1" + "0" * 5001,
                 id="whole-fraction-of-huge-parts"),
    # So long that writing it in decimal would take seconds: hex, in linear time.
    pytest.param(1 << 200_000, "0x1" + "0" * 50_000, id="int-too-long-for-decimal"),
])
def test_a_string_or_number_key_is_the_identity(key: Any, identity: str) -> None:
    assert Identifier(lambda req: {"api_key": key}, LOGGER)(request()) == Group(
        identity, None, None)


@settings(max_examples=30, deadline=None)
@given(digits=st.integers(4250, 12_000), sign=st.sampled_from([1, -1]),
       seed=st.integers(0, 10 ** 30))
def test_an_int_past_the_str_limit_is_written_as_str_would_without_it(
        digits: int, sign: int, seed: int) -> None:
    """The same text, so the same mask, as str() gives with CPython's limit lifted."""
    key = sign * (10 ** digits + seed)
    label = 10 ** digits - seed
    group = Identifier(lambda req: {"api_key": key, "label": label}, LOGGER)(request())
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        expected = Group(str(key), str(label), None)
    finally:
        sys.set_int_max_str_digits(limit)
    assert group == expected


def test_a_huge_int_key_is_logged_masked(inline_wrap: Any, collector: Collector) -> None:
    """Through the middleware: logged, its group the mask of its digits."""
    key = 10 ** 5000 + 1
    middleware = inline_wrap(reading_app(), grouping_function=lambda req: {"api_key": key})
    result = run_wsgi(middleware, wsgi_environ())
    assert (result.status, result.body, result.error) == ("200 OK", b"ok", None)
    assert middleware.flush(5.0) is True
    [log] = collector.wait_for_logs(1)
    assert log["group"]["id"] == mask("1" + "0" * 4999 + "1")


class Named:
    """A user object whose own str() is its name (a Django user, say)."""

    def __str__(self) -> str:
        return "Owlbert"


@pytest.mark.parametrize("value, text", [
    pytest.param("Owlbert", "Owlbert", id="str"),
    pytest.param(None, None, id="none-left-out"),
    pytest.param(b"Ow\xc3\xabl", "Owël", id="bytes-as-utf8"),
    pytest.param(bytearray(b"Owl"), "Owl", id="bytearray"),
    pytest.param(b"\xff", "\ufffd", id="bytes-no-utf8"),
    pytest.param(42, "42", id="int"),
    pytest.param(Named(), "Owlbert", id="object-named-by-str"),
])
def test_a_label_or_email_is_text(value: Any, text: Any) -> None:
    """SPEC 4: label and email are strings; bytes were logged as their repr ("b'Owl'"),
    a name no caller has."""
    group = Identifier(lambda req: {"api_key": "k", "label": value, "email": value},
                       LOGGER)(request())
    assert group == Group("k", text, text)


NUMBERS = st.one_of(
    st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.fractions(), st.builds(Fraction, st.integers(), st.integers(1, 10 ** 400)),
    st.builds(Fraction, st.integers(-10 ** 400, 10 ** 400)),
    st.decimals(allow_nan=True, allow_infinity=True), st.complex_numbers(), st.booleans())
VALUES = st.one_of(NUMBERS, st.none(), st.text(), st.binary(),
                   st.lists(st.integers(), max_size=3), st.builds(Named))


def is_an_id(key: Any) -> bool:
    if isinstance(key, str):
        return key.strip() != ""
    if isinstance(key, Decimal):
        return key.is_finite()
    if isinstance(key, float):
        return math.isfinite(key)
    return isinstance(key, (int, Fraction)) and not isinstance(key, bool)


@settings(max_examples=300, deadline=None)
@given(key=st.one_of(NUMBERS, VALUES), label=VALUES, email=VALUES,
       extra=st.dictionaries(st.text(max_size=5), VALUES, max_size=2))
def test_any_returned_values_give_a_group_of_text_or_none(
        key: Any, label: Any, email: Any, extra: dict[str, Any]) -> None:
    """Whatever the values: never an exception, and either no log or a group whose id is
    text (a non-blank string, or any finite number written out) and whose label and email
    are text; bools, NaN, infinities, complex numbers and containers are no id."""
    result = {**extra, "api_key": key, "label": label, "email": email}
    group = Identifier(lambda req: result, LOGGER)(request())
    if not is_an_id(key):
        assert group is None
        return
    assert group is not None and isinstance(group.id, str) and group.id
    for text in (group.label, group.email):
        assert text is None or text.__class__ is str
    log = build_log(make_exchange(group=group))
    json.dumps(log)
    assert set(log["group"]) == {"id", "label", "email"} - (
        {"label"} if label is None else set()) - ({"email"} if email is None else set())


class Liar:
    """A value of the user's own type that claims to equal anything."""

    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = object.__hash__

    def __str__(self) -> str:
        return "liar"


SAME_CALLERS = st.sampled_from([
    {"api_key": "k-1", "label": "One", "email": "one@example.com"},
    {"api_key": "k-1", "label": "One"},
    {"api_key": "k-2", "label": "One", "email": "one@example.com"},
    {"id": "k-1", "label": None},
    {"api_key": "k-1", "label": "One", "email": "one@example.com", "extra": "x"},
    {"api_key": "k-1", "label": Liar(), "email": "one@example.com"},
    {"api_key": " ", "label": "One"},
    {"api_key": 7, "label": "One"},
    {},
])


@settings(max_examples=200, deadline=None)
@given(results=st.lists(st.one_of(SAME_CALLERS, st.builds(dict, SAME_CALLERS)),
                        min_size=1, max_size=8))
def test_one_identifier_gives_each_result_the_group_a_fresh_one_gives(
        results: list[dict[str, Any]]) -> None:
    """The Identifier reuses the last Group for a mapping equal to the last one: each
    result, in any order, repeated or not, gets the Group reading it gives."""
    returned = iter(results)
    identify = Identifier(lambda req: next(returned), LOGGER)
    for result in results:
        assert identify(request()) == Identifier(dict, LOGGER)._normalise(result)


def test_a_mapping_changed_after_it_was_returned_is_read_again() -> None:
    result = {"api_key": "k-1", "label": "One"}
    identify = Identifier(lambda req: result, LOGGER)
    first = identify(request())
    assert identify(request()) is first  # the same caller: the same Group
    result["label"] = "Two"
    assert identify(request()) == Group("k-1", "Two")


class Unreadable(Mapping):  # type: ignore[type-arg]
    """A mapping of the user's own type whose reading fails."""

    def __getitem__(self, key: Any) -> Any:
        raise RuntimeError(SECRET)

    def __iter__(self) -> Iterator[str]:
        return iter(["api_key"])

    def __len__(self) -> int:
        return 1


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError(SECRET)


@pytest.mark.parametrize("result", [
    pytest.param(Unreadable(), id="mapping-that-raises"),
    pytest.param({"api_key": "k-1234", "label": Unprintable()}, id="label-that-raises"),
])
def test_a_result_that_raises_when_read_is_contained_and_reported_once(
        caplog: pytest.LogCaptureFixture, result: Any) -> None:
    """Reading what the function returned is user code too: it raised out of the
    Identifier, which the Django adapter let reach the view (a 500 for the caller)."""
    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    identify = Identifier(lambda req: result, LOGGER)
    for _ in range(3):
        assert identify(request()) is None
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "raised RuntimeError at" in errors[0], errors
    assert "what the grouping function returned" in errors[0]
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


# -- a grouping function named by a path that fails to import on its first call ----------


def grouping_module(monkeypatch: pytest.MonkeyPatch, directory: Path, name: str,
                    rest: str) -> None:
    """``name``.py, importable: counts its imports in ``<name>_count``, raises Django's
    "not ready" unless ``<NAME>_READY=1``, then runs ``rest``."""
    pytest.importorskip("django")
    monkeypatch.syspath_prepend(str(directory))
    (directory / f"{name}_count.py").write_text("attempts = []\n")
    (directory / f"{name}.py").write_text(
        "import os\n"
        f"import {name}_count\n"
        f"{name}_count.attempts.append(1)\n"
        "from django.core.exceptions import AppRegistryNotReady\n"
        f"if os.environ.get('{name.upper()}_READY') != '1':\n"
        "    raise AppRegistryNotReady(\"Apps aren't loaded yet.\")\n" + rest)


def import_attempts(name: str) -> int:
    return len(importlib.import_module(f"{name}_count").attempts)


def complaints(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The warnings and errors logged, in order."""
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_grouping_path_that_fails_to_import_is_not_imported_again_per_request(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inline_wrap: Any,
        collector: Collector, caplog: pytest.LogCaptureFixture) -> None:
    """A path Django could not import at start-up is imported on the first call; when that
    fails for good (here the module's own import of a missing module), the import ran
    again on every request: its cost, its side effects and a log record each time."""
    grouping_module(monkeypatch, tmp_path, "fh_gone", "import fh_no_such_module\n"
                    "def grouping(request):\n    return {'api_key': 'k'}\n")
    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    middleware = inline_wrap(reading_app(), grouping_function="fh_gone.grouping")
    assert import_attempts("fh_gone") == 1  # at start-up: not ready, so deferred
    monkeypatch.setenv("FH_GONE_READY", "1")
    for _ in range(5):
        result = run_wsgi(middleware, wsgi_environ())
        assert (result.status, result.body, result.error) == ("200 OK", b"ok", None)
    assert import_attempts("fh_gone") == 2
    no_log_sent(middleware, collector)
    assert complaints(caplog) == [
        "readme_metrics: the grouping function 'fh_gone.grouping' could not be imported "
        "(ModuleNotFoundError: No module named 'fh_no_such_module'): requests are not "
        "logged; it is not imported again until the process restarts"]


def test_a_grouping_path_django_is_not_ready_for_is_retried_with_a_backoff(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """Still "not ready" at the first call: tried again after 1, 2, 4 ... seconds (at most
    a minute apart), not on every request, with one error line until it imports."""
    grouping_module(monkeypatch, tmp_path, "fh_later",
                    "def grouping(request):\n    return {'api_key': 'caller'}\n")
    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    now = [0.0]
    identify = Identifier(ImportedOnFirstCall("fh_later.grouping", clock=lambda: now[0]),
                          LOGGER)
    # (time of the call, import attempts so far after it)
    for at, attempts in [(0.0, 1), (0.5, 1), (1.0, 2), (2.9, 2), (3.0, 3), (6.9, 3)]:
        now[0] = at
        assert identify(request()) is None
        assert import_attempts("fh_later") == attempts, at
    monkeypatch.setenv("FH_LATER_READY", "1")
    now[0] = 7.0
    assert identify(request()) == Group("caller", None, None)
    now[0] = 100.0
    assert identify(request()) == Group("caller", None, None)
    assert import_attempts("fh_later") == 4
    assert complaints(caplog) == [
        "readme_metrics: the grouping function 'fh_later.grouping' could not be imported yet "
        "(AppRegistryNotReady: Django's apps are not loaded): requests are not logged "
        "until it is; it is tried again after a backoff"]


def test_a_grouping_path_to_something_not_callable_is_reported_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    grouping_module(monkeypatch, tmp_path, "fh_value", "grouping = {'api_key': 'caller'}\n")
    monkeypatch.setenv("FH_VALUE_READY", "1")
    identify = Identifier(ImportedOnFirstCall("fh_value.grouping"), LOGGER)
    for _ in range(3):
        assert identify(request()) is None
    assert import_attempts("fh_value") == 1
    assert complaints(caplog) == [
        "readme_metrics: the grouping function 'fh_value.grouping' is not callable: "
        "requests are not logged"]


async def async_grouping(req: Any) -> dict[str, str]:
    return {"api_key": SECRET}


def test_an_async_grouping_function_under_wsgi_says_only_asgi_awaits_it(
        caplog: pytest.LogCaptureFixture) -> None:
    """Its type is accepted (README's FastAPI quick start has one), but the WSGI and
    Django middlewares have no loop to await it on: the error says so, once, and the
    coroutine is closed, not left for Python to warn about when collected."""
    import gc
    import warnings

    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    identify = Identifier(async_grouping, LOGGER)
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        assert [identify(request()) for _ in range(3)] == [None, None, None]
        gc.collect()
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert "returned an awaitable (an async def?), which only the ASGI middlewares" in (
        record.getMessage())
    assert not [w for w in warned if "never awaited" in str(w.message)], warned
