"""A newcomer's first hour (newcomer46): README followed from the top on a fresh clone.

Code written for the official 3.x package that imported one of its modules this version
removed (``readme_metrics.util``'s ``mask``, ``PayloadBuilder``, ...) stopped with a bare
``ModuleNotFoundError: No module named 'readme_metrics.util'``, as a broken install would:
nothing named docs/MIGRATING.md, which says they are gone. The Django quick start's
``runserver``, stopped with Ctrl-C a second after a call, printed two warnings ("1 log not
delivered yet; ... lost with it unless the close sends them first", "closing: 1 log to
send within 0.15s ...") while the log reached the collector, and no line said so. The
demo kept its own arguments' override warning unsaid by filtering log records on the
warning's words.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import pytest
import requests

from tests.support.fake_api import Collector
from tests.support.polling import wait_until
from tests.support.processes import run_command
from tests.support.runserver import children, held_env, runserver, serving
from tests.test_delivery74_runserver_ctrl_c import DOCS, SETTINGS, URLS

ROOT = Path(__file__).resolve().parents[1]

#: The official package's modules that MIGRATING.md says are gone.
REMOVED = ("Metrics", "PayloadBuilder", "publisher", "util", "GetProjectBaseUrl",
           "ResponseInfoWrapper")

#: Every way code written for the official package imports one of them.
_IMPORTS = (
    "import readme_metrics.{name}",
    "from readme_metrics import {name}",
    "from readme_metrics.{name} import something",
)

_PROBE = """
import json, sys
results = []
for line in sys.argv[1:]:
    try:
        exec(line, {})
    except ModuleNotFoundError as exc:
        results.append([line, str(exc), exc.name])
    except BaseException as exc:
        results.append([line, type(exc).__name__ + ": " + str(exc), None])
    else:
        results.append([line, "", None])
