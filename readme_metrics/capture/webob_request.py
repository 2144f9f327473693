"""The grouping function's ``webob.Request``, made without running its ``__init__``.

webob's ``BaseRequest.__init__`` only checks its arguments (a dict, no charset, no
keywords) and stores the environ in the instance's ``__dict__``; with an environ the
middleware made itself (always a dict) and no other argument, the checks never fail, and
running them costs two Python calls per request (about 2k instructions). So the request
is made as that ``__init__`` leaves it: the object, and its ``environ``. Whether that is
what this webob's ``__init__`` does is checked once at import, on a probe environ; a webob
whose ``__init__`` leaves anything else (another version) is called as usual.
"""

from __future__ import annotations

import warnings
from typing import Any

with warnings.catch_warnings():
    # webob 1.8 imports the standard library's cgi, which warns "'cgi' is deprecated" on
    # Python 3.11 and 3.12: an app run with warnings as errors (``python -W error``,
    # pytest's ``filterwarnings = ["error"]``) would fail at its import of this library,
    # over a warning that is neither the app's nor this library's to fix. That warning
    # alone is ignored, here only; the filters are restored after.
    warnings.filterwarnings("ignore", message="'cgi' is deprecated", category=DeprecationWarning)
    import webob

__all__ = ["BARE", "webob", "webob_request"]

Request = webob.Request
new = object.__new__


def _bare_matches() -> bool:
    """True when ``webob.Request(environ)`` leaves exactly what :func:`webob_request` makes."""
    try:
        probe: dict[str, Any] = {"REQUEST_METHOD": "GET", "wsgi.url_scheme": "http"}
        made = Request(probe)
        bare = new(Request)
        bare.__dict__["environ"] = probe
        return (type(made) is Request and made.__dict__ == {"environ": probe}
                and bare.__dict__ == made.__dict__ and bare.environ is probe)
    except Exception:  # noqa: BLE001 - anything unexpected: the constructor, as usual
        return False


#: True when the bare way makes the same request as the constructor (read at import).
BARE = _bare_matches()


def webob_request(environ: dict[str, Any]) -> Any:
    """``webob.Request(environ)`` for a plain dict ``environ``, without its ``__init__``
    where that is the same (:data:`BARE`)."""
    if BARE:
        request = new(Request)
        request.__dict__["environ"] = environ
        return request
    return Request(environ)
