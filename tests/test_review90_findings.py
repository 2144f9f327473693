"""review90: an adversarial review of hostile18 (a denied cookie after a ","; binary data
under a text type as base64) and of _dotted's ``pkg.mod.Class.method``."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.support.fake_api import Collector, free_port
from tests.support.har_check import assert_valid_log
from tests.test_asgi_servers import SERVERS as ASGI_SERVERS
from tests.test_e2e_servers import MAX_BODY, raw_answer, serve, server_env
from tests.test_e2e_servers import SERVERS as WSGI_SERVERS
from tests.test_e2e_servers import entry_of as entry_of_log

# -- Text with controls, cut at max_body_bytes in a character, on real servers -----------

#: UTF-8 text a terminal shows (ESC, SI, BEL, form feed), then "é"s: at MAX_BODY the body
#: is cut in the middle of one (the prefix is an odd number of bytes).
PREFIX = b"\x1b[1mbuilt\x0f\x07 ok\x0c\t\r\n!"
TEXT = PREFIX + "é".encode() * MAX_BODY
assert len(PREFIX) % 2 == 1 and len(TEXT) > MAX_BODY


def _split_in_characters(data: bytes) -> Iterator[bytes]:
    """``data`` in chunks of 7 bytes: each "é" after the prefix is split by some."""
    for start in range(0, len(data), 7):
        yield data[start:start + 7]


def _wsgi(environ: dict[str, Any], start_response: Any) -> Any:
    if environ["PATH_INFO"] == "/text":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return _split_in_characters(TEXT)
    environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


async def _asgi(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    if scope["path"] != "/text":
        await send({"type": "http.response.body", "body": b"ok"})
        return
    for chunk in _split_in_characters(TEXT):
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


_BUILT: dict[str, Any] = {}


def _grouping(request: Any) -> dict[str, str]:
    return {"api_key": "caller-review90"}


def wsgi_app(environ: dict[str, Any], start_response: Any) -> Any:
    """_wsgi in the WSGI middleware, built on the first call (in the server's process)."""
    if "wsgi" not in _BUILT:
        from readme_metrics import MetricsApiConfig, MetricsMiddleware

        _BUILT["wsgi"] = MetricsMiddleware(_wsgi, MetricsApiConfig(grouping_function=_grouping))
    return _BUILT["wsgi"](environ, start_response)


async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
    """_asgi in the ASGI middleware, built on the first call (in the server's process)."""
    if "asgi" not in _BUILT:
        from readme_metrics import MetricsApiConfig
        from readme_metrics.asgi import MetricsMiddleware

        _BUILT["asgi"] = MetricsMiddleware(_asgi, MetricsApiConfig(grouping_function=_grouping))
    await _BUILT["asgi"](scope, receive, send)


TEXT_SERVERS: dict[str, tuple[Any, str]] = {
    **{name: (WSGI_SERVERS[name], f"{__name__}:wsgi_app")
       for name in ("waitress", "gunicorn-sync")},
    **{name: (ASGI_SERVERS[name], f"{__name__}:asgi_app")
       for name in ("uvicorn", "hypercorn")},
}


def _chunked(data: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk)
                    for chunk in _split_in_characters(data)) + b"0\r\n\r\n"


