"""A grouping function reading a body longer than max_body_bytes (SPEC 5, SPEC 6).

Such a body is never held whole: a grouping function reading it from the middleware's
copy gets its first max_body_bytes, its JSON does not parse, and the call is not logged.
twins20 found the error said for it names the JSONDecodeError alone. It now says the body
was cut at max_body_bytes, with the sizes, and the way out. Real servers on 127.0.0.1: the
plain WSGI middleware (webob) and Flask under gunicorn, FastAPI under uvicorn, Django
under gunicorn (WSGI) and uvicorn (ASGI), each logging into a real collector.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.capture.body import BodyRecord, body_cut
from readme_metrics.grouping import Identifier
from tests.support.fake_api import Collector, free_port
from tests.support.polling import PATIENCE
from tests.test_e2e_servers import CALLER, MAX_BODY, serve, server_env
from tests.test_twins20_frameworks import server_argv

TARGETS = {
    "wsgi": ("gunicorn", "tests.support.grouping22_apps:wsgi_app"),
    "flask": ("gunicorn", "tests.support.grouping22_apps:flask_app"),
    "fastapi": ("uvicorn", "tests.support.grouping22_apps:fastapi_app"),
    "django-wsgi": ("gunicorn", "tests.support.grouping22_apps:django_wsgi"),
    "django-asgi": ("uvicorn", "tests.support.grouping22_apps:django_asgi"),
}
BIG = json.dumps({"name": "big", "pad": "x" * 6000}).encode()  # over MAX_BODY (4096)
SMALL = json.dumps({"name": "small"}).encode()
CUT = re.compile(r"the body it was given was cut at max_body_bytes \((\d+) of (\d+) bytes\): "
                 r"raise max_body_bytes above the bodies it reads, or read the caller from "
                 r"a header")


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    made = Collector().start()
    yield made
    made.stop()


def labels(collector: Collector) -> list[str]:
    return [log["group"]["label"] for log in collector.logs]


@pytest.mark.e2e
@pytest.mark.parametrize("side", list(TARGETS))
def test_a_grouping_function_given_a_cut_body_is_told_why(
        side: str, collector: Collector, tmp_path: Path) -> None:
    """Per side: a small body is logged (the function parsed it); a big one the view read
    is logged where the framework hands over its own request (Flask, Django: the view's
    cached body, whole), else not logged, and the error names the cut with its sizes;
    a big one the view left unread is not logged anywhere, with the same error. The app
    answers each as it would bare. Fails on main: the error says JSONDecodeError alone."""
    port = free_port()
    env = server_env(collector, DJANGO_SETTINGS_MODULE="tests.support.grouping22_apps")
    own_request = side in ("flask", "django-wsgi", "django-asgi")
    sizes: dict[str, int] = {}
    with serve(server_argv(*TARGETS[side], port), env, tmp_path, port) as base:
        for path, body, label in (("/read", SMALL, "small-read"), ("/read", BIG, "big-read"),
                                  ("/noread", BIG, "big-left"),
                                  ("/noread", SMALL, "small-left")):
            # The label is the name the grouping function parses: a body of its own.
            data = body.replace(b'"big"', b'"%s-%s"' % (side.encode(), label.encode()))
            data = data.replace(b'"small"', b'"%s-%s"' % (side.encode(), label.encode()))
            sizes[label] = len(data)
            answer = requests.post(base + path, data=data, timeout=PATIENCE, headers={
                "X-Api-Key": CALLER, "Content-Type": "application/json"})
            assert answer.status_code == 200, answer.text
            assert answer.text == (f"{side}-{label}" if path == "/read" else "None")
        # The last one sent: the logs of the others were queued before it.
        collector.wait_for_log(lambda log: log["group"]["label"] == f"{side}-small-left")
    said = (tmp_path / f"server-{port}.log").read_text()
    got = labels(collector)
    assert f"{side}-small-read" in got and f"{side}-small-left" in got
    assert (f"{side}-big-read" in got) == own_request, (got, said)
    assert f"{side}-big-left" not in got, got
    errors = [line for line in said.splitlines() if "the grouping function raised" in line]
    # Said once: the two big bodies (labels of one length, so one JSONDecodeError message
    # at one place) under the WSGI and ASGI middlewares are one message.
    assert len(errors) == 1, said
    cut = CUT.search(errors[0])
    assert cut is not None, errors[0]
    first = "big-left" if own_request else "big-read"
    assert (int(cut.group(1)), int(cut.group(2))) == (MAX_BODY, sizes[first])
    assert CALLER not in said


# -- the Identifier and body_cut, without a server -------------------------------------


@settings(max_examples=200, deadline=None)
@given(limit=st.integers(1, 64), chunks=st.lists(st.binary(max_size=40), max_size=6),
       declared=st.booleans(), ended=st.booleans())
def test_body_cut_is_said_exactly_of_a_body_longer_than_what_is_kept(
        limit: int, chunks: list[bytes], declared: bool, ended: bool) -> None:
    whole = b"".join(chunks)
    record = BodyRecord(limit, len(whole) if declared else None)
    for chunk in chunks:
        record.feed(chunk)
    if ended:
        record.end()
    cut = body_cut(record)
    if len(whole) > limit:
        assert cut == (limit, len(whole) if declared or ended else -1)
        assert record.content() == whole[:limit]
    else:
        assert cut is None


def test_an_unread_declared_body_over_the_limit_is_cut_at_its_declared_size() -> None:
    record = BodyRecord(10, 25)
    record.feed(b"x" * 12)
    assert body_cut(record) == (10, 25)
    assert body_cut(None) is None


def _raising(request: object) -> dict[str, str]:
    return json.loads(b'{"name": "cut')  # type: ignore[no-any-return]


def _record(limit: int, declared: Optional[int], fed: int) -> BodyRecord:
    record = BodyRecord(limit, declared)
    record.feed(b"x" * fed)
    return record


def test_the_identifier_says_the_cut_once_and_only_for_a_cut_body(
        caplog: pytest.LogCaptureFixture) -> None:
    identifier = Identifier(_raising, logging.getLogger("grouping22"))
    with caplog.at_level(logging.ERROR, "grouping22"):
        assert identifier(object()) is None
        assert identifier(object(), _record(4096, 100, 100)) is None  # whole: not cut
        assert identifier(object(), _record(4096, 6020, 4100)) is None
        assert identifier(object(), _record(4096, 9000, 5000)) is None  # the same place
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2, lines
    assert "cut at" not in lines[0] and "JSONDecodeError" in lines[0]
    assert "cut at max_body_bytes (4096 of 6020 bytes)" in lines[1], lines[1]
    assert lines[1].endswith("; the request is not logged (traceback at DEBUG level)")


def test_an_unknown_size_is_said_as_more_than_the_kept_bytes(
        caplog: pytest.LogCaptureFixture) -> None:
    identifier = Identifier(_raising, logging.getLogger("grouping22b"))
    with caplog.at_level(logging.ERROR, "grouping22b"):
        identifier(object(), _record(4096, None, 5000))  # chunked, still arriving
    assert "(4096 of 5000 bytes)" not in caplog.records[0].getMessage()
    assert "(4096 of more than 4096 bytes)" in caplog.records[0].getMessage()
