"""review15: an adversarial read of the cpu12r/cpu12w request-thread and worker fast
paths, the lifecycle of dropped middlewares, and review13/14's nesting, under real parts.

- Concurrent callers through a real threaded server (waitress, 8 threads): the grouping
  function's last Group is reused for an equal mapping (f319c11), the log is finished
  once without a shared lock (4dfc072), a one-chunk body is held as it is (42740df).
  Every log must carry its own request's caller, exactly once, with the body as sent.
- The reused Group must be the one reading the mapping gives: a str subclass equal to
  the cached text (a str-based Enum) was read as its own str() when it came first.
"""

from __future__ import annotations

import enum
import http.client
import logging
import random
import threading
from typing import Any, Callable, Iterator, Optional

from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.grouping import Identifier
from tests.support.contract import API_KEY, spec_mask
from tests.support.fake_api import Collector
from tests.support.wsgi_servers import waitress_served

LOGGER = logging.getLogger("tests.review15")

# Callers that differ by one field only: a stale Group would show as the wrong label,
# email or id on some log.
CALLERS: list[dict[str, Optional[str]]] = [
    {"api_key": "caller-key-0001", "label": "One", "email": "one@example.com"},
    {"api_key": "caller-key-0001", "label": "One", "email": "two@example.com"},
    {"api_key": "caller-key-0001", "label": "Two", "email": "one@example.com"},
    {"api_key": "caller-key-0002", "label": "One", "email": "one@example.com"},
    {"api_key": "caller-key-0001", "label": None, "email": "one@example.com"},
    {"api_key": "caller-key-0001", "label": "One"},
    {"id": "caller-key-0001", "label": "One", "email": "one@example.com"},
]


def _grouping(req: Any) -> dict[str, Optional[str]]:
    # A new mapping per request, as a grouping function builds it.
    return dict(CALLERS[int(req.headers["X-Caller"])])


def _app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
    number = environ["PATH_INFO"].rsplit("/", 1)[1]
    start_response("200 OK", [("Content-Type", "text/plain")])
    if int(number) % 2:
        yield f"one chunk {number}".encode()
        return
    # A buffer the app reuses after yielding it: the log keeps what was sent.
    buffer = bytearray(f"first {number};".encode())
    yield buffer  # type: ignore[misc]
    buffer[:] = b"second;"
    yield buffer  # type: ignore[misc]
    buffer[:] = b"XXXXXXX"


def _sent_body(number: int) -> str:
    return f"one chunk {number}" if number % 2 else f"first {number};second;"


def test_concurrent_callers_each_get_their_own_group_and_one_log(collector: Collector) -> None:
    requests_per_thread, threads = 60, 8
    middleware = MetricsMiddleware(_app, MetricsApiConfig(
        api_key=API_KEY, metrics_api=collector.url, grouping_function=_grouping,
        buffer_length=20, flush_interval=0.2))
    sent: dict[int, int] = {}
    errors: list[BaseException] = []

    def client(first: int) -> None:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            rng = random.Random(first)
            for number in range(first, first + requests_per_thread):
                who = rng.randrange(len(CALLERS))
                sent[number] = who
                connection.request("GET", f"/r/{number}", headers={"X-Caller": str(who)})
                response = connection.getresponse()
                assert response.read().decode() == _sent_body(number)
            connection.close()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=client, args=(n * 1000,)) for n in range(threads)]
    with waitress_served(middleware, threads=8) as port:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(90)
        assert not errors, errors
        assert middleware.flush(20.0)
    logs = collector.wait_for_logs(len(sent))
    assert len(logs) == len(sent)  # one log per exchange, none twice
    seen = set()
    for log in logs:
        entry = log["request"]["log"]["entries"][0]
        number = int(entry["request"]["url"].rsplit("/", 1)[1])
        assert number not in seen
        seen.add(number)
        expected = CALLERS[sent[number]]
        key = expected.get("api_key") or expected["id"]
        group = {"id": spec_mask(key)}  # type: ignore[arg-type]
        for field in ("label", "email"):
            if expected.get(field) is not None:
                group[field] = expected[field]  # type: ignore[assignment]
        assert log["group"] == group, (number, expected)
        assert entry["response"]["content"]["text"] == _sent_body(number)
    assert seen == set(sent)


# -- the last caller's Group, reused for an equal mapping (f319c11) --------------------


class Plan(str, enum.Enum):
    """A str-based Enum (not StrEnum): its str() is "Plan.FREE", its text "free"."""

    FREE = "free"


class Spelled(str):
    """A str subclass whose own str() is another text."""

    def __str__(self) -> str:
        return "not-the-key"


EQUAL_RESULTS = st.sampled_from([
    {"api_key": "k-1", "label": "free"},
    {"api_key": "k-1", "label": Plan.FREE},
    {"api_key": Spelled("k-1"), "label": "free"},
    {"api_key": "k-1", "label": "free", "email": Spelled("a@b.c")},
    {"api_key": "k-1", "label": "free", "email": "a@b.c"},
])


@settings(max_examples=200, deadline=None)
@given(results=st.lists(EQUAL_RESULTS, min_size=2, max_size=6))
def test_equal_mappings_give_the_same_group_in_any_order(
        results: list[dict[str, Any]]) -> None:
    """A str subclass equals its text: the Group reused for an equal mapping must be the
    one reading it gives, whichever came first (the label was "free" after a plain
    mapping, "Plan.FREE" after a fresh read; the id "k-1" or "not-the-key")."""
    returned = iter(results)
    identify = Identifier(lambda req: next(returned), LOGGER)
    for result in results:
        fresh = Identifier(lambda req, given=result: given, LOGGER)(None)
        assert identify(None) == fresh
        assert fresh is not None and fresh.id == "k-1" and fresh.label == "free"
        assert fresh.email in (None, "a@b.c")
