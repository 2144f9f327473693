"""spec26's audit of SPEC 3, 4 and 6 across the entry points of SPEC 2.

SPEC 3: "Adapters only produce an Exchange. Everything after is shared and
framework-free." So one request gives the same log whichever entry point captured it: the
WSGI middleware (webob), the Flask extension, the Django middleware (which builds its
exchange from Django's request, readme_metrics/django_exchange.py), the ASGI middleware
and FastAPI's ``add_middleware``. Each was checked on its own (tests/test_flask.py,
tests/test_django.py, tests/test_asgi.py) and for the options (tests/test_spec25_findings.py),
but no test sent the same bodies of every kind SPEC 4 names (JSON, form, multipart with a
file, binary, no Content-Type, a query with ``+`` and blanks) through all five and compared
the logs, with the caller's key and the deny list (SPEC 6) in play. The expected values come
from SPEC words (tests/support/contract.py's ``spec_mask``), not the library's helpers.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig
from tests.support.contract import spec_mask
from tests.support.fake_api import INLINE_TIMEOUT, Collector
from tests.test_spec25_findings import ENTRY_POINTS, Call

API_KEY = "rdme_spec26_audit_key_5555"
CALLER = "caller-key-0042"
PNG = b"\x89PNG\r\n\x1a\n\x00\xff"

MULTIPART = (
    b"--XX\r\nContent-Disposition: form-data; name=\"picture\"; filename=\"a.png\"\r\n"
    b"Content-Type: image/png\r\n\r\n" + PNG + b"\r\n"
    b"--XX\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n" + CALLER.encode()
    + b"\r\n--XX--\r\n"
)

CALLS = {
    "json": Call("POST", query=f"a=1+2&b=&api_key={CALLER}", headers={
        "Content-Type": "application/json", "Cookie": f"sid=1; k={CALLER}",
        "X-Api-Key": CALLER, "Authorization": "Bearer abcdefgh"},
        body=json.dumps({"user": {"password": "pw", "name": "ann"}, "password": "x",
                         "k": CALLER}).encode()),
    "form": Call("POST", headers={"Content-Type": "application/x-www-form-urlencoded"},
                 body=f"a=1&b=x+y&a=&key={CALLER}&password=p".encode()),
    "multipart": Call("POST", headers={"Content-Type": "multipart/form-data; boundary=XX"},
                      body=MULTIPART),
    "binary": Call("PUT", headers={"Content-Type": "application/octet-stream"},
                   body=b"\x00\x01\xff"),
    "no-type": Call("POST", body=b"plain text"),
    "query": Call("GET", query="x=%20y&z&w=a+b"),
}


def grouping(request: Any) -> Any:
    """The caller, except for a request marked anonymous (webob, Flask, Django and
    Starlette requests all have ``headers``)."""
    if request.headers.get("X-Anonymous"):
        return None
    return {"api_key": CALLER, "label": "Owlbert", "email": "owlbert@example.com"}


def _shared_part(log: dict[str, Any]) -> dict[str, Any]:
    """What SPEC 3 says every adapter logs alike: the log but for what the apps and
    servers themselves differ in (the response's headers and type, the protocol version
    of the direct call, the id and timings). The request's headers are compared in name
    order: a WSGI environ keeps Content-Type and Content-Length apart from the others, so
    their place among the headers as sent is not known there."""
    entry = log["request"]["log"]["entries"][0]
    request = {key: value for key, value in entry["request"].items() if key != "httpVersion"}
    request["headers"] = sorted(request["headers"], key=lambda item: item["name"].lower())
    return {
        "group": log["group"], "clientIPAddress": log["clientIPAddress"],
        "development": log["development"], "request": request,
        "status": entry["response"]["status"],
        "response text": entry["response"]["content"].get("text"),
    }


@pytest.fixture(scope="module")
def logs_by_entry_point() -> dict[str, dict[str, Any]]:
    """Every call of :data:`CALLS` (and an OPTIONS and an anonymous one) through every
    entry point: {entry point: {call: (logs, the answer's headers)}}."""
    found: dict[str, dict[str, Any]] = {}
    for param in ENTRY_POINTS:
        make: Any = param.values[0]
        entry_point = str(param.id)
        collector = Collector().start()
        try:
            config = MetricsApiConfig(
                api_key=API_KEY, grouping_function=grouping, metrics_api=collector.url,
                buffer_length=1, background_worker_mode=False, timeout=INLINE_TIMEOUT,
                base_log_url="https://docs.example.com",
                denylist=["user.password", "password"])
            wrapped, send = make(config)
            calls = {**CALLS, "options": Call("OPTIONS"),
                     "anonymous": Call(headers={"X-Anonymous": "1"})}
            try:
                for name, call in calls.items():
                    before = len(collector.logs)
                    answer = send(Call(call.method, call.path, call.query,
                                       dict(call.headers), call.body))
                    assert wrapped.flush(10) is True
                    found.setdefault(entry_point, {})[name] = (collector.logs[before:], answer)
            finally:
                wrapped.close()
        finally:
            collector.stop()
    return found


@pytest.mark.parametrize("name", list(CALLS))
@pytest.mark.parametrize("entry_point", [param.id for param in ENTRY_POINTS if param.id != "wsgi"])
def test_every_entry_point_logs_an_exchange_as_the_wsgi_middleware_does(
        logs_by_entry_point: dict[str, Any], entry_point: str, name: str) -> None:
    wsgi_logs, wsgi_answer = logs_by_entry_point["wsgi"][name]
    logs, answer = logs_by_entry_point[entry_point][name]
    assert answer[":status"] == wsgi_answer[":status"] == "200"
    assert len(logs) == len(wsgi_logs) == 1
    assert _shared_part(logs[0]) == _shared_part(wsgi_logs[0])
    assert answer["x-documentation-url"] == f"https://docs.example.com/logs/{logs[0]['_id']}"


@pytest.mark.parametrize("entry_point", [param.id for param in ENTRY_POINTS])
def test_what_every_entry_point_logs_is_what_spec_4_and_6_say(
        logs_by_entry_point: dict[str, Any], entry_point: str) -> None:
    found = logs_by_entry_point[entry_point]

    def request(name: str) -> dict[str, Any]:
        [log] = found[name][0]
        assert log["group"] == {"id": spec_mask(CALLER), "label": "Owlbert",
                                "email": "owlbert@example.com"}
        assert CALLER not in json.dumps(log)  # SPEC 6: never in clear
        return log["request"]["log"]["entries"][0]["request"]

    def pairs(items: list[dict[str, str]]) -> list[tuple[str, str]]:
        return [(item["name"], item["value"]) for item in items]

    sent = request("json")
    assert pairs(sent["queryString"]) == [("a", "1 2"), ("b", ""), ("api_key", spec_mask(CALLER))]
    assert pairs(sent["cookies"])[1] == ("k", spec_mask(CALLER))
    headers = {item["name"].lower(): item["value"] for item in sent["headers"]}
    assert headers["x-api-key"] == spec_mask(CALLER)
    assert headers["authorization"] == spec_mask("Bearer abcdefgh")
    assert json.loads(sent["postData"]["text"]) == {
        "user": {"password": "[REDACTED 2]", "name": "ann"}, "password": "[REDACTED 1]",
        "k": spec_mask(CALLER)}

    form = request("form")["postData"]
    assert "text" not in form
    assert pairs(form["params"]) == [("a", "1"), ("b", "x y"), ("a", ""),
                                     ("key", spec_mask(CALLER)), ("password", "[REDACTED 1]")]

    parts = request("multipart")["postData"]["params"]
    assert parts == [
        {"name": "picture", "fileName": "a.png", "contentType": "image/png",
         "value": "data:image/png;name=a.png;base64," + base64.b64encode(PNG).decode()},
        {"name": "key", "value": spec_mask(CALLER)}]

    assert request("binary")["postData"] == {"mimeType": "application/octet-stream",
                                             "text": "AAH/", "comment": "base64"}
    assert request("no-type")["postData"] == {"mimeType": "text/plain", "text": "plain text"}
    query = request("query")
    assert "postData" not in query and query["bodySize"] == 0
    assert query["url"] == "http://api.example.com/items?x=%20y&z&w=a+b"
    assert pairs(query["queryString"]) == [("x", " y"), ("z", ""), ("w", "a b")]

    # SPEC 5: not logged (OPTIONS by default; the grouping function's None), no header.
    for name in ("options", "anonymous"):
        logs, answer = found[name]
        assert logs == [] and "x-documentation-url" not in answer
