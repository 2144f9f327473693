"""The I/O half of delivery: one pooled ``requests.Session`` posting batches to ReadMe.

This module only sends. What to do with the answer (retry, pause, drop) is decided in
:mod:`readme_metrics.delivery`, so the policy can be tested without sockets and the I/O
without policy, as sentry-python splits its transport.

It trusts ``config.metrics_api`` (validated as an http(s) URL by the config) and treats
the API key as a secret: it only ever travels in the ``Authorization`` header and is never
part of a URL, an exception message or a log line made here.
"""

from __future__ import annotations

import base64
from typing import Optional

import requests
from requests.adapters import HTTPAdapter
from requests.hooks import default_hooks
from requests.models import PreparedRequest
from requests.structures import CaseInsensitiveDict
from requests.utils import DEFAULT_ACCEPT_ENCODING, get_environ_proxies

from readme_metrics.config import MetricsApiConfig
from readme_metrics.version import __version__

USER_AGENT = f"readme-metrics-python@{__version__}"


class Transport:
    """POSTs JSON bodies to ``{metrics_api}/v1/request`` over one keep-alive session.

    .. code-block:: python

        transport = Transport(config)
        response = transport.post_logs(b'[{"_id": "..."}]')
        transport.close()

    One worker thread uses it at a time, so the pool keeps a single connection alive;
    ``requests`` retries nothing (``max_retries=0``): retry policy belongs to the caller.

    Each call goes straight to the session's mounted adapter with a request prepared here:
    the same pool, proxies, TLS settings and ``requests`` exceptions, without
    ``Session.request``'s per-call environment lookups, cookie jar merging, hooks and
    redirect handling, which measured as about two thirds of the CPU a POST costs.
    """

    def __init__(self, config: MetricsApiConfig) -> None:
        self.url = config.metrics_api + "/v1/request"
        self.timeout = config.timeout
        token = base64.b64encode(f"{config.api_key}:".encode()).decode("ascii")
        self.session = requests.Session()
        # Keep-alive with a small pool: the worker sends one batch at a time, inline mode
        # may have a few request threads flushing at once.
        self._adapter = HTTPAdapter(pool_connections=1, pool_maxsize=4, max_retries=0)
        self.session.mount("http://", self._adapter)
        self.session.mount("https://", self._adapter)
        self._headers: dict[str, str] = {
            "User-Agent": USER_AGENT,
            "Accept-Encoding": DEFAULT_ACCEPT_ENCODING,
            "Accept": "*/*",
            "Connection": "keep-alive",
            "Authorization": f"Basic {token}",
            "Content-Type": "application/json",
        }
        # requests re-reads proxy variables, .netrc and CA bundle settings from the
        # environment on every call (a large share of its per-call CPU). Resolve them once
        # here instead: the environment of a running server does not change, and the
        # Authorization header is explicit, so .netrc must not apply anyway.
        self._proxies = get_environ_proxies(self.url)
        self._verify: object = True
        if self.url.startswith("https://"):
            self._verify = self.session.merge_environment_settings(
                self.url, {}, None, None, None
            )["verify"]
        self.session.trust_env = False

    def post_logs(self, body: bytes, timeout: Optional[float] = None) -> requests.Response:
        """POST one JSON array of logs; raises ``requests.RequestException`` on I/O errors.

        ``timeout`` overrides ``config.timeout`` for this call (used to keep the exit
        flush within ``shutdown_timeout``).
        """
        request = PreparedRequest()
        request.method = "POST"
        request.url = self.url
        request.headers = CaseInsensitiveDict(self._headers)
        request.headers["Content-Length"] = str(len(body))
        request.body = body
        request.hooks = default_hooks()
        response = self._adapter.send(
            request,
            timeout=self.timeout if timeout is None else timeout,
            verify=self._verify,  # type: ignore[arg-type]
            proxies=self._proxies,
        )
        # Read the (small) answer now, as Session.send does, so the connection goes back
        # to the pool for the next batch.
        response.content  # noqa: B018
        return response

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()

    def __repr__(self) -> str:
        return f"Transport(url={self.url!r})"
