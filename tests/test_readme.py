"""README.md as a user reads it: its quick starts, copied verbatim, log a call.

Each quick start's code blocks are taken from README.md as they are, saved where the
README says, and run the way it says (``python app.py``, ``flask --app app run``,
``manage.py runserver``) in a subprocess, with the environment of README's "See it
locally" section pointed at a real collector on 127.0.0.1. A call without ``X-Api-Key``
must not be logged, the call with it must arrive as one valid log.
"""

from __future__ import annotations

import configparser
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest
import requests

from tests.support.app_log import wait_for_port, wait_until_said
from tests.support.command import REPO_ROOT, app_environment
from tests.support.fake_api import INLINE_TIMEOUT, Collector, free_port
from tests.support.har_check import assert_valid_log
from tests.support.polling import PATIENCE
from tests.support.processes import run_command, start_server
from tests.support.unread_gunicorn import READS_UNREAD

README = REPO_ROOT / "README.md"


def readme_sections() -> dict[str, str]:
    """README's level-2 sections by heading text."""
    parts = re.split(r"^## (.+)$", README.read_text(encoding="utf-8"), flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def code_blocks(section: str, language: str) -> list[str]:
    """The fenced code blocks of ``language`` in ``section``, in order."""
    return re.findall(rf"^```{language}\n(.*?)^```", section, flags=re.M | re.S)


def test_the_first_two_commands_are_the_demo_and_the_tests() -> None:
    """The top of README is what .ci/run runs, verbatim (and what a newcomer copies)."""
    top = README.read_text(encoding="utf-8").split("\n## ", 1)[0]
    first = code_blocks(top, "bash")[0]
    commands = [line for line in first.splitlines() if line and not line.startswith("#")]
    assert commands == [
        "python3 -m venv .venv && .venv/bin/pip install -q -e . "
        "&& .venv/bin/readme-metrics demo --requests 20",
        "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' "
        "&& .venv/bin/python -m pytest",
    ]
    ci_lines = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert commands[1] in ci_lines, ".ci/run no longer runs README's test command"



def test_tox_runs_readmes_test_command_on_every_python_setup_py_names() -> None:
    """Each tox environment of a Python version runs the command README gives (with that
    environment's Python), and there is one for every version setup.py classifies."""
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(REPO_ROOT / "tox.ini", encoding="utf-8")
    top = README.read_text(encoding="utf-8").split("\n## ", 1)[0]
    test_command = code_blocks(top, "bash")[0].rstrip().splitlines()[-1]
    run = test_command.rsplit(" && ", 1)[1]
    assert run.startswith(".venv/bin/")
    assert tox["testenv"]["commands"].strip() == run[len(".venv/bin/"):] + " {posargs}"
    classified = re.findall(r"Programming Language :: Python :: 3\.(\d+)\"",
                            (REPO_ROOT / "setup.py").read_text(encoding="utf-8"))
    floor = re.search(r'python_requires=">=3\.(\d+)"',
                      (REPO_ROOT / "setup.py").read_text(encoding="utf-8"))
    assert floor and classified and min(map(int, classified)) == int(floor.group(1))
    envs = [env.strip() for env in tox["tox"]["envlist"].split(",")]
    assert [env for env in envs if env.startswith("py")] == [f"py3{n}" for n in classified]

def test_the_reading_order() -> None:
    """Issue 12: what a user needs first comes first; internals and development last."""
    headings = list(readme_sections())
    wanted = ["Install", "Quick start: any WSGI app", "Quick start: Flask",
              "Quick start: Django", "Quick start: FastAPI (and any ASGI app)",
              "Quick start: Bottle, Pyramid, Falcon, Starlette and others",
              "See it locally", "Configuration",
              "What is sent, and how to keep secrets out", "Troubleshooting",
              "How logs reach ReadMe", "Performance", "Development"]
    positions = [headings.index(heading) for heading in wanted]
    assert positions == sorted(positions), headings


def test_every_linked_file_exists() -> None:
    """Relative links and the files named in backticks ship with the repository."""
    text = README.read_text(encoding="utf-8")
    linked = re.findall(r"\]\((?!https?:|#)([^)#]+)", text)
    named = re.findall(r"`((?:examples|docs|benchmarks)/[\w./-]+)`", text)
    assert linked and named
    for path in linked + named + ["CHANGELOG.md", "LICENSE"]:
        assert (REPO_ROOT / path).exists(), f"README names {path}, which does not exist"
    for page in (REPO_ROOT / "docs").glob("*.md"):
        for target in re.findall(r"\]\((?!https?:|#)([^)#]+)", page.read_text("utf-8")):
            assert (page.parent / target).exists(), f"{page.name} links {target}"


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, blanks to -."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_anchor_names_a_heading() -> None:
    """README's contents line and the docs/ pages' links to README sections still land."""
    anchors = {github_anchor(h) for h in re.findall(r"^#+ (.+)$", README.read_text("utf-8"),
                                                       flags=re.M)}
    links = re.findall(r"\]\(#([\w-]+)\)", README.read_text("utf-8"))
    for page in (REPO_ROOT / "docs").glob("*.md"):
        links += re.findall(r"\]\(\.\./README\.md#([\w-]+)\)", page.read_text("utf-8"))
    assert len(links) >= 10
    assert [link for link in links if link not in anchors] == []


def test_every_link_into_a_page_names_one_of_its_headings() -> None:
    """Every link with an anchor, README's into docs/ (``docs/SERVERS.md#django``) and the
    docs/ pages' into each other and into README, lands on a heading of the page it
    names: a heading renamed in docs/ would otherwise leave README's link at the top of
    the page, without a word."""
    pages = [README, *sorted((REPO_ROOT / "docs").glob("*.md"))]
    headings = {page.resolve(): {github_anchor(h) for h in re.findall(
        r"^#+ (.+)$", page.read_text("utf-8"), flags=re.M)} for page in pages}
    checked, broken = 0, []
    for page in pages:
        for target, anchor in re.findall(r"\]\(([^)#\s]*)#([^)\s]+)\)",
                                         page.read_text("utf-8")):
            linked = (page.parent / target).resolve() if target else page.resolve()
            checked += 1
            if anchor not in headings.get(linked, set()):
                broken.append(f"{page.name}: {target}#{anchor}")
    assert checked >= 40 and broken == [], (checked, broken)


@pytest.mark.parametrize("name", ["DELIVERY.md", "BODIES.md"])
def test_readme_links_into_the_parts_of_the_long_docs_pages(name: str) -> None:
    """docs/DELIVERY.md and docs/BODIES.md were one title over the whole text, so README's
    "has the whole of it: the threads, timeouts, ..." could only link to the top of the
    page (newcomer10). Each part has its heading now, and README links to them."""
    page = REPO_ROOT / "docs" / name
    parts = {github_anchor(h) for h in re.findall(r"^## (.+)$", page.read_text("utf-8"),
                                                  flags=re.M)}
    linked = set(re.findall(rf"\]\(docs/{re.escape(name)}#([^)\s]+)\)",
                            README.read_text("utf-8")))
    assert len(parts) >= 5 and len(linked) >= 5 and linked <= parts, (parts, linked)


def test_version_is_above_the_official_3x_line_and_install_says_how() -> None:
    """Issue 12: ``pip install readme-metrics`` is the official package; say what works."""
    from readme_metrics.version import __version__

    assert int(__version__.split(".")[0]) >= 4, __version__
    install = readme_sections()["Install"]
    commands = "\n".join(code_blocks(install, "bash"))
    assert "pip install .\n" in commands + "\n" or "pip install . " in commands
    assert f"readme_metrics-{__version__}-py3-none-any.whl" in commands
    assert "not on PyPI" in " ".join(install.split())


def test_the_install_block_activates_the_demos_virtualenv(tmp_path: Path) -> None:
    """newcomer39: the demo line makes ``.venv`` and runs ``.venv/bin/...`` without
    activating it, so the Install block's bare ``pip`` (and the quick starts' ``python
    app.py``, ``flask``, ``uvicorn``) would use another Python. The block activates that
    virtualenv first, and its line, run in bash, does make ``python`` the venv's."""
    top = README.read_text(encoding="utf-8").split("\n## ", 1)[0]
    demo = code_blocks(top, "bash")[0]
    assert "python3 -m venv .venv && .venv/bin/pip" in demo and "activate" not in demo
    install = readme_sections()["Install"]
    lines = [line.split("#", 1)[0].strip() for line in code_blocks(install, "bash")[0]
             .splitlines() if line.split("#", 1)[0].strip()]
    activate = lines[0]
    assert activate in (". .venv/bin/activate", "source .venv/bin/activate"), lines
    assert all(line.startswith("pip install ") for line in lines[1:]), lines
    prose = " ".join(install.split("```", 1)[0].split())
    missing = "ModuleNotFoundError: No module named 'readme_metrics'"
    assert missing in prose, prose
    run_command([sys.executable, "-m", "venv", "--without-pip", ".venv"], cwd=tmp_path,
                check=True, timeout=120)
    shell = run_command(["bash", "-c", f"{activate} && python -c 'import sys; "
                         "print(sys.prefix)'"], cwd=tmp_path, capture_output=True,
                        text=True, check=True)
    assert Path(shell.stdout.strip()) == tmp_path / ".venv", shell
    # the error README quotes is the one a Python without the library gives
    bare = run_command([sys.executable, "-I", "-S", "-c", "import readme_metrics"],
                       cwd=tmp_path, capture_output=True, text=True)
    assert bare.returncode == 1 and missing in bare.stderr, bare.stderr


def test_local_collector_addresses_use_collects_port(
        capsys: pytest.CaptureFixture[str]) -> None:
    """Every README_METRICS_SERVER in the docs and examples is collect's default port."""
    from readme_metrics.cli import main

    with pytest.raises(SystemExit):
        main(["collect", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    port = int(re.search(r"--port PORT .*?\(default: (\d+)\)", help_text).group(1))  # type: ignore[union-attr]
    files = [README, *REPO_ROOT.glob("docs/*.md"), *REPO_ROOT.glob("examples/**/*.py")]
    found = [(path.name, int(match)) for path in files for match in re.findall(
        r"README_METRICS_SERVER=http://(?:127\.0\.0\.1|localhost):(\d+)", path.read_text())]
    assert found and all(number == port for _, number in found), (port, found)


# -- the quick starts, run -----------------------------------------------------------


def _one_log(collector: Collector, log: Path, count: int = 1) -> list[dict[str, Any]]:
    """The collector's logs once ``count`` arrived; else fail with the app's own output
    (which says, say, that its port was taken by another process: the answer came from
    that)."""
    try:
        return collector.wait_for_logs(count, timeout=30)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the app's output:\n{log.read_text(errors='replace')}"
                             ) from None


#: How long a test waits for a served app's answer: the port listens as soon as the server
#: binds it, before its workers have imported the app (a gunicorn worker importing Django
#: took more than 10 s under a load of 35: test_the_django_quick_start_under_gunicorn's
#: ReadTimeout, land57); the tests time stops and logs, not the first answer.
ANSWER_WAIT = 60


def _start_app(command: list[str], cwd: Path, env: dict[str, str], port: int,
               log: Path) -> subprocess.Popen[bytes]:
    """``command`` run in ``cwd``, its output in ``log``, once it listens on ``port``."""
    with open(log, "wb") as output:
        proc = start_server(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc, log)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc


def _get_then_sigterm(command: list[str], cwd: Path, env: dict[str, str], port: int,
                      log: Path, path: str = "/",
                      headers: Optional[dict[str, str]] = None) -> requests.Response:
    """``command`` started (:func:`_start_app`), one GET of ``path`` with the quick
    start's key (or ``headers``), then SIGTERM and the server's exit: the answer."""
    proc = _start_app(command, cwd, env, port, log)
    try:
        return requests.get(f"http://127.0.0.1:{port}{path}", timeout=ANSWER_WAIT,
                            headers=headers or {"X-Api-Key": "owlbert-key"})
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def _get_until_closed(port: int, path: str) -> bytes:
    """GET ``path`` from a wsgiref server, with the caller's key, and read until wsgiref
    closes the connection. The client has the answer before wsgiref has closed the
    request, and a signal whose handler raises (Ctrl-C, or SIGTERM made an exit) in
    between is caught by wsgiref's error handler, with or without the library, and the
    server goes on serving: a person stops a server later than a test does. wsgiref
    closes the connection (one request each, HTTP/1.0) only after the response's
    close(), when the log is finished, and out of that handler: no sleep needed."""
    request = (f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n"
               "X-Api-Key: owlbert-key\r\n\r\n").encode()
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return answer
            answer += chunk


def _wsgi(tmp_path: Path, port: int) -> list[str]:
    (code,) = code_blocks(readme_sections()["Quick start: any WSGI app"], "python")
    assert '"127.0.0.1", 8000' in code
    (tmp_path / "app.py").write_text(code.replace("8000", str(port)))
    return [sys.executable, "app.py"]


def _flask(tmp_path: Path, port: int) -> list[str]:
    (code,) = code_blocks(readme_sections()["Quick start: Flask"], "python")
    (tmp_path / "app.py").write_text(code)
    return [sys.executable, "-m", "flask", "--app", "app", "run", "--port", str(port)]


def _fastapi(tmp_path: Path, port: int) -> list[str]:
    (code,) = code_blocks(readme_sections()["Quick start: FastAPI (and any ASGI app)"],
                          "python")
    (tmp_path / "app.py").write_text(code)
    return [sys.executable, "-m", "uvicorn", "app:app", "--port", str(port)]


def _django(tmp_path: Path, port: int, lifespan: bool = False) -> list[str]:
    """README's Django quick start in a new project; with ``lifespan``, the lines it puts
    in `mysite/asgi.py` for uvicorn too."""
    settings_code, grouping_code, asgi_code = code_blocks(
        readme_sections()["Quick start: Django"], "python")
    run_command([sys.executable, "-m", "django", "startproject", "mysite", "."],
                cwd=tmp_path, check=True)
    settings = tmp_path / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + "\n" + settings_code)
    (tmp_path / "myapp").mkdir()
    (tmp_path / "myapp" / "__init__.py").write_text("")
    (tmp_path / "myapp" / "metrics.py").write_text(grouping_code)
    if lifespan:  # README: "`mysite/asgi.py` wraps Django's application in with_lifespan"
        (tmp_path / "mysite" / "asgi.py").write_text(asgi_code)
    return [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]


@pytest.mark.e2e
@pytest.mark.parametrize("make_command", [
    pytest.param(_wsgi, id="wsgi"), pytest.param(_flask, id="flask"),
    pytest.param(_django, id="django"), pytest.param(_fastapi, id="fastapi"),
])
def test_quick_start_copied_verbatim_logs_a_call(tmp_path: Path, collector: Collector,
                                                 make_command: Any) -> None:
    port = free_port()
    command = make_command(tmp_path, port)
    env = {k: v for k, v in os.environ.items() if not k.startswith("README_")}
    env.update({  # README's "See it locally", plus a short flush_interval to wait less
        "README_API_KEY": "any-key", "README_METRICS_SERVER": collector.url,
        "README_FLUSH_INTERVAL": "0.2",
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO_ROOT)]),
    })
    log = tmp_path / "app-output.txt"
    proc = _start_app(command, tmp_path, env, port, log)
    try:
        url = f"http://127.0.0.1:{port}/"
        requests.get(url, timeout=ANSWER_WAIT)  # no X-Api-Key: the grouping function says no
        answer = requests.get(url, headers={"X-Api-Key": "owlbert-key"}, timeout=ANSWER_WAIT)
        logs = _one_log(collector, log)
    finally:
        proc.terminate()
        proc.wait(20)
    assert len(logs) == 1, logs
    # Each says where it serves as it starts, before any call (newcomer40: wsgiref says
    # nothing, so the WSGI quick start prints it): the URL that README's curl line calls.
    assert f"http://127.0.0.1:{port}" in log.read_text(errors="replace"), log.read_text()
    assert_valid_log(logs[0])
    assert logs[0]["group"]["label"] == "Customer name"
    entry = logs[0]["request"]["log"]["entries"][0]
    assert entry["request"]["url"] == url
    assert entry["response"]["status"] == answer.status_code


