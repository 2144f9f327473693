"""The ``readme-metrics`` command line: help, argument errors, and ``demo`` end to end."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from readme_metrics.cli import main
from readme_metrics.cli.signals import WORK_DONE, StopSignals
from tests.support.command import REPO_ROOT, CommandProcess
from tests.support.fake_api import free_port
from tests.support.har_check import assert_valid_log
from tests.support.har_file import har_file_logs
from tests.support.processes import run_command


@pytest.mark.parametrize(("argv", "expected"), [
    pytest.param(["--help"], ["collect", "demo", "README_METRICS_SERVER",
                              "readme-metrics demo --requests 20",
                              # collect --host 0.0.0.0 is allowed: the help must not promise
                              # that nothing leaves 127.0.0.1
                              "listen on 127.0.0.1 unless 'collect --host' names another "
                              "address",
                              # each code, as the tests below see the commands exit
                              "exit status: 0 stopped by Ctrl-C or SIGTERM, or every call of "
                              "'demo --requests N' made and its log accepted; 1 'demo "
                              "--requests N' did not get there; 2 wrong arguments, or a port "
                              "or HAR file that cannot be used"], id="command"),
    pytest.param(["collect", "--help"], ["POST /v1/request", "--api-key KEY", "--keep N",
                                         "(default: 8001)", "(default: 127.0.0.1)",
                                         "HAR 1.2"], id="collect"),
    pytest.param(["demo", "--help"], ["--requests N", "--har FILE", "Ctrl-C",
                                      "(default: readme-metrics-demo.har)"], id="demo"),
])
def test_help_reads_well(capsys: pytest.CaptureFixture[str], argv: list[str],
                         expected: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    flowing = " ".join(out.split())  # argparse wraps to the terminal width
    for text in expected:
        assert text in flowing, f"{text!r} not in help:\n{out}"
    assert max(len(line) for line in out.splitlines()) <= 100  # fits a terminal


def test_an_address_it_cannot_listen_on_is_named(capsys: pytest.CaptureFixture[str],
                                                 tmp_path: Path) -> None:
    """It said "cannot start: [Errno 99] Cannot assign requested address": which one?"""
    har = tmp_path / "x.har"
    assert main(["collect", "--host", "192.0.2.1", "--port", "0", "--har", str(har)]) == 2
    err = capsys.readouterr().err
    assert "cannot listen on 192.0.2.1 port 0" in err and "--host" in err, err


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: readme-metrics" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    pytest.param(["collect", "--port", "70000"], "port must be 0-65535", id="port-range"),
    pytest.param(["collect", "--port", "http"], "not a port number", id="port-text"),
    pytest.param(["collect", "--keep", "0"], "must be at least 1", id="keep-zero"),
    pytest.param(["demo", "--requests", "-3"], "must be at least 1", id="requests-negative"),
    # (house56 folded the three converters' reading: each still says what it wanted)
    pytest.param(["collect", "--keep", "many"], "not a whole number: 'many'", id="keep-text"),
    pytest.param(["collect", "--summary-every", "soon"], "not a number of seconds: 'soon'",
                 id="summary-text"),
    pytest.param(["serve"], "invalid choice", id="unknown-command"),
    # --api-key "$KEY" with KEY unset: every log would be refused (no app key is empty)
    pytest.param(["collect", "--api-key", ""], "--api-key: empty", id="api-key-empty"),
    pytest.param(["collect", "--summary-every", "-1"], "must be 0 or more seconds",
                 id="summary-negative"),
    pytest.param(["collect", "--summary-every", "nan"], "must be 0 or more seconds",
                 id="summary-nan"),
])
def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str],
                              message: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("command", ["collect", "demo"])
def test_an_unknown_option_of_a_command_is_named_with_that_commands_usage(
        capsys: pytest.CaptureFixture[str], command: str) -> None:
    """It said "readme-metrics: error: unrecognized arguments: --bogus" under the usage of
    ``readme-metrics`` itself, which lists no option of the command to pick instead."""
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--prot", "0"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"usage: readme-metrics {command} [-h]" in err, err
    assert f"readme-metrics {command}: error: unrecognized arguments: --prot 0" in err, err


def test_version(tmp_path: Path) -> None:
    from readme_metrics.version import __version__

    with CommandProcess("--version", cwd=tmp_path) as proc:
        assert proc.wait(60) == 0
    assert proc.stdout.strip() == f"readme-metrics {__version__}"


def test_demo_requests_writes_a_valid_har_file(tmp_path: Path) -> None:
    """README's first command: 20 calls, 20 valid HAR 1.2 entries, exit 0."""
    with CommandProcess("demo", "--requests", "20", cwd=tmp_path) as proc:
        assert proc.wait(120) == 0, proc.stdout + proc.stderr
    har = tmp_path / "readme-metrics-demo.har"
    assert f"HAR file:    {har} (20 entries" in proc.stdout
    # The calls it made, and where to see what was sent: said before the first call's line.
    calls = [n for n, line in enumerate(proc.lines) if " ms" in line and ":" in line[:3]]
    (said,) = [n for n, line in enumerate(proc.lines) if "calls the example API 20 times" in line]
    assert said < calls[0] and "log as the collector received it" in proc.lines[said]
    # newcomer18: "passwords redacted" alone read as a default of the library.
    assert ("it holds what was sent for each call (caller keys masked, always; passwords "
            'redacted by the demo\'s denylist=["password"]: your app redacts only what its '
            "denylist names)") in proc.stdout, proc.stdout
    # newcomer41: what one log holds was only in the HAR file, for a browser's devtools
    # a newcomer on a server has not got: the login's log, as sent, comes last but the
    # next step (newcomer42: the run ended there, with no word of how to see their own
    # app's calls, nor of the demo that serves until Ctrl-C).
    (sample,) = [n for n, line in enumerate(proc.lines) if line.startswith("one log, as sent:")]
    (following,) = [n for n, line in enumerate(proc.lines) if line.startswith("next:")]
    assert sample < following == len(proc.lines) - 3, proc.stdout
    then = " ".join(" ".join(proc.lines[following:]).split())
    assert ("next: your own app's calls: `readme-metrics collect` in one terminal, the app "
            "in another with the export line it prints (README.md, \"See it locally\"); "
            "`readme-metrics demo` alone serves this API until Ctrl-C") in then, then
    shown = "\n".join(proc.lines[sample:following])
    assert "POST /api/login" in proc.lines[sample], shown
    assert re.search(r"X-Api-Key: +sha512-\S+\?\w{4} \(the caller's key, masked\)", shown), shown
    assert re.search(r"password=\[REDACTED \d+\] \(password: in the demo's denylist\)",
                     shown), shown
    assert '"token": "demo-token-' in shown and "as the app wrote it" in shown, shown
    assert re.search(r"caller: +\w+ \([^)]+\) <\S+@\S+>, id sha512-", shown), shown
    # The servers are gone when it exits: no URL a newcomer would open to find nothing.
    assert "http://" not in proc.stdout, proc.stdout
    logs = har_file_logs(har)
    assert len(logs) == 20
    for log in logs:
        assert_valid_log(log)
    methods = {log["request"]["log"]["entries"][0]["request"]["method"] for log in logs}
    statuses = {log["request"]["log"]["entries"][0]["response"]["status"] // 100
                for log in logs}
    assert methods >= {"GET", "POST", "DELETE"} and statuses >= {2, 4, 5}
    mime_types = {log["request"]["log"]["entries"][0]["request"].get("postData", {})
                  .get("mimeType", "").split(";")[0] for log in logs}
    assert mime_types >= {"application/json", "application/x-www-form-urlencoded",
                          "multipart/form-data"}
    passwords = [param["value"] for log in logs
                 for param in log["request"]["log"]["entries"][0]["request"]
                 .get("postData", {}).get("params", []) if param["name"] == "password"]
    assert passwords and all(p.startswith("[REDACTED") for p in passwords)  # the denylist
    assert "middleware:  captured 20, skipped 0, sent 20, dropped 0" in proc.stdout
    assert "collector:   20 logs accepted, 0 refused" in proc.stdout
    assert len([line for line in proc.lines if " ms" in line and ":" in line[:3]]) == 20


