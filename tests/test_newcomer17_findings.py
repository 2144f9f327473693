"""newcomer17's first hour on main at 89ca207 (2026-12-04): each test failed there and
passes with its fix."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# gunicorn's own worker classes (`-k gevent` needs gevent, which README names by itself).
_GUNICORN_WORKERS = {"sync", "gthread", "gevent", "eventlet", "tornado"}


def test_every_gunicorn_worker_class_readme_teaches_names_its_package() -> None:
    """README's Django quick start taught `gunicorn ... -k uvicorn_worker.UvicornWorker`
    without saying where the class comes from: with FastAPI, uvicorn and gunicorn
    installed, gunicorn stopped with a `ModuleNotFoundError: No module named
    'uvicorn_worker'` traceback (run by hand). The class is the `uvicorn-worker`
    package's; README names it where it names the class."""
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    classes = set(re.findall(r"-k ([a-z_][a-z0-9_]*)\.[A-Za-z]+", readme))
    assert "uvicorn_worker" in classes, sorted(classes)
    for module in sorted(classes - _GUNICORN_WORKERS):
        package = module.replace("_", "-")
        assert f"pip install {package}" in readme, (module, package)


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
