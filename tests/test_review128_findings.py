"""review128: an adversarial read of the session's landings (delivery43's SIGTERM during
the library's close, blackbox16, newcomer31, hostile35, cpu17/18).

1. A process that is its PID namespace's init (a container's ``CMD ["python",
   "app.py"]``, ``docker stop``'s SIGTERM) never dies of a signal left at its default:
   the kernel drops it, so bare, a SIGTERM during the exit's close did nothing and the
   close delivered what it held. delivery43's watcher gave it a handler there: the
   SIGTERM cut the close ("N logs not delivered"), then its ``os.kill`` of itself was
   dropped too, so the process went on exiting, the logs lost that the bare close would
   have delivered. Now the SIGTERM is not watched where the process is PID 1.
2. hostile35's runs of an archive's base64 stopped at the first ``%2B``/``%2F``/``%3D``:
   a zip as a URL's query value in a text body or a JSON string (``see
   https://host/dl?f=UEsDB...%2F...``) went out readable (``unquote``, ``base64 -d``,
   ``unzip``): the part before the first escape was no archive to read, the rest no
   run. Now a run goes on over the three escapes and is read unquoted.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import threading
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.fake_api import Collector
from tests.support.polling import wait_until
from tests.support.processes import LINE_WAIT, run_command
from tests.support.runserver import Served, children, held_collector, serving
from tests.test_e2e_servers import server_env

ROOT = Path(__file__).resolve().parents[1]


def _env(held: Collector, tmp_path: Path) -> dict[str, str]:
    return server_env(held, PYTHONPATH=f"{ROOT}{os.pathsep}{tmp_path}",
                      README_BACKGROUND_WORKER_MODE="true", README_BUFFER_LENGTH="1000",
                      README_FLUSH_INTERVAL="600", README_SHUTDOWN_TIMEOUT="120",
                      README_TIMEOUT="120")


#: werkzeug's ``run_simple`` (no SIGTERM handler) as its PID namespace's init; SIGWINCH
#: (28, after SIGTERM's 15: Python runs the pending handlers in that order) prints a
#: line once every signal sent before it has been handled.
_PID1 = """\
import os, signal, sys
from readme_metrics.delivery import process
from werkzeug.serving import run_simple
from tests.support.e2e_apps import plain_app

