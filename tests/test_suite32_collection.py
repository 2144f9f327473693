"""suite32: the run writes pytest's rewritten ``.pyc`` of every test module once, before
its workers start (tests/support/bytecode.py, ``write_rewritten``). Under the machines'
PYTHONDONTWRITEBYTECODE=1 pytest never writes that cache, so each xdist worker parsed and
rewrote all ~450 test modules as it collected (17.5 s of CPU a collection, 6.6 s with the
cache). pytest reads the cache only for the bytes it was made from, and the assertions it
holds are rewritten as before."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.support import bytecode
from tests.support.command import REPO_ROOT
from tests.support.processes import run_command

#: Runs pytest on the folder named, then prints, as JSON, the modules that run compiled
#: (the "compile" audit event: pytest's rewrite compiles the tree it rewrote).
_COLLECTING = """\
import json, sys
import pytest
compiled = []
sys.addaudithook(lambda event, args: event == "compile" and str(args[1]).endswith(".py")
                 and compiled.append(str(args[1])))
code = pytest.main(["-p", "no:cacheprovider", "-q", sys.argv[1]])
print("COMPILED " + json.dumps(compiled))
"""

_A_TEST = """\
def test_sums():
    total = 1 + 1
    assert total == 3
"""


@pytest.fixture
def rewriting(pytestconfig: pytest.Config) -> pytest.Config:
    """This run's config, which rewrites assertions (not so under ``--assert=plain``,
    where pytest rewrites nothing and the run writes nothing: skipped)."""
    if pytestconfig.getoption("assertmode") != "rewrite":
        pytest.skip("--assert=plain: pytest rewrites nothing, and the run writes nothing")
    return pytestconfig


def _env() -> dict[str, str]:
    """This process's environment less README_* and PYTEST_*, and no plugin loaded from
    the venv's entry points (faker's, hypothesis', xdist's, timeout's: 1.7 s of CPU a
    start, of 1.9; pytest's own rewrite, what these tests read, is no plugin)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("README_", "PYTEST_"))}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return env


def _pytest_in(folder: Path) -> tuple[str, list[str]]:
    env = _env()
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # as on the project's machines
    done = run_command([sys.executable, "-c", _COLLECTING, str(folder)], cwd=folder, env=env,
                       capture_output=True, text=True, timeout=120)
    [line] = [line for line in done.stdout.splitlines() if line.startswith("COMPILED ")]
    compiled = json.loads(line[len("COMPILED "):])  # (pytest plugins' too: rewritten)
    return done.stdout, [name for name in compiled if Path(name).parent == folder]


def test_the_run_wrote_the_rewritten_pyc_of_every_test_module(
        rewriting: pytest.Config) -> None:
    """Before: none (pytest writes none under PYTHONDONTWRITEBYTECODE=1)."""
    from _pytest.assertion import rewrite

    modules = bytecode.rewritten_sources(rewriting, REPO_ROOT / "tests")
    assert len(modules) > 400
    assert REPO_ROOT / "tests" / "conftest.py" in modules
    assert Path(__file__) in modules
    missing = [str(source) for source in modules
               if rewrite._read_pyc(source, rewrite.get_cache_dir(source)
                                    / (source.name[:-3] + rewrite.PYC_TAIL)) is None]
    assert missing == []


def test_a_written_module_is_not_rewritten_again_and_its_asserts_still_explain(
        rewriting: pytest.Config, tmp_path: Path) -> None:
    module = tmp_path / "test_sums32.py"
    module.write_text(_A_TEST)
    output, compiled = _pytest_in(tmp_path)
    assert compiled == [str(module)]  # no cache: rewritten (and compiled) as it was imported
    assert "assert 2 == 3" in output  # pytest's rewritten assertion, its values
    assert bytecode.write_rewritten(rewriting, tmp_path) == 1
    assert bytecode.write_rewritten(rewriting, tmp_path) == 0  # current: not again
    output, compiled = _pytest_in(tmp_path)
    assert compiled == []
    assert "assert 2 == 3" in output and "1 failed" in output


def test_a_module_changed_after_its_pyc_is_rewritten_from_its_new_bytes(
        rewriting: pytest.Config, tmp_path: Path) -> None:
    """The same size and mtime as when it was written: the hash tells."""
    module = tmp_path / "test_sums32.py"
    module.write_text(_A_TEST)
    assert bytecode.write_rewritten(rewriting, tmp_path) == 1
    before = module.stat()
    module.write_text(_A_TEST.replace("== 3", "== 4"))
    os.utime(module, ns=(before.st_atime_ns, before.st_mtime_ns))
    output, compiled = _pytest_in(tmp_path)
    assert compiled == [str(module)]
    assert "assert 2 == 4" in output


def test_a_module_that_does_not_parse_or_a_folder_not_written_is_left(
        rewriting: pytest.Config, tmp_path: Path) -> None:
    (tmp_path / "test_broken32.py").write_text("def (:\n")
    (tmp_path / "test_sums32.py").write_text(_A_TEST)
    assert bytecode.write_rewritten(rewriting, tmp_path) == 1  # the broken one left
    other = tmp_path / "other"
    other.mkdir()
    (other / "test_sums32.py").write_text(_A_TEST)
    (other / "__pycache__").write_text("a file where the folder would be")
    assert bytecode.write_rewritten(rewriting, other) == 0


def test_under_plain_asserts_nothing_is_written(tmp_path: Path) -> None:
    (tmp_path / "test_sums32.py").write_text(_A_TEST)
    done = run_command(
        [sys.executable, "-c", "import sys, pytest; from tests.support import bytecode; "
         "config = pytest.Config.fromdictargs({'assertmode': 'plain'}, []); "
         "print(bytecode.write_rewritten(config, __import__('pathlib').Path(sys.argv[1])))",
         str(tmp_path)],
        cwd=REPO_ROOT, env=_env(), capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.split() == ["0"]
    assert not (tmp_path / "__pycache__").exists()
