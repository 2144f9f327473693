"""Identification: run the user's grouping function and turn what it returns into a Group.

The grouping function is user code running inside the request, so everything it can do
wrong (raise, return the wrong type, return extra keys) is contained here: the request is
simply not logged, and the problem is reported once per distinct message instead of once
per request. What it raised is logged by :mod:`readme_metrics.grouping_raised` (by type
and place, never by value); the key, label and email are written as text by
:mod:`readme_metrics.grouping_values`; what is said of a result that gives no group is
worded in :mod:`readme_metrics.grouping_words`.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Mapping
from typing import Any, Callable, Optional, Union

from readme_metrics._logging import LogLimiter, QuietLogger, hidden
from readme_metrics.capture.body import BodyRecord, body_cut
from readme_metrics.exchange import Group
from readme_metrics.grouping_import import NotImported
from readme_metrics.grouping_raised import MAX_MESSAGES_PER_PLACE, RaisedLog, builtin_place
from readme_metrics.grouping_values import MAX_ID_DIGITS, identity, number_key, text
from readme_metrics.grouping_words import (
    AWAITABLE,
    BODY_CUT,
    LEFT_OUT,
    LONG_NUMBER_KEY,
    NO_KEY_BODY_CUT,
    READMES_KEY,
    SHORT_NUMBER_KEY,
    awaitable_value,
    cut_note,
    no_key,
    not_a_mapping,
    unknown_keys,
)
from readme_metrics.har.key_forms import MIN_SUBSTRING_KEY

# The names this module had before its parts moved out, importable from here as they were.
__all__ = ["BODY_CUT", "LEFT_OUT", "LONG_NUMBER_KEY", "MAX_ID_DIGITS", "MAX_MESSAGES_PER_PLACE",
           "NO_KEY_BODY_CUT", "SHORT_NUMBER_KEY", "Identifier"]

_KNOWN_KEYS = frozenset(("api_key", "id", "label", "email"))


def _forget(awaitable: Any) -> None:
    """Close a coroutine never to be awaited, so that Python does not warn about it when
    it is collected (a "never awaited" RuntimeWarning per request, far from the cause)."""
    if inspect.iscoroutine(awaitable):
        awaitable.close()


# What no mapping the function returns equals (its key is this module's own object).
_NONE_YET: dict[Any, Optional[str]] = {object(): None}


def _plain(result: dict[Any, Any]) -> bool:
    """True for a mapping of known keys to str (exactly) or None: one another equals only
    when it gives the same Group."""
    return _KNOWN_KEYS.issuperset(result) and all(
        value is None or value.__class__ is str for value in result.values())


class Identifier:
    """Calls ``grouping_function(request)`` and returns a :class:`Group` or None.

    ``copy`` is the record of the body the request reads from the middleware's copy
    (None: the app's own read, or no body): if that is the start of a body longer than
    max_body_bytes once the function ran (see :func:`body_cut`), the error of a function
    that raised says so.

    ``readme_key``: the config's ReadMe API key; a function returning it as the caller's
    key is warned once (the key is never said)."""

    def __init__(self, grouping_function: Callable[[Any], Any],
                 logger: Union[logging.Logger, QuietLogger], readme_key: str = "") -> None:
        self._function = grouping_function
        self._readme_key = readme_key
        # The app configures the logger: a filter or handler of its that raises must not
        # reach the request (or the event loop) through a line logged here.
        self._logger = QuietLogger(logger)
        self._limiter = LogLimiter(self._logger, interval=None)
        self._raised = RaisedLog(self._logger)
        # The last mapping of strings the function returned, and its Group: the next
        # request is most often the same caller's, and an equal mapping gives an equal
        # Group, shared (a Group is never changed). One tuple, replaced whole.
        self._last: tuple[dict[Any, Optional[str]], Optional[Group]] = (_NONE_YET, None)
        self._said_none = False
        self._said_number = False
        self._said_no_key_cut = False
        self._said_readme_key = not readme_key

    def __call__(self, request: Any, copy: Optional[BodyRecord] = None
                 ) -> Optional[Group]:
        try:
            result = self._function(request)
        except NotImported as exc:  # a path that did not import: its message says why
            self._report(logging.ERROR, str(exc))
            return None
        except Exception as exc:  # user code: contain everything, the app must not notice
            # A cut body is a distinct message, said with the sizes of its first time.
            self._raised.report(exc, "the grouping function", builtin_place(self._function),
                                cut_note(body_cut(copy)))
            return None
        if result is None:
            if not self._said_none:
                self._say_none()
            return None
        last, group = self._last
        try:
            # Equal to the last mapping, whose keys are known and values str or None,
            # and its values exactly str or None too (a loop: for a few values, cheaper
            # than join() over a filter object).
            if result.__class__ is dict and result == last:
                for value in result.values():
                    if value.__class__ is not str and value is not None:
                        break
                else:
                    return group
        except Exception:  # noqa: BLE001 - a value of the user's own type: read it below
            pass
        try:
            group = self._normalise(result, copy)
        except Exception as exc:  # a mapping or value of the user's own type failed
            self._raised.report(exc, "reading what the grouping function returned")
            return None
        if group is not None and result.__class__ is dict and _plain(result):
            self._last = (dict(result), group)
        return group

    def _say_none(self) -> None:
        # README's Troubleshooting sends a user whose calls do not show up to the debug
        # log; under Django and FastAPI there is no ``stats`` to see them skipped, and a
        # None (a call without the header the function reads) was said nowhere. Once,
        # and only once a logger shows it: turning DEBUG on later still gets the line.
        if self._logger.isEnabledFor(logging.DEBUG):
            self._said_none = True
            self._report(logging.DEBUG, LEFT_OUT)

    def _report(self, level: int, message: str) -> bool:
        """Log ``message`` once per distinct text; True when it went out now."""
        # Prefixed as every message of the library: the config's logger may be the app's.
        return self._limiter.log(level, message, "readme_metrics: %s", message)

    def _normalise(self, result: Any, copy: Optional[BodyRecord] = None) -> Optional[Group]:
        if result.__class__ is not dict and not isinstance(result, Mapping):
            if inspect.isawaitable(result):
                _forget(result)
                self._report(logging.ERROR, AWAITABLE)
                return None
            self._report(logging.ERROR, not_a_mapping(result))
            return None
        given = result.get("api_key")
        if given is None:
            given = result.get("id")  # the official package's older name
        # identity's and text's first tests inlined (a str, the usual case): three
        # Python calls fewer on every request.
        key = (given if given.__class__ is str and given and not given.isspace()
               else identity(given))
        if key is None:
            self._forget_values(result)
            if inspect.isawaitable(given):  # {"api_key": request.json()}, not awaited
                _forget(given)
                self._report(logging.ERROR, awaitable_value(
                    "api_key" if result.get("api_key") is given else "id"))
                return None
            # A key read from a form field cut off at max_body_bytes: said with the sizes
            # of its first time (once: not one line per size).
            cut = None if self._said_no_key_cut else body_cut(copy)
            if cut is not None:
                self._said_no_key_cut = True
            self._report(logging.ERROR, no_key(result) + cut_note(cut, NO_KEY_BODY_CUT))
            return None
        if not self._said_number and number_key(key):
            # README's Django grouping once said str(request.user.pk): every 1 in the first
            # user's logs went out as the mask, without a word; an id of 8 digits or more
            # is masked inside longer numbers too. The key is not said.
            self._said_number = True
            digits = "one digit" if len(key) == 1 else f"{len(key)} digits"
            said = SHORT_NUMBER_KEY if len(key) < MIN_SUBSTRING_KEY else LONG_NUMBER_KEY
            self._report(logging.WARNING, said.format(digits))
        # Compared stripped: the config strips its key (a secrets file's line break), and
        # a function returning os.environ["README_API_KEY"] returns it unstripped. Only on
        # a mapping unlike the last one: the same caller's next request does not get here.
        if not self._said_readme_key and key.strip() == self._readme_key:
            self._said_readme_key = True
            self._report(logging.WARNING, READMES_KEY)
        if not _KNOWN_KEYS.issuperset(result):
            # (A name may be data too: the caller's key as a name is hidden.)
            extra = sorted(hidden(str(name), (key,)) for name in result
                           if name not in _KNOWN_KEYS)
            self._report(logging.WARNING, unknown_keys(extra))
        label, email = result.get("label"), result.get("email")
        if label is not None and label.__class__ is not str:
            label = self._text("label", label)
        if email is not None and email.__class__ is not str:
            email = self._text("email", email)
        return Group(key, label, email)

    def _text(self, name: str, value: Any) -> Optional[str]:
        """A label or email as text; None for an awaitable, said once (a plain def's
        ``request.json()`` not awaited: its repr is no one's name)."""
        if inspect.isawaitable(value):
            _forget(value)
            self._report(logging.ERROR, awaitable_value(name))
            return None
        return text(value)

    @staticmethod
    def _forget_values(result: Mapping[Any, Any]) -> None:
        """Close the label's and email's coroutines of a result that gives no group (no
        "never awaited" warning from Python at its collection, far from the cause)."""
        for name in ("label", "email"):
            _forget(result.get(name))
