"""newcomer25: README followed top to bottom on a fresh clone.

1. A grouping function's path whose top-level module is not on ``sys.path`` (the app
   started from another folder than the one holding ``myapp/``: the commonest way to
   get "No module named 'myapp'") was answered with a guess among every module Python
   and its installed packages have: ``myapp.metrics.grouping`` got "(did you mean
   'mypy'?)", ``mysite...`` 'site', ``app...`` 'zipapp', ``main...`` 'email', ``auth...``
   'math'. The guess is now made among the app's own folders only (a typo of the app's
   module is still named), and with none close the error says which folders are the
   app's and what to do: start the app from the folder that holds the module, or add
   that folder to PYTHONPATH.
2. README's FastAPI quick start named uvicorn alone: under gunicorn, which many deploy
   with, `gunicorn app:app` answered every request with a 500 (gunicorn's workers are
   WSGI ones). README gives the command with uvicorn's worker (`-k
   uvicorn_worker.UvicornWorker`, `pip install uvicorn-worker`) and quotes the error
   without it; both are run here as README writes them.
3. README's "See it locally" block exported README_METRICS_SERVER and README_API_KEY,
   while `readme-metrics collect` (and `--help`) print README_API_URL too: followed as
   written, no answer had an `x-documentation-url` linking to its call on the dashboard.
   The block now sets what collect prints, and says what the header gives.
4. That header's page, for a call the collector no longer holds (a link from before its
   start or a Clear), showed a Copy as cURL button over empty Request and Response
   sections; it now says where the call still is (the HAR file).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.cli import main as cli_main
from readme_metrics.cli.collector.console import summary_line
from tests.support.command import CommandProcess, app_environment
from tests.support.fake_api import INLINE_TIMEOUT, Collector, free_port
from tests.support.page import expect
from tests.support.polling import wait_until
from tests.support.processes import run_command
from tests.support.wsgi import ThreadedWSGIServer
from tests.test_dashboard_browser import browser  # noqa: F401 - the fixture
from tests.test_readme import (
    _fastapi,
    _get_then_sigterm,
    _one_log,
    _start_app,
    _wsgi,
    code_blocks,
    readme_sections,
)


def _import_error(monkeypatch: pytest.MonkeyPatch, path: str) -> str:
    monkeypatch.setenv("README_GROUPING_FUNCTION", path)
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(api_key="any-key")
    return str(raised.value)


@pytest.mark.parametrize("path, guessed", [
    ("myapp.metrics.grouping", "mypy"),      # mypy: installed beside the tests
    ("mysite.metrics.grouping", "site"),
    ("app:grouping_function", "zipapp"),
    ("main.grouping", "email"),
    ("auth.group", "math"),
])
def test_a_module_not_on_sys_path_gets_no_guess_from_pythons_own(
        monkeypatch: pytest.MonkeyPatch, path: str, guessed: str) -> None:
    said = _import_error(monkeypatch, path)
    top = path.split(":")[0].split(".")[0]
    assert "did you mean" not in said, said
    assert f"{guessed!r}" not in said, said
    assert f"No module named {top!r}: no folder on sys.path holds it" in said, said
    assert (f"start the app from the folder that holds {top} (its package {top}/ or "
            f"{top}.py), or add that folder to PYTHONPATH") in said, said
    assert said.endswith(" (from the environment)"), said


def test_a_typo_of_the_apps_own_module_is_still_named(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "newcomer25_metrics.py").write_text("def grouping(request):\n    return None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    said = _import_error(monkeypatch, "newcomer25_metric.grouping")
    assert said == (
        "readme_metrics: grouping_function (README_GROUPING_FUNCTION) cannot import "
        "'newcomer25_metric.grouping': No module named 'newcomer25_metric' (did you mean "
        "'newcomer25_metrics'?) (from the environment)")


def test_python_src_app_py_names_the_folder_python_looked_in(tmp_path: Path) -> None:
    """``python src/app.py`` run from the project's folder, which holds ``myapp/``: Python
    puts ``src`` on sys.path, not the working directory, so ``myapp`` is not found; the
    error names ``src`` as the app's folder and says to add the project's folder."""
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "myapp").mkdir()
    (project / "myapp" / "__init__.py").write_text("")
    (project / "myapp" / "metrics.py").write_text("def grouping(request):\n    return None\n")
    (project / "src" / "app.py").write_text(
        "from readme_metrics import MetricsApiConfig\n\nconfig = MetricsApiConfig()\n")
    env = app_environment("http://127.0.0.1:9", README_GROUPING_FUNCTION="myapp.metrics.grouping")
    env["PYTHONPATH"] = env["PYTHONPATH"].split(os.pathsep)[-1]  # the library's checkout only
    ran = run_command([sys.executable, "src/app.py"], cwd=project, env=env,
                      capture_output=True, text=True)
    assert ran.returncode == 1, ran
    last = ran.stderr.strip().splitlines()[-1]
    assert "did you mean" not in last, last
    assert (f"No module named 'myapp': no folder on sys.path holds it (the app's: "
            f"{str(project / 'src')!r}") in last, last
    assert "or add that folder to PYTHONPATH" in last, last


# -- 2. FastAPI under gunicorn ------------------------------------------------------------

def _fastapi_under_gunicorn() -> list[str]:
    """The gunicorn command README's FastAPI quick start gives, as argv after `gunicorn`."""
    section = " ".join(readme_sections()["Quick start: FastAPI (and any ASGI app)"].split())
    (command,) = re.findall(r"`README_API_KEY='<your ReadMe API key>' gunicorn ([^`]+)`",
                            section)
    assert "pip install gunicorn uvicorn-worker" in section, section
    return command.split()


