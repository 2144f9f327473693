"""Findings of a newcomer's walk through README, in code another helper owns.

Each test fails on the code of today (strict xfail: once the owner fixes it, the XPASS
fails the suite, and the marker is to go). The messages are what a user reads after a
typo in ``README_GROUPING_FUNCTION``, README's Configuration promising "a clear error".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from readme_metrics import MetricsApiConfig


def _project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``newcomer_app/metrics.py`` holding ``grouping``, as README's Django quick start
    has ``myapp/metrics.py``; ``newcomer_app/__init__.py`` does not import it."""
    package = tmp_path / "newcomer_app"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "metrics.py").write_text("def grouping(request):\n    return None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("README_API_KEY", "README_GROUPING_FUNCTION"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.xfail(strict=True, reason="option_checks.grouping / _dotted.import_dotted "
                   "(specaudit, lead): the module path imports, the message says it cannot")
@pytest.mark.parametrize("given", ["argument", "environment"])
def test_a_path_naming_a_module_says_to_name_the_function_in_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str) -> None:
    # README_GROUPING_FUNCTION=myapp.metrics, the function's name forgotten: the message
    # was "cannot import 'myapp.metrics': module 'myapp' has no attribute 'metrics'",
    # while `import myapp.metrics` works.
    _project(tmp_path, monkeypatch)
    kwargs = {"api_key": "any-key"}
    if given == "argument":
        kwargs["grouping_function"] = "newcomer_app.metrics"
    else:
        monkeypatch.setenv("README_GROUPING_FUNCTION", "newcomer_app.metrics")
    with pytest.raises(ValueError) as caught:
        MetricsApiConfig(**kwargs)
    message = str(caught.value)
    assert "has no attribute" not in message, message
    assert "'newcomer_app.metrics' is a module" in message, message


@pytest.mark.xfail(strict=True, reason="option_checks.grouping (specaudit): a path to "
                   "something not callable is told 'is required'")
def test_a_path_to_something_not_callable_says_that_and_not_required(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The message was "grouping_function (README_GROUPING_FUNCTION) is required and must
    # be a callable or a 'module.attribute' path": it was given, and it is such a path.
    monkeypatch.delenv("README_GROUPING_FUNCTION", raising=False)
    with pytest.raises(ValueError) as caught:
        MetricsApiConfig(api_key="any-key", grouping_function="os.sep")
    message = str(caught.value)
    assert "is required" not in message, message
    assert "'os.sep'" in message and "not callable" in message, message
