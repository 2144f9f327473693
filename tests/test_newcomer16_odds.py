"""newcomer16's small first-hour items (odds3, 2026-12-04): each test failed on main at
4fad7ec and passes with its fix."""

from __future__ import annotations

import importlib
import inspect
import json
import logging
import typing
from pathlib import Path

import pytest

import readme_metrics
from readme_metrics import MetricsApiConfig
from tests.test_newcomer12_findings import one_get

# -- 3. more guessed names for the Metrics API's (the collector's) address ----------------


# The collector's names (README_COLLECTOR_URL, ...) are rows of
# test_odds8_findings.test_a_guessed_name_for_the_metrics_address_names_the_variable.


@pytest.mark.parametrize("name", ["README_URL", "README_HOST", "METRICS_SERVER",
                                  "METRICS_URL", "METRICS_HOST"])
def test_a_name_that_may_be_the_apps_own_is_not_warned_about(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """README_URL (a link to the project's README) and METRICS_SERVER (a Prometheus or
    StatsD setup's) are plausibly another program's: no warning at every start."""
    monkeypatch.setenv(name, "http://127.0.0.1:8001")
    logger = logging.getLogger(f"newcomer16-odds-other-{name}")
    caplog.set_level(logging.WARNING)
    MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None,
                     logger=logger)
    assert [r.getMessage() for r in caplog.records
            if r.name == logger.name and name in r.getMessage()] == []


# -- 2. typing.get_type_hints on our public classes (Litestar's app discovery) -------------

_PUBLIC_MODULES = sorted(
    path.stem for path in Path(readme_metrics.__file__).parent.glob("*.py")
    if not path.stem.startswith("_"))


def _public_classes() -> list[tuple[str, str, type]]:
    found = []
    for name in _PUBLIC_MODULES:
        try:
            module = importlib.import_module(f"readme_metrics.{name}")
        except ImportError:  # a framework's adapter without the framework
            continue
        for attribute in getattr(module, "__all__", ()):
            value = getattr(module, attribute)
            if inspect.isclass(value):
                found.append((name, attribute, value))
    return found


def test_every_public_class_has_annotations_that_resolve_at_run_time() -> None:
    """A framework's introspection (``litestar run`` calls ``typing.get_type_hints`` on
    every callable of the app's module; others read ``__init__``'s or ``__call__``'s):
    the WSGI middleware's ``__init__`` named ``WSGIApplication``, imported only for type
    checkers, and get_type_hints stopped with ``NameError: name 'WSGIApplication' is not
    defined`` (Flask's adapter with 'Flask', the CORS and request-id companions with
    'WSGIEnvironment')."""
    failed = []
    classes = _public_classes()
    assert {cls.__qualname__ for _, _, cls in classes} >= {
        "MetricsMiddleware", "ReadMeMetrics", "FlaskMetricsMiddleware", "CORSMiddleware",
        "RequestIdMiddleware", "MetricsApiConfig", "ReadMeMetricsMiddleware"}
    for module, name, cls in classes:
        # what a framework reads: the class, and the signatures it is made and called with
        targets = [cls] + [member for member_name, member in vars(cls).items()
                           if member_name in ("__init__", "__call__")
                           and inspect.isfunction(member)]
        for target in targets:
            try:
                typing.get_type_hints(target, include_extras=True)
            except Exception as exc:  # noqa: BLE001 - every failure listed
                failed.append(f"{module}.{name} {target.__name__}: {exc!r}")
    assert failed == []



# -- 5. collect continuing a HAR file with no version or creator ----------------------------


def test_continuing_a_bare_har_file_writes_version_and_creator(tmp_path: Path) -> None:
    """``readme-metrics collect --har`` continuing ``{"log": {"entries": []}}`` (no
    version, no creator, both required by HAR 1.2) writes both, keeping the entries.
    Not a defect (passed on main at 4fad7ec): pinned, as newcomer16 asked."""
    from readme_metrics.cli.collector.har_file import HarFile

    path = tmp_path / "bare.har"
    path.write_text('{"log": {"entries": [{"comment": "before"}]}}')
    HarFile(path, fresh=False).append([{"comment": "after"}])
    log = json.loads(path.read_text())["log"]
    assert log["version"] == "1.2"
    assert log["creator"]["name"] == "readme-metrics collect"
    assert isinstance(log["creator"]["version"], str)
    assert [entry["comment"] for entry in log["entries"]] == ["before", "after"]


# -- 4. Starlette: the error without config=, and readme_metrics.starlette ------------------


def test_the_error_without_config_names_starlettes_middleware_list_too(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """``Starlette(middleware=[Middleware(ReadMeMetricsMiddleware)])`` with a wrong
    variable was told "pass config=MetricsApiConfig() to add_middleware", a call its
    author never makes: the error names the list form too."""
    starlette = pytest.importorskip("starlette.applications")
    from starlette.middleware import Middleware

    from readme_metrics.starlette import ReadMeMetricsMiddleware

    monkeypatch.setenv("README_GROUPING_FUNCTION", "newcomer16_odds_no_such_module.group")
    monkeypatch.setenv("README_API_KEY", "any-key")
    app = starlette.Starlette(middleware=[Middleware(ReadMeMetricsMiddleware)])
    caplog.set_level(logging.ERROR, logger="readme_metrics")

    with pytest.raises(ValueError, match="newcomer16_odds_no_such_module"):
        one_get(app)
    said = [r.getMessage() for r in caplog.records
            if "newcomer16_odds_no_such_module" in r.getMessage()]
    assert len(said) == 1, said
    assert said[0].endswith(
        "correct the value, or give it config=MetricsApiConfig(), which fails at start-up "
        "instead: app.add_middleware(ReadMeMetricsMiddleware, config=...) or "
        "Middleware(ReadMeMetricsMiddleware, config=...) in middleware=[...]"), said[0]


def test_readme_metrics_starlette_is_the_fastapi_modules_class() -> None:
    pytest.importorskip("starlette")
    from readme_metrics.fastapi import ReadMeMetricsMiddleware
    from readme_metrics.starlette import ReadMeMetricsMiddleware as from_starlette

    assert from_starlette is ReadMeMetricsMiddleware
