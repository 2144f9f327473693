"""SPEC section 9 (command line), black-box: `readme-metrics collect` as a real subprocess
receiving a real middleware's logs, refusing a log that breaks the contract, appending to a
HAR file; `demo --requests N`; `python -m readme_metrics`."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import requests

from tests._acceptance_support import (
    call,
    clean_env_fixture,  # noqa: F401 - autouse
    environ_for,
    simple_app,
)
from tests.support.fake_api import INLINE_TIMEOUT
from tests.support.processes import read_line, run_command, start_server

ENTRY_POINT = os.path.join(os.path.dirname(sys.executable), "readme-metrics")


def child_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("README_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def collect(tmp_path):
    har = tmp_path / "calls.har"
    proc = start_server(
        [ENTRY_POINT, "collect", "--port", "0", "--har", str(har), "--summary-every", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        env=child_env(),
    )
    url = None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = read_line(proc.stdout, about="readme-metrics collect")
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        if match:
            url = match.group(0)
            break
    assert url, "the collector did not say where it listens"
    yield proc, url, har
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_collect_listens_on_loopback_only(collect):
    _proc, url, _har = collect
    assert url.startswith("http://127.0.0.1:")


def test_collect_receives_a_middleware_batch_and_writes_the_har_file(collect):
    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    proc, url, har = collect
    config = MetricsApiConfig(
        api_key="any-key", metrics_api=url, base_log_url="http://docs.example",
        grouping_function=lambda r: {"api_key": "owl-key-1", "label": "Owl"},
        buffer_length=2, background_worker_mode=False, timeout=INLINE_TIMEOUT,
    )
    mw = MetricsMiddleware(simple_app(), config)
    call(mw, environ_for("/one", "POST", b'{"a": 1}', {"Content-Type": "application/json"}))
    call(mw, environ_for("/two", query="x=1"))
    assert mw.flush(timeout=10)
    assert mw.stats["sent"] == 2 and mw.stats["dropped"] == 0
    mw.close()
    deadline = time.monotonic() + 10
    document = None
    while time.monotonic() < deadline:
        try:
            document = json.loads(har.read_text())
            if len(document["log"]["entries"]) >= 2:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    assert document is not None
    urls = [e["request"]["url"] for e in document["log"]["entries"]]
    assert urls == ["http://api.example/one", "http://api.example/two?x=1"]
    assert document["log"]["version"] == "1.2"
    proc.send_signal(signal.SIGINT)
    out, _err = proc.communicate(timeout=15)
    assert proc.returncode == 0
    assert "/one" in out and "/two" in out  # the live summary shows the calls


@pytest.mark.parametrize("broken", ["not json", "[{}]", '[{"_id": "x"}]', "{}"])
def test_collect_refuses_a_log_that_breaks_the_contract(collect, broken):
    proc, url, har = collect
    r = requests.post(url + "/v1/request", data=broken,
                      headers={"Content-Type": "application/json",
                               "Authorization": "Basic YW55LWtleTo="}, timeout=10)
    assert r.status_code == 400
    if har.exists():
        text = har.read_text()
        assert not text.strip() or json.loads(text)["log"]["entries"] == []


def test_collect_refuses_a_log_with_an_unmasked_group_id(collect):
    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    _proc, url, _har = collect
    # Build a valid batch by sending one to the real collector first...
    config = MetricsApiConfig(api_key="any-key", metrics_api=url,
                              base_log_url="http://docs.example",
                              grouping_function=lambda r: {"api_key": "owl-key-1"},
                              buffer_length=1, background_worker_mode=False, timeout=INLINE_TIMEOUT)
    mw = MetricsMiddleware(simple_app(), config)
    call(mw, environ_for("/ok"))
    assert mw.flush(timeout=10) and mw.stats["sent"] == 1
    mw.close()
    # ... then the same shape with the group id in clear: the contract says always masked.
    log = {
        "_id": "5f0e4a2c-1b7d-4c8e-9a3f-2d6b8e1f0a4c",
        "group": {"id": "owl-key-1", "label": "", "email": ""},
        "clientIPAddress": "127.0.0.1",
        "development": False,
        "request": {"log": {"version": "1.2", "creator": {"name": "x", "version": "1"},
                            "entries": []}},
    }
    r = requests.post(url + "/v1/request", json=[log], timeout=10)
    assert r.status_code == 400, (r.status_code, r.text)


def test_demo_requests_runs_the_whole_flow(tmp_path):
    har = tmp_path / "demo.har"
    proc = run_command(
        [ENTRY_POINT, "demo", "--requests", "6", "--har", str(har)],
        capture_output=True, text=True, cwd=tmp_path, env=child_env(), timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    document = json.loads(har.read_text())
    assert len(document["log"]["entries"]) == 6


def test_python_dash_m_is_the_same_command(tmp_path):
    help_m = run_command([sys.executable, "-m", "readme_metrics", "--help"],
                         capture_output=True, text=True, env=child_env(), timeout=60)
    help_ep = run_command([ENTRY_POINT, "--help"], capture_output=True, text=True,
                          env=child_env(), timeout=60)
    assert help_m.returncode == help_ep.returncode == 0
    for command in ("collect", "demo"):
        assert command in help_m.stdout
    assert help_m.stdout.split("\n", 1)[1] == help_ep.stdout.split("\n", 1)[1]


def test_version_flag():
    import readme_metrics

    out = run_command([ENTRY_POINT, "--version"], capture_output=True, text=True,
                      env=child_env(), timeout=60)
    assert out.returncode == 0
    assert readme_metrics.__version__ in out.stdout + out.stderr
