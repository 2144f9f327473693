"""Logging that cannot hurt the app: rate-limited, and never raising.

The library logs from the request path and from the delivery worker, where one fault
(a grouping function that always raises, a Metrics API that is down) repeats thousands of
times a second. :class:`LogLimiter` is the one place that decides whether a line is due:
per *key* at most once per ``interval`` seconds, or, with ``interval=None``, once ever
(bounded: past ``max_keys`` distinct keys new ones are not logged, so a flood of distinct
messages cannot grow memory).

The logger is the app's to configure, and a filter or handler of the app's may raise
(``logging`` lets a filter's exception, and a handler's from ``emit`` without
``handleError``, out of the call). :class:`QuietLogger` wraps it so that a log line
never raises into the app, or out of a sender thread's error handling.

An exception's message is data: the library's own faults happen while it reads a request,
and a ``KeyError`` or ``ValueError`` there quotes a header, a field, the caller's key. So
the tracebacks it logs (``exc_info``) name each exception's type and frames but withhold
its message (:func:`withheld_traceback`), and where a message is worth showing (a log that
could not be built) it is written with the secrets known there hidden (:func:`hidden`).
There is no option to keep the other messages with the caller's key scrubbed: a fault
while a request is read (before or inside the grouping function) comes before the key is
known, and its message is often that key, or another credential of the request, which
nothing here can tell from ordinary text.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
import traceback
from typing import Any, Callable, Iterable, Optional, Union
from urllib.parse import quote, quote_plus

from readme_metrics.dev_reloader import reloader_parent as reloader_parent
from readme_metrics.masking import utf8

#: What stands in the library's log lines for a secret (the API key, the caller's key).
HIDDEN = "[REDACTED]"
#: A secret this long or longer is hidden wherever it occurs in a line; a shorter one
#: (``42``, a numeric id) only where no letter or digit touches it, or "line 42" of every
#: traceback would go (as :data:`readme_metrics.har.credentials.MIN_SUBSTRING_KEY`).
MIN_SUBSTRING_SECRET = 8
#: A secret shorter than this (``k``, ``42``, ``abc``: a placeholder, a test's key) is
#: hidden in a line only where a whole value equals it: the whole line, or a quoted
#: string (``KeyError('k')``, ``{"id": "42"}``). As a word it cannot be told from the
#: line's own words and numbers ("could not build a log" for the key "a", "line 42"),
#: which went; and the mask every log sends as ``group.id`` ends with a key's last 4
#: characters, so a key this short is no secret there either.
MIN_FREE_TEXT_SECRET = 4
# The links Python's own tracebacks print between chained exceptions.
_CAUSE = "The above exception was the direct cause of the following exception:"
_CONTEXT = "During handling of the above exception, another exception occurred:"


class LogLimiter:
    """Logs a message for a key at most once per ``interval`` (or once, if None).

    .. code-block:: python

        limiter = LogLimiter(logger, interval=60.0)
        limiter.log(logging.WARNING, "queue_full", "queue full: %d dropped", n)
        once = LogLimiter(logger, interval=None)
        once.log(logging.ERROR, message, message)   # the message is its own key
    """

    def __init__(self, logger: Union[logging.Logger, QuietLogger],
                 interval: Optional[float] = 60.0, *,
                 max_keys: int = 256, clock: Callable[[], float] = time.monotonic) -> None:
        self.logger = logger
        self.interval = interval
        self._max_keys = max_keys
        self._clock = clock
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def due(self, key: str) -> bool:
        """True (and the key marked as logged now) when a line for ``key`` may go out."""
        now = self._clock()
        with self._lock:
            last = self._last.get(key)
            if last is not None:
                if self.interval is None or now - last < self.interval:
                    return False
            elif len(self._last) >= self._max_keys:
                return False
            self._last[key] = now
            return True

    def log(self, level: int, key: str, message: str, *args: Any, **kwargs: Any) -> bool:
        """Log ``message % args`` at ``level`` if ``key`` is due; True when it was logged."""
        if not self.due(key):
            return False
        self.logger.log(level, message, *args, **kwargs)
        return True

    def reset(self) -> None:
        """Forget what was logged (a forked child starts afresh)."""
        with self._lock:
            self._last.clear()


def spellings(secret: str) -> tuple[str, ...]:
    """How ``secret`` may be written in an exception's message or a traceback, longest
    first: as is, percent- and form-encoded (once, or twice as a link in a query value
    holds it), JSON-escaped, and as ``repr`` escapes it (of the str, of its UTF-8 bytes).
    The spellings HAR masking knows (:class:`readme_metrics.har.credentials.CallerKey`)."""
    if not secret:
        return ()
    data = utf8(secret)
    written = {secret, quote(data, safe=""), quote_plus(data, safe=""),
               quote(quote(data, safe=""), safe=""), json.dumps(secret)[1:-1],
               json.dumps(secret, ensure_ascii=False)[1:-1], repr(secret)[1:-1],
               repr(data)[2:-1], data.decode("latin-1")}
    written.discard("")
    return tuple(sorted(written, key=lambda spelling: (-len(spelling), spelling)))


def hidden(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each of ``secrets`` (their :func:`spellings`) replaced by
    :data:`HIDDEN`: a long one wherever it occurs, a short one where no letter or digit
    touches it, a very short one (:data:`MIN_FREE_TEXT_SECRET`) where a whole value is
    it. A text that still spells one after a few rounds (the marker can complete
    a secret: ``D]xxxxxx`` in ``D]xxxxxxxxxxxx``) is hidden whole."""
    found = [_pattern(secret, spelling) for secret in secrets for spelling in spellings(secret)]
    for _ in range(4):
        changed = 0
        for pattern in found:
            text, count = pattern.subn(HIDDEN, text)
            changed += count
        if not changed:
            return text
    return HIDDEN if any(pattern.search(text) for pattern in found) else text


