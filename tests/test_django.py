"""The Django middleware: real Django (test client, WSGIHandler, ASGIHandler), real collector.

This module is also the test project's URLconf; Django is configured once at import.
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import hashlib
import http.client
import io
import json
import os
import shutil
import tempfile
import threading
import weakref
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, Awaitable, Callable, Optional
from wsgiref.util import FileWrapper, setup_testing_defaults
from wsgiref.validate import validator

import django
import pytest
from django.conf import settings

if not settings.configured:
    # The test database's folder, one per process importing this module: removed when
    # that process ends (412 of them had piled up in /tmp).
    _DATABASE = tempfile.mkdtemp(prefix="rm-django-")
    atexit.register(shutil.rmtree, _DATABASE, ignore_errors=True)
    settings.configure(
        DEBUG=False,
        SECRET_KEY="tests-not-secret",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        USE_TZ=True,
        INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes",
                        "django.contrib.sessions"],
        MIDDLEWARE=[
            "readme_metrics.django.MetricsMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ],
        DATABASES={"default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.path.join(_DATABASE, "db.sqlite3"),
        }},
    )
    django.setup()

from asgiref.sync import iscoroutinefunction  # noqa: E402
from django.core.exceptions import ImproperlyConfigured  # noqa: E402
from django.core.handlers.asgi import ASGIHandler  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.http import (  # noqa: E402
    FileResponse,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.test import Client, override_settings  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402

import readme_metrics.django as adapter  # noqa: E402
from readme_metrics import MetricsApiConfig  # noqa: E402
from readme_metrics.delivery.core import INLINE_TAKEOVERS  # noqa: E402
from readme_metrics.masking import mask  # noqa: E402
from tests.support.fake_api import INLINE_TIMEOUT, Collector, Reply
from tests.support.har_check import assert_valid_log
from tests.support.polling import wait_until
from tests.support.raw_requests import answer_to
from tests.support.wsgi_servers import served

DOCS = "https://docs.example.com"
MAX_BODY = 2048

# -- the test project ------------------------------------------------------------------

SEEN: list[dict[str, Any]] = []  # what the grouping function received, per call
PRODUCED: list[str] = []  # what streaming views generated so far


def grouping(request: Any) -> Optional[dict[str, str]]:
    seen: dict[str, Any] = {"type": type(request).__name__}
    SEEN.append(seen)
    if request.headers.get("X-Grouping-Raises"):
        raise RuntimeError("grouping bug")
    if request.headers.get("X-Read-Body"):
        seen["body"] = request.body
    user = request.user
    if user.is_authenticated:
        return {"api_key": f"user-{user.pk}", "label": user.get_username(),
                "email": user.email}
    key = request.headers.get("X-Api-Key")
    if not key:
        return None
    return {"api_key": key, "label": request.path, "email": f"{key}@example.com"}


def hello(request: HttpRequest) -> HttpResponse:
    response = JsonResponse({"hello": request.GET.get("name", "")})
    response.set_cookie("session-token", "s3cr3t")
    return response


@csrf_exempt
def body(request: HttpRequest) -> HttpResponse:
    return HttpResponse(request.body, content_type=request.content_type)


@csrf_exempt
def form(request: HttpRequest) -> HttpResponse:
    files = {name: {"name": f.name, "sha256": hashlib.sha256(f.read()).hexdigest()}
             for name, f in request.FILES.items()}
    return JsonResponse({"post": {k: request.POST.getlist(k) for k in request.POST},
                         "files": files})


@csrf_exempt
def read(request: HttpRequest) -> HttpResponse:
    size = int(request.GET.get("size", "-1"))
    return HttpResponse(request.read(size) if size >= 0 else request.read())


@csrf_exempt
def ignore(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ignored")


def stream(request: HttpRequest) -> StreamingHttpResponse:
    def chunks() -> Iterator[bytes]:
        for number in range(3):
            PRODUCED.append(f"chunk {number}")
            yield f"{number}\n".encode()

    return StreamingHttpResponse(chunks(), content_type="text/plain")


async def astream(request: HttpRequest) -> StreamingHttpResponse:
    async def chunks() -> AsyncIterator[bytes]:
        for number in range(3):
            PRODUCED.append(f"chunk {number}")
            yield f"{number}\n".encode()

    return StreamingHttpResponse(chunks(), content_type="text/plain")


def file(request: HttpRequest) -> FileResponse:
    return FileResponse(io.BytesIO(b"file contents\n" * 10), content_type="text/plain")


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("kaboom")


def no_content(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"dropped by the server", status=204)


OWN_DOCS = "https://app.example.test/docs/pets"


def own_docs(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(b"pets", content_type="text/plain")
    response["X-Documentation-Url"] = OWN_DOCS
    return response


urlpatterns = [
    path("hello", hello), path("body", body), path("form", form), path("read", read),
    path("ignore", ignore), path("stream", stream), path("astream", astream),
    path("file", file), path("boom", boom), path("no-content", no_content),
    path("slashed/", ignore), path("own-docs", own_docs),
]

# -- fixtures ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def database() -> None:
    from django.contrib.auth.models import User
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    User.objects.get_or_create(username="ana", defaults={"email": "ana@example.com"})


@pytest.fixture
def config(collector: Collector) -> Iterator[MetricsApiConfig]:
    SEEN.clear()
    PRODUCED.clear()
    config = MetricsApiConfig(
        api_key="rdme_django_test_key", grouping_function=grouping,
        metrics_api=collector.url, base_log_url=DOCS, background_worker_mode=False,
        timeout=INLINE_TIMEOUT,
        buffer_length=1, max_body_bytes=MAX_BODY,
    )
    with override_settings(README_METRICS_CONFIG=config):
        yield config


def entry(log: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = log["request"]["log"]["entries"][0]
    return result


def only_log(collector: Collector, response: Any) -> dict[str, Any]:
    [log] = collector.wait_for_logs(1)
    assert_valid_log(log)
    assert response["x-documentation-url"] == f"{DOCS}/logs/{log['_id']}"
    return log


# -- sync (WSGI) -----------------------------------------------------------------------


def test_get_is_logged_with_documentation_url(collector: Collector,
                                              config: MetricsApiConfig) -> None:
    response = Client().get("/hello?name=J%C3%BCrgen&x=a+b", HTTP_X_API_KEY="owl-1234")
    assert response.json() == {"hello": "Jürgen"}
    log = only_log(collector, response)
    assert log["group"] == {"id": mask("owl-1234"), "label": "/hello",
                            "email": "owl-1234@example.com"}
    assert SEEN[0]["type"] == "WSGIRequest"
    har = entry(log)
    assert har["request"]["url"] == "http://testserver/hello?name=J%C3%BCrgen&x=a+b"
    assert har["request"]["queryString"] == [{"name": "name", "value": "Jürgen"},
                                             {"name": "x", "value": "a b"}]
    assert har["response"]["status"] == 200
    assert har["response"]["content"]["text"] == response.content.decode()
    names = [h["name"].lower() for h in har["response"]["headers"]]
    assert "set-cookie" in names and "x-documentation-url" in names
    assert "s3cr3t" not in json.dumps(log)


def test_non_ascii_path_is_logged_percent_encoded(collector: Collector,
                                                  config: MetricsApiConfig) -> None:
    response = Client().get("/caf%C3%A9/%E6%97%A5", HTTP_X_API_KEY="k1")
    assert response.status_code == 404
    log = only_log(collector, response)
    assert entry(log)["request"]["url"] == "http://testserver/caf%C3%A9/%E6%97%A5"


def upload_body(size: int) -> dict[str, Any]:
    return {"field": "välue", "file": io.BytesIO(bytes(range(256)) * (size // 256))}


BODY_CASES = [
    pytest.param("/body", {"data": b'{"a": "Zo\xc3\xab"}', "content_type": "application/json"},
                 b'{"a": "Zo\xc3\xab"}', id="view-reads-body"),
    pytest.param("/form", {"data": "a=1&a=2&b=%C3%A9",
                           "content_type": "application/x-www-form-urlencoded"},
                 {"post": {"a": ["1", "2"], "b": ["é"]}, "files": {}}, id="view-reads-POST"),
    pytest.param("/form", {"data": upload_body(1024)},
                 {"post": {"field": ["välue"]}, "files": {"file": {
                     "name": "file", "sha256": hashlib.sha256(bytes(range(256)) * 4).hexdigest()
                 }}}, id="view-reads-upload"),
    pytest.param("/read", {"data": b"0123456789", "content_type": "text/plain"},
                 b"0123456789", id="view-reads-stream"),
    pytest.param("/read?size=4", {"data": b"0123456789", "content_type": "text/plain"},
                 b"0123", id="view-reads-part"),
    pytest.param("/ignore", {"data": b"0123456789", "content_type": "text/plain"},
                 b"ignored", id="view-ignores-body"),
]


@pytest.mark.parametrize(("url", "send", "answer"), BODY_CASES)
def test_request_bodies_stay_readable_and_are_logged(
    collector: Collector, config: MetricsApiConfig, url: str, send: dict[str, Any],
    answer: Any,
) -> None:
    response = Client().post(url, HTTP_X_API_KEY="k1", HTTP_X_READ_BODY="1", **send)
    assert response.status_code == 200
    if isinstance(answer, bytes):
        assert response.content == answer
    else:
        assert response.json() == answer
    log = only_log(collector, response)
    request = entry(log)["request"]
    received = SEEN[0]["body"]  # what request.body gave the grouping function
    assert request["bodySize"] == len(received) > 0
    post = request["postData"]
    if "params" in post:
        assert post["mimeType"].split(";")[0] in ("multipart/form-data",
                                                  "application/x-www-form-urlencoded")
    else:
        assert post["text"].encode() == received
    if isinstance(send["data"], bytes):
        assert received == send["data"]


@pytest.mark.parametrize(
    ("url", "send"),
    [
        pytest.param("/form", {"data": upload_body(50 * 1024)}, id="big-upload"),
        pytest.param("/ignore", {"data": b"x" * 50_000, "content_type": "text/plain"},
                     id="big-body-ignored"),
        pytest.param("/body", {"data": b"y" * 50_000, "content_type": "text/plain"},
                     id="big-body-read"),
    ],
)
def test_big_bodies_pass_whole_and_are_logged_truncated(
    collector: Collector, config: MetricsApiConfig, url: str, send: dict[str, Any]
) -> None:
    response = Client().post(url, HTTP_X_API_KEY="k1", **send)
    assert response.status_code == 200
    if url == "/form":
        digest = hashlib.sha256(bytes(range(256)) * 200).hexdigest()
        assert response.json()["files"]["file"]["sha256"] == digest
    if url == "/body":
        assert response.content == send["data"]
    request = entry(only_log(collector, response))["request"]
    assert request["bodySize"] > 50_000 - 1
    assert "postData" in request


def test_streaming_response_stays_streamed(collector: Collector,
                                           config: MetricsApiConfig) -> None:
    response = Client().get("/stream", HTTP_X_API_KEY="k1")
    assert response.streaming
    chunks = iter(response.streaming_content)
    assert next(chunks) == b"0\n"
    assert PRODUCED == ["chunk 0"]  # nothing was read ahead
    assert b"".join(chunks) == b"1\n2\n"
    response.close()
    log = only_log(collector, response)
    assert entry(log)["response"]["content"] == {
        "size": 6, "mimeType": "text/plain", "text": "0\n1\n2\n"}


def test_file_response_is_streamed_and_logged(collector: Collector,
                                              config: MetricsApiConfig) -> None:
    response = Client().get("/file", HTTP_X_API_KEY="k1")
    assert b"".join(response.streaming_content) == b"file contents\n" * 10
    response.close()
    content = entry(only_log(collector, response))["response"]["content"]
    assert content["text"] == "file contents\n" * 10


def run_wsgi(path: str, **environ: Any) -> tuple[str, dict[str, str], bytes]:
    """Django's real WSGIHandler under wsgiref.validate, as a server would drive it."""
    env: dict[str, Any] = {"SCRIPT_NAME": "", "PATH_INFO": path, "QUERY_STRING": "",
                           "HTTP_X_API_KEY": "k1",
                           **environ}
    setup_testing_defaults(env)
    started: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None
                       ) -> Any:
        started.update(status=status, headers=dict(headers))
        return lambda data: None

    result: Any = validator(WSGIHandler())(env, start_response)
    try:
        body = b"".join(result)
    finally:
        result.close()
    return started["status"], started["headers"], body


