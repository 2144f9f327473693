"""servers9's findings: odd answers under real servers, logged as the client got them.

1. granian (ASGI and WSGI) answers a final 1xx status other than 101 with its own 500
   and no body: the ASGI log said the app's 103, the WSGI log said 500 with the app's
   body ("body", size 4) that no client got.
2. A start the server refuses (its ``send`` raises into the app): hypercorn answers its
   own 500, which was logged "incomplete: the app's answer broke off after 0 bytes" (no
   head of the app's ever went out); uvicorn (a status that is no number) and hypercorn
   (a final 101 no client asked an upgrade for: h11's connection breaks) close the
   connection with no answer at all, which was logged the same way.
6. A WSGI iterable whose ``close()`` raises: waitress and cheroot write a chunked
   answer's last chunk only after ``close()``, so the client's answer had no end (waitress,
   with nothing sent, answers its own 500), logged as a whole 200; cheroot sends the head
   of an iterable that raised before any chunk, with no end, logged as a whole empty 200.

Each case sends the same raw request to the bare app and the wrapped one
(tests/support/hostile_apps.py) and compares the log with the bytes the client got.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import pytest

from tests.support.fake_api import Collector, free_port
from tests.test_asgi_servers import SERVERS as ASGI_SERVERS
from tests.test_e2e_servers import API_KEY, NO_CHEROOT, NO_GRANIAN, serve, server_env
from tests.test_e2e_servers import SERVERS as WSGI_SERVERS
from tests.test_hostile_servers import (
    ASGI,
    WSGI,
    _answer,
    _body_sent,
    _normalized,
    _request,
    _trace_of,
)
from tests.test_hostile_servers import SERVERS as HOSTILE

pytestmark = pytest.mark.e2e

ARGV = {
    "granian-asgi": lambda port: ASGI_SERVERS["granian"](port, ASGI),
    "granian-wsgi": lambda port: WSGI_SERVERS["granian"](port, WSGI),
    "hypercorn": lambda port: ASGI_SERVERS["hypercorn"](port, ASGI),
    "uvicorn": lambda port: ASGI_SERVERS["uvicorn"](port, ASGI),
}


def _got(answer: bytes) -> tuple[int, int]:
    """(status, body bytes) of a raw answer; (0, 0) for none at all."""
    if not answer:
        return 0, 0
    return int(answer.split(b" ", 2)[1]), _body_sent(answer)


def _served(server: str, collector: Collector, tmp_path: Path, paths: list[str]
            ) -> tuple[dict[str, tuple[int, int]], dict[str, dict[str, Any]]]:
    """What the client got from the wrapped app for each path (the bare app's answer
    must be the same), and the log's response for each."""
    port = free_port()
    got = {}
    with serve(ARGV[server](port), server_env(collector), tmp_path, port):
        for path in paths:
            bare = _got(_answer(port, _request("GET", path)(port, "bare", "bare")))
            got[path] = _got(_answer(port, _request("GET", path)(port, "wrap", path)))
            assert got[path] == bare, path
        logs = collector.wait_for_logs(len(paths))
    responses = {_trace_of(log): log["request"]["log"]["entries"][0]["response"]
                 for log in logs}
    return got, responses


@pytest.mark.parametrize("server", [pytest.param("granian-asgi", marks=NO_GRANIAN),
                                    pytest.param("granian-wsgi", marks=NO_GRANIAN)])
def test_granian_final_1xx_is_logged_as_its_own_empty_500(
        server: str, collector: Collector, tmp_path: Path) -> None:
    paths = ["/body-always?status=103", "/body-always?status=199"]
    got, responses = _served(server, collector, tmp_path, paths)
    for path in paths:
        response = responses[path]
        assert got[path] == (500, 0)
        assert (response["status"], response["content"]["size"]) == got[path]
        assert response["content"]["text"] == ""
        assert response["headers"] == []
        assert response["comment"].startswith("the server answered 500 itself (a final 1xx")


