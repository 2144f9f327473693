"""Identification: run the user's grouping function and normalise what it returns.

The grouping function is user code running inside the request, so everything it can do
wrong (raise, return the wrong type, return extra keys) is contained here: the request is
simply not logged, and the problem is reported once per distinct message instead of once
per request. What it raised is reported by type and place, never by value: exception
messages are request data as often as not. Two exceptions of one type from one place with
different messages are two distinct messages (SPEC 6): each is logged once, the second and
later ones marked as such, up to :data:`MAX_MESSAGES_PER_PLACE` per place, told apart by a
keyed digest of their text that never leaves the process.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import math
import numbers
import os
import threading
import traceback
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Callable, Optional, Union

from readme_metrics._dotted import NotImported
from readme_metrics._logging import LogLimiter, QuietLogger, hidden, withheld_traceback
from readme_metrics.capture.body import MAYBE_LONGER, BodyRecord, body_cut
from readme_metrics.exchange import Group
from readme_metrics.har.key_forms import MIN_SUBSTRING_KEY

_KNOWN_KEYS = frozenset(("api_key", "id", "label", "email"))
_DOCUMENTED_KEYS = "api_key, label, email"  # "id" is the official package's older name
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
#: Distinct messages of one exception type from one place that are logged; later ones not
#: (a message holding a request value, "no user 123", is distinct on every request).
MAX_MESSAGES_PER_PLACE = 10
# Places remembered (as LogLimiter's max_keys): a bounded memory whatever the function does.
_MAX_PLACES = 256
# Keys the digests telling messages apart: the same text gives the same digest within this
# process only, so a digest reveals nothing of a short value to whoever reads the log.
_DIGEST_KEY = os.urandom(16)


def _where(exc: BaseException, called: str = "") -> str:
    """``file:line in function`` of the innermost frame, where the exception was raised,
    and, when that is deeper (a library the grouping function called), of the grouping
    function's own line that led there: the line the user has to look at.

    The traceback starts in this package (:meth:`Identifier.__call__`; for an ``async``
    grouping function also the replay of its awaited outcome): the grouping function's
    frame is the first one outside it. With no frame outside it, the code that raised
    has none of its own (a builtin such as ``dict`` given as the grouping function):
    ``called`` names it, rather than this package's line that called it.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "an unknown place"
    if called and all(frame.filename.startswith(_PACKAGE_DIR) for frame in frames):
        return called
    place = _place(frames[-1])
    own = next((frame for frame in frames[1:]
                if not frame.filename.startswith(_PACKAGE_DIR)), None)
    if own is not None and own is not frames[-1]:
        place += f", from {_place(own)}"
    return place


def _builtin(function: Any) -> str:
    """Where a grouping function with no Python frame raises, as the log says it: ``dict
    itself (built-in code, no line of its own: it was called with the request)``."""
    name = getattr(function, "__qualname__", None) or type(function).__qualname__
    module = getattr(function, "__module__", None) or type(function).__module__
    if module not in (None, "builtins"):
        name = f"{module}.{name}"
    return (f"{name} itself (built-in code, no line of its own: the grouping function "
            "given is it, called with the request)")


def _missing_attribute(exc: BaseException) -> str:
    """`` (webob's Request has no attribute 'args')`` for an AttributeError Python raised
    (3.10+ keeps the object and the name): code's names, no request data, and the one
    clue a grouping function written for another request class needs; else ``""``."""
    name, obj = getattr(exc, "name", None), getattr(exc, "obj", None)
    if not isinstance(exc, AttributeError) or not isinstance(name, str) or obj is None:
        return ""
    kind = type(obj)
    return f" ({kind.__module__.partition('.')[0]}'s {kind.__name__} has no attribute {name!r})"


def _digest(exc: BaseException) -> bytes:
    """A keyed digest of ``str(exc)``: equal for equal messages, and nothing more."""
    try:
        text = str(exc)
    except Exception:  # an exception of the user's own type whose __str__ raises
        text = ""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), key=_DIGEST_KEY,
                           digest_size=16).digest()


def _place(frame: traceback.FrameSummary) -> str:
    return f"{frame.filename}:{frame.lineno} in {frame.name}"


# An int up to this many bits (about 39,000 digits, 20 ms) is written out in decimal past
# CPython's limit on str() of an int (4,300 digits); the cost grows with the square of the
# length, so a longer one is written in hex (linear time), still one caller's own text.
_DECIMAL_BITS = 1 << 17


