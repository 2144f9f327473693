"""cpu29: thirteen Python calls the log worker made for every log, written out where the
call cost more than its test (docs/PERFORMANCE.md, "Nineteenth session", cpu29).

* ``har.build``: ``bodies.safely`` (the request's cookies, the response's content),
  ``body_clip.body_size`` (twice), ``body_forms.records`` and its comprehension (the query),
  ``_client_ip``'s first tests;
* ``bodies.content``: ``clip`` for a body recorded whole within the bound;
* ``headers``: ``CallerKey.url``'s first answer and ``url_header_hidden`` (hostile61;
  ``_hidden_userinfo`` before) for a URL header without "@" in any spelling; in
  ``request_cookies``, ``_cookie_keys`` and ``CallerKey.may_hold`` when their first tests
  leave every cookie as it is;
* ``environ_head``: ``_add_content_headers`` for a request without Content-Type and
  Content-Length, ``pick_client_ip`` with no trusted proxy.

bench.py's small GET log: 34 Python calls to build on main (320d47b), 23 here; making its
Exchange 10, 8. Each gate is held against the call it stands before: the same values out.
"""

from __future__ import annotations

import copy
import gc
import importlib
import io
from typing import Any, Optional

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.capture import request_head as request_module
from readme_metrics.capture.environ_strings import environ_strings
from readme_metrics.capture.forwarded import pick_client_ip
from readme_metrics.capture.request_head import environ_head
from readme_metrics.exchange import Exchange, Group
from readme_metrics.har import bodies, body_clip, build, build_log
from readme_metrics.har.cookies import _cookie_keys, request_cookies
from readme_metrics.har.credentials import CallerKey
from readme_metrics.har.header_urls import url_header_hidden
from readme_metrics.har.headers import RAW_CONTENT_TYPE, headers
from readme_metrics.har.redaction import Redactor
from tests.test_hostile11_findings import _calls

# (readme_metrics.har exports the function headers(): the module by its name.)
headers_module = importlib.import_module("readme_metrics.har.headers")

TOKEN = "sk_live_4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"  # bench.py's caller: its bearer token
# bench.py's small GET: 13 request headers, a 62-byte JSON answer.
GET_HEADERS = {
    "Host": "api.example.com", "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) bench/1.0",
    "Accept": "application/json", "Accept-Encoding": "gzip, deflate, br",
    "Accept-Language": "en-US,en;q=0.9", "Authorization": f"Bearer {TOKEN}",
    "Cookie": "session=8c1f0e2d9b7a4c3e; theme=dark; _ga=GA1.2.1234567890.1700000000",
    "Connection": "keep-alive", "Cache-Control": "no-cache",
    "Referer": "https://docs.example.com/reference/get-widgets",
    "X-Request-Id": "0f8e2a3c-5b6d-4e7f-8a9b-0c1d2e3f4a5b", "X-Api-Version": "2024-06-01",
    "X-Forwarded-For": "203.0.113.7",
}
GET_BODY = b'{"id":12345,"name":"widget","tags":["a","b"],"ok":true}'.ljust(62)


def _small_get() -> Any:
    """The record the real WSGI middleware queues for bench.py's small GET."""
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(GET_BODY)))])
        return [GET_BODY]

    records: list[Any] = []
    config = MetricsApiConfig(
        api_key="rdme_benchmark_key_0000", metrics_api="http://127.0.0.1:9/",
        grouping_function=lambda request: {
            "api_key": request.headers.get("Authorization", "")[7:], "label": "Bench User",
            "email": "bench@example.com"},
        background_worker_mode=False)
    middleware = MetricsMiddleware(app, config)
    middleware.pipeline.submit = lambda item, send=True: records.append(item) or True
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": "/v1/widgets/12345",
        "QUERY_STRING": "expand=owner&limit=10", "SERVER_NAME": "api.example.com",
        "SERVER_PORT": "443", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.12",
        "wsgi.version": (1, 0), "wsgi.url_scheme": "https", "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(), "wsgi.multithread": True, "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in GET_HEADERS.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    result = middleware(environ, lambda status, headers, exc_info=None: None)
    for _chunk in result:
        pass
    if hasattr(result, "close"):
        result.close()
    (record,) = records
    return record


