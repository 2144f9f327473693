"""delivery68: a mod_wsgi daemon process with an application group in the main
interpreter (``%{GLOBAL}``) next to a sub-interpreter, a slow API, Apache's stop. The
main interpreter's library closed at ``atexit``, which mod_wsgi runs only after it tore
the sub-interpreters down, past Apache's kill (3 s after its signal): the main
interpreter's logs were lost unsaid. It now closes at mod_wsgi's notice of the stop, as
a sub-interpreter does, where the process has another interpreter
(:mod:`readme_metrics.delivery.mod_wsgi_stop`).

mod_wsgi 6.1 serves a ``%{GLOBAL}`` call in the main interpreter only on a thread that
served none of a sub-interpreter's before (``PyGILState_Ensure`` takes the thread's first
thread state, which a sub-interpreter's call made; else it runs in that
sub-interpreter): delivery67's ``%{GLOBAL}`` case, its 20 calls to the sub-interpreter
first, had the main interpreter serve one now and then, under load (the CI flake, 37 of
40 said). Here the main interpreter has mod_wsgi-express's own application group (the
harness's probes too) and is called first, five calls at once (the process's threads):
every thread's first call is the main interpreter's. The sub-interpreter's app has an
exit hook of its own taking 1 s (the teardown alone took 0.3 to 0.5 s under load): the
main interpreter's atexit came past the kill every time (21 of 47 logs said, 3 runs of
3; now 47).

A real Apache (mod_wsgi-express), a real collector on 127.0.0.1 answering slowly; every
log is held for the close: the logs the collector received and the logs the error log
says were not delivered add up to the calls served. Skipped where mod_wsgi-express or
Apache is not installed."""

from __future__ import annotations

import importlib
import importlib.util
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from readme_metrics.delivery import mod_wsgi_stop
from tests.support.fake_api import Collector, Reply
from tests.support.mod_wsgi_express import APPS, Express, serve, unavailable
from tests.test_delivery67_mod_wsgi_shared_stop import CALLS, HELD, NEVER

REASON = unavailable()
#: CPython's sub-interpreters (3.9 to 3.12; ``_interpreters`` from 3.13), if here.
INTERPRETERS = next((found for found in ("_xxsubinterpreters", "_interpreters")
                     if importlib.util.find_spec(found) is not None), None)

#: The daemon process's threads: this many calls at once take every one of them.
THREADS = 5
#: Long enough that the five calls overlap, each on a thread of its own.
HELD_FOR = 0.5
#: The sub-interpreter's app's own exit hook takes this long (mod_wsgi runs it as it
#: tears that interpreter down): its teardown alone took 0.3 to 0.5 s under load.
SUB_EXIT = 1.0


def _main_and_a_sub_interpreter(collector: Collector, tmp_path: Path) -> Express:
    """The app at / in the main interpreter (mod_wsgi-express's application group by
    default), and again at /second in a sub-interpreter, one daemon process."""
    include = tmp_path / "second.conf"
    include.write_text(f"<Directory {Path(APPS).parent}>\n    Require all granted\n"
                       f"</Directory>\nWSGIScriptAlias /second {APPS} "
                       "process-group=bb68 application-group=second\n")
    return Express("plain", collector.url, "--processes", "1", "--threads", str(THREADS),
                   "--process-group", "bb68", "--include-file", str(include),
                   env={**HELD, "BB68_EXIT_SECONDS": str(SUB_EXIT)})


def _on_every_thread(url: str) -> list[int]:
    """``THREADS`` slow calls at once to ``url``: each on a thread of its own."""
    def call(_: int) -> int:
        return requests.post(f"{url}/sleep/{HELD_FOR}", data=b"x" * 10,
                             timeout=60).status_code

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(call, range(THREADS)))


@pytest.mark.skipif(REASON is not None, reason=REASON or "")
@pytest.mark.timeout(240)
def test_the_main_interpreters_logs_said_before_apaches_kill(
        collector: Collector, tmp_path: Path) -> None:
    """Calls served in the main interpreter and in a sub-interpreter of one daemon
    process, the API never answering in time, SIGTERM to Apache: every log said before
    the kill. Failed before: the main interpreter's 25 lost unsaid (its close at atexit,
    after the sub-interpreter's teardown, past the kill)."""
    collector.default = Reply(delay=NEVER)
    with _main_and_a_sub_interpreter(collector, tmp_path) as server:
        assert _on_every_thread(server.url) == [200] * THREADS
        assert serve(server.url, CALLS) == [200] * CALLS
        assert serve(server.url + "/second", CALLS) == [200] * CALLS
        groups = {requests.get(server.url + path + "/where", timeout=60).json()["group"]
                  for path in ("", "/second")}
        log = server.stop()
    assert groups == {"", "second"}  # (the main interpreter's and the sub's)
    assert server.said_lost() == 2 * CALLS + THREADS + 2, log  # (+ the two /where)
    assert "Traceback" not in log


@pytest.mark.skipif(INTERPRETERS is None, reason="no sub-interpreters in this Python")
def test_another_interpreter_of_this_process_is_seen() -> None:
    """What has the main interpreter close at mod_wsgi's notice: a real sub-interpreter
    of this process, while it lives."""
    interpreters = importlib.import_module(str(INTERPRETERS))
    before = mod_wsgi_stop.beside_sub_interpreters()
    interp = interpreters.create()
    try:
        assert mod_wsgi_stop.beside_sub_interpreters()
    finally:
        interpreters.destroy(interp)
    assert mod_wsgi_stop.beside_sub_interpreters() == before