@pytest.mark.e2e
def test_fastapi_under_gunicorn_as_readme_says_logs_and_sends_at_sigterm(
        tmp_path: Path, collector: Collector) -> None:
    """README's FastAPI quick start named uvicorn only; gunicorn, what many deploy, was
    nowhere for FastAPI (run by hand: `gunicorn app:app` answered every request with a 500).
    README's command, with uvicorn's worker, logs the call, and gunicorn's stop (SIGTERM)
    sends it: the lifespan's shutdown flushes the queue."""
    pytest.importorskip("uvicorn_worker", reason="uvicorn-worker (the test extra) missing")
    argv = _fastapi_under_gunicorn()
    assert argv[:3] == ["app:app", "-k", "uvicorn_worker.UvicornWorker"], argv
    port = free_port()
    argv = [part.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for part in argv]
    _fastapi(tmp_path, port)  # app.py, README's code block
    env = app_environment(collector.url, tmp_path, README_FLUSH_INTERVAL="60")
    log = tmp_path / "app-output.txt"
    answer = _get_then_sigterm([sys.executable, "-m", "gunicorn", *argv], tmp_path, env,
                               port, log)
    assert answer.status_code == 200 and answer.json() == {"hello": "world"}, answer.text
    (sent,) = _one_log(collector, log)  # within flush_interval's 60 s only at the stop
    assert sent["group"]["label"] == "Customer name"
    assert sent["request"]["log"]["entries"][0]["request"]["url"] == f"http://127.0.0.1:{port}/"


@pytest.mark.e2e
def test_fastapi_under_gunicorns_own_workers_fails_as_readme_quotes(
        tmp_path: Path, collector: Collector) -> None:
    """Without `-k`, README says, every request is a 500 and gunicorn's log says the
    TypeError it quotes: the words a reader who tried it will search for."""
    argv = _fastapi_under_gunicorn()
    without_k = [part for part in argv if part not in ("-k", "uvicorn_worker.UvicornWorker")]
    port = free_port()
    without_k = [part.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for part in without_k]
    _fastapi(tmp_path, port)
    env = app_environment(collector.url, tmp_path)
    log = tmp_path / "app-output.txt"
    answer = _get_then_sigterm([sys.executable, "-m", "gunicorn", *without_k], tmp_path,
                               env, port, log)
    assert answer.status_code == 500, answer.text
    quoted = re.search(r"says `(TypeError: FastAPI[^`]+)`", " ".join(
        readme_sections()["Quick start: FastAPI (and any ASGI app)"].split()))
    assert quoted is not None
    assert quoted.group(1) in log.read_text(), log.read_text()


# -- 3. "See it locally": the app's shell set as collect says ------------------------------

def _see_it_locally_exports() -> list[str]:
    collect, app = code_blocks(readme_sections()["See it locally"], "bash")
    assert collect.startswith("readme-metrics collect"), collect
    block = app
    return [line for line in block.splitlines() if line.startswith("export ")]


def test_see_it_locally_exports_what_collect_and_help_print(
        capsys: pytest.CaptureFixture[str]) -> None:
    """The block exported README_API_KEY and README_METRICS_SERVER only, while `readme-metrics
    collect` and `readme-metrics --help` print README_API_URL too: a reader following
    README had no `x-documentation-url` on any answer, and wondered which was right."""
    with pytest.raises(SystemExit):
        cli_main(["--help"])
    printed = [line.strip() for line in capsys.readouterr().out.splitlines()
               if line.strip().startswith("export ")]
    assert _see_it_locally_exports() == printed, (_see_it_locally_exports(), printed)


def first_documentation_url(port: int) -> str:
    """The quick start's curl, again until an answer has an x-documentation-url (the first
    call starts the lookup, so it has none): that URL."""
    links: list[str] = []

    def linked() -> bool:
        answer = requests.get(f"http://127.0.0.1:{port}/", timeout=10,
                              headers={"X-Api-Key": "owlbert-key"})
        links.extend(filter(None, [answer.headers.get("x-documentation-url")]))
        return bool(links)

    wait_until(linked, timeout=30)
    return links[0]


