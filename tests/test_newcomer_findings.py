"""Findings of a newcomer's walk through README, in code another helper owns.

Each test fails on the code of today (strict xfail: once the owner fixes it, the XPASS
fails the suite, and the marker is to go). The messages are what a user reads after a
typo in ``README_GROUPING_FUNCTION``, README's Configuration promising "a clear error";
the body is README's WSGI quick start's, under gunicorn.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from readme_metrics import MetricsApiConfig
from tests.support.fake_api import Collector
from tests.support.unread_gunicorn import READS_UNREAD, unread_body_under_gunicorn


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



@READS_UNREAD
@pytest.mark.e2e
@pytest.mark.parametrize("worker", ["sync", "gthread"])
def test_an_unread_body_sent_whole_is_recorded_whole_under_gunicorn(
        tmp_path: Path, collector: Collector, worker: str) -> None:
    # 260,000 bytes (under max_body_bytes, 262144), all sent at once by the client, were
    # logged as "incomplete: 127856 of 260000 bytes could be read without waiting" (SPEC
    # 5: a body the app leaves unread is recorded up to max_body_bytes; the client made
    # nothing wait). If fixed, README's sentence on it (test_readme) is to go too.
    post = unread_body_under_gunicorn(tmp_path, collector, worker, 260_000)
    assert "comment" not in post, post.get("comment")
    assert len(post["text"]) == 260_000
