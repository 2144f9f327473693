"""A grouping function named by a dotted path (``"myapp.metrics.grouping"``).

The path is imported when the configuration is made, so that a wrong path is an error at
start-up. One case cannot be imported then: Django builds ``README_METRICS_CONFIG`` while
``settings.py`` runs, before it loads its apps, and a grouping module that imports models
(``from .models import ApiKey``, as one that looks the caller up does) raises
``AppRegistryNotReady`` there. Such a path is imported on the first call instead, when
Django is ready. Should that fail, the call raises :class:`NotImported`, which the
grouping call reports once (the request is not logged, the app is unaffected), and the
import is not run on every request:

- Django still not ready is the one failure that passes by itself (a request served before
  ``django.setup()`` has finished): the import is tried again after 1, 2, 4 ... seconds,
  at most a minute apart.
- Any other failure is for good: the code on disk does not change under a running
  process, and importing a module runs its top-level code again (its cost, its side
  effects, half-made state) for an error that is known already. It stays until restart.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import importlib.util
import inspect
import os
import pkgutil
import re
import sys
import threading
import time
import traceback
from types import ModuleType
from typing import Any, Callable, Optional

__all__ = ["ImportedOnFirstCall", "NotImported", "cannot_take_the_request", "import_dotted",
           "too_early_for_django"]

#: Seconds before the first retry of an import Django was not ready for, and the most
#: between two retries (the wait doubles from one to the other).
FIRST_RETRY = 1.0
LONGEST_RETRY = 60.0


#: A Windows drive before a file's path (``C:\\proj\\app.py:grouping``): its colon is no
#: module/attribute separator.
_DRIVE = re.compile(r"[A-Za-z]:[\\/]")


def import_dotted(path: str) -> Any:
    """Import ``"package.module.attr"`` or ``"package.module:attr"`` (``attr`` may be
    dotted: ``"package.module:Class.method"``, or ``"package.module.Class.method"``)."""
    drive = path[:2] if _DRIVE.match(path) else ""
    rest = path[len(drive):]
    separator = ":" if ":" in rest else "."
    module_name, _, attr = rest.partition(":") if ":" in rest else rest.rpartition(".")
    if not module_name or not attr:
        raise ImportError(f"{path!r} is not a 'module.attribute' path")
    module_name = drive + module_name
    if module_name.startswith(".") or "/" in module_name or "\\" in module_name:
        raise ImportError(_named_as_a_file(module_name, separator, attr))
    script = _the_running_script(module_name)
    try:
        obj: Any = script or importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name and module_name.endswith(".py"):
            raise ImportError(_named_as_a_file(module_name, separator, attr)) from None
        nested = _in_a_class(module_name, attr, exc) if separator == "." else None
        if nested is not None:
            return import_dotted(nested)
        meant = _close_module(exc.name, module_name)
        if meant is not None:  # a typo: "myapp.metric" for "myapp.metrics"
            raise ModuleNotFoundError(f"{exc} (did you mean {meant!r}?)",
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
                if _still_importing(obj) or obj is script:
                    raise AttributeError(_missing_while_importing(
                        obj, part, exc, module_name if obj is script else "")) from None
                meant = _close_name(part, obj)
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


def _close_module(missing: Optional[str], module_name: str) -> Optional[str]:
    """The module that ``missing``, a part of the path's own ``module_name`` (not a module
    that module imports), is a typo of: a sibling in its package, or a top-level module
    on ``sys.path`` (the app's folder included)."""
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
            found = pkgutil.iter_modules()
        names = sorted({module.name for module in found if module.name[:1] != "_"})
    except Exception:  # a path hook of the app's may raise anything: then no guess
        return None
    close = difflib.get_close_matches(last, names, n=1)
    return f"{parent}.{close[0]}" if close and parent else (close[0] if close else None)


def _still_importing(obj: Any) -> bool:
    """True for a module whose import has not finished (its code is running: the path
    names the app's own module, read while that module makes its configuration)."""
    return isinstance(obj, ModuleType) and bool(
        getattr(getattr(obj, "__spec__", None), "_initializing", False))


_BELOW = ("is defined below the line that makes this configuration: move it above that "
          "line, or pass the function itself as the argument")


def _missing_while_importing(module: ModuleType, name: str, exc: AttributeError,
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
    meant = _close_name(name, module, defined)
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


def _close_name(name: str, obj: Any, more: Any = ()) -> Optional[str]:
    """The attribute of ``obj`` (or name in ``more``) that ``name`` is a typo of, if one
    is close."""
    try:
        known = {n for n in dir(obj) if n[:1] != "_"} | {n for n in more if n[:1] != "_"}
        close = difflib.get_close_matches(name, sorted(known), n=1)
    except Exception:  # dir() runs the object's own __dir__
        return None
    return close[0] if close else None


def _named_as_a_file(module_name: str, separator: str, attr: str) -> str:
    """The error for a file's name or a relative module where a module's is wanted
    (``./myapp/metrics.py:grouping``): importlib's own says "No module named
    'myapp/metrics'", or raises a TypeError about a 'package' argument for a leading dot.

    A full path (``/srv/app/myapp/metrics.py``, ``C:\\proj\\app.py``) is named from the
    ``sys.path`` folder that holds it, or else by the file's own name, with its folder to
    put on ``sys.path``: its folders are no part of the module's name."""
    module = module_name.replace("\\", "/")
    while module.startswith("./"):
        module = module[2:]
    module = module[:-3] if module.endswith(".py") else module
    if not (module.startswith("/") or _DRIVE.match(module)):
        meant = module.replace("/", ".").strip(".") + separator + attr
        return (f"that is a file's name (or a relative module's): name the module as "
                f"Python imports it, e.g. {meant!r}")
    within = _within_sys_path(module)
    folder, _, stem = module.rpartition("/")
    if within is not None:
        return (f"that is a file's path: name the module as Python imports it from the "
                f"folders on sys.path, e.g. {within.replace('/', '.') + separator + attr!r}")
    return (f"that is a file's path: name the module as Python imports it, e.g. "
            f"{stem + separator + attr!r}, with its folder ({folder or '/'}) on sys.path "
            "(run the app from that folder, or add it to PYTHONPATH)")


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


def cannot_take_the_request(function: Callable[..., Any]) -> Optional[str]:
    """Why ``function`` cannot be called with the request alone (``def grouping():``), or
    None. Its own signature is read, not the one a decorator's ``__wrapped__`` shows (the
    wrapper is what is called); a callable without one to read (a builtin) passes."""
    try:
        signature = inspect.signature(function, follow_wrapped=False)
    except Exception:  # its own __getattr__ or __signature__ may raise anything (a KeyError,
        return None  # an unbound proxy's RuntimeError): then it is not checked
    try:
        signature.bind(None)
    except TypeError as exc:
        name = getattr(function, "__qualname__", None) or type(function).__qualname__
        shown = signature.replace(return_annotation=inspect.Signature.empty, parameters=[
            parameter.replace(annotation=inspect.Parameter.empty)
            for parameter in signature.parameters.values()])
        if inspect.isclass(function):
            return _a_class(function, name)
        if str(exc) == "too many positional arguments":  # inspect's words for def grouping():
            if signature.parameters:  # def grouping(*, request): each one keyword-only
                return (f"{name}{shown} takes its arguments by keyword only, but it is "
                        "called with one positional argument, the request: write "
                        f"{_with_the_request(function)}")
            return (f"{name}{shown} takes no argument, but it is called with one, the "
                    f"request: write {_with_the_request(function)}")
        taken_from = _class_of_an_unbound_method(function, signature)
        if taken_from:
            return (f"{name}{shown} is a method taken from the class, not from an "
                    f"instance, so the request would be its self: pass an instance's, "
                    f"{taken_from}().{function.__name__}, or make it a @staticmethod")
        return (f"{name}{shown} cannot be called with the request alone ({exc}): it takes "
                "one argument, the request")
    return None


def _a_class(cls: type, name: str) -> str:
    """The error for a class named where the function is wanted (``myapp.metrics.Auth``
    for ``myapp.metrics.Auth.group``): called with the request it would make an instance,
    no group, and writing ``__call__`` in it, as a callable instance is told, would not
    change that. Names the functions it holds that take the request."""
    held = [f"{name}.{attr}" for attr, value in vars(cls).items()
            if attr[:1] != "_" and isinstance(value, (staticmethod, classmethod))
            and cannot_take_the_request(getattr(cls, attr)) is None]
    wanted = (f"the function in it ({', '.join(held)}?)" if held
              else "a function (a @staticmethod in it)")
    return (f"{name} is a class, which cannot be called with the request alone: name "
            f"{wanted}, or an instance of a class with def __call__(self, request)")


def _class_of_an_unbound_method(function: Callable[..., Any],
                                signature: inspect.Signature) -> Optional[str]:
    """The class's name when ``function`` is a method read from its class (``Grouper.group``
    for ``Grouper().group``): a plain function defined in a class, taking ``self`` first."""
    if not inspect.isfunction(function):
        return None
    first = next(iter(signature.parameters), None)
    owner = function.__qualname__.split(".")[-2:-1]
    if first != "self" or not owner or owner[0] == "<locals>":
        return None
    return owner[0]


def _with_the_request(function: Callable[..., Any]) -> str:
    """How ``function``'s definition reads with the request's parameter: ``def
    grouping(request)``, ``lambda request: ...``, ``def grouping(self, request)``."""
    short = getattr(function, "__name__", None)
    if short == "<lambda>":
        return "lambda request: ..."
    if inspect.ismethod(function):
        return f"def {short}(self, request)"
    if inspect.isfunction(function):
        return f"def {short}(request)"
    return "def __call__(self, request)"


def _with_semicolon(problem: Optional[str]) -> Optional[str]:
    return None if problem is None else f"{problem}; "


def _is_submodule(name: str) -> bool:
    """True when ``name`` is a module that can be imported (its parent is imported)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def too_early_for_django(exc: BaseException) -> bool:
    """True for Django's "not ready yet" errors, raised by imports run from settings.py."""
    kind = type(exc)
    return kind.__module__.startswith("django.") and kind.__name__ in (
        "AppRegistryNotReady", "ImproperlyConfigured")


class NotImported(Exception):
    """The grouping function's path did not import on its first call; the message says
    why (names and the import error's text, never request data) and what happens next."""


def _why(exc: BaseException) -> str:
    """The failure in a few words: an import error's text names modules and attributes;
    any other error's may be anything the module held, so only its type and place."""
    kind = type(exc).__name__
    if isinstance(exc, (ImportError, AttributeError)):
        return f"{kind}: {exc}"
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{kind} at {frames[-1].filename}:{frames[-1].lineno}" if frames else kind


class ImportedOnFirstCall:
    """A grouping function imported by its path when it is first called."""

    def __init__(self, path: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self._clock = clock
        self._function: Optional[Callable[[Any], Any]] = None
        self._lock = threading.Lock()
        self._failure: Optional[str] = None  # why the last import failed
        self._retry_at: Optional[float] = None  # None with a failure: never again
        self._retry_wait = FIRST_RETRY

    def __call__(self, request: Any) -> Any:
        function = self._function
        if function is None:
            function = self._import()
        return function(request)

    def _import(self) -> Callable[[Any], Any]:
        """The function, imported now if due; raises :class:`NotImported` otherwise."""
        with self._lock:  # one import, even when the first requests arrive together
            if self._function is not None:
                return self._function
            if self._failure is not None and (self._retry_at is None
                                              or self._clock() < self._retry_at):
                raise NotImported(self._failure)
            try:
                function = import_dotted(self.path)
            except Exception as exc:
                self._failed(exc)
                raise NotImported(self._failure) from exc
            problem = (f"{self.path!r} is not callable: " if not callable(function)
                       else _with_semicolon(cannot_take_the_request(function)))
            if problem is not None:
                self._failure = f"the grouping function {problem}requests are not logged"
                self._retry_at = None
                raise NotImported(self._failure)
            self._function = function
            return function

    def _failed(self, exc: Exception) -> None:
        """Note why the import failed, and when (if ever) to try again."""
        if too_early_for_django(exc):
            self._failure = (f"the grouping function {self.path!r} could not be imported "
                             f"yet ({type(exc).__name__}: Django's apps are not loaded): "
                             "requests are not logged until it is; it is tried again "
                             "after a backoff")
            self._retry_at = self._clock() + self._retry_wait
            self._retry_wait = min(self._retry_wait * 2, LONGEST_RETRY)
        else:
            self._failure = (f"the grouping function {self.path!r} could not be imported "
                             f"({_why(exc)}): requests are not logged; it is not imported "
                             "again until the process restarts")
            self._retry_at = None

    def __repr__(self) -> str:
        return f"<grouping function {self.path!r}, imported on its first call>"
