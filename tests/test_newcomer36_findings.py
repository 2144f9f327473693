"""newcomer36's first hour on main at 34d01479 (2026-12-06): README followed from a fresh
clone (the demo, the test command's first minutes; the WSGI, Flask, Django and FastAPI
quick starts), then the mistakes a newcomer makes.

1. ``app.add_middleware(ReadMeMetricsMiddleware(app, config=...))``, the middleware made
   and given to Starlette's ``add_middleware`` in place of its class: every request was a
   500 with Starlette's bare "TypeError: MetricsMiddleware.__call__() missing 2 required
   positional arguments: 'receive' and 'send'", and uvicorn's lifespan said only "ASGI
   'lifespan' protocol appears unsupported". Now the error names the right call, and is
   logged once as the app builds its middleware (at the lifespan's start under uvicorn).
   ``ReadMeMetricsMiddleware(config=...)`` given to it, no app, said only Python's
   "missing 1 required positional argument: 'app'": now the same advice.
2. A file's path naming no function (``README_GROUPING_FUNCTION=myapp/metrics.py``,
   ``C:\\proj\\myapp\\metrics.py``) was read as the module ``myapp/metrics`` and the
   attribute ``py``: the error suggested ``'myapp.metrics.py'``, itself no function's path.
3. The grouping function's ``{"key": ...}`` (or ``"apiKey"`` in another case) was refused as
   "no 'api_key'" without the "did you mean" its near misses get.

Each test named "said" failed before its fix; the others pin what stays.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig
from readme_metrics.added_made import ADDED_MADE
from tests.support.fake_api import Collector

pytest.importorskip("starlette")
pytest.importorskip("httpx")  # Starlette's TestClient

KEY = "rdme_newcomer36_key_4242"
MADE_SAID = "app.add_middleware() was given a"


def _grouping(request: Any) -> Any:
    return {"api_key": "owlbert-key", "label": "Owlbert"}


def _config(collector: Collector, **options: Any) -> MetricsApiConfig:
    return MetricsApiConfig(api_key=KEY, metrics_api=collector.url,
                            grouping_function=_grouping, **options)


def _app(framework: str) -> Any:
    if framework == "fastapi":
        from fastapi import FastAPI

        fastapi_app = FastAPI()

        @fastapi_app.get("/")
        async def hello() -> dict[str, str]:
            return {"hello": "world"}

        return fastapi_app
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def hello_route(request: Any) -> JSONResponse:
        return JSONResponse({"hello": "world"})

    return Starlette(routes=[Route("/", hello_route)])


def _middleware_class(framework: str) -> Any:
    if framework == "fastapi":
        from readme_metrics.fastapi import ReadMeMetricsMiddleware

        return ReadMeMetricsMiddleware
    from readme_metrics.asgi import MetricsMiddleware

    return MetricsMiddleware


def _get(app: Any) -> Any:
    from starlette.testclient import TestClient

    return TestClient(app).get("/", headers={"X-Api-Key": "owlbert-key"})


def _said(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records
            if MADE_SAID in record.getMessage()]


# -- 1. the middleware made, given to add_middleware ------------------------------------------

@pytest.mark.parametrize("enabled", [True, False], ids=["on", "off"])
@pytest.mark.parametrize("framework", ["fastapi", "starlette"])
def test_a_middleware_given_made_to_add_middleware_is_said_naming_the_right_call(
        framework: str, enabled: bool, collector: Collector,
        caplog: pytest.LogCaptureFixture) -> None:
    """Failed before: Starlette's "__call__() missing 2 required positional arguments"."""
    caplog.set_level(logging.ERROR, logger="readme_metrics")
    app = _app(framework)
    cls = _middleware_class(framework)
    made = cls(app, config=_config(collector, enabled=enabled))
    try:
        app.add_middleware(made)  # the mistake: the instance, not the class
        for _ in range(2):  # Starlette builds again at each request while it fails
            with pytest.raises(TypeError) as raised:
                _get(app)
            assert str(raised.value) == ADDED_MADE.format(cls.__name__)
        assert f"app.add_middleware({cls.__name__}, config=MetricsApiConfig(...))" in str(
            raised.value)
        assert _said(caplog) == [ADDED_MADE.format(cls.__name__)]  # logged once
        assert KEY not in caplog.text
    finally:
        made.close()


