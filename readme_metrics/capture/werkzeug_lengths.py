"""The Content-Length lines of a request werkzeug's development server read, which its
environ does not show.

werkzeug's server (``flask run``, ``werkzeug.serving.run_simple``) puts the last of two
Content-Length lines in CONTENT_LENGTH and reads the body by it. A request that declares
3 bytes, then 80, with 3 bytes of body and the next request pipelined after them, gets a
body of 80 bytes: its own 3 and the start of the next request (its Authorization value
in clear). The app reads that bare as wrapped; the log must not take it in. RFC 9112
(6.3) calls differing lengths a framing error; werkzeug does not refuse them, and closes
the connection after every answer, so the next request is never served.

The lines are in werkzeug's request handler (``self.headers``), which the environ does
not reach. Its ``start_response`` is a closure of the handler's ``run_wsgi`` returning
its ``write``, a closure over the handler: both are found by the names of their free
variables, the handler by its module. Another server, a ``start_response`` wrapped by a
middleware between the server and this one, or another werkzeug version built otherwise,
reads as "nothing known". Asked only for a request with a body under werkzeug's server
(``werkzeug.socket`` in the environ).
"""

from __future__ import annotations

from typing import Any, Optional

__all__ = ["least_length"]


def least_length(start_response: Any) -> Optional[int]:
    """The smallest of the lengths a request werkzeug's server served gave in two or more
    differing Content-Length lines (an unreadable one counts as 0: nothing after the
    framing is trusted); None when it gave one, or the same length on each line, or
    when ``start_response`` is not werkzeug's. Never raises."""
    try:
        cells = dict(zip(start_response.__code__.co_freevars, start_response.__closure__))
        write = cells["write"].cell_contents
        handler = dict(zip(write.__code__.co_freevars, write.__closure__))["self"]
        handler = handler.cell_contents
        if not type(handler).__module__.startswith("werkzeug."):
            return None
        values = handler.headers.get_all("Content-Length")
        if not values or len(values) < 2:
            return None
        lengths = set()
        for value in values:
            text = str(value).strip()
            lengths.add(int(text) if text.isascii() and text.isdigit() else 0)
    except Exception:  # noqa: BLE001 - not werkzeug's, or built otherwise: nothing known
        return None
    return min(lengths) if len(lengths) > 1 else None