def _shape_for(result: Any) -> str:
    """The shape to return, for a grouping function's result that is no mapping: the key
    alone, a tuple, the caller's own object (Django's request.user, a FastAPI user
    model); for a bool (``return False`` meant as "do not log"), None first."""
    shape = '{"api_key": <the caller\'s key>, "label": ..., "email": ...}'
    if isinstance(result, bool):
        return f" (return None, not {result}, to leave a call out, and {shape} to log it)"
    if isinstance(result, (str, bytes, int)):
        return f" (return {shape}, not the key alone)"
    return f" (return {shape})"


def _written(number: int) -> str:
    """``str(number)``, past CPython's limit on the digits of an int too (the grouping
    function may return one it computed: str() raised, and the request was not logged).
    The same text as str() for every int str() writes, so the same mask."""
    try:
        return str(number)
    except ValueError:  # Exceeds the limit (4300 digits) for integer string conversion
        if number.bit_length() <= _DECIMAL_BITS:
            return str(Decimal(number))  # exact, and the decimal module has no limit
        return hex(number)


def _exact(number: numbers.Rational) -> str:
    """A rational's exact value as str() of a Fraction writes it (``n`` or ``n/d``)."""
    numerator, denominator = _written(int(number.numerator)), int(number.denominator)
    return numerator if denominator == 1 else f"{numerator}/{_written(denominator)}"


def _identity(key: Any) -> Optional[str]:
    """The caller's identity from the ``api_key`` returned: a string that is not blank, or
    a finite number (of any numeric type) written out; None for anything else (a list or
    bytes would be the mask of their repr, an identity no caller has)."""
    if key.__class__ is str:
        return key if key and not key.isspace() else None
    if isinstance(key, bool) or key is None:
        return None
    if isinstance(key, str):  # a str subclass: its text (see _text)
        text = str.__str__(key)
        return text if text and not text.isspace() else None
    if isinstance(key, numbers.Integral):  # int, IntEnum, numpy's integers
        return _written(int(key))
    if isinstance(key, numbers.Real):  # float, numpy's floats, Fraction
        try:
            value = float(key)
        except OverflowError:  # a Fraction beyond any double: its exact value
            return _exact(key) if isinstance(key, numbers.Rational) else str(key)
        return str(value) if math.isfinite(value) else None
    if isinstance(key, Decimal):  # a database column
        return str(key) if key.is_finite() else None
    return None


def _text(value: Any) -> Optional[str]:
    """A label or email as text: a str as it is, bytes (a database driver's) as UTF-8,
    anything else as str() gives it (a user object's own name); None stays None.

    A str subclass (a ``class Plan(str, Enum)`` member) is its text, not its own str()
    ("Plan.FREE"): it equals that text, and Identifier reuses the last Group for an
    equal mapping, so the label must not depend on which of the two came first."""
    if value is None or value.__class__ is str:
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")  # not "b'...'", a name no one has
    if value.__class__ is int:
        return _written(value)
    return str(value)


def _shown(value: Any) -> str:
    """A key that is no key, for the error: its value when it cannot be a secret (None, a
    bool, a blank string, a float), else only its type."""
    if value is None or isinstance(value, (bool, float)) or (
            isinstance(value, str) and not value.strip()):
        return repr(value)
    return f"of type {type(value).__name__}"


def _no_key(result: Mapping[Any, Any]) -> str:
    """Why a mapping gave no usable key: the names it had (never their values), or the
    unusable value (only its type when it could hold the key), so a misspelled key shows
    at once."""
    for name in ("api_key", "id"):
        if name in result:
            value = result[name]
            # {"api_key": request.headers.get("X-Api-Key")}: None for a call without the
            # header, which README's quick starts leave out with `return None`.
            hint = (" (for a call with no caller, return None rather than a mapping: "
                    "such calls are then left out without this error)"
                    if value is None or (isinstance(value, str) and not value.strip())
                    else "")
            return (f"the grouping function returned {name!r} {_shown(value)}, which "
                    "is not a key (a non-blank string or a number); the request is not "
                    f"logged{hint}")
    names = ", ".join(sorted(str(name) for name in result)) or "none"
    # The Node SDK's apiKey (and other spellings of it): named, as the reader may not see
    # the difference in the list.
    meant = [name for name in result if isinstance(name, str)
             and name.lower().replace("_", "").replace("-", "") == "apikey"]
    return (f"the grouping function returned no 'api_key' (its keys: {names}; known: "
            f"{_DOCUMENTED_KEYS}); the request is not logged"
            + (f" (did you mean 'api_key' for {meant[0]!r}?)" if meant else ""))


# The ASGI middlewares, and Django's under ASGI, await what the grouping function returns;
# the others call it from a thread with no event loop to await it on.
_AWAITABLE = (
    "the grouping function returned an awaitable (an async def?), which only the ASGI "
    "middlewares (readme_metrics.asgi, readme_metrics.fastapi) and Django's under ASGI "
    "await: use a plain def here; the request is not logged")


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


