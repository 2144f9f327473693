"""delivery47: mod_wsgi's ``--shutdown-timeout`` as mod_wsgi-express configured it.

A mod_wsgi daemon process that ends by itself (``--maximum-requests``, a SIGUSR1 sent to
it alone, ...) is ended by mod_wsgi's reaper ``--shutdown-timeout`` after it began to
end. mod_wsgi's Python API does not give that option (``mod_wsgi.*``, the
``mod_wsgi.*`` environ keys, ``server_metrics()``: none has it), so the close took the
default, 5 s. Under ``mod_wsgi-express``, which writes the configuration Apache runs
(its ``httpd.conf`` in ``$MOD_WSGI_SERVER_ROOT``, world-readable), the option is there,
in the ``WSGIDaemonProcess`` of this process group. On main (2f67e649), 40 calls, the API
answering each POST in 4 s, ``shutdown_timeout`` 8 s, a SIGUSR1 to the daemon process:

- ``--shutdown-timeout 2``: the reaper ended the process 2 s after the signal, the close
  counting on 5 s: 0 of 40 delivered, none said (all lost unsaid);
- ``--shutdown-timeout 10``: the close gave up at 4 s ("(5s by default)"), 40 said not
  delivered, where the daemon process had 10 s for a POST answered in 4 s.

Now the close keeps the configured bound: 40 said (2 s), 40 delivered (10 s). A real
Apache + mod_wsgi (``mod_wsgi-express``, daemon mode), a collector on 127.0.0.1.
Skipped where mod_wsgi-express or Apache is not installed.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.delivery import mod_wsgi_stop
from tests.support.fake_api import Collector, Reply
from tests.support.mod_wsgi_express import Express, serve, unavailable, urls
from tests.support.polling import wait_until
from tests.test_delivery44_mod_wsgi_sigusr1 import _daemon_process

REASON = unavailable()
CALLS = 40


def _sigusr1_to_the_daemon(shutdown_timeout: str, reply: Reply) -> tuple[int, int, str]:
    """40 calls, then a SIGUSR1 to the daemon process (logs sent at its exit only,
    ``shutdown_timeout`` 8 s): the calls the API received, the logs the daemon
    process's lines said not delivered (until Apache saw it die), Apache's log."""
    collector = Collector().start()
    collector.default = reply
    try:
        server = Express("plain", collector.url, "--processes", "1", "--threads", "5",
                         "--shutdown-timeout", shutdown_timeout, "--log-level", "info",
                         env={"README_SHUTDOWN_TIMEOUT": "8", "README_TIMEOUT": "9",
                              "README_BUFFER_LENGTH": "1000",
                              "README_FLUSH_INTERVAL": "600"})
        with server:
            assert serve(server.url, CALLS) == [200] * CALLS
            daemon = _daemon_process(server)
            os.kill(daemon, signal.SIGUSR1)
            # (Apache's line: every line of that process was written before)
            wait_until(lambda: f"(pid={daemon}) has died" in server.log, 60)
            said = server.said_lost()
            log = server.stop()
        return len(set(urls(collector))), said, log
    finally:
        collector.stop()


@pytest.mark.skipif(REASON is not None, reason=REASON or "")
@pytest.mark.timeout(240)
def test_a_shutdown_timeout_of_2s_is_kept_and_the_logs_said() -> None:
    """--shutdown-timeout 2, the API answering 503: the close ends before mod_wsgi's
    reaper and says the 40 logs. Before: aborted 2 s after the signal, its close
    counting on 5 s: 0 delivered, 0 said (40 lost unsaid)."""
    delivered, said, log = _sigusr1_to_the_daemon("2", Reply(status=503))
    assert (delivered, said) == (0, CALLS), log
    assert "mod_wsgi's --shutdown-timeout (2s" in log, log


@pytest.mark.skipif(REASON is not None, reason=REASON or "")
@pytest.mark.timeout(240)
def test_a_shutdown_timeout_of_10s_gives_the_close_its_time() -> None:
    """--shutdown-timeout 10, the API answering in 6 s: the close waits for it (its
    own 8 s), the 40 logs delivered and none said lost. Before: given up at 4 s (the
    5 s default), 40 said not delivered though the API had them."""
    delivered, said, log = _sigusr1_to_the_daemon("10", Reply(delay=6.0))
    assert (delivered, said) == (CALLS, 0), log



@pytest.mark.skipif(REASON is not None, reason=REASON or "")
@pytest.mark.timeout(240)
def test_apaches_stop_under_a_shutdown_timeout_of_2s_is_said() -> None:
    """Apache's stop (SIGTERM) with --shutdown-timeout 2, the API answering 503:
    mod_wsgi's reaper ends the daemon process 2 s after the notice, before Apache's
    3 s kill; the close ends before it and says the 40 logs. Before: the close counted
    on Apache's 3 s (giving up at 2.4 s): 0 said, 40 lost unsaid."""
    collector = Collector().start()
    collector.default = Reply(status=503)
    try:
        server = Express("plain", collector.url, "--processes", "1", "--threads", "5",
                         "--shutdown-timeout", "2",
                         env={"README_SHUTDOWN_TIMEOUT": "8", "README_BUFFER_LENGTH": "1000",
                              "README_FLUSH_INTERVAL": "600"})
        with server:
            assert serve(server.url, CALLS) == [200] * CALLS
            log = server.stop()
    finally:
        collector.stop()
    assert server.said_lost() == CALLS, log
    assert "mod_wsgi's --shutdown-timeout (2s as mod_wsgi-express set it), this daemon " \
        "process ending (Apache's stop or restart)" in log, log

