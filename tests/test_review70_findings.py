"""Review of the session's landings (review70): what ``collect --host 0.0.0.0`` tells the
app to use, Set-Cookie Expires read as RFC 6265 reads it, and newcomer12's messages.

Each test failed before its fix.
"""

from __future__ import annotations

import ipaddress
import logging
import operator
import os
import re
import shutil
import socket
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Optional

import pytest
from webob import Request

from readme_metrics import MetricsApiConfig
from readme_metrics.cli.addresses import interface_addresses
from readme_metrics.grouping import Identifier
from readme_metrics.har.cookie_date import cookie_date
from tests.support.command import CommandProcess
from tests.support.fake_api import Collector
from tests.support.polling import wait_until
from tests.support.ports import free_port
from tests.support.processes import run_command, stop_server
from tests.test_newcomer12_findings import _FASTAPI_FROM_THE_ENVIRONMENT
from tests.test_readme import _start_app
from tests.test_spec27_acceptance import app_answering, one_entry

ROOT = Path(__file__).resolve().parent.parent

# -- collect on every address: the URLs to copy name an address the app can reach -----------

def _machine_ipv4() -> list[str]:
    """This machine's IPv4 addresses but loopback, as iproute2 lists them."""
    ip = shutil.which("ip")
    if ip is None:
        pytest.skip("no iproute2 to list the interfaces' addresses with")
    listed = run_command([ip, "-o", "-4", "addr", "show"], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    found = re.findall(r"\sinet (\d+\.\d+\.\d+\.\d+)/", listed)
    return [a for a in found if not ipaddress.ip_address(a).is_loopback]


def test_interface_addresses_are_the_machines_own_but_loopback() -> None:
    # Subset, not equality: the interfaces' ioctl lists one address per interface label,
    # iproute2 every address (a secondary address on one interface is left out there).
    listed = _machine_ipv4()
    found = [address for _, address in interface_addresses()]
    assert set(found) <= set(listed)
    assert bool(found) == bool(listed)


@pytest.mark.parametrize("host, here", [("0.0.0.0", "http://127.0.0.1:"),
                                         ("::", "http://[::1]:")])
def test_collect_on_every_address_prints_this_machines_address_to_copy(
        tmp_path: Path, host: str, here: str) -> None:
    """``collect --host 0.0.0.0`` is for an app in a container or on another machine, yet
    its lines to copy said ``http://127.0.0.1:PORT``: that app's own loopback, not this
    machine. They name this machine's address now; 127.0.0.1 is said to be for an app here.
    Nothing is sent to that address: only the banner is read."""
    addresses = _machine_ipv4()
    if not addresses:
        pytest.skip("this machine has no address but loopback")
    if host == "::":
        try:
            socket.socket(socket.AF_INET6, socket.SOCK_STREAM).close()
        except OSError:
            pytest.skip("no IPv6 on this machine")
    with CommandProcess("collect", "--host", host, "--port", "0", cwd=tmp_path) as proc:
        port = proc.wait_for(r"listening on http://\S+:(\d+) \(every address").group(1)
        line = proc.wait_for(r"^  export README_METRICS_SERVER=(\S+) README_API_URL=(\S+)$")
        said = proc.wait_for(r"^  \(this machine's address on (\S+), for an app in a "
                             r"container or on another machine; an app on this machine "
                             r"may use (\S+?)[;)]")
        proc.wait_for("Press Ctrl-C to stop.")
        assert proc.stop() == 0
    assert line.group(1) == line.group(2), proc.stdout
    address = line.group(1).removeprefix("http://").rsplit(":", 1)
    assert address[0] in addresses and address[1] == port, proc.stdout
    assert said.group(2) == f"{here}{port}"
    assert f"  dashboard:  {here}{port}/" in proc.lines
    assert f"  README_METRICS_SERVER={line.group(1)}" in proc.lines


# -- a builtin given as the grouping function: the place named is it, not the library -------

@pytest.mark.parametrize("function, name", [(dict, "dict"), (len, "len"),
                                            (str.upper, "str.upper"),
                                            (operator.itemgetter("user"), "operator.itemgetter")])
def test_a_builtin_grouping_function_that_raises_is_named_not_the_librarys_line(
        caplog: pytest.LogCaptureFixture, function: Any, name: str) -> None:
    """``grouping_function=dict`` raised TypeError with no Python frame of its own, and the
    log said it was raised "at .../readme_metrics/grouping.py:255 in __call__": the
    library's line, as if the library had failed."""
    logger = logging.getLogger("readme_metrics.review70")
    with caplog.at_level(logging.ERROR, logger=logger.name):
        assert Identifier(function, logger)(Request.blank("/x?api_key=k")) is None
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(said) == 1, said
    assert f"raised TypeError at {name} itself (built-in code, no line of its own" in said[0]
    assert "readme_metrics" + os.sep not in said[0] and "grouping.py" not in said[0]


def test_a_python_grouping_function_still_names_its_own_line(
        caplog: pytest.LogCaptureFixture) -> None:
    def grouping(request: Any) -> Any:
        return dict(request)  # the builtin deeper: the user's line is the place

    logger = logging.getLogger("readme_metrics.review70")
    with caplog.at_level(logging.ERROR, logger=logger.name):
        Identifier(grouping, logger)(Request.blank("/"))
    said = caplog.records[-1].getMessage()
    assert f"at {__file__}:" in said and "in grouping" in said, said


# -- a value with its unit: the number to write, unless that is refused too ------------------

@pytest.mark.parametrize("variable, text, said", [
    ("README_SHUTDOWN_TIMEOUT", "5sec", ": write the number of seconds alone, without a unit: 5"),
    ("README_SHUTDOWN_TIMEOUT", "+5s", ": write the number of seconds alone, without a unit: 5"),
    ("README_MAX_QUEUE_BYTES", "64MiB",
     ": write the number of bytes alone, without a unit: 67108864 for 64 MiB"),
    # negative with a unit: no hint was given (the sign was not read)
    ("README_SHUTDOWN_TIMEOUT", "-5s",
     ": the number of seconds is written alone, without a unit, and -5 is refused too"),
    ("README_MAX_BODY_BYTES", "-1KB", ": the number of bytes is written alone, without a "
     "unit, and -1024 for -1 KiB is refused too"),
    # the number the hint told the user to write was refused in turn
    ("README_TIMEOUT", "0ms",
     ": the number of seconds is written alone, without a unit, and 0 is refused too"),
    ("README_TIMEOUT", "100000s",
     ": the number of seconds is written alone, without a unit, and 100000 is refused too"),
    ("README_FLUSH_INTERVAL", "0ms", ": write the number of seconds alone, without a unit: 0"),
])
def test_a_number_with_its_unit_is_told_the_number_the_option_takes(
        monkeypatch: pytest.MonkeyPatch, variable: str, text: str, said: str) -> None:
    for name in list(os.environ):
        if name.startswith("README_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv(variable, text)
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(api_key="k-review70-secret", grouping_function=lambda request: None)
    message = str(raised.value)
    assert message.endswith(f"got {text!r} (from the environment){said}"), message
    assert "k-review70-secret" not in message
    # what a hint says to write, the option takes
    written = re.search(r"without a unit: (\S+)", message)
    if written is not None:
        monkeypatch.setenv(variable, written.group(1))
        MetricsApiConfig(api_key="k-review70-secret", grouping_function=lambda request: None)


def test_a_negative_string_argument_with_a_unit_is_not_sent_to_the_variable() -> None:
    """``timeout="-3s"`` said "strings like '-3s' are read from README_TIMEOUT", where the
    variable refuses it too."""
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(api_key="k", grouping_function=lambda request: None, timeout="-3s")
    assert "read from README_TIMEOUT" not in str(raised.value)
    assert str(raised.value).endswith(
        "got the str '-3s': the number of seconds is written alone, without a unit, "
        "and -3 is refused too"), raised.value


# -- FastAPI without config=: the wrong variable said once per worker process ----------------

_SAID = "ReadMeMetricsMiddleware, added without config="


def _lines_with(log: Path, text: str, count: int) -> None:
    """Wait until ``log`` holds ``text`` ``count`` times (each worker's start-up)."""
    wait_until(lambda: log.read_text(errors="replace").count(text) >= count, timeout=90)


@pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
@pytest.mark.parametrize("grouping", ["app:grouping_functon", "app:grouping_function"])
def test_fastapi_without_config_says_a_wrong_variable_once_per_worker(
        tmp_path: Path, server: str, grouping: str) -> None:
    """newcomer12's start-up error, under two worker processes: said once by each (at its
    lifespan's start), not again at each request's 500, and never for a right variable;
    the key is not in the log."""
    pytest.importorskip(server)
    pytest.importorskip("fastapi")
    (tmp_path / "app.py").write_text(_FASTAPI_FROM_THE_ENVIRONMENT)
    port = free_port()
    command = {
        "uvicorn": ["-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", str(port),
                    "--workers", "2"],
        "hypercorn": ["-m", "hypercorn", "app:app", "--bind", f"127.0.0.1:{port}",
                      "--workers", "2"]}[server]
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("README_")},
           "README_API_KEY": "rdme_review70_secret", "README_GROUPING_FUNCTION": grouping,
           "README_METRICS_SERVER": f"http://127.0.0.1:{free_port()}",
           "PYTHONPATH": str(ROOT)}
    log = tmp_path / "server.log"
    proc = _start_app([sys.executable, *command], tmp_path, env, port, log)
    wrong = grouping.endswith("functon")
    try:
        started = {"uvicorn": ("ASGI 'lifespan' protocol appears unsupported" if wrong
                               else "Application startup complete"),
                   "hypercorn": "Running on"}[server]
        _lines_with(log, started, 2)
        statuses = []
        for _ in range(6):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as answer:
                    statuses.append(answer.status)
            except urllib.error.HTTPError as exc:
                statuses.append(exc.code)
    finally:
        stop_server(proc)
    said = log.read_text(errors="replace")
    assert statuses == [500 if wrong else 200] * 6, said
    assert said.count(_SAID) == (2 if wrong else 0), said
    assert "rdme_review70_secret" not in said


