"""Import what a ``"package.module.attr"`` or ``"package.module:attr"`` path names.

The path is the user's, from the configuration or ``README_GROUPING_FUNCTION``: a wrong
one is an error at start-up that says what was meant (a typo, a file's name, a name
defined below the line that makes the configuration: see
:mod:`readme_metrics.dotted_path_hints`). A path naming the script that is running as
``__main__`` (``python app.py`` naming ``app:group``) takes the function from it rather
than running the file again as another module.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from types import ModuleType
from typing import Any, Optional

from readme_metrics.dotted_path_hints import (
    DRIVE,
    close_module,
    close_name,
    missing_while_importing,
    named_as_a_file,
    not_on_sys_path,
    still_importing,
)

__all__ = ["import_dotted"]


def import_dotted(path: str) -> Any:
    """Import ``"package.module.attr"`` or ``"package.module:attr"`` (``attr`` may be
    dotted: ``"package.module:Class.method"``, or ``"package.module.Class.method"``)."""
    drive = path[:2] if DRIVE.match(path) else ""
    rest = path[len(drive):]
    separator = ":" if ":" in rest else "."
    module_name, _, attr = rest.partition(":") if ":" in rest else rest.rpartition(".")
    if not module_name or not attr:
        raise ImportError(f"{path!r} is not a 'module.attribute' path")
    module_name = drive + module_name
    if separator == "." and attr == "py":  # a file's name, no function: "myapp/metrics.py"
        raise ImportError(named_as_a_file(module_name + ".py", separator, ""))
    if module_name.startswith(".") or "/" in module_name or "\\" in module_name:
        raise ImportError(named_as_a_file(module_name, separator, attr))
    script = _the_running_script(module_name)
    try:
        obj: Any = script or importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name and module_name.endswith(".py"):
            raise ImportError(named_as_a_file(module_name, separator, attr)) from None
        nested = _in_a_class(module_name, attr, exc) if separator == "." else None
        if nested is not None:
            return import_dotted(nested)
        meant = close_module(exc.name, module_name)
        if meant is not None:  # a typo: "myapp.metric" for "myapp.metrics"
            raise ModuleNotFoundError(f"{exc} (did you mean {meant!r}?)",
                                      name=exc.name) from None
        if exc.name and exc.name == module_name.partition(".")[0]:
            # the app started from another folder than the one holding its module
            raise ModuleNotFoundError(f"{exc}: {not_on_sys_path(exc.name)}",
                                      name=exc.name) from None
        raise
    name = module_name
    for part in attr.split("."):
        name = f"{name}.{part}"
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            # A submodule its package does not import itself ("myapp.metrics", the
            # function's name forgotten): imported, so the caller can say what it is.
            if not isinstance(obj, ModuleType) or not _is_submodule(name):
                if still_importing(obj) or obj is script:
                    raise AttributeError(missing_while_importing(
                        obj, part, exc, module_name if obj is script else "")) from None
                meant = close_name(part, obj)
                if meant is not None:  # a typo: "grouping_functon"
                    raise AttributeError(f"{exc} (did you mean {meant!r}?)") from None
                raise
            obj = importlib.import_module(name)
    return obj


def _in_a_class(module_name: str, attr: str, exc: ModuleNotFoundError) -> Optional[str]:
    """``"pkg.mod:Class.attr"`` for ``"pkg.mod.Class.attr"`` (a method or a function held
    by a class, as ``pkgutil.resolve_name`` takes it), when the first part no module has,
    ``pkg.mod.Class``, is an attribute of ``pkg.mod`` or ``pkg.mod`` is no package (then
    the attribute's error, with its typo, is the one to say); None otherwise."""
    missing = exc.name or ""
    if not (module_name == missing or module_name.startswith(missing + ".")):
        return None  # a module the path's module imports is missing: its error stands
    parent, _, last = missing.rpartition(".")
    if not parent:
        return None
    try:
        holder = importlib.import_module(parent)
    except Exception:  # the parent's own failure: the path's error says it
        return None
    if not hasattr(holder, last) and hasattr(holder, "__path__"):
        return None  # a package: the module missing (or its typo) is the error to say
    return f"{parent}:{module_name[len(parent) + 1:]}.{attr}"


def _the_running_script(module_name: str) -> Optional[ModuleType]:
    """``__main__`` when it is what importing ``module_name`` would run again: ``python
    app.py`` (or ``python -m app``) whose configuration names ``app:group``. Imported by
    name, the file ran a second time as another module (the app's top-level code twice: a
    second app, its connections, its prints) and the function was taken from that copy."""
    main = sys.modules.get("__main__")
    if main is None or module_name in sys.modules:
        return None
    spec = getattr(main, "__spec__", None)
    if spec is not None:  # python -m app
        return main if spec.name == module_name else None
    script = getattr(main, "__file__", None)
    if not script:
        return None
    try:
        # (A package's module, ``python src/pkg/app.py`` naming ``pkg.app``: finding it
        # imports the package, as importing it would.)
        found = importlib.util.find_spec(module_name)
    except Exception:  # an app's path hook may raise anything: then imported as before
        return None
    origin = getattr(found, "origin", None)
    if not origin or os.path.realpath(origin) != os.path.realpath(script):
        return None
    return main


def _is_submodule(name: str) -> bool:
    """True when ``name`` is a module that can be imported (its parent is imported)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False
