"""What a grouping function's path that does not import meant, for its error.

Python's own errors for a wrong path name the part that failed and nothing more. These
say what was meant: the close name of a typo (a module beside it, an attribute of the
module, a name its source defines), a file's name or path given for a module's name,
and a name defined below the line that makes the configuration while that module is
still being imported (Python calls that a circular import whatever the name).
"""

from __future__ import annotations

import ast
import difflib
import os
import pkgutil
import re
import site
import sys
import sysconfig
from types import ModuleType
from typing import Any, Optional

__all__ = ["DRIVE", "app_folders", "close_module", "close_name", "missing_while_importing",
           "named_as_a_file", "not_on_sys_path", "still_importing"]

#: A Windows drive before a file's path (``C:\\proj\\app.py:grouping``): its colon is no
#: module/attribute separator.
DRIVE = re.compile(r"[A-Za-z]:[\\/]")


def close_module(missing: Optional[str], module_name: str) -> Optional[str]:
    """The module that ``missing``, a part of the path's own ``module_name`` (not a module
    that module imports), is a typo of: a sibling in its package, or a top-level module
    in one of the app's folders on ``sys.path`` (:func:`app_folders`).

    A top-level module is not guessed among Python's own and the installed packages':
    hundreds of names, of which one is always near enough ("myapp" got 'mypy', "mysite"
    'site', "app" 'zipapp') where the real cause is the app started from another folder.
    """
    if not missing or not (module_name == missing or module_name.startswith(missing + ".")):
        return None
    parent, _, last = missing.rpartition(".")
    try:
        if parent:
            where = getattr(sys.modules.get(parent), "__path__", None)
            if where is None:
                return None
            found = pkgutil.iter_modules(where)
        else:
            found = pkgutil.iter_modules(app_folders())
        names = sorted({module.name for module in found if module.name[:1] != "_"})
    except Exception:  # a path hook of the app's may raise anything: then no guess
        return None
    # A top-level name is a typo at 0.8 (a letter off in five: "myap" for "myapp"); below,
    # a name merely alike ("myapp" and the script's "app", 0.75) is no better a guess.
    close = difflib.get_close_matches(last, names, n=1, cutoff=0.6 if parent else 0.8)
    return f"{parent}.{close[0]}" if close and parent else (close[0] if close else None)


def not_on_sys_path(missing: str) -> str:
    """What to do about a top-level module no folder on ``sys.path`` holds, for its error:
    the app's folders there (Python looked in them), and the two ways to add one."""
    folders = app_folders()
    where = (f"the app's: {', '.join(map(repr, folders[:3]))}{', ...' if folders[3:] else ''}"
             if folders else "none is the app's, only Python's and its packages'")
    return (f"no folder on sys.path holds it ({where}): start the app from the folder that "
            f"holds {missing} (its package {missing}/ or {missing}.py), or add that folder "
            "to PYTHONPATH")


def app_folders() -> list[str]:
    """The folders on ``sys.path`` that are not Python's own library or its installed
    packages': the script's folder or the working directory, PYTHONPATH's. An entry that
    is no folder (the standard library's zip, an editable install's path hook) is left
    out."""
    pythons = _pythons_folders()
    folders: list[str] = []
    for entry in sys.path:
        if not isinstance(entry, str):
            continue
        folder = os.path.abspath(entry or os.curdir)
        if folder in folders or not os.path.isdir(folder) or any(
                folder == own or folder.startswith(own + os.sep) for own in pythons):
            continue
        folders.append(folder)
    return folders


def _pythons_folders() -> set[str]:
    """The standard library's folders and the site-packages ones, of the virtualenv and
    of the installation it was made from."""
    folders: set[str] = set()
    schemes = (None, {"base": sys.base_prefix, "platbase": sys.base_exec_prefix})
    for variables in schemes:
        paths = sysconfig.get_paths(vars=variables)
        folders.update(paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")
                       if key in paths)
    for getter in ("getsitepackages", "getusersitepackages"):
        try:  # absent from an old virtualenv's site module
            found = getattr(site, getter)()
        except Exception:
            continue
        folders.update([found] if isinstance(found, str) else found)
    return {os.path.abspath(folder) for folder in folders if folder}


def still_importing(obj: Any) -> bool:
    """True for a module whose import has not finished (its code is running: the path
    names the app's own module, read while that module makes its configuration)."""
    return isinstance(obj, ModuleType) and bool(
        getattr(getattr(obj, "__spec__", None), "_initializing", False))


_BELOW = ("is defined below the line that makes this configuration: move it above that "
          "line, or pass the function itself as the argument")


