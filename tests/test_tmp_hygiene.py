"""A test run leaves nothing in the system's temporary folder.

Every file a test makes goes in a folder of pytest's (``tmp_path``, the per-test working
folder tests/conftest.py gives) or is removed by the process that made it. Before,
each run left a Django database folder per worker (``rm-django-*``: 412 had piled up)
and a 1 MiB file per ASGI server process (``asgi-cases-<pid>-<size>.bin``: 2,163, about
2 GB). The tests known to have leaked run here in a pytest of their own whose
``TMPDIR`` is a fresh folder (pytest's own base folder elsewhere): it must stay empty.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from tests.support.command import REPO_ROOT
from tests.support.processes import run_command

LEAKED = [
    # test_django's settings: its database folder (one per process importing it)
    "tests/test_django.py::test_get_is_logged_with_documentation_url",
    # asgi_cases.big_file under a server process (/file), which the test kills
    "tests/test_asgi_conformance.py::test_http2_trailers_and_early_hints_pass_through"
    "[hypercorn]",
]


@pytest.mark.e2e
def test_the_tests_that_leaked_leave_nothing_in_the_temporary_folder(tmp_path: Path) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("README_")}
    env.update(TMPDIR=str(temporary), PYTHONDONTWRITEBYTECODE="1")
    result = run_command(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0",
         "--basetemp", str(tmp_path / "base"), *LEAKED],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=240,
    )
    summary = (result.stdout.strip().splitlines() or [""])[-1]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert re.match(rf"{len(LEAKED)} passed\b", summary), summary
    assert sorted(os.listdir(temporary)) == []
