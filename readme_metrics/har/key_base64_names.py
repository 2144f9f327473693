"""The caller's key's base64 in a header's or a cookie's name, as a server passes the name
on (WSGI's title case and "-" for "_", ASGI's lower case): a run spelling the key's bytes
is masked as in a value, or, in another case, where it no longer decodes as written but
is still read back by whoever tries the cases of each group of four, becomes the mask.
A pure function of the name, the key and its mask; moved from
:mod:`readme_metrics.har.key_base64`, as is.
"""

from __future__ import annotations

import re
from functools import lru_cache

from readme_metrics.har.key_base64 import masked_base64_runs
from readme_metrics.har.key_base64_percent import masked_encoded_runs
from readme_metrics.har.key_base64_spellings import base64_spellings, shortest_spelling

__all__ = ["masked_name_runs"]


@lru_cache(maxsize=64)
def _folded(key: str) -> tuple[str, ...]:
    """The key's base64 spellings as a header's name is compared (see
    :func:`masked_name_runs`): lower-cased, "-" for "_", each once."""
    return tuple(dict.fromkeys(
        needle.lower().replace("_", "-") for needle in base64_spellings(key)))


# A run of base64 (either alphabet) in a header's name, its padding included.
_NAME_RUN = re.compile(r"[A-Za-z0-9+/\-_]+=*")


def masked_name_runs(name: str, key: str, masked: str) -> str:
    """A header's or a cookie's ``name`` with each run of base64 spelling the (long)
    ``key``'s bytes masked: written again with ``masked``'s bytes there as in a value
    (:func:`~readme_metrics.har.key_base64.masked_base64_runs`,
    :func:`~readme_metrics.har.key_base64_percent.masked_encoded_runs`); in another case
    the run becomes ``masked``. ``name`` itself when none does."""
    if len(name) < shortest_spelling(key):
        return name
    name = masked_base64_runs(name, key, masked)
    if "%" in name:
        name = masked_encoded_runs(name, key, masked)
    lowered = name.lower().replace("_", "-")
    folded = _folded(key)
    for needle in folded:
        if needle in lowered:
            break
    else:
        return name
    return _NAME_RUN.sub(lambda run: masked if any(
        needle in run[0].lower().replace("_", "-") for needle in folded) else run[0], name)
