"""A newcomer's first hour, thirteenth pass: README followed in a fresh clone (the demo,
the test command, each quick start pointed at ``readme-metrics collect``), then the
mistakes a newcomer makes, and what the library says.

Each test is one thing tried there, with the library's real parts; none passed before its
fix.
"""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import pytest

from readme_metrics import MetricsApiConfig
from tests.support.command import CommandProcess, app_environment
from tests.support.fake_api import Collector, free_port
from tests.test_readme import _get_until_closed, _start_app, _wsgi

# -- a mistyped scheme: the URL meant, not the text with https:// put before it ------------

@pytest.mark.parametrize("given, meant", [
    ("https//metrics.readme.io", "https://metrics.readme.io"),
    ("http//127.0.0.1:8001", "http://127.0.0.1:8001"),
    ("https:/metrics.readme.io", "https://metrics.readme.io"),
    ("https:metrics.readme.io", "https://metrics.readme.io"),
    ("htps://metrics.readme.io", "https://metrics.readme.io"),
    ("htttps://metrics.readme.io", "https://metrics.readme.io"),
    ("http;//127.0.0.1:8001", "http://127.0.0.1:8001"),
])
def test_a_mistyped_scheme_says_the_url_meant(given: str, meant: str) -> None:
    # README_METRICS_SERVER=https//metrics.readme.io (the ":" left out) said "did you mean
    # 'https://https//metrics.readme.io'?", a URL to host "https"; htps:// and https:/
    # said only "must be an http(s) URL".
    with pytest.raises(ValueError) as caught:
        MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None,
                         metrics_api=given)
    assert f"did you mean {meant!r}?" in str(caught.value), str(caught.value)


@pytest.mark.parametrize("given, meant", [
    ("httpbin.org", "https://httpbin.org"),
    ("hpx.example.com:8443", "https://hpx.example.com:8443"),
    ("127.0.0.1:8001", "http://127.0.0.1:8001"),
])
def test_a_host_that_starts_like_a_scheme_is_still_a_host(given: str, meant: str) -> None:
    # A host name beginning with "http" or "hp" and no ":" or "/" after those letters is a
    # URL without its scheme, as before.
    with pytest.raises(ValueError) as caught:
        MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None,
                         metrics_api=given)
    assert f"did you mean {meant!r}?" in str(caught.value), str(caught.value)


def test_a_mistyped_scheme_shows_no_password() -> None:
    with pytest.raises(ValueError) as caught:
        MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None,
                         metrics_api="https//owl:hunter2-secret@metrics.example.com")
    assert "hunter2-secret" not in str(caught.value)
    assert "did you mean 'https://***@metrics.example.com'?" in str(caught.value)


# -- README's WSGI quick start, stopped with Ctrl-C as its reader would ---------------------

@pytest.mark.e2e
def test_the_wsgi_quick_start_stops_on_ctrl_c_without_a_traceback(
        tmp_path: Path, collector: Collector) -> None:
    # Saved as app.py and run with `python app.py`, the quick start's
    # make_server(...).serve_forever() printed a KeyboardInterrupt traceback on Ctrl-C
    # (examples/wsgi_app.py was fixed for this, README's own snippet was not); the log
    # still queued was sent on the way out all the same.
    port = free_port()
    env = app_environment(collector.url, README_FLUSH_INTERVAL="60")
    log = tmp_path / "app-output.txt"
    proc = _start_app(_wsgi(tmp_path, port), tmp_path, env, port, log)
    try:
        assert _get_until_closed(port, "/").startswith(b"HTTP/1.0 200 ")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError(f"Ctrl-C did not stop it:\n{log.read_text()}") from None
    output = log.read_text()
    assert "Traceback" not in output and proc.returncode == 0, output
    assert len(collector.wait_for_logs(1)) == 1  # sent by the exit flush


# -- a duration written with a decimal comma ------------------------------------------------

@pytest.mark.parametrize("variable, given, meant", [
    ("README_FLUSH_INTERVAL", "1,5", "1.5"),
    ("README_TIMEOUT", "0,5", "0.5"),
    ("README_SHUTDOWN_TIMEOUT", "2,25", "2.25"),
    ("README_FLUSH_INTERVAL", "0,500", "0.500"),
])
def test_a_decimal_comma_says_the_number_with_a_point(
        monkeypatch: pytest.MonkeyPatch, variable: str, given: str, meant: str) -> None:
    # README_FLUSH_INTERVAL=1,5 (a German or French locale's 1.5) said only "must be a
    # number of seconds from 0 to 86400, got '1,5'".
    monkeypatch.setenv(variable, given)
    with pytest.raises(ValueError) as caught:
        MetricsApiConfig(api_key="any-key", grouping_function=print)
    assert str(caught.value).endswith(
        f"write the number with a decimal point, not a comma: {meant}"), str(caught.value)


@pytest.mark.parametrize("given", ["1,000", "99999,5"])
def test_a_comma_that_may_be_a_separator_or_out_of_range_gets_no_guess(
        monkeypatch: pytest.MonkeyPatch, given: str) -> None:
    # "1,000" may be a thousand seconds; 99999.5 is refused too: no number to suggest.
    monkeypatch.setenv("README_FLUSH_INTERVAL", given)
    with pytest.raises(ValueError) as caught:
        MetricsApiConfig(api_key="any-key", grouping_function=print)
    assert "decimal point" not in str(caught.value), str(caught.value)


# -- demo --requests past what its collector keeps -------------------------------------------

@pytest.mark.e2e
def test_the_demo_summary_says_its_rates_are_over_the_calls_kept(tmp_path: Path) -> None:
    # `readme-metrics demo --requests 1200` said "1200 logs accepted", then endpoint counts
    # adding up to 1000 and an error rate over those 1000, with nothing saying so: the
    # collector keeps the last 1000 calls in memory.
    with CommandProcess("demo", "--requests", "1010", cwd=tmp_path) as proc:
        assert proc.wait(300) == 0, proc.stdout + proc.stderr
    (line,) = [line for line in proc.lines if line.startswith("collector:")]
    assert "1010 logs accepted, 0 refused; over the last 1000 (" in line, line
    counts = [int(m.group(1)) for m in
              (re.match(r"\s+(\d+)  [A-Z]+ /", line) for line in proc.lines) if m]
    assert sum(counts) == 1000, proc.stdout


def test_the_demo_summary_says_nothing_of_a_window_when_all_calls_are_kept(
        tmp_path: Path) -> None:
    with CommandProcess("demo", "--requests", "20", cwd=tmp_path) as proc:
        assert proc.wait(120) == 0, proc.stdout + proc.stderr
    (line,) = [line for line in proc.lines if line.startswith("collector:")]
    assert "20 logs accepted, 0 refused; error rate" in line, line
