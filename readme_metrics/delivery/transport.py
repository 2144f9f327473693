"""The I/O half of delivery: POST batches of logs to ReadMe, each POST as cheap as it can be.

This module only sends. What to do with the answer (retry, pause, drop) is decided in
:mod:`readme_metrics.delivery.policy`, so the policy can be tested without sockets and
the I/O without policy, as sentry-python splits its transport.

Which HTTP client carries a POST (the rule, decided when the transport is made or its
``url`` set, from the environment as requests reads it at that moment):

- **requests** (:mod:`.session`) when requests would use a proxy for the Metrics API URL
  (``HTTP_PROXY`` / ``HTTPS_PROXY`` / ``ALL_PROXY`` not excluded by ``NO_PROXY``, or the
  system's proxy settings: ``requests.utils.get_environ_proxies``), or when the URL is
  anything but a plain ``http(s)://host[:port]/path`` (user info in it): proxy users see
  no change at all.
- **direct** (:mod:`.direct`) otherwise: a kept-alive socket per sender, sending the same
  headers the session prepared (the block made once by ``http.client``), the answer read
  by :mod:`.reader` with ``http.client``'s rules, with TLS verified as requests
  does (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``, else certifi; :mod:`.tls`) and the
  session's cookie jar. It skips requests' per-call machinery, most of the sender's CPU
  per POST.

Either way ``timeout`` bounds a whole POST (:mod:`readme_metrics.delivery.watchdog`),
failures raise the same ``requests`` exceptions, and the answer is an
:class:`~readme_metrics.delivery.answer.Answer`. requests stays in use for proxies and for
the docs URL lookup.

It trusts ``config.metrics_api`` (validated as an http(s) URL by the config) and treats
the API key as a secret: it only ever travels in the ``Authorization`` header and is never
part of a URL, an exception message or a log line made here.
"""

from __future__ import annotations

import logging
import math
from typing import Optional, Union
from urllib.parse import SplitResult, urlsplit

import requests
from requests.utils import select_proxy

from readme_metrics._http import shown_url
from readme_metrics._logging import LogLimiter, QuietLogger, reloader_parent
from readme_metrics._loopback import is_loopback_url, proxy_on_this_machine
from readme_metrics.config import MetricsApiConfig
from readme_metrics.delivery import watchdog
from readme_metrics.delivery.answer import Answer
from readme_metrics.delivery.direct import DirectPoster
from readme_metrics.delivery.encode import ENCODER, Body
from readme_metrics.delivery.session import USER_AGENT, SessionPoster, basic_token, make_session

__all__ = ["USER_AGENT", "Answer", "Transport", "basic_token", "loopback_proxy_hint",
           "proxy_variables"]

Poster = Union[DirectPoster, SessionPoster]

# The start-up warning of a proxy in the way of a loopback URL: once per logger and URL.
_PROXY_WARNED = LogLimiter(logging.getLogger("readme_metrics"), interval=None)


def proxy_variables(endpoint: str) -> str:
    """The variables requests takes the proxy for ``endpoint`` from (its scheme's)."""
    scheme = "https" if endpoint[:6].lower() == "https:" else "http"  # HTTPS:// too
    return f"{scheme}_proxy, {scheme.upper()}_PROXY or ALL_PROXY"


def loopback_proxy_hint(endpoint: str) -> str:
    """What to do when the POSTs to a loopback ``endpoint`` (``readme-metrics collect``)
    go to a proxy elsewhere (:attr:`Transport.proxy_elsewhere`): it cannot reach this
    machine's loopback address, whether it answers (a 403, a 502) or not. The proxy is
    never named (its URL may hold a password)."""
    return (f"the POSTs went to the proxy that {proxy_variables(endpoint)} names, "
            "and a proxy cannot reach this machine's loopback address: start the app with "
            f"NO_PROXY={urlsplit(endpoint).hostname} set (keeping what it holds, "
            "comma-separated), then the POSTs go straight to metrics_api "
            "(README_METRICS_SERVER)")


