"""A denied value is redacted wherever the app's own parser reads it under a denied key
(SPEC 6), under both middlewares, and credential headers are masked however a client
spells their names.

The keyed data of a request is read twice: by the app's framework (werkzeug under Flask,
python-multipart and Starlette's parsers under FastAPI/Starlette) and by the library
(webob, its own form and JSON readers). Where the two read a name differently, a value
the app takes as ``token`` was logged under another name, in clear. Hypothesis spells
``token`` as clients may (any case, escapes that need none, a multipart name with quoted
pairs, blanks, RFC 2231, a name* beside a name), the request goes through the real
middleware (WSGI in front of Flask, ASGI in front of Starlette) to the real collector,
and whenever the app read the secret under a name the denylist names, the posted
batches must not spell it (raw, percent- or JSON-decoded, any case). With an allowlist
that lists none of those names, they must never spell it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Callable, Optional
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics import MetricsApiConfig
from readme_metrics.asgi import MetricsMiddleware as AsgiMiddleware
from tests import test_redaction_adversarial as adversarial
from tests.support.asgi import body_messages, http_scope, run
from tests.support.contract import API_KEY, exchange, inline_options
from tests.support.fake_api import Collector
from tests.support.har_check import assert_valid_log
from tests.support.leaks import found

KEY = "token"
_ALNUM = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

#: README's list of credential headers, masked always (SPEC 4 and 6).
README_CREDENTIAL_HEADERS = (
    "Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-Api-Key", "Api-Key",
    "ApiKey", "X-ApiKey", "X-Api-Token", "Api-Token", "X-Auth-Token", "Auth-Token",
    "X-Access-Token", "Access-Token", "X-Refresh-Token", "X-Session-Token", "X-CSRF-Token",
    "X-XSRF-Token", "X-Client-Secret", "Private-Token", "X-Goog-Api-Key",
    "X-Amz-Security-Token", "Ocp-Apim-Subscription-Key", "X-RapidAPI-Key",
    "X-Functions-Key", "X-Auth-Key", "X-Vault-Token", "X-Gitlab-Token",
    "X-Shopify-Access-Token", "X-Forwarded-Authorization", "X-Authorization",
    "X-Serverless-Authorization", "Cf-Access-Jwt-Assertion", "X-Goog-Iap-Jwt-Assertion",
    "X-Amzn-Oidc-Accesstoken", "X-Amzn-Oidc-Data", "X-Ms-Token-Aad-Access-Token",
    "X-Ms-Token-Aad-Id-Token", "X-Ms-Token-Aad-Refresh-Token", "X-Forwarded-Access-Token",
    "X-Auth-Request-Access-Token", "DPoP",
    # and the names the rule takes, as README gives them
    "X-Api-Secret", "Dd-Api-Key", "Dd-Application-Key", "X-Algolia-Api-Key",
    "X-Parse-Master-Key", "X-Sentry-Auth", "Authentication", "X-Jwt", "Id-Token",
    "X-Github-Token", "X-CSRFToken", "X-Db-Password",
    "X-Amz-Server-Side-Encryption-Customer-Key", "Stripe-Signature", "X-Hub-Signature-256",
    "X-Slack-Signature", "X-Shopify-Hmac-Sha256", "X-Signature-Ed25519")


def denied(name: str) -> bool:
    """SPEC 6 for the denylist ``["token"]`` on a flat name: the name in any case, or one
    of its bracketed parts (README: ``password`` matches ``user[password]``)."""
    parts = name.lower().replace("]", "[").split("[")
    return KEY in parts


# -- how a client may spell the key ------------------------------------------------------


def _cased(draw: st.DrawFn) -> str:
    return "".join(draw(st.sampled_from([c, c.upper()])) for c in KEY)


@st.composite
def url_name(draw: st.DrawFn) -> str:
    """``token`` in a query or form: any case, any character percent-encoded, bracketed."""
    out = []
    for character in _cased(draw):
        if draw(st.booleans()):
            character = draw(st.sampled_from([f"%{ord(character):02X}",
                                              f"%{ord(character):02x}"]))
        out.append(character)
    return draw(st.sampled_from(["{}", "{}[]", "user[{}]"])).format("".join(out))


@st.composite
def disposition(draw: st.DrawFn) -> str:
    """A multipart part's Content-Disposition naming ``token`` as a client may write it:
    quoted or not, quoted pairs (``to\\ken``), blanks inside the quotes, RFC 2231, a
    name* beside another name, parameters in any case and order."""
    name = _cased(draw)
    form = draw(st.sampled_from(["quoted", "escaped", "blank", "token", "2231", "both"]))
    param = draw(st.sampled_from(["name", "NAME", "Name"]))
    if form == "quoted":
        value = f'{param}="{name}"'
    elif form == "escaped":
        value = param + '="' + "".join(
            "\\" + c if draw(st.booleans()) else c for c in name) + '"'
    elif form == "blank":
        value = f'{param}="{draw(st.sampled_from(["", " ", "  "]))}{name}' \
                f'{draw(st.sampled_from(["", " ", chr(9)]))}"'
    elif form == "token":
        value = f"{param}={name}"
    elif form == "2231":
        value = f"{param}*=UTF-8''{quote(name)}"
    else:
        value = draw(st.sampled_from([f"name=\"x\"; name*=UTF-8''{name}",
                                      f"name=\"{name}\"; name*=UTF-8''x"]))
    file = draw(st.sampled_from(["", '; filename="f.txt"']))
    return draw(st.sampled_from(["form-data; {}{}", "form-data;{}{}", "FORM-DATA; {}{}"])
                ).format(value, file)


@st.composite
def header_name(draw: st.DrawFn) -> str:
    """A credential header's name in any case, maybe with "_" for "-" (as ASGI servers
    pass it on; Django reads X_Api_Key as X-Api-Key)."""
    name = draw(st.sampled_from(README_CREDENTIAL_HEADERS))
    name = "".join(draw(st.sampled_from([c.lower(), c.upper()])) for c in name)
    return name.replace("-", "_") if draw(st.booleans()) else name


def _multipart(head: str, secret: str) -> tuple[dict[str, str], bytes]:
    body = (f"--XyZ\r\nContent-Disposition: {head}\r\n\r\n{secret}\r\n--XyZ--\r\n").encode()
    return {"Content-Type": "multipart/form-data; boundary=XyZ"}, body


PLACES: dict[str, Callable[[st.DrawFn, str], dict[str, Any]]] = {
    "query": lambda draw, secret: {"query": f"a=1&{draw(url_name())}={quote(secret)}"},
    "form": lambda draw, secret: {
        "method": "POST", "headers": {"Content-Type": "application/x-www-form-urlencoded"},
        "body": f"a=1&{draw(url_name())}={quote(secret)}".encode()},
    "multipart": lambda draw, secret: dict(zip(
        ("headers", "body"), _multipart(draw(disposition()), secret)), method="POST"),
    "json": lambda draw, secret: {
        "method": "POST", "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"a": 1, "x": [{_cased(draw): secret}]}).encode()},
    "cookie": lambda draw, secret: {"headers": {
        "Cookie": f"a=1; {_cased(draw)}={secret}"}},
    "header": lambda draw, secret: {"headers": {draw(header_name()): secret}},
}


# -- what the app read -------------------------------------------------------------------


def _pairs(items: Any) -> list[tuple[str, str]]:
    return [(str(name), str(value)) for name, value in items]


def _json_pairs(node: Any) -> list[tuple[str, str]]:
    if isinstance(node, dict):
        return [pair for name, value in node.items()
                for pair in [(name, value), *_json_pairs(value)] if isinstance(pair[1], str)]
    if isinstance(node, list):
        return [pair for value in node for pair in _json_pairs(value)]
    return []


def flask_app(seen: list[tuple[str, str]]) -> Any:
    from flask import Flask, request

    app = Flask(__name__)

    @app.route("/p", methods=["GET", "POST"])
    def read() -> str:
        seen.extend(_pairs(request.args.items(multi=True)))
        seen.extend(_pairs(request.form.items(multi=True)))
        seen.extend((name, file.read().decode()) for name, file in request.files.items(
            multi=True))
        seen.extend(_pairs(request.cookies.items(multi=True)))
        seen.extend(_json_pairs(request.get_json(silent=True)))
        return "ok"

    return app.wsgi_app


def starlette_app(seen: list[tuple[str, str]]) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def read(request: Request) -> PlainTextResponse:
        seen.extend(request.query_params.multi_items())
        kind = request.headers.get("content-type", "")
        if "form" in kind:
            try:
                form = await request.form()
            except Exception:  # noqa: BLE001 - a part python-multipart refuses
                form = None
            for name, value in form.multi_items() if form is not None else ():
                seen.append((name, value if isinstance(value, str)
                             else (await value.read()).decode()))
        elif "json" in kind:
            seen.extend(_json_pairs(json.loads(await request.body())))
        seen.extend(request.cookies.items())
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/p", read, methods=["GET", "POST"])])


def _posted(collector: Collector, before: int) -> list[bytes]:
    return [r.body for r in collector.received[before:] if r.path == "/v1/request"]


def through_asgi(collector: Collector, app: Any, lists: dict[str, Any], method: str = "GET",
                 headers: Optional[dict[str, str]] = None, body: bytes = b"",
                 query: str = "") -> list[bytes]:
    """One request through the ASGI middleware in front of ``app``; the posted batches."""
    middleware = AsgiMiddleware(app, MetricsApiConfig(
        api_key=API_KEY, metrics_api=collector.url, **inline_options(dict(lists))))
    before, logged = len(collector.received), len(collector.logs)
    raw = [(name.lower().encode("latin-1"), value.encode("latin-1"))
           for name, value in (headers or {}).items()]
    if body:
        raw.append((b"content-length", str(len(body)).encode()))
    scope = http_scope(method=method, path="/p", query=query.encode(), headers=raw)
    try:
        asyncio.run(run(middleware, scope, body_messages(body), then="disconnect"))
        assert middleware.flush(5.0) is True
    finally:
        middleware.close()
    logs = collector.wait_for_logs(logged + 1)
    assert len(logs) == logged + 1, "one exchange must give exactly one log"
    assert_valid_log(logs[-1])
    return _posted(collector, before)


LISTS = [{"denylist": [KEY]}, {"allowlist": ["a"]}, {"denylist": [KEY], "allowlist": ["a"]}]


def _check(place: str, request: dict[str, Any], seen: list[tuple[str, str]],
           lists: dict[str, Any], bodies: list[bytes], secret: str) -> None:
    names = [name for name, value in seen if secret in value]
    credential = place == "header" and next(iter(request["headers"])).replace(
        "_", "-").lower() in {h.lower() for h in README_CREDENTIAL_HEADERS}
    if credential or any(denied(name) for name in names) or "denylist" not in lists:
        assert found(bodies, secret) == [], (request, names)


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data(), place=st.sampled_from(sorted(PLACES)),
       secret=st.text(_ALNUM, min_size=6, max_size=10).map(lambda s: "Qz" + s),
       lists=st.sampled_from(LISTS))
def test_what_flask_reads_under_a_denied_key_never_reaches_the_collector(
        inline_wrap: Any, collector: Collector, data: st.DataObject, place: str,
        secret: str, lists: dict[str, Any]) -> None:
    request = PLACES[place](data.draw, secret)
    seen: list[tuple[str, str]] = []
    before = len(collector.received)
    exchange(inline_wrap(flask_app(seen), **lists), collector, path="/p", **request)
    _check(place, request, seen, lists, _posted(collector, before), secret)


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data(), place=st.sampled_from(sorted(PLACES)),
       secret=st.text(_ALNUM, min_size=6, max_size=10).map(lambda s: "Qz" + s),
       lists=st.sampled_from(LISTS))
def test_what_starlette_reads_under_a_denied_key_never_reaches_the_collector(
        collector: Collector, data: st.DataObject, place: str, secret: str,
        lists: dict[str, Any]) -> None:
    request = PLACES[place](data.draw, secret)
    seen: list[tuple[str, str]] = []
    bodies = through_asgi(collector, starlette_app(seen), lists, **request)
    _check(place, request, seen, lists, bodies, secret)


# -- credential headers named with "_", under the ASGI middleware -------------------------


@pytest.mark.parametrize("name", ["x_api_key", "X_Auth_Token", "proxy_authorization",
                                  "x-access_token"])
def test_a_credential_header_named_with_underscores_is_masked_under_asgi(
        collector: Collector, name: str) -> None:
    """uvicorn passes the name on as sent; Django's ASGI handler reads it as X-Api-Key."""
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(name.encode(), b"Qzanswered1")]})
        await send({"type": "http.response.body", "body": b"ok"})

    bodies = through_asgi(collector, app, {}, headers={name: "Qzrequested1"})
    assert found(bodies, "Qzrequested1") == [] and found(bodies, "Qzanswered1") == []