def test_file_response_keeps_the_servers_file_wrapper(collector: Collector,
                                                      config: MetricsApiConfig) -> None:
    status, headers, body = run_wsgi("/file", **{"wsgi.file_wrapper": FileWrapper})
    assert status == "200 OK" and body == b"file contents\n" * 10
    [log] = collector.wait_for_logs(1)
    assert_valid_log(log)
    assert headers["x-documentation-url"] == f"{DOCS}/logs/{log['_id']}"
    content = entry(log)["response"]["content"]
    assert content["size"] == 140 and not content.get("text")


def test_streaming_under_the_wsgi_handler(collector: Collector,
                                          config: MetricsApiConfig) -> None:
    status, headers, body = run_wsgi("/stream")
    assert (status, body) == ("200 OK", b"0\n1\n2\n")
    [log] = collector.wait_for_logs(1)
    assert_valid_log(log)
    assert entry(log)["response"]["content"]["text"] == "0\n1\n2\n"


def test_a_response_closed_or_finalized_is_no_longer_counted_open(
        collector: Collector, config: MetricsApiConfig) -> None:
    """The exit runs gc.collect() once while a response is open (unclosed._open), for one
    dropped in a reference cycle (test_odds5_findings): Django's responses that finish
    at close() count too, until closed or finalized, and only once."""
    from readme_metrics.capture import unclosed

    before = len(unclosed._open)
    env: dict[str, Any] = {"PATH_INFO": "/stream", "HTTP_X_API_KEY": "k1"}
    setup_testing_defaults(env)
    result: Any = WSGIHandler()(dict(env), lambda status, headers, exc_info=None: None)
    assert len(unclosed._open) == before + 1
    assert b"".join(result) == b"0\n1\n2\n"
    result.close()
    assert len(unclosed._open) == before
    del result
    gc.collect()  # closed: its finalizer was detached, nothing counted off twice
    assert len(unclosed._open) == before
    result = WSGIHandler()(dict(env), lambda status, headers, exc_info=None: None)
    assert len(unclosed._open) == before + 1
    del result  # dropped unclosed
    gc.collect()
    assert len(unclosed._open) == before
    collector.wait_for_logs(2)