#: The most digits a user's id or an account number has (an unsigned 64-bit integer, 20
#: digits: 18446744073709551615; review83: a signed one's 19 left a BIGINT UNSIGNED id
#: unwarned): a caller's key of more digits is a random secret, too long to turn up
#: inside the numbers of its logs, and no warning is said of it (review81: a 32-digit API
#: key was told it looked like a user's id).
MAX_ID_DIGITS = 20


def _number_key(key: str) -> bool:
    """True for a key of ASCII digits alone (``"1"``, ``"42"``, ``"12345678"``), at most
    :data:`MAX_ID_DIGITS` of them: a user's id or an account number, not a key. Shorter
    than :data:`~readme_metrics.har.key_forms.MIN_SUBSTRING_KEY`, it is masked where a
    whole value equals it; longer, wherever its digits occur, inside longer numbers too."""
    return len(key) <= MAX_ID_DIGITS and key.isascii() and key.isdigit()


#: Said once, the first time the grouping function returns such a key ({} its digits).
SHORT_NUMBER_KEY = (
    "the grouping function returned an api_key of {}: a user's id? As the caller's key it "
    "is masked wherever a whole value in that caller's logs equals it (an id, a count or "
    "a page number in a JSON body, the query or the path), so those show the mask; return "
    "a key that appears nowhere else, such as f\"user-{{user.pk}}\", to keep them (ReadMe "
    "groups the calls by it); said once")

#: The same for a number of MIN_SUBSTRING_KEY digits or more, masked inside other text too:
#: an order number or a timestamp holding its digits goes out with the mask in its middle.
LONG_NUMBER_KEY = (
    "the grouping function returned an api_key of {}: a user's id or an account number? "
    "As the caller's key it is masked wherever its digits occur in that caller's logs, "
    "inside longer numbers too (an order number or a timestamp holding them, in a JSON "
    "body, the query or the path, shows the mask in its middle, a JSON number turned into "
    "text); return a key that appears nowhere else, such as f\"user-{{user.pk}}\", to keep "
    "them (ReadMe groups the calls by it); said once")

#: Said at DEBUG the first time the grouping function returns None (no request data).
LEFT_OUT = ("the grouping function returned None, so this call is not logged, nor any other "
            "it returns None for (a call without the header it reads the caller's key "
            "from, for example); said once")


#: Added to the error of a grouping function that raised having been given the start of a
#: body longer than max_body_bytes (SPEC 5: such a body is never held whole): its
#: ``json()`` raised JSONDecodeError, with no word of why (twins20).
BODY_CUT = ("; the body it was given {} cut at max_body_bytes ({}): raise "
            "max_body_bytes above the bodies it reads, or read the caller from a header "
            "(or request.state, which the app sets)")


#: The same note, to a function that returned no api_key: it may not have read the body
#: at all (the key from a header the request lacked), and raising max_body_bytes was no
#: advice then (newcomer22).
NO_KEY_BODY_CUT = ("; the body it was given {} cut at max_body_bytes ({}): if it reads "
                   "the key from the body, raise max_body_bytes above the bodies it reads, "
                   "or read the caller from a header (or request.state, which the app "
                   "sets); if from a header, this request had none")


def _cut_note(cut: Optional[tuple[int, int]], note: str = BODY_CUT) -> str:
    if cut is None:
        return ""
    kept, whole = cut
    if whole == MAYBE_LONGER:  # the copy stopped at the limit: the app read no further
        return note.format("may have been", f"{kept} bytes kept of a chunked body, "
                           "whose end was not read")
    return note.format("was", f"{kept} of {whole if whole >= 0 else f'more than {kept}'}"
                       " bytes")


