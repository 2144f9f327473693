"""Review 19's findings: each test failed on main (d4145a4) and passes with its fix.

Real parts only: the collector of tests/support/fake_api.py on 127.0.0.1, real FastAPI
and Starlette apps driven through httpx's ASGITransport.
"""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest

from readme_metrics.masking import mask
from tests.support.asgi_stack import close_stack, flush_stack, httpx_gets, layer_config
from tests.support.contract import run_python
from tests.support.fake_api import Collector, basic_auth, describe
from tests.support.key_site import Site

# -- nesting: a layer of another project between two layers of one project --------------


def _logs_per_key(collector: Collector) -> Counter[str]:
    """How many logs arrived for each project (its Authorization header)."""
    counts: Counter[str] = Counter()
    for received in collector.received:
        if received.path == "/v1/request":
            counts[received.headers.get("Authorization", "")] += len(received.json())
    return counts


def test_a_layer_of_another_project_behind_a_scope_copy_keeps_the_outer_recording(
        collector: Collector) -> None:
    """Two projects: an outer layer of A around a FastAPI app whose add_middleware layers
    are (outermost first) RequestIdMiddleware, which hands on a copy of the scope, a
    layer of B and a layer of A. Starlette makes them at the first request, inside the
    outer layer's call, which was alone for A then and so left the scope unmarked. B's
    layer, given the copy, said in the task's context that it records the exchange for
    B alone (the outer A forgotten: it kept the projects outside only for the very
    scope), so A's inner layer logged the first request a second time: 3 logs for A for
    2 requests (B: 2)."""
    fastapi = pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    from readme_metrics.asgi import MetricsMiddleware, RequestIdMiddleware
    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    key_a, key_b = "rdme_review19_project_a_1111", "rdme_review19_project_b_2222"
    app = fastapi.FastAPI()
    app.add_api_route("/hello", lambda: {"hello": 1})
    app.add_middleware(ReadMeMetricsMiddleware, config=layer_config(collector, key_a))
    app.add_middleware(ReadMeMetricsMiddleware, config=layer_config(collector, key_b))
    app.add_middleware(RequestIdMiddleware)
    outer = MetricsMiddleware(app, layer_config(collector, key_a))

    try:
        for response in httpx_gets(outer, ["/hello", "/hello"]):
            assert response.json() == {"hello": 1}
        outer.flush(5.0)
        flush_stack(app, 5.0)
        collector.wait_for_logs(4)
        time.sleep(0.5)  # a fifth log would be on its way
        counts = _logs_per_key(collector)
        assert counts == {basic_auth(key_a): 2, basic_auth(key_b): 2}, (
            counts, describe(collector.logs))
        assert outer.stats["captured"] == 2
    finally:
        outer.close()
        close_stack(app)


# -- the caller's key in JSON: a number of its value, once the numbers are read ------------


@pytest.mark.parametrize(("key", "body", "spellings"), [
    # The key written as is elsewhere: the numbers are read, and 1234.5e1 (12345 to
    # whoever reads the JSON) was written again as 12345.0, the document compacted.
    pytest.param("12345", '{"id": "12345", "total": 1234.5e1, "tax": 1.50}',
                 ['"12345"', "1234.5e1"], id="integer"),
    # A fraction key: 12.5e0 was written again as 12.5, the key itself in clear.
    pytest.param("12.5", '{"price": 12.5e0, "tax": 1.50}', ["12.5e0"], id="fraction"),
])
def test_a_json_number_of_the_keys_value_is_masked_once_the_numbers_are_read(
        site: Site, key: str, body: str, spellings: list[str]) -> None:
    """A numeric key (a grouping function returning the caller's id) is masked in a JSON
    body where a number has its value, however written (SPEC 4; key_numbers.number_looks).
    When the body holds the key as written, _json reads every number but masked only
    those its quick looks had found; one they do not look for (1234.5e1, 12.5e0) was
    read as a float and the body written again: 12345.0 and 12.5 in clear, 1.50 as 1.5,
    the layout compacted. (_clean() already took such a number for the key.)"""
    entry, hits = site.send(key, method="POST", body=body.encode(),
                            headers={"Content-Type": "application/json"})
    text = entry["request"]["postData"]["text"]
    assert hits == [], (hits, text)
    expected = body
    for spelling in spellings:  # masked in place, the rest as sent
        expected = expected.replace(spelling, json.dumps(mask(key)))
    assert text == expected


