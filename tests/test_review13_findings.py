"""review13's findings (a black-box read of SPEC sections 2 and 4 to 9): each test failed
on main at ba9ea7a and passes with its fix."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from readme_metrics import MetricsApiConfig
from tests.support.contract import API_KEY, caller, json_app


async def _asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _wsgi_middleware(app: Any, config: Any) -> Any:
    from readme_metrics import MetricsMiddleware

    return MetricsMiddleware(app, config)


def _asgi_middleware(app: Any, config: Any) -> Any:
    from readme_metrics.asgi import MetricsMiddleware

    return MetricsMiddleware(app, config)


def _fastapi_middleware(app: Any, config: Any) -> Any:
    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    return ReadMeMetricsMiddleware(app, config=config)


# -- a config that is no MetricsApiConfig ------------------------------------------------

WRAPPERS = [
    pytest.param(_wsgi_middleware, json_app, id="wsgi"),
    pytest.param(_asgi_middleware, _asgi_app, id="asgi"),
    pytest.param(_fastapi_middleware, _asgi_app, id="fastapi"),
]


@pytest.mark.parametrize(("wrap", "app"), WRAPPERS)
@pytest.mark.parametrize(("given", "says"), [
    pytest.param({"api_key": API_KEY}, "config must be a MetricsApiConfig, got dict",
                 id="dict"),
    pytest.param("rdme_key", "config must be a MetricsApiConfig, got str", id="str"),
])
def test_a_config_that_is_no_metrics_api_config_is_a_clear_type_error(
        wrap: Callable[[Any, Any], Any], app: Any, given: Any, says: str) -> None:
    """A dict of options (or a key) given as the config failed with an AttributeError
    from deep inside ("'dict' object has no attribute 'skip_methods'", "... 'logger'"),
    naming neither the argument nor what it must be."""
    with pytest.raises(TypeError) as raised:
        wrap(app, given)
    assert says in str(raised.value)
    if isinstance(given, dict):
        assert "MetricsApiConfig(**" in str(raised.value)


@pytest.mark.parametrize(("wrap", "app"), WRAPPERS[:2])
def test_swapped_arguments_are_named_as_such(wrap: Callable[[Any, Any], Any],
                                             app: Any) -> None:
    """``MetricsMiddleware(config, app)`` failed with "'function' object has no attribute
    'skip_methods'"."""
    config = MetricsApiConfig(api_key=API_KEY, grouping_function=caller)
    with pytest.raises(TypeError, match="swapped"):
        wrap(config, app)


@pytest.mark.parametrize(("wrap", "app"), WRAPPERS[:2])
@pytest.mark.parametrize("enabled", [True, False], ids=["enabled", "disabled"])
def test_an_app_that_is_not_callable_is_refused_at_construction(
        wrap: Callable[[Any, Any], Any], app: Any, enabled: bool) -> None:
    """``MetricsMiddleware(None, config)`` was accepted; every request then raised
    TypeError ("'NoneType' object is not callable") into the server."""
    config = MetricsApiConfig(api_key=API_KEY, grouping_function=caller, enabled=enabled)
    with pytest.raises(TypeError, match="app must be"):
        wrap(None, config)


def test_a_real_config_and_app_are_still_taken_as_before(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks refuse nothing the middlewares took before: a MetricsApiConfig
    subclass, a callable object as the app, FastAPI's config=None (the environment)."""
    class Config(MetricsApiConfig):
        pass

    class App:
        def __call__(self, environ: Any, start_response: Any) -> list[bytes]:
            return json_app(environ, start_response)

    middleware = _wsgi_middleware(App(), Config(api_key=API_KEY, grouping_function=caller,
                                                enabled=False))
    assert middleware.flush() is True
    pytest.importorskip("fastapi")
    monkeypatch.setenv("README_METRICS_ENABLED", "false")
    assert _fastapi_middleware(_asgi_app, None).flush() is True

