"""Redaction of what a client puts in its request target, under real servers (SPEC 6).

A request target has no fragment, but a raw client can send one (``GET /p?a=1#token=x``):
waitress (REQUEST_URI), gunicorn and werkzeug (RAW_URI) pass it on in the raw target the
url is built from, wsgiref and hypercorn in QUERY_STRING or the path, uvicorn drops it.
Whatever the server keeps, a value the denylist names, or the allowlist does not, must
not reach the Metrics API in clear: the batches the collector received are searched in
every spelling (JSON escapes decoded, percent-decoding once and twice, ``+`` as space).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

import pytest

from readme_metrics.har.pairs import parse_query
from tests.support.fake_api import Collector, free_port
from tests.support.har_check import assert_valid_log
from tests.support.leaks import found
from tests.test_asgi_servers import SERVERS as ASGI_SERVERS
from tests.test_e2e_servers import SERVERS as WSGI_SERVERS
from tests.test_e2e_servers import entry_of, raw_get, serve, server_env

pytestmark = pytest.mark.e2e

# server -> (its command line for an app, the app): uvicorn drops a fragment, the others
# keep it somewhere.
SERVERS: dict[str, tuple[Callable[[int, str], list[str]], str]] = {
    **{name: (WSGI_SERVERS[name], "tests.support.e2e_apps:plain_app")
       for name in ("waitress", "gunicorn-sync", "werkzeug", "wsgiref")},
    **{name: (ASGI_SERVERS[name], "tests.support.asgi_apps:starlette_app")
       for name in ("uvicorn", "hypercorn")},
}

# The denylist names "token"; the allowlist lists only "a", so "x" is not listed either.
# Each secret is sent once, after a "#" the client wrote raw (or percent-encoded).
TARGETS = {
    "Fr4gQueryTok": "/hello?a=1#token=Fr4gQueryTok",
    "Fr4gPathTok": "/hello#token=Fr4gPathTok",
    "Fr4gPathX": "/hello#x=Fr4gPathX&y",
    "Fr4gRouteTok": "/hello?a=1#/cb?token=Fr4gRouteTok&b=2",
    "Fr4gNameTok": "/hello?a#token=Fr4gNameTok",
    "Fr4gSecondX": "/hello?a=1#b#x=Fr4gSecondX",
    "Fr4gEncodedTok": "/hello?a=1%23token=Fr4gEncodedTok",
    "Fr4gEncodedKey": "/hello?a=1#%74oken=Fr4gEncodedKey",
    "Fr4gAllowedX": "/hello?a=2#x=Fr4gAllowedX",
}


@pytest.mark.parametrize("server", list(SERVERS))
def test_a_fragment_in_the_request_target_is_redacted_whatever_the_server_keeps(
        server: str, collector: Collector, tmp_path: Path) -> None:
    port = free_port()
    env = server_env(collector, README_DENYLIST="token", README_ALLOWLIST="a",
                     DJANGO_SETTINGS_MODULE="tests.support.asgi_apps")
    argv, app = SERVERS[server]
    with serve(argv(port, app), env, tmp_path, port):
        for target in TARGETS.values():
            assert raw_get(port, target) is not None  # hypercorn: 404 for "/hello#..."
        logs = collector.wait_for_logs(len(TARGETS))
    bodies = [received.body for received in collector.received
              if received.path == "/v1/request"]
    where = {secret: found(bodies, secret)[-1:] for secret in TARGETS}
    assert [secret for secret in TARGETS if where[secret]] == [], where
    for log in logs:
        assert_valid_log(log)
        request = entry_of(log)["request"]
        parts = urlsplit(request["url"])
        assert parts.fragment == ""  # the url stays one valid url, its query as logged
        assert [(q["name"], q["value"]) for q in request["queryString"]] == parse_query(
            parts.query)
