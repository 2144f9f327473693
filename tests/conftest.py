from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from readme_metrics import _env
from tests.utils import Collector


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory) -> None:
    """No README_* variable or stray .env from the machine leaks into a test."""
    for name in list(os.environ):
        if name.startswith("README_") or name in ("CORS_ALLOWED", "REQUEST_ID_HEADER",
                                                    "LOG_TOKENS"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    # The .env file is read once per process: each test starts as a fresh process would.
    _env.reset()


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector().start()
    try:
        yield server
    finally:
        server.stop()
