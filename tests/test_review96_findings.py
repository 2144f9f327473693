"""review96: grouping22's cut-body note said of a form the view parsed whole.

A view that parses the form of a body over max_body_bytes (Flask's request.form, Django's
request.POST of a multipart body) reads the whole body; a grouping function reading that
form (and raising KeyError: no 'caller' field) read it whole too, yet was told "the body
it was given was cut at max_body_bytes". Real servers (gunicorn) on 127.0.0.1, a real
collector. Fails before the fix on both sides, for both forms.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.fake_api import Collector, free_port
from tests.support.polling import PATIENCE
from tests.test_e2e_servers import MAX_BODY, serve, server_env
from tests.test_twins20_frameworks import server_argv

TARGETS = {
    "flask": ("gunicorn", "tests.support.review96_apps:flask_app"),
    "django": ("gunicorn", "tests.support.review96_apps:django_wsgi"),
}
FORM = {"pad": "x" * (MAX_BODY + 2000)}  # urlencoded: over max_body_bytes


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    made = Collector().start()
    yield made
    made.stop()


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
