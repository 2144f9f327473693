"""The fix for a loopback URL nothing listens at, said in full once per middleware.

A newcomer who follows README's quick start with ``README_METRICS_SERVER`` and
``README_API_URL`` set but ``readme-metrics collect`` not running meets three warnings
about the same port: the docs-URL lookup's, the POSTs' "3 POSTs in a row ... failed" and
the close's "gave up ...". Each said the whole fix ("nothing listens there: start
`readme-metrics collect` ..."), three times over (newcomer24). The first warning that
says it in full marks its host and port here; the later ones of the same middleware say
the short :meth:`NothingListens.again` instead, with their own counts.

A fix is marked said only once its warning really went out (``LogLimiter.log`` answered
True and the logger takes warnings), so that "see above" never points at a line that a
rate limit or a level held back. One record per middleware (the pipeline makes it and
hands it to its DocsUrl and Delivery): another middleware may log to another logger.
"""

from __future__ import annotations

import logging
from typing import Any, Optional
from urllib.parse import urlsplit

__all__ = ["NothingListens"]


def _place(url: str) -> Optional[str]:
    """``host:port`` of ``url`` (its scheme's default port when it names none), as the
    warnings show it; None for a URL that cannot be read."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None
    if port is None:
        port = {"http": 80, "https": 443}.get(parts.scheme)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class NothingListens:
    """Which loopback places the fix for "nothing listens there" was said for.

    .. code-block:: python

        told = NothingListens()
        if told.said(endpoint):
            cause, hint = told.again(endpoint), ""   # the short form
        elif limiter.log(logging.WARNING, "down", "... %s%s", cause, hint):
            told.mark(endpoint, logger)
    """

    def __init__(self) -> None:
        self._said: set[str] = set()

    def said(self, url: str) -> bool:
        """True when a warning of this middleware said the fix for ``url``'s place."""
        place = _place(url)
        return place is not None and place in self._said

    def mark(self, url: str, logger: Any) -> None:
        """``url``'s fix was said in a warning just logged to ``logger``: marked, if
        that logger takes warnings (else no line went out to point at)."""
        place = _place(url)
        if place is not None and logger.isEnabledFor(logging.WARNING):
            self._said.add(place)

    @staticmethod
    def same_place(url: str, other: str) -> bool:
        """Whether ``url`` and ``other`` name the same host and port."""
        place = _place(url)
        return place is not None and place == _place(other)

    @staticmethod
    def again(url: str) -> str:
        """The short form, for a warning after the one that said the fix."""
        return f"the same: nothing listens at {_place(url)}, see above"
