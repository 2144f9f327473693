"""cpu27: review72's and secrets15's masking passes, each behind a gate that passes by the
usual log with fewer Python calls (docs/PERFORMANCE.md, "Seventeenth session", cpu27).

* ``scrub._base64_fields`` looks for the key's base64 spellings once over the url, the
  redirect and every header, cookie and field value joined, those values taken by C
  (``itemgetter``); a record without a string value sends the join to the records' own
  test. Main made 7 Python calls more for bench.py's small GET log (a generator 4 times for
  the shortest spelling, a comprehension, two ``_holds``).
* ``CallerKey.url`` answers a url holding no spelling of a long key itself, as
  ``key_url.masked_url`` would (main: a call more, two a log).
* ``masked_credential_pairs`` passes by a body with no "v", no "h" and fewer than two "["
  without ``_may_name_credentials`` and ``_has_rows`` (main: 3 calls).

Each gate is held against the pass it stands before: the same strings out.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from readme_metrics.har.credential_pairs import masked_credential_pairs
from readme_metrics.har.credentials import CallerKey
from readme_metrics.har.key_base64_spellings import base64_spellings, shortest_spelling
from readme_metrics.har.key_url import masked_url
from readme_metrics.har.scrub import _base64_fields
from tests.test_hostile11_findings import _calls

KEY = "sk_live_4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"  # bench.py's caller
BASIC = base64.b64encode(b"user:" + KEY.encode()).decode("ascii")


def _entry(**values: Any) -> dict[str, Any]:
    """A built entry's parts _base64_fields reads: bench.py's small GET, 14 request
    headers, 3 cookies (masks), 3 response headers; ``values`` put in."""
    mask = "sha512-" + "A1b2" * 22 + "?6b5c"
    request_headers = [{"name": f"X-H{n}", "value": f"value number {n} " * (n % 4)}
                       for n in range(12)]
    request_headers += [{"name": "Authorization", "value": mask},
                        {"name": "Cookie", "value": mask}]
    entry = {
        "pageref": "https://api.example.com/v1/widgets/12345?expand=owner&limit=10",
        "request": {"url": "https://api.example.com/v1/widgets/12345?expand=owner&limit=10",
                    "headers": request_headers,
                    "cookies": [{"name": f"c{n}", "value": mask} for n in range(3)],
                    "queryString": []},
        "response": {"headers": [{"name": "Content-Type", "value": "application/json"},
                                 {"name": "x-documentation-url",
                                  "value": "https://docs.example.com/logs/0b5c6f5e-4a7e"}],
                     "cookies": [], "redirectURL": ""},
    }
    for where, value in values.items():
        side, part = where.split("_", 1)
        if part == "params":
            entry["request"]["postData"] = {"mimeType": "x", "params": value}
        elif part in ("url", "redirectURL"):
            entry[side][part] = value
        else:
            entry[side][part].append(value)
    return entry


def _former(entry: dict[str, Any], caller: CallerKey) -> None:
    """Main's _base64_fields (3f24488), each value asked in turn: what the gate stands
    before."""
    from readme_metrics.har.credentials import URL_HEADERS
    from readme_metrics.har.key_base64 import masked_base64_runs
    from readme_metrics.har.pairs import parse_query

    key, masked = caller.key, caller.masked
    spellings = base64_spellings(key)
    shortest = min(len(spelling) for spelling in spellings)
    request, response = entry["request"], entry["response"]
    url = request["url"]
    if len(url) >= shortest and any(s in url for s in spellings):
        hidden = masked_base64_runs(url, key, masked, url=True)
        if hidden != url:
            entry["pageref"] = request["url"] = hidden
            request["queryString"] = [{"name": name, "value": value} for name, value
                                      in parse_query(hidden.partition("?")[2])]
    redirect = response["redirectURL"]
    if len(redirect) >= shortest and any(s in redirect for s in spellings):
        response["redirectURL"] = masked_base64_runs(redirect, key, masked, url=True)
    post = request.get("postData")
    for records in (request["headers"], request["cookies"], response["headers"],
                    response["cookies"], post.get("params", ()) if post else ()):
        for record in records:
            value = record.get("value")
            if value.__class__ is str and len(value) >= shortest and any(
                    s in value for s in spellings) and "fileName" not in record:
                record["value"] = masked_base64_runs(
                    value, key, masked, url=record.get("name", "").lower() in URL_HEADERS)


def test_a_log_holding_no_spelling_makes_no_call_per_value() -> None:
    caller = CallerKey(KEY)
    entry = _entry()
    _base64_fields(entry, caller)  # the key's spellings worked out (cached per key)
    # The lambda and itself (base64_spellings is its lru_cache since house6, no Python
    # call: it was a function calling the cached one, 3 calls); main: 10 (a generator
    # 4 times, a comprehension, _holds twice).
    assert _calls(lambda: _base64_fields(entry, caller)) == 2


_CARRIERS = {
    "request_headers": {"name": "X-Upstream-Creds", "value": "Basic " + BASIC},
    "response_headers": {"name": "Location", "value": f"https://h.example/p?c={BASIC}"},
    "request_cookies": {"name": "creds", "value": BASIC},
    "response_cookies": {"name": "creds", "value": BASIC, "path": "/"},
    "request_url": f"https://api.example.com/v1/{BASIC.rstrip('=')}?c={BASIC}",
    "response_redirectURL": f"https://h.example/p?c={BASIC}",
    "request_params": [{"name": "a", "value": "x"}, {"name": "creds", "value": BASIC}],
}


@pytest.mark.parametrize("where", sorted(_CARRIERS))
def test_a_spelling_anywhere_is_masked_as_before(where: str) -> None:
    caller = CallerKey(KEY)
    entry = _entry(**{where: copy.deepcopy(_CARRIERS[where])})
    former = copy.deepcopy(entry)
    _base64_fields(entry, caller)
    _former(former, caller)
    assert entry == former
    assert BASIC.rstrip("=")[8:40] not in repr(entry)


@pytest.mark.parametrize("odd", [
    {"name": "file", "fileName": "a.txt", "contentType": "text/plain"},  # no value
    {"name": "n", "value": 12},  # not a string
    {"name": "file", "fileName": "a.txt", "value": "data:text/plain;base64," + BASIC},
], ids=["no-value", "a-number", "a-file"])
def test_a_record_without_a_string_value_takes_the_records_own_test(
        odd: dict[str, Any]) -> None:
    caller = CallerKey(KEY)
    for params in ([odd], [odd, {"name": "creds", "value": BASIC}]):
        entry = _entry(request_params=copy.deepcopy(params))
        former = copy.deepcopy(entry)
        _base64_fields(entry, caller)
        _former(former, caller)
        assert entry == former


@pytest.mark.parametrize("key", [KEY, "rdme_key_1234", "clé-secrète-0123", "k3y", "1e3"])
def test_shortest_spelling_is_the_shortest(key: str) -> None:
    assert shortest_spelling(key) == min(len(s) for s in base64_spellings(key))


URLS = ["https://api.example.com/v1/widgets/12345?expand=owner&limit=10", "",
        "/relative?a=1", "https://h/p?q=a%20b", "https://h/p?q=a+b", "https://h/p\\x",
        "https://h/%5Cu0041", "https://h/p?k=KEY", "https://h/KEY/x", "KEY",
        "https://h/p?k=K%45Y", "https://h/p?f={\"id\":1e3}", "https://h/p?k=a+b+c"]


@pytest.mark.parametrize("key", ["rdme_key_1234567890", "a b c d e f", "/keys/k1/usage",
                                 "12345678901", "k3y", "1000", "clé-0123456789"])
def test_url_answers_as_masked_url(key: str) -> None:
    caller = CallerKey(key)
    for url in URLS:
        url = url.replace("KEY", key)
        assert caller.url(url) == masked_url(caller, url, caller.text), url


def test_a_url_without_the_key_makes_one_call() -> None:
    caller = CallerKey(KEY)
    url = "https://api.example.com/v1/widgets/12345?expand=owner&limit=10"
    assert _calls(lambda: caller.url(url)) == 2  # the lambda and url; main: 3 (masked_url)


BODIES = ['{"id":12345,"name":"widget","tags":["a","b"],"ok":true}', "[]", "{}", "[[]]",
          '[["Authorization", "Bearer x"]]', '{"headers": {"Authorization": "Bearer x"}}',
          '{"name": "Authorization", "value": "Bearer x"}', '{"Name": "X-Api-Key", "VAL": 1}',
          '[["X-Api-Key", "k"]', '{"HEADERS": {"Authorization": "x"}}', "[1, [2]]"]


@pytest.mark.parametrize("body", BODIES)
def test_the_pairs_gate_lets_through_every_body_the_pass_reads(
        body: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from readme_metrics.har import credential_pairs

    reads = credential_pairs._may_name_credentials(body)
    asked: list[str] = []

    def may_name(text: str) -> bool:
        asked.append(text)
        return reads

    monkeypatch.setattr(credential_pairs, "_may_name_credentials", may_name)
    out = masked_credential_pairs(body)
    if reads:
        assert asked == [body]
    else:
        assert out == body
    if "Bearer x" in body and "HEADERS" not in body:
        assert "Bearer x" not in out


def test_a_body_with_no_shape_of_a_pair_makes_one_call() -> None:
    body = '{"id":12345,"name":"widget","tags":["a","b"],"ok":true}'
    assert _calls(lambda: masked_credential_pairs(body)) == 2  # the lambda and it; main: 4