def _conf(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "httpd.conf").write_text(text)
    monkeypatch.setenv("MOD_WSGI_SERVER_ROOT", str(tmp_path))


CONF = """\
<IfDefine MOD_WSGI_MULTIPROCESS>
WSGIDaemonProcess '127.0.0.1:8000' \\
   display-name='(wsgi:127.0.0.1:8000:0)' \\
   processes=2 \\
   shutdown-timeout=%s \\
   server-metrics=Off
</IfDefine>
<IfDefine !MOD_WSGI_MULTIPROCESS>
WSGIDaemonProcess '127.0.0.1:8000' \\
   display-name='(wsgi:127.0.0.1:8000:0)' \\
   shutdown-timeout=%s \\
   server-metrics=Off
</IfDefine>
WSGIDaemonProcess 'other' shutdown-timeout=1
"""


@pytest.mark.parametrize("first, second, expected", [
    ("2", "2", 2.0), ("10", "10", 10.0), ("3", "7", 3.0), ("0", "0", None),
    ("x", "2", 2.0), ("-1", "-1", None)])
def test_the_option_read_from_express_httpd_conf(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first: str, second: str,
        expected: object) -> None:
    """This process group's ``shutdown-timeout=`` (the smaller where its two blocks
    differ); another group's is not it; none, 0 (mod_wsgi's 'no reaper'), or no number:
    the default."""
    _conf(tmp_path, CONF % (first, second), monkeypatch)
    assert mod_wsgi_stop.configured_shutdown("127.0.0.1:8000") == expected


@pytest.mark.parametrize("text", ["", "WSGIDaemonProcess '127.0.0.1:8000' threads=5\n",
                                  "\x00\xff garbage \\\n\\\n", "WSGIDaemonProcess\n"])
def test_no_option_read_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       text: str) -> None:
    _conf(tmp_path, text, monkeypatch)
    assert mod_wsgi_stop.configured_shutdown("127.0.0.1:8000") is None


def test_outside_mod_wsgi_express_nothing_is_read(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    monkeypatch.delenv("MOD_WSGI_SERVER_ROOT", raising=False)
    assert mod_wsgi_stop.configured_shutdown("127.0.0.1:8000") is None
    monkeypatch.setenv("MOD_WSGI_SERVER_ROOT", str(tmp_path / "gone"))
    assert mod_wsgi_stop.configured_shutdown("127.0.0.1:8000") is None


#: The configuration's own characters, and a few more.
CHARS = "WSGIDaemonProcess '\"\\\n=shutdown-timeout0123456789.-x \t"


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.sampled_from(list(CHARS)), max_size=300))
def test_any_configuration_text_reads_a_positive_number_or_none(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    """Whatever the file holds: never raises, a positive finite number or None."""
    _conf(tmp_path, "WSGIDaemonProcess g shutdown-timeout=" + text, monkeypatch)
    found = mod_wsgi_stop.configured_shutdown("g")
    assert found is None or 0 < found < float("inf")


# -- delivery50: the directive in any case, as Apache reads it ------------------------------


def _configtest(root: Path) -> str:
    """Apache's own check of mod_wsgi-express's configuration in ``root``."""
    from tests.support.processes import run_command

    done = run_command([str(root / "apachectl"), "configtest"], timeout=60,
                       capture_output=True, text=True)
    return done.stdout + done.stderr


@pytest.mark.skipif(REASON is not None, reason=REASON or "")
@pytest.mark.parametrize("directive", ["wsgidaemonprocess", "WSGIDAEMONPROCESS",
                                       "WsgiDaemonProcess"])
def test_the_directive_is_read_in_any_case_as_apache_runs_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, directive: str) -> None:
    """An httpd.conf of mod_wsgi-express's (``setup-server``, edited by hand) that Apache
    runs with the directive in another case: its ``shutdown-timeout`` is read (before:
    the default taken, 3 of 3 None). An option name in another case is refused by
    mod_wsgi itself (Apache does not start): not read either."""
    from tests.support.mod_wsgi_express import EXPRESS, USER
    from tests.support.processes import run_command

    root = tmp_path / "root"
    script = tmp_path / "app.wsgi"
    script.write_text('def application(environ, start_response):\n    return []\n')
    user = ["--user", USER, "--group", USER] if os.geteuid() == 0 else []
    made = run_command([str(EXPRESS), "setup-server", str(script), "--server-root",
                        str(root), "--port", "8050", "--shutdown-timeout", "2", *user],
                       timeout=60, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    conf = root / "httpd.conf"
    text = conf.read_text()
    assert text.count("\nWSGIDaemonProcess 'localhost:8050'") == 2, text
    conf.write_text(text.replace("\nWSGIDaemonProcess ", f"\n{directive} "))
    assert "Syntax OK" in _configtest(root)  # Apache runs it
    monkeypatch.setenv("MOD_WSGI_SERVER_ROOT", str(root))
    assert mod_wsgi_stop.configured_shutdown("localhost:8050") == 2.0
    # mod_wsgi's options are case-sensitive: Apache refuses this one
    conf.write_text(conf.read_text().replace("shutdown-timeout=2", "Shutdown-Timeout=2"))
    assert "Invalid option to WSGI daemon process definition" in _configtest(root)
    assert mod_wsgi_stop.configured_shutdown("localhost:8050") is None