def test_demo_har_option_and_fresh_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "run.har"
    target.parent.mkdir()
    for _ in range(2):  # a second run replaces the file: it holds this run only
        with CommandProcess("demo", "--requests", "3", "--har", str(target),
                            cwd=tmp_path) as proc:
            assert proc.wait(120) == 0, proc.stderr
    assert len(har_file_logs(target)) == 3
    assert not (tmp_path / "readme-metrics-demo.har").exists()


@pytest.mark.parametrize("name, text", [
    pytest.param("notes.txt", "my notes\n", id="text"),
    pytest.param("app.py", "print('hello')\n", id="code"),
    pytest.param("data.json", '{"log": "not a har"}', id="other-json"),
])
def test_demo_never_replaces_a_file_that_is_not_a_har_file(tmp_path: Path, name: str,
                                                           text: str) -> None:
    """``--har app.py`` (a slip) replaced the file with a HAR document, as collect never
    does: the demo replaces only its own kind of file, and says which file to choose."""
    target = tmp_path / name
    target.write_text(text)
    with CommandProcess("demo", "--requests", "2", "--har", str(target),
                        cwd=tmp_path) as proc:
        assert proc.wait(120) == 2
    assert target.read_text() == text
    assert "is not a HAR file" in proc.stderr and "--har" in proc.stderr, proc.stderr
    assert "--collector-port" not in proc.stderr, proc.stderr  # not a port problem


