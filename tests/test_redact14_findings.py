"""redact14: name/value pairs paired by position, more pair spellings, values encoded
any number of times.

* Over-redaction: a form's (query's, multipart body's) name/value pairs were paired by
  object only, so ``name[]=a&value[]=b&name[]=password&value[]=s`` hid ``b`` too (every
  ``value[]`` of the form); so did plain repeated ``name=..&value=..`` and Rails'
  ``env[][name]``. They pair by position now (by index where each field has one).
* Leaks: an indexed pair (``name[0]=password&value[0]=...``, AWS's ``Filter.1.Value.1``),
  the spellings ``field``/``property``/``parameterName``/``k`` for the name and ``val``/
  ``v`` for the value (``key=password&val=...``, ``k=password&v=...``, JSON too), and a
  value whose letters are percent-encoded three times or more (``next=`` a form quoted
  once per level: the app decodes it as often) went out in clear; in a JSON body, once
  was enough (a string holding no raw ``=``, ``?`` or ``#`` was not looked into). An XML
  body (SOAP's WS-Security ``<wsse:Password>``) was never redacted by the denylist, nor a
  text/plain body holding a form (``fetch`` sends a string so), a pair split between the
  query and the body (``POST /?name=password`` and ``value=...``), nor a form in a JSON
  string (an API Gateway event's ``"body"``) whose denied value held a raw ``?`` or ``#``.

Each case goes through the WSGI middleware to the collector on 127.0.0.1, as
tests/test_redaction_pairs.py's; every LEAKS case spelled the secret in the posted batch
on main at 18ad0b3, and every PAIRED case hid more than its own value there.
"""

from __future__ import annotations

import json
from typing import Any, Callable
from urllib.parse import quote

import pytest

from readme_metrics import MetricsMiddleware
from readme_metrics.har.redaction import Redactor
from readme_metrics.har.redaction_pairs import field_member, pairs_with
from readme_metrics.har.redaction_xml import xml_redacted
from tests.support.fake_api import Collector
from tests.test_redaction_pairs import SECRET, _form, _json, _logged, _multipart

S = SECRET
DENY = {"denylist": ["password", "token"]}


def _typed(content_type: str, text: str) -> dict[str, Any]:
    return {"method": "POST", "body": text.encode(), "headers": {"Content-Type": content_type}}


def _encoded(times: int) -> str:
    """``a=1&password=S`` with the name's letters percent-encoded, then quoted ``times``
    times more (the app decodes it so)."""
    value = "a=1&" + "".join(f"%{byte:02X}" for byte in b"password") + f"={S}"
    for _ in range(times):
        value = quote(value, safe="")
    return value


PAIRS_IN_FIELDS = {
    "indexed": f"name[0]=password&value[0]={S}",
    "indexed, out of order": f"name[1]=password&name[0]=a&value[0]=b&value[1]={S}",
    "AWS filter": f"Filter.1.Name=password&Filter.1.Value.1={S}",
    "field/value": f"field=password&value={S}",
    "property/value": f"property=password&value={S}",
    "key/val": f"key=password&val={S}",
    "k/v": f"k=password&v={S}",
    "RDS parameter": (f"Parameters.member.1.ParameterName=password"
                      f"&Parameters.member.1.ParameterValue={S}"),
}
LEAKS: list[Any] = [
    *(pytest.param(_form(text), id=f"form {label}") for label, text in PAIRS_IN_FIELDS.items()),
    *(pytest.param({"query": text}, id=f"query {label}")
      for label, text in PAIRS_IN_FIELDS.items()),
    pytest.param(_multipart(("name[0]", "password"), ("value[0]", S)), id="multipart indexed"),
    pytest.param(_multipart(("key", "password"), ("val", S)), id="multipart key/val"),
    pytest.param(_json({"key": "password", "val": S}), id="json key/val"),
    pytest.param(_json({"tags": [{"k": "password", "v": S}]}), id="json k/v"),
    *(pytest.param(_form(f"next={_encoded(times)}"), id=f"form encoded {times} times")
      for times in (3, 4, 6)),
    *(pytest.param({"query": f"next={_encoded(times)}"}, id=f"query encoded {times} times")
      for times in (3, 5)),
    *(pytest.param(_json({"next": _encoded(times)}), id=f"json encoded {times} times")
      for times in (1, 3, 5)),
    pytest.param(_multipart(("next", _encoded(4))), id="multipart encoded 4 times"),
    pytest.param(_typed("application/xml", f"<login><user>a</user><password>{S}</password>"
                        "</login>"), id="xml element"),
    pytest.param(_typed("text/xml", f"<login user='a' Password=\"{S}\"/>"),
                 id="xml attribute"),
    pytest.param(_typed("application/soap+xml; charset=utf-8", (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header>'
        "<wsse:Security><wsse:UsernameToken><wsse:Username>zoe</wsse:Username>"
        f'<wsse:Password Type="#PasswordText">{S}</wsse:Password></wsse:UsernameToken>'
        "</wsse:Security></s:Header><s:Body/></s:Envelope>")), id="SOAP WS-Security"),
    pytest.param(_typed("application/xml", f"<a><token><![CDATA[{S}"), id="xml cut short"),
    pytest.param(_typed("text/plain;charset=UTF-8", f"user=zoe&password={S}"),
                 id="text/plain form (fetch of a string)"),
    pytest.param(_typed("text/plain", f"user=zoe\r\npassword={S}\r\n"),
                 id="text/plain HTML form"),
    pytest.param(_typed("text/plain", f"user=zoe&password={S}?#1"),
                 id="text/plain form, a value holding ? and #"),
    # (An API Gateway event's form body, as a client wrote it: a raw "?" or "#" in the
    # value made the string read as a URL, whose query held no denied name.)
    pytest.param(_json({"body": f"user=zoe&password={S}?1"}), id="json form, a value with ?"),
    pytest.param(_json({"body": f"password={S}#1"}), id="json form, a value with #"),
]


