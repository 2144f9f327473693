"""The request URL and client IP as the WSGI capture logs them (SPEC section 5): the URL
as received (RAW_URI when the server gives it), forwarded headers from trusted proxies
only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.contract import exchange, reading_app
from tests.support.fake_api import Collector
from tests.support.wsgi import run_wsgi, wsgi_environ

# -- through the public API, expected values from the SPEC words (SPEC 5 and 6, black box) ---


@pytest.mark.parametrize("trusted, forwarded, expected_ip, expected_url", [
    pytest.param(0, {}, "203.0.113.9", "http://api.example.com/p", id="remote-addr"),
    pytest.param(0, {"X-Forwarded-For": "198.51.100.1", "X-Forwarded-Proto": "https",
                     "X-Forwarded-Host": "evil.example"}, "203.0.113.9",
                 "http://api.example.com/p", id="untrusted-forwarded-ignored"),
    pytest.param(1, {"X-Forwarded-For": "198.51.100.1, 192.0.2.7",
                     "X-Forwarded-Proto": "https", "X-Forwarded-Host": "public.example"},
                 "192.0.2.7", "https://public.example/p", id="one-trusted-proxy"),
    pytest.param(2, {"X-Forwarded-For": "198.51.100.1, 192.0.2.7"}, "198.51.100.1",
                 "http://api.example.com/p", id="two-trusted-proxies"),
])
def test_client_ip_and_url_with_trusted_proxies(inline_wrap: Any, collector: Collector,
                                                trusted: int, forwarded: dict[str, str],
                                                expected_ip: str, expected_url: str) -> None:
    middleware = inline_wrap(reading_app(), trusted_proxies=trusted)
    environ = wsgi_environ(path="/p", headers={"Host": "api.example.com", **forwarded})
    environ["REMOTE_ADDR"] = "203.0.113.9"
    run_wsgi(middleware, environ)
    middleware.flush(5.0)
    [log] = collector.wait_for_logs(1)
    assert log["clientIPAddress"] == expected_ip
    assert log["request"]["log"]["entries"][0]["request"]["url"] == expected_url


@pytest.mark.parametrize("path, query, expected", [
    pytest.param("/v1/items", "", "/v1/items", id="no-query"),
    pytest.param("/search", "q=caf%C3%A9&tag=a%2Bb&sp=a+b&x=%20",
                 "/search?q=caf%C3%A9&tag=a%2Bb&sp=a+b&x=%20", id="query-stays-encoded"),
    pytest.param("/a b", "", "/a%20b", id="space-in-path"),
    pytest.param("/caf\xc3\xa9", "", "/caf%C3%A9", id="utf8-path"),
    pytest.param("/100%", "x=1", "/100%25?x=1", id="percent-in-path"),
    pytest.param("/what?", "x=1", "/what%3F?x=1", id="question-mark-in-path"),
    pytest.param("/tag#1", "", "/tag%231", id="hash-in-path"),
    pytest.param("/a:b@c;d=e,f!$&'()*+", "", "/a:b@c;d=e,f!$&'()*+", id="pchars-kept"),
    pytest.param("/~user/[x]/A_z.0-9", "", "/~user/[x]/A_z.0-9", id="unreserved-kept"),
    pytest.param("/a\\b|c^`{}\"<>", "", "/a%5Cb%7Cc%5E%60%7B%7D%22%3C%3E",
                 id="other-ascii-encoded"),
])
def test_request_url_as_received(inline_wrap: Any, collector: Collector, path: str, query: str,
                                 expected: str) -> None:
    """wsgiref and direct calls give a decoded PATH_INFO and no raw URI: the url must
    still be a valid URL with the query string as received."""
    _, _, entry = exchange(inline_wrap(reading_app()), collector, path=path, query=query,
                           headers={"Host": "api.example.com:8080"})
    url = entry["request"]["url"]
    assert url == "http://api.example.com:8080" + expected
    parts = urlsplit(url)
    assert parts.query == query and parts.fragment == ""


def test_request_url_from_the_raw_uri_when_the_server_gives_it(
        inline_wrap: Any, collector: Collector) -> None:
    middleware = inline_wrap(reading_app())
    environ = wsgi_environ(path="/a/b", query="q=%2F", headers={"Host": "api.example.com"})
    environ["RAW_URI"] = "/a%2Fb?q=%2F"  # gunicorn; the path had an encoded slash
    run_wsgi(middleware, environ)
    middleware.flush(5.0)
    [log] = collector.wait_for_logs(1)
    assert log["request"]["log"]["entries"][0]["request"]["url"] == \
        "http://api.example.com/a%2Fb?q=%2F"


@pytest.mark.parametrize("host, expected", [
    pytest.param("api.example.com:8080", "api.example.com:8080", id="plain-kept"),
    pytest.param("[::1]:8080", "[::1]:8080", id="ipv6-kept"),
    pytest.param("ex ample.com", "ex%20ample.com", id="blank"),
    pytest.param("h/evil?x#y", "h%2Fevil%3Fx%23y", id="path-query-fragment"),
    pytest.param("[::1", "%5B%3A%3A1", id="unclosed-bracket"),
    # No Host may hold a userinfo: it is a credential, hidden as a URL's (leak4); a user
    # alone as text_userinfo.hidden_user says (hostile54): a token hidden whole, a name kept.
    pytest.param("Zq8h22Xw@h", "%5BREDACTED%208%5D@h", id="userinfo"),
    pytest.param("user@h", "user@h", id="userinfo-name"),
    pytest.param("h:abc", "h%3Aabc", id="port-not-digits"),
    pytest.param('<a"b>', "%3Ca%22b%3E", id="markup"),
    # RFC 9110 (4.2.1): an http URI must not have an empty host; a recipient rejects it.
    pytest.param(":8080", "%3A8080", id="port-without-host"),
])
def test_a_hostile_host_header_still_makes_a_valid_url(inline_wrap: Any, collector: Collector,
                                                       host: str, expected: str) -> None:
    """The Host header is client input: a value no URL can hold is percent-encoded, so the
    log stays valid (a Metrics API refusing it would drop the whole batch with it)."""
    from readme_metrics.cli.collector.validation import validate_log

    middleware = inline_wrap(reading_app())
    run_wsgi(middleware, wsgi_environ(path="/p", query="q=1", headers={"Host": host}))
    [log] = collector.wait_for_logs(1)
    url = log["request"]["log"]["entries"][0]["request"]["url"]
    assert url == f"http://{expected}/p?q=1"
    parts = urlsplit(url)
    assert (parts.netloc, parts.path, parts.query, parts.fragment) == (expected, "/p", "q=1", "")
    assert parts.port in (None, 8080)
    assert validate_log(log) == []


@pytest.mark.parametrize("environ_changes", [
    pytest.param({"QUERY_STRING": "a=1#b&c=2"}, id="query-string-wsgiref"),
    pytest.param({"QUERY_STRING": "a=1", "RAW_URI": "/p?a=1#b&c=2"}, id="raw-uri-gunicorn"),
])
def test_a_raw_hash_in_the_request_target_is_no_fragment(
        inline_wrap: Any, collector: Collector, environ_changes: dict[str, str]) -> None:
    """A request target has no fragment: a "#" a client sent raw (wsgiref and gunicorn
    pass it on) stays in the query, encoded, so ``url`` and ``queryString`` agree."""
    from readme_metrics.cli.collector.validation import validate_log

    middleware = inline_wrap(reading_app())
    environ = wsgi_environ(path="/p", headers={"Host": "h"})
    environ.update(environ_changes)
    run_wsgi(middleware, environ)
    [log] = collector.wait_for_logs(1)
    request = log["request"]["log"]["entries"][0]["request"]
    assert request["url"] == "http://h/p?a=1%23b&c=2"
    assert request["queryString"] == [{"name": "a", "value": "1#b"},
                                      {"name": "c", "value": "2"}]
    assert validate_log(log) == []


@pytest.mark.parametrize("raw_uri", [None, "*"])
def test_options_asterisk_keeps_the_host(inline_wrap: Any, collector: Collector,
                                         raw_uri: Any) -> None:
    """``OPTIONS * HTTP/1.1`` gives PATH_INFO "*": the url still needs its "/" (as ASGI)."""
    middleware = inline_wrap(reading_app(), skip_methods=[])
    environ = wsgi_environ(method="OPTIONS", path="*", headers={"Host": "api.example.com"})
    if raw_uri is not None:
        environ["RAW_URI"] = raw_uri
    run_wsgi(middleware, environ)
    [log] = collector.wait_for_logs(1)
    url = log["request"]["log"]["entries"][0]["request"]["url"]
    assert url == "http://api.example.com/*"
    assert urlsplit(url).netloc == "api.example.com"


@pytest.mark.parametrize("proto, expected", [
    pytest.param("HTTPS", "https", id="upper-case"),
    pytest.param("javascript", "http", id="not-http"),
    pytest.param("\x00", "http", id="control"),
    pytest.param("", "http", id="empty"),
])
def test_a_forwarded_proto_is_http_or_https(inline_wrap: Any, collector: Collector,
                                            proto: str, expected: str) -> None:
    """Even from a trusted proxy, X-Forwarded-Proto only ever makes an http(s) url."""
    middleware = inline_wrap(reading_app(), trusted_proxies=1)
    run_wsgi(middleware, wsgi_environ(path="/p", headers={"Host": "h",
                                                          "X-Forwarded-Proto": proto}))
    [log] = collector.wait_for_logs(1)
    assert log["request"]["log"]["entries"][0]["request"]["url"] == f"{expected}://h/p"


@pytest.mark.parametrize("name, port, expected", [
    pytest.param("::1", "8000", "http://[::1]:8000/p", id="ipv6-with-port"),
    pytest.param("2001:db8::7", "80", "http://[2001:db8::7]/p", id="ipv6-default-port"),
    pytest.param("[::1]", "8000", "http://[::1]:8000/p", id="ipv6-already-bracketed"),
    pytest.param("10.0.0.5", "8080", "http://10.0.0.5:8080/p", id="ipv4"),
])
def test_a_request_without_host_names_an_ipv6_server_in_brackets(
        inline_wrap: Any, collector: Collector, name: str, port: str, expected: str) -> None:
    """HTTP/1.0 without Host: the url's host is the server's address (SERVER_NAME, as
    gunicorn sets it from the socket), an IPv6 one in brackets as a URL writes it."""
    middleware = inline_wrap(reading_app())
    environ = wsgi_environ(path="/p")
    del environ["HTTP_HOST"]
    environ.update(SERVER_NAME=name, SERVER_PORT=port)
    run_wsgi(middleware, environ)
    [log] = collector.wait_for_logs(1)
    url = log["request"]["log"]["entries"][0]["request"]["url"]
    assert url == expected
    assert urlsplit(url).port == (None if port == "80" else int(port))
