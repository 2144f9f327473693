"""The process environment, with the working directory's ``.env`` read once.

Twelve-factor configuration: every option of :class:`readme_metrics.MetricsApiConfig`,
:class:`readme_metrics.cors.CORSMiddleware` and :class:`readme_metrics.request_id.
RequestIdMiddleware` can come from an environment variable, and a ``.env`` file in the
working directory counts as environment (through environs). The file is read on first
use, here, for all of them, and again only when the working directory or the file itself
has changed (one ``stat`` tells): constructing a middleware per worker or per test does
not read the disk again, every component sees the same values, and a ``.env`` written or
edited after a first configuration is the one the next configuration reads. Variables
already set in the real environment win over the file.

The library never writes ``os.environ``: the app's environment stays its own, and a
thread of the app iterating it is never raced. The file is read once, by python-dotenv's
``dotenv_values`` (environs' own reader), and ``env_parsers.file_env`` answers environs' look-up
of a variable, ``Env._get_from_environ``, from it when the real environment does not have
the variable (the method is private, but the same in every release from 11, the floor, to
15). environs before 15 (the newest for Python 3.9 is 14) have no other way to read a file
without exporting it into ``os.environ``; 15 and later do (``read_env``), but it reads the
file a second time, and python-dotenv warns about a line it cannot parse on each read.

environs (and marshmallow under it) and python-dotenv are imported on first need, not at
import (import49): a variable's text (:func:`value`, what environs' ``str`` parser gives)
is looked up without them, a ``.env`` file is read only where there is one, and the
environs ``Env`` is made the first time a parser is asked for (:func:`environment`: a
number or a flag that is set, an ``int``, ``bool`` ...). A configuration from arguments
and unset variables, the common start, never imports environs.

An empty variable (``README_TIMEOUT=``) means "unset", for every option alike: an empty
line in a ``.env`` or a deployment template must not be an error for one option and a
value for another.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import sys
import threading
from typing import TYPE_CHECKING, Any, Collection, Mapping, Optional

from readme_metrics.env_parsers import file_env

if TYPE_CHECKING:
    from environs import Env

__all__ = ["FOLDERS_ABOVE", "dotenv_above", "dotenv_elsewhere", "dotenv_read", "dotenv_where",
           "environment", "file_value", "hidden_by_empty", "names", "not_assigned", "reset",
           "set_empty", "set_in_the_file_only", "value"]

_lock = threading.Lock()
#: The environs ``Env`` over :data:`_file_values`, made on the first parse asked for.
_env: Optional[Env] = None
#: The ``.env`` file's values (empty: no file); None until the first read.
_file_values: Optional[Mapping[str, str]] = None
_env_directory: Optional[str] = None
#: What ``stat`` said of the ``.env`` file when it was read (None: there was none).
_env_stamp: Optional[tuple[int, int, int]] = None
#: The ``.env`` file read (absolute path), None when the working directory has none.
_env_file: Optional[str] = None
#: The names the ``.env`` file sets (its values stay in the ``Env``).
_file_names: frozenset[str] = frozenset()
#: The ``.env`` file's lines that start with a name but are no ``NAME=value``
#: (``README_API_KEY: rdme_...``, ``README_API_KEY rdme_...``): (line number, name).
_not_assigned: tuple[tuple[int, str], ...] = ()

# A variable's name, and what may follow it on a line of a .env file that sets it: blanks,
# then "=" (python-dotenv's "export " prefix and blanks around "=" allowed).
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LINE = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*(.?)")


def _working_directory() -> Optional[str]:
    try:
        return os.getcwd()
    except OSError:  # the directory was removed: keep what was read
        return _env_directory


def _stamp(path: str) -> Optional[tuple[int, int, int]]:
    """Modification time, size and inode of the file ``path``; None when it is no file."""
    try:
        found = os.stat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(found.st_mode):
        return None
    return (found.st_mtime_ns, found.st_size, found.st_ino)


def environment() -> Env:
    """The shared environs ``Env`` over the environment and :func:`_current` ``.env``."""
    global _env
    file = _current()
    env = _env
    if env is None or env._file is not file:
        env = _env = file_env(file)
    return env


def value(variable: str) -> Optional[str]:
    """The variable's text, as environs' ``str`` parser gives it (the real environment's,
    else the ``.env`` file's; None: neither sets it), without importing environs."""
    file = _current()
    found = os.environ.get(variable)
    return found if found is not None else file.get(variable)


def _current() -> Mapping[str, str]:
    """The ``.env`` file's values; the first call reads ``./.env`` if there is one.

    Read again only when the working directory has changed since (a process that made a
    config elsewhere first, a test session moving between directories) or the file has
    (written, edited, replaced or removed since): the ``.env`` is the working directory's,
    as it is when the configuration is made, and SPEC 2 says so.
    """
    global _file_values, _env_directory, _env_file, _env_stamp, _file_names, _not_assigned
    directory = _working_directory()
    dotenv = os.path.abspath(os.path.join(directory or os.curdir, ".env"))
    stamp = _stamp(dotenv)
    with _lock:
        if _file_values is None or directory != _env_directory or stamp != _env_stamp:
            _env_file = dotenv if stamp is not None else None
            (_file_values, _file_names, _not_assigned), _env_directory = (
                _read(_env_file), directory)
            _env_stamp = stamp
        return _file_values


def names() -> list[str]:
    """Every variable name set, in the environment or the ``.env`` file (never values).

    What python-dotenv takes for a name on a line without ``=`` may hold a value
    (``README_API_KEY:rdme_...`` is one "name"): only real names are given, and such
    lines are :func:`not_assigned`.
    """
    _current()
    return sorted(set(os.environ) | _file_names)


def not_assigned() -> list[tuple[str, int, str]]:
    """The ``.env`` file's lines that begin with a variable's name but do not assign it
    (a ``:`` or a blank where ``=`` belongs), as (file, line number, name): the name only,
    the rest of such a line is often the value, a key."""
    _current()
    return [(_env_file, number, name) for number, name in _not_assigned
            if _env_file is not None]


def hidden_by_empty() -> list[tuple[str, str]]:
    """(file, name) for each name the ``.env`` file gives a value that the environment
    sets empty: the real environment wins over the file, and an empty variable means
    unset, so the file's value is not used (``export README_API_KEY=`` left in a shell,
    a compose file's ``${README_API_KEY}`` of a variable the host does not set)."""
    file = _current()
    if _env_file is None:
        return []
    return sorted((_env_file, name) for name, text in file.items()
                  if text.strip() and set_empty(name))


def set_in_the_file_only(variables: Collection[str]) -> tuple[Optional[str], list[str]]:
    """(the ``.env`` file, the names of ``variables`` it sets that the real environment
    does not): what only this library's own reading of the file sees, as a variable
    another reader (requests' proxies) takes from ``os.environ`` alone. Names only."""
    _current()
    if _env_file is None:
        return None, []
    return _env_file, sorted(name for name in _file_names
                             if name in variables and name not in os.environ)


def set_empty(variable: str) -> bool:
    """True when ``variable`` is in the environment but empty or blank, which counts as
    unset: ``README_API_KEY=$KEY`` of a ``KEY`` the shell does not set, ``export X=``."""
    return not os.environ.get(variable, "x").strip()


def dotenv_where(variable: Optional[str] = None) -> str:
    """Where a variable missing from the environment could have been set, for the message
    of a required option: the ``.env`` read (and its line for ``variable`` that is no
    ``NAME=value``), or the working directory that has none (a ``.env`` beside the app's
    module is not read when the app runs elsewhere)."""
    _current()
    if any(name == variable for _, name in hidden_by_empty()):
        return (f"in {_env_file} (which has it, but {variable} is set empty in the "
                "environment, and the environment wins: unset it there)")
    if _env_file is not None:
        lines = [str(number) for number, name in _not_assigned if name == variable]
        if lines:
            return (f"in {_env_file} (read, but its line {', '.join(lines)} is no "
                    f"{variable}=value: write {variable}=<the value> there)")
        return f"in {_env_file} (read, but without a value for it)"
    beside = _beside_the_script(variable) if variable else None
    if beside is not None:
        return _not_read(beside, f"{beside}, beside the script run, sets {variable}, but "
                         "is not read")
    above = dotenv_above(variable) if variable else None
    if above is not None:
        return _not_read(above, f"{above} sets {variable}, but a .env in a folder above "
                         "is not read")
    return f"in a .env file in the working directory ({_env_directory} has none)"


def _not_read(path: str, why: str) -> str:
    """:func:`dotenv_where`'s words for a ``.env`` at ``path`` that sets the variable but
    is not read (``why``), the working directory having none."""
    return (f"in a .env file in the working directory ({_env_directory} has none; {why}: "
            f"run the app from {os.path.dirname(path)}, or move the file to the working "
            "directory)")


def dotenv_elsewhere(directory: str,
                     known: Collection[str]) -> Optional[tuple[str, list[str], str]]:
    """``(file, names, working directory)`` when the working directory has no ``.env``
    but ``directory`` (the app module's) has one that sets variables of ``known`` the
    environment does not: a ``.env`` beside app.py, where python-dotenv's
    ``load_dotenv()`` looks, is not read when the app runs from elsewhere (``python
    proj/app.py``), and those options keep their defaults without a word. Names only;
    None otherwise (a file that cannot be read too)."""
    _current()
    if _env_file is not None:
        return None
    here = os.path.abspath(_env_directory or os.curdir)
    path = os.path.join(os.path.abspath(directory), ".env")
    if os.path.dirname(path) == here:
        return None
    names = _names_set(path, known)
    return (path, names, here) if names else None


def _names_set(path: str, known: Collection[str]) -> list[str]:
    """The names of ``known`` that the ``.env`` file ``path`` sets and the environment
    does not, sorted; none for no such file, or one that cannot be read."""
    if not os.path.isfile(path):
        return []
    try:
        with open(path, encoding="utf-8-sig") as file:
            matches = [_LINE.match(line) for line in file]
    except (OSError, UnicodeDecodeError):
        return []
    return sorted({match.group(1) for match in matches
                   if match is not None and match.group(2) == "="
                   and match.group(1) in known and match.group(1) not in os.environ})


def _beside_the_script(variable: str) -> Optional[str]:
    """The ``.env`` beside the script Python runs (``python proj/app.py``: proj/.env),
    when it sets ``variable`` and is not the working directory's; None otherwise."""
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    if not isinstance(path, str):
        return None
    found = dotenv_elsewhere(os.path.dirname(os.path.abspath(path)), (variable,))
    return found[0] if found is not None else None


#: How many folders above the working directory :func:`dotenv_above` looks in.
FOLDERS_ABOVE = 3


def dotenv_above(variable: str) -> Optional[str]:
    """The nearest ``.env`` up to :data:`FOLDERS_ABOVE` folders above the working
    directory that sets ``variable``, when the working directory has none: a project's
    root ``.env`` with the app run from a subfolder (``cd src && python app.py``), where
    python-dotenv's ``find_dotenv()`` and docker compose look upward and this library
    does not (newcomer30: the error said only "(src has none)"). None otherwise."""
    _current()
    if _env_file is not None:
        return None
    folder = os.path.abspath(_env_directory or os.curdir)
    for _ in range(FOLDERS_ABOVE):
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent
        path = os.path.join(folder, ".env")
        if _names_set(path, (variable,)):
            return path
    return None


def dotenv_read() -> Optional[str]:
    """The ``.env`` file read last (absolute path); None: the working directory had none,
    or none was read yet."""
    return _env_file


def file_value(variable: str) -> Optional[str]:
    """The value the ``.env`` file read gives ``variable`` (None: it gives none, or no
    file was read); the file read again first if it changed (:func:`environment`)."""
    return _current().get(variable)


def _read(dotenv: Optional[str]) -> tuple[Mapping[str, str], frozenset[str],
                                          tuple[tuple[int, str], ...]]:
    """The values of the file ``dotenv`` (None: no file), with no os.environ write,
    the names the file sets, and its lines that name a variable without assigning it.

    A file that is not UTF-8 is a ``ValueError`` naming it: python-dotenv's own error
    names neither the file nor who read it (an OSError names the file itself).
    """
    try:
        return _read_file(dotenv)
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"readme_metrics: cannot read {dotenv}: it is not UTF-8 (byte "
            f"0x{exc.object[exc.start]:02x} at offset {exc.start}); save it as UTF-8, or "
            "run the app from a directory without it") from None