def test_the_small_get_log_is_built_with_fewer_python_calls(monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    # The per-process tables as a fresh process has them (other tests may have filled
    # them to their bounds, past which each log makes them again).
    monkeypatch.setattr(request_module, "_HEAD_PLANS", {})
    monkeypatch.setattr(headers_module, "_ROLES", {})
    monkeypatch.setattr(headers_module, "_PLAIN_NAMES", set())
    monkeypatch.setattr(headers_module, "_PLAIN_LONGEST", [0])
    record = _small_get()
    exchange = record.to_exchange()
    log = build_log(exchange)
    assert log["request"]["log"]["entries"][0]["request"]["cookies"]  # the path measured
    # main (320d47b): 10 and 34; secrets17 (landed before) added one: scrub._body, the
    # body's key and base64 masking in one place
    # (No collection during the counts: a finalizer of an earlier test's garbage run
    # there is a call too; seen once in two runs of 2,700 tests, 25 calls.)
    gc.collect()
    gc.disable()
    try:
        # cpu18: environ_head calls environ_url's two parts itself, and the response
        # headers' text and Content-Length are read in one pass (response_header_read):
        # 8 -> 6.
        assert _calls(record.to_exchange) <= 6  # to_exchange and 5 it calls
        # cpu16: the key gate (har/key_gate.keyless) passes the log, and scrub_entry and
        # the 8 calls it made are spared: 24 -> 16.
        assert _calls(lambda: build_log(exchange)) <= 16  # the lambda, build_log and 14
    finally:
        gc.enable()


# -- each gate against the call it stands before ---------------------------------------


def _exchange(**fields: Any) -> Exchange:
    values: dict[str, Any] = {
        "id": "00000000-0000-4000-8000-000000000001", "started": 1795257103.123456,
        "method": "GET", "url": "https://api.example.com/p?a=1&b=2", "http_version": "HTTP/1.1",
        "request_headers": [("Host", "api.example.com")], "client_ip": "10.0.0.1",
        "group": Group(TOKEN, "L", "e@example.com"), "status": 200, "status_text": "OK",
        "response_headers": [("Content-Type", "application/json")],
        "response_body": b'{"a": 1}', "response_body_size": 8, "wait": 0.01,
        "duration": 0.02,
    }
    values.update(fields)
    return Exchange(**values)


@pytest.mark.parametrize("captured", [b"", b"abc", b"0123456789"])
@pytest.mark.parametrize("shift", [None, -7, -2, -1, 0, 1, 5])
def test_body_sizes_as_body_size_gives_them(captured: bytes, shift: Optional[int]) -> None:
    size = len(captured) if shift is None else (shift if shift < 0 else len(captured) + shift)
    entry = build_log(_exchange(request_body=captured, request_body_size=size,
                                response_body=captured, response_body_size=size,
                                request_body_incomplete=size < 0)
                      )["request"]["log"]["entries"][0]
    assert entry["request"]["bodySize"] == body_clip.body_size(size, captured)
    assert entry["response"]["bodySize"] == body_clip.body_size(size, captured)
    assert entry["response"]["content"]["size"] == body_clip.body_size(size, captured)


@pytest.mark.parametrize("body", [b"", b"x", b"0123456789"])
@pytest.mark.parametrize("size_shift", [-3, -1, 0, 1, 4])
@pytest.mark.parametrize("bound_shift", [None, -1, 0, 1, 100])
def test_content_within_the_bound_as_clip_gives_it(body: bytes, size_shift: int,
                                                   bound_shift: Optional[int]) -> None:
    """A body recorded whole within max_body_bytes takes no clip call: the same text and
    comment as with it."""
    size = size_shift if size_shift < 0 else len(body) + size_shift
    bound = -1 if bound_shift is None else max(len(body) + bound_shift, 0)
    head = {"content-type": "text/plain", RAW_CONTENT_TYPE: "text/plain"}
    out = bodies.content(body, size, head, None, bound)
    clipped, note, _ = body_clip.clip(body, size, bound)
    assert out["text"] == clipped.decode()
    assert out.get("comment") == note


@pytest.mark.parametrize("address", [
    "", "10.0.0.1", TOKEN, f"1.2.3.4, {TOKEN}", f"{TOKEN[:-1]}", f"x{TOKEN}x",
    "%73k_live_4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c", TOKEN.replace("_", "\\u005f"),
])
@pytest.mark.parametrize("key", [TOKEN, "", "12345678", "k3y"])
def test_client_ip_as_client_ip_gives_it(address: str, key: str) -> None:
    log = build_log(_exchange(client_ip=address, group=Group(key)))
    caller = CallerKey(key) if key else None
    assert log["clientIPAddress"] == build._client_ip(address, caller)


def test_a_failing_cookie_parser_or_content_costs_only_that(monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    """As bodies.safely did: the request's cookies empty, the content unrecordable, the
    log built."""
    def fails(*args: Any) -> Any:
        raise ValueError("boom")

    monkeypatch.setattr(build, "request_cookies", fails)
    monkeypatch.setattr(bodies, "content", fails)
    entry = build_log(_exchange(request_headers=[("Cookie", "a=1")]))[
        "request"]["log"]["entries"][0]
    assert entry["request"]["cookies"] == []
    assert entry["response"]["content"]["comment"] == bodies.UNRECORDABLE_COMMENT
    assert "text" not in entry["response"]["content"]


COOKIE_KEYS = [TOKEN, "abcdefgh12345678", "12345678", "k3y", "a b c d e f g h",
               "sha512-abc", "8c1f0e2d9b7a4c3e"]
COOKIES = ["session=8c1f0e2d9b7a4c3e; theme=dark", f"k={TOKEN}", f"{TOKEN}=1; b=2",
           "a=abcdefgh12345678", "n=12345678; m=%31%32", "plain", "x=a\\u0062c; y=k3y"]


@pytest.mark.parametrize("key", COOKIE_KEYS)
@pytest.mark.parametrize("cookies", COOKIES)
@pytest.mark.parametrize("lists", [None, Redactor(["theme"], None)])
def test_cookie_keys_gate_as_cookie_keys_gives_it(key: str, cookies: str,
                                                  lists: Optional[Redactor]) -> None:
    caller = CallerKey(key)
    expected = request_cookies(cookies, lists)  # no caller: _cookie_keys not asked
    expected = copy.deepcopy(expected)
    if expected:
        _cookie_keys(expected, cookies, lists is None, caller)
    assert request_cookies(cookies, lists, caller) == expected


URL_KEYS = [TOKEN, "k3y", "12345678", "a b c d e f g h", "key+with/slash=="]


@pytest.mark.parametrize("url", [
    "https://docs.example.com/p", "https://user:pw@docs.example.com/p", "https://h/@me",
    "mailto:a@b", "//u:p@h/x", "", "@", f"https://u:{TOKEN}@h/", f"https://h/?k={TOKEN}",
    "https://h/?k=sk%5Flive_4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c", "https://h/?q=a+b+c+d+e+f+g+h",
    "https://h/?n=12345678", "https://h/k3y", "https://h/?j=a\\u0020b", "https://h/?s=key+with/slash==",
])
@pytest.mark.parametrize("key", URL_KEYS)
@pytest.mark.parametrize("lists", [None, Redactor(["k"], None)])
def test_url_headers_as_url_and_hidden_userinfo_give_them(url: str, key: str,
                                                          lists: Optional[Redactor]) -> None:
    """CallerKey.url's first answer and url_header_hidden's first test, written out in
    headers(): the same value as both calls."""
    caller = CallerKey(key)
    out, _ = headers([("Referer", url)], lists, caller)
    expected = url if lists is None else lists.url(url)
    assert out[0]["value"] == url_header_hidden(caller.url(expected))


@pytest.mark.parametrize("extra", [
    {}, {"CONTENT_TYPE": "application/json"}, {"CONTENT_LENGTH": "7"},
    {"CONTENT_TYPE": "text/plain", "SERVER_SOFTWARE": "WSGIServer/0.2"},
    {"CONTENT_TYPE": "", "CONTENT_LENGTH": ""},
])
@pytest.mark.parametrize("trusted", [0, 1, 2])
@pytest.mark.parametrize("forwarded", [None, "203.0.113.9", "a, b", ""])
def test_environ_head_as_its_helpers_give_it(extra: dict[str, str], trusted: int,
                                             forwarded: Optional[str]) -> None:
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/p", "SERVER_NAME": "h",
               "SERVER_PORT": "80", "REMOTE_ADDR": "10.0.0.12", "HTTP_ACCEPT": "*/*", **extra}
    if forwarded is not None:
        environ["HTTP_X_FORWARDED_FOR"] = forwarded
    keys, values, _ = environ_strings(environ)
    _, _, _, head_headers, client_ip = environ_head(keys, values, trusted)
    assert client_ip == pick_client_ip("10.0.0.12", forwarded, trusted)
    names = [name for name, _ in head_headers]
    content_type, length = extra.get("CONTENT_TYPE"), extra.get("CONTENT_LENGTH")
    assert ("Content-Type" in names) == bool(content_type and not (
        content_type == "text/plain" and not length
        and extra.get("SERVER_SOFTWARE", "").startswith("WSGIServer/")))
    assert ("Content-Length" in names) == bool(length)
