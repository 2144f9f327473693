"""What the warnings about a failed POST say: its cause, and what fixes it.

The hints for a Metrics API nothing listens at, one behind a proxy, one this machine
cannot reach, a redirect, and a proxy that cannot carry the POSTs; the close's word on
why logs were waiting (:func:`why_waiting`). :class:`FailureHints` is a mixin of
:class:`~readme_metrics.delivery.attempt.Attempt` (its state is Attempt's).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Optional
from urllib.parse import urlsplit

from readme_metrics._loopback import is_loopback_url
from readme_metrics._wording import counted
from readme_metrics.delivery.limits import TIMEOUT_CAP
from readme_metrics.delivery.post_progress import dropped_unknown
from readme_metrics.delivery.transport import loopback_proxy_hint, proxy_variables
from readme_metrics.nothing_listens import NothingListens

if TYPE_CHECKING:
    from readme_metrics._logging import QuietLogger
    from readme_metrics.delivery.sender import Sender

__all__ = ["FailureHints", "unreached_hint", "why_waiting"]


class FailureHints:
    """Attempt's words for a failed POST: the hint for its cause, said once in full."""

    _sender: Sender
    _logger: QuietLogger
    _timeout: float
    _proxy_said: bool
    _key_said: str
    _auth_pause: float
    told: NothingListens

    def _timed_out_hint(self) -> str:
        """For POSTs that got no answer in time: what the retries do about it, and the
        option to raise for an API slower than ``timeout``."""
        timeout = self._timeout
        if timeout >= TIMEOUT_CAP:
            return (f"; no answer within timeout (README_TIMEOUT) of {timeout:g}s: raise it "
                    "if the Metrics API is that slow")
        return (f"; each POST that timed out is tried again waiting twice as long, up to "
                f"{TIMEOUT_CAP:g}s: if the Metrics API answers later than timeout "
                f"(README_TIMEOUT) of {timeout:g}s, raise it")

    def _proxy_refused(self, count: int, cause: str, unknown: int = 0) -> None:
        """The proxy cannot carry the POSTs (policy: a proxy requests cannot use, or the
        proxy's own 407, or 403 to a CONNECT): said once, as an error, with what to do;
        the batches after it (``count`` logs) are dropped at their first attempt too,
        each said at debug (one POST each: a proxy that lets them through later gets
        them); ``unknown`` of them a POST of which went in full unanswered before (in
        the one wording of :func:`.post_progress.dropped_unknown`: a warning)."""
        also = dropped_unknown(unknown)
        if self._proxy_said:
            self._logger.log(
                logging.WARNING if unknown else logging.DEBUG, "readme_metrics: dropping "
                "a batch of %s: the proxy refused it or cannot be used (%s)%s",
                counted(count, "log"), cause, also)
            return
        self._proxy_said = True
        sender = self._sender
        endpoint = sender.endpoint
        host = urlsplit(endpoint).hostname
        exempt = (f"set NO_PROXY={host} (keeping what it holds, comma-separated) for the "
                  "POSTs to go without the proxy")
        # A proxy elsewhere in the way of the local collector: that is the thing to fix.
        elsewhere = is_loopback_url(endpoint) and sender.proxy_elsewhere
        if cause.startswith("HTTP 407") or "failed: 407" in cause:
            what = "asks for credentials"
            fix = ("give them (or the right ones) in that variable "
                   f"(http://user:password@host:port), or {exempt}, and restart the app")
        elif "failed: 403" in cause:
            what = f"refused to let the POSTs through to {host}"
            fix = (f"ask for {host} to be let through it; where {host} is reached "
                   f"without the proxy, {exempt}, and restart the app")
        else:
            what, elsewhere = "is not one requests can use", False
            # requests' own error when PySocks is missing (its "socks" extra installs it).
            fix = ("install PySocks (pip install 'requests[socks]')" if "SOCKS" in cause
                   else "correct that variable (http://host:port)")
            fix = f"{fix}, or {exempt}, and restart the app"
        self._logger.error(
            "readme_metrics: no log can be posted to %s: the proxy that %s names %s (%s), so "
            "each batch of logs is dropped at its first attempt (stats: dropped_proxy)%s; "
            "%s.", endpoint, proxy_variables(endpoint), what, cause, also,
            loopback_proxy_hint(endpoint) if elsewhere else fix)

    def _say_pause(self, cause: str, count: int, unknown: int, fresh: bool) -> None:
        """The ERROR of a 401/403 that began a pause (``fresh``), with the logs it drops
        that the Metrics API may have (``unknown``: of the refused batch of ``count``
        and of the retries waiting, a POST of each sent in full unanswered, in the one
        wording: delivery86, said nothing of them); a batch refused during the pause,
        some of them unknown, in a warning (one error per pause). Said before the batch
        is settled, so a ``flush()`` that returns False for it finds the reason logged
        already (said after, a caller checking the result then the log saw no reason
        yet: delivery70)."""
        logger, endpoint, also = self._logger, self._sender.endpoint, dropped_unknown(unknown)
        if not fresh:
            if unknown:
                logger.warning("readme_metrics: the Metrics API at %s refused a batch of "
                               "%s during the pause (%s): dropped%s", endpoint,
                               counted(count, "log"), cause, also)
        elif self._sender.proxied:
            # A company proxy's 403 for a host it does not let through: the key
            # was never looked at, whoever answered is not known here.
            logger.error(
                "readme_metrics: the proxy or the Metrics API at %s refused the POST "
                "of logs (%s): the POSTs go through a proxy, whose own refusal this "
                "may be; if it was the API's, %s is wrong or revoked. Logs are "
                "dropped for the next %ss%s%s.", endpoint, cause, self._key_said,
                self._auth_pause, also, self._hint(cause) or self._remote_proxy_hint())
        else:
            logger.error(
                "readme_metrics: the Metrics API at %s refused the API key (%s): "
                "%s is wrong or revoked. Logs are dropped for the next %ss%s.",
                endpoint, cause, self._key_said, self._auth_pause, also)

    def _hint(self, cause: str) -> str:
        """:func:`_refused_hint` for this sender's endpoint and proxy: for an answer to a
        POST to a loopback URL that went through a proxy elsewhere (a company proxy's 403,
        407 or 502), that it was the proxy's, and what to do."""
        sender = self._sender
        return _refused_hint(sender.endpoint, cause, sender.proxied, sender.proxy_elsewhere)

    def _why(self, cause: str) -> tuple[str, str]:
        """The cause and hint of a warning about a failed POST: for a place this
        middleware said the fix of "nothing listens there" for already, the short form
        in place of both (:mod:`readme_metrics.nothing_listens`)."""
        return _why(self._sender.endpoint, cause, self._hint(cause), self.told)

    def _said(self, hint: str, logged: bool) -> None:
        """A warning ending in ``hint`` was ``logged``: if it said the fix of "nothing
        listens there" in full, its place is marked said."""
        if logged and hint == _NOTHING_THERE_HINT:
            self.told.mark(self._sender.endpoint, self._logger)

    def _remote_proxy_hint(self) -> str:
        """For a refusal through a proxy of a POST to a host that is not this machine's
        (ReadMe's): what to do if it was the proxy's."""
        host = urlsplit(self._sender.endpoint).hostname
        return (f"; if it was the proxy's: ask for {host} to be let through it, or add "
                f"{host} to NO_PROXY where it is reached without the proxy")