@pytest.mark.parametrize(("method", "url"), [
    pytest.param("head", "/hello", id="HEAD"),
    pytest.param("get", "/no-content", id="204"),
])
def test_a_body_the_server_must_not_send_is_not_logged_as_sent(
        collector: Collector, config: MetricsApiConfig, method: str, url: str) -> None:
    """SPEC 4: ``size`` is the body bytes sent; runserver, gunicorn and the ASGI servers
    send none for HEAD or a 204, whatever the view returned."""
    response = getattr(Client(), method)(url, HTTP_X_API_KEY="k1")
    response.close()
    content = entry(only_log(collector, response))["response"]["content"]
    assert content["size"] == 0 and not content.get("text")


def test_request_user_reaches_the_grouping_function(
    collector: Collector, config: MetricsApiConfig, database: None
) -> None:
    from django.contrib.auth.models import User

    user = User.objects.get(username="ana")
    client = Client()
    client.force_login(user)
    response = client.get("/hello")
    log = only_log(collector, response)
    assert log["group"] == {"id": mask(f"user-{user.pk}"), "label": "ana",
                            "email": "ana@example.com"}


@pytest.mark.parametrize(
    ("method", "headers", "options"),
    [
        pytest.param("GET", {}, {}, id="grouping-returns-none"),
        pytest.param("GET", {"HTTP_X_API_KEY": "k1", "HTTP_X_GROUPING_RAISES": "1"}, {},
                     id="grouping-raises"),
        pytest.param("OPTIONS", {"HTTP_X_API_KEY": "k1"}, {}, id="skipped-method"),
        pytest.param("GET", {"HTTP_X_API_KEY": "k1"}, {"allowed_http_hosts": ["api.test"]},
                     id="host-not-allowed"),
    ],
)
def test_not_logged_means_no_header_and_no_log(
    collector: Collector, method: str, headers: dict[str, str], options: dict[str, Any],
) -> None:
    config = MetricsApiConfig(
        api_key="rdme_django_test_key", grouping_function=grouping,
        metrics_api=collector.url, base_log_url=DOCS, background_worker_mode=False,
        buffer_length=1, **options,
    )
    with override_settings(README_METRICS_CONFIG=config):
        response = Client().generic(method, "/hello", **headers)
    assert response.status_code == 200
    assert "x-documentation-url" not in response
    assert adapter._entry_for(config).pipeline.stats["skipped"] == 1
    assert collector.logs == []


def test_the_librarys_own_post_of_logs_is_not_logged(
        collector: Collector, caplog: pytest.LogCaptureFixture) -> None:
    """README_METRICS_SERVER pointed at this app: the library's POST (its User-Agent, the
    Metrics API's path) would be logged and posted again for ever (tests/test_self_post.py
    for WSGI and ASGI over real servers)."""
    from readme_metrics.transport import USER_AGENT

    config = MetricsApiConfig(
        api_key="rdme_django_test_key", grouping_function=grouping,
        metrics_api=collector.url, base_log_url=DOCS, background_worker_mode=False,
        buffer_length=1, timeout=INLINE_TIMEOUT)
    with override_settings(README_METRICS_CONFIG=config):
        Client().post("/v1/request", b"[]", content_type="application/json",
                      HTTP_USER_AGENT=USER_AGENT, HTTP_X_API_KEY="k1")
        Client().post("/v1/request", b"[]", content_type="application/json",
                      HTTP_USER_AGENT="curl/8.5.0", HTTP_X_API_KEY="k1")
    assert adapter._entry_for(config).pipeline.stats["skipped"] == 1
    assert len(collector.logs) == 1  # curl's
    assert "README_METRICS_SERVER points at this app" in caplog.text


class UnreadableGroup(Mapping):  # type: ignore[type-arg]
    """What a grouping function may return: a mapping of its own whose reading fails."""

    def __getitem__(self, key: Any) -> Any:
        raise RuntimeError("group store down")

    def __iter__(self) -> Iterator[str]:
        return iter(["api_key"])

    def __len__(self) -> int:
        return 1


