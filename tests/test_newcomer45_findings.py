"""A newcomer's first hour (newcomer45): README followed from the top on a fresh clone.

`readme-metrics demo`, run again in the shell where "See it locally" had the collector's
export line run (README_API_KEY=any-key, README_METRICS_SERVER and README_API_URL set),
opened with two warnings written for an app's own code: "api_key is passed to
MetricsApiConfig, and README_API_KEY, set in the environment, holds another value ...
Leave api_key= out to use README_API_KEY" (and the same of metrics_api): the demo passes
every option over the variables on purpose, and the code they asked to edit is the
library's. In that same shell (README_API_KEY set), the Django quick start's
`manage.py startapp myapp` run without the README_METRICS_ENABLED=false it is written with
stopped with "cannot import 'myapp.metrics.grouping': No module named 'myapp': ... start the
app from the folder that holds myapp": the app that command was making. README's test
command showed "6 workers [14023 items]" while the suite had 14,199 tests (CI102,
docs/TESTING.md's last whole run)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from tests.support.command import CommandProcess
from tests.support.processes import run_command
from tests.test_readme import code_blocks, readme_sections

ROOT = Path(__file__).resolve().parents[1]

#: The line "See it locally" has the app's shell run (what `readme-metrics collect` prints),
#: and its stand-in key.
SEE_IT_LOCALLY = {
    "README_API_KEY": "any-key",
    "README_METRICS_SERVER": "http://127.0.0.1:8001",
    "README_API_URL": "http://127.0.0.1:8001",
}


def test_the_demo_in_the_shell_of_see_it_locally_says_nothing_of_its_own_arguments(
        tmp_path: Path) -> None:
    """The demo's arguments win over the exported variables, as meant, without a word
    asking to edit its code (failed before: both warnings on stderr); its calls still go
    to its own collector, none to the exported address."""
    with CommandProcess("demo", "--requests", "3", cwd=tmp_path,
                        env=SEE_IT_LOCALLY) as proc:
        assert proc.wait(120) == 0, proc.stdout + proc.stderr
    assert "is passed to MetricsApiConfig" not in proc.stderr, proc.stderr
    assert "collector:   3 logs accepted, 0 refused" in proc.stdout, proc.stdout


def test_a_misspelled_variable_is_still_said_by_the_demo(tmp_path: Path) -> None:
    """Only the arguments' override is left unsaid: a near miss of a variable's name, a
    mistake in the shell the user's own app runs in too, is still warned about."""
    with CommandProcess("demo", "--requests", "1", cwd=tmp_path,
                        env={**SEE_IT_LOCALLY, "README_METRIC_SERVER": "http://x"}) as proc:
        assert proc.wait(120) == 0, proc.stdout + proc.stderr
    assert "did you mean README_METRICS_SERVER?" in proc.stderr, proc.stderr
    assert "is passed to MetricsApiConfig" not in proc.stderr, proc.stderr


def _last_whole_runs_count() -> int:
    """The count of tests of docs/TESTING.md's last whole run that gives one."""
    counts = re.findall(r"^\| CI\d+ \| [^|]* \| \w+ \| [^|]* \| ([\d,]+) \|",
                        (ROOT / "docs/TESTING.md").read_text(encoding="utf-8"), re.M)
    assert counts, "docs/TESTING.md's table of whole runs gives no count of tests"
    return int(counts[-1].replace(",", ""))


def test_readmes_item_count_is_the_last_whole_runs() -> None:
    """README's test command quotes pytest's "6 workers [N items]": N is the count of
    docs/TESTING.md's last whole run (failed before: 14023 against CI102's 14,199)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r'"6 workers \[(\d+) items\]"', readme)
    assert match, "README's test command no longer quotes pytest's count of items"
    assert int(match[1]) == _last_whole_runs_count(), (
        f"README quotes [{match[1]} items]; docs/TESTING.md's last whole run counted "
        f"{_last_whole_runs_count()}")


def test_startapp_of_the_grouping_functions_app_says_to_turn_metrics_off(
        tmp_path: Path) -> None:
    """The Django quick start's project and settings lines, then `manage.py startapp myapp`
    run bare in the shell of "See it locally": it still stops (the path names an app not
    made yet), and the error says how to run it (failed before: only "start the app from
    the folder that holds myapp"); run as README writes it, it makes the app."""
    section = readme_sections()["Quick start: Django"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("README_")}
    env.update(SEE_IT_LOCALLY, PYTHONPATH=str(ROOT))  # this checkout's library
    run_command([sys.executable, "-m", "django", "startproject", "mysite", "."],
                cwd=tmp_path, check=True, env=env)
    settings = tmp_path / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + "\n" + code_blocks(section, "python")[0])
    done = run_command([sys.executable, "manage.py", "startapp", "myapp"], cwd=tmp_path,
                       env=env, capture_output=True, text=True)
    assert done.returncode != 0 and not (tmp_path / "myapp").exists(), done.stderr[-2000:]
    assert ("`manage.py startapp myapp` reads settings.py, before the app it makes is "
            "there: run it as README_METRICS_ENABLED=false python manage.py startapp myapp"
            ) in done.stderr, done.stderr[-2000:]
    done = run_command([sys.executable, "manage.py", "startapp", "myapp"], cwd=tmp_path,
                       env={**env, "README_METRICS_ENABLED": "false"},
                       capture_output=True, text=True)
    assert done.returncode == 0 and (tmp_path / "myapp" / "apps.py").is_file(), done.stderr


def test_see_it_locally_names_each_quick_starts_own_command() -> None:
    """"See it locally" runs "any quick start above": its block names each one's command
    with the quick start it is for, each as that quick start writes it (failed before:
    `python app.py  # or: flask --app app run ...`, and the Flask and FastAPI quick
    starts' app.py, run so, exits at once without a word)."""
    sections = readme_sections()
    (block,) = [b for b in code_blocks(sections["See it locally"], "bash") if "curl" in b]
    said = " ".join(line.split("#", 1)[1] for line in block.splitlines() if "#" in line)
    said = " ".join(said.split())
    for name, section, command in (
            ("Flask", "Quick start: Flask", "flask --app app run --port 8000"),
            ("Django", "Quick start: Django", "python manage.py runserver 8000"),
            ("FastAPI", "Quick start: FastAPI (and any ASGI app)", "uvicorn app:app --port 8000")):
        assert f"{name}'s: {command}" in said, (name, said)
        assert command in " ".join(sections[section].split()), (name, command)
    assert block.startswith("export") and "\npython app.py " in block
    assert "the WSGI quick start's" in said and "python app.py" in " ".join(
        sections["Quick start: any WSGI app"].split())
