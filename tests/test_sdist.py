"""The source distribution stands alone (issue 12): it builds a wheel, ships every file the
tests, README and package need, and its own tests pass from the unpacked archive.

The build runs in this environment (``build --no-isolation``; ``build``, ``setuptools``
and ``wheel`` are in the ``test`` extra), on a copy of the source tree so that the
checkout gets no ``build/`` or egg-info from it.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tarfile
import zipfile
from fnmatch import fnmatch
from pathlib import Path

import pytest

from tests.support.command import REPO_ROOT
from tests.support.processes import run_command

# The modules run from the unpacked archive (each imports from what it ships): those
# reading shipped data at run time (the HAR schema, the golden logs; README, docs,
# setup.py and the package's sources) and one adapter's. That every file the tests use is
# shipped is shown above, by listing (every file git tracks, in the sdist): cheaper than
# collecting all ~470 modules from it (5.7 s of CPU) or running more of them (suite35:
# test_config, test_django and test_middleware_bodies ran here too, the run 20 s of CPU,
# 43 s alone on a quiet machine). The rest runs in the main suite only, and so do the
# subset's property tests and whole-source scans (SKIPPED; suite42): what they read is
# shipped (the listing) and read by the tests run here too (this file's CPU, -n 0 at a
# load of ~20: 16.0 s -> 11.4 s).
SUBSET = ["test_har_validity.py", "test_golden_logs.py", "test_package.py", "test_flask.py"]
SKIPPED = ["test_any_input_gives_a_valid_log", "test_any_multipart_gives_a_valid_log",
           "test_no_private_attribute_of_another_modules_class_is_read",
           "test_no_private_name_crosses_a_module_boundary", "test_every_docstring_is_utf_8"]
# What git tracks but a distribution leaves out.
NOT_SHIPPED = {".gitignore"}
# What a checkout holds but a distribution must not (the .gitignore entries, and .git).
JUNK_PATTERNS = (".git", ".venv", ".tox", "build", "dist", "*.egg-info", "__pycache__",
                 "*.pyc", ".*_cache", ".hypothesis", "*.har", ".env")
JUNK = shutil.ignore_patterns(*JUNK_PATTERNS)


def source_files(folder: str, suffixes: tuple[str, ...] = ()) -> list[str]:
    """Files under ``folder`` of the checkout (junk aside), relative to the repo root."""
    found = []
    for path in sorted((REPO_ROOT / folder).rglob("*")):
        parts = path.relative_to(REPO_ROOT).parts
        junk = any(fnmatch(part, pattern) for part in parts for pattern in JUNK_PATTERNS)
        if path.is_file() and not junk and (not suffixes or path.suffix in suffixes):
            found.append("/".join(parts))
    return found


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """(sdist, wheel, build output): the sdist first, then the wheel built from it."""
    base = tmp_path_factory.mktemp("build")
    source = base / "source"
    shutil.copytree(REPO_ROOT, source, ignore=JUNK)
    result = run_command(
        [sys.executable, "-m", "build", "--no-isolation", "-o", str(base / "dist"),
         str(source)],
        capture_output=True, text=True, timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    (sdist,) = (base / "dist").glob("*.tar.gz")
    (wheel,) = (base / "dist").glob("*.whl")
    return sdist, wheel, output


@pytest.mark.e2e
def test_the_build_does_not_warn_about_packages(built: tuple[Path, Path, str]) -> None:
    """A data folder such as dashboard/ is part of the packages, not a stray directory."""
    output = built[2]
    for warning in ("absent from the `packages` configuration", "would be ignored"):
        assert warning not in output, output


@pytest.mark.e2e
def test_the_sdist_and_wheel_ship_every_file(built: tuple[Path, Path, str]) -> None:
    sdist, wheel, _ = built
    from readme_metrics.version import __version__

    with tarfile.open(sdist) as archive:
        prefix = f"readme_metrics-{__version__}/"
        shipped = {name[len(prefix):] for name in archive.getnames()}
    wanted = (source_files("readme_metrics") + source_files("tests", (".py", ".json"))
              + source_files("examples") + source_files("docs")
              + ["README.md", "CHANGELOG.md", "LICENSE", "tox.ini", ".ci/run"])
    assert {"tests/__init__.py", "tests/conftest.py", "tests/har-1.2.schema.json",
            "docs/ARCHITECTURE.md", "readme_metrics/dashboard/index.html"} <= set(wanted)
    missing = [name for name in wanted if name not in shipped]
    assert not missing, f"the sdist lacks {missing}"
    # Every file the checkout's git tracks (and has), whatever its folder and suffix: what
    # any test reads or imports from the checkout is in the archive.
    tracked = run_command(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True,
                          timeout=60, check=True).stdout.decode().split("\0")
    tracked = [name for name in tracked if name and (REPO_ROOT / name).is_file()]
    assert len(tracked) > 900 and "tests/conftest.py" in tracked, len(tracked)
    missing = [name for name in tracked if name not in shipped and name not in NOT_SHIPPED]
    assert not missing, f"the sdist lacks tracked files {missing}"
    with zipfile.ZipFile(wheel) as archive:
        in_wheel = set(archive.namelist())
    missing = [name for name in source_files("readme_metrics") if name not in in_wheel]
    assert not missing, f"the wheel lacks {missing}"
    assert not [name for name in in_wheel if name.startswith(("tests/", "examples/"))]


@pytest.mark.e2e
# The inner run's own bound, 900 s (230 s seen beside the suite at a load of 14), and the
# sdist's build: not the suite's 300 s default.
@pytest.mark.timeout(1260)
def test_the_tests_pass_from_the_unpacked_sdist(built: tuple[Path, Path, str],
                                                tmp_path: Path) -> None:
    with tarfile.open(built[0]) as archive:
        # The "data" filter where this Python has it (3.12, and 3.9.17+ / 3.10.12+ /
        # 3.11.4+): 3.14 makes it the default and 3.13 warns without it.
        options = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        archive.extractall(tmp_path, **options)  # noqa: S202 - our own archive, just built
    (unpacked,) = tmp_path.iterdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("README_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    where = run_command(
        [sys.executable, "-c", "import readme_metrics, tests; "
         "print(readme_metrics.__file__); print(tests.__file__)"],
        cwd=unpacked, env=env, capture_output=True, text=True, timeout=60, check=True,
    ).stdout.split()
    assert all(Path(path).is_relative_to(unpacked) for path in where), where

    # One run of SUBSET's modules, named as files: only they are collected (that every
    # other module's files are shipped is the listing's proof, above). In this process
    # (-n 0): the outer suite's workers are busy. Plain asserts (--assert=plain): they
    # pass and fail as rewritten ones do, without rewriting each module first. A failure
    # here, rerun in the outer suite, shows the values.
    result = run_command(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "-n", "0",
         "--assert=plain", "-k", " and ".join(f"not {name}" for name in SKIPPED),
         *(f"tests/{name}" for name in SUBSET)],
        # A bound for a hang only (the run of 7 modules, every module collected: 230 s
        # beside the suite at a load of 14).
        cwd=unpacked, env=env, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    summary = (result.stdout.strip().splitlines() or [""])[-1]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary
    counts = {word: int(number) for number, word in re.findall(r"(\d+) (\w+)", summary)}
    assert counts["passed"] >= 80 and counts["deselected"] == len(SKIPPED), summary
    # -rA: a PASSED line per test; each module of the subset ran, and no other.
    ran = {line.split()[1].split("::")[0] for line in result.stdout.splitlines()
           if line.startswith("PASSED tests/")}
    assert ran == {f"tests/{name}" for name in SUBSET}, ran
