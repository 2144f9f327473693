"""hostile19's findings: the safety leftovers of hostile18, and redaction where the last
hunts did not look.

1. A Set-Cookie header folding several cookies with "," (``sid=abc, password=...``: an
   app writing one header for several cookies, as urllib3 and so requests join them;
   RFC 6265 forbids it, and requests, http.cookiejar and many clients read a cookie
   after the ","). The header's mask ended with the denied cookie's last four
   characters, and so did the HAR cookie ``sid``'s (its value read up to the first
   ";"); after an attribute (``sid=abc; Path=/, password=...``) the HAR cookie's path
   or domain held the denied value in clear. A denied cookie after a "," is now
   ``[REDACTED n]`` before anything is masked or read.
2. A form body sent with no Content-Type (``requests.post(url, data="user=a&password=...")``
   sends none), which webob (the grouping function's request, Pyramid's) reads as a form,
   went out in clear: SPEC 4 records a body with no Content-Type as text, so it is, but its
   pairs are now redacted as text/plain's are (SPEC 6: form fields).
3. Text with no charset that is no UTF-8 (a Windows client's ``\x93hi\x94``) read as
   ISO 8859-1: curly quotes became the C1 controls U+0093/U+0094, which no text holds.
   SPEC 4 says "exactly as received" and names no charset. Decided: the last resort
   reads 0x80-0x9F as windows-1252, as the WHATWG Encoding standard (every browser) reads
   text labelled latin-1, still one character a byte (the five bytes windows-1252 leaves
   undefined stay the controls), so the text gives back the bytes received. A multi-byte
   charset that is not declared (Shift_JIS) is not guessed.
4. A mount point percent-encoded (werkzeug's ProxyFix takes X-Forwarded-Prefix
   ``/my%20app`` as sent into SCRIPT_NAME) was quoted again: the url said
   ``/my%2520app/x`` where the app's own request.url says ``/my%20app/x``. SCRIPT_NAME
   comes from configuration or a proxy, not a decoded request line: its escapes are kept
   (a "%" starting none is quoted). Mount matching stays case-sensitive, as the servers'
   (waitress's --url-prefix, ProxyFix, root_path) and RFC 3986's paths are: ``/API/x``
   under waitress ``--url-prefix=/api`` is logged ``/api/API/x``, the url the app sees.
5. Server-sent events (``text/event-stream``, how streaming APIs answer) are no JSON
   document, so a denied key in an event's JSON data (``data: {"password": ...}``) went
   out in clear. Each event's data (its ``data:`` lines joined, a document may span
   several) is now redacted as a JSON body is, or as a form's pairs; data cut short that
   names a denied key is hidden whole, with a comment.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
import requests
from hypothesis import assume, given
from hypothesis import strategies as st

from readme_metrics.har.cookies import response_cookies
from readme_metrics.har.headers import headers as har_headers
from readme_metrics.har.redaction import Redactor
from tests.support.exchanges import body_on, entry_of, post
from tests.support.fake_api import Collector, free_port
from tests.support.har_check import assert_valid_log
from tests.support.hostile19_apps import EVENTS, SECRET
from tests.support.hostile19_apps import FOLDED as APP_FOLDED
from tests.test_asgi_servers import SERVERS as ASGI_SERVERS
from tests.test_e2e_servers import SERVERS as WSGI_SERVERS
from tests.test_e2e_servers import raw_answer, serve, server_env

#: A denied value, its last four characters found nowhere else in a log.
TAIL = SECRET[-4:]
DENY = Redactor(denylist=["password"])
ALLOW = Redactor(allowlist=["sid"])
TARGET = "tests.support.hostile19_apps:app"

# -- 1. A denied cookie after a "," in Set-Cookie --------------------------------------

FOLDED = [pytest.param(value, id=name) for name, value in zip(
    ["after-a-cookie", "after-a-path", "after-a-domain", "after-an-expires-date"], APP_FOLDED)
] + [pytest.param(f"sid=abc,password={SECRET},b=2", id="between-others")]

def _shown(value: str, redactor: Redactor) -> str:
    """Every string the log shows of a Set-Cookie ``value``: the header's and the cookie's."""
    header = har_headers([("Set-Cookie", value)], redactor)[0]
    return json.dumps([header, response_cookies([("Set-Cookie", value)], redactor)])


@pytest.mark.parametrize("redactor", [pytest.param(DENY, id="denylist"),
                                      pytest.param(ALLOW, id="allowlist")])
@pytest.mark.parametrize("value", FOLDED)
def test_a_denied_cookie_after_a_comma_in_set_cookie_shows_none_of_its_value(
        value: str, redactor: Redactor) -> None:
    assert TAIL not in _shown(value, redactor)


def test_a_folded_set_cookie_keeps_what_the_lists_leave() -> None:
    """Only a redacted name's value changes: the first cookie, an Expires date's ","
    and a cookie the lists leave are read as before."""
    value = "sid=abc; Expires=Wed, 21 Oct 2026 07:28:00 GMT, other=1; Path=/"
    assert response_cookies([("Set-Cookie", value)], DENY) == response_cookies(
        [("Set-Cookie", value)], Redactor(denylist=["nothing"]))
    assert response_cookies([("Set-Cookie", value)], DENY)[0]["expires"] == (
        "2026-10-21T07:28:00.000Z")


@given(st.lists(st.sampled_from(["sid=abc", "password=" + SECRET, "PASSWORD =" + SECRET,
                                 " Path=/", "Domain=x", "Expires=Wed, 21 Oct 2026 07:28:00 GMT",
                                 "HttpOnly", "a=b,c", ""]), min_size=1, max_size=6),
       st.lists(st.sampled_from([";", ",", ", ", "; "]), min_size=5, max_size=5))
def test_no_folding_lets_a_denied_set_cookies_tail_out(pieces: list[str], glue: list[str]
                                                       ) -> None:
    value = pieces[0] + "".join(sep + piece for sep, piece in zip(glue, pieces[1:]))
    # A denied name as an attribute after ";" ("; password=...") is no cookie: only a
    # name at the start or after a "," is one (the header's mask may end with an
    # attribute's last characters, as with any attribute).
    seps = [","] + glue
    cookies = [piece for sep, piece in zip(seps, pieces) if "," in sep]
    attributes = [piece for sep, piece in zip(seps, pieces) if "," not in sep]
    assume(not any(SECRET in piece for piece in attributes))
    if any(piece.lower().startswith("password") for piece in cookies):
        assert TAIL not in _shown(value, DENY)


# -- 2. A form with no Content-Type ---------------------------------------------------


@pytest.mark.parametrize("body", [
    pytest.param(f"user=a&password={SECRET}", id="form"),
    pytest.param(f"password={SECRET}", id="one-field"),
    pytest.param(f"user=a&Pass%77ord={SECRET}", id="percent-encoded-name"),
    pytest.param(f"user=a\r\npassword={SECRET}\r\n", id="lines"),
])
def test_a_form_with_no_content_type_is_redacted(body: str) -> None:
    post_data = entry_of(post(None, body.encode()), redactor=DENY)["request"]["postData"]
    assert post_data["mimeType"] == "text/plain"
    assert SECRET[:6] not in post_data["text"] and TAIL not in post_data["text"]
    assert post_data["text"].startswith(body[:6])


def test_a_body_with_no_content_type_and_no_denied_key_is_as_received() -> None:
    body = b"user=a&note=b c"
    assert entry_of(post(None, body), redactor=DENY)["request"]["postData"]["text"] == (
        body.decode())


# -- Under real servers ---------------------------------------------------------------


def _werkzeug(port: int, target: str) -> list[str]:
    module, attribute = target.split(":")
    return [sys.executable, "-c",
            f"from werkzeug.serving import run_simple; from {module} import {attribute}; "
            f"run_simple('127.0.0.1', {port}, {attribute}, threaded=True)"]


HOSTILE19_SERVERS: dict[str, Callable[[int, str], list[str]]] = {
    "werkzeug": _werkzeug,
    "waitress": WSGI_SERVERS["waitress"],
    "gunicorn-sync": WSGI_SERVERS["gunicorn-sync"],
}


def _posted(collector: Collector) -> bytes:
    return b"".join(r.body for r in collector.received if r.path == "/v1/request")


@pytest.mark.e2e
@pytest.mark.parametrize("server", list(HOSTILE19_SERVERS))
def test_folded_set_cookie_and_a_form_without_type_under_each_server(
        server: str, collector: Collector, tmp_path: Path) -> None:
    port = free_port()
    env = server_env(collector, README_DENYLIST="password")
    caller = {"X-Api-Key": "owlbert-hostile19"}
    with serve(HOSTILE19_SERVERS[server](port, TARGET), env, tmp_path, port) as url:
        for number, cookie in enumerate(APP_FOLDED):
            answer = requests.get(f"{url}/set-cookie/{number}", headers=caller, timeout=30)
            assert answer.headers["Set-Cookie"] == cookie  # the app's answer untouched
        # No Content-Type: webob reads a form, the app sees the denied field.
        request = requests.Request("POST", f"{url}/form", headers=caller,
                                   data=f"user=a&password={SECRET}").prepare()
        assert "Content-Type" not in request.headers
        with requests.Session() as session:
            answer = session.send(request, timeout=30)
        assert answer.text == "user,password"
        logs = collector.wait_for_logs(len(APP_FOLDED) + 1)
    for log in logs:
        assert_valid_log(log)
    posted = _posted(collector)
    assert SECRET[:6].encode() not in posted
    assert TAIL.encode() not in posted




# -- 3. Undeclared windows-1252 -------------------------------------------------------

#: The WHATWG windows-1252 decoder's characters for 0x80-0x9F, the bytes back.
_BYTE_OF = {(bytes([b]).decode("cp1252") if b not in b"\x81\x8d\x8f\x90\x9d" else chr(b)): b
            for b in range(0x80, 0xA0)}


def _bytes_of(text: str) -> bytes:
    return bytes(_BYTE_OF.get(ch) or ord(ch) for ch in text)


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", "text/csv"])
def test_undeclared_windows_1252_reads_as_its_characters(content_type: str) -> None:
    body = "\u201chi\u201d \u2013 caf\u00e9 \u20ac5".encode("cp1252")
    assert entry_of(post(content_type, body))["request"]["postData"]["text"] == (
        "\u201chi\u201d \u2013 caf\u00e9 \u20ac5")


@given(st.binary(min_size=1, max_size=40).filter(lambda data: max(data) >= 0x80).map(
    lambda data: bytes(b if b >= 0x20 or b in (9, 10, 13) else 0x41 for b in data)).filter(
    # (A byte order mark says UTF-16 or UTF-8: read so.)
    lambda data: not data.startswith((b"\xfe\xff", b"\xff\xfe", b"\xef\xbb\xbf"))))
def test_an_undeclared_text_is_one_character_a_byte_and_no_c1_control(body: bytes) -> None:
    """Whatever the bytes, the text gives them back, and holds no C1 control but the five
    windows-1252 leaves undefined (UTF-8 reads as UTF-8)."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        assume(False)
    text = entry_of(post("text/plain", body))["request"]["postData"]["text"]
    assert _bytes_of(text) == body
    assert all(ch in "\x81\x8d\x8f\x90\x9d" for ch in text if "\x80" <= ch <= "\x9f")


