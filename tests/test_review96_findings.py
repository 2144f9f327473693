"""review96: grouping22's cut-body note said of a form the view parsed whole.

A view that parses the form of a body over max_body_bytes (Flask's request.form, Django's
request.POST of a multipart body) reads the whole body; a grouping function reading that
form (and raising KeyError: no 'caller' field) read it whole too, yet was told "the body
it was given was cut at max_body_bytes". Real servers (gunicorn) on 127.0.0.1, a real
collector. Fails before the fix on both sides, for both forms.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import requests

from tests.support.fake_api import Collector, free_port
from tests.support.polling import PATIENCE
from tests.test_asgi_servers import HAVE_GRANIAN
from tests.test_e2e_servers import MAX_BODY, serve, server_env
from tests.test_twins20_frameworks import server_argv

TARGETS = {
    "flask": ("gunicorn", "tests.support.review96_apps:flask_app"),
    "django": ("gunicorn", "tests.support.review96_apps:django_wsgi"),
}
FORM = {"pad": "x" * (MAX_BODY + 2000)}  # urlencoded: over max_body_bytes


@pytest.mark.e2e
@pytest.mark.parametrize("side", list(TARGETS))
def test_a_form_the_view_parsed_whole_is_not_said_cut(
        side: str, collector: Collector, tmp_path: Path) -> None:
    port = free_port()
    env = server_env(collector, DJANGO_SETTINGS_MODULE="tests.support.review96_apps")
    with serve(server_argv(*TARGETS[side], port), env, tmp_path, port) as base:
        for form in ({"data": FORM}, {"files": {"pad": (None, FORM["pad"])}}):
            answer = requests.post(base + "/form", timeout=PATIENCE, **form)
            assert answer.text == str(MAX_BODY + 2000)
    said = (tmp_path / f"server-{port}.log").read_text()
    errors = [line for line in said.splitlines() if "the grouping function raised" in line]
    assert errors and all("KeyError" in line for line in errors), said
    assert not [line for line in errors if "cut at max_body_bytes" in line], errors



@pytest.mark.e2e
@pytest.mark.skipif(not HAVE_GRANIAN, reason="granian is not installed")
@pytest.mark.parametrize("target", ["wsgi_app", "flask_app"])
def test_granian_rsgi_serving_the_wsgi_middleware_is_named(
        target: str, collector: Collector, tmp_path: Path) -> None:
    """granian --interface rsgi (its default) calls the WSGI middleware (bare, or under
    Flask's app.wsgi_app) with its RSGI scope and protocol: the log said "could not start
    capturing" with an AttributeError, then the app's own error. It now says what
    happened and the way out (granian --interface wsgi). Fails before: no such line."""
    port = free_port()
    argv = [sys.executable, "-m", "granian", "--interface=rsgi", "--host=127.0.0.1",
            f"--port={port}", "--workers=1", "--no-ws",
            f"tests.support.grouping22_apps:{target}"]
    with serve(argv, server_env(collector), tmp_path, port) as base:
        assert requests.get(base + "/", timeout=PATIENCE).status_code == 500
    said = (tmp_path / f"server-{port}.log").read_text(errors="replace")
    assert "granian called it as an RSGI app (--interface rsgi" in said, said
    assert "Serve it with granian --interface wsgi app:app" in said
    assert "could not start capturing" not in said