# -- SPEC 6's lists on any JSON document ---------------------------------------------------

_NAMES = ["token", "Token", "user", "id", "a", "x"]
_LISTS = st.sampled_from([
    {"denylist": ["token"]}, {"denylist": ["user.token"]}, {"allowlist": ["id"]},
    {"allowlist": ["user"]}, {"allowlist": ["user.id", "x"]},
    {"denylist": ["token"], "allowlist": ["user"]},
    {"denylist": ["user.id"], "allowlist": ["user"]},
])
_SCALARS = st.one_of(st.text("abc 123", max_size=5), st.integers(-5, 5), st.booleans(),
                     st.none(), st.floats(-2, 2, allow_nan=False).map(lambda f: round(f, 2)))
_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(
    st.dictionaries(st.sampled_from(_NAMES), inner, max_size=4), st.lists(inner, max_size=3)),
    max_leaves=16)
#: Mostly objects whose members hold objects (where the lists' rules differ), a root array
#: or a bare value now and then.
documents = st.one_of(
    st.dictionaries(st.sampled_from(_NAMES), st.one_of(
        st.dictionaries(st.sampled_from(_NAMES), _VALUES, min_size=1, max_size=4), _VALUES),
        min_size=1, max_size=4),
    st.lists(_VALUES, max_size=3), _SCALARS)


