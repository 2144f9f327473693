"""ASGI under real servers: the log says what the client got when it left, or when the
app broke HTTP's framing (SPEC 4 and 5: the log is of the exchange as it happened).

Raw clients against tests/support/asgi_left.py's apps, served bare and wrapped by one
server process (uvicorn with h11 and httptools, hypercorn's asyncio and trio workers,
granian, daphne): a plain ASGI app, and Starlette and FastAPI apps with the middleware
added by ``app.add_middleware`` (inside Starlette's ``ServerErrorMiddleware``, whose
closure around the server's ``send`` is what the middleware gets) or wrapping the whole
app:

- a client that leaves before the app answers: uvicorn and daphne know, and drop the
  answer; the log says 499 Client Closed Request, as nginx logs it (HAR has no status
  for "no answer"), with none of the app's headers or body;
- a body short of the Content-Length the app declared: the client gets what was sent
  (uvicorn and hypercorn then refuse to end the response and close the connection);
- a stream the client left, the app sending on without calling ``receive``: the log
  ends where the client went (the plain app's case is in tests/test_asgi_client_got.py);
- a status given as the string "200": hypercorn sends 200, the others refuse it.
"""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from readme_metrics.capture.asgi_messages import CLIENT_GONE_COMMENT
from tests.support.asgi_left import LATE_ANSWER
from tests.support.fake_api import Collector, free_port
from tests.test_asgi_client_got import (
    ALL,
    _entry,
    _servers,
    _trace,
    check_left_stream,
)
from tests.test_asgi_conformance import SAFETY, _raw
from tests.test_e2e_servers import serve, server_env
from tests.test_slow_client import normalized, read_answer

pytestmark = pytest.mark.e2e

PLAIN = "tests.support.asgi_left:plain_root"
FRAMEWORKS = {
    "starlette": "tests.support.asgi_left:starlette_root",  # app.add_middleware
    "fastapi": "tests.support.asgi_left:fastapi_root",  # app.add_middleware
    "starlette-whole": "tests.support.asgi_left:starlette_whole_root",  # wrapped whole
}
APPS = {"plain": PLAIN, **FRAMEWORKS}
#: What :func:`served` serves: the apps, and Starlette's ``CORSMiddleware`` added after
#: the metrics middleware (outside it).
TARGETS = {**APPS, "starlette-cors": "tests.support.asgi_left:starlette_cors_root"}
ON_LINUX = sys.platform.startswith("linux")
DAPHNE_QUIET = 2.0  # seconds a server that holds a connection and says nothing is given


