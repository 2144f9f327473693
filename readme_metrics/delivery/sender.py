"""One POST of a batch: build and encode its logs, post them, judge the answer.

Shared by the background senders and inline mode. It does not decide what happens to
the batch after the verdict (that is :class:`~readme_metrics.delivery.batcher.Batcher`'s
job) and it never raises: a log that cannot be built is reported to ``encode``'s
``on_error`` (with the item: its caller's key is known there) and left out, an I/O
failure is a RETRY outcome. Everything it puts into a message is scrubbed of the API key
and its Basic token.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterator, Optional, Union
from urllib.parse import urlsplit, urlunsplit

from readme_metrics._logging import scrubbed
from readme_metrics.delivery.encode import Body, array_body, dumps
from readme_metrics.delivery.interrupted import signal_raised
from readme_metrics.delivery.outcome import Outcome, outcome_of_error, outcome_of_status
from readme_metrics.delivery.transport import Transport, basic_token
from readme_metrics.delivery.watchdog import Stretch

Build = Callable[[Any], dict]


class Sender:
    """Encodes batches and posts them through ``transport``; never raises."""

    def __init__(self, transport: Transport, build: Build, api_key: str) -> None:
        self.transport = transport
        self._build = build
        self._secrets = [s for s in (api_key, basic_token(api_key)) if s]

    def encode(self, items: list[Any],
               on_error: Callable[[BaseException, Any], None]) -> Optional[Body]:
        """The JSON array of the logs built from ``items`` (its pieces: large logs are
        not copied into one ``bytes``); None if none could be built.

        Each log that fails is reported to ``on_error(exc, item)`` and left out.

        One log at a time: a log that cannot be built or encoded is dropped alone, and no
        single C call holds the GIL for a whole batch of large bodies (the interpreter
        can hand the GIL to a request thread between two logs).
        """
        return self.encode_upto(items, on_error)[0]

    def encode_upto(self, items: list[Any], on_error: Callable[[BaseException, Any], None],
                    limit: float = math.inf, room: float = math.inf,
                    pause: Optional[Callable[[], None]] = None
                    ) -> tuple[Optional[Body], int]:
        """:meth:`encode`, bounded: the array and how many of ``items`` it used. After
        the first log (one larger than the bounds goes alone), those that would take the
        array past ``limit`` bytes, or past ``room`` bytes plus the captured bytes
        (``item.nbytes``) of the logs in it, are left out (:mod:`.held`). ``pause``, if
        given, is called before each log is built but the first (a sender thread's
        :class:`~readme_metrics.delivery.gil_hand_over.GilHandOver`)."""
        used = [0]
        body = array_body(self._encoded(items, on_error, limit, room, used, pause))
        return (None if body.size == 2 else body), used[0]  # "[]": none could be built

    def _encoded(self, items: list[Any], on_error: Callable[[BaseException, Any], None],
                 limit: float, room: float, used: list[int],
                 pause: Optional[Callable[[], None]]) -> Iterator[bytes]:
        """The logs of ``items`` encoded, one at a time (see :meth:`encode`): read by
        ``array_body`` as they come, so that each small one is freed once its piece (up
        to 64 KiB) is joined, not held until the batch's end. ``used[0]``: how many
        items were read (built, or dropped as they could not be)."""
        build = self._build
        size = 1  # the array's "[" and, for each log, its comma or "]"
        roomy = room != math.inf
        first = True
        for item in items:
            if first:
                first = False
            elif pause is not None:
                pause()
            if roomy:
                room += item.nbytes  # (its captured bytes go as its JSON comes)
            try:
                part = dumps(build(item))
            except BaseException as exc:  # even SystemExit from build() drops one log only
                if signal_raised(exc):  # (but a signal handler's: inline.py puts it back)
                    raise
                on_error(exc, item)
                used[0] += 1
                continue
            size += len(part) + 1
            if (size > limit or size > room) and size > len(part) + 2:  # (not the first)
                return  # this one and those after it wait for a POST of their own
            used[0] += 1
            yield part

    def post(self, body: Union[bytes, Body], timeout: float,
             stretch: Optional[Stretch] = None, until: float = math.inf) -> Outcome:
        """One attempt (``stretch``, ``until``: :meth:`Transport.post_logs`); the
        outcome's texts are scrubbed of the key."""
        try:
            response = self.transport.post_logs(body, timeout, stretch, until)
        except Exception as exc:
            outcome = outcome_of_error(exc, self.proxied)
            cause = outcome.cause
            if outcome.reason == "proxy" and self.transport.proxy_userinfo:
                # urllib3 may quote the proxy URL it could not parse whole (Failed to
                # parse: http://user:password@proxy:99999), or a piece of its password.
                cause = (f"{type(exc).__name__}: its message withheld, as it may quote "
                         "the proxy's user and password")
            return Outcome(outcome.verdict, self.scrub(cause), reason=outcome.reason,
                           timed_out=outcome.timed_out)
        status = response.status_code
        # Retry-After and the body count only for an error (policy.outcome_of_status).
        if status < 300:
            outcome = outcome_of_status(status, response.reason or "", None, "")
        elif status < 400:  # a redirect, never followed: where to, for the warning
            outcome = outcome_of_status(status, response.reason or "", None, "",
                                        location=response.first("Location"))
        else:
            outcome = outcome_of_status(status, response.reason or "",
                                        response.first("Retry-After"), response.text,
                                        self.proxied)
        waited = getattr(response, "waited", None)
        if outcome.detail or waited is not None:
            return Outcome(outcome.verdict, outcome.cause, outcome.retry_after,
                           self.scrub(outcome.detail), outcome.reason, answered=True,
                           waited=waited)
        return outcome

    @property
    def endpoint(self) -> str:
        """Where the logs go, for messages: the URL without user, password or query."""
        parts = urlsplit(self.transport.url)
        return self.scrub(urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2],
                                                    query="", fragment="")))

    @property
    def proxied(self) -> bool:
        """True when the POSTs go through a proxy (the environment's, as requests reads it)."""
        return self.transport.proxy_host is not None

    @property
    def proxy_elsewhere(self) -> bool:
        """True when that proxy is not on this machine (:attr:`Transport.proxy_elsewhere`)."""
        return self.transport.proxy_elsewhere

    def scrub(self, text: str) -> str:
        """``text`` with the API key and its Basic token replaced by [REDACTED]."""
        for secret in self._secrets:
            text = scrubbed(text, secret)  # (a 1 to 3 character key: whole values only)
        return text