class _OwnRead(logging.Filter):
    """Drops python-dotenv's "could not parse statement starting at line N" of this
    library's own read of the file for a line of a ``README*`` name with no ``=``
    (``README_API_KEY: rdme_...``): this library's warning, or the missing key's error,
    names that line and what to write, and python-dotenv's line, naming neither the file
    nor who read it, came first. Its warning about any other line is kept, as are those
    of the app's own reads. Only records made on the reading thread are looked at."""

    def __init__(self) -> None:
        super().__init__()
        self.reading = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        lines = getattr(self.reading, "lines", ())
        return not (lines and isinstance(record.args, tuple) and record.args
                    and record.args[0] in lines)


_own_read = _OwnRead()
logging.getLogger("dotenv.main").addFilter(_own_read)


def _read_file(dotenv: Optional[str]) -> tuple[Mapping[str, str], frozenset[str],
                                                tuple[tuple[int, str], ...]]:
    if dotenv is None:
        return {}, frozenset(), ()
    try:
        not_assigned = _lines_not_assigned(dotenv)
    except UnicodeDecodeError:
        not_assigned = ()  # python-dotenv's read below raises it, as before
    _own_read.reading.lines = frozenset(
        number for number, name in not_assigned if name.upper().startswith("README"))
    try:
        file = (globals().get("dotenv_values") or __getattr__("dotenv_values"))(dotenv)
    finally:
        _own_read.reading.lines = ()
    return ({key: value for key, value in file.items() if value is not None},
            frozenset(name for name in file if _NAME.fullmatch(name)), not_assigned)


