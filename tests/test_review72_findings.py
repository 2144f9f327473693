"""review72: what secrets15 left in clear, or changed where nothing was secret.

* The caller's key base64-encoded (``Basic base64(user:key)``) was masked in the bodies
  only: a header that is no credential header's (an upstream's ``X-Upstream-Creds``, an
  echo in a response header), the url's query and path, a form or multipart field and a
  cookie sent it in clear.

Each case goes through the WSGI middleware to the collector on 127.0.0.1, and the posted
batch is searched for the key in every spelling a reader can decode: as is, percent- or
JSON-decoded, and base64-encoded at each of its three alignments, in either alphabet.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Callable
from urllib.parse import quote, unquote, unquote_plus

import pytest

from readme_metrics import MetricsMiddleware
from tests.support.contract import exchange, reading_app, spec_mask
from tests.support.fake_api import Collector
from tests.support.leaks import found_spelled

KEY = "sk_live_review72Kq9Zx3Vw8"


def _b64(text: str, urlsafe: bool = False) -> str:
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    return encode(text.encode()).decode("ascii")


def _spellings(key: str) -> set[str]:
    """The key as is and its base64 spellings: the characters holding only its bits, at
    each alignment, in either alphabet."""
    out = {key}
    for lead in range(3):
        encoded = _b64("\0" * lead + key)
        needle = encoded[-(-8 * lead // 6):8 * (lead + len(key)) // 6]
        out |= {needle, needle.translate(str.maketrans("+/", "-_"))}
    return out


def _views(value: str) -> set[str]:
    """A string as its readers may take it: as is, percent-decoded (``+`` a space or
    not), ``\\/`` read, each with the line breaks of wrapped base64 taken out."""
    views = {value, unquote(value), unquote_plus(value), value.replace("\\/", "/")}
    return views | {view.replace("\r", "").replace("\n", "") for view in views}


def _spelled(batches: list[bytes], key: str,
             views: Callable[[str], set[str]] = _views) -> list[str]:
    """Each string of the posted ``batches`` (a JSON document in one looked into) that
    spells ``key`` in a way its reader decodes: in any of its ``views``."""
    spellings = _spellings(key)
    hits: list[str] = []

    def look(value: Any, depth: int) -> None:
        if isinstance(value, dict):
            for name, item in value.items():
                look(name, depth)
                look(item, depth)
        elif isinstance(value, list):
            for item in value:
                look(item, depth)
        elif isinstance(value, str):
            if any(spelling in view for view in views(value) for spelling in spellings):
                hits.append(value)
            stripped = value.strip()
            if depth < 3 and stripped[:1] in "[{":
                try:
                    look(json.loads(stripped), depth + 1)
                except ValueError:
                    pass

    for batch in batches:
        look(json.loads(batch), 0)
    return hits


def _sent(collector: Collector, wrap: Callable[..., MetricsMiddleware], app: Any = None,
          **request: Any) -> tuple[list[str], dict[str, Any]]:
    before = len(collector.received)
    middleware = wrap(app or reading_app(),
                      grouping_function=lambda req: {"api_key": KEY, "label": "owl"})
    _, _, entry = exchange(middleware, collector, **request)
    bodies = [r.body for r in collector.received[before:] if r.path == "/v1/request"]
    assert bodies
    return _spelled(bodies, KEY), entry


BASIC = _b64(f"owl:{KEY}")
URLSAFE = _b64(f"owl:{KEY}", urlsafe=True).rstrip("=")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

KEY_IN_BASE64 = {
    "custom request header": {"method": "GET", "headers": {"X-Upstream-Creds": BASIC}},
    "header, Basic after a word": {"method": "GET",
                                   "headers": {"X-Forwarded-Client": "Basic " + BASIC}},
    "query, percent-encoded": {"method": "GET", "query": "c=" + quote(BASIC, safe="")},
    "query, as is": {"method": "GET", "query": "a=1&c=" + BASIC + "&d=2"},
    "query, each alignment": {"method": "GET", "query": "&".join(
        f"c{lead}=" + _b64(lead + KEY) for lead in ("", "a", "ab"))},
    "path, url-safe": {"method": "GET", "path": "/sessions/" + URLSAFE},
    "form field": {"method": "POST", "headers": FORM,
                   "body": ("c=" + quote(BASIC, safe="") + "&n=1").encode()},
    "multipart field": {"method": "POST",
                        "headers": {"Content-Type": "multipart/form-data; boundary=b"},
                        "body": (b'--b\r\nContent-Disposition: form-data; name="c"\r\n\r\n'
                                 + BASIC.encode() + b"\r\n--b--\r\n")},
    "cookie": {"method": "GET", "headers": {"Cookie": "a=1; creds=" + BASIC}},
}


@pytest.mark.parametrize("request_", list(KEY_IN_BASE64.values()), ids=list(KEY_IN_BASE64))
def test_the_callers_key_in_base64_outside_the_bodies_is_masked(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        request_: dict[str, Any]) -> None:
    hits, _ = _sent(collector, inline_wrap, **request_)
    assert hits == []


def test_a_response_header_echoing_the_key_in_base64_is_masked(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    app = reading_app(headers=[("Content-Type", "text/plain"), ("X-Echo-Auth", BASIC),
                               ("Location", "/next?c=" + URLSAFE)], status="302 Found")
    hits, entry = _sent(collector, inline_wrap, app=app, method="GET")
    assert hits == []
    assert entry["response"]["redirectURL"].startswith("/next?c=")


def test_a_masked_field_still_decodes_to_the_user_and_the_keys_mask(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    """What stood before the key (the user, a word glued to the run, a path) is kept."""
    _, entry = _sent(collector, inline_wrap, method="POST", path="/sessions/" + URLSAFE,
                     headers={"X-Upstream-Creds": "Basic " + BASIC, **FORM},
                     body=("c=" + quote(BASIC, safe="")).encode())
    request = entry["request"]
    header = dict((h["name"], h["value"]) for h in request["headers"])["X-Upstream-Creds"]
    scheme, _, encoded = header.partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(encoded).decode() == "owl:" + spec_mask(KEY)
    field = request["postData"]["params"][0]["value"]
    assert base64.b64decode(field).decode() == "owl:" + spec_mask(KEY)
    path = request["url"].split("/sessions/", 1)[1]
    assert "/" not in path and "?" not in path  # one segment, as sent
    assert base64.urlsafe_b64decode(path + "=" * (-len(path) % 4)).decode() == (
        "owl:" + spec_mask(KEY))


def test_base64_without_the_key_is_kept_outside_the_bodies(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    other = _b64("owl:" + KEY[:-1])
    _, entry = _sent(collector, inline_wrap, method="GET", query="c=" + other,
                     headers={"X-Upstream-Creds": other})
    request = entry["request"]
    assert request["url"].endswith("?c=" + other)
    assert {"name": "X-Upstream-Creds", "value": other} in request["headers"]


# -- credential headers keyed by their names in a JSON body ------------------------------

S = "Qz9review72Secret"

KEYED = {
    "httpbin echo": {"headers": {"Accept": "*/*", "Authorization": f"Bearer {S}"}},
    "Lambda event": {"httpMethod": "GET", "headers": {"x-api-key": S},
                     "multiValueHeaders": {"x-api-key": [S]}},
    "request header": {"requestHeader": {"Cookie": f"session={S}"}},
    "nested": [{"request": {"Headers": {"X-Auth-Token": S, "Host": "x"}}}],
}


@pytest.mark.parametrize("document", list(KEYED.values()), ids=list(KEYED))
def test_credential_headers_keyed_by_name_in_json_are_masked(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        document: Any) -> None:
    before = len(collector.received)
    _, _, entry = exchange(inline_wrap(reading_app()), collector, method="POST",
                           body=json.dumps(document).encode(),
                           headers={"Content-Type": "application/json"})
    bodies = [r.body for r in collector.received[before:] if r.path == "/v1/request"]
    assert found_spelled(bodies, S) == []
    json.loads(entry["request"]["postData"]["text"])


def test_an_echo_of_the_headers_in_a_response_keeps_the_rest(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    echo = {"headers": {"Authorization": f"Bearer {S}", "Accept": "*/*"}, "url": "/x"}
    app = reading_app(headers=[("Content-Type", "application/json")],
                      body=[json.dumps(echo).encode()])
    _, _, entry = exchange(inline_wrap(app), collector, method="GET")
    assert json.loads(entry["response"]["content"]["text"]) == {
        "headers": {"Authorization": spec_mask(f"Bearer {S}"), "Accept": "*/*"},
        "url": "/x"}


@pytest.mark.parametrize("text", [
    '{"headers": {"Accept": "text/html", "X-Next-Page-Token": "p2"}}',
    '{"header": "Authorization", "token_count": 3}',
    '{"settings": {"theme": "dark"}, "headers": ["Authorization"]}',
])
def test_headers_keyed_by_name_holding_no_credential_are_kept(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        text: str) -> None:
    _, _, entry = exchange(inline_wrap(reading_app()), collector, method="POST",
                           body=text.encode(), headers={"Content-Type": "application/json"})
    assert entry["request"]["postData"]["text"] == text


def test_an_echo_of_a_basic_credential_is_masked_as_the_header_is(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    """httpbin's /headers: the Authorization holding the caller's key in base64 shows
    the header's mask, as the request's own Authorization does."""
    value = "Basic " + BASIC
    app = reading_app(headers=[("Content-Type", "application/json")],
                      body=[json.dumps({"headers": {"Authorization": value}}).encode()])
    hits, entry = _sent(collector, inline_wrap, app=app, method="GET",
                        headers={"Authorization": value})
    assert hits == []
    echoed = json.loads(entry["response"]["content"]["text"])["headers"]["Authorization"]
    sent = {h["name"]: h["value"] for h in entry["request"]["headers"]}["Authorization"]
    assert echoed == sent == spec_mask(value)


def test_the_key_in_base64_in_a_long_body_is_found_past_its_probes(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    """A body of 1 KB or more is looked for the key's base64 spellings only where it
    holds their rarest characters: each alignment, both alphabets, found there too."""
    filler = [{"id": n, "note": "lorem ipsum dolor sit amet"} for n in range(60)]
    document = {"rows": filler, "creds": [_b64(lead + KEY, urlsafe=lead == "a")
                                          for lead in ("", "a", "ab")]}
    hits, _ = _sent(collector, inline_wrap, method="POST",
                    body=json.dumps(document).encode(),
                    headers={"Content-Type": "application/json"})
    assert hits == []


def _har_of(headers: list[dict[str, str]], pad: int) -> dict[str, Any]:
    return {"log": {"entries": [{"request": {"method": "GET", "url": "https://x/",
                                             "headers": headers}},
                                {"response": {"content": {"text": "x" * pad}}}]}}


CUT = {
    "HAR pairs": _har_of([{"name": "Accept", "value": "*/*"},
                          {"name": "Authorization", "value": f"Bearer {S}"}], 5000),
    "value first": _har_of([{"value": S, "name": "X-Api-Key"}], 5000),
    "fetch rows": {"headers": [["Accept", "*/*"], ["X-Api-Key", S]], "pad": "x" * 5000},
    "cut inside the value": [{"name": "Accept", "value": "y" * 1920},
                             {"name": "X-Auth-Token", "value": S + "z" * 100}],
}


@pytest.mark.parametrize("document", list(CUT.values()), ids=list(CUT))
def test_a_header_list_cut_at_max_body_bytes_is_masked_as_written(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        document: Any) -> None:
    """A JSON header list past max_body_bytes cannot be read: its pairs and rows are
    found as written, and their values masked there."""
    before = len(collector.received)
    _, _, entry = exchange(inline_wrap(reading_app(), max_body_bytes=2000), collector,
                           method="POST", body=json.dumps(document).encode(),
                           headers={"Content-Type": "application/json"})
    bodies = [r.body for r in collector.received[before:] if r.path == "/v1/request"]
    assert found_spelled(bodies, S) == []
    assert found_spelled(bodies, S[:8]) == []  # nor the start of a value cut short
    post = entry["request"]["postData"]
    assert "sha512-" in post["text"]
    assert "comment" in post  # cut, as it was


def test_a_cut_list_keeps_what_names_no_credential(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    text = json.dumps([{"name": "Accept", "value": "text/html"},
                       {"name": "X-Next-Page-Token", "value": "p2"},
                       {"name": "Authorization-Hint", "value": "y" * 3000}])
    _, _, entry = exchange(inline_wrap(reading_app(), max_body_bytes=2000), collector,
                           method="POST", body=text.encode(),
                           headers={"Content-Type": "application/json"})
    assert text.startswith(entry["request"]["postData"]["text"])


FORM_LISTS = {
    "indexed": f"headers[0][name]=Accept&headers[0][value]=*/*&headers[1][name]=Authorization"
               f"&headers[1][value]=Bearer+{S}",
    "alternating": f"name[]=X-Api-Key&value[]={S}&name[]=Accept&value[]=x",
    "dotted": f"Header.1.Name=x-auth-token&Header.1.Value={S}&Header.2.Name=Accept"
              "&Header.2.Value=x",
}


@pytest.mark.parametrize("text", list(FORM_LISTS.values()), ids=list(FORM_LISTS))
def test_a_header_list_in_form_fields_is_masked(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware], text: str) -> None:
    before = len(collector.received)
    _, _, entry = exchange(inline_wrap(reading_app()), collector, method="POST",
                           body=text.encode(), headers=FORM)
    bodies = [r.body for r in collector.received[before:] if r.path == "/v1/request"]
    assert found_spelled(bodies, S) == []
    params = entry["request"]["postData"]["params"]
    assert any(param["value"].startswith("sha512-") for param in params)
    assert {"Accept", "*/*", "x"} & {param["value"] for param in params}


def test_a_header_list_in_multipart_fields_is_masked(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    parts = b"".join(b'--b\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (
        name, value) for name, value in ((b"h[name]", b"X-Api-Key"), (b"h[value]", S.encode())))
    before = len(collector.received)
    _, _, entry = exchange(inline_wrap(reading_app()), collector, method="POST",
                           body=parts + b"--b--\r\n",
                           headers={"Content-Type": "multipart/form-data; boundary=b"})
    bodies = [r.body for r in collector.received[before:] if r.path == "/v1/request"]
    assert found_spelled(bodies, S) == []
    assert entry["request"]["postData"]["params"][1]["value"] == spec_mask(S)


def test_form_pairs_naming_no_credential_header_are_kept(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    text = "f[0][name]=token_count&f[0][value]=3&f[1][name]=Accept&f[1][value]=x"
    _, _, entry = exchange(inline_wrap(reading_app()), collector, method="POST",
                           body=text.encode(), headers=FORM)
    assert [p["value"] for p in entry["request"]["postData"]["params"]] == [
        "token_count", "3", "Accept", "x"]
