"""review52's items (an adversarial review of the redaction rules review45/46/49/50 and
leaks11 landed): near variants of those rules that still sent a denied value in clear,
and ordinary data they must keep. Each leak test failed on main at dc108ce and passes
with its fix, through the public middleware and the collector on 127.0.0.1."""

from __future__ import annotations

import json
from typing import Any, Callable
from urllib.parse import quote

import pytest

from readme_metrics import MetricsMiddleware
from tests.support.contract import exchange, reading_app
from tests.support.fake_api import Collector
from tests.support.leaks import found_spelled

SECRET = "review52-denied-secret"
HIDDEN = f"[REDACTED {len(SECRET)}]"


def _logged(collector: Collector, wrap: Callable[..., MetricsMiddleware], body: bytes = b"",
            content_type: str = "application/json", query: str = "",
            answer: bytes = b"ok", answer_type: str = "text/plain"
            ) -> tuple[list[str], dict[str, Any]]:
    """(where the posted batch still spells SECRET, the logged HAR entry) for one POST
    of ``body`` with ``query``, answered ``answer``; denylist ["password"]."""
    before = len(collector.received)
    request: dict[str, Any] = {"method": "POST", "body": body,
                               "headers": {"Content-Type": content_type}}
    if query:
        request["query"] = query
    app = reading_app(status="400 Bad Request", headers=[("Content-Type", answer_type)],
                      body=[answer])
    _, _, entry = exchange(wrap(app, denylist=["password"]), collector, **request)
    bodies = [r.body for r in collector.received[before:] if r.path == "/v1/request"]
    return found_spelled(bodies, SECRET), entry


# -- 1. Objects naming their key in another member, in the spellings left over --------------

# _operation looked for "value"/"Value" and "name"/"Name", "key"/"Key", "path"/"Path",
# "op"/"Op": capitals (a C# or Go client's NAME/VALUE, SCIM's case-insensitive OP/PATH),
# a "values" list beside the name (an AWS filter's), Spring's FieldError echoing the
# rejected value in its 400 answer, and a name that is not denied beside a key that is
# went out in clear; so did a pair in an array of pairs (Object.entries, URLSearchParams'
# init, Python's dict items).
NAMED = {
    "name-value-in-capitals": {"NAME": "password", "VALUE": SECRET},
    "key-value-in-capitals": [{"KEY": "user", "VALUE": "zoe"},
                              {"KEY": "password", "VALUE": SECRET}],
    "scim-operation-in-capitals": {"Operations": [
        {"OP": "replace", "PATH": "password", "VALUE": SECRET}]},
    "values-beside-name": {"Filters": [{"Name": "password", "Values": [SECRET]}]},
    "values-beside-name-lower-case": [{"name": "password", "values": [SECRET, "x"]}],
    "denied-key-beside-a-name": {"name": "Login", "key": "password", "value": SECRET},
    "array-of-pairs": [["user", "zoe"], ["password", SECRET]],
    "array-of-pairs-in-a-member": {"entries": [["PASSWORD", SECRET]]},
}


@pytest.mark.parametrize("case", list(NAMED))
def test_a_value_named_by_another_member_in_these_spellings_is_redacted(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        case: str) -> None:
    hits, entry = _logged(collector, inline_wrap, json.dumps(NAMED[case]).encode())
    assert hits == []
    assert "[REDACTED" in entry["request"]["postData"]["text"]


SPRING_400 = {"timestamp": "2026-12-03T15:00:00.000+00:00", "status": 400,
              "error": "Bad Request", "path": "/users", "errors": [
                  {"codes": ["Size.user.password", "Size"], "defaultMessage": "size must be"
                   " between 12 and 64", "objectName": "user", "field": "password",
                   "rejectedValue": SECRET, "bindingFailure": False, "code": "Size"},
                  {"objectName": "user", "field": "account.password",
                   "rejectedValue": SECRET, "code": "Pattern"},
                  {"objectName": "user", "field": "email", "rejectedValue": "zoe@x",
                   "code": "Email"}]}


