"""hostile23: a text/plain body (or one with no Content-Type) holding text before a JSON
document naming a denied key (``x{"password": "..."}``), with no ``&`` or ``=`` cutting
it, went out in clear: bodies.py read a text/plain line as a form's pairs only when it
held a ``=``, and Redactor.linked asked only about values, never a name and never a
value's loose piece of a document (quoted_piece, hostile22), which the same text as a
form body hides whole. A text/plain line holding a quote is now read as the form is:
each name or value that is no JSON from its start and holds a member's name (a quote,
then ":") and a denied key is hidden whole. Prose with no member's shape is kept.
"""

from __future__ import annotations

import json
from typing import Optional

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

#: Each a text/plain line the form reading hides (hostile22), kept in clear on main.
LEAKED = {
    "prefix": f'x{{"password": "{SECRET}"}}',
    "prose-then-member": f'note: "password": "{SECRET}"',
    "on-a-later-line": f'hello\nx{{"password": "{SECRET}"}}',
    "then-more-lines": f'x{{"password": "{SECRET}"}}\r\nsecond line',
    "a-name-before-a-pair": f'x{{"password": "{SECRET}"}}&a=1',
    "a-name-after-a-pair": f'a=1&x{{"password": "{SECRET}"}}',
    "a-value-loose-piece": f'a=1&b=note "password": "{SECRET}"',
    "a-line-after-a-pair": f'a=1\nnote "password": "{SECRET}"',
}

#: Prose naming a denied key with no member's shape (a quote, then ":"): kept as sent.
KEPT = [
    "please reset my password",
    f"my password is {SECRET}",
    # (f"password: {SECRET}" was here: a YAML pair, its value hidden since hostile51.)
    f"your password: {SECRET}",
    'the "password" field is required',
    'x{"user": "zoe"}',
    "a=1&b=the password is long",
]


def _head(mime: Optional[str]) -> dict[str, str]:
    return {} if mime is None else {"content-type": mime, RAW_CONTENT_TYPE: mime}


MIMES = [pytest.param("text/plain", id="text-plain"), pytest.param(None, id="no-type")]


@pytest.mark.parametrize("mime", MIMES)
@pytest.mark.parametrize("shape", LEAKED)
def test_text_before_a_denied_member_is_hidden_as_a_forms_is(shape: str,
                                                             mime: Optional[str]) -> None:
    body = LEAKED[shape].encode()
    form = "application/x-www-form-urlencoded"
    as_form = post_data(body, len(body), _head(form), DENY, 1 << 20)
    assert SECRET not in json.dumps(as_form)  # (the form reading: hostile22)
    for record in (post_data(body, len(body), _head(mime), DENY, 1 << 20),
                   content(body, len(body), _head(mime), DENY, 1 << 20)):
        assert SECRET not in json.dumps(record), (shape, record)
        assert "REDACTED" in record["text"]


@pytest.mark.parametrize("mime", MIMES)
@pytest.mark.parametrize("text", KEPT)
def test_prose_with_no_member_shape_is_kept(text: str, mime: Optional[str]) -> None:
    body = text.encode()
    assert post_data(body, len(body), _head(mime), DENY, 1 << 20)["text"] == text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=st.text(alphabet=list('ax :"&=\n'), max_size=8),
       suffix=st.text(alphabet=list('ax :"&=\n,}'), max_size=8),
       spaced=st.booleans(), mime=st.sampled_from(["text/plain", None]))
def test_a_denied_member_after_any_text_never_leaks(prefix: str, suffix: str, spaced: bool,
                                                    mime: Optional[str]) -> None:
    gap = " " if spaced else ""
    text = f'{prefix}{{"password":{gap}"{SECRET}"}}{suffix}'
    body = text.encode()
    for record in (post_data(body, len(body), _head(mime), DENY, 1 << 20),
                   content(body, len(body), _head(mime), DENY, 1 << 20)):
        assert SECRET not in json.dumps(record), (text, record)


def test_the_other_lines_are_kept_as_sent() -> None:
    text = f'user=zoe\r\nx{{"password": "{SECRET}"}}\r\nhello "world": yes'
    body = text.encode()
    record = post_data(body, len(body), _head("text/plain"), DENY, 1 << 20)
    assert record["text"] == "user=zoe\r\n%5BREDACTED%2027%5D\r\nhello \"world\": yes"


def test_a_flask_app_sends_the_text_plain_body_hidden(collector: Collector) -> None:
    log = logged_echo(collector, LEAKED["prefix"], "text/plain")
    entry = log["request"]["log"]["entries"][0]
    assert SECRET not in json.dumps(log)
    assert entry["request"]["postData"]["text"] == "%5BREDACTED%2027%5D"
    assert entry["response"]["content"]["text"] == "%5BREDACTED%2027%5D"
