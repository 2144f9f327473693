"""SPEC section 6 (identification), black-box, for lines no other test file covered when
this was written: each distinct error message of a raising grouping function logged once,
and the grouping function reading a form under Flask (flask.request.form) and Starlette
(await request.form()) while the app reads it too."""

import logging
import time

from readme_metrics import MetricsMiddleware
from tests._acceptance_support import (
    call,
    clean_env_fixture,  # noqa: F401 - autouse
    collector_fixture,  # noqa: F401 - ``collector``
    environ_for,
    make_config,
)


def echo_app(environ, start_response):
    """Reads its whole body and answers it back: the app must see it unchanged."""
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return [body]


def test_raising_grouping_is_not_logged_and_each_error_is_logged_once(collector, caplog):
    message = {"text": "first problem"}

    def grouping(req):
        raise RuntimeError(message["text"])

    mw = MetricsMiddleware(echo_app, make_config(collector, grouping_function=grouping))
    with caplog.at_level(logging.ERROR, logger="readme_metrics"):
        for _ in range(3):
            assert call(mw, environ_for("/", "POST", b"abc"))[::2] == ("200 OK", b"abc")
        message["text"] = "second problem"
        for _ in range(3):
            assert call(mw, environ_for("/", "POST", b"abc"))[::2] == ("200 OK", b"abc")
    mw.flush(timeout=5)
    time.sleep(0.2)
    assert collector.logs() == []
    # Strict reading of "logged once per distinct message": two messages, two lines, each
    # once. The messages' text itself is withheld (README: exception values may be request
    # data, such as the caller's key), so the lines name the type and the place.
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 2, [r.getMessage() for r in errors]
    assert all("RuntimeError" in r.getMessage() for r in errors)
    assert errors[0].getMessage() != errors[1].getMessage()


def test_flask_grouping_reads_the_form_and_the_view_too(collector):
    import flask

    from readme_metrics.flask_readme import ReadMeMetrics

    seen = []

    def grouping(request):
        seen.append(request.form.get("user"))
        return {"api_key": "flask-key-2"}

    app = flask.Flask("acceptance_flask_form")

    @app.post("/login")
    def login():
        return flask.request.form["n"]

    metrics = ReadMeMetrics(make_config(collector, grouping_function=grouping), app)
    with app.test_client() as client:
        r = client.post("/login", data={"user": "ada", "n": "1"}, buffered=True)
        assert r.data == b"1"
    assert metrics.flush(timeout=5)
    assert seen == ["ada"]
    params = collector.wait_logs(1)[0]["request"]["log"]["entries"][0]["request"]["postData"][
        "params"]
    assert [(p["name"], p["value"]) for p in params] == [("user", "ada"), ("n", "1")]
    metrics.close()


def test_starlette_grouping_reads_the_form_and_the_app_too(collector):
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    seen = []

    async def grouping(request):
        form = await request.form()
        seen.append(form["user"])
        return {"api_key": "st-key-3"}

    async def login(request):
        form = await request.form()
        return PlainTextResponse(form["n"])

    app = Starlette(routes=[Route("/login", login, methods=["POST"])])
    app.add_middleware(ReadMeMetricsMiddleware,
                       config=make_config(collector, grouping_function=grouping,
                                          background_worker_mode=True))
    with TestClient(app) as client:
        assert client.post("/login", data={"user": "ada", "n": "1"}).text == "1"
    assert seen == ["ada"]
    params = collector.wait_logs(1)[0]["request"]["log"]["entries"][0]["request"]["postData"][
        "params"]
    assert [(p["name"], p["value"]) for p in params] == [("user", "ada"), ("n", "1")]
