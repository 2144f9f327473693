"""Said once: an app made in a pytest run sends its tests' calls to ReadMe's dashboard.

An app imported by its test suite makes its middleware as it does in production, and its
test client's calls are logged like any other: with the project's real key in the
developer's environment (or a ``.env``), every test run sent its calls to ReadMe's
dashboard beside the users', without a word (newcomer30). README says to set
``README_METRICS_ENABLED=false`` for tests; this says it where it is needed.

Said when the configuration is made, and only when all hold: pytest runs
(``PYTEST_VERSION``, set by pytest 8.2 and later for the whole run, or
``PYTEST_CURRENT_TEST``, set during each test), the logs go to ReadMe's own Metrics API,
they are not marked ``development``, and the key has the length and letters of a real
one (a test suite's dummy key, ``"test-key"``, reaches no dashboard). As a Python
warning only, once a process: pytest shows a passing test's log lines to no one, and its
warnings in its summary (a log line too, per configuration, was in the way of test
suites reading the library's lines in order). The key is not said.
"""

from __future__ import annotations

import os
import warnings
from typing import Any
from urllib.parse import urlsplit

__all__ = ["REAL_KEY_LENGTH", "UNDER_PYTEST", "warn_under_pytest"]

#: The shortest key taken for a real one: ReadMe's are about 70 characters long.
REAL_KEY_LENGTH = 32

UNDER_PYTEST = (
    "readme_metrics: this app is made in a pytest run with metrics on, your project's "
    "API key and ReadMe's Metrics API (https://metrics.readme.io): every call its tests "
    "make (a test client's too) is logged and sent to ReadMe as production traffic, "
    "shown in your dashboard beside your users'. Set README_METRICS_ENABLED=false in the "
    "tests' environment (pytest-env, or os.environ in conftest.py before the app is "
    "imported), or README_DEVELOPMENT_MODE=true to keep them, marked apart; said once")

#: ``_said[0]``: the Python warning was given in this process.
_said = [False]


def _key_shaped(key: str) -> bool:
    """Letters, digits, ``_`` and ``-`` only, as ReadMe's keys are (``rdme_...``): not a
    ``module.attribute`` path taken for the key, which another warning names."""
    return key.isascii() and key.replace("_", "").replace("-", "").isalnum()


def warn_under_pytest(config: Any) -> None:
    """Give the warning, once per process, as a Python warning at the line that made
    ``config`` (enabled, its options resolved) in a pytest run that would send the tests'
    calls to ReadMe's dashboard. Never raises."""
    try:
        key, api = config.api_key, config.metrics_api
        wanted = bool(
            (os.environ.get("PYTEST_VERSION") or os.environ.get("PYTEST_CURRENT_TEST"))
            and not config.development_mode and isinstance(key, str)
            and len(key) >= REAL_KEY_LENGTH and _key_shaped(key) and isinstance(api, str)
            and urlsplit(api).hostname == "metrics.readme.io")
    except Exception:  # noqa: BLE001 - an option of the app's own type: nothing said
        return
    if wanted and not _said[0]:
        _said[0] = True
        try:  # warn_under_pytest <- MetricsApiConfig.__init__ <- the app's line
            warnings.warn(UNDER_PYTEST, UserWarning, stacklevel=3)
        except Exception:  # noqa: BLE001 - filterwarnings = error: never raised into the app
            pass