class Transport:
    """POSTs JSON bodies to ``{metrics_api}/v1/request`` over kept-alive connections.

    .. code-block:: python

        transport = Transport(config)
        answer = transport.post_logs(b'[{"_id": "..."}]', timeout=3.0)
        transport.close()

    Thread-safe: up to ``MAX_SENDERS`` senders post at once, each on its own keep-alive
    connection. Nothing is retried here (retry policy belongs to the caller).
    ``timeout`` bounds the whole POST, looking up the host name (direct route), connecting
    and reading the answer included. Errors
    are raised as the usual ``requests`` exceptions; a POST cut at its deadline raises
    ``requests.Timeout``. Once the final answer's status line and headers came, the
    answer is returned whatever happens to its body (cut at the deadline, ended or
    reset early, a bad chunk; the body then empty and the connection not reused): the
    status is the API's verdict, and accepted logs must not be sent again.
    ``route`` says which client carries the POSTs ("direct" or
    "requests", see the module docstring). ``direct=False`` sends every POST with
    requests (the transport before the direct path; benchmarks and tests compare both).
    """

    def __init__(self, config: MetricsApiConfig, *, direct: bool = True) -> None:
        self.timeout = config.timeout
        self._direct = direct
        self._logger = QuietLogger(config.logger, secrets=(config.api_key,))
        self.session = make_session(config.api_key)
        #: The host of the proxy the POSTs go through (from the environment, as requests
        #: reads it), or None when there is none.
        self.proxy_host: Optional[str] = None
        #: True when that proxy's URL may hold a user and password (an "@" in it).
        self.proxy_userinfo = False
        self._poster: Poster = self._poster_for(config.metrics_api + "/v1/request")
        if (is_loopback_url(config.metrics_api) and self.proxy_elsewhere
                and not reloader_parent()
                and _PROXY_WARNED.due(f"{config.logger.name}\n{config.metrics_api}")):
            # Said once a batch had spent its attempts (a minute or more on), or not at all when the
            # proxy answered (its 403 read as a wrong API key): said now. Not for a proxy
            # on this machine (mitmproxy), which does reach the address.
            self._logger.warning(
                "readme_metrics: metrics_api (README_METRICS_SERVER) is %s, on this machine, "
                "but requests sends to it through a proxy: %s", shown_url(config.metrics_api),
                loopback_proxy_hint(config.metrics_api))

    @property
    def proxy_elsewhere(self) -> bool:
        """True when the POSTs go through a proxy that is not on this machine
        (:func:`.proxy_on_this_machine`): one that cannot reach its loopback address.
        The start-up warning and the delivery messages' proxy hint both ask this. Not for
        a proxy whose host cannot be read (""): requests cannot use it, and the first POST
        says so (policy.UNUSABLE_PROXY), not that it cannot reach this machine."""
        return bool(self.proxy_host) and not proxy_on_this_machine(self.proxy_host or "")

    @property
    def url(self) -> str:
        """Where the logs are posted; setting it chooses the route afresh."""
        return self._poster.url

    @url.setter
    def url(self, url: str) -> None:
        old, self._poster = self._poster, self._poster_for(url)
        old.close()

    @property
    def route(self) -> str:
        """"direct" (own sockets) or "requests" (a proxy applies, or an unusual URL)."""
        return self._poster.route

    def _poster_for(self, url: str) -> Poster:
        """The poster for ``url`` under the rule of the module docstring."""
        session = self.session
        settings = session.merge_environment_settings(url, {}, None, None, None)
        parts = urlsplit(url)
        template = session.prepare_request(requests.Request("POST", url, data=b""))
        verify = settings["verify"]
        proxy = select_proxy(url, settings["proxies"])
        self.proxy_host = None if proxy is None else _proxy_host(proxy)
        self.proxy_userinfo = proxy is not None and "@" in proxy
        if (not self._direct or parts.scheme not in ("http", "https") or not parts.hostname
                or "@" in parts.netloc or settings["cert"] is not None
                or proxy is not None
                or not (verify is True or isinstance(verify, str) and verify)):
            through = "" if proxy is None else f", through the proxy at {self.proxy_host or '?'}"
            self._logger.debug("readme_metrics: logs are posted to %s with requests%s; "
                               "JSON encoder: %s", _where(parts), through, ENCODER)
            return SessionPoster(session, url, settings, template)
        self._logger.debug("readme_metrics: logs are posted to %s directly (kept-alive sockets); "
                           "JSON encoder: %s", _where(parts), ENCODER)
        return DirectPoster(url, template, verify if isinstance(verify, str) else True,
                            session.cookies)

    def post_logs(self, body: Union[bytes, Body], timeout: Optional[float] = None,
                  stretch: Optional[watchdog.Stretch] = None,
                  until: float = math.inf) -> Answer:
        """POST one JSON array of logs (``bytes``, or the pieces of a :class:`Body`, sent
        as they are on the direct route); raises ``requests.RequestException`` on I/O
        errors.

        ``timeout`` (default ``config.timeout``) bounds the whole call; with a
        ``stretch``, the bound grows with it while the call runs, up to the monotonic
        time ``until`` (:func:`.watchdog.limit`).
        """
        seconds = self.timeout if timeout is None else max(timeout, 0.001)
        return self._poster.post(body, seconds, stretch, until)

    def answers(self, seconds: float) -> Optional[bool]:
        """Whether the Metrics API's host answers a request that carries no logs within
        ``seconds`` (:meth:`DirectPoster.answers`); None on the requests route (through
        a proxy, whose answer says nothing of the API's host): not asked."""
        poster = self._poster
        if isinstance(poster, DirectPoster):
            return poster.answers(seconds)
        return None

    def end_check(self) -> None:
        """Cut the check of :meth:`answers` in flight, if any (close(): it is not waited
        for past shutdown_timeout)."""
        poster = self._poster
        if isinstance(poster, DirectPoster):
            poster.end_check()

    def close(self) -> None:
        """Close the kept-alive connections."""
        self._poster.close()
        self.session.close()

    def __repr__(self) -> str:
        # (A user and password in the URL are a credential: never shown.)
        return f"Transport(url={shown_url(self.url)!r}, route={self.route!r})"


def _proxy_host(proxy: str) -> str:
    """The host of the ``proxy`` URL, "" when it has none or urlsplit refuses it
    (``http://[::1:3128``, a bracket left out: requests fails each POST with InvalidURL,
    and the app must start all the same; the first POST says so)."""
    try:
        return urlsplit(proxy if "://" in proxy else f"http://{proxy}").hostname or ""
    except ValueError:
        return ""


def _where(parts: SplitResult) -> str:
    """``scheme://host:port`` of the Metrics API for the debug log: never the user and
    password a URL may carry, nor its path."""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:  # checked when the options were; a log line must not raise
        port = None
    return f"{parts.scheme}://{host}" + ("" if port is None else f":{port}")
