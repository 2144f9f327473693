"""review127's findings (an adversarial read of keyleak3, hostile34, review126 and
blackbox15).

1. The caller's key (not its base64) in a text, JSON or HTML body with every character
   percent-encoded twice, the first escape's hex digits escaped again ("r" as
   "%25%37%32", as keyleak3's base64 runs are read): the check found the key (decoded
   twice) but the URL spelling it is replaced by had only "%2572", so the body went out
   as sent (a link's query value, or a text, read twice by the app). The URL and a form
   field were masked (decoded once before).
2. (Left open: hostile35's.) A base64 archive in a JSON document inside a zip entry or
   a gzip layer (base64 in a zip in base64) is not read: its ``.env`` goes out.
3. A key starting with a backslash, percent-encoded in part in a JSON body
   (``{"a": "\\\\abcdefg%68"}``, the key ``\\abcdefgh``): its mask was written after the
   JSON escape's first backslash, ``"\\sha512-..."``, and the body went out as no JSON
   (the property below found it).
"""

from __future__ import annotations

import json
from base64 import b64encode
from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.har import build_log
from tests.support.fake_api import Collector
from tests.test_house6_findings import KEY, _exchange


def _escaped(text: str) -> str:
    return "".join(f"%{byte:02X}" for byte in text.encode())


def _twice(text: str) -> str:
    return _escaped(_escaped(text))


_SPECIAL = "rdme/xn8s+9h3a=7b2c&d?"


def _log(key: str, body: str, content_type: str) -> str:
    return json.dumps(build_log(_exchange(key, body=body.encode(), content_type=content_type),
                                max_body_bytes=1 << 20))


def _bodies(spelled: str) -> list[tuple[str, str]]:
    return [("text/plain", f"see {spelled} here"),
            ("application/json", json.dumps({"a": spelled})),
            ("text/html", f'<a href="https://x.example/next?k={spelled}">x</a>')]


@pytest.mark.parametrize("key", [KEY, _SPECIAL], ids=["alnum", "special"])
@pytest.mark.parametrize("spelling", [
    pytest.param(_twice, id="every-character-twice"),
    pytest.param(lambda key: _twice(key).lower(), id="every-character-twice-lower"),
    # urlencoded (only what needs it), then every character of that escaped
    pytest.param(lambda key: _escaped("".join(
        character if character.isalnum() else _escaped(character) for character in key)),
        id="urlencoded-then-every-character"),
])
def test_the_key_every_character_escaped_twice_is_masked(key: str, spelling: Any) -> None:
    """Finding 1. Failed before (6 of 6: each in the text, JSON and HTML bodies)."""
    spelled = spelling(key)
    for content_type, body in _bodies(spelled):
        written = _log(key, body, content_type)
        assert spelled not in written, content_type
        assert key not in unquote(unquote(written)), content_type


_HOW = st.sampled_from(["as-is", "once", "twice", "twice-digits"])
_SPELLERS = {"as-is": lambda character: character, "once": _escaped,
             "twice": lambda character: _escaped(character).replace("%", "%25"),
             "twice-digits": _twice}


@settings(max_examples=150, deadline=None)
@given(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters="%"),
               min_size=8, max_size=24),
       st.lists(_HOW, min_size=24, max_size=24),
       st.sampled_from(["text/plain", "application/json"]))
def test_any_mix_of_escapes_of_the_key_is_masked(key: str, hows: list[str],
                                                 content_type: str) -> None:
    """Each character of the key as is, escaped once, twice ("%2572") or twice with the
    digits escaped ("%25%37%32"): the body never reads, decoded twice, as the key."""
    spelled = "".join(_SPELLERS[how](character) for character, how in zip(key, hows))
    body = json.dumps({"a": spelled}) if content_type == "application/json" else spelled
    [entry] = json.loads(_log(key, body, content_type))["request"]["log"]["entries"]
    text = entry["request"]["postData"]["text"]
    if content_type == "application/json" and text.startswith("{"):
        text = json.loads(text)["a"]
    assert key not in unquote(unquote(text)), spelled


def test_a_flask_app_sends_the_key_escaped_twice_masked(collector: Collector) -> None:
    """Finding 1 end to end: a Flask app echoing a link whose query value holds the key
    escaped twice, character by character; the log posted to a real collector."""
    from flask import Flask, request

    from readme_metrics import MetricsApiConfig
    from readme_metrics.flask_readme import ReadMeMetrics

    spelled = _twice(KEY)
    body = f'<a href="https://x.example/next?k={spelled}">next</a>'.encode()
    app = Flask(__name__)

    @app.route("/echo", methods=["POST"])
    def echo() -> Any:
        return request.get_data(), {"Content-Type": "text/html"}

    extension = ReadMeMetrics(MetricsApiConfig(
        api_key="any-key", metrics_api=collector.url, buffer_length=1,
        grouping_function=lambda request: {"api_key": KEY}), app)
    try:
        answer = app.test_client().post("/echo", data=body,
                                        headers={"Content-Type": "text/html"})
        assert answer.get_data() == body
        assert extension.flush(10) is True
        [log] = collector.wait_for_logs(1)
    finally:
        extension.close()
    sent = json.dumps(log)
    assert spelled not in sent
    assert KEY not in unquote(unquote(sent))


