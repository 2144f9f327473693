"""suite31: the run writes the library's and the support modules' bytecode once, before
its workers start (tests/support/bytecode.py), and its subprocesses read it: under the
machines' PYTHONDONTWRITEBYTECODE=1 each one compiled every source it imported again.
A checked hash-based ``.pyc`` is read only for the bytes it was compiled from."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from tests.support import bytecode
from tests.support.command import REPO_ROOT, app_environment
from tests.support.processes import run_command

#: Prints, as JSON, the files the import of each module named on the command line
#: compiled from source (the "compile" audit event, raised by importlib's source_to_code).
_COMPILED = """\
import importlib, json, sys
compiled = []
sys.addaudithook(lambda event, args: event == "compile" and compiled.append(str(args[1])))
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps(compiled))
"""


def _compiled_importing(*modules: str, paths: tuple[Path, ...] = (),
                        cwd: Path = REPO_ROOT) -> list[str]:
    env = app_environment("http://127.0.0.1:9/", *paths)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # as on the project's machines
    done = run_command([sys.executable, "-c", _COMPILED, *modules], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=120, check=True)
    return [name for name in json.loads(done.stdout) if name.endswith(".py")]


def test_the_run_wrote_a_checked_pyc_of_every_source_its_children_import() -> None:
    folders = (REPO_ROOT / "readme_metrics", REPO_ROOT / "tests" / "__init__.py",
               REPO_ROOT / "tests" / "support")
    stale = [str(path) for path in bytecode.sources(folders) if not bytecode.is_current(path)]
    assert len(bytecode.sources(folders)) > 300
    assert stale == []


def test_a_subprocess_importing_the_library_compiles_none_of_it() -> None:
    """Before: 219 sources of readme_metrics compiled by this one import (and
    tests/support's by the servers' apps)."""
    compiled = _compiled_importing("readme_metrics.flask_readme", "readme_metrics.asgi",
                                   "tests.support.e2e_apps")
    ours = [name for name in compiled
            if Path(name).resolve().is_relative_to(REPO_ROOT.resolve())]
    assert ours == []


def test_a_source_changed_after_its_pyc_is_compiled_again(tmp_path: Path) -> None:
    """The same size and the same mtime as when it was compiled (the window a timestamp
    ``.pyc`` misses): the hash tells, and the new source runs."""
    package = tmp_path / "pkg31"
    package.mkdir()
    (package / "__init__.py").write_text("")
    module = package / "value31.py"
    module.write_text("VALUE = 'old'\n")
    assert bytecode.write([package]) == 2
    assert bytecode.write([package]) == 0  # current: not written again
    before = module.stat()
    module.write_text("VALUE = 'new'\n")
    os.utime(module, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert not bytecode.is_current(module)
    env = app_environment("http://127.0.0.1:9/", tmp_path)
    done = run_command([sys.executable, "-c", "import pkg31.value31 as m; print(m.VALUE)"],
                       cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=120, check=True)
    assert done.stdout.split() == ["new"]
    assert _compiled_importing("pkg31.value31", paths=(tmp_path,), cwd=tmp_path) == [
        str(module)]


def test_a_source_that_does_not_compile_or_cannot_be_written_is_left(tmp_path: Path) -> None:
    (tmp_path / "broken31.py").write_text("def (:\n")
    (tmp_path / "fine31.py").write_text("X = 1\n")
    cache = tmp_path / "__pycache__"
    cache.write_text("a file where the folder would be")
    assert bytecode.write([tmp_path]) == 0
    assert not bytecode.is_current(tmp_path / "fine31.py")
