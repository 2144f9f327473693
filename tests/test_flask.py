"""The Flask extension: the shared capture around app.wsgi_app, Flask's request for grouping."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from typing import Any, Callable, Optional

import flask
import pytest
from flask import Flask, g, request, stream_with_context

from readme_metrics import MetricsApiConfig
from readme_metrics.flask_readme import FlaskMetricsMiddleware, ReadMeMetrics
from readme_metrics.masking import mask
from tests.support.fake_api import INLINE_TIMEOUT, Collector
from tests.support.har_check import assert_valid_log

DOCS = "https://docs.example.com"


def make_app() -> Flask:
    app = Flask(__name__)

    @app.before_request
    def authenticate() -> None:
        g.caller = request.headers.get("X-Api-Key")  # what flask-login & co. do

    @app.get("/hello")
    def hello() -> Any:
        return {"hello": request.args.get("name", "")}

    @app.post("/json")
    def json_echo() -> Any:
        return {"got": request.get_json()}

    @app.post("/upload")
    def upload() -> Any:
        file = request.files["file"]
        return {"field": request.form["field"], "name": file.filename, "data": file.read().hex()}

    @app.get("/boom")
    def boom() -> Any:
        raise RuntimeError("kaboom")

    return app


def entry(log: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = log["request"]["log"]["entries"][0]
    return result


class Seen:
    """A grouping function recording what it was given."""

    def __init__(self, body: bool = False) -> None:
        self.requests: list[Any] = []
        self.bodies: list[Any] = []
        self.labels: list[Optional[str]] = []
        self.read_body = body

    def __call__(self, req: Any) -> Optional[dict[str, str]]:
        self.requests.append(req)
        if self.read_body:
            self.bodies.append(req.get_data())
        caller = g.caller if flask.has_request_context() else req.headers.get("X-Api-Key")
        if not caller:
            return None
        return {"api_key": caller, "label": req.path, "email": f"{caller}@example.com"}


def config_for(collector: Collector, grouping: Callable[[Any], Any], **options: Any
               ) -> MetricsApiConfig:
    defaults: dict[str, Any] = dict(
        api_key="rdme_flask_test_key", grouping_function=grouping,
        metrics_api=collector.url, base_log_url=DOCS, background_worker_mode=False,
        buffer_length=1, timeout=INLINE_TIMEOUT,
    )
    defaults.update(options)
    return MetricsApiConfig(**defaults)


def call(app: Flask, method: str, path: str, **kwargs: Any) -> Any:
    """One request through the test client, response closed as a server would."""
    with app.test_client().open(path, method=method, **kwargs) as response:
        response.get_data()
    return response


@pytest.mark.parametrize(
    "setup",
    [
        pytest.param(lambda app, config: ReadMeMetrics(config, app), id="constructor"),
        pytest.param(lambda app, config: ReadMeMetrics(config).init_app(app), id="init_app"),
    ],
)
def test_logs_with_flask_request_and_documentation_url(
    collector: Collector, setup: Callable[[Flask, MetricsApiConfig], Any]
) -> None:
    seen = Seen()
    app = make_app()
    setup(app, config_for(collector, seen))
    assert isinstance(app.wsgi_app, FlaskMetricsMiddleware)

    response = call(app, "GET", "/hello?name=Ana%20B", headers={"X-Api-Key": "owl-1234"})
    assert response.json == {"hello": "Ana B"}
    [log] = collector.wait_for_logs(1)
    assert_valid_log(log)
    assert response.headers["x-documentation-url"] == f"{DOCS}/logs/{log['_id']}"
    # flask.g worked inside the grouping function, which got Flask's real request.
    assert log["group"] == {"id": mask("owl-1234"), "label": "/hello",
                            "email": "owl-1234@example.com"}
    assert [type(r) for r in seen.requests] == [flask.Request]
    assert entry(log)["request"]["url"] == "http://localhost/hello?name=Ana%20B"
    assert entry(log)["response"]["content"]["text"] == response.get_data(as_text=True)


def test_init_app_twice_wraps_once(collector: Collector) -> None:
    app = make_app()
    metrics = ReadMeMetrics(config_for(collector, Seen()))
    metrics.init_app(app)
    metrics.init_app(app)
    assert not isinstance(app.wsgi_app.app, FlaskMetricsMiddleware)  # type: ignore[attr-defined]
    call(app, "GET", "/hello", headers={"X-Api-Key": "k1"})
    assert len(collector.wait_for_logs(1)) == 1
    assert metrics.stats["sent"] == 1


def test_the_extension_s_state_is_the_same_attributes_on_every_path(
        collector: Collector) -> None:
    """Every attribute is set in __init__, whatever the path: given an app or not,
    enabled or not (``_ready`` was read with a getattr default and ``_watching`` existed
    only on one path, suite39). The unwrapped app's warning is still said once."""
    enabled = config_for(collector, Seen())
    disabled = MetricsApiConfig(api_key="k", enabled=False)
    made = [ReadMeMetrics(enabled), ReadMeMetrics(enabled, make_app()),
            ReadMeMetrics(disabled), ReadMeMetrics(disabled, make_app())]
    late = ReadMeMetrics(enabled)
    late.init_app(make_app())
    names = [sorted(vars(metrics)) for metrics in made + [late]]
    assert names == [names[0]] * 5
    assert [(metrics._ready, metrics._given, metrics._watching) for metrics in made] == [
        (True, False, True), (True, True, False), (True, False, False),
        (True, False, False)]
    with pytest.raises(TypeError, match=r"metrics\.init_app\(app\)"):
        late.init_app(object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"ReadMeMetrics\(config, app\)"):
        ReadMeMetrics(enabled, object())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "view_answer", "post_data"),
    [
        pytest.param(
            {"json": {"name": "Zoë"}}, {"got": {"name": "Zoë"}},
            {"mimeType": "application/json", "text": '{"name": "Zo\\u00eb"}'}, id="json"),
        pytest.param(
            {"data": {"field": "v", "file": (io.BytesIO(b"\x00\x01abc"), "a.bin")}},
            {"field": "v", "name": "a.bin", "data": "0001616263"},
            None, id="multipart"),
    ],
)
def test_request_bodies_reach_view_grouping_and_log(
    collector: Collector, kwargs: dict[str, Any], view_answer: dict[str, Any],
    post_data: Optional[dict[str, Any]],
) -> None:
    seen = Seen(body=True)
    app = make_app()
    ReadMeMetrics(config_for(collector, seen), app)
    path = "/json" if "json" in kwargs else "/upload"
    response = call(app, "POST", path, headers={"X-Api-Key": "k1"}, **kwargs)
    assert response.status_code == 200 and response.json == view_answer
    [log] = collector.wait_for_logs(1)
    assert_valid_log(log)
    logged = entry(log)["request"]["postData"]
    if post_data is not None:
        assert logged == post_data
        assert seen.bodies == [post_data["text"].encode()]
    else:
        assert logged["mimeType"].startswith("multipart/form-data")
        assert [p["name"] for p in logged["params"]] == ["field", "file"]


