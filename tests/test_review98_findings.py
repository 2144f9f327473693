"""review98's findings (an adversarial review of hostile20's, newcomer21's and review97's
landings).

1. skip_methods under Django's middleware: newcomer21 keeps a custom method as written
   (``README_SKIP_METHODS=fetch``: "fetch", no longer "FETCH"), and the WSGI and ASGI
   middlewares compare it with the method as sent. Django's middleware compared it with
   ``request.method``, which Django upper-cases: a custom method listed in lower case
   never matched there, and its requests were logged (on 564f251, before newcomer21,
   "fetch" was "FETCH" and they were skipped). It now asks with the method as sent
   (``REQUEST_METHOD``, the scope's ``method``), as the other middlewares do.
"""

from __future__ import annotations

import http.client
from pathlib import Path

import pytest

from tests.support.fake_api import Collector, free_port
from tests.support.polling import PATIENCE, wait_until
from tests.test_e2e_servers import serve, server_env
from tests.test_twins20_frameworks import server_argv

# -- 1. skip_methods under Django ------------------------------------------------------------


def _sent(base: str, method: str, path: str = "/x") -> bytes:
    connection = http.client.HTTPConnection(base[len("http://"):], timeout=PATIENCE)
    try:
        connection.request(method, path)
        answer = connection.getresponse()
        assert answer.status == 200
        return answer.read()
    finally:
        connection.close()


@pytest.mark.e2e
@pytest.mark.parametrize("server, target", [
    ("gunicorn", "tests.support.review98_django:wsgi_app"),
    ("uvicorn", "tests.support.review98_django:asgi_app"),
])
def test_django_skips_a_custom_method_listed_as_sent(
        server: str, target: str, collector: Collector, tmp_path: Path) -> None:
    """README_SKIP_METHODS=fetch,options under Django's middleware, served by gunicorn
    (WSGI) and uvicorn (ASGI): a ``fetch`` request is skipped, as under the WSGI
    middleware (tests/test_newcomer21_findings.py); ``FETCH`` (another method) and GET
    are logged. Fails on 2401f1b: Django's upper-cased ``request.method`` ("FETCH") was
    compared with "fetch", so the ``fetch`` request was logged (and ``FETCH`` too)."""
    port = free_port()
    env = server_env(collector, README_SKIP_METHODS="fetch,options")
    argv = server_argv(server, target, port)
    if server == "gunicorn":  # (gunicorn answers a method in lower case 400 otherwise)
        argv.insert(-1, "--permit-unconventional-http-method")
    else:  # (and uvicorn's httptools parser too)
        argv.insert(-1, "--http=h11")
    with serve(argv, env, tmp_path, port) as base:
        for method in ("fetch", "FETCH", "GET", "OPTIONS"):
            assert _sent(base, method).lower() == method.lower().encode()  # (ASGI: upper)
        # One at a time, each log posted in its request's thread: once the last request's
        # log is in, any log of the ones before it is too.
        assert _sent(base, "GET", "/x?last") == b"GET"
        wait_until(lambda: any(log["request"]["log"]["entries"][0]["request"]["url"]
                               .endswith("?last") for log in collector.wait_for_logs(1)))
    methods = [log["request"]["log"]["entries"][0]["request"]["method"]
               for log in collector.logs]
    assert sorted(methods) == ["FETCH", "GET", "GET"], methods