@pytest.fixture(scope="module")
def served(server: str, app: str, module_collector: Collector,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """``server`` serving ``TARGETS[app]`` for every test of the module that asks for that
    pair (``server`` and ``app`` are parametrized with ``scope="module"``, so pytest runs
    those tests one after the other): its port. Starting a server is most of such a
    test's time; each test sends its own trace and reads only its own log
    (:func:`_entry`), and leaves nothing behind that the next one would meet (every
    connection is closed, every app waiting for a barrier released)."""
    port = free_port()
    tmp = tmp_path_factory.mktemp(f"{server}-{app}")
    with serve(ALL[server](port, TARGETS[app]), server_env(module_collector), tmp, port):
        yield port


def _answers(port: int, server: str, trace: str, path: str,
             wait: float = SAFETY) -> tuple[Any, Any]:
    """The normalised answers bare and wrapped to ``GET path`` (wrapped: X-Trace), each
    read until it is complete, the server closes, or ``wait`` seconds pass."""
    got = []
    for prefix in ("bare", "wrap"):
        with socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as sock:
            sock.sendall(_raw(port, prefix, trace, "GET", path))
            got.append(normalized(read_answer(sock, wait), server))
    return got[0], got[1]


@pytest.mark.parametrize("app", APPS, scope="module")
@pytest.mark.parametrize("server", _servers("uvicorn-h11", "uvicorn-httptools", "daphne"),
                         scope="module")
def test_a_client_gone_before_the_answer_is_logged_as_closed_by_the_client(
        module_collector: Collector, served: int, tmp_path: Path) -> None:
    """The client sends its request and leaves; the app answers once it is gone (200 and
    a body). The server knows and drops the answer: the client got nothing, and the log
    says 499 with none of the app's headers or body, and a comment saying why. It said
    200 (uvicorn and daphne; behind ``app.add_middleware`` until the server's ``send``
    was looked for under Starlette's closure)."""
    barrier, trace = tmp_path / "barrier", _trace("late")
    with socket.create_connection(("127.0.0.1", served), timeout=SAFETY) as sock:
        sock.sendall(_raw(served, "wrap", trace, "GET", f"/late?barrier={barrier}"))
        time.sleep(0.1)  # the request is in
    barrier.touch()  # the socket is closed: now the app answers
    response = _entry(module_collector, trace)["response"]
    assert (response["status"], response["statusText"]) == (499, "Client Closed Request")
    assert response["content"]["size"] == 0 and not response["content"].get("text")
    assert not [h for h in response["headers"] if h["name"].lower() == "content-length"]
    assert response["comment"] == CLIENT_GONE_COMMENT + "; the app answered 200"


def _cors_under(*servers: str) -> Any:
    """The parametrization of a test of ``starlette-cors`` under each of ``servers``, on
    :func:`served`: ``app`` and ``server`` module-scoped, the id the server's name."""
    return pytest.mark.parametrize(("app", "server"), [
        pytest.param("starlette-cors", param.values[0], id=str(param.values[0]),
                     marks=param.marks) for param in _servers(*servers)], scope="module")


@_cors_under("uvicorn-h11", "daphne")
def test_a_client_gone_behind_starlettes_cors_middleware_is_logged_as_closed_by_the_client(
        module_collector: Collector, served: int, tmp_path: Path) -> None:
    """Starlette's ``CORSMiddleware``, added after the metrics middleware (so outside
    it), hands it ``partial(cors.send, send=<server's send>, ...)`` for a request with
    an Origin: the server's ``send`` is looked for in a partial's arguments too. The
    client got nothing: 499, as bare behind ``app.add_middleware``. It was logged with
    the app's 200 and body (the partial's keywords were not looked into)."""
    barrier, trace = tmp_path / "barrier", _trace("late")
    with socket.create_connection(("127.0.0.1", served), timeout=SAFETY) as sock:
        sock.sendall(_raw(served, "wrap", trace, "GET", f"/late?barrier={barrier}",
                          b"", "Origin: http://example.test"))
        time.sleep(0.1)
    barrier.touch()
    response = _entry(module_collector, trace)["response"]
    assert (response["status"], response["content"]["size"]) == (499, 0)
    assert response["comment"] == CLIENT_GONE_COMMENT + "; the app answered 200"


@pytest.mark.parametrize("app", APPS, scope="module")
@pytest.mark.parametrize("server", _servers("hypercorn", "hypercorn-trio", "granian"),
                         scope="module")
def test_a_client_gone_before_the_answer_where_nothing_tells(
        module_collector: Collector, served: int, tmp_path: Path, server: str) -> None:
    """hypercorn and granian say nothing of a client gone before the answer (hypercorn
    takes the end of the client's data for a half-close, and writes on): the log keeps
    the app's status. hypercorn's connection is dead once its head brought the client's
    reset (on loopback at once; the TCP state is read on Linux only): the body is not
    logged as sent (it was). granian tells nothing: the body is logged. The same behind
    Starlette and FastAPI."""
    barrier, trace = tmp_path / "barrier", _trace("late")
    with socket.create_connection(("127.0.0.1", served), timeout=SAFETY) as sock:
        sock.sendall(_raw(served, "wrap", trace, "GET", f"/late?barrier={barrier}"))
        time.sleep(0.1)
    barrier.touch()
    response = _entry(module_collector, trace)["response"]
    assert response["status"] == 200 and "comment" not in response
    dead = server == "hypercorn" or (server == "hypercorn-trio" and ON_LINUX)
    assert response["content"]["size"] == (0 if dead else len(LATE_ANSWER))


def _granian_before_2_8() -> bool:
    from importlib.metadata import version

    major, minor = (int(part) for part in version("granian").split(".")[:2])
    return (major, minor) < (2, 8)


@pytest.mark.parametrize("app", APPS, scope="module")
@pytest.mark.parametrize("split", ["0", "1"])
@pytest.mark.parametrize("server", _servers(*ALL), scope="module")
def test_a_body_short_of_its_length_is_logged_as_sent(
        module_collector: Collector, served: int, server: str, split: str) -> None:
    """The app declares Content-Length 10 and sends ``abc`` (in its last body message,
    or in one before an empty last one: Starlette's ``Response`` and
    ``StreamingResponse``). Every server sends the 3 bytes (uvicorn and hypercorn then
    refuse to end the response, raise into the app and close the connection); the log
    has them. With the bytes in the last message it had 0 under uvicorn and hypercorn."""
    trace = _trace("short")
    bare, wrapped = _answers(served, server, trace, f"/length-short?split={split}")
    content = _entry(module_collector, trace)["response"]["content"]
    if server == "granian" and split == "1" and _granian_before_2_8():
        # granian 2.5 (the last on Python 3.9) sends the 3 bytes or none, from one run
        # to the next, when an empty last message follows (bare too)
        pytest.skip("granian 2.5: a body short of its length is sent or not, by chance")
    assert wrapped == bare
    assert wrapped[-1] == b"abc"
    assert (content["size"], content.get("text")) == (3, "abc")


@pytest.mark.parametrize("app", ["plain"], scope="module")
@pytest.mark.parametrize("server", _servers(*ALL), scope="module")
def test_a_status_given_as_text_is_logged_as_the_server_sent_it(
        module_collector: Collector, served: int, server: str) -> None:
    """The app's status is the string "200". hypercorn sends 200 (``int(status)``); it
    was logged 500 there. uvicorn (at the start) and daphne (at the first body message,
    having taken the start) refuse it and close the connection without a word, granian
    answers its own 500: the app's call raised, and the log says 500."""
    # daphne neither answers nor closes the connection (its own 500 fails, the start
    # taken): the answer is read for DAPHNE_QUIET seconds, not SAFETY's 20, as in
    # tests/test_asgi_client_got.py's start without a body.
    wait = DAPHNE_QUIET if server == "daphne" else SAFETY
    trace = _trace("text")
    bare, wrapped = _answers(served, server, trace, "/status-text?status=200", wait)
    response = _entry(module_collector, trace)["response"]
    assert wrapped == bare
    sent = int(wrapped[0].split()[1]) if wrapped[0] else 500
    assert response["status"] == sent
    if server.startswith("hypercorn"):
        assert (sent, response["content"].get("text")) == (200, "body")
        assert "comment" not in response


@pytest.mark.parametrize("app", FRAMEWORKS, scope="module")
@pytest.mark.parametrize("server", _servers("uvicorn-h11", "uvicorn-httptools", "daphne",
                                             "hypercorn", "hypercorn-trio"), scope="module")
def test_a_stream_the_client_left_is_logged_as_far_as_it_went(
        module_collector: Collector, served: int, tmp_path: Path) -> None:
    """tests/test_asgi_client_got.py's stream the client left, behind Starlette and
    FastAPI: the client reads four chunks and leaves, the endpoint (raw ASGI, never
    calling ``receive``) sends LATE more. The servers drop them without a word: the log
    has the four, and at most the few sent before the server saw it. Behind
    ``app.add_middleware`` it was logged as sent in full (the server's ``send`` was not
    looked for under Starlette's closure)."""
    check_left_stream(module_collector, served, tmp_path / "barrier", _trace("left"))


@_cors_under("uvicorn-h11", "uvicorn-httptools", "daphne", "hypercorn")
def test_a_stream_left_behind_starlettes_cors_middleware_is_logged_once_as_far_as_it_went(
        module_collector: Collector, served: int, tmp_path: Path) -> None:
    """The stream the client left, with an Origin, behind Starlette's ``CORSMiddleware``
    outside the metrics middleware (a ``send`` of its own: a partial, the server's
    ``send`` a keyword argument of it): one log, with the four chunks the client got
    and at most a few more. It was logged as sent in full."""
    check_left_stream(module_collector, served, tmp_path / "barrier", _trace("left"),
                      "Origin: http://example.test")


@pytest.mark.parametrize("then", ["return", "raise"])
@pytest.mark.parametrize("app", FRAMEWORKS, scope="module")
@pytest.mark.parametrize("server", _servers("granian", "uvicorn-h11"), scope="module")
def test_an_app_ending_after_its_start_is_logged_as_the_client_got_it(
        module_collector: Collector, served: int, server: str, then: str) -> None:
    """tests/test_asgi_client_got.py's start with no body message, behind Starlette and
    FastAPI: granian writes the head only with the first body message, and answers its
    own 500; uvicorn has sent the 201. Behind ``app.add_middleware`` granian's 500 was
    logged 201 (granian's ``send`` was not looked for under Starlette's closure)."""
    trace = _trace(then)
    bare, wrapped = _answers(served, server, trace, f"/start-only?then={then}")
    status = _entry(module_collector, trace)["response"]["status"]
    assert wrapped == bare
    assert status == int(wrapped[0].split()[1]) == (500 if server == "granian" else 201)
