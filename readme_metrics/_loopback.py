"""Whether a URL or a host name reaches this machine itself.

Asked by the option checks (a plain ``http://`` URL is worth a warning only when it
leaves the machine; the scheme suggested for a URL given without one), by the config (a
Metrics API on this machine has no docs-URL lookup) and by delivery (a proxy elsewhere
cannot reach this machine's loopback; what a failed POST to a loopback API most likely
means). A fact about addresses, not about any one option, so it lives apart from
:mod:`readme_metrics.url_checks`.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

__all__ = ["host_on_this_machine", "is_loopback_url", "proxy_on_this_machine"]


def is_loopback_url(url: str) -> bool:
    """True when ``url``'s host is this machine (:func:`host_on_this_machine`:
    ``localhost``, 127.0.0.0/8, ``::1``, also as ``127.1``, ``::ffff:127.0.0.1``, or the
    unspecified ``0.0.0.0`` that ``readme-metrics collect --host 0.0.0.0`` shows)."""
    return host_on_this_machine(urlsplit(url).hostname or "")


def host_on_this_machine(host: str) -> bool:
    """Whether ``host`` (a hostname as urlsplit gives it: an IPv6 one without its
    brackets) reaches this machine itself: ``localhost``, loopback (127.0.0.0/8, ``::1``,
    also written short as ``127.1``), or the unspecified ``0.0.0.0`` / ``::``, which a
    connection takes for this machine. For a proxy: one here (mitmproxy) does reach this
    machine's loopback address, one elsewhere does not."""
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(host)
    except ValueError:
        try:  # the forms the system's resolver takes too: 127.1, 2130706433
            address = ipaddress.IPv4Address(socket.inet_aton(host))
        except (OSError, UnicodeError, ValueError):
            return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified


def proxy_on_this_machine(host: str) -> bool:
    """Whether a proxy at ``host`` runs on this machine, and so reaches its loopback
    address: :func:`host_on_this_machine`, or the machine's own name
    (``socket.gethostname()``, with or without a domain on either side: ``vm``,
    ``vm.example.com``), or an address of one of its interfaces (its LAN address): one a
    socket can be bound to. No name is looked up (a resolver can block start-up) and no
    packet is sent; a name of this machine other than its hostname (an alias, a DNS
    name) is taken for elsewhere. For the metrics URL itself, :func:`is_loopback_url`
    asks loopback only: a proxy elsewhere reaches a LAN address."""
    if host_on_this_machine(host):
        return True
    name = host.strip("[]").rstrip(".").lower()
    if not name:
        return False
    own = socket.gethostname().rstrip(".").lower()
    if own and (name == own or name.startswith(f"{own}.") or own.startswith(f"{name}.")):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.bind((str(address), 0))  # EADDRNOTAVAIL unless it is this machine's
    except OSError:
        return False
    return True