# -- nesting: Django's middleware behind an ASGI-to-WSGI bridge -----------------------------

DJANGO_BRIDGED = r"""
import asyncio, json, sys, warnings
import django
from django.conf import settings
from readme_metrics import MetricsApiConfig

def config():
    return MetricsApiConfig(api_key="rdme_review19_django_0001", metrics_api=sys.argv[1],
                            grouping_function=lambda request: {"api_key": "caller-0001"},
                            buffer_length=1, background_worker_mode=False, timeout=30)

settings.configure(DEBUG=False, SECRET_KEY="x", ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__,
                   MIDDLEWARE=["readme_metrics.django.MetricsMiddleware"],
                   README_METRICS_CONFIG=config())
django.setup()
from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse
from django.urls import path
urlpatterns = [path("hello", lambda request: HttpResponse(b"hello"))]

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount
from readme_metrics.asgi import MetricsMiddleware as AsgiLayer
if sys.argv[2] == "asgiref":
    from asgiref.wsgi import WsgiToAsgi as bridge
else:
    with warnings.catch_warnings():  # deprecated for a2wsgi, still shipped and used
        warnings.simplefilter("ignore")
        from starlette.middleware.wsgi import WSGIMiddleware as bridge
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from wsgiref.util import setup_testing_defaults
django_app = get_wsgi_application()

def call_django(path):
    environ = {"PATH_INFO": path}
    setup_testing_defaults(environ)
    result = django_app(environ, lambda status, headers, exc_info=None: None)
    try:
        return b"".join(result).decode()
    finally:
        result.close()

async def in_process(request):  # another exchange: the Django app called for /hello
    return PlainTextResponse("outer:" + await asyncio.to_thread(call_django, "/hello"))

outer = AsgiLayer(Starlette(routes=[Mount("/dj", bridge(django_app)),
                                    Route("/outer", in_process)]), config())

async def main():
    transport = httpx.ASGITransport(app=outer)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
        return [(await client.get(path)).text for path in sys.argv[3:]]

print(json.dumps({"bodies": asyncio.run(main()), "captured": outer.stats["captured"]}))
outer.flush(5.0)
"""


@pytest.mark.parametrize("bridge", ["asgiref", "starlette"])
def test_django_middleware_behind_a_bridge_under_an_asgi_layer_gives_one_log(
        collector: Collector, bridge: str) -> None:
    """A Django project served as WSGI through an ASGI-to-WSGI bridge (mounted in a
    Starlette or FastAPI app), readme_metrics.django.MetricsMiddleware in its settings,
    and an ASGI layer of the same project outside: the bridge builds the environ from
    the scope, without the ASGI layer's mark. 6e131da taught the WSGI middleware to find
    the ASGI layer's recording in the thread's context (nesting.asgi_records); Django's
    middleware only looked for the mark: both layers logged each request (4 logs for 2)."""
    pytest.importorskip("django")
    pytest.importorskip("httpx")
    done = run_python(DJANGO_BRIDGED, collector.url, bridge, "/dj/hello", "/dj/hello")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"bodies": ["hello", "hello"], "captured": 2}
    collector.wait_for_only(2, 0.5)  # more logs would be on their way


def test_django_called_in_process_for_another_path_is_still_logged(
        collector: Collector) -> None:
    """The other side: an ASGI endpoint of the project that calls the Django app in
    process (asyncio.to_thread, which gives the thread its context) for another path
    makes an exchange of its own: both are logged."""
    pytest.importorskip("django")
    pytest.importorskip("httpx")
    done = run_python(DJANGO_BRIDGED, collector.url, "asgiref", "/outer")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"bodies": ["outer:hello"], "captured": 1}
    logs = collector.wait_for_logs(2)
    time.sleep(0.5)
    urls = sorted(log["request"]["log"]["entries"][0]["request"]["url"] for log in logs)
    assert len(urls) == 2 and urls[0].endswith("/hello") and urls[1].endswith("/outer"), urls