# -- 4. A mount point percent-encoded -------------------------------------------------


@pytest.mark.parametrize(("prefix", "path"), [
    pytest.param("/my%20app", "/my%20app/x", id="escaped-blank"),
    pytest.param("/caf%C3%A9", "/caf%C3%A9/x", id="escaped-utf-8"),
    pytest.param("/my app", "/my%20app/x", id="plain-blank"),
    pytest.param("/100%", "/100%25/x", id="percent-starting-no-escape"),
])
@pytest.mark.parametrize("raw", [pytest.param(True, id="raw-target"),
                                 pytest.param(False, id="no-raw-target")])
def test_a_forwarded_prefix_is_not_quoted_again(prefix: str, path: str, raw: bool) -> None:
    from werkzeug.middleware.proxy_fix import ProxyFix

    from readme_metrics.capture.request_url import request_url

    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        seen.update(environ)
        start_response("200 OK", [])
        return []

    environ = {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": "/x",
               "QUERY_STRING": "", "SERVER_NAME": "h", "SERVER_PORT": "80",
               "HTTP_HOST": "h", "wsgi.url_scheme": "http", "REMOTE_ADDR": "10.0.0.1",
               "HTTP_X_FORWARDED_PREFIX": prefix,
               "SERVER_SOFTWARE": "waitress" if raw else ""}
    if raw:
        environ["REQUEST_URI"] = "/x"
    ProxyFix(app, x_prefix=1)(environ, lambda *_: None)
    assert request_url(seen) == "http://h" + path