@pytest.mark.parametrize("request_", LEAKS)
def test_a_pair_or_a_value_encoded_deep_never_reaches_the_collector(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        request_: dict[str, Any]) -> None:
    hits, entry = _logged(collector, inline_wrap, request_, **DENY)
    assert hits == []
    assert "REDACTED" in json.dumps(entry["request"])


HIDDEN = f"[REDACTED {len(S)}]"
#: Fields paired by position: only the value beside the denied name is hidden.
PAIRED = {
    "PHP lists": [("name[]", "a"), ("value[]", "b"), ("name[]", "password"), ("value[]", S)],
    "repeated plain": [("name", "a"), ("value", "b"), ("name", "password"), ("value", S)],
    "value first": [("value", "b"), ("name", "a"), ("value", S), ("name", "password")],
    "Rails array of hashes": [("env[][name]", "a"), ("env[][value]", "b"),
                              ("env[][name]", "password"), ("env[][value]", S)],
    "indexed": [("name[1]", "password"), ("value[1]", S), ("name[0]", "a"),
                ("value[0]", "b")],
}


#: A pair split between the query and the body (Flask's request.values, Rails' params,
#: PHP's $_REQUEST read them as one form).
SPLIT: list[Any] = [
    pytest.param({"query": "name=password", **_form(f"value={S}")}, id="name in the query"),
    pytest.param({"query": f"value={S}", **_form("name=password&plan=pro")},
                 id="value in the query"),
    pytest.param({"query": "key=token", **_multipart(("val", S))}, id="multipart body"),
    pytest.param({"query": "name[]=a&name[]=password",
                  **_form(f"value[]=b&value[]={S}")}, id="lists split"),
]


@pytest.mark.parametrize("request_", SPLIT)
def test_a_pair_split_between_query_and_body_never_reaches_the_collector(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        request_: dict[str, Any]) -> None:
    hits, entry = _logged(collector, inline_wrap, request_, **DENY)
    assert hits == []
    assert HIDDEN in json.dumps(entry["request"])
    # The url and queryString agree.
    request = entry["request"]
    assert ("value=%5BREDACTED" in request["url"]) is any(
        record["value"] == HIDDEN for record in request["queryString"])


