"""review142: what an adversarial read of land53 (6f454a55..75e0a95f: delivery62/64,
flaky42, cpu35, hostile52, review140, blackbox19, review141) found wrong, each through
the library's real parts (a loopback collector, the real close path).

1. flaky42 has a mod_wsgi sub-interpreter's close tell the watchdog thread to end
   (``watchdog_thread.end``), so that its wait for the library's threads ends before
   mod_wsgi deletes their states. But a call the server answered after that close (a
   request still in flight past the close's share of the bound) is refused "late", and
   the second such refusal within a second schedules its line on the watchdog
   (``LateRefused`` -> ``watchdog.run_at``): that started a new watchdog thread, its
   ``ending`` cleared, idle for ever: the close's wait ran to its bound and a second
   past it again (past Apache's 3 s kill: the process's next interpreter never told,
   flaky42's loss), or, once that wait had ended, a thread was left running in an
   interpreter mod_wsgi then tears down (blackbox16's segfault). Now a timer starts no
   thread once the watchdog was told to end, and a thread a POST starts then ends as
   the one told did; the late line is said by the exit hook's close (``say_rest``).
2. hostile52 keeps a URL's user beside its hidden password, percent-encoding it with
   ``quote``, which raises ``UnicodeEncodeError`` on a lone surrogate: an app's
   ``Location`` (or ``Link``, ``Content-Location``) built from a name read with
   ``surrogateescape`` (``os.listdir`` of a non-UTF-8 name) lost the whole log ("could
   not build a log, dropping it"). Before hostile52 the userinfo went through ``mask``,
   which takes any string (:func:`readme_metrics.masking.utf8`). The user is now
   percent-encoded from those bytes (``\\udcff`` is ``%FF``, the byte it stands for).
3. hostile51 let a script's target read a subscript by a variable (``rows[i].password =``)
   with a second bracket access that also reads a symbol's (``[:x]``): each ``[:x]`` of a
   line read two ways, and a line of them that assigns nothing (``a[:x]...[:x] ==``)
   backtracked through every way, doubling with each one more: 20 took 0.2 s of CPU, 30
   minutes, a 170-byte text/plain body with a denylist hung the thread that built its log
   (the request's own, inline). A subscript by a variable no longer reads a symbol's.
4. (Older, hostile49's; found beside 3.) A target was also read from after each member
   access's ``->`` (the ``>`` taken for a tag's), so a line of ``.b->c::$d`` accesses was
   read again from each to its end: 36 KB in 2.4 s of CPU, a 1 MiB line half an hour.
   A chain is now read from its start only.
"""

from __future__ import annotations

import re
import sys
import textwrap
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.har.header_urls import hidden_userinfo, link_targets, masked_authority
from tests.support.command import REPO_ROOT
from tests.support.contract import exchange
from tests.support.fake_api import Collector
from tests.support.processes import run_command

# The close mod_wsgi's shutdown notice runs in a sub-interpreter
# (mod_wsgi_stop._close_before_teardown: the requests in flight, close_all, the watchdog
# told to end, the library's threads waited for), then three calls the server answers
# after it: refused late, the second and third within the first's second.
_LATE_AFTER_CLOSE = textwrap.dedent("""
    import sys, threading, time
    from readme_metrics import MetricsApiConfig, MetricsMiddleware
    from readme_metrics.delivery import mod_wsgi_stop, watchdog_thread
    from tests.support.wsgi import run_wsgi, wsgi_environ

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    middleware = MetricsMiddleware(app, MetricsApiConfig(
        api_key="any-key", metrics_api=sys.argv[1], buffer_length=1,
        grouping_function=lambda req: {"api_key": "k", "label": "l", "email": "e"}))
    run_wsgi(middleware, wsgi_environ(path="/before"))
    mod_wsgi_stop._close_before_teardown()
    print("after close", len(mod_wsgi_stop._library_threads()), flush=True)
    for n in range(3):
        run_wsgi(middleware, wsgi_environ(path=f"/late/{n}"))
    # The close's own wait, as it would have run had these come during it.
    deadline = time.monotonic() + 10.0
    while mod_wsgi_stop._library_threads() and time.monotonic() < deadline:
        time.sleep(0.02)
    print("left", [t.name for t in mod_wsgi_stop._library_threads()], flush=True)
""")