# Where a short secret's word may start: no letter or digit before it, or one that ends
# an escape (a percent escape's "%2F", repr's and JSON's "\\n", "\\xff", "\\u0022"):
# "next=%2Fkeys%2Fabcd" and "'x\\nabcd'" show the key "abcd" to whoever reads them.
_UNTOUCHED = (r"(?:(?<![^\W_])|(?<=%[0-9A-Fa-f]{2})|(?<=\\[abfnrtv])"
              r"|(?<=\\x[0-9A-Fa-f]{2})|(?<=\\u[0-9A-Fa-f]{4})|(?<=\\U[0-9A-Fa-f]{8}))")


def _pattern(secret: str, spelling: str) -> re.Pattern[str]:
    """Where :func:`hidden` hides one ``spelling`` of ``secret``: anywhere (a long one),
    where no letter or digit touches it, or where it is a whole value (see
    :data:`MIN_FREE_TEXT_SECRET`)."""
    written = re.escape(spelling)
    if len(secret) >= MIN_SUBSTRING_SECRET:
        return re.compile(written)
    if len(secret) >= MIN_FREE_TEXT_SECRET:
        return re.compile(_UNTOUCHED + written + r"(?![^\W_])")
    return re.compile(rf"\A{written}\Z|(?<='){written}(?=')|(?<=\"){written}(?=\")")


def scrubbed(text: str, secret: str) -> str:
    """``text`` with ``secret`` (the API key, its Basic token) replaced by :data:`HIDDEN`
    as written, wherever it occurs; a secret shorter than :data:`MIN_FREE_TEXT_SECRET`
    only where a whole value equals it (:func:`hidden`)."""
    if secret not in text:
        return text
    if len(secret) >= MIN_FREE_TEXT_SECRET:
        return text.replace(secret, HIDDEN)
    return _pattern(secret, secret).sub(HIDDEN, text)


def shown(exc: BaseException) -> str:
    """``str(exc)``, or what Python's own tracebacks print when that raises (an
    exception of the user's own type whose ``__str__`` fails): the line that reports an
    error must not become a second one."""
    try:
        return str(exc)
    except BaseException:  # as traceback's own: whatever __str__ raises, this line stands
        return "<exception str() failed>"


def withheld_traceback(exc: BaseException, secrets: Iterable[str] = ()) -> str:
    """The traceback with every exception's type and frames but none of its values.

    An exception's message and notes are data (``KeyError('caller-secret-key')`` carries
    the caller's key), so only its class is named; locals are never captured. A frame's
    source line is code, but the app's own code may hold ``secrets`` (the API key): a
    grouping function written as a lambda on the line that makes the config,
    ``MetricsApiConfig(api_key="rdme_...", grouping_function=lambda req: ...)``, shows
    that line when it raises. They are hidden (:func:`hidden`).
    """
    secrets = tuple(secrets)
    # A short secret ("42", "k") only where the app's code or a path may quote it: not
    # in a frame's line number or function name, nor the exception's type, which are
    # code ("line 42", "in k": every traceback would lose them). A long one anywhere.
    code = tuple(secret for secret in secrets if len(secret) >= MIN_SUBSTRING_SECRET)
    text = ""
    seen: set[int] = set()
    current: Optional[BaseException] = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = traceback.format_list(traceback.extract_tb(current.__traceback__))
        if secrets:
            frames = [_hidden_frame(frame, secrets, code) for frame in frames]
        kind = type(current)
        text = ("Traceback (most recent call last):\n" + "".join(frames)
                + f"{kind.__module__}.{kind.__qualname__} (message withheld)\n" + text)
        if current.__cause__ is not None:
            current = current.__cause__
            text = f"\n{_CAUSE}\n\n" + text
        elif current.__context__ is not None and not current.__suppress_context__:
            current = current.__context__
            text = f"\n{_CONTEXT}\n\n" + text
        else:
            current = None
    return hidden(text, code) if code else text