def test_hypercorn_refused_start_is_its_own_500_not_a_broken_off_answer(
        collector: Collector, tmp_path: Path) -> None:
    paths = ["/status/abc", "/status/1%20X"]
    got, responses = _served("hypercorn", collector, tmp_path, paths)
    for path in paths:
        response = responses[path]
        assert got[path] == (500, 0)
        assert (response["status"], response["content"]["size"]) == got[path]
        assert "comment" not in response["content"], response  # nothing broke off
        assert "comment" not in response


@pytest.mark.parametrize("server, path", [("hypercorn", "/body-always?status=101"),
                                          ("uvicorn", "/status/abc")])
def test_a_refused_start_with_no_answer_at_all_is_logged_so(
        server: str, path: str, collector: Collector, tmp_path: Path) -> None:
    got, responses = _served(server, collector, tmp_path, [path])
    response = responses[path]
    assert got[path] == (0, 0)  # the connection closed with not a byte
    assert (response["status"], response["content"]["size"]) == (500, 0)
    assert "comment" not in response["content"], response  # no head went out
    assert response["comment"].startswith(
        "no answer reached the client: the server refused the app's start and closed")


# -- 6. a WSGI iterable whose close() raises, or that raises after N chunks ----------------

RAISING = ["/close-raise?n=2", "/close-raise?n=2&length=2", "/close-raise?n=0",
           "/raise-after?n=2", "/raise-after?n=2&length=5", "/raise-after?n=0"]
RAISING_SERVERS = ["waitress", "gunicorn-sync", "gunicorn-gthread", "werkzeug", "wsgiref",
                   pytest.param("cheroot", marks=NO_CHEROOT)]


def _ended(answer: bytes) -> Optional[bool]:
    """Whether the answer's body came to its end (a last chunk, its Content-Length);
    None for a body that only the connection's close ends (nothing tells)."""
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.lower().split(b"\r\n")
    if b"transfer-encoding: chunked" in lines:
        return body.endswith(b"0\r\n\r\n")
    for line in lines:
        if line.startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return None


@pytest.mark.parametrize("mode", ["inline", "background"])
@pytest.mark.parametrize("server", RAISING_SERVERS)
def test_an_iterable_raising_in_close_or_mid_way_is_logged_as_sent(
        server: str, mode: str, collector: Collector, tmp_path: Path) -> None:
    """waitress and cheroot write a chunked answer's last chunk only once the iterable's
    close() returned: a close() that raises left the client's answer without its end (and
    waitress, with nothing sent, answers its own 500), logged as a whole 200; cheroot sends
    the started head of an iterable that raised before any chunk, with no end, logged as
    a whole empty 200. The client gets what it gets bare; the key is in no server output.
    In background mode too, whose log was queued at the iteration's end, before close()."""
    port = free_port()
    answers = {}
    env = server_env(collector, README_BACKGROUND_WORKER_MODE=str(mode == "background"))
    with serve(HOSTILE[server](port), env, tmp_path, port):
        for path in RAISING:
            bare = _answer(port, _request("GET", path)(port, "bare", "bare"))
            answers[path] = _answer(port, _request("GET", path)(port, "wrap", path))
            assert _normalized(answers[path]) == _normalized(bare), path
        logs = collector.wait_for_logs(len(RAISING))
    responses = {_trace_of(log): log["request"]["log"]["entries"][0]["response"]
                 for log in logs}
    wrong = {}
    for path, answer in answers.items():
        response = responses[path]
        ended = _ended(answer)
        logged = (response["status"], response["content"]["size"],
                  "comment" in response["content"] if ended is not None else None)
        got = (*_got(answer), None if ended is None else not ended)
        if response.get("comment", "").startswith("the server answered"):
            got = (got[0], 0, False)  # its own page: none of the app's body
        if logged != got:
            wrong[path] = (logged, got)
    assert not wrong, f"logged (status, size, said broken off) vs the client's: {wrong}"
    assert API_KEY not in (tmp_path / f"server-{port}.log").read_text(errors="replace")
