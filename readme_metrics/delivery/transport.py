"""The I/O half of delivery: one pooled ``requests.Session`` posting batches to ReadMe.

This module only sends. What to do with the answer (retry, pause, drop) is decided in
:mod:`readme_metrics.delivery.policy`, so the policy can be tested without sockets and
the I/O without policy, as sentry-python splits its transport.

Public API of requests and urllib3 only: ``Session.post`` (which honours the
environment's proxies and CA bundle), an ``HTTPAdapter`` subclass through its documented
``init_poolmanager`` / ``proxy_manager_for`` hooks, and urllib3's connection and pool
classes subclassed so that :mod:`readme_metrics.delivery.watchdog` can bound a whole POST
(a server that answers one byte at a time cannot hold a sender past ``timeout``).

It trusts ``config.metrics_api`` (validated as an http(s) URL by the config) and treats
the API key as a secret: it only ever travels in the ``Authorization`` header and is never
part of a URL, an exception message or a log line made here.
"""

from __future__ import annotations

import base64
from typing import Any, Optional

import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection

from readme_metrics.config import MetricsApiConfig
from readme_metrics.delivery import watchdog
from readme_metrics.delivery.policy import MAX_SENDERS
from readme_metrics.version import __version__

USER_AGENT = f"readme-metrics-python@{__version__}"


def basic_token(api_key: str) -> str:
    """The Basic credentials ReadMe expects: base64 of ``"{api_key}:"`` (empty password)."""
    return base64.b64encode(f"{api_key}:".encode()).decode("ascii")


class _Watched(HTTPConnection):
    """Joins the running watchdog limit whenever it connects or sends a request.

    Mixed in before urllib3's HTTP or HTTPS connection class: ``super()`` is that class.
    """

    def connect(self) -> None:
        watchdog.watch(self)
        super().connect()

    def request(self, *args: Any, **kwargs: Any) -> Any:
        watchdog.watch(self)
        return super().request(*args, **kwargs)


class _WatchedHTTPConnection(_Watched):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class _Adapter(HTTPAdapter):
    """requests' adapter, whose pools make watched connections (direct or via a proxy)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS pools keep socket timeouts only
            manager.pool_classes_by_scheme = dict(_POOLS)
        return manager


class _BasicToken(requests.auth.AuthBase):
    """Sets our Authorization header (and keeps ~/.netrc from replacing it)."""

    def __init__(self, token: str) -> None:
        self._header = f"Basic {token}"

    def __call__(self, request: Any) -> Any:
        request.headers["Authorization"] = self._header
        return request

    def __repr__(self) -> str:
        return "_BasicToken([REDACTED])"


class Transport:
    """POSTs JSON bodies to ``{metrics_api}/v1/request`` over one keep-alive session.

    .. code-block:: python

        transport = Transport(config)
        response = transport.post_logs(b'[{"_id": "..."}]', timeout=3.0)
        transport.close()

    Thread-safe: up to ``MAX_SENDERS`` senders post at once, each on its own pooled
    keep-alive connection. Nothing is retried here (retry policy belongs to the caller).
    ``timeout`` bounds the whole POST, connecting and reading the answer included. Errors
    are raised as the usual ``requests`` exceptions; a POST cut at its deadline raises
    ``requests.Timeout``.
    """

    def __init__(self, config: MetricsApiConfig) -> None:
        self.url = config.metrics_api + "/v1/request"
        self.timeout = config.timeout
        self.session = requests.Session()
        self.session.headers.update({
            "User-Agent": USER_AGENT,
            "Content-Type": "application/json",
            "Accept-Encoding": "identity",
        })
        self.session.auth = _BasicToken(basic_token(config.api_key))
        adapter = _Adapter(pool_connections=1, pool_maxsize=MAX_SENDERS, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        # Session.post prepares the request (headers, auth, cookies) and reads the
        # environment's proxy and CA bundle settings again on every call, a large share
        # of the sender's CPU per POST: both are done once here, and each POST copies
        # the prepared request and sets its body. The environment is thus read when the
        # transport is made (at start-up, and again in a forked child).
        self._prepare()

    def _prepare(self) -> None:
        """The request every POST copies, and the environment's settings for ``url``."""
        settings = self.session.merge_environment_settings(self.url, {}, None, None, None)
        self._send_options: dict[str, Any] = {
            key: settings[key] for key in ("proxies", "verify", "cert")}
        self._template = self.session.prepare_request(
            requests.Request("POST", self.url, data=b""))
        self._prepared_url = self.url

    def post_logs(self, body: bytes, timeout: Optional[float] = None) -> requests.Response:
        """POST one JSON array of logs; raises ``requests.RequestException`` on I/O errors.

        ``timeout`` (default ``config.timeout``) bounds the whole call.
        """
        seconds = self.timeout if timeout is None else max(timeout, 0.001)
        response: Optional[requests.Response] = None
        try:
            with watchdog.limit(seconds) as limit:
                try:
                    response = self._post(body, seconds)
                    response.content  # read the answer inside the limit  # noqa: B018
                except (requests.RequestException, OSError) as exc:
                    if limit.fired:
                        raise requests.Timeout(
                            f"no complete answer within {seconds:g}s") from None
                    if isinstance(exc, requests.RequestException):
                        raise
                    # An I/O error that requests did not wrap.
                    raise requests.ConnectionError(exc) from None
        finally:
            # Only once the limit is over does the connection go back to the pool, so
            # the watchdog can never cut it under the next POST.
            if response is not None:
                response.close()
        return response

    def _post(self, body: bytes, seconds: float) -> requests.Response:
        """``Session.post`` of ``body``, from the request prepared at construction."""
        if self._prepared_url != self.url:  # pointed elsewhere since
            self._prepare()
        if self.session.cookies:
            # The Metrics API set a cookie: prepare afresh so that it is sent back.
            return self.session.post(self.url, data=body, timeout=seconds,
                                     allow_redirects=False, stream=True,
                                     **self._send_options)
        prepared = self._template.copy()
        prepared.prepare_body(body, None)
        return self.session.send(prepared, timeout=seconds, allow_redirects=False,
                                 stream=True, **self._send_options)

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()

    def __repr__(self) -> str:
        return f"Transport(url={self.url!r})"
