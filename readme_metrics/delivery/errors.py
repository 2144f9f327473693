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

import requests


def requests_error(exc: Exception, fired: bool, seconds: float,
                   connecting: bool = False) -> requests.RequestException:
    """The ``requests`` exception for ``exc``, raised in a POST bounded to ``seconds``.

    ``fired``: the watchdog cut the POST; ``connecting``: it failed while connecting.
    """
    if fired:
        return requests.Timeout(f"no complete answer within {seconds:g}s")
    if isinstance(exc, requests.RequestException):
        return exc
    detail = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, ssl.SSLError):
        return requests.exceptions.SSLError(detail)
    if isinstance(exc, (TimeoutError, socket.timeout)):  # not one before Python 3.10
        if connecting:
            return requests.exceptions.ConnectTimeout(detail)
        return requests.exceptions.ReadTimeout(detail)
    if isinstance(exc, (OSError, http.client.HTTPException)):
        return requests.ConnectionError(detail)
    # Unexpected (a bug here or in the HTTP client): still an I/O failure to the policy,
    # retried and logged with its type, never raised into the sender as something else.
    return requests.ConnectionError(f"unexpected {detail}")