# -- Set-Cookie Expires read as RFC 6265 5.1.1 reads it ---------------------------------------

@pytest.mark.parametrize("expires, iso", [
    # a zone or offset is ignored: a cookie date is UTC (email dates applied it)
    ("Wed, 21 Oct 2015 07:28:00 +0200", "2015-10-21T07:28:00.000Z"),
    ("Wed, 21 Oct 2015 07:28:00 PST", "2015-10-21T07:28:00.000Z"),
    # a field out of range fails the date (it rolled into the next day or month)
    ("Wed, 21 Oct 2015 25:28:00 GMT", None),
    ("Wed, 32 Oct 2015 07:28:00 GMT", None),
    ("Mon, 30 Feb 2015 07:28:00 GMT", None),
    ("Wed, 21 Oct 2015 07:60:00 GMT", None),
    ("Wed, 21 Oct 1600 07:28:00 GMT", None),
    # before 1970: the cookie expired (deleted), as Max-Age=0; it was dropped, a session
    # cookie in the log; the two-digit 69 is 2069 (was 1969, dropped as well)
    ("Thu, 01 Jan 1960 00:00:00 GMT", "1970-01-01T00:00:00.000Z"),
    ("Thu, 01-Jan-69 00:00:00 GMT", "2069-01-01T00:00:00.000Z"),
    ("Thu, 01-Jan-70 00:00:01 GMT", "1970-01-01T00:00:01.000Z"),
    # the fields in any order, as the algorithm takes them; layouts that were read stay so
    ("21 Oct 07:28:00 2015", "2015-10-21T07:28:00.000Z"),
    ("Wed Oct 21 07:28:00 2015", "2015-10-21T07:28:00.000Z"),
    ("Wednesday, 21-Oct-15 07:28:00 GMT", "2015-10-21T07:28:00.000Z"),
    ("Wed, 21 Oct 2015 07:28:00 GMT", "2015-10-21T07:28:00.000Z"),
    ("2015-10-21T07:28:00Z", None),
    ("never", None),
])
def test_set_cookie_expires_is_read_as_rfc_6265_reads_it(
        inline_wrap: Any, collector: Collector, expires: str, iso: Optional[str]) -> None:
    headers = [("Content-Type", "text/plain"), ("Set-Cookie", f"a=1; Expires={expires}")]
    _result, entry = one_entry(inline_wrap, collector, app_answering(headers=headers))
    cookie, = entry["response"]["cookies"]
    assert cookie.get("expires") == iso


def test_cookie_date_takes_hostile_text_in_linear_time() -> None:
    # No exception and no backtracking on a long run of digits, colons or tokens.
    for text in ("1" * 100_000, "1:" * 50_000, "a " * 50_000, "\x00" * 10_000, "99:99:99"):
        assert cookie_date(text) is None


@pytest.mark.parametrize("given", ["localhost", "LOCALHOST", "localhost,10.0.0.1"])
def test_trusted_proxies_given_as_localhost_is_told_it_counts_the_proxies(
        monkeypatch: pytest.MonkeyPatch, given: str) -> None:
    """newcomer12's hint for README_TRUSTED_PROXIES given as the proxies' addresses knew
    127.0.0.1 but not ``localhost`` (a bare "must be an integer >= 0")."""
    monkeypatch.setenv("README_TRUSTED_PROXIES", given)
    with pytest.raises(ValueError, match="it is the number of reverse proxies in front of "
                                         "the app, not their addresses"):
        MetricsApiConfig(api_key="k", grouping_function=lambda request: None)
