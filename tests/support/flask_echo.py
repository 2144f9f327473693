"""A real Flask app with the ReadMeMetrics extension that answers each POST's body as
sent, under the type it was sent with, logging to a real collector: for the tests of what
a denylist hides in a body, request and response alike (hostile23, hostile24, hostile27,
hostile28, hostile29, hostile30, hostile31, review117, review122, review123, review124,
review125, hostile45)."""

from __future__ import annotations

import base64
from contextlib import contextmanager
from typing import Any, Iterator, Optional, Union

from tests.support.fake_api import Collector


def logged_echo(collector: Collector, body: Union[str, bytes], mime: str,
                denylist: Optional[list[str]] = None,
                max_body_bytes: Optional[int] = None, query: str = "") -> dict[str, Any]:
    """The log the collector got of POSTing ``body`` typed ``mime`` to the app, whose
    denylist is ``denylist`` (``["password"]`` by default) and ``max_body_bytes`` the
    default's unless given, at ``/echo`` with ``query`` (raw, as sent) if any; the app's
    answer is checked to be the body as sent (read as text for a str ``body``)."""
    from flask import Flask, request

    from readme_metrics import MetricsApiConfig
    from readme_metrics.flask_readme import ReadMeMetrics

    app = Flask(__name__)

    @app.route("/echo", methods=["POST"])
    def echo() -> Any:
        return request.get_data(), {"Content-Type": mime}

    extension = ReadMeMetrics(MetricsApiConfig(
        api_key="any-key", metrics_api=collector.url, buffer_length=1,
        grouping_function=lambda request: {"api_key": "owlbert-key"},
        denylist=["password"] if denylist is None else denylist,
        **({} if max_body_bytes is None else {"max_body_bytes": max_body_bytes})), app)
    try:
        answer = app.test_client().post(f"/echo?{query}" if query else "/echo", data=body,
                                        headers={"Content-Type": mime})
        # the app reads it as sent
        assert answer.get_data(as_text=isinstance(body, str)) == body
        assert extension.flush(10) is True
        [log] = collector.wait_for_logs(1)
    finally:
        extension.close()
    return log


def body_texts(log: dict[str, Any]) -> list[str]:
    """The request's and the response's body texts in ``log`` (a log as the collector
    got it, or its entry), base64 decoded (as latin-1) where the log says base64."""
    entry = log["request"]["log"]["entries"][0] if "request" in log else log
    texts = []
    for record in (entry["request"]["postData"], entry["response"]["content"]):
        text = record["text"]
        if record.get("encoding") == "base64" or record.get("comment") == "base64":
            text = base64.b64decode(text).decode("latin-1")
        texts.append(text)
    return texts


@contextmanager
def echo_server(collector: Collector) -> Iterator[tuple[int, Any, Collector]]:
    """The echo app (denylist ``["password"]``) served by werkzeug on 127.0.0.1: its port,
    its extension and ``collector`` (for :func:`posted_through`; hostile53, hostile54)."""
    from flask import Flask, request

    from readme_metrics import MetricsApiConfig
    from readme_metrics.flask_readme import ReadMeMetrics
    from tests.support.wsgi_servers import served

    app = Flask(__name__)

    @app.route("/echo", methods=["POST"])
    def echo() -> Any:
        return request.get_data(), {"Content-Type": request.content_type or "text/plain"}

    extension = ReadMeMetrics(MetricsApiConfig(
        api_key="any-key", metrics_api=collector.url, buffer_length=1,
        denylist=["password"],
        grouping_function=lambda request: {"api_key": "owlbert-key"}), app)
    try:
        with served("werkzeug-unthreaded", app) as port:
            yield port, extension, collector
    finally:
        extension.close()


def posted_through(site: tuple[int, Any, Collector], headers: list[tuple[str, str]],
                   body: str, mime: str) -> tuple[str, dict[str, Any]]:
    """What the collector got (all of it, as sent) and the log's entry of POSTing ``body``
    typed ``mime`` with ``headers`` (written raw) to :func:`echo_server`'s ``site``; the
    app's answer is checked to be the body as sent."""
    from tests.support.raw_requests import answer_to

    port, extension, collector = site
    collector.forget()
    data = body.encode()
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    answer = answer_to(port, (
        f"POST /echo HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{head}Content-Type: {mime}\r\n"
        f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n").encode() + data)
    assert b" 200 " in answer[:20] and answer.endswith(data)  # the app's, as sent
    assert extension.flush(10) is True
    [log] = collector.wait_for_logs(1)
    sent = b"".join(received.body for received in collector.received).decode()
    return sent, log["request"]["log"]["entries"][0]
