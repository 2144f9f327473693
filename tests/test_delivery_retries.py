"""Delivery (SPEC section 7): retries, backoff and the auth pause, against a real,
programmable collector on loopback.

Which answers are sent, retried, rejected or pause delivery; Retry-After and jittered
exponential backoff; bounded attempts; one error per auth pause; any random script of
answers delivers each log at most once and the counts add up.

Items and ``build`` are plain (tests.support.delivery), so these pin the retry rules apart
from HAR building. In every test, no log record shows the API key.
"""

from __future__ import annotations

import email.utils
import logging
import time
from typing import Callable, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.config import MetricsApiConfig
from readme_metrics.delivery import (
    PAUSE,
    REJECT,
    RETRY,
    RETRY_AFTER_CAP,
    SENT,
    Delivery,
    backoff_delay,
    classify,
    parse_retry_after,
)
from readme_metrics.delivery import outcome as outcomes
from readme_metrics.delivery.policy import Outcome, outcome_of_status
from tests.support.delivery import (
    API_KEY,
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    build_id,
    ids,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    messages,
)
from tests.support.fake_api import Collector, Reply
from tests.support.polling import wait_until

# -- pure decisions -----------------------------------------------------------------------


@pytest.mark.parametrize(("status", "verdict"), [
    pytest.param(200, SENT, id="200"),
    pytest.param(202, SENT, id="202"),
    pytest.param(204, SENT, id="204"),
    pytest.param(301, REJECT, id="301-not-followed"),
    pytest.param(400, REJECT, id="400"),
    pytest.param(404, REJECT, id="404"),
    pytest.param(413, REJECT, id="413"),
    pytest.param(422, REJECT, id="422"),
    pytest.param(401, PAUSE, id="401"),
    pytest.param(403, PAUSE, id="403"),
    pytest.param(408, RETRY, id="408"),
    pytest.param(429, RETRY, id="429"),
    pytest.param(500, RETRY, id="500"),
    pytest.param(502, RETRY, id="502"),
    pytest.param(503, RETRY, id="503"),
    pytest.param(504, RETRY, id="504"),
    pytest.param(599, RETRY, id="599"),
])
def test_classify(status: int, verdict: str) -> None:
    assert classify(status) == verdict


def test_each_2xx_answer_has_its_own_cause_however_many_reasons_a_server_gives() -> None:
    # A 2xx's outcome is made once per status and reason and kept (one made afresh per
    # POST was about 6% of the sender's cycle): each its own cause, and no more kept than
    # the bound, whatever a server sends.
    for number in range(3 * outcomes._SENT_OUTCOMES_MAX):
        for status in (200, 202):
            reason = f"OK {number}"
            outcome = outcome_of_status(status, reason, "5", "")
            assert outcome == Outcome(SENT, f"HTTP {status} {reason}", answered=True)
            assert outcome_of_status(status, reason, None, "body") == outcome
    assert outcome_of_status(204, "", None, "").cause == "HTTP 204"
    assert len(outcomes._SENT_OUTCOMES) <= outcomes._SENT_OUTCOMES_MAX


NOW = 1_800_000_000.0


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param(None, None, id="absent"),
    pytest.param("", None, id="empty"),
    pytest.param("3", 3.0, id="seconds"),
    pytest.param(" 2 ", 2.0, id="blanks"),
    pytest.param("1.5", 1.5, id="fraction"),
    pytest.param("0", 0.0, id="zero"),
    pytest.param("-4", 0.0, id="negative"),
    pytest.param("100000", RETRY_AFTER_CAP, id="capped"),
    pytest.param("soon", None, id="garbage"),
    pytest.param("nan", None, id="nan"),
    pytest.param(email.utils.formatdate(NOW + 10, usegmt=True), 10.0, id="http-date"),
    pytest.param(email.utils.formatdate(NOW - 10, usegmt=True), 0.0, id="http-date-past"),
])
def test_parse_retry_after(value: Optional[str], expected: Optional[float]) -> None:
    assert parse_retry_after(value, now=NOW) == expected


@given(st.text(max_size=40))
def test_parse_retry_after_never_raises(value: str) -> None:
    seconds = parse_retry_after(value)
    assert seconds is None or 0.0 <= seconds <= RETRY_AFTER_CAP


@given(attempt=st.integers(1, 200), retry_after=st.none() | st.floats(0, 1e6),
       jitter=st.floats(0, 1, exclude_max=True))
