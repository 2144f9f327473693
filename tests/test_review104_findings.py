"""review104: adversarial review of newcomer22's served-bare watches (served_bare.py).

1. A test client that runs the app in a task of its own said "served a request ... give
   the server the wrapped app" and used the watch up: Falcon's ``ASGIConductor`` (its
   documented async client, which starts a task per request), and httpx's ASGITransport
   before a Starlette ``BaseHTTPMiddleware`` (``call_next`` runs the rest of the app in
   a task group), under asyncio and trio. The stack walk that tells a test client ended
   at the task. A test client's request now says nothing there too, and the next request
   a server makes still warns.
2. A Bottle app mounted with a "/" prefix before the middleware was made around it
   said nothing (only a mount after the middleware was watched).
3. Starlette's TestClient around a Falcon ASGI app (its scope check was Starlette's
   watch's alone), and httpx's WSGITransport around a Falcon, Pyramid, Bottle or Flask
   app (not in the test clients' list, where its ASGITransport was): warned at a test's
   first request, and used the watch up.
4. The warning's look-up of what to serve read each module's ``__dict__`` by getattr: a
   lazy module (LazyLoader's) was run then, in the request, and one that raised lost
   the warning.
5. Bottle's ``config`` hook stayed on the app after its first request.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any, Callable

import anyio
import pytest

from readme_metrics import MetricsMiddleware
from readme_metrics.unwrapped import BOTTLE_MOUNTED, FLASK_SERVED_BARE
from tests.support.fake_api import Collector
from tests.test_newcomer22_findings import (
    _config,
    _falcon,
    _pyramid,
    _served_asgi,
    _served_wsgi,
    _starlette,
)
from tests.test_newcomer22_findings import (
    test_a_test_clients_request_says_nothing_and_a_served_one_warns as _says_nothing_then_warns,
)
from tests.test_review98_findings import _bottle_app, _flask_app


async def _conductor(app: Any) -> Any:
    import falcon.testing

    async with falcon.testing.ASGIConductor(app) as conductor:
        return (await conductor.simulate_get("/")).json


async def _httpx(app: Any) -> Any:
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as client:
        return (await client.get("/")).json()


def _falcon_asgi() -> Any:
    return _falcon(asgi=True)


def _starlette_with_base_middleware() -> Any:
    """A Starlette app with a ``BaseHTTPMiddleware`` (FastAPI's ``@app.middleware``)."""
    from starlette.middleware.base import BaseHTTPMiddleware

    async def passthrough(request: Any, call_next: Any) -> Any:
        return await call_next(request)

    app = _starlette()
    app.add_middleware(BaseHTTPMiddleware, dispatch=passthrough)
    return app


def _in(backend: str, client: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The async test client's request, run under ``backend``."""
    return lambda app: anyio.run(client, app, backend=backend)


@pytest.mark.parametrize(("make", "client", "framework"), [
    pytest.param(_falcon_asgi, _in("asyncio", _conductor), "Falcon", id="falcon-conductor"),
    pytest.param(_starlette_with_base_middleware, _in("asyncio", _httpx), "Starlette",
                 id="starlette-base-middleware-httpx-asyncio"),
    pytest.param(_starlette_with_base_middleware, _in("trio", _httpx), "Starlette",
                 id="starlette-base-middleware-httpx-trio"),
])
def test_a_test_client_running_the_app_in_its_own_task_says_nothing(
        make: Callable[[], Any], client: Callable[[Any], Any], framework: str,
        collector: Collector, caplog: pytest.LogCaptureFixture) -> None:
    """Two test-client requests to the bare app (its module wraps it for the server):
    nothing said; then a request as a server makes it warns, once (newcomer22's case).
    Fails on 77c3f15: the first test-client request warned (and a served one then said
    nothing)."""
    _says_nothing_then_warns(make, "asgi", client, _served_asgi, framework, collector,
                             caplog)


# -- 2. Bottle: an app mounted before the middleware is made around it ----------------------


def test_a_bottle_app_mounted_before_it_is_wrapped_says_so(
        collector: Collector, caplog: pytest.LogCaptureFixture) -> None:
    """``root.mount("/", api)``, then ``MetricsMiddleware(api, config)``, root served:
    root serves api's routes without the middleware, as when the mount comes after.
    Fails on 77c3f15: only a mount after the middleware was watched (not a word)."""
    import bottle

    caplog.set_level(logging.WARNING, logger="readme_metrics")
    api = _bottle_app()
    root = bottle.Bottle()
    root.mount("/", api)  # (api's "/" is root's)
    middleware = MetricsMiddleware(api, _config(collector.url))
    try:
        assert _served_wsgi(root) == _served_wsgi(root) == {"hello": "world"}
        said = [record.getMessage() for record in caplog.records]
        assert said.count(BOTTLE_MOUNTED) == 1, said
    finally:
        middleware.close()


# -- 3. Test clients the watches did not know --------------------------------------------


def _starlette_client_of(app: Any) -> Any:
    from starlette.testclient import TestClient

    return TestClient(app).get("/").json()


def _httpx_wsgi(app: Any) -> Any:
    import httpx

    with httpx.Client(transport=httpx.WSGITransport(app=app),
                      base_url="http://testserver") as client:
        return client.get("/").json()


@pytest.mark.parametrize(("make", "kind", "client", "served", "framework"), [
    pytest.param(_falcon_asgi, "asgi", _starlette_client_of, _served_asgi, "Falcon",
                 id="falcon-asgi-starlette-testclient"),
    pytest.param(_falcon, MetricsMiddleware, _httpx_wsgi, _served_wsgi, "Falcon",
                 id="falcon-httpx-wsgi"),
    pytest.param(_pyramid, MetricsMiddleware, _httpx_wsgi, _served_wsgi, "Pyramid",
                 id="pyramid-httpx-wsgi"),
    pytest.param(_bottle_app, MetricsMiddleware, _httpx_wsgi, _served_wsgi, "Bottle",
                 id="bottle-httpx-wsgi"),
])
def test_starlettes_testclient_and_httpx_wsgi_transport_say_nothing(
        make: Callable[[], Any], kind: Any, client: Callable[[Any], Any],
        served: Callable[[Any], Any], framework: str, collector: Collector,
        caplog: pytest.LogCaptureFixture) -> None:
    """Starlette's TestClient around a Falcon ASGI app, httpx's WSGITransport around a
    Falcon, Pyramid or Bottle app (its module wrapping it for the server): two
    test-client requests say nothing; then a request as a server makes it warns, once
    (newcomer22's case). Fails on 77c3f15: the first test-client request warned (and the
    served one then said nothing)."""
    _says_nothing_then_warns(make, kind, client, served, framework, collector, caplog)


def test_httpx_wsgi_transport_says_nothing_of_flask(
        collector: Collector, caplog: pytest.LogCaptureFixture) -> None:
    """The same for Flask (its watch shares the test clients' list): nothing said
    through httpx's WSGITransport, FLASK_SERVED_BARE once served. Fails on 77c3f15."""
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    app = _flask_app()
    middleware = MetricsMiddleware(app, _config(collector.url))
    try:
        assert _httpx_wsgi(app) == {"hello": "world"}
        assert _bare(caplog) == []
        assert _served_wsgi(app) == _served_wsgi(app) == {"hello": "world"}
        assert _bare(caplog) == [FLASK_SERVED_BARE % "review98"]
    finally:
        middleware.close()


def _bare(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records
            if "does not serve it" in record.getMessage()]


# -- 4. The warning's look-up loaded lazy modules ---------------------------------------


def test_the_warning_loads_no_lazy_module(
        collector: Collector, caplog: pytest.LogCaptureFixture, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A module in ``sys.modules`` not yet loaded (the standard library's LazyLoader, as
    ``lazy_loader`` leaves scikit-image's and networkx's), whose code raises when run (an
    optional dependency missing): the bare app's first request warns, and the module is
    not run. Fails on 77c3f15: the look-up for what to serve ran it, in the request, and
    its ImportError lost the warning."""
    import importlib.util

    caplog.set_level(logging.WARNING, logger="readme_metrics")
    ran = tmp_path / "ran"
    (tmp_path / "review104_lazy.py").write_text(
        f"open({str(ran)!r}, 'w').close()\nraise ImportError('optional dependency')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = importlib.util.find_spec("review104_lazy")
    assert spec is not None and spec.loader is not None
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "review104_lazy", module)
    spec.loader.exec_module(module)
    app = _falcon()
    middleware = MetricsMiddleware(app, _config(collector.url))
    try:
        assert _served_wsgi(app) == {"hello": "world"}
        assert len(_bare(caplog)) == 1
        assert not ran.exists()
    finally:
        middleware.close()


# -- 5. Bottle's config hook outlived the watch ------------------------------------------


def test_a_bottle_app_is_as_made_after_its_first_request(
        collector: Collector, caplog: pytest.LogCaptureFixture) -> None:
    """Served wrapped, the first request looks, then the Bottle app's hooks are as it
    was made, as Falcon's, Pyramid's and Starlette's objects are: no ``config`` hook left
    (it cost about 0.5 us on every ``app.config[...] = ...``, and made Bottle's config
    listeners after it go uncalled). Fails on 77c3f15: the ``config`` hook stayed."""
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    app = _bottle_app()
    before = {name: list(hooks) for name, hooks in app._hooks.items()}
    middleware = MetricsMiddleware(app, _config(collector.url))
    try:
        assert _served_wsgi(middleware) == {"hello": "world"}
        assert {name: list(hooks) for name, hooks in app._hooks.items()} == before
        assert _bare(caplog) == []
    finally:
        middleware.close()
