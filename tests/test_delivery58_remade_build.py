"""delivery58 (3): delivery57's remake of a queued Django record (the async chain left
by a signal handler's raise after its log was queued: ``queued_unsent``) raced a sender
building that record into a POST at the same moment.

The remake set the record's slots one by one, in place: a sender in
``Pending.to_exchange`` meanwhile read some old, some new. Swept at each line event of
the build (tests/support/remade_django_asgi.py: a tracer parks the sender there while
the main thread's raise ends the loop and remakes the record; real Django ASGI handler,
real collector on 127.0.0.1), on main at f4fb9f8d 29 of the 44 landing points posted a
half-remade log (a 500 with the view's headers and body, a 200 with the comment of the
answer that replaced it) and 11 the view's 200 whole (the remake came after the build
read the record: lost). Now the record is switched whole (``capture.pending.remake``)
and a build under way builds again once it sees it changed: 44 of 44 post what the
client got (no answer: 500, the comment, no body). The round past the build's last line
(the sender had built the log before the raise) posts the view's 200, whole: its POST
was made already.
"""

from __future__ import annotations

import ast
import sys
from typing import Any

import pytest

from tests.support.command import REPO_ROOT
from tests.support.fake_api import Collector
from tests.support.har_check import assert_valid_log
from tests.support.processes import run_command

pytest.importorskip("django")

NO_ANSWER = "no answer reached the client: the server stopped serving the request at a " \
            "SystemExit"


def _round(log: dict[str, Any]) -> int:
    return int(log["request"]["log"]["entries"][0]["request"]["url"].rpartition("?")[2])


def test_a_sender_building_the_record_as_it_is_made_again_posts_it_whole_and_true(
        collector: Collector) -> None:
    done = run_command([sys.executable, "-m", "tests.support.remade_django_asgi",
                        collector.url, "200"], capture_output=True, text=True,
                       cwd=REPO_ROOT)  # (tests/ importable without PYTHONPATH, as in CI)
    assert done.returncode == 0, done.stderr
    lines = [ast.literal_eval(line) for line in done.stdout.splitlines()]
    rounds = dict(line for line in lines if line[0] != "stats")
    assert not rounds[max(rounds)] and all(rounds[n] for n in range(max(rounds)))
    parked = max(rounds)  # rounds 0 .. parked-1 were parked in the build
    assert parked > 20, rounds  # (the build's lines: the sweep went through them)
    stats = lines[-1][1]
    assert stats["captured"] == stats["sent"] == parked + 1, stats
    logs = {_round(log): log for log in collector.wait_for_logs(parked + 1)}
    wrong = {}
    for number, log in sorted(logs.items()):
        assert_valid_log(log)
        response = log["request"]["log"]["entries"][0]["response"]
        seen = (response["status"], response.get("comment"), response["content"]["size"],
                len(response["headers"]))
        true = seen[0] == 500 and str(seen[1]).startswith(NO_ANSWER) and seen[2:] == (0, 0)
        if number < parked and not true:
            wrong[number] = seen
        if number == parked:  # built before the raise: the view's answer, whole
            assert seen[0] == 200 and seen[1] is None and seen[2] == 12, seen
    assert not wrong, wrong
