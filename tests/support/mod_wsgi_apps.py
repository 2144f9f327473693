"""blackbox15's apps for Apache + mod_wsgi (``mod_wsgi-express start-server FILE``
loads this file as a WSGI script, ``application`` its callable): a plain WSGI app, and
the same wrapped in a Flask app and in Django, each wrapped as README says. The
configuration comes from the ``README_*`` variables (``--setenv`` does not reach
``os.environ`` in mod_wsgi: the test passes them in the server's environment)."""

from __future__ import annotations

import os
import sys
import time
from typing import Any, Callable, Iterable

# This tree's library (BB15_TREE: another's, to compare with main's).
sys.path.insert(0, os.environ.get("BB15_TREE") or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))

from readme_metrics import MetricsApiConfig, MetricsMiddleware  # noqa: E402

if os.environ.get("BB16_DEBUG"):  # the library's debug lines in Apache's error log
    import logging

    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)

FILE = os.path.abspath(__file__)
STREAM_PARTS = 50


def grouping(request: Any) -> Any:
    """Every call but the harness's ``/ready`` probe is logged."""
    if request.environ.get("PATH_INFO") == "/ready":
        return None
    return {"api_key": "owlbert-key", "label": "mod_wsgi"}


def bare(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Answers what it saw: method, path bytes, the body's length and its first bytes."""
    path = environ.get("PATH_INFO", "")
    if path == "/where":
        return _where(start_response)
    if path.startswith("/sleep/"):  # /sleep/SECONDS: a slow request
        time.sleep(float(path.rsplit("/", 1)[1]))
    if path.startswith("/big/"):  # /big/N: N parts of 64 KiB, streamed
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return (b"%063d\n" % i * 1024 for i in range(int(path.rsplit("/", 1)[1])))
    if path.startswith("/stream"):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (b"part %d\n" % i for i in range(STREAM_PARTS))
    if path.startswith("/file"):
        start_response("200 OK", [("Content-Type", "text/plain")])
        wrapper = environ["wsgi.file_wrapper"]
        return wrapper(open(FILE, "rb"), 8192)  # noqa: SIM115 (the server closes it)
    if path.startswith("/cached"):
        start_response("304 Not Modified", [("ETag", '"v1"')])
        return [b""]
    length = environ.get("CONTENT_LENGTH") or ""
    body = environ["wsgi.input"].read(int(length)) if length else environ["wsgi.input"].read()
    answer = b"%s %s %d %s" % (environ["REQUEST_METHOD"].encode(),
                               path.encode("latin-1"), len(body), body[:32])
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(len(answer)))])
    return [answer]


def _where(start_response: Callable[..., Any]) -> list[bytes]:
    """Where this app runs: its process, mod_wsgi's process and application group,
    the library's encoder and threads."""
    import json
    import threading

    import mod_wsgi  # type: ignore[import-not-found]

    from readme_metrics.delivery import encode

    answer = json.dumps({"pid": os.getpid(), "group": mod_wsgi.application_group,
                         "process_group": mod_wsgi.process_group,
                         "encoder": encode.ENCODER,
                         "threads": sorted(t.name for t in threading.enumerate())}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [answer]


if os.environ.get("BB68_EXIT_SECONDS"):
    # A sub-interpreter's app whose own exit hook takes time (delivery68): mod_wsgi runs
    # it as it tears that interpreter down, before the main interpreter's atexit.
    import atexit

    import mod_wsgi  # type: ignore[import-not-found]

    if mod_wsgi.application_group:
        atexit.register(time.sleep, float(os.environ["BB68_EXIT_SECONDS"]))


def _config() -> MetricsApiConfig:
    return MetricsApiConfig(grouping_function=grouping)


KIND = os.environ.get("BB15_KIND", "plain")

if KIND == "bare":
    application: Any = bare
elif KIND == "flask":
    from flask import Flask

    from readme_metrics.flask_readme import ReadMeMetrics

    flask_app = Flask(__name__)
    flask_app.wsgi_app = bare  # type: ignore[method-assign]
    ReadMeMetrics(_config(), flask_app)
    application = flask_app
else:
    application = MetricsMiddleware(bare, _config())

