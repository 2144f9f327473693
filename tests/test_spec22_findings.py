"""spec22's items (SPEC read line by line, black-box, as an outside suite would): each test
failed on main at dc6a179 and passes with its fix, under real parts (the public
middleware, the collector on 127.0.0.1)."""

from __future__ import annotations

import json
from typing import Any, Optional

import pytest

from tests.support.contract import exchange, reading_app
from tests.support.fake_api import Collector

# -- SPEC 6: a byte order mark before a denied name ----------------------------------------

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize(("query", "body", "headers"), [
    # A form saved by Notepad or PowerShell 5 (UTF-8 with a BOM) and posted as it is:
    # `curl --data-binary @login.txt`. Django, webob and werkzeug read the first name as
    # "\ufeffpassword", and the denylist's "password" matched nothing: the password
    # went out in clear.
    pytest.param("", b"\xef\xbb\xbfpassword=hunter2&x=1", FORM, id="form-body"),
    # The same file sent as the query (`curl -G --data-binary @login.txt`), raw or
    # percent-encoded; WSGI gives the raw bytes as latin-1 text.
    pytest.param("\xef\xbb\xbfpassword=hunter2&x=1", b"", None, id="query-raw"),
    pytest.param("%EF%BB%BFpassword=hunter2&x=1", b"", None, id="query-percent-encoded"),
])
def test_a_byte_order_mark_before_a_denied_name_does_not_hide_it(
        inline_wrap: Any, collector: Collector, query: str, body: bytes,
        headers: Optional[dict[str, str]]) -> None:
    """SPEC 6: "denylist/allowlist entries match keys case-insensitively in ... query
    parameters (in queryString and in the query part of url ...), ... form and multipart
    fields". The mark is no part of a name (it is how a file says its encoding): the name
    is still logged as received, and matched without it."""
    app = reading_app()
    middleware = inline_wrap(app, denylist=["password"])
    _result, log, entry = exchange(middleware, collector, method="POST" if body else "GET",
                                   path="/login", query=query, body=body, headers=headers)
    assert app.seen["body"] == body  # the app's own reading is untouched
    assert "hunter2" not in json.dumps(log)
    request = entry["request"]
    pairs = request["postData"]["params"] if body else request["queryString"]
    assert pairs == [{"name": "\ufeffpassword", "value": "[REDACTED 7]"},
                     {"name": "x", "value": "1"}]


def test_a_json_key_beginning_with_a_byte_order_mark_is_still_denied(
        inline_wrap: Any, collector: Collector) -> None:
    """JSON "at any depth": rows converted from a CSV file saved with a BOM (Excel's
    "CSV UTF-8") carry it at the start of their first column's name."""
    body = json.dumps([{"\ufeffpassword": "hunter2", "x": "1"}], ensure_ascii=False).encode()
    middleware = inline_wrap(reading_app(), denylist=["password"])
    _result, log, entry = exchange(middleware, collector, method="POST", path="/import",
                                   body=body, headers={"Content-Type": "application/json"})
    assert "hunter2" not in json.dumps(log)
    assert json.loads(entry["request"]["postData"]["text"]) == [
        {"\ufeffpassword": "[REDACTED 7]", "x": "1"}]


# -- SPEC 6: a JSON Patch names its keys in pointers ----------------------------------------


def test_a_json_patch_setting_a_denied_key_is_redacted(
        inline_wrap: Any, collector: Collector) -> None:
    """JSON "at any depth": a JSON Patch (RFC 6902, `PATCH /users/1` changing a password,
    as Kubernetes, Azure and many admin APIs take it) names the key it sets in its
    ``path`` pointer, and the secret is its ``value``: the denylist's "password" matched
    no key, and the new password went out in clear. A pointer is read as the key path it
    names (``~1`` is ``/``, array indexes looked through, as for dotted entries)."""
    patch = [
        {"op": "test", "path": "/password", "value": "old-secret"},
        {"op": "replace", "path": "/Password", "value": "new-secret"},
        {"op": "add", "path": "/user/pin", "value": "4321"},
        {"op": "add", "path": "/keys/0/pass~1word", "value": {"v": 1}},
        {"op": "replace", "path": "/email", "value": "e@example.com"},
        {"op": "remove", "path": "/password"},
        {"op": "copy", "from": "/password", "path": "/backup"},
    ]
    body = json.dumps(patch).encode()
    middleware = inline_wrap(reading_app(), denylist=["password", "user.pin", "pass/word"])
    _result, log, entry = exchange(middleware, collector, method="PATCH", path="/users/1",
                                   body=body,
                                   headers={"Content-Type": "application/json-patch+json"})
    sent = json.dumps(log)
    assert not any(secret in sent for secret in ("old-secret", "new-secret", "4321"))
    assert json.loads(entry["request"]["postData"]["text"]) == [
        {"op": "test", "path": "/password", "value": "[REDACTED 10]"},
        {"op": "replace", "path": "/Password", "value": "[REDACTED 10]"},
        {"op": "add", "path": "/user/pin", "value": "[REDACTED 4]"},
        {"op": "add", "path": "/keys/0/pass~1word", "value": "[REDACTED]"},
        {"op": "replace", "path": "/email", "value": "e@example.com"},
        {"op": "remove", "path": "/password"},
        {"op": "copy", "from": "/password", "path": "/backup"},
    ]


# -- review46: a key named by a name/value (or key/value) pair ---------------------------------

@pytest.mark.parametrize("document", [
    # jQuery's serializeArray() of a Rails form, posted as JSON.
    pytest.param([{"name": "user[login]", "value": "zoe"},
                  {"name": "user[password]", "value": "s3cret"}], id="serialize-array"),
    # A Kubernetes container's env (also ECS task definitions, HAR's own headers).
    pytest.param({"spec": {"containers": [{"env": [
        {"name": "LOG_LEVEL", "value": "debug"},
        {"name": "PASSWORD", "value": "s3cret"}]}]}}, id="kubernetes-env"),
    # .NET's KeyValuePair list, PascalCase.
    pytest.param([{"Key": "Password", "Value": "s3cret"}], id="dotnet-key-value"),
    # Joi's validation error echoing the rejected value (its context's key and value).
    pytest.param({"details": [{"message": "too short", "path": ["password"],
                               "type": "string.min", "context": {
                                   "limit": 8, "value": "s3cret", "label": "password",
                                   "key": "password"}}]}, id="joi-error-context"),
])
def test_a_name_value_pair_naming_a_denied_key_has_its_value_redacted(
        inline_wrap: Any, collector: Collector, document: Any) -> None:
    """SPEC 6 matches keys "in JSON bodies at any depth"; a list of name/value pairs
    names its keys in values (``{"name": "password", "value": ...}``: jQuery's
    serializeArray, a Kubernetes env, HAR's own headers; ``Key``/``Value`` from .NET), so
    the denylist's "password" matched nothing and the password went out in clear. The
    pair's name is read as a flat name (bracketed, case-folded); other pairs are kept."""
    middleware = inline_wrap(reading_app(), denylist=["password"])
    _result, log, entry = exchange(middleware, collector, method="POST", path="/deploy",
                                   body=json.dumps(document).encode(),
                                   headers={"Content-Type": "application/json"})
    assert "s3cret" not in json.dumps(log)
    logged = json.dumps(json.loads(entry["request"]["postData"]["text"]))
    assert logged == json.dumps(document).replace('"s3cret"', '"[REDACTED 6]"')
