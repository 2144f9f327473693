"""Ending a test client's ``requests`` session: ``close_connections``."""

from __future__ import annotations

import requests


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
