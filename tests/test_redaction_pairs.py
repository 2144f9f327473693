"""redact13: name/value pairs and values encoded twice, in every place SPEC 6 reads keys.

A JSON object ``{"name": "password", "value": ...}`` had its value redacted (jQuery's
serializeArray, a Kubernetes env); the same pair sent as form or query fields
(``env[0][name]=password&env[0][value]=...``, ``name=password&value=...``), with its
members spelled otherwise (``nAme``, ``label``, ``attribute``, CloudFormation's
``ParameterKey``/``ParameterValue``) or as a row with more after the value
(``["password", "s", "meta"]``) went out in clear; so did a form value percent-encoded
twice (``next=a%253D1%2526password%253D...``), which the app decodes once more, and a
value starting with an escape (a relative redirect, ``next=%2Fcb%3Fpassword%3D...``).
Each case goes through the WSGI middleware to the collector on 127.0.0.1; every LEAKS
case spelled the secret in the posted batch on main at eef6b66.

Decisions (README, What is sent): a form with a naming field and no value field (a
sign-up's ``name=password``) keeps everything; a URL's path is no key: a secret in a
path segment (``/reset/password/<token>``) is not redacted.
"""

from __future__ import annotations

import json
from typing import Any, Callable
from urllib.parse import quote

import pytest

from readme_metrics import MetricsMiddleware
from tests.support.contract import exchange, reading_app
from tests.support.fake_api import Collector
from tests.support.leaks import found_spelled

SECRET = "Qz9redact13Secret"
S = SECRET
FORM = "application/x-www-form-urlencoded"


def _parts(*parts: tuple[str, str]) -> dict[str, Any]:
    """A multipart request of ``(Content-Disposition parameters, value)`` parts."""
    body = b"".join(
        f"--XyZ\r\nContent-Disposition: form-data; {disposition}\r\n\r\n{value}\r\n".encode()
        for disposition, value in parts) + b"--XyZ--\r\n"
    return {"method": "POST", "body": body,
            "headers": {"Content-Type": "multipart/form-data; boundary=XyZ"}}


def _multipart(*fields: tuple[str, str]) -> dict[str, Any]:
    """A multipart request of ``(name, value)`` fields."""
    return _parts(*((f'name="{name}"', value) for name, value in fields))


def _form(text: str) -> dict[str, Any]:
    return {"method": "POST", "body": text.encode(), "headers": {"Content-Type": FORM}}


def _json(document: Any) -> dict[str, Any]:
    return {"method": "POST", "body": json.dumps(document).encode(),
            "headers": {"Content-Type": "application/json"}}


#: One rule per shape; each payload in each place it can be sent.
PAIRS_IN_FIELDS = {
    "bracketed name/value": f"env[0][name]=password&env[0][value]={S}",
    "bracketed key/value": f"params[0][key]=token&params[0][value]={S}",
    "flat name/value": f"name=password&value={S}",
    "flat, value first": f"value={S}&name=password",
    "member case": f"nAme=PassWord&vAlue={S}",
    "dotted (Spring)": f"env[0].name=password&env[0].value={S}",
    "label": f"opt[label]=password&opt[value]={S}",
    "attribute": f"a[attribute]=password&a[values][]={S}",
    "ParameterKey": f"P[0][ParameterKey]=password&P[0][ParameterValue]={S}",
    "names encoded": f"env%5B0%5D%5Bn%61me%5D=pass%77ord&env%5B0%5D%5Bv%61lue%5D={S}",
    "after a semicolon": f"name=password;value={S}",
}
ENCODED_VALUES = {
    "form encoded twice": f"next=a%253D1%2526password%253D{S}",
    "relative URL": f"next=%2Fcb%3Fpassword%3D{S}",
    "URL encoded twice": f"next=%252Fcb%253Fpassword%253D{S}",
    "JSON encoded twice": "data=" + quote(quote(json.dumps({"password": S}), safe=""), safe=""),
}
LEAKS: list[Any] = [
    *(pytest.param(_form(text), id=f"form {label}") for label, text in PAIRS_IN_FIELDS.items()),
    *(pytest.param({"query": text}, id=f"query {label}")
      for label, text in PAIRS_IN_FIELDS.items()),
    *(pytest.param(_form(text), id=f"form {label}") for label, text in ENCODED_VALUES.items()),
    *(pytest.param({"query": text}, id=f"query {label}")
      for label, text in ENCODED_VALUES.items()),
    pytest.param(_multipart(("env[0][name]", "password"), ("env[0][value]", S)),
                 id="multipart bracketed name/value"),
    pytest.param(_multipart(("value", S), ("Name", "PASSWORD")), id="multipart flat"),
    pytest.param(_multipart(("next", f"a%3D1%26password%3D{S}")),
                 id="multipart form encoded once more"),
    pytest.param(_json({"nAme": "password", "vAlue": S}), id="json member case"),
    pytest.param(_json({"options": [{"label": "password", "value": S}]}), id="json label"),
    pytest.param(_json({"attribute": "password", "value": S}), id="json attribute"),
    pytest.param(_json({"Parameters": [{"ParameterKey": "password", "ParameterValue": S}]}),
                 id="json ParameterKey"),
    pytest.param(_json({"Name": "password", "Value": S}), id="json Name/Value"),
    pytest.param(_json({"name": "x", "NAME": "password", "value": S}),
                 id="json one of two names"),
    pytest.param(_json([["user", "zoe"], ["password", S, "meta"]]), id="json row of three"),
    pytest.param(_json({"next": f"a%3D1%26password%3D{S}"}), id="json form encoded"),
    pytest.param(_json({"next": f"%2Fcb%3Fpassword%3D{S}"}), id="json relative URL encoded"),
]