def test_stream_with_context_stays_streamed(collector: Collector) -> None:
    produced: list[str] = []
    app = make_app()

    @app.get("/stream")
    def stream() -> Any:
        def chunks() -> Iterator[str]:
            for number in range(3):
                produced.append(f"chunk {number}")
                # request and g still work: the context travels with the generator.
                yield f"{number}:{request.args['tag']}:{g.caller}\n"

        return app.response_class(stream_with_context(chunks()), mimetype="text/plain")

    ReadMeMetrics(config_for(collector, Seen()), app)
    client = app.test_client()
    with client.get("/stream?tag=t", headers={"X-Api-Key": "k1"}, buffered=False) as response:
        assert "x-documentation-url" in response.headers
        body: Iterator[bytes] = iter(response.response)  # type: ignore[arg-type]
        assert next(body) == b"0:t:k1\n"
        # The first chunk was passed on before the app produced the second one.
        assert produced == ["chunk 0"]
        rest = b"".join(body)
    assert rest == b"1:t:k1\n2:t:k1\n"
    [log] = collector.wait_for_logs(1)
    assert_valid_log(log)
    assert entry(log)["response"]["content"]["text"] == "0:t:k1\n1:t:k1\n2:t:k1\n"


@pytest.mark.parametrize(
    ("propagate", "grouping_type"),
    [
        pytest.param(False, flask.Request, id="flask-handles-the-error"),
        # With PROPAGATE_EXCEPTIONS the error leaves Flask before any response: the
        # request context is gone when the log is closed, the function gets a webob one.
        pytest.param(True, "webob", id="error-propagates"),
    ],
)
def test_errors_are_logged_as_500(
    collector: Collector, propagate: bool, grouping_type: Any
) -> None:
    seen = Seen()
    app = make_app()
    app.config["PROPAGATE_EXCEPTIONS"] = propagate
    ReadMeMetrics(config_for(collector, seen), app)
    if propagate:
        with pytest.raises(RuntimeError, match="kaboom"):
            call(app, "GET", "/boom", headers={"X-Api-Key": "k1"})
    else:
        assert call(app, "GET", "/boom", headers={"X-Api-Key": "k1"}).status_code == 500
    [log] = collector.wait_for_logs(1)
    assert_valid_log(log)
    assert entry(log)["response"]["status"] == 500
    kind = type(seen.requests[0])
    if grouping_type == "webob":
        assert kind.__module__.startswith("webob")
    else:
        assert kind is grouping_type