def test_a_grouping_result_that_fails_when_read_never_reaches_the_view(
        collector: Collector) -> None:
    config = MetricsApiConfig(
        api_key="rdme_django_test_key", grouping_function=lambda request: UnreadableGroup(),
        metrics_api=collector.url, base_log_url=DOCS, background_worker_mode=False,
        buffer_length=1,
    )
    with override_settings(README_METRICS_CONFIG=config):
        response = Client().get("/hello")
    assert response.status_code == 200 and response.json() == {"hello": ""}
    assert "x-documentation-url" not in response
    assert adapter._entry_for(config).pipeline.stats["skipped"] == 1
    assert collector.logs == []


def test_allowed_hosts_check_the_host_a_trusted_proxy_forwarded(collector: Collector) -> None:
    config = MetricsApiConfig(
        api_key="rdme_django_test_key", grouping_function=grouping,
        metrics_api=collector.url, base_log_url=DOCS, background_worker_mode=False,
        timeout=INLINE_TIMEOUT,
        buffer_length=1, allowed_http_hosts=["api.test"], trusted_proxies=1,
    )
    with override_settings(README_METRICS_CONFIG=config):
        response = Client().get("/hello", HTTP_X_API_KEY="k1",
                                HTTP_X_FORWARDED_HOST="api.test")
    assert entry(only_log(collector, response))["request"]["url"].startswith(
        "http://api.test/")


@pytest.mark.parametrize("body", [b"abc", b""], ids=["unread-body", "empty-body"])
def test_a_response_an_outer_middleware_replaces_is_still_logged(
        collector: Collector, config: MetricsApiConfig, body: bytes) -> None:
    """Under a server that keeps unread input until the response's close() (wsgiref
    here, gunicorn likewise), the log waits for that close(); an outer middleware that
    answers with a response of its own (CommonMiddleware's APPEND_SLASH redirect of a
    404) drops ours unclosed, and its log must still go out (logged as the 404 the
    middleware saw, as before)."""
    chain = ["django.middleware.common.CommonMiddleware",
             *settings.MIDDLEWARE]  # the metrics middleware first, as usual otherwise
    with override_settings(MIDDLEWARE=chain, APPEND_SLASH=True):
        handler = WSGIHandler()
    with served("wsgiref", handler) as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("POST", "/slashed", body=body,
                           headers={"X-Api-Key": "k1", "Content-Type": "text/plain"})
        answer = connection.getresponse()
        answer.read()
        connection.close()
    assert answer.status == 301  # the client got the outer middleware's redirect
    [log] = collector.wait_for_logs(1)
    assert entry(log)["response"]["status"] == 404


def test_view_errors_are_logged_as_500(collector: Collector,
                                       config: MetricsApiConfig) -> None:
    response = Client(raise_request_exception=False).get("/boom", HTTP_X_API_KEY="k1")
    assert response.status_code == 500
    assert entry(only_log(collector, response))["response"]["status"] == 500


def test_one_pipeline_per_config_whatever_the_number_of_handlers(
    config: MetricsApiConfig,
) -> None:
    first = adapter.MetricsMiddleware(lambda request: HttpResponse())
    second = adapter.MetricsMiddleware(lambda request: HttpResponse())
    assert first.pipeline is second.pipeline is adapter._entry_for(config).pipeline


def test_a_configuration_no_longer_in_use_lets_its_pipeline_go(collector: Collector) -> None:
    """A Django test suite makes a configuration per test (``override_settings``, as this
    module's fixture does) and a test Client per test, which builds the middleware
    chain: each configuration's pipeline stayed in the adapter's table for the life of
    the process, with its sender thread (6 configurations: 6 threads). The table holds
    them weakly now, but for the configuration seen last (production's only one): one
    that no middleware uses any more goes, its logs delivered and its sender ended."""
    def senders() -> int:
        return sum(t.name == "readme-metrics-worker" for t in threading.enumerate())

    senders_before = senders()
    gone: list[Any] = []
    for _ in range(6):
        config = MetricsApiConfig(
            api_key="rdme_django_test_key", grouping_function=grouping,
            metrics_api=collector.url, base_log_url=DOCS, flush_interval=60.0)
        with override_settings(README_METRICS_CONFIG=config):
            assert Client().get("/hello", HTTP_X_API_KEY="k1").status_code == 200
        gone.append(weakref.ref(adapter._entry_for(config).pipeline))
        del config
    wait_until(lambda: gc.collect() >= 0 and sum(ref() is not None for ref in gone) <= 1,
               timeout=20.0)
    assert gone[-1]() is not None  # the last configuration's stays, as in production
    assert len(collector.wait_for_logs(5, timeout=20.0)) >= 5  # the others' were sent
    wait_until(lambda: senders() <= senders_before + 1, timeout=20.0)
    last = gone[-1]()
    assert last is not None and last.flush(10.0) is True
    assert len(collector.wait_for_logs(6, timeout=20.0)) == 6


def test_explicit_config_wins_over_settings(config: MetricsApiConfig) -> None:
    other = MetricsApiConfig(api_key="k", grouping_function=grouping, base_log_url=DOCS)
    middleware = adapter.MetricsMiddleware(lambda request: HttpResponse(), other)
    assert middleware.config is other and middleware.pipeline is adapter._entry_for(other).pipeline


def test_disabled_middleware_is_left_out_of_the_chain(collector: Collector) -> None:
    off = MetricsApiConfig(api_key="rdme_django_test_key", grouping_function=grouping,
                           metrics_api=collector.url, base_log_url=DOCS, enabled=False,
                           background_worker_mode=False, buffer_length=1)
    threads = set(threading.enumerate())
    with override_settings(README_METRICS_CONFIG=off):
        response = Client().get("/hello", HTTP_X_API_KEY="k1")
    assert response.status_code == 200 and "x-documentation-url" not in response
    assert id(off) not in adapter._pipelines  # no pipeline, so no worker, no network
    assert not set(threading.enumerate()) - threads  # none started (another's may end)
    assert collector.received == []


