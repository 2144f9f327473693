"""A newcomer's first hour (newcomer41): README followed from the top on a fresh clone.

The Django quick start has the lines added to ``settings.py`` first, then names
`manage.py startapp` for the grouping function's module: run in that order, in a shell
that does not yet hold ``README_API_KEY`` (the quick start sets it only for runserver),
the command stopped with "api_key is required", since every ``manage.py`` command reads
``settings.py``. README's command is now the one that works there."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from tests.support.processes import run_command
from tests.test_readme import code_blocks, readme_sections


def _startapp_command(section: str) -> str:
    """The quick start's `... startapp myapp` command, as written."""
    (command,) = set(re.findall(r"`([^`]*manage\.py startapp myapp)`", section))
    return command


def test_the_django_quick_starts_startapp_runs_after_its_settings_lines(
        tmp_path: Path) -> None:
    """In the quick start's order: the project, the settings lines, then the startapp
    command copied from README, in a shell with no ``README_*`` variable (the newcomer's,
    before runserver's line): it makes ``myapp`` and exits 0."""
    section = readme_sections()["Quick start: Django"]
    settings_code = code_blocks(section, "python")[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith("README_")}
    run_command([sys.executable, "-m", "django", "startproject", "mysite", "."],
                cwd=tmp_path, check=True, env=env)
    settings = tmp_path / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + "\n" + settings_code)
    command = _startapp_command(section).replace("python ", f"{sys.executable} ", 1)
    done = run_command(["bash", "-c", command], cwd=tmp_path, env=env,
                       capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "api_key is required" not in done.stderr
    assert (tmp_path / "myapp" / "apps.py").is_file()
