"""hostile25: a JSON string holding text before a document.

A JSON body's string value (or a body that is one JSON string) holding a document after
some text, ``{"log": "x{\\"password\\": \\"...\\"}"}``, went out in clear: review105 read
a string that *is* a document (1 to 3 strings deep), not one holding text before it. The
same text as text/plain, a form or a multipart field was hidden (hostile23/24). Such a
string's members a denied key names now have their value written ``[REDACTED n]``, as a
text body's (hostile24), in requests and responses, nested in arrays and objects, in
double or single quotes, its quotes escaped (``\\"``, ``\\u0022``), in a document in a
string in it too; the rest of the string is kept, and prose naming the key without a
quoted member is kept whole.
"""

from __future__ import annotations

import json
from typing import Any, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.har.bodies import content, post_data
from readme_metrics.har.headers import RAW_CONTENT_TYPE
from readme_metrics.har.redaction import Redactor
from tests.support.fake_api import Collector
from tests.support.flask_echo import logged_echo

DENY = Redactor(denylist=["password"])
SECRET = "Zq8h22Xw3K"
JSON = "application/json"
MEMBER = f'x{{"password": "{SECRET}"}}'


def _records(body: str, mime: Optional[str] = JSON, redactor: Redactor = DENY
             ) -> list[dict[str, Any]]:
    """The request's postData and the response's content of ``body``."""
    data = body.encode()
    head = {} if mime is None else {"content-type": mime, RAW_CONTENT_TYPE: mime}
    return [post_data(data, len(data), head, redactor, 1 << 20),
            content(data, len(data), head, redactor, 1 << 20)]


def _text(record: dict[str, Any]) -> str:
    if "text" in record:
        return str(record["text"])
    return json.dumps(record["params"])


#: JSON bodies whose string holds a denied member after text: main sent SECRET in clear.
LEAKED = {
    "member-value": json.dumps({"log": MEMBER}),
    "whole-body": json.dumps(MEMBER),
    "whole-body-text-plain": json.dumps(MEMBER),
    "in-an-array": json.dumps([1, {"a": ["b", MEMBER]}]),
    "deep-in-objects": json.dumps({"a": {"b": {"c": [{"d": MEMBER}]}}}),
    "single-quotes": json.dumps({"log": f"x{{'password': '{SECRET}'}}"}),
    "u0022-escapes": '{"log": "x{\\u0022password\\u0022: \\u0022' + SECRET + '\\u0022}"}',
    "all-ascii-escapes": json.dumps({"log": MEMBER + " \u00e9"}, ensure_ascii=True),
    "a-string-in-the-string": json.dumps({"log": "x" + json.dumps({"a": MEMBER})}),
    "two-strings-deep": json.dumps(json.dumps({"log": "y" + json.dumps({"a": MEMBER})})),
    "prose-then-member": json.dumps({"log": f'note "password": "{SECRET}" sent'}),
    "after-an-equals": json.dumps({"log": f'x{{"a": "=", "password": "{SECRET}"}}'}),
    "after-a-query": json.dumps({"log": f'GET /?a=1 {MEMBER}'}),
    "after-a-document": json.dumps({"log": '{"a": 1} then ' + MEMBER}),
    "in-a-string-document": json.dumps({"msg": json.dumps({"log": MEMBER})}),
    "capitalised-name": json.dumps({"log": f'x{{"Password": "{SECRET}"}}'}),
    "bare-word-value": json.dumps({"log": f'x{{"password": {SECRET}}}'}),
    "object-value": json.dumps({"log": f'x{{"password": {{"p": "{SECRET}"}}}}'}),
}


@pytest.mark.parametrize("shape", LEAKED)
def test_a_denied_value_is_hidden(shape: str) -> None:
    body = LEAKED[shape]
    mime = "text/plain" if shape.endswith("text-plain") else JSON
    for record in _records(body, mime):
        text = _text(record)
        assert SECRET not in text, (body, record)
        assert "REDACTED" in text, (body, record)


def test_what_is_sent() -> None:
    """The member's value only: the string's other text, and the document, as they were."""
    body = json.dumps({"log": f'user zoe x{{"password": "{SECRET}", "n": 1}} done', "n": 2})
    for record in _records(body):
        assert json.loads(record["text"]) == {
            "log": 'user zoe x{"password": "[REDACTED 10]", "n": 1} done', "n": 2}


