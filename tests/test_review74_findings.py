"""review74: delivery19's pacing (Batcher._spaced_locked), adversarially.

- One POST lost on a dead connection (unanswered until its bound, up to 30 s) while the
  API answered every other POST in 5 ms was read as "the API turned slower": the POSTs of
  new logs went ever further apart (each gap as long as the lost POST's age), and a batch
  at buffer_length waited up to 14 s at 10 logs/s (0.09 s on 3f24488). A POST begun
  before the latest one delivered is lost, not slow: it no longer spaces anything.

The Batcher on a fake clock: counts, no timed assertions.
"""

from __future__ import annotations

from readme_metrics.delivery.batcher import Batcher
from readme_metrics.delivery.queue import LogQueue
from tests.support.delivery import item, take_batch


def test_a_lost_post_does_not_hold_the_logs_behind_it_when_later_ones_are_answered(
        ) -> None:
    """The first POST hangs (a dead connection); the next, begun a second later, is
    answered at once. Before, the next batch due waited the lost POST's age past the
    last cut (2 s here, doubling each cut); now it goes as soon as it is due (the
    spacing of an API answering in 5 ms: 5 ms / max_senders)."""
    now = [100.0]
    queue = LogQueue(batch_size=1, interval=5.0, max_size=10_000, max_bytes=10**9)
    batcher = Batcher(queue, max_senders=32, clock=lambda: now[0])
    batcher.staffing.observe(post_s=0.005)

    def put(name: str) -> None:
        log = item(name)
        batcher.put(log, log.nbytes, inline=False)

    put("lost")
    lost = take_batch(queue, batcher)
    assert lost is not None
    lost.sent_at = now[0]  # never answered
    now[0] = 101.0
    put("answered")
    answered = take_batch(queue, batcher)
    assert answered is not None
    answered.sent_at = now[0]
    now[0] = 101.005
    batcher.settle(answered, None)  # delivered: the API answers
    now[0] = 102.0
    put("third")
    third = take_batch(queue, batcher)
    assert third is not None
    third.sent_at = now[0]
    now[0] = 102.5
    put("fourth")
    with queue.lock:
        batch, wait = batcher.take_locked()
    assert batch is not None, f"held {wait} s behind the lost POST"
    assert lost in queue.in_flight  # (still in flight: its bound not out)


def test_posts_in_flight_begun_after_the_last_answer_still_pace() -> None:
    """The API turned slow (none answered since they began): the excess rule holds."""
    now = [100.0]
    queue = LogQueue(batch_size=1, interval=5.0, max_size=10_000, max_bytes=10**9)
    batcher = Batcher(queue, max_senders=32, clock=lambda: now[0])
    batcher.staffing.observe(post_s=0.005)

    def put(name: str) -> None:
        log = item(name)
        batcher.put(log, log.nbytes, inline=False)

    put("answered")
    answered = take_batch(queue, batcher)
    assert answered is not None
    answered.sent_at = now[0]
    batcher.settle(answered, None)
    now[0] = 101.0
    put("slow-1")
    slow = take_batch(queue, batcher)
    assert slow is not None
    slow.sent_at = now[0]
    now[0] = 103.0
    put("slow-2")
    second = take_batch(queue, batcher)
    assert second is not None
    second.sent_at = now[0]
    put("slow-3")
    with queue.lock:
        batch, wait = batcher.take_locked()
    assert batch is None and wait is not None and wait > 1.9