def _redacted(value: Any) -> str:
    return f"[REDACTED {len(value)}]" if isinstance(value, str) else "[REDACTED]"


def expected(node: Any, lists: dict[str, list[str]], path: str = "",
             allowing: Optional[bool] = None) -> Any:
    """SPEC 6, read word for word: keys case-insensitive; a bare entry matches the key
    anywhere, a dotted one that path from the root (arrays in between looked through);
    denylist wins; with an allowlist, a value whose key is not listed is redacted, objects
    and arrays under a key not listed are walked, what a listed key holds is kept (the
    denylist still applies inside); a value no key holds (the root, an element of a root
    array) is not listed."""
    deny, allow = lists.get("denylist", []), lists.get("allowlist", [])
    allowing = bool(allow) if allowing is None else allowing

    def matches(entries: list[str], key: str, here: str) -> bool:
        return any(entry == here if "." in entry else entry == key for entry in entries)

    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            here = f"{path}.{key.lower()}" if path else key.lower()
            if matches(deny, key.lower(), here):
                out[key] = _redacted(value)
            elif allowing and matches(allow, key.lower(), here):
                out[key] = expected(value, lists, here, False)
            elif allowing and not isinstance(value, (dict, list)):
                out[key] = _redacted(value)
            else:
                out[key] = expected(value, lists, here, allowing)
        return out
    if isinstance(node, list):
        return [expected(value, lists, path, allowing) if isinstance(value, (dict, list))
                else _redacted(value) if allowing else value for value in node]
    return _redacted(node) if allowing else node


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(document=documents, lists=_LISTS, side=st.sampled_from(["request", "response"]))
def test_a_json_body_is_redacted_as_spec_6_says(
        inline_wrap: Any, collector: Collector, document: Any, lists: dict[str, list[str]],
        side: str) -> None:
    """Through the middleware to the collector, the body (request, or the app's answer)
    comes back valid JSON, exactly SPEC 6's redaction of the document; the HAR is valid
    (tests/har-1.2.schema.json, checked by exchange())."""
    body = json.dumps(document).encode()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body if side == "response" else b"{}"]

    request: dict[str, Any] = {"method": "POST", "body": body,
                               "headers": {"Content-Type": "application/json"}}
    if side == "response":
        request = {}
    lists = {**lists, "allowlist": [*lists.get("allowlist", []), "content-type"]} \
        if "allowlist" in lists else lists
    _, _, entry = exchange(inline_wrap(app, **lists), collector, path="/p", **request)
    text = (entry["request"]["postData"]["text"] if side == "request"
            else entry["response"]["content"]["text"])
    assert json.loads(text) == expected(document, lists), text


