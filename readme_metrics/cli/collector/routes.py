"""The collector's routes: the methods each path takes, and the dashboard's files.

``POST /v1/request`` (the Metrics API), ``GET /v1`` (the docs-URL lookup), ``GET /`` and
``GET /logs/<id>`` (the dashboard's page), its static files, ``GET /api/logs``, ``GET
/api/logs/<id>``, ``GET /api/summary`` (its JSON) and ``DELETE /api/logs`` (its clear
button). The files are served with a Content-Security-Policy that lets them load nothing
from outside.
"""

from __future__ import annotations

from importlib import resources
from typing import Optional

__all__ = ["CSP", "DASHBOARD_FILES", "allowed_methods", "dashboard_file"]

#: The dashboard's files by path: (file name in readme_metrics/dashboard, Content-Type).
DASHBOARD_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/charts.js": ("charts.js", "text/javascript; charset=utf-8"),
    "/curl.js": ("curl.js", "text/javascript; charset=utf-8"),
    "/detail.js": ("detail.js", "text/javascript; charset=utf-8"),
    "/util.js": ("util.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}
# The methods each route answers (the Allow header of a 405); every other dashboard path
# (its files, /logs/<id>, /api/logs/<id>, /api/summary) is GET and HEAD.
_ALLOWED = {"/v1/request": "POST", "/v1": "GET, HEAD", "/api/logs": "GET, HEAD, DELETE"}
_READ_ONLY = "GET, HEAD"


def allowed_methods(path: str) -> Optional[str]:
    """The ``Allow`` value for a route of the collector, or None for an unknown path."""
    path = path.rstrip("/") or "/"
    if path in _ALLOWED:
        return _ALLOWED[path]
    if (path in DASHBOARD_FILES or path in ("/api/summary", "/favicon.ico")
            or path.startswith(("/logs/", "/api/logs/"))):
        return _READ_ONLY
    return None


# The dashboard loads nothing from outside, and this makes the browser hold it to that.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def dashboard_file(name: str) -> bytes:
    """A dashboard file from the package data."""
    return (resources.files("readme_metrics") / "dashboard" / name).read_bytes()
