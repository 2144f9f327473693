"""The caller's key in request and response cookies, masked while they are built (SPEC 6).

``request_cookies`` decides on the raw Cookie header whether a name may hold the key, and
``response_cookies`` on each Set-Cookie header whether its name, path or domain may; both
leave the masked values unsearched only for a key no mask can hold
(``CallerKey.outside_masks``). Each case below is a key that a mask, a redacted value or
a piece of a cookie does hold: the log must still show none of its spellings.
"""

from __future__ import annotations

import json
from typing import Any, Optional

import pytest

from readme_metrics.exchange import Group
from readme_metrics.har import Redactor, build_log
from readme_metrics.har.credentials import CallerKey
from readme_metrics.masking import mask
from tests.support.exchanges import make_exchange
from tests.support.har_check import assert_valid_log

VALUE = "8c1f0e2d9b7a4c3e"
MASK = mask(VALUE)
# A value whose mask has a "+" in its base64, and where it is.
PLUS_VALUE = next(f"v{n}" for n in range(1000) if "+" in mask(f"v{n}")[20:80])
PLUS_AT = mask(PLUS_VALUE).index("+", 20)


def _spaced_key() -> str:
    """20 characters of PLUS_VALUE's mask around its "+", the "+" a space (a form's)."""
    window = mask(PLUS_VALUE)[PLUS_AT - 10:PLUS_AT + 10]
    return window.replace("+", " ")


@pytest.mark.parametrize(("key", "outside"), [
    pytest.param("sk_live_4f9a8b7c6d5e4f3a2b1c", True, id="underscore"),
    pytest.param("eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl", True, id="jwt-dots"),
    pytest.param("owlbert key 0123_x", True, id="space-and-underscore"),
    pytest.param("0f8e2a3c-5b6d-4e7f-8a9b", False, id="uuid-mask-alphabet"),
    pytest.param("abc def ghij", False, id="space-as-plus-in-alphabet"),
    pytest.param("k_y?tail", False, id="question-mark"),
    pytest.param("k_1", False, id="short"),
    pytest.param("1234567.5", False, id="number"),
])
def test_outside_masks(key: str, outside: bool) -> None:
    assert CallerKey(key).outside_masks is outside


def _built(key: str, redactor: Optional[Redactor], **exchange: Any) -> tuple[Any, str]:
    """The log (as posted, read back) and its JSON text, of an exchange made with
    ``exchange``'s headers, for the caller ``key``."""
    made = make_exchange(**exchange)
    made.group = Group(key, "Owlbert")
    log = json.loads(json.dumps(build_log(made, redactor=redactor), ensure_ascii=False))
    return log, json.dumps(log, ensure_ascii=False)


def _log(cookie: str, key: str, redactor: Optional[Redactor] = None) -> tuple[Any, str]:
    return _built(key, redactor, request_headers=[("Cookie", cookie)])


@pytest.mark.parametrize(("cookie", "key", "lists"), [
    pytest.param(f"sid={VALUE}", MASK[20:52], None, id="key-inside-a-mask"),
    pytest.param(f"sid={VALUE}", MASK[-12:], None, id="key-across-the-question-mark"),
    pytest.param(f"sid={PLUS_VALUE}", _spaced_key(), None, id="spaced-key-as-plus-in-a-mask"),
    pytest.param("a=12345678", "[REDACTED 8]", Redactor(allowlist=["x"]),
                 id="key-is-a-redacted-value"),
    pytest.param("sk_live_cookie_name_1=1; b=2", "sk_live_cookie_name_1", None,
                 id="key-as-a-name"),
    pytest.param("b=2; a%5Fkey%5Fnamed%5Fhere=1", "a_key_named_here", None,
                 id="key-percent-encoded-as-a-name"),
    pytest.param("sk_live_cookie_name_1=1", "sk_live_cookie_name_1", Redactor(["b"]),
                 id="key-as-a-name-with-lists"),
])
def test_key_never_in_clear_in_request_cookies(cookie: str, key: str,
                                               lists: Optional[Redactor]) -> None:
    log, text = _log(cookie, key, lists)
    for spelling in {key, key.replace(" ", "+"), key.replace("_", "%5F")}:
        assert spelling not in text
    assert log["request"]["log"]["entries"][0]["request"]["cookies"]


def test_cookie_values_keep_their_masks_for_a_key_outside_masks() -> None:
    log, _ = _log(f"session={VALUE}; theme=dark", "sk_live_4f9a8b7c6d5e4f3a2b1c")
    assert_valid_log(log)
    cookies = log["request"]["log"]["entries"][0]["request"]["cookies"]
    assert cookies == [{"name": "session", "value": MASK}, {"name": "theme", "value": mask("dark")}]


def _response_log(set_cookie: str, key: str, redactor: Optional[Redactor] = None
                  ) -> tuple[Any, str]:
    return _built(key, redactor, response_headers=[("Content-Type", "application/json"),
                                                   ("Set-Cookie", set_cookie)])


@pytest.mark.parametrize(("set_cookie", "key", "lists"), [
    pytest.param(f"sid={VALUE}; Path=/", MASK[20:52], None, id="key-inside-a-mask"),
    pytest.param(f"sid={VALUE}", MASK[-12:], None, id="key-across-the-question-mark"),
    pytest.param(f"sid={PLUS_VALUE}", _spaced_key(), None, id="spaced-key-as-plus-in-a-mask"),
    pytest.param("a=12345678; Path=/", "[REDACTED 8]", Redactor(allowlist=["x"]),
                 id="key-is-a-redacted-value"),
    pytest.param("sk_live_cookie_name_1=1; Path=/", "sk_live_cookie_name_1", None,
                 id="key-as-a-name"),
    pytest.param("a=1; Path=/u/sk_live_cookie_path_1", "sk_live_cookie_path_1", None,
                 id="key-in-the-path"),
    pytest.param("a=1; Domain=sk-live-cookie-domain.example", "sk-live-cookie-domain",
                 Redactor(["b"]), id="key-in-the-domain-with-lists"),
    pytest.param("a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT", "2026-10-21T07:28:00",
                 None, id="key-in-the-expires-date-written"),
    pytest.param('a=1; Path={"id":1.2345678e7}', "12345678", None,
                 id="number-key-as-json-in-a-piece"),
])
def test_key_never_in_clear_in_response_cookies(set_cookie: str, key: str,
                                                lists: Optional[Redactor]) -> None:
    log, _ = _response_log(set_cookie, key, lists)
    cookies = log["request"]["log"]["entries"][0]["response"]["cookies"]
    assert cookies
    text = json.dumps(cookies, ensure_ascii=False)
    for spelling in {key, key.replace(" ", "+"), "1.2345678e7"}:
        assert spelling not in text


def test_set_cookie_values_keep_their_masks_for_a_key_outside_masks() -> None:
    log, _ = _response_log(f"session={VALUE}; Path=/; HttpOnly", "sk_live_4f9a8b7c6d5e4f3a2b1c")
    assert_valid_log(log)
    cookies = log["request"]["log"]["entries"][0]["response"]["cookies"]
    assert cookies == [{"name": "session", "value": MASK, "path": "/", "httpOnly": True}]