@pytest.mark.parametrize("command", ["collect", "demo"])
@pytest.mark.parametrize("where", ["missing-folder", "a-folder"])
def test_a_har_path_that_cannot_be_written_is_named_as_such(tmp_path: Path, command: str,
                                                            where: str) -> None:
    """It was reported as a port problem ("cannot start the collector on port 0 ... try
    --collector-port 0") or by the name of a temporary file the user never chose."""
    target = tmp_path / "no-such-folder" / "x.har" if where == "missing-folder" else tmp_path
    args = ["--requests", "1"] if command == "demo" else ["--port", "0"]
    with CommandProcess(command, *args, "--har", str(target), cwd=tmp_path) as proc:
        assert proc.wait(60) == 2
    message = proc.stderr
    assert f"cannot write the HAR file {target}" in message, message
    assert "choose another file with --har" in message, message
    assert "port" not in message and ".tmp" not in message, message


@pytest.mark.parametrize("sig", [
    pytest.param(signal.SIGTERM, id="sigterm"),
    pytest.param(signal.SIGINT, id="ctrl-c"),
])
def test_demo_serves_until_stopped_and_flushes(tmp_path: Path, sig: int) -> None:
    with CommandProcess("demo", "--port", "0", "--collector-port", "0", cwd=tmp_path) as proc:
        api = proc.wait_for(r"example API: (http://127\.0\.0\.1:\d+)/").group(1)
        dashboard = proc.wait_for(r"dashboard:   (http://127\.0\.0\.1:\d+)/").group(1)
        proc.wait_for("Press Ctrl-C to stop.")
        response = requests.post(api + "/api/items", json={"name": "last call"},
                                 headers={"X-Api-Key": "demo-key-bob"}, timeout=10)
        assert response.status_code == 201
        # Queued in the middleware (batches of 5, or 0.5 s): the stop must flush it.
        assert proc.stop(sig) == 0, proc.stderr
    assert "collector:   1 log accepted, 0 refused" in proc.stdout
    logs = har_file_logs(tmp_path / "readme-metrics-demo.har")
    assert [log["group"]["label"] for log in logs] == ["Bob (Globex)"]
    assert_valid_log(logs[0])
    assert logs[0]["development"] is True
    assert dashboard.startswith("http://127.0.0.1:")


@pytest.mark.parametrize(("flag", "other", "what"), [
    pytest.param("--port", "--collector-port", "serve the example API", id="api"),
    pytest.param("--collector-port", "--port", "start the collector", id="collector"),
])
def test_demo_port_in_use_is_a_clear_error(tmp_path: Path, flag: str, other: str,
                                           what: str) -> None:
    """Worded as collect's (it said "[Errno 98] Address already in use (try --port 0)")."""
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        with CommandProcess("demo", flag, port, other, "0", cwd=tmp_path) as proc:
            assert proc.wait(60) == 2
    assert proc.stderr == (
        f"readme-metrics demo: cannot {what}: port {port} on 127.0.0.1 is already in use "
        f"(another collector or app?). Use {flag} 0 to pick any free port, or {flag} N for "
        "another one.\n"), proc.stderr


