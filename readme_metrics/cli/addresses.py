"""Where an app reaches ``collect`` when it listens on every address (``--host 0.0.0.0``).

An app on this machine reaches it at ``127.0.0.1``; an app in a container or on another
machine does not (its own loopback is not this one's): it needs this machine's address.
The addresses are read from the network interfaces themselves (Linux: one ioctl each, no
DNS and no traffic); elsewhere none are found and the banner says so in words.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import sys
from typing import Optional

__all__ = ["interface_addresses", "reach_from_here", "url_at"]

_SIOCGIFADDR = 0x8915  # Linux: an interface's IPv4 address


def _ipv4_of(probe: socket.socket, name: str) -> Optional[str]:
    import fcntl

    try:
        answer = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR,
                             struct.pack("256s", name.encode()[:15]))
    except OSError:  # an interface without an IPv4 address, or one gone since the list
        return None
    return socket.inet_ntoa(answer[20:24])


def interface_addresses() -> list[tuple[str, str]]:
    """(interface, IPv4 address) of this machine's interfaces but loopback, in the
    interfaces' order; empty where they cannot be read (not Linux, no permission)."""
    if not sys.platform.startswith("linux"):
        return []
    try:
        names = [name for _, name in socket.if_nameindex()]
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    except OSError:
        return []
    found = []
    with probe:
        for name in names:
            address = _ipv4_of(probe, name)
            if address is not None and not ipaddress.ip_address(address).is_loopback:
                found.append((name, address))
    return found


def url_at(host: str, port: int) -> str:
    """``http://host:port``, an IPv6 literal in brackets."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def reach_from_here(host: str, port: int) -> str:
    """The URL an app on this machine uses for a collector bound to ``host`` (a wildcard
    included: ``0.0.0.0`` through 127.0.0.1, ``::`` through ``[::1]``, which an IPv6-only
    socket also answers)."""
    if host in ("0.0.0.0", ""):
        return url_at("127.0.0.1", port)
    if host == "::":
        return url_at("::1", port)
    return url_at(host, port)