# -- the examples, run as their docstrings say ------------------------------------------

EXAMPLES = REPO_ROOT / "examples"
#: The examples of README's "Other frameworks" (tests/test_framework_examples.py).
FRAMEWORK_EXAMPLES = ["bottle/app.py", "pyramid/app.py", "falcon/app.py", "starlette/app.py"]
#: The example modules whose docstring says how to run them against the local collector.
RUNNABLE_EXAMPLES = ["wsgi_app.py", "flask/app.py", "fastapi/app.py",
                     "django/exampleproject/settings.py", *FRAMEWORK_EXAMPLES]


def docstring_commands(path: Path) -> list[str]:
    """The indented shell lines of a module docstring, comments stripped."""
    import ast

    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    lines = [line.split("  #")[0].strip() for line in doc.splitlines()
             if line.startswith("    ") and not line.strip().startswith("#")]
    return [line for line in lines if line]


@pytest.mark.parametrize("name", [*RUNNABLE_EXAMPLES, "flask/webhooks.py",
                                  "fastapi/webhooks.py"])
def test_example_docstrings_install_from_the_checkout_with_a_usable_key(name: str) -> None:
    """A newcomer copies these lines: the key must not be refused as a placeholder, and
    ``pip install readme-metrics`` would install the official package from PyPI."""
    from readme_metrics.options import looks_like_a_placeholder

    commands = docstring_commands(EXAMPLES / name)
    (install,) = [line for line in commands if line.startswith("pip install")]
    assert re.fullmatch(r"""pip install (\.|"\.\[\w+\]")( [\w-]+)*""", install), install
    keys = [key for line in commands
            for key in re.findall(r"README_API_KEY=(\S+)", line)]
    assert keys and not [key for key in keys if looks_like_a_placeholder(key)], keys


