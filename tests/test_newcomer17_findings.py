"""newcomer17's first hour on main at 89ca207 (2026-12-04): each test failed there and
passes with its fix."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# gunicorn's own worker classes (`-k gevent` needs gevent, which README names by itself).
_GUNICORN_WORKERS = {"sync", "gthread", "gevent", "eventlet", "tornado"}


@pytest.mark.parametrize("name", ["README.md", *sorted(
    f"docs/{path.name}" for path in (ROOT / "docs").glob("*.md"))])
def test_every_gunicorn_worker_class_readme_teaches_names_its_package(name: str) -> None:
    """README's Django quick start taught `gunicorn ... -k uvicorn_worker.UvicornWorker`
    without saying where the class comes from: with FastAPI, uvicorn and gunicorn
    installed, gunicorn stopped with a `ModuleNotFoundError: No module named
    'uvicorn_worker'` traceback (run by hand). The class is the `uvicorn-worker`
    package's; README names it where it names the class. newcomer18: so must each doc
    that names it (docs/SERVERS.md and docs/TROUBLESHOOTING.md did not)."""
    text = " ".join((ROOT / name).read_text(encoding="utf-8").split())
    classes = set(re.findall(r"-k ([a-z_][a-z0-9_]*)\.[A-Za-z]+", text))
    if name == "README.md":
        assert "uvicorn_worker" in classes, sorted(classes)
    for module in sorted(classes - _GUNICORN_WORKERS):
        package = module.replace("_", "-")
        assert f"pip install {package}" in text, (name, module, package)


def test_the_starlette_example_imports_the_middleware_at_starlettes_path() -> None:
    """README's Starlette row teaches `from readme_metrics.starlette import
    ReadMeMetricsMiddleware` (FastAPI is not needed), and sends the reader to
    examples/starlette/app.py, which imported it from `readme_metrics.fastapi`: a
    Starlette user, copying the example, wondered whether FastAPI was needed after all."""
    row = next(line for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
               if line.startswith("| Starlette |"))
    assert "from readme_metrics.starlette import ReadMeMetricsMiddleware" in row
    assert "`examples/starlette/app.py`" in row
    tree = ast.parse((ROOT / "examples" / "starlette" / "app.py").read_text(encoding="utf-8"))
    modules = {node.module for node in ast.walk(tree)
               if isinstance(node, ast.ImportFrom) and node.module
               and node.module.startswith("readme_metrics")}
    assert "readme_metrics.fastapi" not in modules, modules
    assert "readme_metrics.starlette" in modules, modules


def test_the_missing_key_error_sends_a_reader_without_a_key_to_the_collector(
        tmp_path: Path) -> None:
    """README's WSGI quick start run as `python app.py` without README_API_KEY (a reader
    with no ReadMe account yet, whom README sends to "see it locally") stopped with "api_key
    is required: ... or set README_METRICS_ENABLED=false to turn metrics off": turned off,
    nothing is captured and there is nothing to see. The placeholder's error already said
    that any key works against `readme-metrics collect`; the missing key's says it too."""
    import os
    import sys

    from tests.support.processes import run_command
    from tests.test_readme import code_blocks, readme_sections

    (tmp_path / "app.py").write_text(
        code_blocks(readme_sections()["Quick start: any WSGI app"], "python")[0])
    env = {name: value for name, value in os.environ.items()
           if not name.upper().startswith(("README", "RDME"))}
    env["PYTHONPATH"] = str(ROOT)
    done = run_command([sys.executable, "app.py"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, (done.stdout, done.stderr)
    said = done.stderr.strip().splitlines()[-1]
    assert said.startswith("ValueError: readme_metrics: api_key is required: "), said
    assert said.endswith(
        "or set README_METRICS_ENABLED=false to turn metrics off; no key yet? any key "
        "works against the local collector: `readme-metrics collect`, then "
        "README_API_KEY=any-key README_METRICS_SERVER=http://127.0.0.1:8001 "
        "README_API_URL=http://127.0.0.1:8001"), said


def test_a_string_argument_the_variable_refuses_too_is_not_sent_to_the_variable() -> None:
    """`MetricsApiConfig(buffer_length="x")` (an app's own setting passed through) was told
    "strings like 'x' are read from README_BUFFER_LENGTH": moved there, as the message
    invites, it is refused again. Only a string the variable takes is sent there
    (`"10"`, `"false"`); one it refuses too is told what the option takes, alone."""
    import pytest

    from readme_metrics import MetricsApiConfig

    def said(**argument: object) -> str:
        with pytest.raises(ValueError) as caught:
            MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None,
                             **argument)  # type: ignore[arg-type]
        return str(caught.value)

    assert said(buffer_length="x") == (
        "readme_metrics: buffer_length (README_BUFFER_LENGTH) must be an int >= 1, "
        "got the str 'x'")
    assert said(timeout="abc") == (
        "readme_metrics: timeout (README_TIMEOUT) must be an int or a float of seconds > 0 "
        "and <= 86400, got the str 'abc'")
    assert said(development_mode="maybe") == (
        "readme_metrics: development_mode (README_DEVELOPMENT_MODE) must be a bool (True or "
        "False), got the str 'maybe'")
    assert said(buffer_length="0") == (  # an int, but below the bound: refused there too
        "readme_metrics: buffer_length (README_BUFFER_LENGTH) must be an int >= 1, "
        "got the str '0'")
    # taken by the variable: still sent there
    assert said(buffer_length="10") == (
        "readme_metrics: buffer_length must be an int >= 1, got the str '10'; strings like "
        "'10' are read from README_BUFFER_LENGTH")
    assert said(development_mode="false").endswith(
        "strings like 'false' are read from README_DEVELOPMENT_MODE")
