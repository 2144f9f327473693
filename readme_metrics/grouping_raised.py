"""What the grouping function raised, logged: by type and place, never by value.

The grouping function is user code running inside the request, and one fault of it
repeats on every request. Exception messages are request data as often as not, so what it
raised is logged by type and place only (the traceback at DEBUG, its values withheld).
Two exceptions of one type from one place with different messages are two distinct
messages (SPEC 6): each is logged once, the second and later ones marked as such, up to
:data:`MAX_MESSAGES_PER_PLACE` per place, told apart by a keyed digest of their text that
never leaves the process.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import traceback
from typing import Any

from readme_metrics._lazy_re import lazy_compile
from readme_metrics._logging import QuietLogger, withheld_traceback

__all__ = ["MAX_MESSAGES_PER_PLACE", "RaisedLog", "builtin_place"]

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


def builtin_place(function: Any) -> str:
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


#: Where an installed library's file is (the request's mappings: werkzeug's, Django's,
#: Starlette's, webob's); the app's own modules are elsewhere.
_LIBRARIES = lazy_compile(r"[\\/](?:site|dist)-packages[\\/]")


def _missing_key(exc: BaseException) -> str:
    """What to do about a KeyError raised in a library the grouping function called: the
    request's mapping of headers, query or form (webob's, werkzeug's, Starlette's,
    Django's) subscripted with a key the call did not send (``request.headers["X-Api-Key"]``),
    the most common fault of a first grouping function, which was named by type and line
    alone (newcomer28); else ``""`` (a KeyError of the function's own mapping, raised on
    its own line, is its own business)."""
    if not isinstance(exc, KeyError):
        return ""
    frames = traceback.extract_tb(exc.__traceback__)
    outside = [frame for frame in frames if not frame.filename.startswith(_PACKAGE_DIR)]
    if len(outside) < 2:  # raised on the grouping function's own line
        return ""
    if not _LIBRARIES.search(frames[-1].filename):
        # Raised in the app's own code (a helper looking the caller up in its own table):
        # no header's business (review118: the hint said ".get()" to a function that
        # read the header with it).
        return ""
    return (" (a key the request does not have: a header or field this call did not send? "
            "read it with .get() and return None without it)")


def _empty_json(exc: BaseException) -> str:
    """What to do about a JSONDecodeError of an empty text: ``request.json`` (webob),
    ``await request.json()`` (Starlette), ``json.loads(request.body)`` (Django) on a call
    with no body, a GET (newcomer28); else ``""``. Only the text's emptiness is read,
    never the text."""
    doc = getattr(exc, "doc", None)
    if not isinstance(exc, ValueError) or not isinstance(doc, (str, bytes)) or doc.strip():
        return ""
    return (" (the JSON it parsed was empty: a call without a body, a GET? read the caller "
            "from a header, or return None for such a call)")


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


class RaisedLog:
    """Logs what the grouping function (or reading what it returned) raised: one error
    line per distinct message per place, bounded in places and messages."""

    def __init__(self, logger: QuietLogger) -> None:
        self._logger = logger
        # ("<what> raised <type> at <place>", noted) -> digests of the messages logged
        self._raised: dict[tuple[str, bool], set[bytes]] = {}
        self._lock = threading.Lock()

    def report(self, exc: Exception, what: str, called: str = "", note: str = "") -> None:
        """Log ``exc`` raised by ``what`` unless its message was logged from there already.
        ``called`` names a builtin given as the function (see :func:`builtin_place`);
        ``note`` (why it may have raised) makes it a distinct message, said with the note
        of its first time (not one line per note)."""
        # Type and place only: the exception's message may hold request data (a KeyError
        # names the missing key, which may be the caller's own API key).
        raised = (f"{what} raised {type(exc).__name__}{_missing_attribute(exc)} at "
                  f"{_where(exc, called)}{_missing_key(exc)}{_empty_json(exc)}")
        place = (raised, bool(note))
        digest = _digest(exc)
        with self._lock:
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
        raised += note
        self._logger.error("readme_metrics: %s; the request is not logged (traceback at "
                           "DEBUG level)", raised)
        if self._logger.isEnabledFor(logging.DEBUG):
            self._logger.debug("readme_metrics: grouping function traceback, values "
                               "withheld:\n%s",
                               withheld_traceback(exc, self._logger.secrets))