def test_spring_s_400_answer_echoing_a_denied_field_s_rejected_value_is_redacted(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    hits, entry = _logged(collector, inline_wrap, b'{"password": "x"}',
                          answer=json.dumps(SPRING_400).encode(),
                          answer_type="application/json")
    assert hits == []
    errors = json.loads(entry["response"]["content"]["text"])["errors"]
    assert [error["rejectedValue"] for error in errors] == [HIDDEN, HIDDEN, "zoe@x"]
    # The rest of the answer as sent.
    assert errors[0]["field"] == "password" and errors[0]["code"] == "Size"


# Ordinary data with these members whose name no list names, or that is no pair of an
# array of pairs, is kept as sent.
KEPT = [
    {"NAME": "zoe", "VALUE": 3, "values": [1, 2]},
    {"field": "email", "rejectedValue": "zoe@x"},
    {"field": "/password", "value": "a route's figure"},
    # (A row naming it with more after the value, ["password", "x", "y"], is a pair since
    # redact13: tests/test_redaction_pairs.py; one with no value is none.)
    [["user", "zoe"], ["password-hint", "the cat"], ["password"]],
    {"tags": ["password", "reset"]},
    {"name": "password", "label": "Password", "type": "password"},
]


@pytest.mark.parametrize("document", KEPT, ids=range(len(KEPT)))
def test_ordinary_data_with_such_members_is_kept(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        document: Any) -> None:
    text = json.dumps(document)
    _, entry = _logged(collector, inline_wrap, text.encode())
    assert entry["request"]["postData"]["text"] == text


# -- 2. A URL or form in a query or form value, holding a "#" or ";" ---------------------

# leaks11's rule (a value no list names holding a URL, a form or a JSON document that
# names a denied key is read) passed by a value holding a "#" or ";" raw or encoded: a
# redirect URL with a fragment (next=https%3A...%3Fpassword%3D...%23top), a ";" in its
# path, a "#fff" colour in a form, went out in clear. So did a URL sent unencoded in a
# value (next=https://x/cb?password=...), whose "=" was read as the value's text.
NESTED = {
    "url-then-fragment": "next=" + quote(f"https://x.example/cb?password={SECRET}#top",
                                         safe=""),
    "pair-in-the-url-s-fragment": "next=" + quote(
        f"https://x.example/cb?a=1#password={SECRET}", safe=""),
    "semicolon-in-the-url-s-path": "next=" + quote(
        f"https://x.example/cb;v=1?password={SECRET}", safe=""),
    "semicolon-in-another-value": "next=" + quote(
        f"https://x.example/cb?a=1;2&password={SECRET}", safe=""),
    "hash-in-a-form-s-value": "data=" + quote(f"color=#fff&password={SECRET}", safe=""),
    "raw-semicolon-after-the-value": "next=" + quote(
        f"https://x.example/cb?password={SECRET}", safe="") + ";v=1",
    "url-sent-unencoded": f"next=https://x.example/cb?password={SECRET}",
    # A denied name after a "#" or ";" in the pair's name, its value holding a form
    # naming one too: leaks11's rule redacted the nested form's password and kept the
    # value as sent, which query_values then never read as the fragment's pair.
    "hash-in-the-name": f"a#password={SECRET}%26password%3Dx",
    "encoded-hash-in-the-name": f"a%23password={SECRET}%26password%3Dx",
    "semicolon-in-the-name": f"a;password={SECRET}%26password%3Dx",
}


@pytest.mark.parametrize("case", list(NESTED))
@pytest.mark.parametrize("carrier", ["query", "form"])
def test_a_url_or_form_in_a_value_holding_a_hash_or_semicolon_is_redacted(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        case: str, carrier: str) -> None:
    if carrier == "query":
        hits, entry = _logged(collector, inline_wrap, query=NESTED[case])
    else:
        hits, entry = _logged(collector, inline_wrap, NESTED[case].encode(),
                              "application/x-www-form-urlencoded")
    assert hits == []
    assert "REDACTED" in json.dumps(entry["request"])


def test_such_a_url_keeps_its_other_text(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    _, entry = _logged(collector, inline_wrap,
                       query=NESTED["url-then-fragment"] + "&raw=https://x.example/cb?"
                       f"a=1&password={SECRET}&q=what?+x")
    (next_, raw, password, q) = entry["request"]["queryString"]
    assert next_ == {"name": "next", "value":
                     "https://x.example/cb?password=%5BREDACTED%2022%5D#top"}
    # A URL sent unencoded keeps its text (its "&" ends it, as a server reads it).
    assert raw == {"name": "raw", "value": "https://x.example/cb?a=1"}
    assert password == {"name": "password", "value": HIDDEN}
    assert q == {"name": "q", "value": "what? x"}


def _multipart(name: str, value: str) -> bytes:
    return (f'--b\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            "--b--\r\n").encode()


# The same forms in a JSON string, a multipart field and a Referer's query, which read
# them as a query's (Redactor.linked): a "%23" or "%3B" in a value was left unread there.
CARRIED = ["url-then-fragment", "pair-in-the-url-s-fragment", "hash-in-a-form-s-value",
           "semicolon-in-the-url-s-path"]


@pytest.mark.parametrize("case", CARRIED)
@pytest.mark.parametrize("carrier", ["json-string", "multipart-field", "referer"])
def test_such_a_form_in_a_json_string_a_multipart_field_or_a_referer_is_redacted(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        case: str, carrier: str) -> None:
    form = NESTED[case]
    if carrier == "json-string":
        hits, entry = _logged(collector, inline_wrap, json.dumps({"d": form}).encode())
    elif carrier == "multipart-field":
        hits, entry = _logged(collector, inline_wrap, _multipart("d", form),
                              "multipart/form-data; boundary=b")
    else:
        before = len(collector.received)
        _, _, entry = exchange(inline_wrap(reading_app(), denylist=["password"]), collector,
                               headers={"Referer": "https://app.example/login?" + form})
        bodies = [r.body for r in collector.received[before:] if r.path == "/v1/request"]
        hits = found_spelled(bodies, SECRET)
    assert hits == []
    assert "REDACTED" in json.dumps(entry["request"])


# -- 3. A form in UTF-16/32 whose first characters are beyond ASCII ----------------------

# review45 tells UTF-16/32 by a byte order mark or the NULs of the first characters, as
# json.loads does: "名前=山田&password=..." in UTF-16 without either holds no NUL there,
# so it was read as bytes, its pairs' names NUL-spaced ("\0p\0a..."), which no name
# matched: the password went out NUL-spaced, which a reader of the log reads.
@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le"])
def test_a_form_in_utf16_or_32_starting_beyond_ascii_does_not_send_a_denied_value(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        codec: str) -> None:
    body = f"名前=山田&password={SECRET}".encode(codec)
    hits, entry = _logged(collector, inline_wrap, body, "application/x-www-form-urlencoded")
    assert hits == []
    assert entry["request"]["postData"]["text"] == "[REDACTED]"


def test_such_a_form_naming_no_denied_key_is_logged_as_before(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    body = "名前=山田&city=Kyoto".encode("utf-16-le")
    _, entry = _logged(collector, inline_wrap, body, "application/x-www-form-urlencoded")
    assert "REDACTED" not in json.dumps(entry["request"]["postData"])