def test_backoff_is_jittered_exponential_bounded_and_honours_retry_after(
        attempt: int, retry_after: Optional[float], jitter: float) -> None:
    delay = backoff_delay(attempt, retry_after, base=0.5, cap=30.0, rand=lambda: jitter)
    ceiling = min(30.0, 0.5 * 2 ** (attempt - 1))
    assert delay >= 0
    if retry_after is None:
        assert delay == pytest.approx(ceiling * jitter)
    else:
        assert delay >= min(retry_after, RETRY_AFTER_CAP)
        assert delay <= max(ceiling, RETRY_AFTER_CAP)


# -- failures -------------------------------------------------------------------------------


@pytest.mark.parametrize(("failures", "timeout"), [
    pytest.param([Reply(500)], 3.0, id="500"),
    pytest.param([Reply(502), Reply(503), Reply(504)], 3.0, id="5xx-thrice"),
    pytest.param([Reply(408)], 3.0, id="408"),
    pytest.param([Reply(429)], 3.0, id="429"),
    pytest.param([Reply(drop=True)], 3.0, id="connection-dropped"),
    pytest.param([Reply(partial=b"HTTP/1.1 202 Acc")], 3.0, id="reset-mid-status-line"),
    pytest.param([Reply(partial=b"HTTP/1.1 202 Accepted\r\nContent-Le")], 3.0,
                 id="reset-mid-headers"),
    pytest.param([Reply(hang=1.0)], 0.2, id="timeout"),
    pytest.param([Reply(500), Reply(drop=True), Reply(hang=1.0), Reply(429)], 0.2,
                 id="mixed"),
])
def test_transient_failures_are_retried_then_delivered_exactly_once(
        collector: Collector, make_delivery: MakeDelivery, failures: list[Reply],
        timeout: float) -> None:
    collector.replies.extend(failures)
    delivery = make_delivery(collector.url, buffer_length=4, timeout=timeout)
    names = [f"log-{n}" for n in range(4)]
    for name in names:
        delivery.submit(item(name))
    assert delivery.flush(10.0) is True

    assert ids(collector.logs) == names  # once each, in order
    stats = delivery.stats
    assert stats["retries"] == len(failures)
    assert (stats["sent"], stats["dropped"], stats["failed_batches"]) == (4, 0, 0)
    assert adds_up(stats)


@pytest.mark.parametrize("reply", [
    pytest.param(Reply(drop=True), id="read-then-closed-without-an-answer"),
    pytest.param(Reply(partial=b"HTTP/1.1 202 Accepted\r\nContent-Le"),
                 id="reset-while-the-header-lines-came"),
])
def test_a_post_the_api_read_but_never_answered_is_sent_again_as_it_was(
        collector: Collector, make_delivery: MakeDelivery, reply: Reply) -> None:
    # README "At least once": the API read the whole POST (it may have stored the logs)
    # and no answer came; the retry sends the same bytes, each log with its _id.
    collector.replies.append(reply)
    delivery = make_delivery(collector.url, buffer_length=3)
    for n in range(3):
        delivery.submit(item(f"log-{n}"))
    assert delivery.flush(10.0) is True
    [unanswered] = collector.failed
    [answered] = collector.received
    assert unanswered.body == answered.body
    assert ids(answered.json()) == ["log-0", "log-1", "log-2"]
    assert (delivery.stats["sent"], delivery.stats["retries"]) == (3, 1)


