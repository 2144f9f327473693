"""newcomer20's first hour on main at 733187f (2026-12-04), a real app per framework:
each test named "warned" or "said" failed there and passes with its fix; the others show
that what worked still does."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

# -- Django under uvicorn, with a sync-only middleware in MIDDLEWARE -----------------------
#
# A middleware written as Django's docs show (a class with __init__(get_response) and
# __call__, no async_capable) makes Django run the chain above it synchronously under ASGI
# too: the metrics middleware's __acall__, where the lifespan check was, never ran, and
# uvicorn without with_lifespan lost the logs queued at a stop without the warning.

_SYNC_ONLY = '''
class Middleware:
    """sync only, as most projects' own middlewares are"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)
'''


@pytest.mark.e2e
@pytest.mark.parametrize("lifespan", [pytest.param(False, id="quick-start-asgi-py"),
                                      pytest.param(True, id="with-lifespan")])
def test_django_with_a_sync_only_middleware_under_uvicorn_is_warned_about(
        tmp_path: Path, collector: Any, lifespan: bool) -> None:
    from tests.support.command import app_environment
    from tests.support.ports import free_port
    from tests.test_readme import _django, _get_then_sigterm

    pytest.importorskip("uvicorn")
    _django(tmp_path, 0, lifespan=lifespan)
    (tmp_path / "myapp" / "sync_only.py").write_text(_SYNC_ONLY)
    settings = tmp_path / "mysite" / "settings.py"
    settings.write_text(settings.read_text()
                        + '\nMIDDLEWARE.append("myapp.sync_only.Middleware")\n')
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "mysite.asgi:application", "--port",
               str(port)]
    log = tmp_path / "app-output.txt"
    answer = _get_then_sigterm(command, tmp_path, app_environment(collector.url, tmp_path),
                               port, log)
    assert answer.status_code == 200, log.read_text()
    output = log.read_text()
    if not lifespan:
        assert "served by uvicorn without a lifespan" in output, output
        assert output.count("readme_metrics: Django's ASGI application") == 1, output
        assert collector.logs == [], collector.logs  # what the warning tells of
    else:
        assert "readme_metrics: Django's ASGI application" not in output, output
        assert len(collector.wait_for_logs(1, timeout=10)) == 1, output


# -- Starlette's TestClient in a test process that served with uvicorn before ---------------


def _test_client_scope() -> dict[str, Any]:
    """The HTTP scope Starlette's TestClient gives an app: a ``state``, as uvicorn's."""
    from starlette.testclient import TestClient

    scopes: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        scopes.append(scope)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    assert TestClient(app).get("/").status_code == 204
    return scopes[0]


def test_starlettes_test_client_after_uvicorn_is_not_warned_about_a_lifespan(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    pytest.importorskip("uvicorn")
    import uvicorn.lifespan.on  # noqa: F401 - in sys.modules, as after a uvicorn server

    from readme_metrics import django_asgi

    scope = _test_client_scope()
    assert "state" in scope
    logger = logging.getLogger("readme_metrics.test_newcomer20")
    said = []
    for checked_scope in (scope, {"type": "http", "state": {}}):  # then uvicorn's, warned
        monkeypatch.setattr(django_asgi, "_started", [])
        monkeypatch.setattr(django_asgi, "checked", [])
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger=logger.name):
            django_asgi.check_lifespan(logger, checked_scope)
        said.append(sum(record.getMessage() == django_asgi.WITHOUT_LIFESPAN
                        for record in caplog.records))
    assert said == [0, 1]