def __getattr__(name: str) -> Any:
    """``dotenv_values``, python-dotenv's reader (environs' own), imported on first use:
    only where there is a ``.env`` file to read."""
    if name != "dotenv_values":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from dotenv import dotenv_values

    globals()[name] = dotenv_values
    return dotenv_values


def _lines_not_assigned(dotenv: str) -> tuple[tuple[int, str], ...]:
    """(line number, name) for each line of ``dotenv`` that starts with a name followed
    by something other than ``=`` (``README_API_KEY: rdme_...``, YAML's way, or a blank
    between the two): python-dotenv skips such a line, or takes all of it for a name
    without a value, and the variable stays unset. A name alone on its line (set, empty)
    and comments are not counted."""
    found = []
    with open(dotenv, encoding="utf-8-sig") as file:  # dotenv_values read it as UTF-8
        for number, line in enumerate(file, 1):
            match = _LINE.match(line)
            if match is None or line.lstrip().startswith("#"):
                continue
            name, following = match.groups()
            if following not in ("=", "", "#"):
                found.append((number, name))
    return tuple(found)


def reset() -> None:
    """Forget that ``.env`` was read: the next use reads it again (tests act as new processes)."""
    global _env, _env_directory, _env_file, _env_stamp, _file_names, _not_assigned
    global _file_values
    with _lock:
        _env, _env_directory, _env_file, _env_stamp = None, None, None, None
        _file_values = None
        _file_names, _not_assigned = frozenset(), ()