def _example_argv(command: str, port: int) -> tuple[list[str], dict[str, str]]:
    """The documented command on ``port`` (tests use free ports), and its extra env."""
    argv = command.split()
    tool, rest = argv[0], argv[1:]
    if tool == "python":
        if rest[:2] == ["manage.py", "runserver"]:  # the reloader's child outlives terminate
            return [sys.executable, *rest, f"127.0.0.1:{port}", "--noreload"], {}
        return [sys.executable, *rest], {"PORT": str(port)}
    if tool in ("gunicorn", "waitress-serve"):  # --bind / --listen=127.0.0.1:8000
        assert "127.0.0.1:8000" in command, command
        module = "waitress" if tool == "waitress-serve" else tool
        return [sys.executable, "-m", module,
                *(arg.replace(":8000", f":{port}") for arg in rest)], {}
    # On the quick starts' port: flask's default, 5000, is macOS's AirPlay receiver.
    assert tool in ("uvicorn", "flask") and rest[-2:] == ["--port", "8000"], command
    return [sys.executable, "-m", tool, *rest[:-1], str(port)], {}


@contextlib.contextmanager
def example_served(name: str, tmp_path: Path, metrics_server: str,
                   run: Optional[str] = None,
                   **variables: str) -> Iterator[tuple[str, str, str, Path]]:
    """The example ``name`` set up and served as its docstring's lines say, in order
    (``run``: another command than its own, from a copy of examples/), with README's
    "See it locally" environment pointed at ``metrics_server``, plus ``variables``.
    Yields the curl line's URL (on a free port), its header's name and value, and the
    file with the app's output; stops the app after."""
    commands = docstring_commands(EXAMPLES / name)
    assert commands[:2] and commands[1] == "readme-metrics collect", commands
    shutil.copytree(EXAMPLES, tmp_path / "examples")  # runserver writes db.sqlite3 beside
    cwd = tmp_path
    env = {k: v for k, v in os.environ.items() if not k.startswith("README_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    rest = commands[2:]
    if rest[0].startswith("cd "):
        cwd = tmp_path / rest.pop(0)[3:]
    exported = dict(pair.split("=", 1) for pair in rest.pop(0).split()[1:])
    assert exported == {"README_API_KEY": "any-key",
                        "README_METRICS_SERVER": "http://127.0.0.1:8001"}, exported
    env.update(exported, README_METRICS_SERVER=metrics_server, README_FLUSH_INTERVAL="0.2",
               **variables)
    *setup, documented_run, curl = rest
    for command in setup:  # python manage.py migrate
        tool, *args = command.split()
        assert tool == "python", command
        run_command([sys.executable, *args], cwd=cwd, env=env, check=True,
                    stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    header, url = re.fullmatch(r'curl -H "([^"]+)" (http://127\.0\.0\.1:\d+/\S*)',
                               curl).groups()  # type: ignore[union-attr]
    port = free_port()
    argv, extra = _example_argv(run or documented_run, port)
    env.update(extra)
    url = re.sub(r":\d+/", f":{port}/", url, count=1)
    log = tmp_path / "app-output.txt"
    proc = _start_app(argv, cwd, env, port, log)
    try:
        header_name, _, value = header.partition(": ")
        yield url, header_name, value, log
    finally:
        proc.terminate()
        proc.wait(20)


@pytest.mark.e2e
@pytest.mark.parametrize("name", RUNNABLE_EXAMPLES)
def test_example_runs_as_its_docstring_says(name: str, tmp_path: Path,
                                            collector: Collector) -> None:
    """The docstring's lines, in order, against a real collector: one call, one log."""
    with example_served(name, tmp_path, collector.url) as (url, header, value, log):
        # A browser that visited another Django project on 127.0.0.1 sends its session
        # cookie: Django's example looks the session up in its database (request.user).
        cookie = {"Cookie": "sessionid=abcdefghijklmnopqrstuvwxyz012345"}
        answer = requests.get(url, headers={header: value, **cookie}, timeout=ANSWER_WAIT)
        logs = _one_log(collector, log)
    assert answer.status_code == 200, answer.text
    assert len(logs) == 1, logs
    assert_valid_log(logs[0])
    assert logs[0]["request"]["log"]["entries"][0]["request"]["url"] == url
    # The label names the caller in ReadMe's dashboard (and collect's console), as the
    # quick starts show: the Flask and FastAPI examples labelled calls with their path.
    assert value[-4:] in logs[0]["group"]["label"], logs[0]["group"]


@pytest.mark.e2e
@pytest.mark.skipif(shutil.which("openssl") is None, reason="the docstring signs with openssl")
@pytest.mark.parametrize("name", ["flask/webhooks.py", "fastapi/webhooks.py"])
def test_webhook_example_answers_its_docstrings_calls(name: str, tmp_path: Path) -> None:
    """The unsigned call is refused, the call signed as the docstring signs it answered
    with the caller's email (the docstrings showed only the refusal)."""
    commands = docstring_commands(EXAMPLES / name)
    cwd = REPO_ROOT
    if commands[1].startswith("cd "):
        cwd = REPO_ROOT / commands.pop(1)[3:]
    key, tool, *rest = commands[1].split()
    assert key == "README_API_KEY=any-key" and rest[-2:] == ["--port", "4000"], commands[1]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("README_")}
    env.update(README_API_KEY="any-key", PYTHONPATH=str(REPO_ROOT))
    log = tmp_path / "app-output.txt"
    proc = _start_app([sys.executable, "-m", tool, *rest[:-1], str(port)], cwd, env, port,
                      log)
    try:
        calls = "\n".join(commands[2:]).replace(":4000/", f":{port}/")
        done = run_command(["bash", "-c", calls.replace("curl ", "curl -s -w '\\n' ")],
                           capture_output=True, text=True, timeout=30)
    finally:
        proc.terminate()
        proc.wait(20)
    answers = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert answers[0] == {"error": "Missing Signature"}, (done, log.read_text())
    assert answers[1]["email"] == "ana@example.com", answers


# -- Troubleshooting's advice, followed ---------------------------------------------------


TROUBLESHOOTING = REPO_ROOT / "docs" / "TROUBLESHOOTING.md"


def troubleshooting_rows() -> tuple[list[str], list[str]]:
    """README's short Troubleshooting rows, and docs/TROUBLESHOOTING.md's full ones."""
    def rows(text: str) -> list[str]:
        return [line for line in text.splitlines()
                if line.startswith("| ") and not line.startswith("| symptom |")]

    return (rows(readme_sections()["Troubleshooting"]),
            rows(TROUBLESHOOTING.read_text(encoding="utf-8")))


def troubleshooting_row(symptom: str) -> str:
    """The row whose symptom starts with ``symptom``: its full form in
    docs/TROUBLESHOOTING.md, then README's short one (both must be there, once each)."""
    short, full = troubleshooting_rows()
    (short_row,) = [line for line in short if line.startswith(f"| {symptom}")]
    (full_row,) = [line for line in full if line.startswith(f"| {symptom}")]
    return f"{full_row}\n{short_row}"


def _symptom_pattern(short_row: str) -> re.Pattern[str]:
    """A short row's symptom as a pattern for the start of its full row's: ``...``
    stands for what the short form leaves out."""
    symptom = short_row.split(" | ", 1)[0][2:]
    pattern = re.escape(symptom).replace(r"\ \.\.\.", ".*?").replace(r"\.\.\.", ".*?")
    return re.compile(pattern)


def test_each_short_troubleshooting_row_has_its_full_row() -> None:
    """README's rows are short; each one's symptom starts a full row of
    docs/TROUBLESHOOTING.md (and only one), every full row has its short one, in the
    same order, and what a short row quotes or puts in backticks is in its full row or
    the README (nothing said only in the short form)."""
    short, full = troubleshooting_rows()
    assert len(short) == len(full) >= 30, (len(short), len(full))
    readme = README.read_text(encoding="utf-8")
    for index, row in enumerate(short):
        pattern = _symptom_pattern(row)
        matched = [i for i, line in enumerate(full) if pattern.match(line[2:])]
        assert matched == [index], (row, matched)
        assert "](docs/" not in row or "](docs/TROUBLESHOOTING.md" in row, row
        said = re.findall(r"`([^`]+)`", row) + re.findall(r'"([^"`]+)"', row)
        missing = [part.replace(" ...", "") for part in said
                   if not all(piece.strip() in full[index]
                              or piece.strip() in readme.replace(row, "")
                              for piece in part.split("...") if piece.strip())]
        assert missing == [], (row, missing)


def test_a_test_clients_call_is_logged_once_buffered_or_closed(collector: Collector) -> None:
    from flask import Flask

    from readme_metrics import MetricsApiConfig
    from readme_metrics.flask_readme import ReadMeMetrics

    assert 'client.get("/", buffered=True)' in troubleshooting_row("in a test")
    app = Flask(__name__)
    app.add_url_rule("/", "hello", lambda: "hello")
    metrics = ReadMeMetrics(MetricsApiConfig(
        api_key="any-key", metrics_api=collector.url,
        grouping_function=lambda request: {"api_key": "owlbert-key"}), app)
    client = app.test_client()
    left_open = client.get("/")
    assert metrics.stats["captured"] == 0  # the symptom: the response is not closed yet
    client.get("/", buffered=True)
    assert metrics.stats["captured"] == 1
    left_open.close()
    assert metrics.stats["captured"] == 2
    # Never closed: logged once the response is dropped (at once in CPython), once.
    dropped = client.get("/")
    assert metrics.stats["captured"] == 2
    del dropped
    assert metrics.stats["captured"] == 3
    client.get("/").close()  # closed, then dropped: still one log
    assert metrics.stats["captured"] == 4
    assert metrics.flush(10)
    metrics.close()
    assert len(collector.wait_for_logs(4)) == 4


def test_a_flask_extension_never_given_the_app_logs_nothing_as_the_row_says(
        collector: Collector) -> None:
    """The row for "every `stats` counter stays 0": ``ReadMeMetrics(config)`` without
    ``init_app(app)`` serves the app's calls unlogged, and says so only by its
    ``middleware`` (None) and its counters."""
    from flask import Flask

    from readme_metrics import MetricsApiConfig
    from readme_metrics.flask_readme import ReadMeMetrics

    row = troubleshooting_row("nothing is captured, every `stats` counter stays 0")
    assert "`metrics.init_app(app)` was never called" in row, row
    assert "`settings.MIDDLEWARE`" in row, row
    app = Flask(__name__)
    app.add_url_rule("/", "hello", lambda: "hello")
    metrics = ReadMeMetrics(MetricsApiConfig(
        api_key="any-key", metrics_api=collector.url, buffer_length=1,
        background_worker_mode=False,
        grouping_function=lambda request: {"api_key": "owlbert-key"}))
    assert app.test_client().get("/", buffered=True).text == "hello"
    assert metrics.middleware is None
    assert set(metrics.stats.values()) == {0}
    assert metrics.flush(1)
    assert collector.received == []


def test_flask_run_finds_the_app_when_wsgi_app_is_wrapped_not_app() -> None:
    """The row for "Failed to find Flask application": wrapping ``app`` hides the Flask
    object from ``flask run``; wrapping ``app.wsgi_app``, as the row says, does not."""
    import types

    from flask import Flask
    from flask.cli import NoAppException, find_best_app

    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    row = troubleshooting_row('`flask run`: "Failed to find Flask application')
    assert "app.wsgi_app = MetricsMiddleware(app.wsgi_app, config)" in row
    config = MetricsApiConfig(enabled=False)
    wrapped = types.SimpleNamespace(__name__="app", app=MetricsMiddleware(Flask("app"), config))
    with pytest.raises(NoAppException, match="Failed to find Flask application or factory"):
        find_best_app(wrapped)
    app = Flask("app")
    app.wsgi_app = MetricsMiddleware(app.wsgi_app, config)
    assert find_best_app(types.SimpleNamespace(__name__="app", app=app)) is app


def test_the_wsgi_middleware_around_an_asgi_app_fails_as_the_row_quotes() -> None:
    """The row for ``readme_metrics.MetricsMiddleware`` (WSGI) wrapping FastAPI: refused
    when it is made, with the TypeError the row quotes (it was the TypeError of every
    request, under uvicorn and hypercorn, until newcomer3)."""
    from fastapi import FastAPI

    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    row = troubleshooting_row("at start-up, `TypeError: readme_metrics: MetricsMiddleware(app, "
                              "config): app is an ASGI app")
    [quoted] = set(re.findall(r"`TypeError: (readme_metrics: [^`]+) \.\.\.`", row))
    with pytest.raises(TypeError) as caught:
        MetricsMiddleware(FastAPI(), MetricsApiConfig(
            api_key="any-key", grouping_function=lambda request: None))
    assert str(caught.value).startswith(quoted), (quoted, str(caught.value))


def test_the_asgi_middleware_around_a_wsgi_app_fails_as_the_row_quotes() -> None:
    """The row for ``readme_metrics.asgi.MetricsMiddleware`` wrapping Flask: refused when
    it is made, with the TypeError the row quotes (it was a 500 for every request under
    uvicorn until newcomer5)."""
    from flask import Flask

    from readme_metrics import MetricsApiConfig
    from readme_metrics.asgi import MetricsMiddleware

    row = troubleshooting_row("at start-up, `TypeError: readme_metrics: MetricsMiddleware(app, "
                              "config): app is a WSGI app")
    [quoted] = set(re.findall(r"`TypeError: (readme_metrics: [^`]+) \.\.\.`", row))
    with pytest.raises(TypeError) as caught:
        MetricsMiddleware(Flask("app"), MetricsApiConfig(
            api_key="any-key", grouping_function=lambda request: None))
    assert str(caught.value).startswith(quoted), (quoted, str(caught.value))


@pytest.mark.parametrize("flag, logged", [
    pytest.param(None, "203.0.113.9", id="uvicorn-defaults"),
    pytest.param("--no-proxy-headers", "127.0.0.1", id="no-proxy-headers"),
])
def test_uvicorn_applies_x_forwarded_for_itself_as_the_row_says(
        collector: Collector, tmp_path: Path, flag: Optional[str], logged: str) -> None:
    """The row for the forwarded address logged with ``trusted_proxies=0`` under uvicorn:
    the server rewrites the client itself for a peer on 127.0.0.1, and
    ``--no-proxy-headers``, as the row says, logs the connection's address."""
    from tests.test_asgi_servers import SERVERS, _env
    from tests.test_e2e_servers import CALLER, DOCS, log_for, serve

    row = troubleshooting_row("ASGI under uvicorn: `clientIPAddress` is the X-Forwarded-For")
    assert "`--no-proxy-headers`" in row and "`trusted_proxies=0`" in row
    port = free_port()
    argv = SERVERS["uvicorn"](port, "tests.support.asgi_apps:starlette_app")
    env = _env(collector, README_BASE_LOG_URL=DOCS)  # no README_TRUSTED_PROXIES: 0
    with serve(argv + ([flag] if flag else []), env, tmp_path, port) as base:
        response = requests.get(f"{base}/hello", timeout=30, headers={
            "X-Api-Key": CALLER, "X-Forwarded-For": "203.0.113.9"})
        assert response.status_code == 200
        assert log_for(collector, response)["clientIPAddress"] == logged
    # Where the log names the proxy (127.0.0.1), the server's output says what to set,
    # once, without the address; where uvicorn applied the header, nothing (newcomer28:
    # nothing was said either way).
    said = (tmp_path / f"server-{port}.log").read_text(errors="replace")
    row = troubleshooting_row("behind a reverse proxy (nginx, a load balancer)")
    [quoted] = re.findall(r'a warning "(requests reach the app through a proxy) \.\.\."', row)
    assert said.count(quoted) == (flag == "--no-proxy-headers"), said
    assert "README_TRUSTED_PROXIES to how many there are" in said or flag is None, said
    assert not [line for line in said.splitlines()
                if "readme_metrics" in line and "203.0.113.9" in line], said


@pytest.mark.parametrize("advised", [True, False], ids=["added-last", "added-first"])
def test_fastapi_metrics_added_last_sees_another_middlewares_own_answers(
        collector: Collector, advised: bool) -> None:
    """README: add ReadMeMetricsMiddleware after the other middleware; added first, a
    response another middleware gives itself (an auth middleware's 401) is not logged,
    and the headers it adds (CORS) are not either. Both orders, so that the symptom
    the Troubleshooting row describes is the one a user sees."""
    import asyncio

    import httpx
    from fastapi import FastAPI, Request
    from fastapi.middleware.cors import CORSMiddleware
    from fastapi.responses import JSONResponse

    from readme_metrics import MetricsApiConfig
    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    quick_start = code_blocks(readme_sections()["Quick start: FastAPI (and any ASGI app)"],
                              "python")[0]
    assert "after your other add_middleware calls" in quick_start
    assert "ReadMeMetricsMiddleware` was added before" in troubleshooting_row(
        "FastAPI or Starlette: a middleware's own answers")
    seen: list[str] = []

    def grouping(request: Any) -> dict[str, str]:
        seen.append(request.headers["x-api-key"])
        return {"api_key": request.headers["x-api-key"]}

    app = FastAPI()
    app.get("/")(lambda: {"hello": "world"})

    def add_metrics() -> None:
        app.add_middleware(ReadMeMetricsMiddleware, config=MetricsApiConfig(
            api_key="any-key", metrics_api=collector.url,
            base_log_url="https://docs.example.com", buffer_length=1,
            grouping_function=grouping))

    if not advised:
        add_metrics()
    app.add_middleware(CORSMiddleware, allow_origins=["https://docs.example.com"])

    @app.middleware("http")
    async def authenticate(request: Request, call_next: Any) -> Any:
        if request.headers["x-api-key"] != "owlbert-key":
            return JSONResponse({"error": "unknown key"}, status_code=401)
        return await call_next(request)

    if advised:
        add_metrics()

    async def calls() -> list[int]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://testserver") as client:
            return [(await client.get("/", headers={
                "x-api-key": key, "origin": "https://docs.example.com"})).status_code
                    for key in ("owlbert-key", "wrong-key")]

    assert asyncio.run(calls()) == [200, 401]  # the app answers the same either way
    metrics = app.middleware_stack
    while not isinstance(metrics, ReadMeMetricsMiddleware):
        metrics = metrics.app  # type: ignore[union-attr]
    assert metrics.flush(30)
    metrics.close()  # no worker left behind for the tests that count threads
    if not advised:
        assert seen == ["owlbert-key"]  # the 401 never reached the metrics middleware
        (log,) = collector.wait_for_logs(1)
        headers = log["request"]["log"]["entries"][0]["response"]["headers"]
        assert "access-control-allow-origin" not in {h["name"].lower() for h in headers}
        return
    assert seen == ["owlbert-key", "wrong-key"]
    logs = collector.wait_for_logs(2)
    responses = {log["request"]["log"]["entries"][0]["response"]["status"]:
                 log["request"]["log"]["entries"][0]["response"] for log in logs}
    assert sorted(responses) == [200, 401]
    # The 401 left the authentication middleware, outside CORS's: no CORS header on it.
    names = {h["name"].lower() for h in responses[200]["headers"]}
    assert "access-control-allow-origin" in names, responses[200]["headers"]


def sigterm_advice() -> str:
    """The row's code that makes SIGTERM an exit, with the imports it says it needs."""
    advice = re.search(r"`([^`]*signal\.signal\(signal\.SIGTERM, [^`]+)` \(with `([^`]+)`\)",
                       troubleshooting_row("the last logs before a stop"))
    assert advice is not None
    return f"{advice.group(2)}\n{advice.group(1)}"


_OFF_THE_MAIN_THREAD = """
import signal, threading
advice = {advice!r}
errors = []
def run():
    try:
        exec(advice, {{}})
    except Exception as exc:
        errors.append(repr(exc))
thread = threading.Thread(target=run)
thread.start()
thread.join()
print(errors, signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
exec(advice, {{}})  # on the main thread it still makes SIGTERM an exit
print(signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
"""


def test_the_sigterm_advice_is_safe_off_the_main_thread() -> None:
    """A settings module may be imported off the main thread (a server that loads the app
    in a worker thread): ``signal.signal`` raises ValueError there, and the advised line
    must then do nothing rather than fail the import."""
    done = run_command([sys.executable, "-c",
                        _OFF_THE_MAIN_THREAD.format(advice=sigterm_advice())],
                       capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["[] True", "False"], done.stdout


def test_the_django_example_settings_hold_the_advised_sigterm_line() -> None:
    """README's advice and the example's settings.py say the same thing."""
    settings = (EXAMPLES / "django" / "exampleproject" / "settings.py").read_text()
    code = " ".join(line.strip().rstrip("\\").strip() for line in settings.splitlines()
                    if not line.lstrip().startswith("#"))
    advice = sigterm_advice().split("\n")
    assert advice[1] in code, advice[1]
    for module in advice[0].removeprefix("import ").split(", "):
        assert f"import {module}" in settings, module


@pytest.mark.e2e
@pytest.mark.parametrize("handled", [False, True], ids=["sigterm", "sigterm-handled"])
def test_sigterm_loses_the_last_logs_unless_the_app_makes_it_an_exit(
        tmp_path: Path, collector: Collector, handled: bool) -> None:
    """The WSGI quick start under wsgiref, stopped by SIGTERM within flush_interval."""

    port = free_port()
    command = _wsgi(tmp_path, port)
    if handled:
        app = tmp_path / "app.py"
        main = 'if __name__ == "__main__":'
        app.write_text(app.read_text().replace(main, f"{sigterm_advice()}\n\n{main}"))
    # flush_interval stays 5 s: the log waits. A POST answered past the 3 s default
    # timeout under load was sent again by the exit flush, one log twice (review152).
    env = app_environment(collector.url, README_TIMEOUT=str(INLINE_TIMEOUT))
    log = tmp_path / "app-output.txt"
    proc = _start_app(command, tmp_path, env, port, log)
    try:
        assert _get_until_closed(port, "/").startswith(b"HTTP/1.0 200 ")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    if handled:
        assert len(collector.wait_for_logs(1)) == 1  # sent by the exit flush
    else:  # the process is gone: nothing can arrive any more
        assert collector.wait_for_logs(0) == [], log.read_text()


def _until_said(said: Callable[[], bool]) -> None:
    """Until ``said()`` (the messages a test looks for were logged), PATIENCE at most:
    the test's own assertions then say what was missing."""
    deadline = time.monotonic() + PATIENCE
    while not said() and time.monotonic() < deadline:
        time.sleep(0.02)


def _quoted_pattern(symptom: str) -> re.Pattern[str]:
    """The log message the row quotes, ``N`` standing for a number, ``...`` for anything."""
    quoted = re.search(r'"([^"]+)"', troubleshooting_row(symptom))
    assert quoted is not None, symptom
    pattern = re.escape(quoted.group(1)).replace(r"\.\.\.", ".*")
    return re.compile(re.sub(r"\bN\b", r"\\d+", pattern))


@pytest.mark.parametrize(("symptom", "https"), [
    pytest.param('one error "the Metrics API at ... refused', "", id="refused"),
    # The first warning of a dead collector: the batch is dropped a minute or more on.
    pytest.param('a warning "3 POSTs in a row to ... failed', "", id="deliver"),
    # README_METRICS_SERVER=https://127.0.0.1:8001: collect speaks plain HTTP
    pytest.param('a warning "could not deliver a batch of ... to https://', "plain",
                 id="deliver-https-to-http"),
    pytest.param("a warning \"could not deliver a batch of ... to ...: the server's TLS",
                 "untrusted", id="deliver-untrusted-certificate"),
    pytest.param('a warning "could not look up', "", id="look-up"),
])
def test_troubleshooting_quotes_the_messages_the_library_logs(
        collector: Collector, caplog: pytest.LogCaptureFixture, symptom: str,
        https: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """A newcomer searches the table for the line in their log: it must be that line."""
    import logging

    from werkzeug.test import Client

    from readme_metrics import MetricsApiConfig, MetricsMiddleware
    from tests.support.fake_api import Reply
    from tests.support.tls import TLSCollector, make_certificates

    collector.default = Reply(401)
    url = collector.url if "refused" in symptom else f"http://127.0.0.1:{free_port()}"
    if https == "plain":
        url = collector.url.replace("http://", "https://")
    elif https == "untrusted":  # a certificate of a CA made here, trusted nowhere
        tls = TLSCollector(make_certificates(tmp_path))
        tls.start()
        request.addfinalizer(tls.stop)
        url = tls.url

    def hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello"]

    # The docs URL lookup asks readme_api_url: the dead port, for that row.
    docs = None if "look up" in symptom else "https://docs.example.com"
    app = MetricsMiddleware(hello, MetricsApiConfig(
        api_key="any-key", metrics_api=url, base_log_url=docs, readme_api_url=url,
        grouping_function=lambda request: {"api_key": "owlbert-key"}, shutdown_timeout=0.5))
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    pattern = _quoted_pattern(symptom)

    def said(messages: list[str]) -> bool:
        return bool([m for m in messages if pattern.search(m)]) and (not https or bool(
            [m for m in messages if "could not deliver" in m and "; SSLError: " in m
             and url in m]))

    assert Client(app).get("/", buffered=True).status_code == 200
    # Each message comes within a second or two: a dead collector's batch is retried
    # for a minute or more, which no flush waits for (delivery16). The batch is sent
    # now, and the messages waited for as they are said (a flush(5) waited out its 5 s
    # on the dead ports' rows, and the close up to its shutdown_timeout after it).
    assert not app.flush(0)
    _until_said(lambda: said([record.getMessage() for record in caplog.records]))
    app.close()
    messages = [record.getMessage() for record in caplog.records]
    if https:
        row = troubleshooting_row(symptom)
        assert [m for m in messages if "could not deliver" in m and "; SSLError: " in m
                and url in m], messages
        assert ("`https://`" in row and "`http://`" in row if https == "plain"
                else "`REQUESTS_CA_BUNDLE`" in row), row
    assert [m for m in messages if pattern.search(m)], (pattern.pattern, messages)


def test_observability_names_every_counter_and_what_metrics_off_gives() -> None:
    """The counters README lists are ``stats``' keys; with metrics off, README's words hold
    (they said ``{}`` while every counter was there at 0)."""
    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    section = readme_sections()["How logs reach ReadMe"]
    bullet = " ".join(section.split("**Observability.**", 1)[1].split("\n- ")[0].split())
    named = set(re.findall(r"`(\w+)`", bullet))

    def hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello"]

    on = MetricsMiddleware(hello, MetricsApiConfig(
        api_key="any-key", grouping_function=lambda request: None,
        metrics_api=f"http://127.0.0.1:{free_port()}", base_log_url="https://docs.example.com"))
    try:
        assert named == set(on.stats), named ^ set(on.stats)
    finally:
        on.close()
    off = MetricsMiddleware(hello, MetricsApiConfig(enabled=False))
    assert "with metrics turned off every counter is 0" in bullet, bullet
    assert off.stats == dict.fromkeys(named, 0)


@pytest.mark.e2e
@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM"], ids=["ctrl-c", "sigterm"])
def test_the_wsgi_example_stops_without_a_traceback_and_sends_its_logs(
        tmp_path: Path, collector: Collector, stop: str) -> None:
    """Ctrl-C is how a newcomer stops it (a KeyboardInterrupt traceback read as a crash,
    and one landing in a request was swallowed by wsgiref, which kept serving); SIGTERM is
    how a deployment does, and lost the last logs."""

    port = free_port()
    env = app_environment(collector.url, PORT=str(port))  # flush_interval stays 5 s
    log = tmp_path / "app-output.txt"
    inherited = signal.getsignal(signal.SIGINT)
    proc = _start_app([sys.executable, str(EXAMPLES / "wsgi_app.py")], tmp_path, env, port,
                      log)
    try:
        assert _get_until_closed(port, "/pets").startswith(b"HTTP/1.0 200 ")
        # The stop comes once the example says it serves, as a user's would: its port
        # opens before its wait's try, and a stop sent before could land there (Python
        # 3.13 here: a traceback in Thread.start(), the request already answered).
        wait_until_said(proc, log, "serving on")
    finally:
        proc.send_signal(getattr(signal, stop))
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError(f"{stop} did not stop it (SIGINT here: {inherited!r}):\n"
                                 f"{log.read_text()}") from None
    output = log.read_text()
    assert proc.returncode == 0 and "Traceback" not in output, output
    assert len(collector.wait_for_logs(1)) == 1  # sent by the exit flush


def test_the_api_key_placeholder_survives_the_shell_and_is_refused_clearly() -> None:
    """Pasted as written, ``README_API_KEY=<your ReadMe API key> python app.py`` made bash
    read a file named ``your`` ("No such file or directory") before Python started: the
    placeholder must reach the library, whose error says what to do instead."""
    from readme_metrics import MetricsApiConfig

    assignments = re.findall(r"`(README_API_KEY=(?:'[^']*'|\"[^\"]*\"|\S+)) ",
                             README.read_text(encoding="utf-8"))
    assert len(assignments) >= 4, assignments
    for assignment in assignments:
        shell = run_command(["bash", "-c", f"{assignment} printenv README_API_KEY"],
                            capture_output=True, text=True, timeout=10)
        assert shell.returncode == 0 and not shell.stderr, (assignment, shell.stderr)
        with pytest.raises(ValueError) as raised:
            MetricsApiConfig(api_key=shell.stdout.strip(), grouping_function=print)
        assert "placeholder" in str(raised.value)
        assert "readme-metrics collect" in str(raised.value), "no key yet: say how to try"


def test_the_placeholders_configuration_names_are_refused_or_warned_as_it_says(
        caplog: pytest.LogCaptureFixture) -> None:
    """README names which copied placeholders are refused at start-up and which are only
    warned about (a whole word such as YOUR_API_KEY: the official package's tests use
    such dummy keys); it said YOUR_API_KEY was refused after that had changed."""
    import logging

    from readme_metrics import MetricsApiConfig, config

    text = " ".join(readme_sections()["Configuration"].split())
    refused_part, found, warned_part = text.partition(" is refused as a key;")
    assert found, "Configuration no longer says which placeholders are refused"
    refused = re.findall(r"`([^`]+)`", refused_part.rsplit("The placeholder", 1)[1])
    warned = re.findall(r"`([^`]+)`",
                        warned_part.split(" is accepted with one warning", 1)[0])
    assert refused and warned, (refused, warned)
    for key in refused:
        with pytest.raises(ValueError, match="placeholder"):
            MetricsApiConfig(api_key=key, grouping_function=print)
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    for key in warned:
        config._WARNED.reset()  # once per process: see it for each key
        caplog.clear()
        assert MetricsApiConfig(api_key=key, grouping_function=print).api_key == key
        assert any("placeholder" in r.getMessage() for r in caplog.records), key


@pytest.mark.e2e
def test_the_django_grouping_module_may_import_models(tmp_path: Path,
                                                      collector: Collector) -> None:
    """A grouping function that looks the caller up imports models. README_METRICS_CONFIG
    is built while settings.py runs, before Django loads its apps: importing that module
    then raised AppRegistryNotReady out of MetricsApiConfig, and the project did not start."""
    port = free_port()
    command = _django(tmp_path, port)
    grouping = tmp_path / "myapp" / "metrics.py"
    grouping.write_text("from django.contrib.auth.models import User\n\n"
                        + grouping.read_text()
                        + "\n\nassert User._meta.app_label == 'auth'\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("README_")}
    env.update({"README_API_KEY": "any-key", "README_METRICS_SERVER": collector.url,
                "README_FLUSH_INTERVAL": "0.2",
                "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO_ROOT)])})
    log = tmp_path / "app-output.txt"
    proc = _start_app(command, tmp_path, env, port, log)
    try:
        answer = requests.get(f"http://127.0.0.1:{port}/",
                              headers={"X-Api-Key": "owlbert-key"}, timeout=ANSWER_WAIT)
        logs = _one_log(collector, log)
    finally:
        proc.terminate()
        proc.wait(20)
    assert len(logs) == 1, log.read_text()
    assert logs[0]["group"]["label"] == "Customer name"
    assert logs[0]["request"]["log"]["entries"][0]["response"]["status"] == answer.status_code


_SLOW_URLS = """\
import time
from pathlib import Path

from django.http import JsonResponse
from django.urls import path


def slow(request):
    Path("in-view").touch()  # the test stops the server once the request is in here
    time.sleep(1)
    return JsonResponse({"slow": True})


urlpatterns = [path("slow", slow)]
"""


def _uvicorn_loads_the_app_first() -> bool:
    """uvicorn 0.47 and later import the app before taking SIGTERM; before, the settings'
    check finds uvicorn's handler and leaves SIGTERM to it (README says so)."""
    from importlib.metadata import version

    return tuple(int(part) for part in version("uvicorn").split(".")[:2]) >= (0, 47)


_OLD_UVICORN = pytest.mark.skipif(not _uvicorn_loads_the_app_first(),
                                  reason="uvicorn < 0.47 takes SIGTERM before the app loads")


@pytest.mark.e2e
@pytest.mark.parametrize("server", ["gunicorn", pytest.param("uvicorn", marks=_OLD_UVICORN)])
def test_the_sigterm_advice_in_settings_keeps_the_servers_graceful_stop(
        tmp_path: Path, collector: Collector, server: str) -> None:
    """Troubleshooting's SIGTERM line in the Django quick start's settings.py, the place it
    names. Under gunicorn it took the worker's graceful stop: a request in flight when the
    server was stopped got a 500. Under uvicorn (Django's ASGI handler has no lifespan) it
    is what sends the last logs: uvicorn raises SIGTERM again once it has shut down."""

    port = free_port()
    _django(tmp_path, port)
    settings = tmp_path / "mysite" / "settings.py"
    settings.write_text(f"{settings.read_text()}\n{sigterm_advice()}\n")
    (tmp_path / "mysite" / "urls.py").write_text(_SLOW_URLS)
    command = {"gunicorn": ["gunicorn", "-b", f"127.0.0.1:{port}", "mysite.wsgi"],
               "uvicorn": ["uvicorn", "--port", str(port), "mysite.asgi:application"]}
    env = app_environment(collector.url, tmp_path)
    log = tmp_path / "app-output.txt"  # flush_interval stays 5 s: the log waits
    proc = _start_app([sys.executable, "-m", *command[server]], tmp_path, env, port, log)
    try:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(requests.get, f"http://127.0.0.1:{port}/slow",
                                 headers={"X-Api-Key": "owlbert-key"}, timeout=20)
            deadline = time.monotonic() + 20
            while not (tmp_path / "in-view").exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            proc.send_signal(signal.SIGTERM)
            status = answer.result().status_code
        assert status == 200, log.read_text()
        proc.wait(20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert len(collector.wait_for_logs(1)) == 1, log.read_text()  # sent on the way out


@pytest.mark.e2e
@_OLD_UVICORN
def test_the_django_example_sends_its_last_logs_when_uvicorn_stops(
        tmp_path: Path, collector: Collector) -> None:
    """The example says it runs under an ASGI server: uvicorn raises SIGTERM again once it
    has shut down, and without the settings' handler the logs still queued were lost."""

    cwd = EXAMPLES / "django"
    port = free_port()
    # flush_interval stays 5 s: the log waits. A POST answered past the 3 s default
    # timeout under load was sent again by the exit flush, one log twice (review152).
    env = app_environment(collector.url, README_TIMEOUT=str(INLINE_TIMEOUT))
    log = tmp_path / "app-output.txt"
    answer = _get_then_sigterm([sys.executable, "-m", "uvicorn", "--port", str(port),
                                "exampleproject.asgi:application"], cwd, env, port, log,
                               "/pets")
    assert answer.status_code == 200
    assert len(collector.wait_for_logs(1)) == 1, log.read_text()


# -- what a newcomer's machine may hold: a proxy, a CA bundle, gunicorn ------------------


def _deliver_once(metrics_api: str, flush: float = 30.0,
                  said: Optional[re.Pattern[str]] = None) -> tuple[bool, list[str]]:
    """One call through the WSGI middleware sending to ``metrics_api``, as the environment
    stands (the middleware reads the proxies and CA bundle when it starts): (all
    delivered, the warnings logged). With ``said``, the batch is sent at once and the
    warning matching it waited for (PATIENCE at most), the close then bounded to 0.5 s:
    delivered is the flush's answer as the batch went out."""
    import logging

    from werkzeug.test import Client

    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    def hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello"]

    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("readme_metrics")
    logger.addHandler(handler)
    try:
        bound = {} if said is None else {"shutdown_timeout": 0.5}
        app = MetricsMiddleware(hello, MetricsApiConfig(
            api_key="any-key", metrics_api=metrics_api, base_log_url="https://docs.example.com",
            grouping_function=lambda request: {"api_key": "owlbert-key"}, **bound))
        assert Client(app).get("/", buffered=True).status_code == 200
        delivered = app.flush(0 if said is not None else flush)
        if said is not None:
            _until_said(lambda: any(said.search(r.getMessage()) for r in list(records)))
        app.close()
    finally:
        logger.removeHandler(handler)
    return delivered, [record.getMessage() for record in records]


_PROXIES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
            "ALL_PROXY", "no_proxy", "NO_PROXY")


def test_a_proxy_of_the_machine_and_the_no_proxy_advice(collector: Collector,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The row's message is what a proxy variable gives against the local collector, and
    its advice, NO_PROXY=127.0.0.1 kept with what it held, brings the log."""
    for name in _PROXIES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{free_port()}")  # nothing there
    pattern = _quoted_pattern('a warning "3 POSTs in a row to http://127')
    delivered, messages = _deliver_once(collector.url, said=pattern)  # said within 2 s
    assert not delivered and collector.logs == []
    assert [m for m in messages if pattern.search(m)], (pattern.pattern, messages)
    row = troubleshooting_row('a warning "3 POSTs in a row to http://127')
    assert "`export NO_PROXY=127.0.0.1`" in row and "`NO_PROXY=127.0.0.1,$NO_PROXY`" in row
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,")  # the second form, NO_PROXY unset before
    delivered, messages = _deliver_once(collector.url)
    assert delivered and len(collector.logs) == 1, messages


def test_curl_ca_bundle_counts_only_where_requests_ca_bundle_is_unset(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        request: pytest.FixtureRequest) -> None:
    """The certificate row said "set REQUESTS_CA_BUNDLE (or CURL_CA_BUNDLE)": where the
    system sets REQUESTS_CA_BUNDLE (this machine's image does), CURL_CA_BUNDLE is ignored,
    as requests reads REQUESTS_CA_BUNDLE first."""
    from requests.utils import DEFAULT_CA_BUNDLE_PATH

    from tests.support.tls import TLSCollector, make_certificates

    certificates = make_certificates(tmp_path)
    tls = TLSCollector(certificates)
    tls.start()
    request.addfinalizer(tls.stop)
    row = troubleshooting_row("a warning \"could not deliver a batch of ... to ...: the "
                              "server's TLS")
    assert ("`CURL_CA_BUNDLE` works too, but only where `REQUESTS_CA_BUNDLE` is unset"
            in row), row
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", DEFAULT_CA_BUNDLE_PATH)  # public CAs only
    monkeypatch.setenv("CURL_CA_BUNDLE", str(certificates.ca))
    delivered, messages = _deliver_once(tls.url)
    assert not delivered and any("CERTIFICATE_VERIFY_FAILED" in m for m in messages)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificates.ca))  # the advice
    assert _deliver_once(tls.url)[0]
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")  # CURL_CA_BUNDLE alone
    assert _deliver_once(tls.url)[0]
    assert len(tls.received) == 2


@pytest.mark.e2e
def test_the_django_quick_start_under_gunicorn_sends_its_last_logs_at_the_stop(
        tmp_path: Path, collector: Collector) -> None:
    """README's gunicorn line, typed in the Django quick start's project: a call made
    just before SIGTERM, with flush_interval at its 5 s, arrives (gunicorn's stop is an
    exit for each worker)."""
    section = readme_sections()["Quick start: Django"]
    (line,) = re.findall(r"`README_API_KEY='<your ReadMe API key>' (gunicorn [^`]+)`", section)
    assert "-b 127.0.0.1:8000" in line and "-w 2" in line, line
    _django(tmp_path, 0)
    port = free_port()
    command = [sys.executable, "-m", *line.replace("8000", str(port)).split()]
    env = app_environment(collector.url, tmp_path)
    log = tmp_path / "app-output.txt"
    proc = _start_app(command, tmp_path, env, port, log)
    try:
        answers = [requests.get(f"http://127.0.0.1:{port}/{path}", timeout=ANSWER_WAIT,
                                headers={"X-Api-Key": "owlbert-key"}).status_code
                   for path in ("one", "two", "three")]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log.read_text()
    logs = _one_log(collector, log, 3)
    assert answers == [404] * 3
    assert sorted(log["request"]["log"]["entries"][0]["request"]["url"].rsplit("/", 1)[1]
                  for log in logs) == ["one", "three", "two"]


@pytest.mark.e2e
@READS_UNREAD
def test_an_unread_body_under_gunicorn_sent_whole_is_logged_whole(
        tmp_path: Path, collector: Collector) -> None:
    """What is sent (docs/BODIES.md): under gunicorn an unread body is read through
    gunicorn's own wsgi.input as far as it has arrived, so one sent whole is logged whole, past the
    receive buffer's worth (about 128 KiB) a copy could have."""
    from tests.support.unread_gunicorn import unread_body_under_gunicorn

    sentence = " ".join((REPO_ROOT / "docs" / "BODIES.md").read_text(encoding="utf-8").split())
    assert ("Under gunicorn an unread body is read through gunicorn's own `wsgi.input`, only "
            "as far as it has arrived, so a body the client sent whole is logged whole") in (
                sentence)
    post = unread_body_under_gunicorn(tmp_path, collector, "gthread", 260_000)
    assert "comment" not in post, post.get("comment")
    assert post["text"] == "x" * 260_000


def _companion_blocks() -> list[Any]:
    """The code blocks of README's Companions section and docs/COMPANIONS.md that wrap an
    app (``app.wsgi_app = ...``, ``app.add_middleware(...)``), as pytest params."""
    blocks = [("README", code) for code in code_blocks(
        readme_sections()["Companions: webhooks, CORS, request ids"], "python")]
    page = (REPO_ROOT / "docs" / "COMPANIONS.md").read_text(encoding="utf-8")
    blocks += [("COMPANIONS.md", code) for code in re.findall(
        r"^```python\n(.*?)^```", page, flags=re.M | re.S)]
    wrapping = [(where, code) for where, code in blocks
                if "app.wsgi_app = " in code or "app.add_middleware(" in code]
    return [pytest.param(code, id=f"{where}-{index}")
            for index, (where, code) in enumerate(wrapping)]


@pytest.mark.parametrize("code", _companion_blocks())
def test_the_companion_snippets_run_as_written(code: str, collector: Collector,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """README's and docs/COMPANIONS.md's snippets that wrap an app, run on the app they
    assume (a Flask app for ``app.wsgi_app``, a FastAPI app for ``add_middleware``), with
    ``MetricsApiConfig(...)`` filled in: the call is answered, CORS and request-id
    headers are on the answer where the snippet adds them, and a stack with the metrics
    middleware logs the call, with the id the client got."""
    from flask import Flask
    from starlette.testclient import TestClient

    from readme_metrics import MetricsApiConfig
    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    monkeypatch.setenv("CORS_ALLOWED", "https://app.example.com")
    filled = code.replace("MetricsApiConfig(...)", (
        "MetricsApiConfig(api_key='any-key', metrics_api=COLLECTOR, buffer_length=1, "
        "grouping_function=lambda request: {'api_key': 'owlbert-key'})"))
    origin = {"Origin": "https://app.example.com"}
    if "app.wsgi_app = " in code:
        from werkzeug.test import Client

        app: Any = Flask(__name__)
        app.get("/")(lambda: "hello")
        exec(filled, {"app": app, "COLLECTOR": collector.url})  # noqa: S102 - README's code
        answer = Client(app).get("/", headers=origin, buffered=True)
        headers = {name.lower(): value for name, value in answer.headers.items()}
        status = answer.status_code
    else:
        from fastapi import FastAPI

        app = FastAPI()
        app.get("/")(lambda: "hello")
        exec(filled, {"app": app, "COLLECTOR": collector.url,  # noqa: S102
                      "MetricsApiConfig": MetricsApiConfig,
                      "ReadMeMetricsMiddleware": ReadMeMetricsMiddleware})
        with TestClient(app) as client:
            response = client.get("/", headers=origin)
        headers, status = dict(response.headers), response.status_code
    assert status == 200
    if "CORSMiddleware(" in code or "add_middleware(CORSMiddleware" in code:
        assert headers.get("access-control-allow-origin") == origin["Origin"], headers
    if "RequestIdMiddleware(" in code or "add_middleware(RequestIdMiddleware" in code:
        assert headers.get("x-request-id"), headers
    if "MetricsApiConfig(...)" in code:
        (log,) = collector.wait_for_logs(1)
        assert headers["x-request-id"] in json.dumps(log)