@pytest.mark.parametrize("framework", ["fastapi", "starlette"])
def test_the_class_given_to_add_middleware_logs_as_before(
        framework: str, collector: Collector, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="readme_metrics")
    app = _app(framework)
    cls = _middleware_class(framework)
    app.add_middleware(cls, config=_config(collector, buffer_length=1))
    response = _get(app)
    assert response.status_code == 200 and response.json() == {"hello": "world"}
    assert len(collector.wait_for_logs(1)) == 1
    assert _said(caplog) == []
    assert "build_middleware_stack" not in vars(app)  # nothing of this check is left


@pytest.mark.parametrize("framework", ["fastapi", "starlette"])
def test_the_whole_app_wrapped_is_served_as_before_and_left_as_it_was(
        framework: str, collector: Collector, caplog: pytest.LogCaptureFixture) -> None:
    """``app = ReadMeMetricsMiddleware(app, config)``, the other right way: the check
    looks at the app's first build, finds nothing, and puts the app's own build back."""
    caplog.set_level(logging.ERROR, logger="readme_metrics")
    app = _app(framework)
    wrapped = _middleware_class(framework)(app, _config(collector, buffer_length=1))
    try:
        assert "build_middleware_stack" in vars(app)  # watching
        response = _get(wrapped)
        assert response.status_code == 200 and response.json() == {"hello": "world"}
        assert len(collector.wait_for_logs(1)) == 1
        assert _said(caplog) == []
        assert "build_middleware_stack" not in vars(app)
    finally:
        wrapped.close()


@pytest.mark.parametrize("framework", ["fastapi", "starlette"])
def test_a_middleware_made_with_no_app_for_add_middleware_is_said_naming_the_right_call(
        framework: str, collector: Collector) -> None:
    """``app.add_middleware(ReadMeMetricsMiddleware(config=...))``: failed before with
    Python's "__init__() missing 1 required positional argument: 'app'"."""
    cls = _middleware_class(framework)
    with pytest.raises(TypeError) as raised:
        cls(config=_config(collector, enabled=False))
    assert str(raised.value) == (
        f"readme_metrics: {cls.__name__}(config=...) was made with no app to wrap: "
        f"app.add_middleware() takes the class and its options, app.add_middleware("
        f"{cls.__name__}, config=MetricsApiConfig(...)), and makes it with the app; to "
        f"wrap an app yourself, {cls.__name__}(app, config)")


def test_a_middleware_made_with_its_app_by_keyword_is_made_as_before(
        collector: Collector) -> None:
    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    made = ReadMeMetricsMiddleware(app=_app("fastapi"), config=_config(collector,
                                                                        enabled=False))
    assert made.config.enabled is False


# -- 2. a file's path that names no function --------------------------------------------------

@pytest.mark.parametrize(("path", "meant"), [
    ("newcomer_app/metrics.py", "newcomer_app.metrics.grouping"),
    ("newcomer_app\\metrics.py", "newcomer_app.metrics.grouping"),  # Windows' separator
    (".\\newcomer_app\\metrics.py", "newcomer_app.metrics.grouping"),
    ("newcomer_app.metrics.py", "newcomer_app.metrics.grouping"),  # said "no attribute 'py'"
    ("C:\\proj\\newcomer_app\\metrics.py", "metrics.grouping"),  # copied from Explorer
])
@pytest.mark.parametrize("given", ["argument", "environment"])
def test_a_files_path_naming_no_function_is_said_to_name_one(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch, path: str, meant: str,
        given: str) -> None:
    """Failed before: the example was 'newcomer_app.metrics.py' (or 'metrics.py'), the
    file's path again, which names no function either."""
    from tests.test_newcomer_findings import _project

    _project(tmp_path, monkeypatch)
    options: dict[str, Any] = {"api_key": "any-key"}
    if given == "argument":
        options["grouping_function"] = path
    else:
        monkeypatch.setenv("README_GROUPING_FUNCTION", path)
    with pytest.raises(ValueError) as caught:
        MetricsApiConfig(**options)
    message = str(caught.value)
    assert f"cannot import {path!r}: that is a file's" in message, message
    assert f"e.g. {meant!r}, for a function named grouping in it: the path names no " \
           "function" in message, message
    assert ".py'" not in message.split(": that is")[1], message


