"""Said once: the app is served through a proxy whose X-Forwarded-For no option reads.

Behind nginx or a load balancer with ``trusted_proxies`` left at 0, every log names the
proxy as the caller (``clientIPAddress``), and nothing said so: the dashboard just showed
one address for everyone (newcomer28). The worker looks at the first
:data:`LOGS_LOOKED_AT` logs of a pipeline (a proxy in front adds the header to every
request; past them the check costs one attribute read per log) and warns once when a
log's address is a loopback or private one (where a proxy in front sits) and its
X-Forwarded-For names another address first: a client reaching the app directly sends
no such header, or writes it itself from an address of its own, which is public. No
address is logged: they are the request's data.

A server that applies the header itself (uvicorn's ``--proxy-headers``, werkzeug's
ProxyFix around the middleware) gives the forwarded address: nothing to say then.
"""

from __future__ import annotations

import threading
from ipaddress import ip_address
from typing import Union

from readme_metrics._logging import QuietLogger
from readme_metrics.capture.forwarded import ip_text
from readme_metrics.exchange import Exchange

__all__ = ["ForwardedHint", "LOGS_LOOKED_AT"]

#: The logs of a pipeline looked at for the header; later ones are not.
LOGS_LOOKED_AT = 100

_HINT = (
    "readme_metrics: requests reach the app through a proxy (they come from a private "
    "or loopback address with an X-Forwarded-For header naming another one), and "
    "trusted_proxies (README_TRUSTED_PROXIES) is 0: every log shows the proxy's address "
    "as the caller's (clientIPAddress), and its URL reads no X-Forwarded-Proto or -Host. "
    "Behind reverse proxies you run (nginx, a load balancer), set "
    "README_TRUSTED_PROXIES to how many there are (1 for one nginx); if clients reach the "
    "app directly, leave it at 0 (they can write that header themselves). Said once per "
    "process")


class ForwardedHint:
    """``look(exchange, trusted_proxies)`` on the worker, for each log built while
    ``left`` (how many more logs it looks at, read by the caller) is above 0."""

    __slots__ = ("_logger", "_lock", "_said", "left")

    def __init__(self, logger: QuietLogger) -> None:
        self._logger = logger
        self._lock = threading.Lock()
        self._said = False
        self.left = LOGS_LOOKED_AT

    def look(self, exchange: Exchange, trusted_proxies: int) -> None:
        """Warn once if ``exchange`` came through a proxy that no option trusts."""
        self.left -= 1  # (two senders at once may look at one log more: harmless)
        if trusted_proxies > 0:
            self.left = 0
            return
        first = _first_hop(exchange.request_headers)
        if first is None or not _behind_proxy(exchange.client_ip, first):
            return
        with self._lock:  # (two senders may find it at once: said by one)
            if self._said:
                return
            self._said = True
            self.left = 0
        self._logger.warning(_HINT)


def _first_hop(headers: list[tuple[str, str]]) -> Union[str, None]:
    """The first (leftmost) hop of the request's X-Forwarded-For, as an address; None
    without the header, or when that hop is no IP address."""
    for name, value in headers:
        if len(name) == 15 and name.lower() == "x-forwarded-for":
            hop = value.partition(",")[0].strip()
            return ip_text(hop) if 0 < len(hop) <= 64 else None
    return None


def _behind_proxy(client_ip: str, first: str) -> bool:
    """Whether a log naming ``client_ip`` came from a proxy in front: that address is a
    loopback or private one, and the header's first hop another address."""
    try:
        address, hop = ip_address(client_ip), ip_address(first.partition("%")[0])
    except ValueError:
        return False
    return (address.is_private or address.is_loopback) and address != hop
