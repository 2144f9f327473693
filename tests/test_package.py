"""The package as users import it: every documented import path works, the runtime needs
only requests, webob and environs, and framework packages load only with their adapter.

The documented paths are SPEC section 2's list (written out here) plus every
``readme_metrics.<name>`` and ``from readme_metrics... import ...`` that README.md and
docs/*.md mention, found by reading them: a name moved without a thin module at the old
place, or a doc naming something that does not exist, fails here.
"""

from __future__ import annotations

import ast
import importlib
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.command import REPO_ROOT
from tests.support.processes import run_command

# SPEC section 2: the official package's documented paths, and the ASGI ones.
SPEC_PATHS = [
    "readme_metrics.MetricsApiConfig",
    "readme_metrics.MetricsMiddleware",
    "readme_metrics.flask_readme.ReadMeMetrics",
    "readme_metrics.django.MetricsMiddleware",
    "readme_metrics.VerifyWebhook.VerifyWebhook",
    "readme_metrics.webhooks.VerifyWebhook",
    "readme_metrics.webhooks.VerificationError",
    "readme_metrics.fastapi.ReadMeMetricsMiddleware",
    "readme_metrics.asgi.MetricsMiddleware",
    # thin modules kept at the names earlier versions and the CHANGELOG used
    "readme_metrics.middleware.MetricsMiddleware",
    "readme_metrics.redaction",
    "readme_metrics.transport",
    "readme_metrics.collector",
    "readme_metrics.validation",
]
DOCUMENTS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]


def documented_paths() -> list[str]:
    """Every dotted ``readme_metrics`` name that README.md and docs/ mention."""
    paths: set[str] = set()
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        for module, wrapped, line in re.findall(
                r"from (readme_metrics(?:\.\w+)*) import (?:\(([^)]*)\)|([\w, ]+))", text):
            names = (wrapped or line).replace("\n", ",").split(",")
            paths.update(f"{module}.{name.split()[0]}" for name in names if name.strip())
        paths.update(re.findall(r"\breadme_metrics(?:\.[A-Za-z_]\w*)+", text))
    return sorted(paths)