def test_late_refusals_after_a_sub_interpreters_close_start_no_watchdog(
        collector: Collector) -> None:
    """Failed before: ``left ['readme-metrics-watchdog']`` (the thread a late refusal's
    line started, never ending). The three late logs are all said not delivered, by the
    first refusal's line and the exit hook's (none lost unsaid)."""
    run = run_command([sys.executable, "-c", _LATE_AFTER_CLOSE, collector.url],
                      cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "after close 0" in run.stdout, run.stdout + run.stderr
    assert "left []" in run.stdout, run.stdout + run.stderr
    assert len(collector.logs) == 1  # (/before, sent by the close)
    said = re.findall(r"readme_metrics: (\d+) logs? not delivered: of calls the server "
                      r"answered after the close had ended", run.stderr)
    assert sum(map(int, said)) == 3, run.stderr


def _redirect_app(location: str, link: str) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("302 Found", [("Location", location), ("Link", link),
                                     ("Content-Type", "text/plain")])
        return [b"moved"]
    return app


@pytest.mark.parametrize(("user", "written"), [
    ("ad\udcffa", "ad%FFa"),        # surrogateescape's byte 0xff
    ("ad\ud800a", "ad%ED%A0%80a"),  # a lone surrogate no byte gave: its own three
], ids=["escaped-byte", "lone-surrogate"])
def test_a_url_user_with_a_lone_surrogate_keeps_the_log(
        inline_wrap: Any, collector: Collector, user: str, written: str) -> None:
    """Failed before: no log (UnicodeEncodeError in the build, 2 of 2)."""
    location = f"https://{user}:hunter2@files.example/next"
    _, _, entry = exchange(inline_wrap(_redirect_app(location, f"<{location}>; rel=next")),
                           collector)
    headers = {h["name"]: h["value"] for h in entry["response"]["headers"]}
    expected = f"https://{written}:%5BREDACTED%207%5D@files.example/next"
    assert headers["Location"] == expected
    assert headers["Link"] == f"<{expected}>; rel=next"


#: Any character, lone surrogates too, but those that end a userinfo's part.
_IN_USERINFO = st.characters(blacklist_characters=":@/?#") | st.integers(
    0xD800, 0xDFFF).map(chr)  # (hypothesis's characters() gives no surrogate)


@settings(max_examples=300, deadline=None)
@given(user=st.text(_IN_USERINFO, max_size=30), password=st.text(_IN_USERINFO, min_size=1,
                                                                 max_size=8),
       rest=st.text(max_size=12))
def test_a_header_url_of_any_text_is_hidden_without_raising(
        user: str, password: str, rest: str) -> None:
    """Any characters (lone surrogates too) in a URL header's userinfo, a Host's, a Link
    target's: hidden, never raised (found the surrogate case above)."""
    url = f"https://{user}:{password}@{rest}"
    hidden_userinfo(url)
    masked_authority(f"{user}:{password}@{rest}")
    link_targets(f"<{url}>; anchor=\"{url}\"", None, None)


_BRACKETS = """\
import resource, sys
resource.setrlimit(resource.RLIMIT_CPU, (10, 10))
from readme_metrics.har.bodies import post_data
from readme_metrics.har.redaction import Redactor
line = {"symbols": "a" + "[:x]" * 40, "arrows": "a" + ".b->c::$d" * (1 << 17)}[sys.argv[1]]
body = (line + " == b\\nrows[i].password = 'Zq8h22Xw3K'\\n"
        "cfg[:password] = 'Zq8h22Xw3K'\\n$this->db->password = 'Zq8h22Xw3K'\\n").encode()
text = post_data(body, len(body), {"content-type": "text/plain"}, Redactor(["password"]),
                 1 << 24)["text"]
assert "Zq8h22Xw3K" not in text and text.startswith(line[:20]), text[-300:]
"""


@pytest.mark.parametrize("line", ["symbols", "arrows"])
def test_a_line_of_accesses_is_read_once(line: str) -> None:
    """40 ``[:x]`` (or 1 MiB of ``.b->c::$d``) and no assignment, then three that hide
    a password, in a child whose CPU time is bounded at 10 s (a bound on the work, not
    a timing: read once, milliseconds). Failed before: 2 of 2 killed at the bound
    (2**40 ways; each ``->`` a new read to the line's end)."""
    from tests.support.processes import run_command

    done = run_command([sys.executable, "-c", _BRACKETS, line], timeout=300,
                       capture_output=True, text=True, cwd=REPO_ROOT)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
