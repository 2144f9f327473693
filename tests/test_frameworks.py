"""SPEC section 1: the middleware wraps Pyramid and Falcon apps (WSGI) and Quart and
Litestar apps (ASGI) as it wraps the others, under real servers.

Each case serves an app of tests/support/framework_apps.py in a subprocess on a free
127.0.0.1 port (waitress and gunicorn for WSGI, uvicorn and hypercorn for ASGI),
configured only through the ``README_*`` environment, and runs the end-to-end checks of
tests/test_e2e_servers.py against it: every call logged once with the caller, URL, query,
bodies (JSON, multipart, too large, never read) and a streamed response still streamed.
Then the differential property of SPEC 10: the same requests to the bare app get the
same status, headers (minus ``x-documentation-url`` and the server's Date) and bytes.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.fake_api import Collector, describe, free_port
from tests.support.sessions import close_connections
from tests.test_asgi_servers import SERVERS as ASGI_SERVERS
from tests.test_asgi_servers import check_short_body, check_unread_body
from tests.test_e2e_servers import (
    CALLER,
    DOCS,
    SERVERS,
    Client,
    check_big_body,
    check_echo,
    check_group,
    check_hello,
    check_stream,
    check_unread_bodies,
    check_upload,
    log_for,
    serve,
    server_env,
)

pytestmark = pytest.mark.e2e

KIND = "webob.request.Request"  # what readme_metrics.MetricsMiddleware (WSGI and ASGI) hands over
WSGI = ("pyramid", "falcon")
ASGI = ("quart", "litestar")


def _installed(framework: str) -> Any:
    return pytest.mark.skipif(importlib.util.find_spec(framework) is None,
                              reason=f"{framework} is not installed (the test extra has it)")


def _old_hypercorn() -> bool:
    try:
        version = importlib.metadata.version("hypercorn")
    except importlib.metadata.PackageNotFoundError:
        return False
    return tuple(int(part) for part in version.split(".")[:2]) < (0, 18)


#: litestar under hypercorn 0.17 (the newest for Python 3.9) answers a POST on a kept-alive
#: connection with the previous request's body, bare too (its cached body outlives the
#: request there): nothing of the middleware's to check in that pair.
_BROKEN = pytest.mark.skipif(_old_hypercorn(), reason="litestar under hypercorn < 0.18 "
                             "serves a kept-alive connection's previous body, bare too")

CASES = [
    pytest.param(app, server, id=f"{app}-{server}",
                 marks=[_installed(app)] + ([_BROKEN] if (app, server) == (
                     "litestar", "hypercorn") else []))
    for app, servers in [(app, ("waitress", "gunicorn-gthread")) for app in WSGI]
    + [(app, ("uvicorn", "hypercorn")) for app in ASGI]
    for server in servers
]


def _argv(app: str, server: str, attribute: str, port: int) -> list[str]:
    servers = ASGI_SERVERS if app in ASGI else SERVERS
    return servers[server](port, f"tests.support.framework_apps:{attribute}")


def _env(collector: Collector) -> dict[str, str]:
    return server_env(collector, README_BASE_LOG_URL=DOCS)


@pytest.mark.parametrize(("app", "server"), CASES)
def test_framework_under_server(collector: Collector, tmp_path: Path, app: str,
                                server: str) -> None:
    port = free_port()
    with serve(_argv(app, server, f"{app}_app", port), _env(collector), tmp_path,
               port) as base:
        client = Client(base)
        response = client.call("GET", "/nolog", logged=False)
        assert response.status_code == 200
        assert "x-documentation-url" not in response.headers

        check_hello(client, collector, KIND)
        check_group(log_for(collector, client.call("GET", "/hello")), KIND)
        check_echo(client, collector, KIND)
        check_big_body(client, collector, KIND)
        check_upload(client, collector, KIND)
        check_stream(client, collector, KIND, tmp_path)
        if app in ASGI:
            check_unread_body(client, collector, port, server)
            check_short_body(client, collector, port, server)
        else:
            check_unread_bodies(client, collector, server)

        logs = collector.wait_for_logs(client.logged)
        assert len(logs) == client.logged, describe(logs)
        assert len({log["_id"] for log in logs}) == client.logged
        client.close()


def _answers(base: str, tmp_path: Path) -> list[tuple[int, dict[str, str], bytes]]:
    """Status, headers (minus the ones that differ by nature) and body of each request."""
    barrier = tmp_path / "barrier"
    barrier.touch()  # the stream need not wait for the client
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/hello?name=J%C3%BCrgen+M&x=", {}),
        ("POST", "/echo", {"data": b'{"a": [1, 2]}',
                           "headers": {"Content-Type": "application/json"}}),
        ("POST", "/echo", {"data": bytes(range(256)) * 40,
                           "headers": {"Content-Type": "application/octet-stream"}}),
        ("POST", "/upload", {"data": {"field": "välue"},
                             "files": {"file": ("a.bin", b"\x00\x01", "image/png")}}),
        ("GET", f"/stream?barrier={barrier}", {}),
        ("POST", "/noread", {"data": b'{"unread": true}',
                             "headers": {"Content-Type": "application/json"}}),
        ("GET", "/nolog", {}),
        ("GET", "/no-such-route", {}),
    ]
    answers = []
    with requests.Session() as session:
        session.headers["X-Api-Key"] = CALLER
        for method, path, options in calls:
            response = session.request(method, base + path, timeout=30, **options)
            headers = {name.lower(): value for name, value in response.headers.items()
                       if name.lower() not in ("date", "server", "x-documentation-url")}
            answers.append((response.status_code, headers, response.content))
        close_connections(session)
    return answers


@pytest.mark.parametrize(("app", "server"), [
    pytest.param(app, server, id=f"{app}-{server}", marks=_installed(app))
    for app, server in [("pyramid", "waitress"), ("falcon", "waitress"),
                        ("quart", "uvicorn"), ("litestar", "uvicorn")]])
def test_wrapped_answers_equal_the_bare_apps(collector: Collector, tmp_path: Path, app: str,
                                             server: str) -> None:
    answers = {}
    for attribute in (f"{app}_bare", f"{app}_app"):
        port = free_port()
        with serve(_argv(app, server, attribute, port), _env(collector), tmp_path,
                   port) as base:
            answers[attribute] = _answers(base, tmp_path)
    bare, wrapped = answers[f"{app}_bare"], answers[f"{app}_app"]
    assert [status for status, _, _ in bare][:7] == [200] * 7
    assert wrapped == bare
    # Every call but /nolog was logged, once.
    logs = collector.wait_for_logs(len(bare) - 1)
    assert len(logs) == len(bare) - 1
