"""The collector's Host guard: which names a loopback-only collector answers to.

On a loopback address only loopback Host names are answered (an IP literal such as
``127.0.0.1`` or ``[::1]``, or ``localhost``, with this port), so a web page cannot read
the captured traffic through DNS rebinding: a name it controls may resolve to 127.0.0.1,
but the browser then sends that name as the Host.
"""

from __future__ import annotations

import ipaddress

__all__ = ["is_loopback_name", "loopback_host"]


def is_loopback_name(name: str) -> bool:
    """``localhost`` or a loopback IP literal (``127.0.0.0/8``, ``::1``), nothing else."""
    name = name.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def loopback_host(host_header: str, port: int) -> bool:
    """True when a Host header names this server by a loopback name and its port."""
    host = host_header.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            return False
        name, rest = host[:end + 1], host[end + 1:]
    else:
        name, sep, port_text = host.partition(":")
        rest = sep + port_text
    if rest:
        if rest != f":{port}":
            return False
    elif port != 80:  # the port is left out only when it is the default one
        return False
    return is_loopback_name(name)