def test_collect_port_in_use_suggests_port_0(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        with CommandProcess("collect", "--port", port, cwd=tmp_path) as proc:
            assert proc.wait(60) == 2
    assert f"port {port} on 127.0.0.1 is already in use" in proc.stderr
    assert "Use --port 0 to pick any free port" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "readme-metrics.har").exists()  # nothing left behind


def test_collect_banner_prints_the_line_to_copy(tmp_path: Path) -> None:
    with CommandProcess("collect", "--port", "0", cwd=tmp_path) as proc:
        url = proc.wait_for(r"listening on (http://127\.0\.0\.1:\d+)").group(1)
        line = proc.wait_for(r"^  export README_METRICS_SERVER=(\S+) README_API_URL=(\S+)$")
        assert line.group(1) == line.group(2) == url
        # Without a key the app refuses to start: "any key" alone did not say it needs one.
        proc.wait_for(r"^The app needs a README_API_KEY too: any value is accepted")
        proc.wait_for("Press Ctrl-C to stop.")
        assert proc.stop() == 0
    # The .env form, copied as printed, gives the app both variables. The line above minus
    # 'export', as the banner said, was one line holding both: a URL with a blank in it.
    start = proc.lines.index("or put these lines in a .env file in the app's working directory:")
    dotenv = proc.lines[start + 1:start + 3]
    assert all(line.startswith("  README_") for line in dotenv), proc.stdout
    app = tmp_path / "app"
    app.mkdir()
    (app / ".env").write_text("\n".join(line.strip() for line in dotenv) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("README_")}
    read = run_command(
        [sys.executable, "-c", "from readme_metrics import MetricsApiConfig as C; "
         "c = C(api_key='any-key', grouping_function=print); "
         "print(c.metrics_api, c.readme_api_url)"],
        cwd=app, env=env, capture_output=True, text=True, timeout=60)
    assert read.stdout.split() == [url, url], read.stdout + read.stderr


def test_collect_says_nothing_when_a_client_resets_its_connection(tmp_path: Path) -> None:
    """An app killed while its kept-alive connection to the collector holds unread data
    (SIGTERM under runserver, a crash) resets that connection. The collector printed
    socketserver's 15-line ConnectionResetError traceback for it, which reads as a crash
    of the collector; a client going away is nothing to report."""
    import socket
    import struct
    import time

    with CommandProcess("collect", "--port", "0", cwd=tmp_path) as proc:
        port = int(proc.wait_for(r"listening on http://127\.0\.0\.1:(\d+)").group(1))
        for request in (
            # idle after an answer it never read: the reset ends the wait for a next request
            b"GET /api/summary HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
            # in the middle of a POST body
            b"POST /v1/request HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
            b"application/json\r\nContent-Length: 1000\r\n\r\n[{\"_id\"",
        ):
            client = socket.create_connection(("127.0.0.1", port))
            client.sendall(request)
            time.sleep(0.2)  # let the collector read it (and answer the GET)
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.close()  # SO_LINGER 0: a RST, not a FIN
        assert requests.get(f"http://127.0.0.1:{port}/api/summary", timeout=10).ok
        time.sleep(0.5)  # a traceback would be printed by the reset connections' threads
        assert proc.stop() == 0
    assert "Traceback" not in proc.stderr and "ConnectionResetError" not in proc.stderr, (
        proc.stderr)


