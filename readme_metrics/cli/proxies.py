"""The machine's proxy variables against the commands' loopback traffic.

requests (and so the middleware, which reads the environment as requests does) sends a
call to ``http://127.0.0.1:8001`` through the proxy that ``http_proxy``, ``HTTP_PROXY`` or
``ALL_PROXY`` names unless ``no_proxy`` (or ``NO_PROXY``) exempts that host; a proxy
cannot reach this machine's loopback, so on a machine set up with a proxy (a company
network, a CI runner) the logs never arrive and the demo's own calls fail. ``collect``
says so in its banner, with the line that exempts it; ``demo``, which talks only to
itself, exempts loopback in its own process.
"""

from __future__ import annotations

import os
from typing import Optional
from urllib.parse import urlsplit

__all__ = ["exempt_loopback", "no_proxy_export", "proxied"]

#: What the demo exempts: every name its calls use.
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def proxied(url: str) -> bool:
    """True when requests would send a call to ``url`` through a proxy, as the
    environment stands."""
    from requests.utils import get_environ_proxies, select_proxy

    return select_proxy(url, get_environ_proxies(url)) is not None


def _in_effect() -> str:
    """The name of the no-proxy variable requests reads: ``no_proxy`` wins when set."""
    return "no_proxy" if os.environ.get("no_proxy") else "NO_PROXY"


def no_proxy_export(url: str) -> Optional[str]:
    """The ``export`` line that keeps calls to ``url`` off the proxy, or None when no
    proxy takes them. The variable's current hosts are kept after ``url``'s host."""
    if not proxied(url):
        return None
    name = _in_effect()
    host = urlsplit(url).hostname or "127.0.0.1"
    current = os.environ.get(name, "")
    return f"export {name}={','.join(filter(None, [host, current]))}"


def exempt_loopback() -> None:
    """Keep this process's calls to loopback off any proxy (both spellings of the
    variable: requests reads ``no_proxy`` first, urllib either)."""
    for name in ("no_proxy", "NO_PROXY"):
        current = os.environ.get(name, "")
        hosts = [host.strip() for host in current.split(",") if host.strip()]
        os.environ[name] = ",".join([*[h for h in LOOPBACK if h not in hosts], *hosts])