def test_sync_and_async_capable() -> None:
    async def async_view(request: HttpRequest) -> HttpResponse:
        return HttpResponse()

    with override_settings(README_METRICS_CONFIG=MetricsApiConfig(
            api_key="k", grouping_function=grouping, base_log_url=DOCS)):
        assert iscoroutinefunction(adapter.MetricsMiddleware(async_view))
        assert not iscoroutinefunction(adapter.MetricsMiddleware(lambda r: HttpResponse()))
    assert adapter.MetricsMiddleware.sync_capable and adapter.MetricsMiddleware.async_capable


def test_the_grouping_call_is_a_module_of_its_own() -> None:
    """house38: django.py (414 lines) split by job: the grouping function's call (in a
    thread, or awaited on the event loop outliving the request's task) is
    django_grouping's ``Grouping``, one per middleware chain, over the chain's own
    pipeline; the middleware stays importable where SPEC 2 documents it, and each
    module is under ~400 lines."""
    from pathlib import Path

    from readme_metrics import django_grouping

    config = MetricsApiConfig(api_key="k", grouping_function=grouping, base_log_url=DOCS)
    with override_settings(README_METRICS_CONFIG=config):
        middleware = adapter.MetricsMiddleware(lambda request: HttpResponse())
    asking = middleware._grouping
    assert type(asking) is django_grouping.Grouping
    assert asking.pipeline is middleware.pipeline
    assert adapter.__all__ == ["DJANGO_NOT_FIRST", "MetricsMiddleware", "_entry_for",
                               "_pipelines", "flush_all"]
    for module in (adapter, django_grouping):
        text = Path(module.__file__ or "").read_text(encoding="utf-8")
        assert len(text.splitlines()) < 400, module.__name__


def test_configuration_from_the_environment(
    collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(adapter, "_default_config", [])
    monkeypatch.setenv("README_API_KEY", "rdme_from_env")
    monkeypatch.setenv("README_GROUPING_FUNCTION", f"{__name__}.grouping")
    monkeypatch.setenv("README_METRICS_SERVER", collector.url)
    monkeypatch.setenv("README_BASE_LOG_URL", DOCS)
    monkeypatch.setenv("README_BACKGROUND_WORKER_MODE", "false")
    monkeypatch.setenv("README_BUFFER_LENGTH", "1")
    assert not hasattr(settings, "README_METRICS_CONFIG")
    response = Client().get("/hello", HTTP_X_API_KEY="k1")
    only_log(collector, response)
    assert collector.received[0].headers["Authorization"].startswith("Basic ")


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        pytest.param({"api_key": "k"}, "must be a MetricsApiConfig", id="wrong-type"),
        pytest.param(None, "api_key is required", id="no-key-anywhere"),
    ],
)
def test_misconfiguration_is_reported_at_start(
    monkeypatch: pytest.MonkeyPatch, setting: Any, message: str
) -> None:
    monkeypatch.setattr(adapter, "_default_config", [])
    with override_settings(README_METRICS_CONFIG=setting), \
            pytest.raises(ImproperlyConfigured, match=message):
        adapter.MetricsMiddleware(lambda request: HttpResponse())


def test_misconfiguration_message_ends_with_one_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment's error already ends with a hint in parentheses: the Django one
    follows as a sentence, not as a second parenthesis right after it."""
    monkeypatch.setattr(adapter, "_default_config", [])
    monkeypatch.delenv("README_API_KEY", raising=False)
    with override_settings(README_METRICS_CONFIG=None), \
            pytest.raises(ImproperlyConfigured) as raised:
        adapter.MetricsMiddleware(lambda request: HttpResponse())
    message = str(raised.value)
    assert ") (" not in message
    assert message.endswith(
        "In Django, settings.README_METRICS_CONFIG = MetricsApiConfig(...) may configure "
        "it instead")


# -- async (ASGI) ----------------------------------------------------------------------


class ASGIResult:
    def __init__(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.chunks: list[bytes] = []
        self.produced_at_first_chunk: Optional[list[str]] = None
        self.answered = False


def run_asgi(method: str, path: str, query: bytes = b"", body: bytes = b"",
             headers: Optional[dict[str, str]] = None,
             beside: Optional[Callable[[ASGIResult], Awaitable[None]]] = None,
             closing: bool = False) -> ASGIResult:
    """Drive Django's ASGIHandler as an ASGI server would, on a fresh event loop;
    ``beside(result)`` runs on the same loop meanwhile (awaited at the end). ``closing``:
    the loop's default executor is shut down first, as asyncio.run does once its main
    task is done (a request finishing while the loop closes)."""
    result = ASGIResult()

    async def main() -> None:
        if closing:
            await asyncio.get_running_loop().shutdown_default_executor()
        task = asyncio.ensure_future(beside(result)) if beside is not None else None
        await serve_asgi(result, method, path, query, body, headers)
        if task is not None:
            await task

    asyncio.run(main())
    return result


async def serve_asgi(result: ASGIResult, method: str, path: str, query: bytes = b"",
                     body: bytes = b"", headers: Optional[dict[str, str]] = None) -> None:
    """One request to Django's ASGIHandler on the running loop, answered into ``result``."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
        "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
        "query_string": query, "root_path": "", "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1"))
                    for k, v in {"host": "testserver", **(headers or {})}.items()],
    }
    request_sent = False
    disconnected = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal request_sent
        if not request_sent:
            request_sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await disconnected.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            result.status = message["status"]
            result.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body" and message.get("body"):
            if result.produced_at_first_chunk is None:
                result.produced_at_first_chunk = list(PRODUCED)
            result.chunks.append(message["body"])

    await ASGIHandler()(scope, receive, send)
    result.answered = True
    disconnected.set()


def test_asgi_get_is_logged_with_documentation_url(collector: Collector,
                                                   config: MetricsApiConfig) -> None:
    result = run_asgi("GET", "/hello", b"name=J%C3%BCrgen", headers={"X-Api-Key": "k1"})
    assert result.status == 200
    [log] = collector.wait_for_logs(1)
    assert_valid_log(log)
    assert result.headers["x-documentation-url"] == f"{DOCS}/logs/{log['_id']}"
    assert SEEN[0]["type"] == "ASGIRequest"
    request = entry(log)["request"]
    assert request["url"] == "http://testserver/hello?name=J%C3%BCrgen"
    assert request["httpVersion"] == "HTTP/1.1"
    assert log["clientIPAddress"] == "127.0.0.1"