# -- 3. the caller's key or id under a name of its own ----------------------------------------

@pytest.mark.parametrize(("result", "meant"), [
    pytest.param({"key": "owlbert-secret", "label": "x"}, "key", id="key"),
    pytest.param({"token": "owlbert-secret"}, "token", id="token"),
    pytest.param({"user_id": "owlbert-secret", "label": "x"}, "user_id", id="user_id"),
    pytest.param({"userId": "owlbert-secret", "email": "x@example.com"}, "userId",
                 id="userId"),
    pytest.param({"user": "owlbert-secret", "key": "owlbert-secret"}, "key",
                 id="a-key-before-an-id"),
])
def test_the_callers_key_under_a_name_of_its_own_is_said_as_the_name_meant(
        caplog: pytest.LogCaptureFixture, result: dict[str, str], meant: str) -> None:
    """Failed before: "returned no 'api_key' (its keys: key, label; ...)" and nothing
    more. Names only, never the value."""
    from readme_metrics.grouping import Identifier

    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    assert Identifier(lambda request: result, logging.getLogger("readme_metrics"))(
        object()) is None
    (said,) = [r.getMessage() for r in caplog.records
               if "returned no 'api_key'" in r.getMessage()]
    assert said.endswith(
        f"the request is not logged (did you mean 'api_key' for {meant!r}? api_key is "
        "whatever tells your callers apart, a key or an id, always sent masked)"), said
    assert "owlbert-secret" not in caplog.text


def test_a_mapping_with_no_name_taken_for_the_key_says_only_its_names(
        caplog: pytest.LogCaptureFixture) -> None:
    from readme_metrics.grouping import Identifier

    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    Identifier(lambda request: {"label": "x", "plan": "pro"},
               logging.getLogger("readme_metrics"))(object())
    (said,) = [r.getMessage() for r in caplog.records
               if "returned no 'api_key'" in r.getMessage()]
    assert said.endswith("(its keys: label, plan; known: api_key, label, email); the "
                         "request is not logged"), said


# -- the brief's Django settings: warned already (newcomer35), pinned here --------------------

def test_readme_config_settings_and_timeout_as_django_settings_are_named() -> None:
    """README_CONFIG, README_SETTINGS (the configuration misnamed) and README_TIMEOUT (a
    variable taken for a setting): said by newcomer35's check on main already (a
    runserver start-up showed the three warnings); this pins them."""
    from types import SimpleNamespace

    from readme_metrics.django_settings_names import unread_settings

    said = unread_settings(SimpleNamespace(
        README_CONFIG={"buffer_length": 1}, README_SETTINGS={"timeout": 10},
        README_TIMEOUT=10))
    assert said == [
        "settings.README_CONFIG is not read: the setting is README_METRICS_CONFIG = "
        "MetricsApiConfig(...)",
        "settings.README_SETTINGS is not read: the setting is README_METRICS_CONFIG = "
        "MetricsApiConfig(...)",
        "settings.README_TIMEOUT is not read (README_TIMEOUT is an environment variable, "
        "not a Django setting): give the option inside README_METRICS_CONFIG = "
        "MetricsApiConfig(timeout=...) in settings.py, or export README_TIMEOUT"]