@pytest.mark.parametrize("body", [
    pytest.param(json.dumps({"password": 1, "log": "the password is kept: yes"}), id="colon"),
    pytest.param(json.dumps({"password": 1, "log": "it's the user's password: don't"}),
                 id="apostrophes"),
    pytest.param(json.dumps({"password": 1, "log": 'he said "password" twice: ok'}),
                 id="quoted-word"),
    pytest.param(json.dumps({"password": 1, "log": 'x{"user": "password"}'}),
                 id="value-naming-it"),
    pytest.param(json.dumps('reset your password: see "the mail"'), id="not-a-member"),
])
def test_prose_naming_the_key_is_kept(body: str) -> None:
    """A string naming the key with no quoted member of that name is kept as sent."""
    log = json.loads(body)["log"] if body.startswith("{") else json.loads(body)
    for record in _records(body):
        assert log in json.loads(record["text"]) if body.startswith('"') else (
            json.loads(record["text"])["log"] == log), record


def test_an_allowed_key_keeps_its_other_members() -> None:
    """The denylist alone reads an allowed key's string: its other members are kept."""
    redactor = Redactor(denylist=["password"], allowlist=["log"])
    body = json.dumps({"log": f'x{{"user": "zoe", "password": "{SECRET}"}}'})
    for record in _records(body, redactor=redactor):
        assert json.loads(record["text"]) == {
            "log": 'x{"user": "zoe", "password": "[REDACTED 10]"}'}


def test_a_dotted_entry_hides_its_last_key_in_a_string() -> None:
    """A string's document has no path from the root: its last key is read (as text's)."""
    redactor = Redactor(denylist=["user.password"])
    body = json.dumps({"log": MEMBER})
    for record in _records(body, redactor=redactor):
        assert SECRET not in record["text"]


# Random JSON around a string holding a planted member, written as JSON writes it.
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-9, 9),
                     st.text(alphabet=list("ab '\"\\:{}=&%"), max_size=5))
_PADDING = st.text(alphabet=list("ab '\"\\:{}=&%\n\u00e9"), max_size=6)


def _planted(draw: Any) -> str:
    value = draw(_PADDING)
    secret = value[:2] + SECRET + value[2:]
    name = draw(st.sampled_from(["password", "PASSWORD", "Password"]))
    # JSON's member, or Python's str(dict)'s (a value with an apostrophe in double
    # quotes: a level deeper, read as a form's, the gap hostile26 closed).
    member = json.dumps({name: secret}) if draw(st.booleans()) else str({name: secret})
    return draw(_PADDING) + member + draw(_PADDING)


@st.composite
def _documents(draw: Any) -> Any:
    planted = _planted(draw)
    for _ in range(draw(st.integers(0, 2))):  # in a document in a string, in a string
        planted = draw(_PADDING) + json.dumps(
            draw(st.dictionaries(st.sampled_from(["a", "b"]), _SCALARS, max_size=2))
            | {"c": planted})
    tree = draw(st.recursive(_SCALARS, lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["a", "log", "n"]), inner, max_size=3)),
        max_leaves=6))
    # The planted string anywhere: the root, an array's element, a member's value.
    where = draw(st.sampled_from(["root", "array", "object"]))
    if where == "root":
        return planted
    if where == "array":
        return [tree, planted] if draw(st.booleans()) else [planted, tree]
    return {"a": tree, "msg": planted}


# 75 examples, not 300 (suite42): a3c95b54's tests with its parent's package failed at 75
# on each of seeds 1 to 5 (and passed with its own).
@settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=_documents(), ascii_only=st.booleans(),
       mime=st.sampled_from([JSON, "text/plain", "application/vnd.api+json"]))
def test_a_planted_member_never_leaks(document: Any, ascii_only: bool, mime: str) -> None:
    body = json.dumps(document, ensure_ascii=ascii_only)
    for record in _records(body, mime):
        text = _text(record)
        assert SECRET not in text, (body, record)


def test_a_double_quoted_repr_value_a_level_deeper_in_a_form_reading() -> None:
    """Python's str(dict) writes a value holding an apostrophe in double quotes; escaped
    once more in a document in a JSON string, then read as a form's value at an '=', the
    '&' in it cut the member and the rest went out (a strict xfail until hostile26)."""
    body = json.dumps('={"c": "{\'password\': \\"\'&' + SECRET + '\\"}"}')
    for record in _records(body, JSON):
        assert SECRET not in _text(record), record


@pytest.mark.parametrize("sent", [
    pytest.param(json.dumps({"log": MEMBER}), id="member-value"),
    pytest.param(json.dumps([{"a": f"x{{'password': '{SECRET}'}}"}]), id="single-quotes"),
])
def test_a_flask_app_sends_the_value_hidden(collector: Collector, sent: str) -> None:
    log = logged_echo(collector, sent, JSON)
    entry = log["request"]["log"]["entries"][0]
    assert SECRET not in json.dumps(log)
    assert "REDACTED" in entry["request"]["postData"]["text"]
    assert "REDACTED" in entry["response"]["content"]["text"]