@pytest.mark.e2e
@pytest.mark.parametrize("server", list(TEXT_SERVERS))
def test_text_with_controls_cut_in_a_character_stays_text_under_each_server(
        server: str, collector: Collector, tmp_path: Path) -> None:
    """A response streamed in chunks that split its characters, and a chunked request
    body, each past max_body_bytes so cut in a character, holding controls a terminal
    shows: text, not base64 (the cut character dropped)."""
    port = free_port()
    argv, app = TEXT_SERVERS[server]
    head = f"Host: 127.0.0.1:{port}\r\nConnection: close\r\n"
    with serve(argv(port, app), server_env(collector), tmp_path, port):
        answer = raw_answer(port, f"GET /text HTTP/1.1\r\n{head}\r\n".encode())
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        posted = raw_answer(port, (
            f"POST /upload HTTP/1.1\r\n{head}Content-Type: text/plain\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode() + _chunked(TEXT))
        assert posted.startswith(b"HTTP/1.1 200"), posted[:200]
        logs = collector.wait_for_logs(2)
    entries = {entry["request"]["method"]: entry for entry in map(entry_of_log, logs)}
    for log in logs:
        assert_valid_log(log)
    expected = TEXT[:MAX_BODY - 1].decode()
    content = entries["GET"]["response"]["content"]
    assert "encoding" not in content and content["text"] == expected, content
    post = entries["POST"]["request"]["postData"]
    assert "base64" not in post.get("comment", "") and post["text"] == expected, post


# -- A denied key named percent-encoded in binary data of a keyed type --------------------

SECRET = "hunter2-Qz9X"


def _recorded_with_deny(side: str, content_type: str, body: bytes) -> dict[str, Any]:
    from readme_metrics.har.redaction import Redactor
    from tests.support.exchanges import body_on, entry_of

    entry = entry_of(body_on(side, [("Content-Type", content_type)], body),
                     redactor=Redactor(denylist=["password"]))
    return entry["request"]["postData"] if side == "request" else entry["response"]["content"]


def _shown(record: dict[str, Any]) -> bytes:
    """What the log shows of a body: its text, or the bytes its base64 stands for."""
    if "base64" in (record.get("comment", ""), record.get("encoding")):
        return base64.b64decode(record["text"])
    return repr(record).encode()


@pytest.mark.parametrize("side", ["request", "response"])
@pytest.mark.parametrize(("content_type", "body"), [
    # hostile18 made such JSON base64 (a control and a byte no UTF-8 has): read as latin-1
    # text, a URL's query naming the key percent-encoded had it redacted whole.
    pytest.param("application/json",
                 b'{"next":"/login?pass%77ord=' + SECRET.encode() + b'","pad":"\x01\xff"}',
                 id="json-with-a-link"),
    pytest.param("application/vnd.api+json",
                 b'{"q":"a=1&pass%77ord=' + SECRET.encode() + b'","pad":"\x01\xff"}',
                 id="json-holding-a-form"),
    # A form answer in latin-1 (no UTF-8: base64, a form type being no text type).
    pytest.param("application/x-www-form-urlencoded",
                 b"pass%77ord=" + SECRET.encode() + b"&name=Jos\xe9", id="latin-1-form"),
    pytest.param("application/x-www-form-urlencoded",
                 b"pass%77ord=" + SECRET.encode() + b"&pad=\x00\xff", id="form-with-controls"),
])
def test_a_denied_key_named_percent_encoded_in_binary_data_of_a_keyed_type_is_not_shown(
        side: str, content_type: str, body: bytes) -> None:
    assert SECRET.encode() not in _shown(_recorded_with_deny(side, content_type, body))


@pytest.mark.parametrize("side", ["request", "response"])
def test_binary_data_naming_no_denied_key_is_still_base64(side: str) -> None:
    """The check is for a key the denylist names: other percent-encoding in binary data
    of a keyed type leaves it base64."""
    body = b"name=Jos%E9&pad=\x00\xff" if side == "response" else b'{"u":"?a%20b=1","p":"\x01\xff"}'
    content_type = ("application/x-www-form-urlencoded" if side == "response"
                    else "application/json")
    assert _shown(_recorded_with_deny(side, content_type, body)) == body


# -- A path naming a class ----------------------------------------------------------------

HOLDER = '''
class Auth:
    @staticmethod
    def group(request):
        return {"api_key": "from-auth"}

    @classmethod
    def by_class(cls, request):
        return {"api_key": "from-auth"}

    def method(self, request):
        return None


class Empty:
    pass
'''


@pytest.mark.parametrize(("attr", "said"), [
    pytest.param("Auth", "name the function in it (Auth.group, Auth.by_class?)",
                 id="holding-functions"),
    pytest.param("Empty", "name a function (a @staticmethod in it)", id="holding-none"),
])
def test_a_path_naming_a_class_says_it_is_one_and_names_its_functions(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, attr: str, said: str) -> None:
    """``myapp.metrics.Auth`` for ``myapp.metrics.Auth.group``: the error said "Auth()
    takes no argument ...: write def __call__(self, request)", which in the class would
    change nothing (the class is what is called, making an instance)."""
    import sys

    from readme_metrics import MetricsApiConfig

    (tmp_path / "review90_holder.py").write_text(HOLDER)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "review90_holder", raising=False)
    with pytest.raises(ValueError) as caught:
        MetricsApiConfig(api_key="rdme_review90", grouping_function=f"review90_holder.{attr}")
    message = str(caught.value)
    assert f"{attr} is a class" in message and said in message, message
    assert "write def __call__" not in message, message


# -- A denied cookie after a "," under the servers hostile18 did not run -------------------

COOKIE_SECRET = "s3cr3t-Qz9X"



@pytest.mark.e2e
@pytest.mark.parametrize("server", [
    pytest.param(name, id=f"{kind}-{name}") for kind, names in (
        ("wsgi", ("cheroot", "granian", "uwsgi")), ("asgi", ("daphne", "granian")))
    for name in names])
def test_two_cookie_headers_show_none_of_a_denied_cookie_under_more_servers(
        server: str, collector: Collector, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    kind = request.node.callspec.id.split("-", 1)[0]
    argv = (WSGI_SERVERS if kind == "wsgi" else ASGI_SERVERS)[server]
    app = ("tests.support.e2e_apps:plain_app" if kind == "wsgi"
           else "tests.support.asgi_apps:starlette_app")
    port = free_port()
    env = server_env(collector, README_DENYLIST="password",
                     DJANGO_SETTINGS_MODULE="tests.support.asgi_apps")
    raw = (f"GET /hello HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
           f"X-Api-Key: owlbert-cookie-caller\r\nCookie: a=1\r\n"
           f"Cookie: password={COOKIE_SECRET}\r\nConnection: close\r\n\r\n").encode()
    with serve(argv(port, app), env, tmp_path, port):
        assert raw_answer(port, raw).split(b" ", 2)[1] == b"200"
        logs = collector.wait_for_logs(1)
    assert_valid_log(logs[0])
    posted = b"".join(r.body for r in collector.received if r.path == "/v1/request")
    assert COOKIE_SECRET[-4:].encode() not in posted, entry_of_log(logs[0])["request"]
