"""review27's findings on the start-up checks and delivery changes of the session that
ended at 56b32bc: each test failed there and passes with its fix, under real parts (a
real collector on 127.0.0.1, real apps and servers)."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
import requests

from readme_metrics import MetricsApiConfig
from tests.support.asgi_stack import BRIDGES, httpx_get, layer_config
from tests.support.delivery import said_on
from tests.support.fake_api import Collector
from tests.support.processes import run_command
from tests.support.wsgi_servers import served

ROOT = Path(__file__).resolve().parent.parent


def _flask_app(name: str) -> Any:
    from flask import Flask

    app = Flask(name)
    app.add_url_rule("/", "hello", lambda: "hello")
    return app


# -- 1. a Flask app wrapped from outside: "no request is logged" was false -----------------


def _served_wsgi(app: Any, config: MetricsApiConfig) -> Callable[[], Any]:
    from readme_metrics import MetricsMiddleware

    outer = MetricsMiddleware(app, config)

    def get() -> Any:
        with served("werkzeug", outer) as port:
            return requests.get(f"http://127.0.0.1:{port}/", timeout=10)

    get.layer = outer  # type: ignore[attr-defined]
    return get


def _served_asgi(bridge: Callable[[Any], Any]) -> Callable[[Any, MetricsApiConfig],
                                                            Callable[[], Any]]:
    def serve(app: Any, config: MetricsApiConfig) -> Callable[[], Any]:
        from readme_metrics.asgi import MetricsMiddleware

        outer = MetricsMiddleware(bridge(app), config)

        def get() -> Any:
            return httpx_get(outer, "/")

        get.layer = outer  # type: ignore[attr-defined]
        return get
    return serve


@pytest.mark.parametrize("serve", [
    pytest.param(_served_wsgi, id="wsgi-middleware-around-the-app"),
    *[pytest.param(_served_asgi(param.values[0]), id=f"asgi-middleware-{param.id}")
      for param in BRIDGES],
])
def test_a_flask_app_wrapped_from_outside_gets_no_init_app_warning(
        caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest, serve: Any) -> None:
    """``MetricsMiddleware(flask_app, config)`` given to the server (README's way for any
    WSGI app; under an ASGI server, the ASGI middleware around asgiref's WsgiToAsgi, as
    README's Troubleshooting says), with an unused ReadMeMetrics made elsewhere in the
    process (a shared module's): the first request said "was never given an app, so no
    request is logged" while the request was logged. bedac7d silenced it for a
    middleware inside the app's ``wsgi_app`` only."""
    from readme_metrics.flask_readme import ReadMeMetrics

    collector = Collector().start()
    logger = logging.getLogger(f"review27-{request.node.name}")
    caplog.set_level(logging.WARNING, logger=logger.name)
    config = layer_config(collector, "any-key", logger=logger)
    unused = ReadMeMetrics(config)
    get = serve(_flask_app("myapp"), config)
    try:
        response = get()
        assert response.status_code == 200 and response.text == "hello"
        assert get.layer.flush(10)
        assert len(collector.wait_for_logs(1)) == 1  # the request was logged
        assert said_on(caplog, logger) == []
    finally:
        get.layer.close()
        unused.close()
        collector.stop()


def test_two_extensions_never_given_an_app_say_it_once(
        caplog: pytest.LogCaptureFixture) -> None:
    """Two ``ReadMeMetrics(config)`` never given an app (a module that makes one imported
    twice, as ``__main__`` by ``python app.py`` and as ``app`` by a module of the app;
    an extension made per test) said the same warning twice at the app's first request,
    and a third made later said it again at the next: once per process now, as the
    library's other start-up warnings (per logger and app)."""
    from readme_metrics.flask_readme import ReadMeMetrics

    collector = Collector().start()
    logger = logging.getLogger("review27-flask-two-strays")
    caplog.set_level(logging.WARNING, logger=logger.name)
    config = layer_config(collector, "any-key", logger=logger)
    strays = [ReadMeMetrics(config), ReadMeMetrics(config)]
    try:
        with served("werkzeug", _flask_app("myapp")) as port:
            assert requests.get(f"http://127.0.0.1:{port}/", timeout=10).text == "hello"
            strays.append(ReadMeMetrics(config))
            assert requests.get(f"http://127.0.0.1:{port}/", timeout=10).text == "hello"
        said = said_on(caplog, logger)
        assert len(said) == 1, said
        assert said[0].startswith("readme_metrics: the Flask app 'myapp' served a request, "
                                  "and a ReadMeMetrics made in this process was never given")
    finally:
        for stray in strays:
            stray.close()
        collector.stop()


def test_a_flask_app_wrapped_from_outside_with_metrics_off_still_gets_the_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    """The middleware around the app with metrics off (``enabled=False``) logs nothing:
    an extension never given an app still says that no request is logged."""
    from readme_metrics import MetricsMiddleware
    from readme_metrics.flask_readme import ReadMeMetrics

    collector = Collector().start()
    logger = logging.getLogger("review27-flask-outside-off")
    caplog.set_level(logging.WARNING, logger=logger.name)
    unused = ReadMeMetrics(layer_config(collector, "any-key", logger=logger))
    outer = MetricsMiddleware(_flask_app("myapp"),
                              layer_config(collector, "any-key", enabled=False))
    try:
        with served("werkzeug", outer) as port:
            assert requests.get(f"http://127.0.0.1:{port}/", timeout=10).text == "hello"
        assert len(said_on(caplog, logger)) == 1
    finally:
        unused.close()
        collector.stop()


# -- 2. the .env beside the app naming one variable -----------------------------------------


def test_a_dotenv_beside_the_app_setting_one_variable_says_it_is_not_read(
        tmp_path: Path) -> None:
    """newcomer5's warning for a ``.env`` beside the app, run from elsewhere, with one
    variable in it (collect's README_METRICS_SERVER alone, README's own quote): it said
    "sets README_METRICS_SERVER, which are not read from it"."""
    from tests.test_newcomer5_findings import _APP_BESIDE_ITS_ENV

    project = tmp_path / "proj"
    project.mkdir()
    (project / "app.py").write_text(_APP_BESIDE_ITS_ENV)
    (project / ".env").write_text("README_METRICS_SERVER=http://127.0.0.1:8001\n")
    env = {name: value for name, value in os.environ.items()
           if not name.upper().startswith("README_")}
    env.update(README_API_KEY="rdme_review27_key", PYTHONPATH=str(ROOT))
    done = run_command([sys.executable, str(project / "app.py")], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith(
        f"readme_metrics: {project / '.env'} sets README_METRICS_SERVER, which is not read "
        "from it: the .env file read is the working directory's"), done.stderr
