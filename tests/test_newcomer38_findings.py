"""A newcomer's first hour (newcomer38): the install that says nothing for minutes, and
what README's first steps showed that was not what happened."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.support.command import REPO_ROOT
from tests.support.processes import run_command

# -- 1. .ci/run's quiet steps each say what they do and how long they take ---------------

# Stand-ins for the programs .ci/run calls, each writing what it was asked to the
# transcript that the script's own output goes to, so their order can be read.
_STEP = '#!/bin/sh\necho "STEP $(basename "$0") $*" >>"$TRANSCRIPT"\n'
_APT_GET = _STEP + """\
case "$*" in  # Debian's apache2-dev brings apxs, which the mod_wsgi step looks for
  *apache2-dev*) cp "$0" "$(dirname "$0")/apxs" ;;
esac
"""
_PYTHON3 = _STEP + """\
case "$*" in
  "-m venv .venv")
    mkdir -p .venv/bin
    for tool in pip python; do
      printf '#!/bin/sh\\necho "STEP %s $*" >>"$TRANSCRIPT"\\n' "$tool" >.venv/bin/$tool
      chmod +x .venv/bin/$tool
    done ;;
  *base_prefix*) echo /usr ;;
esac
"""


def _run_ci(tmp_path: Path) -> list[str]:
    """.ci/run on a machine with neither chromium nor apxs, apt-get there: every step."""
    repo, tools = tmp_path / "repo", tmp_path / "bin"
    (repo / ".ci").mkdir(parents=True)
    tools.mkdir()
    shutil.copy(REPO_ROOT / ".ci" / "run", repo / ".ci" / "run")
    for name, text in (("apt-get", _APT_GET), ("python3", _PYTHON3), ("setfacl", _STEP)):
        (tools / name).write_text(text)
        (tools / name).chmod(stat.S_IRWXU)
    for name in ("dirname", "basename", "mkdir", "chmod", "cp"):  # the script's and stand-ins'
        os.symlink(shutil.which(name) or f"/usr/bin/{name}", tools / name)
    transcript = tmp_path / "transcript"
    with open(transcript, "ab") as out:
        run_command([shutil.which("bash") or "/bin/bash", str(repo / ".ci" / "run")],
                       env={"PATH": str(tools), "TRANSCRIPT": str(transcript),
                            "READMEMETRICS_CI_LOGS": str(tmp_path)},
                       stdout=out, stderr=subprocess.STDOUT, check=True, timeout=60)
    return transcript.read_text().splitlines()


@pytest.mark.parametrize("step, named", [
    ("STEP apt-get install -y -qq chromium", "chromium"),
    ("STEP apt-get install -y -qq apache2 apache2-dev acl", "apache2"),
    ("STEP pip install -q mod_wsgi", "mod_wsgi"),
    ("STEP pip install -q -e .[test]", "test extra"),
])
def test_each_quiet_step_of_ci_run_is_announced_with_its_time(
        step: str, named: str, tmp_path: Path) -> None:
    """apt-get -qq and pip -q print nothing for minutes (the test extra took 5 min 17 s
    from a fresh clone on a loaded machine): .ci/run's output stood still after the
    clone with no word of what it waited for."""
    lines = _run_ci(tmp_path)
    assert step in lines, lines
    said = [line for line in lines[:lines.index(step)] if line.startswith("ci/run: ")]
    assert said, f"nothing printed before {step!r}: {lines}"
    assert named in said[-1], (step, said[-1])
    assert re.search(r"\d+ (s|minutes?)\b", said[-1]), said[-1]
    assert lines[-1] == "STEP python -m pytest"


# -- 2. the "no key yet?" line of the key errors, followed as written ----------------------

@pytest.mark.e2e
def test_the_no_key_yet_hint_followed_as_written_links_each_answer_to_its_call(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """README's WSGI quick start run with no key (or its placeholder) stops with "no key
    yet? any key works against the local collector: `readme-metrics collect`, then
    README_API_KEY=any-key README_METRICS_SERVER=http://127.0.0.1:8001". Run so, the calls
    reached the collector, but no answer ever had the x-documentation-url that README's
    "See it locally" shows: the hint left out README_API_URL, which collect prints."""
    from readme_metrics import MetricsApiConfig
    from tests.support.command import CommandProcess, app_environment
    from tests.support.fake_api import free_port
    from tests.test_newcomer25_findings import first_documentation_url
    from tests.test_readme import _start_app, _wsgi

    for name in [name for name in os.environ if name.upper().startswith("README_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no .env file
    with pytest.raises(ValueError) as refused:
        MetricsApiConfig(grouping_function=lambda request: None)
    hint = str(refused.value).split("no key yet?", 1)[1]
    told = dict(re.findall(r"(README_\w+)=(\S+)", hint.split(" then ", 1)[1]))
    assert told["README_API_KEY"] == "any-key", hint
    with CommandProcess("collect", "--port", "0", cwd=tmp_path) as collect:
        url = collect.wait_for(r"listening on (http://\S+)").group(1)
        told = {name: value.replace("http://127.0.0.1:8001", url) for name, value in told.items()}
        environment = {k: v for k, v in app_environment(url, tmp_path).items()
                       if not k.startswith("README_")}
        port = free_port()
        proc = _start_app(_wsgi(tmp_path, port), tmp_path, {**environment, **told}, port,
                          tmp_path / "app-output.txt")
        try:
            assert first_documentation_url(port).startswith(f"{url}/logs/")
        finally:
            proc.terminate()
            proc.wait(20)