def why_waiting(endpoint: str, cause: Optional[str], proxied: bool = False,
                elsewhere: bool = False, told: Optional[NothingListens] = None) -> str:
    """For the close that gives up on logs waiting for a retry: what their last attempt
    met (the collector not started at all, a newcomer's first Ctrl-C, said only
    "1 log not delivered"), with the hint of the retries' own warning (in short where
    ``told`` says it was said)."""
    if not cause:
        return ""
    why, hint = _why(endpoint, cause, _refused_hint(endpoint, cause, proxied, elsewhere),
                     told)
    return f"; the last attempt to post to {endpoint} failed ({why}){hint}"


def _why(endpoint: str, cause: str, hint: str,
         told: Optional[NothingListens]) -> tuple[str, str]:
    """``cause`` and ``hint`` as a warning says them: where ``hint`` is the fix of
    "nothing listens there" and ``told`` has it said for ``endpoint``'s place, the
    short form in place of both (the cause, a refused connection, is in the line above)."""
    if told is not None and hint == _NOTHING_THERE_HINT and told.said(endpoint):
        return told.again(endpoint), ""
    return cause, hint


def _refused_hint(endpoint: str, cause: str, proxied: bool = False,
                  elsewhere: bool = False) -> str:
    """For a loopback Metrics API URL nothing listens at: what it was most likely meant
    for (README's See it locally), the collector, not started or on another port. For
    one the POSTs went to through a proxy elsewhere (it cannot reach this machine's
    127.0.0.1, whether it answers, a 502, or not): the variable that exempts it. Through
    a proxy on this machine (mitmproxy, which does reach it): its 502 is most likely the
    collector not started; its not answering, the proxy not started."""
    if cause.startswith("HTTP 3"):
        return ("; a redirect is never followed (the API key goes to no other host): if "
                "it points to the Metrics API, set metrics_api (README_METRICS_SERVER) "
                "to that URL")
    if not is_loopback_url(endpoint):
        return "" if proxied else unreached_hint(endpoint, cause)
    if elsewhere:
        return f"; {loopback_proxy_hint(endpoint)}"
    if proxied and cause.startswith("ProxyError"):
        return (f"; the proxy on this machine that {proxy_variables(endpoint)} names did "
                "not answer: start it, or start the app with "
                f"NO_PROXY={urlsplit(endpoint).hostname} set (keeping what it holds, "
                "comma-separated) for the POSTs to go straight to metrics_api "
                "(README_METRICS_SERVER)")
    if proxied and cause.startswith("HTTP 502"):
        return f"; the proxy on this machine could not reach it, {_NOTHING_THERE}"
    if cause.startswith(("HTTP 404", "HTTP 405", "HTTP 501")):
        parts = urlsplit(endpoint)
        if parts.path != "/v1/request":  # README_METRICS_SERVER=http://127.0.0.1:8001/x
            base = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
            return ("; what answers there is no Metrics API: for `readme-metrics "
                    "collect`, metrics_api (README_METRICS_SERVER) is its base URL alone, "
                    f"without a path: {base}")
        return f"; {_NOT_A_METRICS_API}"
    if "ConnectionRefusedError" not in cause:
        return ""
    return _NOTHING_THERE_HINT


