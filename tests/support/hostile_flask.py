"""A Flask app under werkzeug's server (``flask run``), bare and wrapped side by side, for
tests/test_hostile15_servers.py: ``python -m tests.support.hostile_flask PORT`` serves it
threaded, as ``flask run`` and ``app.run()`` do.

Two instances of one Flask app: under ``/bare/...`` as it is, under ``/wrap/...`` with
``ReadMeMetrics`` (configured from ``README_*``), the prefix moved to SCRIPT_NAME
(tests/support/side_by_side.py). Its grouping function reads the body as users' often
do (``request.get_json(silent=True)``, then ``request.form``) and names the caller its
X-Api-Key header gives. The views, by path: ``/echo`` answers ``request.get_data()``
with the request's Content-Type, ``/noread`` answers ``ok`` without reading the body,
``/read-some`` reads 5 bytes of ``request.stream`` and answers them. Each wrapped call
appends its ``X-Trace`` header to the file ``HOSTILE_TRACES`` names.
"""

from __future__ import annotations

import os
from typing import Any

from tests.support.side_by_side import built_once, wsgi_bare_or_wrapped


def _flask_app(wrapped: bool) -> Any:
    from flask import Flask, Response, request

    app = Flask(__name__)

    @app.route("/echo", methods=["GET", "POST"])
    def echo() -> Any:
        return Response(request.get_data(), content_type=request.content_type
                        or "application/octet-stream")

    @app.route("/noread", methods=["GET", "POST"])
    def noread() -> Any:
        return Response(b"ok", content_type="text/plain")

    @app.route("/read-some", methods=["POST"])
    def read_some() -> Any:
        return Response(request.stream.read(5), content_type="text/plain")

    if wrapped:
        from readme_metrics import MetricsApiConfig
        from readme_metrics.flask_readme import ReadMeMetrics

        def grouping(req: Any) -> dict[str, str]:
            req.get_json(silent=True)
            req.form.get("a")
            return {"api_key": req.headers.get("X-Api-Key") or "hostile-caller-key",
                    "label": "hostile"}

        ReadMeMetrics(MetricsApiConfig(grouping_function=grouping)).init_app(app)
    return app


_bare = built_once(lambda: _flask_app(False))
_wrapped = built_once(lambda: _flask_app(True))


def _trace(environ: Any) -> None:
    path, trace = os.environ.get("HOSTILE_TRACES"), environ.get("HTTP_X_TRACE")
    if path and trace:
        with open(path, "a", encoding="latin-1") as traces:
            traces.write(trace + "\n")


def root(environ: Any, start_response: Any) -> Any:
    return wsgi_bare_or_wrapped(environ, start_response, _bare(), _wrapped, _trace)


if __name__ == "__main__":
    import sys

    from werkzeug.serving import run_simple

    from tests.support import hostile_flask  # under its real name, not as __main__

    run_simple("127.0.0.1", int(sys.argv[1]), hostile_flask.root, threaded=True)