def test_a_split_pair_naming_no_denied_key_is_kept(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    _, entry = _logged(collector, inline_wrap, {"query": "name=plan", **_form("value=pro")},
                       denylist=["password"])
    assert "REDACTED" not in json.dumps(entry["request"])


def _recorded(entry: dict[str, Any]) -> list[tuple[str, str]]:
    request = entry["request"]
    records = request["postData"]["params"] if "postData" in request else (
        request["queryString"])
    return [(record["name"], record["value"]) for record in records]


@pytest.mark.parametrize("place", ["form", "query", "multipart"])
@pytest.mark.parametrize("fields", list(PAIRED.values()), ids=list(PAIRED))
def test_pairs_are_paired_by_position(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        fields: list[tuple[str, str]], place: str) -> None:
    text = "&".join(f"{name}={value}" for name, value in fields)
    request = {"form": lambda: _form(text), "query": lambda: {"query": text},
               "multipart": lambda: _multipart(*fields)}[place]()
    hits, entry = _logged(collector, inline_wrap, request, denylist=["password"])
    assert hits == []
    assert _recorded(entry) == [(name, HIDDEN if value == S else value)
                                for name, value in fields]


#: Ordinary data: a pair naming no denied key, a "v" (an API version) beside a name.
KEPT: list[Any] = [
    pytest.param(_form("field=title&value=hello"), id="field naming no denied key"),
    pytest.param({"query": "name=password&v=2"}, id="a version beside a name"),
    pytest.param({"query": "key=password&v=2"}, id="a version beside a key"),
    pytest.param(_json({"name": "password", "v": 2}), id="json version beside a name"),
    pytest.param(_json({"k": "sort", "value": "password"}), id="json k beside a value"),
    pytest.param(_form("next=" + quote(quote(quote("page=2", safe=""), safe=""), safe="")),
                 id="encoded three times, no key"),
    pytest.param(_typed("application/xml", "<field><name>password</name><type>secret</type>"
                        "</field>"), id="xml naming a key in its text"),
    pytest.param(_typed("text/plain", "name=password\nhint=the password is long"),
                 id="text/plain naming a key in values"),
]


@pytest.mark.parametrize("request_", KEPT)
def test_ordinary_data_is_kept(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        request_: dict[str, Any]) -> None:
    _, entry = _logged(collector, inline_wrap, request_, denylist=["password"])
    assert "REDACTED" not in json.dumps(entry["request"])


def test_fields_in_another_order_hide_every_value_of_a_denied_name() -> None:
    """Names first, then values: PHP pairs them by position, Rails' array of hashes the
    second name with the first value; nothing says which is its own, so both go."""
    redactor = Redactor(denylist=["password"])
    assert redactor.query_string("name[]=a&name[]=password&value[]=b&value[]=s") == (
        "name[]=a&name[]=password&value[]=%5BREDACTED%201%5D&value[]=%5BREDACTED%201%5D")
    # One name, a list of values (an attribute's): all of them.
    assert redactor.query_string("a[attribute]=password&a[values][]=s&a[values][]=t") == (
        "a[attribute]=password&a[values][]=%5BREDACTED%201%5D&a[values][]=%5BREDACTED%201%5D")
    # A name, its value, then a name alone: PHP's last name meets the only value.
    assert redactor.query_string("name=a&value=s&name=password") == (
        "name=a&value=%5BREDACTED%201%5D&name=password")


@pytest.mark.parametrize(("name", "expected"), [
    ("name", ("", "name", None)),
    ("name[]", ("", "name", None)),
    ("name[3]", ("", "name", "3")),
    ("env[0][value]", ("env[0]", "value", None)),
    ("env[][name]", ("env[]", "name", None)),
    ("env[0].name", ("env[0]", "name", None)),
    ("filter.1.value.2", ("filter.1", "value", "2")),
    ("a[values][]", ("a", "values", None)),
])
def test_field_member(name: str, expected: tuple[str, str, Any]) -> None:
    assert field_member(name) == expected


@pytest.mark.parametrize(("name", "value", "pairs"), [
    ("name", "value", True), ("key", "val", True), ("k", "v", True),
    ("name", "v", False), ("k", "value", False), ("field", "values", True),
])
def test_pairs_with(name: str, value: str, pairs: bool) -> None:
    assert pairs_with(name, value) is pairs


def test_a_value_encoded_past_every_decoding_is_hidden_whole() -> None:
    """Decoding stops at MAX_DECODINGS; a value still decoding then could hide a name."""
    from readme_metrics.har.redaction import MAX_DECODINGS

    redactor = Redactor(denylist=["password"])
    deep = _encoded(MAX_DECODINGS + 4)
    assert S not in redactor.query_string(f"next={deep}")
    assert redactor.query_string("next=a%2Fb&page=2") == "next=a%2Fb&page=2"


@pytest.mark.parametrize(("text", "expected"), [
    ("<password>s</password>", "<password>[REDACTED 1]</password>"),
    ("<a:PASSWORD x='1'>s<b/></a:PASSWORD><password/>",
     "<a:PASSWORD x='1'>[REDACTED 5]</a:PASSWORD><password/>"),
    ("<login password = 'ab' user=\"password\">", "<login password = '[REDACTED 2]' "
     "user=\"password\">"),
    ("<?xml version='1.0'?><!-- password --><user>zoe</user>",
     "<?xml version='1.0'?><!-- password --><user>zoe</user>"),
    ("<password>unclosed", "<password>[REDACTED 8]"),
])
def test_xml_redacted(text: str, expected: str) -> None:
    assert xml_redacted(text, Redactor(denylist=["password"]).denies) == expected