#: What a POST met that never reached the host: a name not looked up, a connection
#: refused, dropped (a firewall's DROP: a connect timeout) or with no route to it.
_UNREACHED = ("gaierror", "NameResolutionError", "Failed to resolve", "host name timed out",
              "ConnectTimeout", "ConnectionRefusedError", "Network is unreachable",
              "No route to host")


def unreached_hint(endpoint: str, cause: str) -> str:
    """For a Metrics API on another host (ReadMe's), not through a proxy: a POST that did
    not reach it (``_UNREACHED``; or the docs-URL lookup's GET, :mod:`readme_metrics.docs_url`)
    is most likely the network of the app's machine (an egress firewall, a security
    group, a name server, a network that allows only a proxy); one that got no answer in
    time (``Timeout``, ``ReadTimeout``), that too or
    an API slower than ``timeout``. Both say how to check it from that machine."""
    parts = urlsplit(endpoint)
    origin = f"{parts.scheme}://{parts.netloc}"
    check = f"`curl -sI {origin}`, run on the app's machine, shows an HTTP answer once it can"
    if any(sign in cause for sign in _UNREACHED):
        return (f"; this machine cannot reach {parts.hostname}: a firewall or egress rule "
                f"(a container's, a security group's) that blocks outbound connections to "
                f"it, a name server that does not resolve it, or no network. Let the app's "
                f"machine reach {origin} (or, where the network allows only a proxy, set "
                f"HTTPS_PROXY before the app starts): {check}")
    if cause.startswith(("Timeout", "ReadTimeout")):
        return (f"; no answer from {parts.hostname} within timeout (README_TIMEOUT): a "
                f"firewall that drops the connection, or a slow network: {check}")
    return ""


#: A 404, 405 or 501 to the POST from a loopback URL: another program has the port (the
#: collector started on another, or not at all), which takes no POST /v1/request.
_NOT_A_METRICS_API = ("what answers there is no Metrics API (`readme-metrics collect` "
                      "takes POST /v1/request): another program (or this app) has that "
                      "port; start `readme-metrics collect` (--port 0 picks a free port) "
                      "and give README_METRICS_SERVER the URL it prints")

_NOTHING_THERE = ("nothing listens there: start `readme-metrics collect` (it prints the URL "
                  "to give README_METRICS_SERVER), or correct the port in metrics_api "
                  "(README_METRICS_SERVER)")
_NOTHING_THERE_HINT = f"; {_NOTHING_THERE}"
