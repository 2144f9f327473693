"""A test client's ``requests`` session: ``close_connections`` ends it,
``one_write_session`` sends each request whole in one write."""

from __future__ import annotations

from typing import Any, Optional

import requests
import requests.adapters
import urllib3
import urllib3.connection


def close_connections(session: requests.Session) -> None:
    """Close ``session``'s kept-alive connections now, then the session.

    ``Session.close()`` alone empties the connection pools without closing them (urllib3 2
    leaves their connections to the garbage collector), and a server being stopped serves
    a connection still open: gunicorn's gthread and ASGI workers wait up to 2 s for it.
    """
    for adapter in session.adapters.values():
        manager = getattr(adapter, "poolmanager", None)
        for key in list(manager.pools.keys()) if manager is not None else []:
            pool = manager.pools.get(key)
            if pool is not None:
                pool.close()
    session.close()


class _OneWriteConnection(urllib3.connection.HTTPConnection):
    """An HTTP connection that sends a request's head and its (sized) body in one write.

    urllib3 sends them in writes of their own (``endheaders()``, then the body), as
    http.client does: on a loaded machine the client can be descheduled between the two
    for longer than the middleware waits for a body still in flight after the answer
    (``GRACE``, 50 ms), and the log then rightly says that body was incomplete (SPEC 5: no
    wait on the client). Sent in one write, the body is at the server before its answer.
    """

    _held: Optional[list[bytes]] = None

    def request(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("chunked"):  # a body of unknown size: sent as it comes
            return super().request(*args, **kwargs)
        self._held = []
        try:
            return super().request(*args, **kwargs)
        finally:
            self._flush()

    def send(self, data: Any) -> None:
        if self._held is not None and isinstance(data, (bytes, bytearray, memoryview)):
            self._held.append(bytes(data))
            return
        self._flush()  # a file object: http.client sends it in blocks of its own
        super().send(data)

    def _flush(self) -> None:
        held, self._held = self._held, None
        if held:
            super().send(b"".join(held))


class _OneWritePool(urllib3.HTTPConnectionPool):
    ConnectionCls = _OneWriteConnection


def one_write_session(session: requests.Session) -> requests.Session:
    """``session``, sending each plain-HTTP request's head and body in one write (see
    :class:`_OneWriteConnection`)."""
    adapter = requests.adapters.HTTPAdapter()
    manager = adapter.poolmanager
    manager.pool_classes_by_scheme = {**manager.pool_classes_by_scheme, "http": _OneWritePool}
    session.mount("http://", adapter)
    return session
