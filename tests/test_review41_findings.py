"""review41: adversarial review of newcomer7's landing (55caa30..6a74d59).

Items that failed on main, each with its fix (checked failing without it):

1. f2a285f's ``reloader_parent`` read flask's reloader from ``--reload``/``--debug`` and
   FLASK_DEBUG only: ``FLASK_DEBUG=1 FLASK_RUN_RELOAD=false flask run`` (click's variable
   for ``--no-reload``) and ``FLASK_DEBUG=1 flask run --no-debug`` serve in one process,
   which was taken for the reloader's and said no start-up warning at all;
   ``FLASK_RUN_RELOAD=true flask run`` reloads and said each twice; ``manage.py runserver
   --norel`` (argparse takes an unambiguous prefix of ``--noreload``) said none.
2. (next commit) 191f9a5's Django check, with README's plain WSGI middleware around Django's handler
   and ``settings.README_METRICS_CONFIG``: under ``manage.py runserver`` the handler is
   wrapped in staticfiles' ``StaticFilesHandler``, which serves ``/static/...`` through
   Django's handler without the middleware around it (no request of Django's own), so a
   static file as the first request said "no request is logged" though every other is.
   A request of the staticfiles handlers is not looked at; the next one is.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from tests.test_newcomer7_findings import (
    _FLASK_APP,
    _NEAR_MISS,
    _django_project,
    _said_while_serving,
)


@pytest.mark.parametrize(("args", "env"), [
    pytest.param(["run"], {"FLASK_DEBUG": "1", "FLASK_RUN_RELOAD": "false"},
                 id="debug-variable-reload-off-by-variable"),
    pytest.param(["run", "--no-debug"], {"FLASK_DEBUG": "1"}, id="debug-variable-no-debug"),
    pytest.param(["run"], {"FLASK_RUN_RELOAD": "true"}, id="reload-on-by-variable"),
])
def test_flask_runs_reloader_is_read_as_flask_reads_it(
        tmp_path: Path, args: list[str], env: dict[str, str]) -> None:
    """The serving process says each start-up warning once, whichever way flask's run
    was told to reload or not."""
    (tmp_path / "app.py").write_text(textwrap.dedent(_FLASK_APP))
    said = _said_while_serving(
        tmp_path, [sys.executable, "-m", "flask", "--app", "app", *args, "--port"], env)
    assert said.count(_NEAR_MISS) == 1, said


def test_runserver_noreload_abbreviated_still_says_the_start_up_warnings(
        tmp_path: Path) -> None:
    """``runserver --norel`` is ``--noreload`` to argparse: one process, which serves."""
    _django_project(tmp_path, with_the_middleware_line=True)
    said = _said_while_serving(
        tmp_path, [sys.executable, "-m", "django", "runserver", "--norel"],
        {"DJANGO_SETTINGS_MODULE": "mysite.settings"})
    assert said.count(_NEAR_MISS) == 1, said