def test_not_identified_means_no_log_and_no_header(collector: Collector) -> None:
    app = make_app()
    metrics = ReadMeMetrics(config_for(collector, Seen()), app)
    response = call(app, "GET", "/hello")
    assert response.status_code == 200
    assert "x-documentation-url" not in response.headers
    assert metrics.stats["skipped"] == 1 and collector.logs == []


def test_flush_and_close_in_background_mode(collector: Collector) -> None:
    app = make_app()
    metrics = ReadMeMetrics(config_for(collector, Seen(), background_worker_mode=True,
                                       buffer_length=50, flush_interval=0), app)
    threads = [
        threading.Thread(target=call, args=(app, "GET", f"/hello?n={n}"),
                         kwargs={"headers": {"X-Api-Key": f"k{n}"}})
        for n in range(5)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert metrics.flush(timeout=10) is True
    logs = collector.wait_for_logs(5)
    assert sorted(log["group"]["label"] for log in logs) == ["/hello"] * 5
    metrics.close()
    metrics.close()  # idempotent
    assert metrics.stats["sent"] == 5


@pytest.mark.parametrize("how", ["extension", "wsgi_app", "werkzeug-client"])
def test_a_test_clients_response_read_to_the_end_is_logged_before_close(
        collector: Collector, how: str) -> None:
    """The usual test: ``response = client.get(...)``, read it, then ``flush()``. The test
    client leaves the response open, but it has been read to its end: the exchange is
    complete and is logged then (as the official package did), once, close or not."""
    from werkzeug.test import Client

    from readme_metrics import MetricsMiddleware

    app = make_app()
    config = MetricsApiConfig(api_key="rdme_flask_key", metrics_api=collector.url,
                              base_log_url=DOCS, grouping_function=lambda req: {
                                  "api_key": "caller-1234"})
    metrics: Any
    if how == "extension":
        metrics = ReadMeMetrics(config, app)
    else:
        app.wsgi_app = metrics = MetricsMiddleware(app.wsgi_app, config)  # type: ignore
    client: Any = Client(app) if how == "werkzeug-client" else app.test_client()
    try:
        response = client.get("/hello?name=ana")
        assert response.get_json() == {"hello": "ana"}
        assert metrics.flush(10.0) is True
        [log] = collector.logs
        assert entry(log)["response"]["content"]["text"] == response.get_data(as_text=True)
        assert_valid_log(log)
        response.close()
        del response
        assert metrics.flush(10.0) is True
        assert metrics.stats["captured"] == 1 and len(collector.logs) == 1
    finally:
        metrics.close()
