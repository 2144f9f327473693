"""The suite itself (SPEC section 10): real parts, no mock of requests, speed by benchmark.

Each check reads the other test modules only, never this one, so a pattern written here
cannot find itself: remove the last user of a part and its case fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.command import REPO_ROOT
from tests.support.processes import run_command

HERE = Path(__file__).resolve()


def other_test_sources() -> dict[str, str]:
    """Every Python file under tests/ but this one, by path relative to tests/."""
    return {str(path.relative_to(REPO_ROOT / "tests")): path.read_text(encoding="utf-8")
            for path in sorted((REPO_ROOT / "tests").rglob("*.py")) if path.resolve() != HERE}


@pytest.mark.parametrize(("part", "pattern"), [
    pytest.param("real HTTP collector on loopback", r"\bCollector\(\)\.start\(\)",
                 id="collector"),
    pytest.param("real Flask app", r"\bFlask\(__name__\)", id="flask"),
    pytest.param("real Django app", r"\bsettings\.configure\(|\bdjango\.setup\(\)", id="django"),
    pytest.param("real FastAPI app", r"\bFastAPI\(", id="fastapi"),
    pytest.param("waitress", r"\bwaitress\b", id="waitress"),
    pytest.param("gunicorn sync and gthread", r"\bgthread\b", id="gunicorn"),
    pytest.param("werkzeug's development server", r"\bflask\b.*\brun\b|\brun_simple\(",
                 id="werkzeug-dev-server"),
    pytest.param("Django runserver", r"\brunserver\b", id="runserver"),
    pytest.param("wsgiref server", r"\bwsgiref\.simple_server\b|\bWSGIServer\b", id="wsgiref"),
    pytest.param("uvicorn", r"\buvicorn\b", id="uvicorn"),
    pytest.param("hypercorn", r"\bhypercorn\b", id="hypercorn"),
    pytest.param("wsgiref.validate", r"\bfrom wsgiref\.validate import\b", id="validate"),
    pytest.param("werkzeug's LintMiddleware", r"\bLintMiddleware\(", id="lint"),
    pytest.param("hypothesis", r"^\s*@given\(", id="hypothesis"),
    pytest.param("differential property", r"def test_wrapped_app_behaves_exactly_like_the_bare",
                 id="differential"),
])
def test_the_suite_uses_real_parts(part: str, pattern: str) -> None:
    """SPEC 10 and TEAM standards: every real part has at least one user."""
    regex = re.compile(pattern, re.M)
    users = [name for name, text in other_test_sources().items() if regex.search(text)]
    assert users, f"no test module uses {part}"


def test_requests_is_never_mocked() -> None:
    """SPEC 10: a real collector, "not a mock of requests"."""
    mocking = re.compile(r"^\s*(import responses|from responses|import requests_mock|"
                         r"from requests_mock|.*mock\.patch\([\"']requests)", re.M)
    offenders = [name for name, text in other_test_sources().items() if mocking.search(text)]
    assert offenders == []


def test_speed_is_a_benchmark_script_with_a_json_result() -> None:
    """SPEC 10: speed is a benchmark script with a JSON result, never a timed assertion."""
    done = run_command([sys.executable, str(REPO_ROOT / "benchmarks" / "bench.py"),
                        "--help"], capture_output=True, text=True, timeout=60,
                       cwd=str(REPO_ROOT), stdin=subprocess.DEVNULL,
                       env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert done.returncode == 0, done.stderr
    assert "json" in done.stdout.lower()


def test_a_test_starts_in_an_empty_folder_that_adds_nothing_to_pytests_base_folder(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """tests/conftest.py's working folder for each test: empty, in pytest's base folder
    (removed with it), and not one more entry of that base folder itself, which
    ``tmp_path_factory.mktemp`` (and so every ``tmp_path``) lists whole to number its new
    folder: one entry per test made a full run's folder making quadratic (speed7)."""
    here = Path.cwd()
    base = tmp_path_factory.getbasetemp()
    assert list(here.iterdir()) == []
    assert here.is_relative_to(base), (here, base)
    assert here.parent != base, here