print(json.dumps(results))
"""


def _probe(lines: list[str]) -> list[list[str]]:
    """Each import line run in a fresh interpreter: (line, error, the error's name)."""
    done = run_command([sys.executable, "-c", _PROBE, *lines], cwd=str(ROOT),
                       capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_each_removed_module_says_it_is_gone_and_where_to_read_why() -> None:
    """Each way to import each removed module raises ModuleNotFoundError naming the module,
    the official package and MIGRATING.md (failed before: 18 of 18, "No module named
    'readme_metrics.util'" or "cannot import name 'util' from 'readme_metrics'")."""
    expected = {form.format(name=name): f"readme_metrics.{name}"
                for name in REMOVED for form in _IMPORTS}
    for line, error, name in _probe(list(expected)):
        module = expected[line]
        assert error, f"{line} raised nothing"
        assert "docs/MIGRATING.md" in error, (line, error)
        assert f"{module} was a module of the official readme-metrics 3.x package" in (
            error), (line, error)
        # None, not the module's name: Python's `from package import name` drops a
        # ModuleNotFoundError named as the module it looked for (the clear words lost).
        assert name is None, (line, name)


def test_the_package_read_for_a_removed_module_is_a_missing_attribute() -> None:
    """``hasattr(readme_metrics, "util")`` is False and ``getattr(..., None)`` None, as for
    any missing attribute; the attribute read says where it went (failed before 1 of 1:
    the package's __getattr__ raised a ModuleNotFoundError, which hasattr lets through)."""
    lines = ["import readme_metrics; assert not hasattr(readme_metrics, 'util')",
             "import readme_metrics; assert getattr(readme_metrics, 'Metrics', None) is None",
             "import readme_metrics; readme_metrics.PayloadBuilder"]
    results = _probe(lines)
    assert [error for _line, error, _name in results[:2]] == ["", ""], results
    assert results[2][1].startswith("RemovedAttributeError: readme_metrics.PayloadBuilder was"), (
        results[2])
    assert "docs/MIGRATING.md" in results[2][1]


def test_the_official_paths_that_stay_still_import_and_other_names_fail_as_usual() -> None:
    """SPEC section 2's paths keep working; a name the official package never had fails
    as Python says it, with no word of MIGRATING.md (passed before too: the guard)."""
    kept = [
        "from readme_metrics import MetricsApiConfig, MetricsMiddleware",
        "from readme_metrics.MetricsApiConfig import MetricsApiConfig",
        "from readme_metrics.MetricsMiddleware import MetricsMiddleware",
        "from readme_metrics.VerifyWebhook import VerifyWebhook",
        "from readme_metrics.flask_readme import ReadMeMetrics",
        "from readme_metrics.fastapi import ReadMeMetricsMiddleware",
        "import readme_metrics.django",
        "import readme_metrics, sys; assert not hasattr(readme_metrics, 'no_such_thing')",
    ]
    for line, error, _name in _probe(kept):
        assert error == "", (line, error)
    other = ["import readme_metrics.no_such_module", "from readme_metrics import nothing"]
    for line, error, _name in _probe(other):
        assert error and "MIGRATING" not in error, (line, error)


def test_the_modules_that_raise_are_those_migrating_names() -> None:
    """The library's list of removed modules is MIGRATING.md's, each named there."""
    from readme_metrics.removed import REMOVED as LISTED

    assert sorted(LISTED) == sorted(REMOVED)
    text = (ROOT / "docs/MIGRATING.md").read_text(encoding="utf-8")
    assert [name for name in REMOVED if f"`{name}`" not in text] == []


_DEMO_THEN_APP = """
import logging, sys
from types import SimpleNamespace
from readme_metrics import MetricsApiConfig
from readme_metrics.cli import demo

logging.basicConfig(stream=sys.stdout, format="%(message)s")
demo_middleware = demo._wrap(SimpleNamespace(url="http://127.0.0.1:9"))
demo_middleware.close()
print("-- the app's config")
MetricsApiConfig(api_key="the-apps-own-key", grouping_function=lambda request: None)
"""


def test_the_demos_arguments_leave_an_apps_override_warning_said(tmp_path: Path) -> None:
    """The demo's config leaves its override warning unsaid without taking it from an
    app's config made after it in the same process (failed before: the demo's filter
    dropped the record after the once-per-process limiter had counted it said, so the
    app's own "api_key is passed to MetricsApiConfig, and README_API_KEY ..." never
    showed)."""
    env = {"README_API_KEY": "the-shells-key", "PATH": "/usr/bin:/bin"}
    done = run_command([sys.executable, "-c", _DEMO_THEN_APP], cwd=str(tmp_path),
                       env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True,
                       text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    demo_part, _, app_part = done.stdout.partition("-- the app's config")
    assert "api_key is passed to MetricsApiConfig" not in demo_part, demo_part
    assert "api_key is passed to MetricsApiConfig, and README_API_KEY" in app_part, (
        done.stdout)


@pytest.mark.e2e
def test_runservers_ctrl_c_after_a_call_says_nothing_once_the_log_is_delivered(
        collector: Collector, tmp_path: Path) -> None:
    """The Django quick start under runserver's autoreloader: one call, its log queued
    (flush_interval 600 s), then Ctrl-C in runserver's child (the child alone, so that the
    autoreloader's SIGKILL does not race the test on a loaded machine). The log reaches
    the API (answering at once) and the child says nothing; or, where the machine was too
    slow to deliver it within the Ctrl-C's short wait, says so and then that it was
    delivered. Never the close's "1 log to send within 0.15s" (failed before: "1 log not
    delivered yet; Ctrl-C: the SIGKILL of Django's autoreloader ..." and "closing: 1 log
    to send within 0.15s ...", with the log delivered and no line saying so)."""
    (tmp_path / "d74_settings.py").write_text(SETTINGS)
    (tmp_path / "d74_urls.py").write_text(URLS)
    env = held_env(collector, tmp_path, "4", DJANGO_SETTINGS_MODULE="d74_settings",
                   README_BASE_LOG_URL=DOCS,
                   README_GROUPING_FUNCTION="tests.support.e2e_apps.django_grouping")
    with serving(runserver(), env, tmp_path, "runserver.log") as server:
        child = children(server.process.pid)
        assert len(child) == 1, child
        server.call(["owlbert"])
        wait_until(lambda: requests.get(f"{server.url}/queued/nolog", timeout=30).text
                   == "1 True", timeout=60)
        assert not collector.logs  # (the log waits for the Ctrl-C)
        os.kill(child[0], signal.SIGINT)
        server.process.wait(60)
        said = server.said()
    lines = [line for line in said.splitlines() if "readme_metrics" in line]
    assert len(collector.logs) == 1, said
    assert lines in ([], [
        "readme_metrics: 1 log not delivered yet; Ctrl-C: the SIGKILL of Django's "
        "autoreloader, 0.25s after Ctrl-C ends this process (runserver's child) then, and "
        "they are lost with it unless the close sends them first (run runserver with "
        "--noreload to give the close its whole time; calls runserver answers from now "
        "on have no log)",
        "readme_metrics: closing: every log delivered, the 1 log not delivered yet at "
        "Ctrl-C too"]), said
