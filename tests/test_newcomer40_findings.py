"""A newcomer's first hour (newcomer40): README followed from the top on a fresh clone.
Its quick starts each leave a server on port 8000, and the next one, or a second
`readme-metrics collect`, then finds its port taken: Troubleshooting has a row for it,
and what it quotes is what each of those programs says."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest

from tests.support.command import app_environment
from tests.support.processes import run_command
from tests.test_readme import _django, _fastapi, _flask, _wsgi, troubleshooting_row

#: The row's symptom, as README and docs/TROUBLESHOOTING.md start it.
SYMPTOM = 'at start-up, "Address already in use"'


@pytest.fixture(scope="module")
def taken_port() -> Iterator[int]:
    """A port some other program listens on (the quick start left running)."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        yield busy.getsockname()[1]


def _quoted(row: str, program: str) -> str:
    """What the row (full and short: the same quote) has ``program`` say: ``program: "..."``."""
    (said,) = set(re.findall(re.escape(program) + r': "([^"]+)"', row))
    return said


def _collect(tmp_path: Path, port: int) -> list[str]:
    return [sys.executable, "-m", "readme_metrics", "collect", "--port", str(port)]


@pytest.mark.parametrize("make_command, program", [
    pytest.param(_wsgi, None, id="wsgi"), pytest.param(_flask, "Flask", id="flask"),
    pytest.param(_fastapi, "uvicorn", id="fastapi"),
    pytest.param(_django, "Django", id="django"),
    pytest.param(_collect, "`readme-metrics collect`", id="collect"),
])
def test_a_port_already_taken_says_what_the_row_quotes(
        make_command: Any, program: Optional[str], taken_port: int, tmp_path: Path) -> None:
    """README's quick starts, run verbatim on a port another program holds, and the
    collector on one: each stops at once, saying what Troubleshooting's row quotes, so
    a newcomer searching for their line finds it."""
    row = troubleshooting_row(SYMPTOM)
    command = make_command(tmp_path, taken_port)
    if program is None:  # the plain WSGI quick start: Python's own OSError
        quoted = "Address already in use"
        assert "`OSError: [Errno 98] Address already in use`" in row
    else:
        quoted = _quoted(row, program).replace("8000", str(taken_port)).replace(
            "8001", str(taken_port))
    env = app_environment("http://127.0.0.1:9", tmp_path)
    done = run_command(command, cwd=tmp_path, env=env, capture_output=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    said = (done.stdout + done.stderr).decode(errors="replace")
    assert done.returncode != 0, said
    assert quoted in said, (quoted, said)


def test_the_row_says_how_to_get_past_it() -> None:
    """Stop the other program, or another port; for the collector, ``--port 0`` and the
    URL it prints."""
    full, short = troubleshooting_row(SYMPTOM).split("\n")
    for row in (full, short):
        assert "Ctrl-C" in row and "`--port 0`" in row and "the previous quick start" in row


# -- the demo's login: a JSON body is refused, saying it takes form fields ----------------


def test_the_demo_login_says_it_takes_form_fields() -> None:
    """Kept serving (`readme-metrics demo`), a newcomer tries the example API's login as
    most APIs take it, in JSON, and got "username and password are required" with both
    sent: the answer now says how it takes them, and the form it names is logged in."""
    from werkzeug.test import Client

    from readme_metrics.cli.demo_app import DemoApp

    client = Client(DemoApp())
    refused = client.post("/api/login", json={"username": "ada", "password": "hunter2"})
    assert refused.status_code == 400
    assert "-d username=ada -d password=..." in refused.get_json()["error"]
    taken = client.post("/api/login", data={"username": "ada", "password": "hunter2"})
    assert taken.status_code == 200 and taken.get_json()["user"] == "ada"


# -- the Django quick start says how to make the project it adds lines to -----------------


def test_the_django_quick_start_names_the_project_it_runs_in() -> None:
    """The quick start adds lines to "your project's settings.py", then runs `mysite`'s
    commands: a newcomer trying it with no project had to guess how to make one. README
    names the command test_readme's verbatim run makes it with (``django startproject
    mysite .``, run as ``django-admin``), and says what its ``/`` answers."""
    import inspect

    from tests.test_readme import readme_sections

    section = readme_sections()["Quick start: Django"]
    assert "`django-admin startproject mysite .`" in section
    assert '"startproject", "mysite", "."' in inspect.getsource(_django)
    assert "`mysite/settings.py`" in section and "welcome page, a 200" in section