@pytest.mark.parametrize("partial", [
    pytest.param(b"HTTP/1.1 202 Accepted\r\nContent-Length: 100\r\n\r\nabc",
                 id="reset-mid-body"),
    pytest.param(b"HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
                 id="reset-mid-chunked-body"),
    pytest.param(b"HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                 id="chunk-size-not-a-number"),
])
def test_logs_the_api_accepted_are_not_sent_again_when_its_answer_body_breaks(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture, partial: bytes) -> None:
    # The status line and headers are the API's verdict: 202, the logs were accepted,
    # whatever happens to the answer's body. Taken for a failed POST, the batch was
    # posted again (5 times in all against such an API, each accepted) and then
    # counted as dropped. One POST now (the collector counts a reply cut short as a
    # failed request), and the logs count as sent.
    collector.replies.append(Reply(partial=partial))
    delivery = make_delivery(collector.url, buffer_length=4)
    for n in range(4):
        delivery.submit(item(f"log-{n}"))
    assert delivery.flush(10.0) is True

    assert (len(collector.failed), collector.received) == (1, [])
    stats = delivery.stats
    assert (stats["sent"], stats["batches"], stats["retries"], stats["dropped"]) == (4, 1, 0, 0)
    assert messages(caplog, logging.WARNING, "") == []


@pytest.mark.parametrize("status", [pytest.param(429, id="429"), pytest.param(503, id="503")])
@pytest.mark.parametrize("retry_after", [
    pytest.param(lambda: "1", id="seconds"),
    pytest.param(lambda: email.utils.formatdate(time.time() + 2, usegmt=True), id="http-date"),
])
def test_retry_after_is_respected(collector: Collector, make_delivery: MakeDelivery,
                                  retry_after: Callable[[], str], status: int) -> None:
    # Backoff alone would retry within 10 ms; the server asked for at least a second.
    collector.replies.append(Reply(status, headers={"Retry-After": retry_after()}))
    delivery = make_delivery(collector.url, buffer_length=2, backoff_base=0.01)
    started = time.monotonic()
    delivery.submit(item("a"))
    delivery.submit(item("b"))
    collector.wait_for_logs(2)
    assert time.monotonic() - started >= 0.9
    assert ids(collector.logs) == ["a", "b"]
    assert delivery.stats["retries"] == 1


def test_retries_are_bounded_then_the_batch_is_dropped(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture) -> None:
    # max_attempts failures at the longest backoff: make_delivery's climbs 0.01, 0.02,
    # 0.04 s to its 0.05 s cap, and the 3 failures below the cap do not count (delivery16).
    # (Down after DOWN_AFTER failures: the probes count against max_down_attempts.)
    collector.default = Reply(503)
    delivery = make_delivery(collector.url, buffer_length=2, max_attempts=3,
                             max_down_attempts=3)
    for n in range(6):
        delivery.submit(item(f"log-{n}"))
    assert delivery.flush(10.0) is False

    assert collector.received == []
    stats = delivery.stats
    batches = stats["failed_batches"]
    assert 1 <= batches <= 3
    # Each batch: 3 attempts at the cap, and 3 below it (its own attempts count, not
    # the failures in a row: delivery17).
    assert len(collector.failed) == 6 * batches
    assert stats["dropped_retries_exhausted"] == stats["dropped"] == 6
    assert (stats["retries"], stats["queued"]) == (len(collector.failed) - batches, 0)
    assert adds_up(stats)
    # Batches dropped, one warning: warnings are rate-limited per kind.
    assert len(messages(caplog, logging.WARNING, "could not deliver a batch")) == 1


@pytest.mark.parametrize("status", [pytest.param(401, id="401"), pytest.param(403, id="403")])
def test_auth_failure_pauses_delivery_with_one_error_per_pause(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture, status: int) -> None:
    collector.replies.append(Reply(status, b'{"error":"bad key"}'))
    delivery = make_delivery(collector.url, buffer_length=2, auth_pause=0.6)
    delivery.submit(item("a"))
    delivery.submit(item("b"))
    wait_until(lambda: delivery.stats["dropped_auth"] == 2)

    # During the pause new logs are dropped and counted, and nothing is posted.
    for n in range(5):
        assert delivery.submit(item(f"paused-{n}")) is False
    assert delivery.flush(0.5) is False
    stats = delivery.stats
    assert (stats["dropped_auth"], stats["queued"], stats["sent"]) == (7, 0, 0)
    assert len(collector.failed) == 1 and collector.received == []
    errors = messages(caplog, logging.ERROR, str(status))
    assert len(errors) == 1
    assert "API key" in errors[0] and "README_API_KEY" in errors[0]

    # After the pause: a second refusal is a second pause with its own single error ...
    # (nothing waits, so flush() is True exactly when the pause is over: no fixed sleep)
    wait_until(lambda: delivery.flush(0.05))
    collector.replies.append(Reply(status))
    delivery.submit(item("c"))
    delivery.submit(item("d"))
    wait_until(lambda: delivery.stats["dropped_auth"] == 9)
    assert len(messages(caplog, logging.ERROR, str(status))) == 2

    # ... and once the key is accepted again, delivery resumes.
    wait_until(lambda: delivery.flush(0.05))
    delivery.submit(item("e"))
    delivery.submit(item("f"))
    assert delivery.flush(5.0) is True
    assert ids(collector.logs) == ["e", "f"]
    assert adds_up(delivery.stats)
    assert len(messages(caplog, logging.ERROR, str(status))) == 2


@pytest.mark.parametrize("reply", [
    pytest.param(Reply(400, b'{"error":"bad log XYZ"}'), id="400"),
    pytest.param(Reply(404, b"no such route XYZ"), id="404"),
    pytest.param(Reply(422, b'{"errors":["XYZ"]}'), id="422"),
    pytest.param(Reply(400, f'{{"error":"key {API_KEY} XYZ"}}'.encode()), id="body-echoes-key"),
])
def test_other_4xx_drop_the_batch_and_log_the_body_at_debug(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture, reply: Reply) -> None:
    collector.replies.append(reply)
    delivery = make_delivery(collector.url, buffer_length=3)
    for name in ("a", "b", "c"):
        delivery.submit(item(name))
    wait_until(lambda: delivery.stats["dropped"] == 3)
    for name in ("d", "e", "f"):
        delivery.submit(item(name))
    # The flush answers for a, b and c too (dropped since the last answer), once.
    assert delivery.flush(5.0) is False
    assert delivery.flush(5.0) is True

    assert len(collector.failed) == 1  # not retried
    assert ids(collector.logs) == ["d", "e", "f"]
    stats = delivery.stats
    assert (stats["dropped_rejected"], stats["failed_batches"], stats["retries"]) == (3, 1, 0)
    assert adds_up(stats)
    debug = messages(caplog, logging.DEBUG, "XYZ")
    assert len(debug) == 1 and str(reply.status) in debug[0]
    assert len(messages(caplog, logging.WARNING, "rejected")) == 1


@pytest.mark.parametrize("background", [True, False], ids=["background", "inline"])
@pytest.mark.parametrize("charset", ["idna", "punycode", "undefined", "utf-8\x00"])
@pytest.mark.parametrize(("status", "reason"), [(503, None), (400, "rejected")])
def test_an_answer_naming_a_charset_python_cannot_decode_with_is_judged_by_its_status(
        collector: Collector, make_delivery: MakeDelivery, charset: str, status: int,
        reason: Optional[str], background: bool) -> None:
    # The answer's body is decoded for the policy (a 4xx's is logged at debug) with the
    # charset it names: these raised out of the sender, so a 503 was not retried but
    # dropped as an unexpected error, and in inline mode the batch was never settled.
    collector.replies.append(Reply(status, b"caf\xe9 XYZ",
                                   headers={"Content-Type": f"text/plain; charset={charset}"}))
    delivery = make_delivery(collector.url, buffer_length=2, background_worker_mode=background)
    delivery.submit(item("a"))
    delivery.submit(item("b"))
    flushed = delivery.flush(5.0)

    stats = delivery.stats
    if reason is None:  # retried, then delivered
        assert flushed
        assert (ids(collector.logs), stats["retries"], stats["dropped"]) == (["a", "b"], 1, 0)
    else:
        assert (stats["dropped_" + reason], stats["dropped"], stats["queued"]) == (2, 2, 0)
    assert adds_up(stats)


# -- random failure scripts -------------------------------------------------------------------


REPLIES = st.sampled_from([Reply(202), Reply(500), Reply(429), Reply(400), Reply(408),
                           Reply(drop=True)])


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(script=st.lists(REPLIES, max_size=8), count=st.integers(1, 12),
       buffer_length=st.integers(1, 4))
def test_any_reply_script_delivers_at_most_once_and_adds_up(
        collector: Collector, script: list[Reply], count: int, buffer_length: int) -> None:
    collector.received.clear()
    collector.failed.clear()
    collector.replies.clear()
    collector.replies.extend(script)
    config = MetricsApiConfig(api_key=API_KEY, grouping_function=lambda req: None,
                              metrics_api=collector.url, buffer_length=buffer_length,
                              flush_interval=0)
    delivery = Delivery(config, build_id, max_attempts=3, backoff_base=0.001,
                        backoff_cap=0.002)
    try:
        for n in range(count):
            delivery.submit(item(f"log-{n}"))
        complete = delivery.flush(10.0)
        delivered = ids(collector.logs)
        stats = delivery.stats
        assert len(delivered) == len(set(delivered)) == stats["sent"]
        assert stats["queued"] == 0 and adds_up(stats)
        # flush() is False only when something was not delivered; it may be True with
        # drops when those were settled before flush() was called (not its logs).
        assert complete or stats["sent"] < count
        if stats["sent"] == count:
            assert complete
        # (unknown: retries ran out after a POST of it was read in full and closed
        # unanswered, a drop: the API may have it, delivery81)
        assert stats["dropped"] == stats["dropped_rejected"] + stats[
            "dropped_retries_exhausted"] + stats["dropped_unknown"]
        assert not stats["dropped_unknown"] or any(reply.drop for reply in script)
    finally:
        delivery.close()