@pytest.mark.e2e
@pytest.mark.parametrize("server", ["waitress", "gunicorn-sync"])
def test_a_forwarded_prefix_is_logged_as_the_app_sees_it_under_a_server(
        server: str, collector: Collector, tmp_path: Path) -> None:
    port = free_port()
    env = server_env(collector)
    target = "tests.support.hostile19_apps:proxied_app"
    with serve(WSGI_SERVERS[server](port, target), env, tmp_path, port) as url:
        answer = requests.get(f"{url}/url", timeout=30, headers={
            "X-Api-Key": "owlbert-hostile19", "X-Forwarded-Prefix": "/my%20app"})
        logs = collector.wait_for_logs(1)
    assert answer.text == f"{url}/my%20app/url"  # werkzeug's request.url
    assert logs[0]["request"]["log"]["entries"][0]["request"]["url"] == answer.text


# -- 5. Server-sent events ------------------------------------------------------------

SSE = [("Content-Type", "text/event-stream; charset=utf-8")]


def _sse(text: str, redactor: Redactor = DENY) -> dict[str, Any]:
    content: dict[str, Any] = entry_of(body_on("response", SSE, text.encode()),
                                       redactor=redactor)["response"]["content"]
    return content


@pytest.mark.parametrize("stream", [
    pytest.param("".join(EVENTS), id="the-app's-events"),
    pytest.param(EVENTS[0].replace("\n", "\r\n"), id="crlf"),
    pytest.param(EVENTS[1].replace("\n", "\r"), id="cr-and-two-lines"),
    pytest.param(f'data:{{"a":[{{"password":"{SECRET}"}}]}}', id="no-blank-no-end"),
    pytest.param(f'data: {{"pass\\u0077ord": "{SECRET}"}}\n\n', id="escaped-key"),
])
def test_a_denied_key_in_an_events_data_is_redacted(stream: str) -> None:
    content = _sse(stream)
    assert SECRET[:6] not in content["text"] and TAIL not in content["text"]
    assert "REDACTED 11" in content["text"]
    assert "comment" not in content


