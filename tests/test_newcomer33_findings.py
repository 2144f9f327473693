"""newcomer33's first hour on main at fc18d6b1 (2026-12-06): README followed in order from
a fresh clone and a fresh venv (the demo, the test command as far as it starts, the
quick starts, ``readme-metrics collect`` and its help), then the usual mistakes. Each
test named "said" failed there and passes with its fix; the others pin what stays.

1. A wrong key passed in code (``MetricsApiConfig(api_key="...")``, Django's settings.py
   as the README writes it), README_API_KEY set nowhere: ReadMe's 401 (here the
   collector's, started with ``--api-key``) said "the api_key (README_API_KEY) is wrong or
   revoked", and so did the documentation-URL lookup's warning: the newcomer looked for a
   variable that was never set. Now both name the argument; a key read from a ``.env``
   file names that file; a key exported in the shell is said as before. Never the key.
   The collector's own refusal line (``collect --api-key``) names the argument too.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import pytest

from tests.support.command import CommandProcess, app_environment
from tests.support.processes import run_command

APP = (
    "import logging, os\n"
    "logging.basicConfig(level=logging.WARNING, format='%(message)s')\n"
    "from readme_metrics import MetricsApiConfig, MetricsMiddleware\n"
    "def hello(environ, start_response):\n"
    "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
    "    return [b'hello']\n"
    "kw = {'api_key': os.environ['PASSED_KEY']} if 'PASSED_KEY' in os.environ else {}\n"
    "app = MetricsMiddleware(hello, MetricsApiConfig(buffer_length=1,\n"
    "    grouping_function=lambda request: {'api_key': 'caller-key'}, **kw))\n"
    "from webob import Request\n"
    "Request.blank('/').get_response(app)\n"
    "app.flush(10)\n"
    "print('dropped_auth', app.stats['dropped_auth'], flush=True)\n"
)


def _refused(tmp_path: Path, passed: Optional[str], exported: Optional[str],
             dotenv: Optional[str]) -> tuple[list[str], str]:
    """Run APP against ``collect --api-key right-key-0001`` with the key ``passed`` in code,
    ``exported`` in the shell, or written in a ``.env`` file; the lines that name the key
    as refused (the POST's error, the lookup's warning), and the whole output."""
    with CommandProcess("collect", "--port", "0", "--api-key", "right-key-0001", "--har",
                        str(tmp_path / "logs.har"), cwd=tmp_path) as proc:
        url = proc.wait_for(r"listening on (http://\S+)").group(1)
        (tmp_path / "app.py").write_text(APP)
        env = app_environment(url, tmp_path, README_API_URL=url)
        del env["README_API_KEY"]
        if passed is not None:
            env["PASSED_KEY"] = passed
        if exported is not None:
            env["README_API_KEY"] = exported
        if dotenv is not None:
            (tmp_path / ".env").write_text(f"README_API_KEY={dotenv}\n")
        done = run_command([sys.executable, "app.py"], cwd=tmp_path, env=env,
                           capture_output=True, text=True)
        collected = proc.stderr  # the collector's: its refusals
    output = done.stdout + done.stderr
    assert "dropped_auth 1" in done.stdout, output  # the collector refused the key
    assert "wrong-key" not in output, output  # never the key itself
    lines = [line for line in done.stderr.splitlines() if "is wrong or revoked" in line]
    return lines, output + collected


def _said(lines: list[str], output: str, wording: str) -> None:
    """The POST's error says ``wording``; so does the lookup's warning, when it came before
    the app's exit (its thread is not waited for)."""
    post = [line for line in lines if "refused the API key (HTTP 401" in line]
    assert len(post) == 1, output
    assert len(lines) <= 2, output
    for line in lines:
        assert wording in line.lower(), output


@pytest.mark.e2e
def test_a_wrong_key_passed_in_code_is_said_as_the_argument(tmp_path: Path) -> None:
    lines, output = _refused(tmp_path, passed="wrong-key-0002", exported=None, dotenv=None)
    _said(lines, output,
          "the api_key passed to metricsapiconfig(api_key=...), not readme_api_key, is wrong")
    assert "(README_API_KEY)" not in "\n".join(lines), output  # the variable, set nowhere
    # The collector's own line named only README_API_KEY too.
    (refused,) = [line for line in output.splitlines() if "refused POST /v1/request" in line]
    assert "README_API_KEY, or an api_key= passed in its code" in refused, output


@pytest.mark.e2e
def test_a_wrong_key_in_a_dotenv_file_is_said_with_the_file(tmp_path: Path) -> None:
    lines, output = _refused(tmp_path, passed=None, exported=None, dotenv="wrong-key-0003")
    _said(lines, output, f"(readme_api_key, from {tmp_path / '.env'}) is wrong".lower())


@pytest.mark.e2e
def test_a_wrong_key_exported_is_said_as_before(tmp_path: Path) -> None:
    lines, output = _refused(tmp_path, passed=None, exported="wrong-key-0004", dotenv=None)
    _said(lines, output, "the api_key (readme_api_key) is wrong")


@pytest.mark.parametrize("passed, said", [
    (True, "The api_key passed to MetricsApiConfig(api_key=...), not README_API_KEY, is wrong"),
    (False, "The api_key (README_API_KEY) is wrong"),
])
def test_the_lookup_refused_names_the_key_as_the_post_does(
        monkeypatch: pytest.MonkeyPatch, passed: bool, said: str) -> None:
    from readme_metrics import MetricsApiConfig
    from readme_metrics.docs_url import _key_refused

    monkeypatch.setenv("README_API_KEY", "exported-key-0007")
    config = MetricsApiConfig(grouping_function=lambda r: None,
                              **({"api_key": "passed-key-0008"} if passed else {}))
    assert _key_refused(config).startswith(said)


def test_the_key_set_on_the_config_later_is_said_so() -> None:
    from readme_metrics import MetricsApiConfig

    config = MetricsApiConfig(api_key="first-key-0005", grouping_function=lambda r: None)
    assert config.api_key_said == ("the api_key passed to MetricsApiConfig(api_key=...), "
                                   "not README_API_KEY,")
    config.api_key = "second-key-0006"
    assert config.api_key_said == "the api_key set on the MetricsApiConfig"