def test_demo_requests_stopped_by_a_signal_says_how_far_it_got(tmp_path: Path) -> None:
    with CommandProcess("demo", "--requests", "100000", cwd=tmp_path) as proc:
        proc.wait_for(r"^\d\d:\d\d:\d\d  ", count=3)  # calls are arriving
        assert proc.stop(signal.SIGINT) == 1, proc.stderr
    made = int(proc.wait_for(r"interrupted after (\d+) of 100000 requests").group(1))
    assert 3 <= made < 100000
    # Every call made was flushed to the collector before the exit.
    assert f"collector:   {made} logs accepted, 0 refused" in proc.stdout
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_stop_signals_wake_the_waiting_main_thread(sig: int) -> None:
    import os

    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    with StopSignals() as stop:
        os.kill(os.getpid(), sig)  # neither raises nor kills: it is a stop request
        assert stop.wait() == sig
        assert stop.wait() == sig  # asked again while stopping: answered at once
    assert {s: signal.getsignal(s) for s in before} == before


def test_stop_signals_wake_from_a_worker_thread() -> None:
    import os
    import threading

    with StopSignals() as stop:
        threading.Timer(0.05, stop.wake).start()
        # Should wake() not wake it, a late SIGTERM ends the wait (and the test fails).
        fallback = threading.Timer(20, os.kill, (os.getpid(), signal.SIGTERM))
        fallback.start()
        try:
            assert stop.wait() == WORK_DONE
        finally:
            fallback.cancel()


def test_demo_ignores_the_machines_readme_variables(tmp_path: Path) -> None:
    """README_* of the machine (or a project's .env) cannot change what the demo shows."""
    env = {"README_BASE_LOG_URL": "https://docs.example.com", "README_API_URL":
           "https://dash.example.com/api", "README_MAX_BODY_BYTES": "1",
           "README_BUFFER_LENGTH": "100000", "README_METRICS_ENABLED": "false"}
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    with CommandProcess("demo", "--requests", "12", cwd=tmp_path, env=env) as proc:
        assert proc.wait(120) == 0, proc.stdout + proc.stderr
    logs = har_file_logs(tmp_path / "readme-metrics-demo.har")
    assert len(logs) == 12
    links = [header["value"] for log in logs
             for header in log["request"]["log"]["entries"][0]["response"]["headers"]
             if header["name"].lower() == "x-documentation-url"]
    assert links and all(link.startswith("http://127.0.0.1:") for link in links)
    bodies = [log["request"]["log"]["entries"][0]["response"]["content"] for log in logs]
    assert all(body["size"] == len(body.get("text", "").encode()) for body in bodies)


# -- the command as installed (SPEC 9) --------------


@pytest.mark.parametrize("argv", [
    pytest.param(["-m", "readme_metrics", "--help"], id="python-m"),
    pytest.param(["-c", "import sys; from readme_metrics.cli import main; sys.exit(main())",
                  "--help"], id="console-script-entry-point"),
])
def test_command_and_python_m_offer_collect_and_demo(argv: list[str]) -> None:
    """SPEC 9: `readme-metrics` (also `python -m readme_metrics`) with collect and demo."""
    done = run_command([sys.executable, *argv], capture_output=True, text=True,
                       timeout=60, cwd=str(REPO_ROOT), stdin=subprocess.DEVNULL,
                       env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert done.returncode == 0, done.stderr
    assert "collect" in done.stdout and "demo" in done.stdout
    setup = (REPO_ROOT / "setup.py").read_text(encoding="utf-8")
    assert re.search(r"""["']readme-metrics\s*=\s*readme_metrics\.cli:main["']""", setup)
    script = Path(sys.executable).with_name("readme-metrics")
    if script.exists():  # installed (pip install -e .): the real console script too
        done = run_command([str(script), "--help"], capture_output=True, text=True,
                           timeout=60, stdin=subprocess.DEVNULL)
        assert done.returncode == 0 and "collect" in done.stdout




# -- a proxy of the machine (http_proxy) against the loopback traffic ---------------------

_PROXY_NAMES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                "ALL_PROXY", "no_proxy", "NO_PROXY")


def _dead_proxy_environment(**extra: str) -> dict[str, str]:
    """Every proxy variable naming a port nothing listens on; no host exempted (an empty
    value is unset for requests), but for ``extra``."""
    proxy = f"http://127.0.0.1:{free_port()}"
    env = {name: proxy for name in _PROXY_NAMES if "no_proxy" not in name.lower()}
    env.update(no_proxy="", NO_PROXY="")
    env.update(extra)
    return env