# -- the adversarial places of test_redaction_adversarial, under the ASGI middleware -------


async def _asgi_echo(scope: Any, receive: Any, send: Any) -> None:
    """The ASGI twin of test_redaction_adversarial's ``_echo_keyed``: a JSON or form body
    comes back with its Content-Type, any other is answered ``ok``."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    kind = dict(scope["headers"]).get(b"content-type", b"text/plain")
    keyed = b"json" in kind or b"urlencoded" in kind
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", kind if keyed else b"text/plain")]})
    await send({"type": "http.response.body", "body": body if keyed else b"ok"})


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data(), place=st.sampled_from(sorted(adversarial.PLACES)),
       secret=st.text(_ALNUM, min_size=6, max_size=10).map(lambda s: "Qz" + s),
       lists=st.sampled_from([{"denylist": [KEY]}, {"allowlist": ["a"]},
                              {"denylist": [KEY], "allowlist": ["a", KEY]}]))
def test_a_denied_value_never_reaches_the_collector_under_asgi(
        collector: Collector, data: st.DataObject, place: str, secret: str,
        lists: dict[str, list[str]]) -> None:
    request = adversarial.PLACES[place](data.draw, secret)
    bodies = through_asgi(collector, _asgi_echo, lists, **request)
    assert found(bodies, secret) == [], request


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data(), place=st.sampled_from(sorted(adversarial.CALLER_PLACES)),
       key=st.one_of(st.text(adversarial._KEY_CHARACTERS, min_size=7, max_size=14),
                     st.text(_ALNUM.replace("Q", ""), min_size=4, max_size=6)).map(
                         lambda tail: "Q" + tail),
       lists=st.sampled_from([{}, {"denylist": ["token"]}, {"allowlist": ["k", "d", "f"]}]))
def test_the_callers_key_never_reaches_the_collector_under_asgi(
        collector: Collector, data: st.DataObject, place: str, key: str,
        lists: dict[str, list[str]]) -> None:
    """As test_redaction_adversarial's WSGI property: long and short keys, searched raw,
    percent- and JSON-decoded, in JSON strings of JSON strings, and in base64."""
    request = adversarial.CALLER_PLACES[place](data.draw, key)
    request.setdefault("headers", {})["X-Caller"] = key
    bodies = through_asgi(collector, _asgi_echo,
                          {**lists, "grouping_function": adversarial._caller}, **request)
    nested = [json.dumps(json.loads(text)).encode() for body in bodies
              for text in adversarial._json_strings(json.loads(body))]
    assert found(bodies + nested, key) == [] and \
        adversarial._base64_spells(bodies, key) == [], request
