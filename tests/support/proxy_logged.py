"""A Flask app of one ``/proxy/<path>`` route (GET and POST) under werkzeug on 127.0.0.1,
the middleware sending to a real collector: raw requests in, what the collector got out
(hostile64's and hostile65's URL passwords through a real server)."""

from __future__ import annotations

from typing import Any

from tests.support.fake_api import Collector


def logged_through_proxy(collector: Collector, requests: list[tuple[str, str, bytes]],
                         **options: Any) -> str:
    """The bodies the collector got for ``requests`` (each a target, header lines as
    ``Name: value\\r\\n`` and a JSON body, empty for a GET) sent raw to the app,
    configured with ``options`` (a denylist, say) besides a grouping function."""
    from flask import Flask, request

    from readme_metrics import MetricsApiConfig
    from readme_metrics.flask_readme import ReadMeMetrics
    from tests.support.raw_requests import answer_to
    from tests.support.wsgi_servers import served

    app = Flask(__name__)

    @app.route("/proxy/<path:rest>", methods=["GET", "POST"])
    def proxy(rest: str) -> Any:
        return {"length": len(rest) + len(request.get_data())}

    extension = ReadMeMetrics(MetricsApiConfig(
        api_key="any-key", metrics_api=collector.url, buffer_length=1,
        grouping_function=lambda request: {"api_key": "owlbert-key"}, **options), app)
    try:
        with served("werkzeug-unthreaded", app) as port:
            for target, head, sent in requests:
                if sent:
                    head += ("Content-Type: application/json\r\n"
                             f"Content-Length: {len(sent)}\r\n")
                answer = answer_to(port, (
                    f"{'POST' if sent else 'GET'} {target} HTTP/1.1\r\n"
                    f"Host: 127.0.0.1:{port}\r\n{head}Connection: close\r\n\r\n").encode()
                    + sent)
                assert b" 200 " in answer[:20], answer[:200]
            assert extension.flush(10) is True
            collector.wait_for_logs(len(requests))
    finally:
        extension.close()
    return b"".join(received.body for received in collector.received).decode()