signal.signal(signal.SIGWINCH, lambda *_: print("barrier", flush=True))
process.before_exit(lambda: print(f"exit close begins in pid {os.getpid()}", flush=True))
run_simple("127.0.0.1", int(sys.argv[1]), plain_app, threaded=True)
"""

#: ``python -c`` becoming ``unshare``, whose child runs app.py as PID 1.
_AS_INIT = ("import os, sys; os.execvp('unshare', ['unshare', '--pid', '--fork', "
            "sys.executable, *sys.argv[1:]])")


def _unshare_works() -> bool:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    done = run_command(["unshare", "--pid", "--fork", sys.executable, "-c",
                        "import os; print(os.getpid())"], timeout=LINE_WAIT,
                       capture_output=True)
    return done.returncode == 0 and done.stdout.strip() == b"1"


def _init_of(served: Served) -> int:
    """The app's process (PID 1 inside), unshare's one child, as this namespace sees it."""
    found: list[int] = []

    def one() -> bool:
        found[:] = children(served.process.pid)
        return len(found) == 1
    wait_until(one, timeout=LINE_WAIT)
    return found[0]


@pytest.mark.e2e
@pytest.mark.skipif(sys.platform != "linux", reason="PID namespaces")
def test_pid1_sigterm_during_the_exit_close_is_dropped_as_bare_and_the_logs_delivered(
        tmp_path: Path) -> None:
    """``python app.py`` (werkzeug) as PID 1, 40 calls, Ctrl-C: the exit's close waits
    for the held answers; SIGTERM (``docker stop``): dropped by the kernel, as bare (the
    process has no handler for it); the answers then come, the 40 logs are delivered,
    nothing said lost. Before: the close's SIGTERM handler cut it, "40 logs not
    delivered" said, and the process went on exiting all the same (its own SIGTERM
    dropped)."""
    if not _unshare_works():
        pytest.skip("no PID namespace here (unshare --pid as root)")
    (tmp_path / "app128.py").write_text(_PID1)
    gate = threading.Event()
    with held_collector(gate) as held:
        with serving(["-c", _AS_INIT, "app128.py", "{port}"], _env(held, tmp_path),
                     tmp_path, "server.log") as served:
            app = _init_of(served)
            served.call([f"n{n}" for n in range(40)])
            os.kill(app, signal.SIGINT)
            held.wait_for_logs(40, timeout=LINE_WAIT)
            assert "exit close begins in pid 1" in served.wait_said("exit close begins")
            os.kill(app, signal.SIGTERM)
            os.kill(app, signal.SIGWINCH)
            wait_until(lambda: "barrier" in served.said()
                       or served.process.poll() is not None, timeout=LINE_WAIT)
            before = served.said()
            gate.set()
            code = served.process.wait(LINE_WAIT)
            said = served.said()
        assert len(held.logs) == 40  # (one POST, answered 200 at the gate)
    assert "not delivered" not in before, before
    assert "closing gave up" not in said and "not delivered" not in said, said
    assert code == 0, said


# 2. an archive's base64 percent-encoded in a text or a JSON string ------------------

@pytest.fixture(autouse=True)
def full_budget() -> None:
    from readme_metrics.har import inflation_budget

    inflation_budget.BUDGET.refill()


_LINKS = {
    "text": ("text/plain", lambda s: f"get it at https://files.test/dl?f={s}&n=1 today"),
    "xml": ("application/xml", lambda s: f"<a><href>https://files.test/dl?f={s}</href></a>"),
    "json-string": ("application/json",
                    lambda s: json.dumps({"name": "backup", "url": f"https://files.test/?f={s}"})),
    "json-key": ("application/json", lambda s: json.dumps({f"/dl?f={s}": 1, "name": "backup"})),
}


@pytest.mark.parametrize("spelling", ["zip", "gzip", "bzip2"])
@pytest.mark.parametrize("shape", _LINKS)
def test_an_archive_percent_encoded_in_a_link_is_hidden(shape: str, spelling: str) -> None:
    from tests.support.sent_bodies import bodies_logged
    from tests.test_hostile35_findings import SPELLINGS, _decodable

    written = quote(SPELLINGS[spelling], safe="")
    assert "%2F" in written or "%2B" in written
    mime, shaped = _LINKS[shape]
    for text in bodies_logged(shaped(written).encode(), mime):
        assert not _decodable({"text": text}), text
        if shape.startswith("json"):
            assert json.loads(text)["name"] == "backup"
        else:
            assert text.startswith(shaped("")[:20])


def test_through_a_flask_app_and_the_collector_a_link_in_json(collector: Collector) -> None:
    from tests.support.flask_echo import logged_echo
    from tests.test_hostile35_findings import ZIPPED, _decodable

    body = json.dumps({"name": "backup", "url": "https://files.test/?f=" + quote(ZIPPED)})
    log = logged_echo(collector, body, "application/json")
    assert not _decodable(log)
    entry = log["request"]["log"]["entries"][0] if "request" in log else log
    assert json.loads(entry["request"]["postData"]["text"])["name"] == "backup"


@pytest.mark.parametrize("kept", ["png", "random", "prose-zip", "words"])
def test_guard_ordinary_base64_percent_encoded_is_kept(kept: str) -> None:
    from tests.support.sent_bodies import bodies_logged
    from tests.test_hostile35_findings import KEPT

    body = f"see https://files.test/?f={quote(KEPT[kept], safe='')} ok"
    for text in bodies_logged(body.encode(), "text/plain"):
        assert text == body


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=st.text(max_size=20), escapes=st.lists(
    st.sampled_from(["%2B", "%2f", "%3D", "%3d", "%2", "%", "A", "=", "\n"]), max_size=30))
def test_any_percent_run_after_an_archive_start_is_read_without_raising(
        before: str, escapes: list[str]) -> None:
    from readme_metrics.har.base64_runs import archive_held, archives_hidden
    from readme_metrics.har.redaction import Redactor

    deny = Redactor(["password"])
    text = before + " UEsDB" + "".join(escapes) + "AAAA" * 4
    archive_held(deny, text)
    out = archives_hidden(deny, text)
    assert out == text or "[REDACTED" in out
