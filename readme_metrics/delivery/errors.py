"""A failed POST as the ``requests`` exception requests would raise, on either route.

Both posters (:mod:`.direct` and :mod:`.session`) end a failed POST here, so the policy
sees the same exceptions whichever client carried it: ``requests.Timeout`` when the
watchdog cut the POST at its deadline, else the exception matching the failure, and
``requests.ConnectionError`` for anything unexpected (never a bare error of the HTTP
client, which the policy would not know as an I/O failure).
"""

from __future__ import annotations

import http.client
import socket
import ssl
from typing import Optional

import requests


def requests_error(exc: Exception, fired: bool, seconds: float,
                   connecting: bool = False) -> requests.RequestException:
    """The ``requests`` exception for ``exc``, raised in a POST bounded to ``seconds``.

    ``fired``: the watchdog cut the POST; ``connecting``: it failed while connecting.
    A deadline passed while connecting is a connect timeout (an API behind a firewall
    that drops the SYN), not an answer that did not come in time: a longer bound would
    help nothing there (policy.outcome_of_error's ``timed_out``).
    """
    if fired:
        if connecting or isinstance(exc, requests.ConnectTimeout):
            return requests.exceptions.ConnectTimeout(
                f"no connection within {round(seconds, 2):g}s")
        return requests.Timeout(f"no complete answer within {round(seconds, 2):g}s")
    if isinstance(exc, requests.RequestException):
        return exc
    # The error itself as the argument, as requests wraps urllib3's: described() names it.
    if isinstance(exc, ssl.SSLError):
        return requests.exceptions.SSLError(exc)
    if isinstance(exc, (TimeoutError, socket.timeout)):  # not one before Python 3.10
        if connecting:
            return requests.exceptions.ConnectTimeout(exc)
        return requests.exceptions.ReadTimeout(exc)
    if isinstance(exc, (OSError, http.client.HTTPException)):
        return requests.ConnectionError(exc)
    # Unexpected (a bug here or in the HTTP client): still an I/O failure to the policy,
    # retried and logged with its type, never raised into the sender as something else.
    return requests.ConnectionError(f"unexpected {type(exc).__name__}: {exc}")


def _wrapped(exc: BaseException) -> Optional[BaseException]:
    """The error ``exc`` only wraps: requests' exceptions and urllib3's SSLError hold it
    as their one argument, urllib3's MaxRetryError as its ``reason``."""
    if exc.args and isinstance(exc.args[0], BaseException):
        return exc.args[0]
    reason = getattr(exc, "reason", None)
    return reason if isinstance(reason, BaseException) else None


def chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the errors it wraps, outermost first (bounded: a cycle ends it)."""
    found = [exc]
    inner = _wrapped(exc)
    while inner is not None and len(found) < 16 and all(inner is not e for e in found):
        found.append(inner)
        inner = _wrapped(inner)
    return found


def described(exc: BaseException, layers: Optional[list[BaseException]] = None) -> str:
    """A failed POST in one line, each kind of failure named once: the type the policy
    sees, then the innermost error it wraps, by type when that is another one, with its
    message (``SSLError: [SSL: WRONG_VERSION_NUMBER] wrong version number``,
    ``ConnectionError: ConnectionRefusedError: [Errno 111] Connection refused``).

    requests wraps urllib3's MaxRetryError, which wraps urllib3's SSLError, which wraps
    ssl's: ``str()`` of the outermost repeated every layer ("SSLError: ...(Caused by
    SSLError(SSLError(1, '[SSL: ...')))"). ``layers``: ``chain(exc)``, where the caller
    has it already.
    """
    inner = (chain(exc) if layers is None else layers)[-1]
    name, inner_name = type(exc).__name__, type(inner).__name__
    if len(inner.args) == 1 and isinstance(inner.args[0], str):
        message = inner.args[0]  # ssl's errors without an errno show their args' tuple
    else:
        try:
            message = str(inner)
        except Exception:  # noqa: BLE001 - an error whose __str__ raises: its type says it
            message = ""
    named = name if inner_name == name else f"{name}: {inner_name}"
    return f"{named}: {message}" if message else named
