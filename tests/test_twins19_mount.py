"""A mount point in the logged url: WSGI's SCRIPT_NAME as ASGI's root_path (twins19).

A proxy serves the app under a prefix and passes it the rest of the path; the server (or
a middleware) is told the prefix: waitress's ``--url-prefix`` and werkzeug's ProxyFix
(``X-Forwarded-Prefix``) put it in SCRIPT_NAME, hypercorn's and uvicorn's
``--root-path`` in root_path. SPEC 4's url is the one the client asked for (docs/SERVERS.md
says so of ``--root-path``): the prefix, then the path as received. The ASGI side logged
it so; the WSGI side logged the raw request target alone (``/json`` for ``/api/json``).
For random prefixes, paths and queries, sent with or without the prefix, the url of the
WSGI environ and of the ASGI scope a server gives for the same request are the same, and
the one the client asked for. The end-to-end form, under waitress, gunicorn + ProxyFix,
hypercorn and uvicorn, is tests/test_twins19_wsgi_asgi.py's test_same_log_under_a_mount_point.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from readme_metrics.capture.asgi_scope import ScopeRequest
from readme_metrics.capture.request_head import EnvironRequest
from readme_metrics.capture.request_url import PATH_SAFE, request_url

SEGMENT = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/?#%"),
                  min_size=1, max_size=8)
QUERY = st.text(st.sampled_from("ab=&+%2B%C3%A9"), max_size=12)


def wsgi_string(text: str) -> str:
    """PEP 3333's string of ``text``'s UTF-8 bytes."""
    return text.encode().decode("latin-1")


def environ(mount: str, rest: str, target: str, query: str) -> dict[str, Any]:
    """As waitress gives it with ``--url-prefix`` (REQUEST_URI as received, SCRIPT_NAME
    the prefix, PATH_INFO the rest), or ProxyFix after gunicorn (RAW_URI)."""
    return {"REQUEST_METHOD": "GET", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
            "HTTP_HOST": "api.example.com", "SERVER_NAME": "api.example.com",
            "SERVER_PORT": "80", "RAW_URI": target, "SCRIPT_NAME": wsgi_string(mount),
            "PATH_INFO": wsgi_string(rest), "QUERY_STRING": query,
            "SERVER_SOFTWARE": "waitress", "REMOTE_ADDR": "127.0.0.1"}


def scope(mount: str, path: str, query: str) -> dict[str, Any]:
    """As hypercorn gives it with ``--root-path`` (path and raw_path as received)."""
    return {"type": "http", "method": "GET", "scheme": "http", "http_version": "1.1",
            "path": path, "raw_path": quote(path.encode(), safe=PATH_SAFE).encode(),
            "root_path": mount, "query_string": query.encode(),
            "server": ("api.example.com", 80), "client": ("127.0.0.1", 5000),
            "headers": [(b"host", b"api.example.com")]}


@given(st.lists(SEGMENT, min_size=1, max_size=3), st.lists(SEGMENT, max_size=3), QUERY,
       st.booleans())
def test_a_mount_point_is_in_the_url_under_wsgi_as_under_asgi(
        mount_parts: list[str], rest_parts: list[str], query: str, stripped: bool) -> None:
    mount, rest = "/" + "/".join(mount_parts), "/" + "/".join(rest_parts)
    asked = quote((mount + rest).encode(), safe=PATH_SAFE)  # what the client asked for
    path = rest if stripped else mount + rest  # what the proxy passed on
    target = quote(path.encode(), safe=PATH_SAFE) + (f"?{query}" if query else "")
    expected = "http://api.example.com" + asked + (f"?{query}" if query else "")
    wsgi = environ(mount, rest, target, query)
    asgi = ScopeRequest(scope(mount, path, query)).head()[1]
    assert request_url(wsgi) == EnvironRequest(wsgi).head()[1] == asgi
    tails = ["/" + "/".join(mount_parts[start:]) for start in range(len(mount_parts))]
    if not (stripped and any((rest + "/").startswith(tail + "/") for tail in tails)):
        # (A stripped path that starts with the prefix again, /api/api/x passed on as
        # /api/x, reads as one the proxy passed whole: logged as passed, on both sides;
        # one that starts with its last segments, /api/v1/v1/x passed on as /v1/x, as a
        # router's mount /v1 behind the prefix /api: /api/v1/x (review92).)
        assert asgi == expected


def test_a_target_already_under_the_mount_point_keeps_it_once() -> None:
    """``/api`` itself, ``/api?x``, ``/api/`` and ``/apix`` (another path: prefixed)."""
    for target, url in [("/api", "/api"), ("/api?x=1", "/api?x=1"), ("/api/", "/api/"),
                        ("/apix", "/api/apix")]:
        path, _, query = target.partition("?")
        wsgi = environ("/api", "", target, query)
        assert request_url(wsgi) == "http://api.example.com" + url
    assert request_url(environ("/api/", "/x", "/x", "")) == "http://api.example.com/api/x"
