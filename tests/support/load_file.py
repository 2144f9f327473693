"""A Python file that is no package module (a benchmark script, an example app, a
test's own app written to a folder) imported as a module of a name of its own."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Optional


def load_file(name: str, path: Path, search: Optional[Path] = None) -> ModuleType:
    """``path`` run as the module ``name`` (not put in ``sys.modules``), with ``search``
    first on ``sys.path`` while it runs (a script's folder: its own imports)."""
    if search is not None:
        sys.path.insert(0, str(search))
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        if search is not None:
            sys.path.remove(str(search))
    return module
