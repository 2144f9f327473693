"""The request stream a Django grouping function is lent when the unread rest of the
body is left to the response's close(): it reads what the log will have, no more.

(Moved out of ``django_exchange``, which makes it and hands it out still: house39.)
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any, Optional

from readme_metrics.capture.body import GRACE
from readme_metrics.capture.stream_tee import StreamTee

__all__ = ["RestOnRead"]


class RestOnRead:
    """``request._stream`` while the grouping function runs, when the unread rest is left
    to the response's close(): the grouping function reading the body gets it as the log
    will have it, what arrives within ``GRACE``, not a read that waits for the client.
    The tee records it then, once. Unread, the app's stream is put back after it."""

    __slots__ = ("_tee", "_meta", "_copy")

    def __init__(self, tee: StreamTee, meta: Any) -> None:
        self._tee = tee
        self._meta = meta
        self._copy: Optional[io.BytesIO] = None

    @property
    def read_from(self) -> bool:
        """True once something read the body through it."""
        return self._copy is not None

    def _body(self) -> io.BytesIO:
        if self._copy is None:
            self._tee.read_rest(self._meta, GRACE)
            self._copy = io.BytesIO(self._tee.record.content())
        return self._copy

    def read(self, *args: Any) -> bytes:
        return self._body().read(*args)

    def readline(self, *args: Any) -> bytes:
        return self._body().readline(*args)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body())

    def seekable(self) -> bool:
        return False  # as Django's LimitedStream: Django 6.1's request.body asks

    def close(self) -> None:
        pass  # the tee's stream is Django's own; request.body closes this one after reading
