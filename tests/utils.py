"""The old name of ``tests.support`` (a re-export while tests move to the new modules).

Import from ``tests.support.<module>`` in new code; this shim goes once nothing uses it.
"""

from tests.support.command import REPO_ROOT, CommandProcess
from tests.support.fake_api import Collector, Received, Reply, basic_auth, free_port
from tests.support.har_check import assert_valid_log, har_validator
from tests.support.har_file import har_file_logs
from tests.support.lint import validated_inside_lint
from tests.support.logs import assert_api_key_not_logged
from tests.support.strategies import ScriptedApp, ScriptedError, scripted_apps
from tests.support.wsgi import ThreadedWSGIServer, WSGIResult, run_wsgi, wsgi_environ

__all__ = [
    "REPO_ROOT", "Collector", "CommandProcess", "Received", "Reply", "ScriptedApp",
    "ScriptedError", "ThreadedWSGIServer", "WSGIResult", "assert_api_key_not_logged",
    "assert_valid_log", "basic_auth", "free_port", "har_file_logs", "har_validator",
    "run_wsgi", "scripted_apps", "validated_inside_lint", "wsgi_environ",
]
