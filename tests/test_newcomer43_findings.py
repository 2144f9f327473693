"""A newcomer's first hour (newcomer43): README's test command, run from a fresh clone of
main (0f6cdfdf), failed with two errors at collection (pytest-xdist ran the rest, then
exited 1, as `.ci/run` would). Two branches passed alone and landed together: one moved
helpers that the other's new test module imported from where they were (review148's
``_pump``, ``_handshake`` and ``_read_until``, now in tests/support/tls_bio.py), and
flaky50 dropped ``test_support_processes._ignores_sigterm`` (tests/support/
signal_dispositions.py) that test_worker_crash.py still imported. This reads every
``from tests... import name`` of the suite and checks that the module named defines that
name: a static look (seconds), no collection."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]


def _top_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The module's statements, those under a top-level ``if``, ``try`` or ``with``
    included (a name defined on one branch is defined), not those of a def or class."""
    for node in body:
        yield node
        for field in ("body", "orelse", "finalbody"):
            yield from _top_level(getattr(node, field, []) if not isinstance(
                node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else [])
        for handler in getattr(node, "handlers", []):
            yield from _top_level(handler.body)


def _targets(target: ast.expr) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _targets(element)


def _defined(path: Path) -> set[str] | None:
    """The names ``path`` defines at its top level; None where it cannot be told (a
    ``from x import *`` or a module ``__getattr__``)."""
    names: set[str] = set()
    for node in _top_level(ast.parse(path.read_text(encoding="utf-8")).body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                names.update(_targets(target))
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            names.update(_targets(node.target))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    return None
                names.add(alias.asname or alias.name.split(".")[0])
    return None if "__getattr__" in names else names


def _module_file(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def test_every_name_a_test_module_imports_from_another_is_defined_there() -> None:
    defined: dict[Path, set[str] | None] = {}
    missing = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                    and node.module.split(".")[0] == "tests"):
                continue
            source = _module_file(node.module)
            if source is None:
                missing.append(f"{path.relative_to(ROOT)}:{node.lineno}: no module "
                               f"{node.module}")
                continue
            if source not in defined:
                defined[source] = _defined(source)
            names = defined[source]
            if names is None:
                continue
            for alias in node.names:
                if (alias.name not in names
                        and _module_file(f"{node.module}.{alias.name}") is None):
                    missing.append(f"{path.relative_to(ROOT)}:{node.lineno}: "
                                   f"{alias.name} is not in {node.module}")
    assert not missing, "\n".join(missing)
