"""delivery74 (a): two close_all calls overlapping. ``process.exit_began`` was one global:
each close set it as it began and set it back to None as it ended, so a close that ended
while another still ran (the later one, or one counted from an earlier stop, as
hypercorn_stop's handler passes) left None for the one still running: its
``begin_exit`` (the inline drain's bound from the main thread's end, the close's start)
then took no exit to be under way.

Deterministic, in a process of its own: a close_all in a thread (the exit's) is held in
an exit hook of its own until a second close_all, counted from a stop that began before
it, has delivered the logs (the stand-in API answering in 0.3 s) and returned; the hook
then reads ``exit_began()``. Before: None (2 of 2 runs); after: the first close's start.
Real parts: the library's WSGI middleware, its sender, the collector on 127.0.0.1."""

from __future__ import annotations

from tests.support.close_child import QUEUED, run_child
from tests.support.fake_api import Collector, Received, Reply

CALLS = 4

SCRIPT = QUEUED + """
in_hook, second_ended, seen = threading.Event(), threading.Event(), {}

def held():  # (the first close's exit hook: as unclosed.py's wait)
    if threading.current_thread().name != "first-close":
        return
    seen["first"] = process.exit_began()
    in_hook.set()
    second_ended.wait(60)
    seen["after second"] = process.exit_began()

process.before_exit(held)
first = threading.Thread(target=process.close_all, name="first-close")
first.start()
in_hook.wait(60)
# (A stop's close counted from before the first: hypercorn_stop's handler's.)
process.close_all(began=seen["first"] - 0.5)
second_ended.set()
first.join(60)
print("first close began", seen["first"] is not None, flush=True)
print("read after the second ended", seen["after second"] == seen["first"], flush=True)
print("after both", process.exit_began(), flush=True)
"""


def test_a_close_ending_leaves_the_one_still_running_its_start(
        collector: Collector) -> None:
    def slow(received: Received) -> Reply:
        return Reply(delay=0.3)

    collector.judge = slow
    done = run_child(SCRIPT, collector, CALLS, "exit-began-key")
    assert done.stdout.splitlines() == [
        "first close began True", "read after the second ended True",
        "after both None"], done.stdout + done.stderr[-2000:]
    urls = collector.urls
    assert len(urls) == len(set(urls)) == CALLS, (urls, done.stderr[-2000:])
