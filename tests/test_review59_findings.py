"""review59's items: review56's 'incomplete: the app's answer broke off' comment on an
answer the app did not break off."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.support.fake_api import Collector, free_port
from tests.test_asgi_client_got import ALL, _entries, _servers
from tests.test_asgi_conformance import SAFETY, _raw
from tests.test_e2e_servers import SERVERS as WSGI_SERVERS
from tests.test_e2e_servers import serve, server_env

pytestmark = pytest.mark.e2e


def _leave_after_a_chunk(port: int, path: str) -> None:
    """GET ``path`` of the wrapped app on a raw connection, read up to its second chunk
    ("chunk 1"), and leave: the stream goes on without its client."""
    with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as sock:
        sock.sendall(_raw(port, "wrap", "left", "GET", path))
        answer = b""
        while b"chunk 1\n" not in answer:
            chunk = sock.recv(65536)
            assert chunk, f"closed early: {answer!r}"
            answer += chunk


@pytest.mark.parametrize("server", _servers("uvicorn-h11", "hypercorn", "daphne"))
def test_a_stream_the_client_left_is_not_logged_as_the_app_breaking_off(
        collector: Collector, tmp_path: Path, server: str) -> None:
    """A Starlette ``StreamingResponse`` streaming on; the client reads its first chunk
    and leaves. Starlette, listening for ``http.disconnect``, stops the stream and the
    response returns without a last body message: the app did not break off, the
    client left. The log must not say that the app's answer broke off."""
    port = free_port()
    with serve(ALL[server](port, "tests.support.asgi_left:starlette_root"),
               server_env(collector), tmp_path, port):
        _leave_after_a_chunk(port, "/stream-on")
        content = _entries(collector, 1)["left"]["response"]["content"]
    print(content)
    assert "the app's answer broke off" not in content.get("comment", "")


_WSGI = "tests.support.hostile_apps:wsgi_root"


@pytest.mark.parametrize("server", ["waitress", "gunicorn-sync", "werkzeug",
                                    "cheroot"])
def test_a_write_the_client_left_is_not_logged_as_the_app_breaking_off(
        collector: Collector, tmp_path: Path, server: str) -> None:
    """A WSGI app writing on with ``write()``; the client reads two chunks and leaves.
    Once the server's write fails, it raises into the app, whose call raises: the app did
    not break off, the client left. The log must not say that the app's answer broke
    off."""
    port = free_port()
    env = server_env(collector, HOSTILE_TRACES=str(tmp_path / "traces"))
    argv = (WSGI_SERVERS[server](port, _WSGI) if server != "werkzeug" else [
        WSGI_SERVERS[server](port, _WSGI)[0], "-m", "tests.support.hostile_apps", str(port)])
    with serve(argv, env, tmp_path, port):
        _leave_after_a_chunk(port, "/write-on")
        logs = collector.wait_for_logs(1, timeout=SAFETY)
    content = logs[0]["request"]["log"]["entries"][0]["response"]["content"]
    print(server, content.get("size"), content.get("comment"))
    assert "the app's answer broke off" not in content.get("comment", "")