@pytest.mark.parametrize(("variables", "url", "exempt"), [
    pytest.param({}, "http://127.0.0.1:8001", None, id="no-proxy-at-all"),
    pytest.param({"http_proxy": "http://proxy.example:3128"}, "http://127.0.0.1:8001",
                 "export NO_PROXY=127.0.0.1", id="http_proxy"),
    pytest.param({"ALL_PROXY": "http://proxy.example:3128"}, "http://127.0.0.1:8001",
                 "export NO_PROXY=127.0.0.1", id="ALL_PROXY"),
    pytest.param({"HTTPS_PROXY": "http://proxy.example:3128"}, "http://127.0.0.1:8001", None,
                 id="https-only-proxy"),
    pytest.param({"http_proxy": "http://proxy.example:3128", "NO_PROXY": "127.0.0.1"},
                 "http://127.0.0.1:8001", None, id="already-exempt"),
    pytest.param({"http_proxy": "http://proxy.example:3128", "NO_PROXY": "corp.example"},
                 "http://127.0.0.1:8001", "export NO_PROXY=127.0.0.1,corp.example",
                 id="other-hosts-kept"),
    # requests reads no_proxy before NO_PROXY: exempting in NO_PROXY would change nothing
    pytest.param({"http_proxy": "http://proxy.example:3128", "no_proxy": "corp.example",
                  "NO_PROXY": "127.0.0.1"}, "http://127.0.0.1:8001",
                 "export no_proxy=127.0.0.1,corp.example", id="lower-case-wins"),
    pytest.param({"http_proxy": "http://proxy.example:3128"}, "http://[::1]:8001",
                 "export NO_PROXY=::1", id="ipv6"),
])
def test_collect_names_the_no_proxy_line_that_keeps_the_logs_off_a_proxy(
        variables: dict[str, str], url: str, exempt: str | None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from requests.utils import get_environ_proxies

    from readme_metrics.cli.proxies import no_proxy_export, proxied

    for name in _PROXY_NAMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert no_proxy_export(url) == exempt
    if exempt is not None:  # the line does what it says, as requests reads it
        name, _, value = exempt[len("export "):].partition("=")
        monkeypatch.setenv(name, value)
        assert not proxied(url) and get_environ_proxies(url) == {}
        assert no_proxy_export(url) is None


def test_demo_talks_to_itself_whatever_proxy_the_machine_sets(tmp_path: Path) -> None:
    """README's first command on a machine behind a proxy (http_proxy set, as on company
    networks and CI runners): its calls to the example API and the middleware's POSTs to
    the embedded collector all went to the proxy, which refused them; exit 1, no log."""
    env = _dead_proxy_environment()
    with CommandProcess("demo", "--requests", "6", cwd=tmp_path, env=env) as proc:
        assert proc.wait(120) == 0, proc.stdout + proc.stderr
    assert len(har_file_logs(tmp_path / "readme-metrics-demo.har")) == 6


def test_collect_warns_of_a_proxy_and_its_line_brings_the_logs(tmp_path: Path) -> None:
    """A proxy variable in the shell sends an app's logs to the proxy, not to the
    collector: the banner says so, and the line it prints makes them arrive."""
    env = _dead_proxy_environment(no_proxy="corp.example")
    with CommandProcess("collect", "--port", "0", cwd=tmp_path, env=env) as proc:
        url = proc.wait_for(r"listening on (http://127\.0\.0\.1:\d+)").group(1)
        proc.wait_for(r"WARNING: this shell sets a proxy \(http_proxy, HTTP_PROXY or "
                      r"ALL_PROXY\) that this address is not exempt from")
        line = proc.wait_for(r"^  export (no_proxy)=(\S+)$")
        app_env = {k: v for k, v in os.environ.items() if not k.startswith("README_")}
        app_env.update(env, README_API_KEY="any-key", README_METRICS_SERVER=url)
        app_env[line.group(1)] = line.group(2)
        sent = run_command(
            [sys.executable, "-c",
             "from readme_metrics import MetricsApiConfig, MetricsMiddleware\n"
             "from werkzeug.test import Client\n"
             "app = lambda e, s: (s('200 OK', []), [b'ok'])[1]\n"
             "m = MetricsMiddleware(app, MetricsApiConfig(grouping_function=lambda r: "
             "{'api_key': 'caller-key-1'}))\n"
             "Client(m).get('/', buffered=True)\n"
             "print(m.flush(10))"],
            cwd=tmp_path, env=app_env, capture_output=True, text=True, timeout=60)
        assert sent.stdout.strip() == "True", sent.stdout + sent.stderr
        proc.wait_for(r"GET\s+/\s+200")
        assert proc.stop() == 0
    assert len(har_file_logs(tmp_path / "readme-metrics.har")) == 1


def test_collect_says_nothing_of_proxies_when_the_address_is_exempt(tmp_path: Path) -> None:
    env = _dead_proxy_environment(NO_PROXY="localhost,127.0.0.1")
    with CommandProcess("collect", "--port", "0", cwd=tmp_path, env=env) as proc:
        proc.wait_for("Press Ctrl-C to stop.")
        assert proc.stop() == 0
    assert "proxy" not in proc.stdout, proc.stdout


def _run_in_a_terminal(args: list[str], cwd: Path, ready: bytes) -> bytes:
    """``python -m readme_metrics ARGS`` on a pseudo-terminal, sent Ctrl-C (the byte the
    terminal turns into SIGINT, echoing ``^C``) once ``ready`` is printed; all it printed."""
    import pty
    import select
    import time

    env = {k: v for k, v in os.environ.items() if not k.startswith("README_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command, its terminal the pty
        try:
            os.chdir(cwd)
            os.execve(sys.executable, [sys.executable, "-m", "readme_metrics", *args], env)
        finally:
            os._exit(127)
    out = b""
    sent = False
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if not sent and ready in out:
                os.write(fd, b"\x03")
                sent = True
            if select.select([fd], [], [], 0.1)[0]:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # EIO: the command has ended and closed its terminal
                    break
                if not chunk:
                    break
                out += chunk
    finally:
        if os.waitpid(pid, os.WNOHANG)[0] == 0:  # still running (else reaped now)
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
    assert sent, out
    return out


# The child execs at once; Python 3.12+ warns of any fork in a process with threads.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
@pytest.mark.parametrize(("args", "last"), [
    pytest.param(["collect", "--port", "0"], b"stopped: ", id="collect"),
    pytest.param(["demo", "--port", "0", "--collector-port", "0"], b"middleware: ",
                 id="demo"),
])
def test_ctrl_c_at_a_terminal_leaves_the_summary_on_a_line_of_its_own(
        tmp_path: Path, args: list[str], last: bytes) -> None:
    """The terminal echoes ``^C`` with no line break: the summary was printed after it,
    ``^Cstopped: 0 logs received``."""
    out = _run_in_a_terminal(args, tmp_path, b"Press Ctrl-C to stop.")
    assert b"^C" + last not in out, out
    assert re.search(rb"(?m)^" + re.escape(last), out), out


def test_demo_names_both_ports_when_both_are_in_use(tmp_path: Path) -> None:
    """README's See it locally leaves `readme-metrics collect` on 8001 and the app on
    8000: `readme-metrics demo` then said only that 8001 was in use, and once run again
    with --collector-port 0, that 8000 was (newcomer4)."""
    import socket

    with socket.socket() as collector, socket.socket() as app:
        for busy in (collector, app):
            busy.bind(("127.0.0.1", 0))
            busy.listen()
        ports = [str(busy.getsockname()[1]) for busy in (collector, app)]
        with CommandProcess("demo", "--collector-port", ports[0], "--port", ports[1],
                            cwd=tmp_path) as proc:
            assert proc.wait(60) == 2
    assert proc.stderr == (
        f"readme-metrics demo: cannot start the collector: port {ports[0]} on 127.0.0.1 is "
        "already in use (another collector or app?). Use --collector-port 0 to pick any "
        f"free port, or --collector-port N for another one. Port {ports[1]}, the example "
        "API's, is in use too: add --port 0 (or --port N).\n"), proc.stderr
