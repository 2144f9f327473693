"""A header's name with the caller's key masked in it (a client sending the key, or its
base64, as a header's name, a flag): the names' counterpart of the values'
:meth:`~readme_metrics.har.credentials.CallerKey.text`. A pure function of the name and
the key; moved from :mod:`readme_metrics.har.headers`, as is (which reads it only for a
name at least as long as the key).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from readme_metrics.har.key_base64_names import masked_name_runs

if TYPE_CHECKING:
    from readme_metrics.har.credentials import CallerKey

__all__ = ["keyless_name"]


def keyless_name(name: str, caller: CallerKey) -> str:
    """A header's ``name`` with the caller's key in it masked (a client sending the key
    as a header's name, a flag), as a query's or a cookie's name has it: as the server
    passes the name on, in any case (WSGI's title case, ASGI's lower case) and with "-"
    for "_"; a short key (under 8 characters) only where it is the whole name."""
    key = caller.key
    folded = name.lower().replace("_", "-")
    if not caller.inside:
        return caller.masked if folded == key.lower().replace("_", "-") else name
    # Its base64 too (a Basic credential sent as a name), in any case.
    name = masked_name_runs(name, key, caller.masked)
    folded = name.lower().replace("_", "-")
    if not key.isascii() or len(folded) != len(name):
        return caller.name(name)  # (its spellings as written)
    sought = key.lower().replace("_", "-")
    at = folded.rfind(sought)
    while at >= 0:
        name = name[:at] + caller.masked + name[at + len(key):]
        at = folded.rfind(sought, 0, at)
    return name
