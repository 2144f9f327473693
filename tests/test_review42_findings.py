"""review42: adversarial review of review40's, review41's and the lead's landings
(f5c5838, 7182b4a, 001554e, 1847cab; 095a237, 8d299fe, 9dbf004; 00bebca, f8771e9,
931147b).

Items that failed on main, each with its fix (checked failing without it):

1. 095a237's ``reloader_parent`` took any process with flask imported and a bare ``run``
   among its arguments for ``flask run``: a production server started as
   ``python serve.py run`` (waitress, gunicorn's API, wsgiref), or ``pytest -k run``, with
   FLASK_DEBUG=1 in the environment (or ``--debug`` among its own options) was taken for
   the reloader's process and said no start-up warning at all. Flask's run is now told by
   click's current command being flask's ``run_command`` (the app is loaded inside it).
2. 1847cab reads a multipart part's JSON string holding a document (a payload encoded
   twice) by the denylist, but a form field or query value holding one was never read
   (its first character, '"' or %22, was taken for no JSON), and any such field cut short
   by max_body_bytes is no JSON and went out as sent: the password in clear, where a
   field's broken document starting with "{" is hidden whole. Now read, and hidden whole
   when cut short (an escaped quote or backslash-u escape, and a denied name).

   Item 1's trade-off, probed: a FlaskGroup script (``python manage.py run --debug``) that makes
   the app at module level, before click runs, now says each warning twice (it said it
   once); with the app made by its create_app, once.

Probed and found clean (not kept as tests): review40's four landings against dc6a179
(Redactor.json_text over 100 documents x 5 deny/allow lists: 29 differ, each more
redacted, none less); allowed_http_hosts entries "..", ".:8080", ":8080" refused, "a.."
matches neither evil.com nor evil.com:8080; 00bebca logs through the QuietLogger.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote_plus

import pytest
from werkzeug.wrappers import Request

from readme_metrics import MetricsMiddleware
from tests.support.contract import exchange
from tests.support.fake_api import Collector
from tests.support.leaks import found_spelled
from tests.test_newcomer7_findings import _FLASK_APP, _NEAR_MISS, _said_while_serving

# A production start script: the flask app served by a plain WSGI server, one process.
_SERVE = """
    import sys
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from app import app

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    make_server("127.0.0.1", int(sys.argv[-1]), app, handler_class=Quiet).serve_forever()
    """


@pytest.mark.parametrize(("args", "env"), [
    pytest.param(["--port"], {"FLASK_DEBUG": "1"}, id="guard-no-run"),
    pytest.param(["run", "--port"], {"FLASK_DEBUG": "1"}, id="run-debug-variable"),
    pytest.param(["run", "--debug", "--port"], {}, id="run-own-debug-option"),
    pytest.param(["-k", "run", "--reload", "--port"], {}, id="reload-option"),
])
def test_a_script_with_run_in_its_arguments_says_the_start_up_warnings(
        tmp_path: Path, args: list[str], env: dict[str, str]) -> None:
    """A process that is not flask's run serves in one process, whatever its arguments."""
    (tmp_path / "app.py").write_text(textwrap.dedent(_FLASK_APP))
    (tmp_path / "serve.py").write_text(textwrap.dedent(_SERVE))
    said = _said_while_serving(tmp_path, [sys.executable, "serve.py", *args], env)
    assert said.count(_NEAR_MISS) == 1, said


# -- 2. A field holding a payload encoded twice, cut short ---------------------------------

SECRET = "review42-denied-secret"
# json.dumps of an already serialised payload: a JSON string holding a document.
TWICE = json.dumps(json.dumps({"user": "zoe", "password": SECRET, "pad": "x" * 40}))


def _reads_the_form(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    Request(environ).form  # noqa: B018 - the app reads its fields
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


@pytest.mark.parametrize(("body", "content_type"), [
    pytest.param(b"a=1&f=" + quote_plus(TWICE).encode(),
                 "application/x-www-form-urlencoded", id="form-field"),
    pytest.param(b'--XB\r\nContent-Disposition: form-data; name="f"\r\n\r\n' + TWICE.encode()
                 + b"\r\n--XB--\r\n", "multipart/form-data; boundary=XB", id="multipart-part"),
    pytest.param(b'--XB\r\nContent-Disposition: form-data; name="f"\r\nContent-Type: '
                 b"application/json\r\n\r\n" + TWICE.encode() + b"\r\n--XB--\r\n",
                 "multipart/form-data; boundary=XB", id="multipart-json-part"),
])
def test_a_field_holding_a_payload_encoded_twice_cut_short_is_not_logged_in_clear(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        body: bytes, content_type: str) -> None:
    """1847cab reads a field's JSON string holding a document by the denylist; cut short
    by max_body_bytes (just past the password) it is no JSON, and went out in clear,
    where a field's broken document starting with "{" is hidden whole."""
    limit = body.index(SECRET.encode()) + len(SECRET) + 5
    before = len(collector.received)
    _, _, entry = exchange(
        inline_wrap(_reads_the_form, denylist=["password"], max_body_bytes=limit), collector,
        method="POST", body=body, headers={"Content-Type": content_type})
    assert "truncated" in entry["request"]["postData"]["comment"]
    bodies = [r.body for r in collector.received[before:] if r.path == "/v1/request"]
    assert found_spelled(bodies, SECRET) == []