def _logged(collector: Collector, wrap: Callable[..., MetricsMiddleware],
            request: dict[str, Any], **lists: Any) -> tuple[list[str], dict[str, Any]]:
    before = len(collector.received)
    _, _, entry = exchange(wrap(reading_app(), **lists), collector, **request)
    bodies = [r.body for r in collector.received[before:] if r.path == "/v1/request"]
    return found_spelled(bodies, SECRET), entry


@pytest.mark.parametrize("request_", LEAKS)
@pytest.mark.parametrize("lists", [
    pytest.param({"denylist": ["password", "token"]}, id="deny"),
    pytest.param({"denylist": ["password", "token"], "allowlist": ["name", "value", "next"]},
                 id="deny+allow")])
def test_a_pair_naming_a_denied_key_never_reaches_the_collector(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        request_: dict[str, Any], lists: dict[str, Any]) -> None:
    hits, entry = _logged(collector, inline_wrap, request_, **lists)
    assert hits == []
    assert "REDACTED" in json.dumps(entry["request"])


def test_the_fields_around_a_pair_are_kept(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    body = (f"env[0][name]=password&env[0][value]={S}"
            "&env[1][name]=home&env[1][value]=%2Froot&name=Zoe")
    _, entry = _logged(collector, inline_wrap, _form(body), denylist=["password"])
    assert entry["request"]["postData"]["params"] == [
        {"name": "env[0][name]", "value": "password"},
        {"name": "env[0][value]", "value": f"[REDACTED {len(S)}]"},
        {"name": "env[1][name]", "value": "home"},
        {"name": "env[1][value]", "value": "/root"},
        {"name": "name", "value": "Zoe"},
    ]


#: Ordinary data with such members or escapes, naming no denied key as a pair: kept.
KEPT: list[Any] = [
    pytest.param(_form("name=password&email=zoe%40example.com&plan=pro"),
                 id="sign-up form: a name field alone"),
    pytest.param(_form("name=Zoe&value=42"), id="a pair naming no denied key"),
    pytest.param(_form("env[0][name]=password&env[1][value]=42"),
                 id="name and value of two objects"),
    pytest.param(_form("discount=100%25&next=%2Fhome%3Fpage%3D2"), id="escapes, no key"),
    pytest.param({"query": "next=a%253D1%2526page%253D2"}, id="query encoded twice, no key"),
    pytest.param(_json({"name": "password", "type": "password", "required": True}),
                 id="json schema field"),
    pytest.param(_json([["password"], ["email", "zoe@x"]]), id="json row with no value"),
    pytest.param(_json({"label": "Email", "value": "zoe@x", "next": "100%"}),
                 id="json option"),
    pytest.param({"path": f"/reset/password/{S}"}, id="path segment (no key)"),
]


@pytest.mark.parametrize("request_", KEPT)
def test_ordinary_data_is_kept(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        request_: dict[str, Any]) -> None:
    _, entry = _logged(collector, inline_wrap, request_, denylist=["password"])
    assert "REDACTED" not in json.dumps(entry["request"])


def test_only_a_pairs_values_are_decoded_to_pair_them() -> None:
    """secrets15: a form's other values are not decoded for the pairing (a form of 1,000
    fields and one denied pair: 52.5 M Ir on main, 24.6 M)."""
    from readme_metrics.har.percent import decode_component
    from readme_metrics.har.redaction import Redactor
    from readme_metrics.har.redaction_pairs import paired_values

    asked: list[str] = []

    def decode(value: str) -> str:
        asked.append(value)
        return decode_component(value)

    fields = [("title", "a%20b"), ("name", "password"), ("value", "s%33"), ("note", "x")]
    denies = Redactor(denylist=["password"]).denies
    assert paired_values(fields, denies, decode) == frozenset({("value", "s3")})
    assert asked == ["password", "s%33"]