def resolve(path: str) -> Any:
    """Import the longest module prefix of ``path``, then get the rest as attributes."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: Any = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError as error:
            if error.name is None or not ".".join(parts[:cut]).startswith(error.name):
                raise  # the module exists but one of its own imports is missing
            continue
        for attribute in parts[cut:]:
            target = getattr(target, attribute)
        return target
    raise AssertionError(f"nothing of {path} can be imported")


def test_the_documents_name_the_spec_paths() -> None:
    found = documented_paths()
    assert len(found) >= 15, found
    assert {"readme_metrics.MetricsApiConfig", "readme_metrics.cors.CORSMiddleware",
            "readme_metrics.request_id.RequestIdFilter"} <= set(found)


@pytest.mark.parametrize("path", sorted(set(SPEC_PATHS) | set(documented_paths())))
def test_every_documented_import_path_works(path: str) -> None:
    assert resolve(path) is not None


def test_the_aliases_are_the_same_objects() -> None:
    """The thin modules at the old names hand out the very objects, not copies."""
    import readme_metrics
    from readme_metrics.VerifyWebhook import VerifyWebhook
    from readme_metrics.webhooks import VerificationError
    from readme_metrics.webhooks import VerifyWebhook as verify_in_webhooks

    assert VerifyWebhook is verify_in_webhooks
    assert issubclass(VerificationError, Exception)
    assert readme_metrics.MetricsMiddleware is resolve("readme_metrics.middleware")\
        .MetricsMiddleware
    assert callable(resolve("readme_metrics.flask_readme.ReadMeMetrics").init_app)


def test_runtime_dependencies_are_requests_webob_environs_only() -> None:
    """SPEC 1; floors may change, the names may not."""
    setup = (REPO_ROOT / "setup.py").read_text(encoding="utf-8")
    requires = re.search(r"install_requires=\[([^\]]*)\]", setup)
    assert requires is not None
    names = {re.split(r"[<>=!~ \[]", item.strip().strip("\"'"))[0].lower()
             for item in requires.group(1).split(",") if item.strip()}
    assert names == {"requests", "webob", "environs"}


def test_framework_packages_are_imported_only_by_their_adapter() -> None:
    """Importing the core, the Flask adapter module and the companions loads no framework,
    and none of the tools (the command line and its collector)."""
    script = (
        "import sys\n"
        "from readme_metrics import MetricsApiConfig, MetricsMiddleware\n"
        "import readme_metrics.flask_readme, readme_metrics.webhooks\n"
        "import readme_metrics.cors, readme_metrics.request_id\n"
        "from readme_metrics.VerifyWebhook import VerifyWebhook\n"
        "import readme_metrics.MetricsApiConfig, readme_metrics.MetricsMiddleware\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('flask', 'django', 'werkzeug', 'asgiref', 'starlette', 'fastapi')\n"
        "            or m.startswith('readme_metrics.cli')))\n"
    )
    out = run_command([sys.executable, "-c", script], capture_output=True, text=True,
                      cwd=str(REPO_ROOT), timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_every_docstring_is_utf_8() -> None:
    """Python 3.13 encodes each docstring to UTF-8 as it compiles a module (to strip its
    indentation): a ``\\udc80`` escape in one (a lone surrogate) made ``import
    readme_metrics`` fail there with a UnicodeEncodeError, though 3.9 to 3.12 import it."""
    import ast

    bad = []
    for path in sorted((REPO_ROOT / "readme_metrics").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                 ast.AsyncFunctionDef)):
                docstring = ast.get_docstring(node, clean=False)
                try:
                    (docstring or "").encode("utf-8")
                except UnicodeEncodeError:
                    bad.append(f"{path.relative_to(REPO_ROOT)}: {getattr(node, 'name', '')}")
    assert bad == [], bad


def test_no_private_name_crosses_a_module_boundary() -> None:
    """A module imports no ``_name`` of another (``from readme_metrics import _env``,
    ``_Capture``, a ``_request_id`` context variable) and reads none off a module it
    imported (``_random._pid``): what a module shares is a public name of it. (A private
    module's public names, ``from readme_metrics._env import raw``, are the package's.)"""
    crossing = []
    for path in sorted((REPO_ROOT / "readme_metrics").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "readme_metrics"):
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        crossing.append(f"{path.name}:{node.lineno} {alias.name}")
                    modules.add(alias.asname or alias.name)
            elif isinstance(node, ast.Import):
                modules.update(alias.asname or alias.name.split(".")[0]
                               for alias in node.names if alias.name.startswith(
                                   "readme_metrics"))
        crossing += _private_reads(path, tree, modules)
    assert crossing == [], crossing


def _private_reads(path: Path, tree: ast.AST, names: set[str]) -> list[str]:
    """Each ``name._attr`` read in ``tree`` off one of ``names``, where in ``path``."""
    return [f"{path.name}:{node.lineno} {node.value.id}.{node.attr}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id in names and node.attr.startswith("_")
            and not node.attr.startswith("__")]


def test_no_private_attribute_of_another_modules_class_is_read() -> None:
    """A function reads no ``_name`` off a parameter typed as a class imported from
    another module (``redactor: Redactor`` then ``redactor._needles``): the check above
    sees names off modules only, and key_shapes, key_formats and redaction_mentions read
    27 of Redactor's private tables so (house22: now its public ``needles`` record)."""
    crossing = []
    for path in sorted((REPO_ROOT / "readme_metrics").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        classes = {alias.asname or alias.name for node in ast.walk(tree)
                   if isinstance(node, ast.ImportFrom)
                   and (node.module or "").startswith("readme_metrics")
                   for alias in node.names if alias.name[:1].isupper()}
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            arguments = function.args
            typed = set()
            for argument in arguments.posonlyargs + arguments.args + arguments.kwonlyargs:
                annotation = argument.annotation
                name = (annotation.id if isinstance(annotation, ast.Name) else
                        annotation.value if isinstance(annotation, ast.Constant) else None)
                if name in classes:
                    typed.add(argument.arg)
            crossing += _private_reads(path, function, typed)
    assert crossing == [], crossing


@pytest.mark.parametrize("first", [
    "from readme_metrics.MetricsMiddleware import MetricsMiddleware",
    "from readme_metrics.MetricsApiConfig import MetricsApiConfig",
    "import readme_metrics.MetricsMiddleware, readme_metrics.MetricsApiConfig",
    "from readme_metrics import MetricsMiddleware, MetricsApiConfig",
])
def test_the_official_packages_module_paths_work_and_keep_the_classes(first: str) -> None:
    """``from readme_metrics.MetricsMiddleware import MetricsMiddleware`` (and the same for
    MetricsApiConfig) is how the official 3.x package's modules are named: it works, in
    any order, and the package's attributes stay the classes (a submodule loaded after the
    package would replace the attribute of its name with itself)."""
    script = (
        f"{first}\n"
        "import readme_metrics\n"
        "from readme_metrics.MetricsMiddleware import MetricsMiddleware as M\n"
        "from readme_metrics.MetricsApiConfig import MetricsApiConfig as C\n"
        "import readme_metrics.MetricsMiddleware, readme_metrics.MetricsApiConfig\n"
        "from readme_metrics.middleware import MetricsMiddleware\n"
        "from readme_metrics.config import MetricsApiConfig\n"
        "assert M is MetricsMiddleware is readme_metrics.MetricsMiddleware, M\n"
        "assert C is MetricsApiConfig is readme_metrics.MetricsApiConfig, C\n"
        "print('ok')\n"
    )
    out = run_command([sys.executable, "-c", script], capture_output=True, text=True,
                      cwd=str(REPO_ROOT), timeout=60)
    assert out.stdout.strip() == "ok", out.stderr


#: The house rule (STYLE.md: one job a module): a module longer than this has two.
MAX_MODULE_LINES = 400


def test_every_module_is_at_most_400_lines() -> None:
    """Each module of the package stays within the house rule (house39: headers.py had
    401, seven more 395 to 399): one that outgrows it is split along a seam, its import
    paths kept."""
    long = {str(path.relative_to(REPO_ROOT)): lines
            for path in sorted((REPO_ROOT / "readme_metrics").rglob("*.py"))
            if (lines := len(path.read_text(encoding="utf-8").splitlines()))
            > MAX_MODULE_LINES}
    assert long == {}, long
