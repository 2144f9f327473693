"""The I/O half of delivery: one pooled ``requests.Session`` posting batches to ReadMe.

This module only sends. What to do with the answer (retry, pause, drop) is decided in
:mod:`readme_metrics.delivery.core`, so the policy can be tested without sockets and the I/O
without policy, as sentry-python splits its transport.

It trusts ``config.metrics_api`` (validated as an http(s) URL by the config) and treats
the API key as a secret: it only ever travels in the ``Authorization`` header and is never
part of a URL, an exception message or a log line made here.
"""

from __future__ import annotations

import base64
from typing import Any, Optional

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.models import PreparedRequest
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers, get_environ_proxies
from urllib3 import exceptions as u3

from readme_metrics.config import MetricsApiConfig
from readme_metrics.version import __version__

USER_AGENT = f"readme-metrics-python@{__version__}"


def basic_token(api_key: str) -> str:
    """The Basic credentials ReadMe expects: base64 of ``"{api_key}:"`` (empty password)."""
    return base64.b64encode(f"{api_key}:".encode()).decode("ascii")


class Transport:
    """POSTs JSON bodies to ``{metrics_api}/v1/request`` over one keep-alive session.

    .. code-block:: python

        transport = Transport(config)
        response = transport.post_logs(b'[{"_id": "..."}]')
        transport.close()

    One worker thread uses it at a time, so the pool keeps a single connection alive;
    nothing is retried here (retry policy belongs to the caller).

    The session's adapter resolves, once, which connection pool serves the Metrics API
    (directly or through the environment's proxy, with its TLS settings) and the request
    target; each call then goes straight to that pool. ``Session.request`` would redo
    all of that per call, plus environment lookups, cookie jars, hooks and redirect
    handling: together about two thirds of the CPU a batch costs, measured. Errors are
    raised as the usual ``requests`` exceptions.
    """

    def __init__(self, config: MetricsApiConfig) -> None:
        self.url = config.metrics_api + "/v1/request"
        self.timeout = config.timeout
        # Host, Content-Length and Accept-Encoding: identity are added per request below
        # us; HTTP/1.1 keeps the connection alive without saying so.
        self._headers = {
            "User-Agent": USER_AGENT,
            "Authorization": f"Basic {basic_token(config.api_key)}",
            "Content-Type": "application/json",
        }
        self.session = requests.Session()
        self.session.headers.update(self._headers)
        # Keep-alive with a small pool: the worker sends one batch at a time, inline mode
        # may have a few request threads flushing at once.
        self._adapter = HTTPAdapter(pool_connections=1, pool_maxsize=4, max_retries=0)
        self.session.mount("http://", self._adapter)
        self.session.mount("https://", self._adapter)
        # Read the environment once (proxy variables, CA bundle): a running server's
        # environment does not change, and .netrc must not override our Authorization.
        self._proxies = get_environ_proxies(self.url)
        self._verify: Any = True
        if self.url.startswith("https://"):
            self._verify = self.session.merge_environment_settings(
                self.url, {}, None, None, None)["verify"]
        self.session.trust_env = False
        self._timeouts: dict[float, urllib3.Timeout] = {}
        self._pool: Any = None
        self._target = ""
        self._resolve()

    def _resolve(self) -> None:
        """Find the pool and request target for ``self.url`` (again if it was closed)."""
        request = PreparedRequest()
        request.prepare(method="POST", url=self.url)
        try:
            pool = self._adapter.get_connection_with_tls_context(
                request, self._verify, proxies=self._proxies)
        except u3.LocationValueError as exc:
            raise requests.exceptions.InvalidURL(exc) from None
        self._adapter.cert_verify(pool, self.url, self._verify, None)
        self._target = self._adapter.request_url(request, self._proxies)
        self._pool = pool

    def _timeout(self, seconds: float) -> urllib3.Timeout:
        timeout = self._timeouts.get(seconds)
        if timeout is None:
            if len(self._timeouts) > 16:  # exit flushes use many odd values
                self._timeouts.clear()
            timeout = self._timeouts[seconds] = urllib3.Timeout(connect=seconds, read=seconds)
        return timeout

    def post_logs(self, body: bytes, timeout: Optional[float] = None) -> requests.Response:
        """POST one JSON array of logs; raises ``requests.RequestException`` on I/O errors.

        ``timeout`` overrides ``config.timeout`` for this call (used to keep the exit
        flush within ``shutdown_timeout``).
        """
        if self._pool is None or self._pool.pool is None:  # closed (session.close())
            self._resolve()
        try:
            raw = self._pool.urlopen(
                "POST", self._target, body=body, headers=self._headers,
                redirect=False, assert_same_host=False, preload_content=True,
                decode_content=False, retries=False,
                timeout=self._timeout(self.timeout if timeout is None else timeout),
            )
        except u3.NewConnectionError as exc:
            raise requests.ConnectionError(exc) from None
        except u3.ConnectTimeoutError as exc:
            raise requests.ConnectTimeout(exc) from None
        except u3.ReadTimeoutError as exc:
            raise requests.ReadTimeout(exc) from None
        except u3.SSLError as exc:
            raise requests.exceptions.SSLError(exc) from None
        except u3.ProxyError as exc:
            raise requests.exceptions.ProxyError(exc) from None
        except (u3.HTTPError, OSError) as exc:
            raise requests.ConnectionError(exc) from None
        response = requests.Response()
        response.status_code = raw.status
        response.reason = raw.reason
        response.headers = CaseInsensitiveDict(raw.headers)
        response.encoding = get_encoding_from_headers(response.headers)
        response._content = raw.data
        response.url = self.url
        response.raw = raw
        response.connection = self._adapter
        return response

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()

    def __repr__(self) -> str:
        return f"Transport(url={self.url!r})"
