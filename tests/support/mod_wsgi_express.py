"""blackbox15's harness: Apache + mod_wsgi through ``mod_wsgi-express start-server``
(daemon mode), serving :mod:`tests.support.mod_wsgi_apps` on 127.0.0.1, its error log
(``--log-to-terminal``: Apache's stderr) read back after the stop.

``mod_wsgi-express`` becomes the Apache master (it execs ``apache2``), so the process
:func:`start` returns takes Apache's signals: SIGTERM stops, SIGUSR1 is the graceful
restart. Run as root, Apache's children and the daemon processes run as ``www-data``,
which must be able to read the Python mod_wsgi was built against and this tree: a
Python under ``/root`` (pyenv) is not, until ``setfacl -m u:www-data:x /root`` (or
``chmod o+x /root``). :func:`unavailable` says why the tests cannot run here."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Optional

import requests

from tests.support.blackbox14_run import said_in
from tests.support.polling import wait_until
from tests.support.ports import free_port
from tests.support.processes import end_stragglers, run_command, start_server

EXPRESS = Path(sys.executable).with_name("mod_wsgi-express")
#: The WSGI script (not imported here: it makes its configuration at import).
APPS = str(Path(__file__).with_name("mod_wsgi_apps.py"))
USER = "www-data"
#: Apache's RequestReadTimeout (mod_reqtimeout) for a request's body as long as the
#: tests' clients wait for an answer (60 s), not mod_wsgi-express's 15 s: requests
#: (urllib3 2) sends the head, then the body, and a client thread of the test held off
#: the CPU that long between the two on a loaded machine got Apache's 408 (blackbox15's
#: steady load in a whole-suite run, 1 call of 200; a body sent 3 s after its head under
#: ``--body-timeout 1`` gets the same 408). The head goes in one send.
READ_TIMEOUTS = ("--body-timeout", "60")
HOW = ("pip install mod_wsgi (needs apache2 and apache2-dev: apt-get install apache2 "
       "apache2-dev)")


def unavailable() -> Optional[str]:
    """Why Apache + mod_wsgi cannot run the tests here, or None."""
    if not EXPRESS.exists():
        return f"mod_wsgi-express is not installed in this venv: {HOW}"
    if shutil.which("apache2") is None and not Path("/usr/sbin/apache2").exists():
        return f"Apache is not installed: {HOW}"
    try:
        pwd.getpwnam(USER)
    except KeyError:
        return f"no {USER} user for Apache's processes"
    if os.geteuid() == 0:
        probe = run_command(["setpriv", f"--reuid={USER}", f"--regid={USER}",
                             "--clear-groups", "test", "-r",
                             os.path.join(sys.base_prefix, "lib"), "-a", "-r",
                             APPS, "-a", "-r", os.path.dirname(requests.__file__)],
                            timeout=30)
        if probe.returncode != 0:
            return (f"{USER} (Apache's daemon processes) cannot read {sys.base_prefix}, "
                    f"{APPS} or this venv: `setfacl -m u:{USER}:x /root` lets it reach "
                    "a pyenv Python under /root")
    return None


class Express:
    """One ``mod_wsgi-express start-server``: its port, its process, its error log."""

    def __init__(self, kind: str, metrics_api: str, *options: str,
                 env: Optional[dict[str, str]] = None, entry: str = APPS) -> None:
        """``entry``: the WSGI script (a module's name with ``--application-type
        module``)."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.root = tempfile.mkdtemp(prefix="bb15-apache-")
        os.chmod(self.root, 0o755)
        argv = [str(EXPRESS), "start-server", entry, "--host", "127.0.0.1",
                "--port", str(self.port), "--server-root", self.root,
                "--working-directory", self.root,
                "--log-to-terminal", "--locale", "C.UTF-8", *READ_TIMEOUTS, *options]
        if os.geteuid() == 0:
            argv += ["--user", USER, "--group", USER]
        environ = {**os.environ, "BB15_KIND": kind, "README_API_KEY": "bb15-key",
                   "README_METRICS_SERVER": metrics_api, "LC_ALL": "C.UTF-8",
                   "LANG": "C.UTF-8", **(env or {})}
        self.process = start_server(argv, env=environ, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
        self._lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        try:
            wait_until(self._answers, 90)
        except AssertionError:
            self.process.kill()
            self.wait(30)
            raise AssertionError(f"Apache did not answer in 90 s: {self.log}") from None

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._lines.append(line.decode(errors="replace"))

    @property
    def log(self) -> str:
        """Apache's error log so far (all of it once :meth:`wait` returned)."""
        return "".join(self._lines)

    def said_lost(self) -> int:
        """The logs the library's lines in the error log say were not delivered."""
        return said_in(self.log)[0]

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            self._reader.join(30)
            raise AssertionError(f"Apache ended: {self.log}")
        try:
            return requests.get(self.url + "/ready", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def __enter__(self) -> Express:
        return self

    def __exit__(self, *exc: object) -> None:
        """Stopped, if the test did not (it failed first): no Apache left running."""
        if self.process.returncode is None:
            self.stop(10)

    def signal(self, number: int) -> None:
        self.process.send_signal(number)

    def stop(self, patience: float = 60.0) -> str:
        """SIGTERM to Apache's master, as ``apachectl stop`` sends; its error log."""
        self.process.terminate()
        return self.wait(patience)

    def wait(self, patience: float = 60.0) -> str:
        """Wait for Apache and its daemon processes to end (its error log closed by all
        of them), ``patience`` seconds at most, then kill what is left; the log."""
        try:
            self._reader.join(patience)
            self.process.wait(30)
        finally:
            self.process.kill()
            end_stragglers(self.process)
            if self.process.returncode is None:
                self.process.wait(30)
            self._reader.join(30)
            if self.process.stderr is not None:
                self.process.stderr.close()
            shutil.rmtree(self.root, ignore_errors=True)
        return self.log


def serve(url: str, count: int, start: int = 0, clients: int = 4) -> list[int]:
    """``count`` POSTs of 100 bytes to ``url``/item/N from ``clients`` clients; their
    statuses (0: no answer)."""
    def call(i: int) -> int:
        try:
            return requests.post(f"{url}/item/{i}", data=b"x" * 100,
                                 timeout=60).status_code
        except requests.RequestException:
            return 0

    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(call, range(start, start + count)))


def urls(collector: Any) -> list[str]:
    """The URLs of the calls the collector's logs hold (one entry each)."""
    return [log["request"]["log"]["entries"][0]["request"]["url"]
            for log in collector.logs]