# A frame as traceback.format_list writes it: where, then its source line (and marks).
_FRAME = re.compile(r'(  File ")(.*)(", line \d+, in )(.*)(\n)', re.DOTALL)


def _hidden_frame(frame: str, secrets: tuple[str, ...], code: tuple[str, ...]) -> str:
    """One formatted frame with ``secrets`` hidden in its file name and source line,
    and only the long ones (``code``) in its function's name."""
    where, newline, rest = frame.partition("\n")
    found = _FRAME.fullmatch(where + newline)
    if found is None:
        return hidden(frame, secrets)
    opening, file_name, line, name, _ = found.groups()
    return (opening + hidden(file_name, secrets) + line
            + (hidden(name, code) if code else name) + newline + hidden(rest, secrets))


def _raised(exc_info: Any) -> Optional[BaseException]:
    """The exception ``exc_info`` (as :meth:`logging.Logger.log` takes it) stands for."""
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple):
        return exc_info[1] if len(exc_info) > 1 else None
    return sys.exc_info()[1]


class QuietLogger:
    """``logger``'s methods, which never raise: an exception from the app's logging
    configuration (a filter, a handler) loses that line only. A traceback (``exc_info``,
    :meth:`exception`) is written into the line by :func:`withheld_traceback`: the
    handlers never see the exception, whose message may hold request data.

    .. code-block:: python

        logger = QuietLogger(config.logger, secrets=(config.api_key,))
        logger.warning("readme_metrics: %s", message)   # whatever the handlers do

    The library logs on the request path only on rare events, so the wrapper costs one
    call there and then; the records are the logger's own (same name, and the caller's
    line through ``stacklevel``).
    """

    __slots__ = ("logger", "secrets")

    def __init__(self, logger: Union[logging.Logger, QuietLogger],
                 secrets: Iterable[str] = ()) -> None:
        self.logger: logging.Logger = (logger.logger if isinstance(logger, QuietLogger)
                                       else logger)
        #: What a traceback written into a line never shows (the API key): a source
        #: line of the app's may hold it (see :func:`withheld_traceback`). Kept by a
        #: QuietLogger made of this one.
        self.secrets: tuple[str, ...] = tuple(s for s in secrets if s) + (
            logger.secrets if isinstance(logger, QuietLogger) else ())

    @property
    def name(self) -> str:
        return self.logger.name

    def isEnabledFor(self, level: int) -> bool:  # noqa: N802 - logging's name
        try:
            return self.logger.isEnabledFor(level)
        except Exception:
            return False

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stacklevel", 2)
        try:
            if kwargs.get("exc_info"):
                exc = _raised(kwargs.pop("exc_info"))
                if exc is not None:
                    if not self.logger.isEnabledFor(level):
                        return
                    text = msg % args if args else str(msg)  # type: ignore[operator]
                    msg, args = "%s\n%s", (
                        text, withheld_traceback(exc, self.secrets).rstrip("\n"))
            self.logger.log(level, msg, *args, **kwargs)
        except Exception:  # the app's filter or handler: not the app's request's business
            pass

    def debug(self, msg: object, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stacklevel", 3)
        self.log(logging.DEBUG, msg, *args, **kwargs)

    def info(self, msg: object, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stacklevel", 3)
        self.log(logging.INFO, msg, *args, **kwargs)

    def warning(self, msg: object, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stacklevel", 3)
        self.log(logging.WARNING, msg, *args, **kwargs)

    def error(self, msg: object, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stacklevel", 3)
        self.log(logging.ERROR, msg, *args, **kwargs)

    def exception(self, msg: object, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stacklevel", 3)
        kwargs.setdefault("exc_info", True)
        self.log(logging.ERROR, msg, *args, **kwargs)

    def __repr__(self) -> str:
        return f"<QuietLogger {self.logger!r}>"
