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
   Trade-off, probed: a FlaskGroup script (``python manage.py run --debug``) that makes
   the app at module level, before click runs, now says each warning twice (it said it
   once); with the app made by its create_app, once.

Probed and found clean (not kept as tests): review40's four landings against dc6a179
(Redactor.json_text over 100 documents x 5 deny/allow lists: 29 differ, each more
redacted, none less); allowed_http_hosts entries "..", ".:8080", ":8080" refused, "a.."
matches neither evil.com nor evil.com:8080; 00bebca logs through the QuietLogger.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

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