@pytest.mark.e2e
def test_see_it_locally_run_as_written_links_each_answer_to_its_call(tmp_path: Path) -> None:
    """`readme-metrics collect`, then README's WSGI quick start in a shell set by the block's
    export lines, then its curl: the call reaches the collector, and once the lookup has
    answered each logged answer's x-documentation-url opens that call on the dashboard."""
    env: dict[str, str] = {}
    with CommandProcess("collect", "--port", "0", cwd=tmp_path) as collect:
        url = collect.wait_for(r"listening on (http://\S+)").group(1)
        for line in _see_it_locally_exports():
            for assignment in line.split()[1:]:
                name, _, value = assignment.partition("=")
                env[name] = value.replace("http://127.0.0.1:8001", url)
        port = free_port()
        command = _wsgi(tmp_path, port)
        environment = {**app_environment(url, tmp_path), **env}
        log = tmp_path / "app-output.txt"
        proc = _start_app(command, tmp_path, environment, port, log)
        try:
            links = [first_documentation_url(port)]
            assert links[0].startswith(f"{url}/logs/"), links
            # The call itself reaches the collector within flush_interval (python app.py
            # is wsgiref's: its SIGTERM would lose what is still queued, as README says).
            log_id = links[0].rsplit("/", 1)[1]
            wait_until(lambda: requests.get(f"{url}/api/logs/{log_id}", timeout=10).ok, 30)
        finally:
            proc.terminate()
            proc.wait(20)
        page = requests.get(links[0], timeout=10)
        assert page.status_code == 200 and "readme-metrics" in page.text


# -- 4. the dashboard's page of a call it does not hold -----------------------------------

@pytest.mark.browser
def test_a_call_the_collector_does_not_hold_says_where_it_is(
        browser: Any, tmp_path: Path) -> None:  # noqa: F811 - the imported fixture
    """An x-documentation-url from before the collector's start (or a Clear, or past
    --keep) opened a panel titled "no longer kept", with a Copy as cURL button and empty
    Request, Query, Body, Response and Body sections under it: nothing said why, nor
    that the HAR file still holds the call. It now says so, without the empty sections;
    a call opened after it shows them again."""
    with CommandProcess("collect", "--port", "0", "--har", str(tmp_path / "b.har"),
                        cwd=tmp_path) as collect:
        url = collect.wait_for(r"listening on (http://127\.0\.0\.1:\d+)").group(1)
        middleware = MetricsMiddleware(_hello, MetricsApiConfig(
            api_key="any-key", grouping_function=lambda request: {"api_key": "k-alice"},
            metrics_api=url, background_worker_mode=False, timeout=INLINE_TIMEOUT, buffer_length=1))
        with ThreadedWSGIServer(middleware) as api:
            requests.get(api.url + "/kept", timeout=10)
        assert middleware.flush(timeout=10)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.goto(url + "/logs/a-call-of-an-earlier-run")
        expect(page.locator("#detail-title")).to_contain_text("not kept by the collector")
        gone = page.locator("#detail-gone")
        expect(gone).to_be_visible()
        expect(gone).to_contain_text("HAR file")
        expect(gone).to_contain_text("--keep")
        for hidden in ("#copy-curl", "#detail-request-headers", "#detail-response-body"):
            expect(page.locator(hidden)).to_be_hidden()
        page.screenshot(path=str(tmp_path / "gone.png"))
        expect(page.locator("#shown")).to_have_text("1 call")  # was "1 calls"
        page.locator("#logs tbody tr").filter(has_text="/kept").click()
        expect(page.locator("#detail-title")).to_contain_text("/kept")
        expect(gone).to_be_hidden()
        expect(page.locator("#copy-curl")).to_be_visible()
        expect(page.locator("#detail-response-body")).to_contain_text('"hello"')


def _hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"hello": "world"}']


# -- 5. collect's summary line, in words ---------------------------------------------------

@pytest.mark.parametrize("accepted, count, said", [
    (1, 1, "-- 1 call, 0% errors, p50 1.0 ms, p95 1.0 ms, 0 refused; busiest GET / (1 call)"),
    (7, 4, "-- 7 calls, 0% errors, p50 1.0 ms, p95 1.0 ms, 0 refused; busiest GET / (4 calls)"),
])
def test_collects_summary_counts_calls_in_words(accepted: int, count: int, said: str) -> None:
    """The console's summary said "-- 1 calls" and "busiest GET / x4" (4 what? it read as a
    factor); other lines say "1 log", "2 logs" (the refusal's "1 log(s)" was fixed so)."""
    summary = {"accepted": accepted, "kept": accepted, "errorRate": 0.0, "p50": 1.0,
               "p95": 1.0, "rejected": 0, "endpoints": [{"endpoint": "GET /", "count": count}]}
    assert summary_line(summary) == said
