"""One lookup of uWSGI's options (house17): ``uwsgi_exit.option`` and ``seconds``, which
the mercy, ``--idle``, the graceful harakiri and the async check read, answer as each
module's own lookup did (the former code, main 58b25a5b, below as the reference) and
never raise, whatever ``uwsgi.opt`` holds (str or bytes keys, a list for an option given
more than once, values of any shape).
"""

from __future__ import annotations

import math
from typing import Any, Optional

from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.delivery import uwsgi_exit

# -- the former code (main 58b25a5b), the reference ------------------------------------


def _former_mercy_value(options: dict[Any, Any]) -> Optional[float]:
    """uwsgi_exit.mercy's reading after its worker checks (60.0 when none)."""
    value = options.get("worker-reload-mercy", options.get(b"worker-reload-mercy"))
    if isinstance(value, list):
        value = value[-1] if value else None
    if value is None:
        return 60.0
    try:
        seconds = float(value.decode() if isinstance(value, bytes) else value)
    except (TypeError, ValueError, UnicodeDecodeError):
        return 60.0
    return max(0.0, seconds)


def _former_harakiri_seconds(options: dict[Any, Any]) -> Optional[float]:
    """uwsgi_harakiri._seconds, a raise read as None (as its limit() did)."""
    try:
        value = options.get("harakiri-graceful-timeout",
                            options.get(b"harakiri-graceful-timeout"))
        if isinstance(value, list):
            value = value[-1] if value else None
        if value is None:
            return None
        seconds = float(value.decode() if isinstance(value, bytes) else value)
        return seconds if seconds > 0 else None
    except Exception:  # noqa: BLE001
        return None


def _former_async_value(options: dict[Any, Any], name: str) -> Any:
    value = options.get(name, options.get(name.encode()))
    if isinstance(value, list):
        value = value[-1] if value else None
    return value


# -- values uwsgi.opt may hold ----------------------------------------------------------

_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["0", "1", "3", "2.5", "-1", "nan", "inf", "true", "false", " 4 ",
                     "x", ""]).flatmap(lambda text: st.sampled_from([text, text.encode()])),
    st.binary(max_size=6), st.text(max_size=6), st.builds(object))
_VALUES = st.one_of(_SCALARS, st.lists(_SCALARS, max_size=3))


def _options(name: str) -> st.SearchStrategy[dict[Any, Any]]:
    return st.fixed_dictionaries({}, optional={name: _VALUES, name.encode(): _VALUES})


def _same(found: Optional[float], expected: Optional[float]) -> bool:
    if found is None or expected is None:
        return found is expected
    return found == expected or math.isnan(found) and math.isnan(expected)


@settings(max_examples=300, deadline=None)
@given(_options("harakiri-graceful-timeout"))
def test_the_graceful_timeout_is_read_as_before(options: dict[Any, Any]) -> None:
    seconds = uwsgi_exit.seconds(options, "harakiri-graceful-timeout")
    found = seconds if seconds is not None and seconds > 0 else None
    assert _same(found, _former_harakiri_seconds(options))


@settings(max_examples=300, deadline=None)
@given(_options("worker-reload-mercy"))
def test_the_mercy_is_read_as_before(options: dict[Any, Any]) -> None:
    try:
        expected = _former_mercy_value(options)
    except Exception:  # noqa: BLE001 - (a value float() raised another error on)
        expected = 60.0  # now read as not given: never raises
    seconds = uwsgi_exit.seconds(options, "worker-reload-mercy")
    assert _same(60.0 if seconds is None else max(0.0, seconds), expected)


@settings(max_examples=300, deadline=None)
@given(_options("async"))
def test_an_option_is_its_last_value_str_key_first(options: dict[Any, Any]) -> None:
    found = uwsgi_exit.option(options, "async")
    expected = _former_async_value(options, "async")
    assert found is expected or found == expected or (
        isinstance(found, float) and math.isnan(found) and math.isnan(expected))