# 2. An archive as base64 in a JSON document inside an archive ---------------------------

_ENV = b"USER=zoe\nPASSWORD=Zq8h22Xw3K\n"


def _nested_bodies() -> dict[str, bytes]:
    import gzip

    from tests.support.zip_bodies import zip_of

    inner = b64encode(zip_of({".env": _ENV})).decode()
    return {
        "zip-of-json-of-base64-zip": zip_of({"inner.json": json.dumps({"g": inner}).encode()}),
        "gzip-of-json-of-base64-zip": gzip.compress(json.dumps({"g": inner}).encode()),
    }


@pytest.mark.parametrize("name", ["zip-of-json-of-base64-zip", "gzip-of-json-of-base64-zip"])
@pytest.mark.parametrize("place", ["json-string", "octet-stream"])
def test_an_archive_inside_an_archive_as_base64_is_read(name: str, place: str) -> None:
    """Finding 2 (hostile37: strict xfail until then, 4 of 4 failed: the inflated
    bytes were searched for denied names only)."""
    from readme_metrics.har import inflation_budget
    from readme_metrics.har.bodies import post_data
    from readme_metrics.har.redaction import Redactor
    from tests.support.sent_bodies import body_head

    inflation_budget.BUDGET.refill()
    data = _nested_bodies()[name]
    if place == "json-string":
        body, mime = json.dumps({"file": b64encode(data).decode()}).encode(), "application/json"
    else:
        body, mime = data, "application/octet-stream"
    record = post_data(body, len(body), body_head(mime), Redactor(["password"]), 1 << 22)
    assert "REDACTED" in record.get("text", ""), record


# 3. A key starting with a backslash, percent-encoded in part, in a JSON body ------------


@pytest.mark.parametrize("before", ["", "x", "\\\\"])
@pytest.mark.parametrize("key", ["\\abcdefgh", "\\" + "0" * 20])
def test_a_key_starting_with_a_backslash_leaves_the_body_json(key: str, before: str) -> None:
    """Finding 3. Failed before (6 of 6: the body was no JSON)."""
    spelled = before + key[:-1] + f"%{ord(key[-1]):02X}"
    body = json.dumps({"a": spelled})
    [entry] = json.loads(_log(key, body, "application/json"))["request"]["log"]["entries"]
    text = entry["request"]["postData"]["text"]
    value = json.loads(text)["a"]
    assert key not in unquote(value), text
    assert value.startswith(before + "\\sha512-"), text


def test_a_backslash_written_before_the_key_leaves_the_body_json() -> None:
    """Finding 3, a backslash of the text's before the key's: ``\\\\\\\\abcdefg%68`` in
    the JSON text, read ``\\\\abcdefgh``. Failed before (no JSON)."""
    key = "\\abcdefgh"
    body = json.dumps({"a": "\\" + key[:-1] + "%68"})
    [entry] = json.loads(_log(key, body, "application/json"))["request"]["log"]["entries"]
    value = json.loads(entry["request"]["postData"]["text"])["a"]
    assert value.startswith("\\\\sha512-") and "abcdefg" not in value


@pytest.mark.parametrize(("key", "raw"), [
    pytest.param('"L-tfPNPoKhZ', '"\\"L-tfPNPoK%68Z/?a"', id="quote-first"),
    pytest.param("/abcdefgh", '"\\/abcdefg%68"', id="escaped-slash-first"),
    pytest.param("j2LKOm#'IzAx\\", '"j2LKOm#%27IzAx\\\\="', id="backslash-last"),
    pytest.param("abcdefg\\\\", '"abcdefg\\\\%5C\\\\"', id="backslashes-last"),
])
def test_a_key_whose_first_or_last_character_json_escapes_leaves_the_body_json(
        key: str, raw: str) -> None:
    """Finding 3, its other ends (a fuzzer of finding 1's mixes, 7 of 4,000): the
    escape's backslash before the spelling's first character, or the spelling's last
    backslash the first of an escaped one. Failed before: 3 of 4, no JSON (the key
    ending with two backslashes, matched as a whole escape, was JSON before too)."""
    body = '{"a": ' + raw + "}"
    assert json.loads(body)["a"].replace("%68", "h").replace("%27", "'").replace(
        "%5C", "\\").startswith(key)
    [entry] = json.loads(_log(key, body, "application/json"))["request"]["log"]["entries"]
    value = json.loads(entry["request"]["postData"]["text"])["a"]
    assert key not in unquote(value) and "sha512-" in value