def test_events_keep_their_fields_and_what_names_no_denied_key() -> None:
    text = _sse("".join(EVENTS))["text"]
    assert text.startswith('event: token\ndata: {"delta":"hi","password":"[REDACTED 11]"}\n\n')
    assert text.endswith("data: [DONE]\n\n")
    plain = 'id: 1\ndata: {"delta": "hi"}\n\n: ping\n\n'
    assert _sse(plain)["text"] == plain


def test_an_events_data_cut_short_is_hidden_whole() -> None:
    content = _sse(f'data: {{"delta": "a"}}\n\ndata: {{"password": "{SECRET}", "b')
    assert content["text"].startswith('data: {"delta": "a"}\n\ndata: [REDACTED')
    assert SECRET[:6] not in content["text"]
    assert "could not be parsed" in content["comment"]


@given(st.lists(st.sampled_from([
    "data: {\"a\": 1}", f"data: {{\"password\": \"{SECRET}\"}}", "data: {\"x\":",
    f"data: {{\"password\":\n\ndata: \"{SECRET}\"}}".replace("\n\n", "\n"),
    f"data: {{\"password\":\ndata: \"{SECRET}", f"data: {{\"password\":\ndata: \"a={SECRET}\"}}",
    "event: e", ": c", "",
    f"data: password={SECRET}", "data", "id: 7"]), max_size=8),
    st.sampled_from(["\n", "\r\n", "\r"]))