@pytest.mark.parametrize("handler", ["wsgi", "asgi"])
def test_the_apps_own_documentation_url_is_kept(collector: Collector,
                                                config: MetricsApiConfig,
                                                handler: str) -> None:
    # Before, the library's replaced the app's, which the client never saw.
    if handler == "wsgi":
        got = Client().get("/own-docs", HTTP_X_API_KEY="k1")["X-Documentation-Url"]
    else:
        got = run_asgi("GET", "/own-docs", headers={"X-Api-Key": "k1"}).headers[
            "X-Documentation-Url"]
    assert got == OWN_DOCS
    [log] = collector.wait_for_logs(1)
    assert_valid_log(log)
    assert [h for h in entry(log)["response"]["headers"]
            if h["name"].lower() == "x-documentation-url"
            ] == [{"name": "X-Documentation-Url", "value": OWN_DOCS}]


def test_asgi_async_streaming_stays_streamed(collector: Collector,
                                             config: MetricsApiConfig) -> None:
    result = run_asgi("GET", "/astream", headers={"X-Api-Key": "k1"})
    assert result.chunks == [b"0\n", b"1\n", b"2\n"]  # sent one by one, not joined
    assert result.produced_at_first_chunk == ["chunk 0"]
    [log] = collector.wait_for_logs(1)
    assert_valid_log(log)
    assert entry(log)["response"]["content"]["text"] == "0\n1\n2\n"