class Identifier:
    """Calls ``grouping_function(request)`` and returns a :class:`Group` or None.

    ``copy`` is the record of the body the request reads from the middleware's copy
    (None: the app's own read, or no body): if that is the start of a body longer than
    max_body_bytes once the function ran (see :func:`body_cut`), the error of a function
    that raised says so."""

    def __init__(self, grouping_function: Callable[[Any], Any],
                 logger: Union[logging.Logger, QuietLogger]) -> None:
        self._function = grouping_function
        # The app configures the logger: a filter or handler of its that raises must not
        # reach the request (or the event loop) through a line logged here.
        self._logger = QuietLogger(logger)
        self._limiter = LogLimiter(self._logger, interval=None)
        # "<what> raised <type> at <place>" -> digests of the messages logged from there
        self._raised: dict[str, set[bytes]] = {}
        self._raised_lock = threading.Lock()
        # The last mapping of strings the function returned, and its Group: the next
        # request is most often the same caller's, and an equal mapping gives an equal
        # Group, shared (a Group is never changed). One tuple, replaced whole.
        self._last: tuple[dict[Any, Optional[str]], Optional[Group]] = (_NONE_YET, None)
        self._said_none = False
        self._said_number = False
        self._said_no_key_cut = False

    def __call__(self, request: Any, copy: Optional[BodyRecord] = None
                 ) -> Optional[Group]:
        try:
            result = self._function(request)
        except NotImported as exc:  # a path that did not import: its message says why
            self._report(logging.ERROR, str(exc))
            return None
        except Exception as exc:  # user code: contain everything, the app must not notice
            self._report_raised(exc, "the grouping function", _builtin(self._function),
                                body_cut(copy))
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
            self._report_raised(exc, "reading what the grouping function returned")
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

    def _report_raised(self, exc: Exception, what: str, called: str = "",
                       cut: Optional[tuple[int, int]] = None) -> None:
        # Type and place only: the exception's message may hold request data (a KeyError
        # names the missing key, which may be the caller's own API key). A cut body is a
        # distinct message, said with the sizes of its first time (not one per size).
        raised = (f"{what} raised {type(exc).__name__}{_missing_attribute(exc)} at "
                  f"{_where(exc, called)}")
        place = raised if cut is None else raised + " (cut body)"
        digest = _digest(exc)
        with self._raised_lock:
            digests = self._raised.get(place)
            if digests is None:
                if len(self._raised) >= _MAX_PLACES:
                    return
                digests = self._raised[place] = set()
            if digest in digests or len(digests) >= MAX_MESSAGES_PER_PLACE:
                return
            digests.add(digest)
            number = len(digests)
        if number > 1:
            later = ("; later ones are not logged" if number == MAX_MESSAGES_PER_PLACE
                     else "")
            raised += (f", with another message (distinct message {number} from there, "
                       f"withheld{later})")
        raised += _cut_note(cut)
        self._logger.error("readme_metrics: %s; the request is not logged (traceback at "
                           "DEBUG level)", raised)
        if self._logger.isEnabledFor(logging.DEBUG):
            self._logger.debug("readme_metrics: grouping function traceback, values "
                               "withheld:\n%s",
                               withheld_traceback(exc, self._logger.secrets))

    def _normalise(self, result: Any, copy: Optional[BodyRecord] = None) -> Optional[Group]:
        if result.__class__ is not dict and not isinstance(result, Mapping):
            if inspect.isawaitable(result):
                _forget(result)
                self._report(logging.ERROR, _AWAITABLE)
                return None
            self._report(
                logging.ERROR,
                "the grouping function must return a mapping or None, "
                f"got {type(result).__name__}" + _shape_for(result) + "; the request is not logged",
            )
            return None
        given = result.get("api_key")
        if given is None:
            given = result.get("id")  # the official package's older name
        # _identity's and _text's first tests inlined (a str, the usual case): three
        # Python calls fewer on every request.
        key = (given if given.__class__ is str and given and not given.isspace()
               else _identity(given))
        if key is None:
            # A key read from a form field cut off at max_body_bytes: said with the sizes
            # of its first time (once: not one line per size).
            cut = None if self._said_no_key_cut else body_cut(copy)
            if cut is not None:
                self._said_no_key_cut = True
            self._report(logging.ERROR, _no_key(result) + _cut_note(cut, NO_KEY_BODY_CUT))
            return None
        if not self._said_number and _number_key(key):
            # README's Django grouping once said str(request.user.pk): every 1 in the first
            # user's logs went out as the mask, without a word; an id of 8 digits or more
            # is masked inside longer numbers too. The key is not said.
            self._said_number = True
            digits = "one digit" if len(key) == 1 else f"{len(key)} digits"
            said = SHORT_NUMBER_KEY if len(key) < MIN_SUBSTRING_KEY else LONG_NUMBER_KEY
            self._report(logging.WARNING, said.format(digits))
        if not _KNOWN_KEYS.issuperset(result):
            # (A name may be data too: the caller's key as a name is hidden.)
            extra = sorted(hidden(str(name), (key,)) for name in result
                           if name not in _KNOWN_KEYS)
            self._report(
                logging.WARNING,
                "the grouping function returned unknown keys "
                f"{', '.join(extra)}; they are dropped (known: {_DOCUMENTED_KEYS})",
            )
        label, email = result.get("label"), result.get("email")
        if label is not None and label.__class__ is not str:
            label = _text(label)
        if email is not None and email.__class__ is not str:
            email = _text(email)
        return Group(key, label, email)