def test_no_event_stream_lets_a_denied_value_out(lines: list[str], end: str) -> None:
    """A document split over data lines, cut short, between other fields: the denied
    value never shows."""
    text = _sse(end.join(line.replace("\n", end) for line in lines))["text"]
    assert SECRET[:6] not in text


@pytest.mark.e2e
@pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
def test_events_streamed_under_a_server_show_no_denied_value(
        server: str, collector: Collector, tmp_path: Path) -> None:
    port = free_port()
    env = server_env(collector, README_DENYLIST="password")
    target = "tests.support.hostile19_apps:asgi_app"
    with serve(ASGI_SERVERS[server](port, target), env, tmp_path, port) as url:
        answer = requests.get(f"{url}/events", timeout=30)
        logs = collector.wait_for_logs(1)
    assert answer.text == "".join(EVENTS)  # the client's stream is untouched
    assert_valid_log(logs[0])
    posted = _posted(collector)
    assert SECRET[:6].encode() not in posted and TAIL.encode() not in posted
    assert b"[DONE]" in posted


# -- Header names with "_" under each server (no finding: kept as a check) ------------

UNDERSCORE_SERVERS: dict[str, tuple[Callable[[int, str], list[str]], str]] = {
    "werkzeug": (_werkzeug, TARGET),
    "waitress": (WSGI_SERVERS["waitress"], TARGET),
    "gunicorn-sync": (WSGI_SERVERS["gunicorn-sync"], TARGET),
    **{name: (ASGI_SERVERS[name], "tests.support.hostile19_apps:asgi_app")
       for name in ("uvicorn", "hypercorn", "daphne")},
}


@pytest.mark.e2e
@pytest.mark.parametrize("server", list(UNDERSCORE_SERVERS))
def test_denied_and_credential_headers_spelled_with_underscores_under_each_server(
        server: str, collector: Collector, tmp_path: Path) -> None:
    """``X_Secret`` reaches a WSGI app as HTTP_X_SECRET where the server keeps it (gunicorn
    drops it, and so do werkzeug's server and waitress), an ASGI app as ``x_secret``:
    either way the denylist's ``x-secret`` and the credential headers' masks hide it, and
    a Digest response is masked whole."""
    port = free_port()
    env = server_env(collector, README_DENYLIST="x-secret,x-other-secret")
    argv, target = UNDERSCORE_SERVERS[server]
    secrets = ["underscored-Aa11", "mixed-Bb22", "apikey-Cc33", "digest-Dd44"]
    request = (f"GET /headers HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
               f"X-Api-Key: owlbert-hostile19-caller\r\nX_Secret: {secrets[0]}\r\n"
               f"X-Other_Secret: {secrets[1]}\r\nX_Api_Key: {secrets[2]}\r\n"
               f'Authorization: Digest username="u", response="{secrets[3]}", nonce="n1"\r\n'
               "Connection: close\r\n\r\n").encode()
    with serve(argv(port, target), env, tmp_path, port):
        assert raw_answer(port, request).split(b" ", 2)[1] == b"200"
        logs = collector.wait_for_logs(1)
    assert_valid_log(logs[0])
    posted = _posted(collector)
    for secret in secrets:
        assert secret[:-4].encode() not in posted, (secret, server)
        if secret != secrets[2]:  # (a masked header's value ends its mask: SPEC 4)
            assert secret[-4:].encode() not in posted, (secret, server)