def test_asgi_upload_reaches_view_and_log(collector: Collector,
                                          config: MetricsApiConfig) -> None:
    data = bytes(range(256))
    boundary = "b0undary"
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"field\"\r\n\r\nv\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
        f"filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    result = run_asgi("POST", "/form", body=body, headers={
        "X-Api-Key": "k1", "X-Read-Body": "1",
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(len(body)),
    })
    assert result.status == 200
    answer = json.loads(b"".join(result.chunks))
    assert answer["files"]["file"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert SEEN[0]["body"] == body  # request.body still works after request.FILES
    [log] = collector.wait_for_logs(1)
    assert_valid_log(log)
    params = entry(log)["request"]["postData"]["params"]
    assert [p["name"] for p in params] == ["field", "file"]


def test_asgi_body_the_view_ignores_is_logged(collector: Collector,
                                              config: MetricsApiConfig) -> None:
    body = b'{"ignored": "by the view"}'
    result = run_asgi("POST", "/ignore", body=body, headers={
        "X-Api-Key": "k1", "Content-Type": "application/json",
        "Content-Length": str(len(body))})
    assert result.status == 200 and b"".join(result.chunks) == b"ignored"
    [log] = collector.wait_for_logs(1)
    post = entry(log)["request"]["postData"]
    assert post == {"mimeType": "application/json", "text": body.decode()}


@pytest.mark.parametrize("path", ["/body", "/ignore"])
def test_asgi_chunked_body_with_a_content_length_beside_is_whole(
        collector: Collector, config: MetricsApiConfig, path: str) -> None:
    """Transfer-Encoding: chunked with a Content-Length beside it (RFC 9112 6.3: the
    length means nothing): h11 (uvicorn --http h11, hypercorn) de-chunks the body and
    keeps both headers in the scope. The body is whole, 5 bytes: the Content-Length of
    40 made the log say 'incomplete: 5 of 40 bytes', bodySize 40 (review24; the ASGI
    middleware and the WSGI one already read such a body by its chunks)."""
    result = run_asgi("POST", path, body=b"hello", headers={
        "X-Api-Key": "k1", "Content-Type": "text/plain",
        "Transfer-Encoding": "chunked", "Content-Length": "40"})
    assert result.status == 200
    [log] = collector.wait_for_logs(1)
    assert_valid_log(log)
    request = entry(log)["request"]
    assert request["postData"] == {"mimeType": "text/plain", "text": "hello"}
    assert request["bodySize"] == 5


@pytest.mark.parametrize("headers", [
    {"Transfer-Encoding": "chunked"},
    {"Transfer-Encoding": "chunked", "Content-Length": "40"},
], ids=["chunked", "chunked-with-a-length"])
def test_asgi_chunked_body_read_by_a_size_is_whole(
        collector: Collector, config: MetricsApiConfig, headers: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """request.body of a chunked body (no length that counts) where the body file has no
    seekable(), as on Python 3.9 and 3.10 (SpooledTemporaryFile has it from 3.11, taken
    away here): Django reads it by a size larger than it (DATA_UPLOAD_MAX_MEMORY_SIZE +
    1), gets 5 bytes, and closes the file. The short read is the end of a body held whole
    in a file; it was logged 'incomplete: 5 of a body of unknown length could be read
    without waiting' (the log's read on found the file closed)."""
    if hasattr(tempfile.SpooledTemporaryFile, "seekable"):
        monkeypatch.delattr(tempfile.SpooledTemporaryFile, "seekable")
    result = run_asgi("POST", "/body", body=b"hello", headers={
        "X-Api-Key": "k1", "Content-Type": "text/plain", **headers})
    assert result.status == 200
    assert b"".join(result.chunks) == b"hello"
    [log] = collector.wait_for_logs(1)
    assert_valid_log(log)
    request = entry(log)["request"]
    assert request["postData"] == {"mimeType": "text/plain", "text": "hello"}
    assert request["bodySize"] == 5


CHUNKED_WITH_A_LENGTH = (b"Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
                         b"Content-Length: %d\r\n\r\n5\r\nhello\r\n0\r\n\r\n")


@pytest.mark.parametrize("server, path", [
    ("werkzeug", "/body"), ("werkzeug", "/ignore"), ("werkzeug-unthreaded", "/body"),
    # wsgiref does not de-chunk: Django's view reading 40 bytes of it waits, bare too.
    ("wsgiref", "/ignore"),
])
def test_wsgi_chunked_body_with_a_content_length_beside_is_whole(
        collector: Collector, config: MetricsApiConfig, server: str, path: str) -> None:
    """Under WSGI, as under ASGI (the test above): a Content-Length beside
    Transfer-Encoding: chunked means nothing (RFC 9112 6.3). Behind werkzeug's server
    (which de-chunks) the body read by the view (Django's LimitedStream, by that length,
    got all 5 bytes) was logged 'incomplete: 5 of 40 bytes', and unread 'incomplete: 0
    of 40' with no text; behind wsgiref (framed) the framing was the body. Whole now."""
    request = (f"POST {path} HTTP/1.1\r\nHost: x\r\nX-Api-Key: k1\r\n"
               "Connection: close\r\n").encode() + CHUNKED_WITH_A_LENGTH % 40
    with served(server, WSGIHandler()) as port:
        answer = answer_to(port, request)
    assert answer.split(b" ", 2)[1] == b"200", answer
    [log] = collector.wait_for_logs(1)
    logged = entry(log)["request"]
    assert logged["postData"] == {"mimeType": "text/plain", "text": "hello"}
    assert logged["bodySize"] == 5


def test_wsgi_chunked_body_with_a_length_takes_nothing_of_the_next_request(
        collector: Collector, config: MetricsApiConfig) -> None:
    """wsgiref (runserver's base) leaves a chunked body framed: the rest the view left
    unread was read by the Content-Length beside the chunks, which took their framing
    and the request pipelined after it, its Authorization value in clear, into the log
    (the WSGI middleware's twin of hostile7's finding). Read out of its chunks now."""
    token = "odds11-next-request-token"
    request = (b"POST /ignore HTTP/1.1\r\nHost: x\r\nX-Api-Key: k1\r\n"
               + CHUNKED_WITH_A_LENGTH % 200
               + f"GET /hello HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                 "Connection: close\r\n\r\n".encode())
    with served("wsgiref", WSGIHandler()) as port:
        answer_to(port, request)
    [log] = collector.wait_for_logs(1)
    assert entry(log)["request"]["postData"] == {"mimeType": "text/plain", "text": "hello"}
    assert all(token.encode() not in batch.body for batch in collector.received)


@pytest.mark.parametrize("path", [
    "/hello", "/astream",
    # Django consumes a sync stream in a thread under ASGI, and says so.
    pytest.param("/stream", marks=pytest.mark.filterwarnings(
        "ignore:StreamingHttpResponse must consume synchronous iterators")),
])
@pytest.mark.parametrize("closing", [False, True], ids=["open", "closing-loop"])
def test_asgi_inline_send_is_off_the_event_loop_and_after_the_answer(
        collector: Collector, config: MetricsApiConfig, path: str, closing: bool) -> None:
    """background_worker_mode=False under ASGI: the full batch's POST (buffer_length=1)
    is made off the event loop and the answer does not wait for it (SPEC 7), also from a
    loop that is closing (its default executor shut down)."""
    # The collector holds the POST until a task on the loop lets it go, once the POST
    # has arrived and the answer is out: a POST made on the loop, or before the answer,
    # would hold that task until the POST timed out (config.timeout), undelivered.
    gate = threading.Event()
    collector.replies.append(Reply(gate=gate))

    async def release(result: ASGIResult) -> None:
        while not (collector.received and result.answered):
            await asyncio.sleep(0.005)
        gate.set()

    result = run_asgi("GET", path, headers={"X-Api-Key": "k1"}, beside=release,
                      closing=closing)
    assert result.status == 200
    [log] = collector.wait_for_logs(1)
    assert_valid_log(log)
    assert entry(log)["request"]["url"] == f"http://testserver{path}"
    pipeline = adapter._entry_for(config).pipeline
    # Sent from a thread of their own when the loop's executor could not take it (the
    # loop closing, a sync stream finished in Django's thread): answered by now, or soon.
    wait_until(lambda: pipeline.stats["queued"] == 0)
    assert (pipeline.stats["sent"], pipeline.stats["failed_batches"]) == (1, 0)


@pytest.mark.skipif(django.VERSION < (5, 0), reason="Django's ASGI handler cancels a "
                    "request whose client left from 5.0 on (4.2 is the newest on Python 3.9)")
@pytest.mark.parametrize("background", [True, False], ids=["background", "inline"])
def test_asgi_client_gone_while_an_async_grouping_function_runs(
        collector: Collector, background: bool) -> None:
    """Django's ASGI handler cancels the request's task when the client leaves (an
    http.disconnect): an ``async`` grouping function awaited then was cancelled with it
    and the log lost. It runs to its end (once), and the log has its group and status
    500 (nothing was sent), as for a view cancelled the same way."""
    calls: list[str] = []

    async def async_grouping(request: Any) -> dict[str, str]:
        calls.append("called")
        leave.set()  # the client leaves now: Django cancels the request's task
        for _ in range(100):  # loop turns, not time: the cancellation lands meanwhile
            await asyncio.sleep(0)
        return {"api_key": "gone-caller"}

    config = MetricsApiConfig(
        api_key="rdme_django_test_key", grouping_function=async_grouping,
        metrics_api=collector.url, background_worker_mode=background, buffer_length=1)
    sent: list[dict[str, Any]] = []
    leave = asyncio.Event()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
        "method": "GET", "scheme": "http", "path": "/hello", "raw_path": b"/hello",
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80), "headers": [(b"host", b"testserver")],
    }
    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await leave.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def main() -> None:
        nonlocal leave
        leave = asyncio.Event()
        await ASGIHandler()(scope, receive, send)

    with override_settings(README_METRICS_CONFIG=config):
        asyncio.run(main())
    pipeline = adapter._entry_for(config).pipeline
    try:
        assert sent == []  # the client was gone: nothing was sent
        [log] = collector.wait_for_logs(1)
    finally:
        pipeline.close()
    assert calls == ["called"]
    assert_valid_log(log)
    assert log["group"]["id"] == mask("gone-caller")
    assert entry(log)["response"]["status"] == 500


def test_asgi_request_user_is_read_off_the_event_loop(
    collector: Collector, config: MetricsApiConfig, database: None
) -> None:
    from django.contrib.auth.models import User

    client = Client()
    user = User.objects.get(username="ana")
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    # Evaluating request.user on the event loop would raise SynchronousOnlyOperation.
    result = run_asgi("GET", "/hello", headers={"Cookie": cookie})
    assert result.status == 200
    [log] = collector.wait_for_logs(1)
    assert log["group"]["label"] == "ana"


def test_asgi_inline_sends_take_turns(collector: Collector, config: MetricsApiConfig) -> None:
    """Inline sends started while another one waits on a slow Metrics API are made after
    it, not turned away: requests keep coming, one while each POST is in flight, and
    every log is delivered, none left queued until some later request (the delivery's
    inline sender sends at most INLINE_TAKEOVERS batches more for the requests it turned
    away; the ASGI middleware's sends take turns)."""
    collector.default = Reply(delay=0.2)
    count = 2 + INLINE_TAKEOVERS + 1
    results = [ASGIResult() for _ in range(count)]

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for number, result in enumerate(results):
            # The next request once the logs before it arrived (the last one's POST is
            # then being answered): a log left queued never does.
            await loop.run_in_executor(None, collector.wait_for_logs, number)
            await serve_asgi(result, "GET", "/hello", headers={"X-Api-Key": "k1"})

    asyncio.run(main())
    assert [result.status for result in results] == [200] * count
    logs = collector.wait_for_logs(count)
    assert len({log["_id"] for log in logs}) == count
    stats = adapter._entry_for(config).pipeline.stats
    assert (stats["sent"], stats["failed_batches"], stats["dropped"]) == (count, 0, 0)


def test_asgi_inline_sends_waiting_are_bounded(collector: Collector) -> None:
    """While a POST is held by a slow Metrics API, the exchanges Django finishes (it does
    not wait for their sends) wait for their turn in a bounded list: past it they are
    queued at once, under the queue's bounds, so memory stays bounded (SPEC 7) and what
    does not fit is dropped and counted (found by diffreview5: 29 of 30 waited, unbounded,
    none counted)."""
    gate = threading.Event()
    collector.default = Reply(gate=gate)
    config = MetricsApiConfig(
        api_key="rdme_django_test_key", grouping_function=grouping,
        metrics_api=collector.url, base_log_url=DOCS, background_worker_mode=False,
        buffer_length=1, max_queue_size=2, timeout=30)
    seen: list[tuple[int, dict[str, int]]] = []

    async def main() -> None:
        for _ in range(30):
            await serve_asgi(ASGIResult(), "GET", "/hello", headers={"X-Api-Key": "k1"})
        entry = adapter._entry_for(config)
        pipeline, inline = entry.pipeline, entry.inline
        # Each exchange either waits for its turn or is counted (captured) by the queue.
        await asyncio.get_running_loop().run_in_executor(
            None, wait_until, lambda: pipeline.stats["captured"] + len(inline._waiting) == 30)
        seen.append((len(inline._waiting), pipeline.stats))
        gate.set()

    try:
        with override_settings(README_METRICS_CONFIG=config):
            asyncio.run(main())
    finally:
        gate.set()
    waiting, stats = seen[0]
    assert waiting <= 2
    # 2 wait for their turn; the queue holds at most max_queue_size (2) logs, the held
    # POST's included (SPEC 7: the logs in flight count); the rest are dropped and counted.
    assert stats["queued"] <= 2 and stats["dropped"] >= 30 - 2 - 2, stats
    pipeline = adapter._entry_for(config).pipeline
    assert pipeline.flush(10) is False  # those dropped are answered for (spec19)
    stats = pipeline.stats
    assert stats["sent"] + stats["dropped"] == stats["captured"] == 30, stats
    assert pipeline.flush(10) is True  # once
    assert len(collector.logs) == stats["sent"]


def test_the_stream_lent_to_a_grouping_function_answers_what_request_body_asks() -> None:
    """Django 6.1's ``request.body`` asks ``request._stream.seekable()`` before reading;
    the stream lent while the grouping function runs had no such method, so under Django
    6.1 (Python 3.12 and later) a grouping function reading a body the view left unread
    raised AttributeError and the request was not logged (tests/test_slow_client.py's
    grouping cases under gunicorn and wsgiref). It is not seekable, as Django's own
    LimitedStream, and reads the body."""
    from django.core.handlers.wsgi import LimitedStream

    from readme_metrics.capture.body import BodyRecord
    from readme_metrics.capture.stream_tee import StreamTee
    from readme_metrics.django_exchange import RestOnRead

    record = BodyRecord(1024, declared=6)
    tee = StreamTee(LimitedStream(io.BytesIO(b"abcdef"), 6), record)
    lent = RestOnRead(tee, {"CONTENT_LENGTH": "6"})
    assert lent.seekable() is LimitedStream(io.BytesIO(), 0).seekable() is False
    assert lent.read() == b"abcdef"


def test_background_mode_builds_on_the_worker_not_the_request_thread(
        collector: Collector, monkeypatch: pytest.MonkeyPatch) -> None:
    """SPEC 3 for the Django adapter under a real server (waitress): the grouping call runs
    on the request's thread; building the HAR, redacting and serialising JSON on the
    worker, as for the WSGI middleware (tests/test_threads.py)."""
    import readme_metrics.delivery.sender as sender
    import readme_metrics.pipeline as pipeline
    from readme_metrics.har.redaction import Redactor

    work: list[str] = []
    grouped: list[str] = []

    def spy(function: Callable[..., Any], seen: list[str]) -> Callable[..., Any]:
        def spied(*args: Any, **kwargs: Any) -> Any:
            seen.append(threading.current_thread().name)
            return function(*args, **kwargs)
        return spied

    monkeypatch.setattr(pipeline, "build_log", spy(pipeline.build_log, work))
    monkeypatch.setattr(sender, "dumps", spy(sender.dumps, work))
    monkeypatch.setattr(Redactor, "json_text", spy(Redactor.json_text, work))
    config = MetricsApiConfig(
        api_key="rdme_django_test_key", grouping_function=spy(grouping, grouped),
        metrics_api=collector.url, base_log_url=DOCS, denylist=["password"],
        buffer_length=3)
    body = b'{"password": "hunter2"}'
    with override_settings(README_METRICS_CONFIG=config), served("waitress", WSGIHandler()) as port:
        for number in range(6):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("POST", f"/body?n={number}", body, {
                "X-Api-Key": "k1", "Content-Type": "application/json"})
            answer = connection.getresponse()
            assert answer.status == 200 and answer.read() == body
            connection.close()
        # Two full batches (buffer_length=3): each is sent as soon as it is full.
        wait_until(lambda: len(collector.logs) == 6)
    assert "hunter2" not in str(collector.logs)
    assert len(grouped) == 6 and not set(grouped) & set(work), (grouped, set(work))
    assert len(work) >= 18 and all(name.startswith("readme-metrics-worker") for name in work)