def missing_while_importing(module: ModuleType, name: str, exc: AttributeError,
                             called: str = "") -> str:
    """The error for ``name`` missing from a module whose import is still running.

    Python says "most likely due to a circular import" whatever the name; that is the
    cause only when the module's source defines the name (below the line that makes the
    configuration, which is running). A name the source does not define is a typo, said
    plainly, with the close name the source has if any. ``called``: the name the path
    gave a script that is running as ``__main__`` (``app`` for ``python app.py``).
    """
    plain = f"module {called or module.__name__!r} has no attribute {name!r}"
    said, running = ((plain, f"{called} is still running") if called
                     else (str(exc), f"{module.__name__} is still being imported"))
    defined = _names_in_source(module)
    if defined is None:  # no source to read (a .pyc only, a namespace)
        return f"{said}: {running}; if {name!r} {_BELOW}"
    if name in defined:
        return f"{said}: {running}, and {name!r} {_BELOW}"
    meant = close_name(name, module, defined)
    if meant is None:
        return plain
    if meant in vars(module):
        return f"{plain} (did you mean {meant!r}?)"
    return f"{plain} (did you mean {meant!r}? It {_BELOW})"


def _names_in_source(module: ModuleType) -> Optional[set[str]]:
    """The names the module's source binds at its top level (under ``if``, ``try`` and
    ``with`` too), or None when there is no source file to read."""
    spec = getattr(module, "__spec__", None)
    # A script run as ``python app.py`` has no spec, only its file.
    origin = getattr(module, "__file__", None) if spec is None else getattr(spec, "origin", None)
    if not isinstance(origin, str) or not origin.endswith(".py"):
        return None
    try:
        with open(origin, "rb") as file:
            tree = ast.parse(file.read(), origin)
    except (OSError, SyntaxError, ValueError, RecursionError):
        # RecursionError: a source too deep for the parser from here (a 3,000-term
        # expression), which the import compiled higher up the stack or took from a .pyc.
        return None
    names: set[str] = set()
    statements = list(tree.body)
    while statements:
        statement = statements.pop()
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(statement.name)
            continue  # its body binds names of its own scope
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).partition(".")[0]
                         for alias in statement.names)
            continue
        for child in ast.iter_child_nodes(statement):
            if isinstance(child, ast.stmt):
                statements.append(child)
            elif isinstance(child, ast.ExceptHandler):
                statements.extend(child.body)
            else:  # targets (x = ..., for x in ..., with ... as x): not nested bodies
                names.update(node.id for node in ast.walk(child)
                             if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store))
    return names


def close_name(name: str, obj: Any, more: Any = ()) -> Optional[str]:
    """The attribute of ``obj`` (or name in ``more``) that ``name`` is a typo of, if one
    is close."""
    try:
        known = {n for n in dir(obj) if n[:1] != "_"} | {n for n in more if n[:1] != "_"}
        close = difflib.get_close_matches(name, sorted(known), n=1)
    except Exception:  # dir() runs the object's own __dir__
        return None
    return close[0] if close else None


def named_as_a_file(module_name: str, separator: str, attr: str) -> str:
    """The error for a file's name or a relative module where a module's is wanted
    (``./myapp/metrics.py:grouping``): importlib's own says "No module named
    'myapp/metrics'", or raises a TypeError about a 'package' argument for a leading dot.

    A full path (``/srv/app/myapp/metrics.py``, ``C:\\proj\\app.py``) is named from the
    ``sys.path`` folder that holds it, or else by the file's own name, with its folder to
    put on ``sys.path``: its folders are no part of the module's name.

    ``attr`` empty: the file alone, no function named (``myapp/metrics.py``, read as the
    attribute ``py`` of ``myapp/metrics``, suggested ``'myapp.metrics.py'``: newcomer36);
    the example then names a function, as the error for a module alone does."""
    module = module_name.replace("\\", "/")
    while module.startswith("./"):
        module = module[2:]
    module = module[:-3] if module.endswith(".py") else module
    # (no function named: the example names one, said as an example)
    name, which = (attr, "") if attr else (
        "grouping", ", for a function named grouping in it: the path names no function")
    if not (module.startswith("/") or DRIVE.match(module)):
        meant = module.replace("/", ".").strip(".") + separator + name
        return (f"that is a file's name (or a relative module's): name the module as "
                f"Python imports it, e.g. {meant!r}{which}")
    within = _within_sys_path(module)
    folder, _, stem = module.rpartition("/")
    if within is not None:
        return (f"that is a file's path: name the module as Python imports it from the "
                f"folders on sys.path, e.g. {within.replace('/', '.') + separator + name!r}"
                f"{which}")
    return (f"that is a file's path: name the module as Python imports it, e.g. "
            f"{stem + separator + name!r}{which}, with its folder ({folder or '/'}) on "
            "sys.path (run the app from that folder, or add it to PYTHONPATH)")


def _within_sys_path(module: str) -> Optional[str]:
    """``module`` (a full path, ``.py`` taken off) relative to the deepest ``sys.path``
    folder that holds it, or None (a Windows path on another system, a folder not on
    ``sys.path``, or only one from which a folder on the way is no identifier: ``my-app``
    named no module Python imports)."""
    if not os.path.isabs(module):
        return None
    found: Optional[str] = None
    for entry in sys.path:
        if not isinstance(entry, str):
            continue
        folder = os.path.abspath(entry or os.curdir).replace("\\", "/").rstrip("/")
        if module.startswith(folder + "/"):
            inside = module[len(folder) + 1:]
            if not all(part.isidentifier() for part in inside.split("/")):
                continue
            if found is None or len(inside) < len(found):
                found = inside
    return found
