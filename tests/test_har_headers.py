"""readme_metrics.har: headers and cookies, request and response (SPEC section 4): names
and their case as sent, Cookie and Set-Cookie parsed leniently, values masked or redacted.

Every table case goes through ``json.dumps``/``json.loads`` (what is actually sent) and
:func:`tests.support.har_check.assert_valid_log` (the strict HAR 1.2 schema plus the SPEC contract).
"""

from __future__ import annotations

import json
from typing import Any, Optional

import pytest

from readme_metrics.masking import mask
from readme_metrics.redaction import Redactor
from tests.support.contract import exchange, reading_app, spec_mask
from tests.support.exchanges import entry_of, make_exchange
from tests.support.fake_api import Collector

# -- headers, masking and cookies -----------------------------------------------------------


CREDENTIALS = [
    ("Host", "h"),
    ("Content-Type", "application/json"),
    ("Content-Length", "2"),
    ("authorization", "Bearer abcd1234"),
    ("Proxy-Authorization", "Basic eHl6"),
    ("Cookie", "sid=s3cr3t; theme=dark"),
    ("X-Api-Key", "key-5678"),
]


@pytest.mark.parametrize(
    ("redactor", "expected"),
    [
        pytest.param(None, [
            ("Host", "h"), ("Content-Type", "application/json"), ("Content-Length", "2"),
            ("authorization", mask("Bearer abcd1234")),
            ("Proxy-Authorization", mask("Basic eHl6")),
            ("Cookie", mask("sid=s3cr3t; theme=dark")), ("X-Api-Key", mask("key-5678")),
        ], id="credentials-masked-case-kept"),
        pytest.param(Redactor(["x-api-key", "AUTHORIZATION"]), [
            ("Host", "h"), ("Content-Type", "application/json"), ("Content-Length", "2"),
            ("authorization", "[REDACTED 15]"), ("Proxy-Authorization", mask("Basic eHl6")),
            ("Cookie", mask("sid=s3cr3t; theme=dark")), ("X-Api-Key", "[REDACTED 8]"),
        ], id="redacted-not-masked-again"),
        pytest.param(Redactor((), ["host", "cookie"]), [
            ("Host", "h"), ("Content-Type", "[REDACTED 16]"), ("Content-Length", "[REDACTED 1]"),
            ("authorization", "[REDACTED 15]"), ("Proxy-Authorization", "[REDACTED 10]"),
            ("Cookie", mask("sid=s3cr3t; theme=dark")), ("X-Api-Key", "[REDACTED 8]"),
        ], id="allowlist"),
    ],
)
def test_request_headers(redactor: Optional[Redactor],
                         expected: list[tuple[str, str]]) -> None:
    exchange = make_exchange(
        method="POST", request_headers=CREDENTIALS, request_body=b"{}", request_body_size=2,
    )
    entry = entry_of(exchange, redactor=redactor)
    assert [(h["name"], h["value"]) for h in entry["request"]["headers"]] == expected


@pytest.mark.parametrize(
    ("headers", "redactor", "expected"),
    [
        pytest.param([("Cookie", "a=1; b=2")], None,
                     [("a", mask("1")), ("b", mask("2"))], id="plain"),
        pytest.param([("Cookie", "a=1"), ("cookie", "b=2")], None,
                     [("a", mask("1")), ("b", mask("2"))], id="several-headers"),
        pytest.param([("Cookie", ' a = "q v" ;;b=x=y; flag')], None,
                     [("a", mask('"q v"')), ("b", mask("x=y")), ("", mask("flag"))],
                     id="lenient"),
        # A cookie without "=" is a value with an empty name (RFC 6265bis 5.6), as
        # browsers and Starlette read it: masked, never a name in clear.
        pytest.param([("Cookie", "s3cr3t-session")], None, [("", mask("s3cr3t-session"))],
                     id="nameless-value"),
        pytest.param([("Cookie", "a=1; s3cr3t")], Redactor(allowlist=["cookie", "a"]),
                     [("a", mask("1")), ("", "[REDACTED 6]")], id="nameless-value-unlisted"),
        pytest.param([("Cookie", "=; ; =v")], None, [("", mask("v"))], id="malformed"),
        pytest.param([("Cookie", "sid=abc; theme=dark")], Redactor(["SID"]),
                     [("sid", "[REDACTED 3]"), ("theme", mask("dark"))], id="denylisted"),
        pytest.param([], None, [], id="none"),
    ],
)
def test_request_cookies(headers: list[tuple[str, str]], redactor: Optional[Redactor],
                         expected: list[tuple[str, str]]) -> None:
    entry = entry_of(make_exchange(request_headers=headers), redactor=redactor)
    assert [(c["name"], c["value"]) for c in entry["request"]["cookies"]] == expected


@pytest.mark.parametrize(
    ("set_cookies", "redactor", "expected"),
    [
        pytest.param(
            ["sid=abc; Path=/; Domain=example.com; Expires=Wed, 21 Oct 2026 07:28:00 GMT; "
             "HttpOnly; Secure; SameSite=Lax; Max-Age=60"], None,
            # Max-Age wins over Expires (RFC 6265 5.3), counted from when the response
            # started (STARTED + wait: 2026-11-21T10:31:43.133Z); HAR has no SameSite.
            [{"name": "sid", "value": mask("abc"), "path": "/", "domain": "example.com",
              "expires": "2026-11-21T10:32:43.133Z", "httpOnly": True, "secure": True}],
            id="all-attributes",
        ),
        pytest.param(["a=1; Max-Age=3600; Expires=Wed, 21 Oct 2026 07:28:00 GMT",
                      "b=2; max-age=86400", "c=3; Max-Age=0", "d=4; Max-Age=-1",
                      "e=5; Max-Age=9" + "9" * 5000, "f=6; Max-Age=-" + "9" * 20,
                      # Leading zeros say nothing: 60 s, not "beyond any date".
                      "g=7; Max-Age=" + "0" * 30 + "60"],
                     None,
                     [{"name": "a", "value": mask("1"), "expires": "2026-11-21T11:31:43.133Z"},
                      {"name": "b", "value": mask("2"), "expires": "2026-11-22T10:31:43.133Z"},
                      {"name": "c", "value": mask("3"), "expires": "1970-01-01T00:00:00.000Z"},
                      {"name": "d", "value": mask("4"), "expires": "1970-01-01T00:00:00.000Z"},
                      {"name": "e", "value": mask("5"), "expires": "9999-12-31T23:59:59.000Z"},
                      {"name": "f", "value": mask("6"), "expires": "1970-01-01T00:00:00.000Z"},
                      {"name": "g", "value": mask("7"), "expires": "2026-11-21T10:32:43.133Z"}],
                     id="max-age"),
        pytest.param(["a=1; Max-Age=1.5; Expires=Wed, 21 Oct 2026 07:28:00 GMT",
                      "b=2; Max-Age=+5", "c=3; Max-Age=", "d=4; Max-Age=\u0663",
                      "e=5; Max-Age=60; Max-Age=x"],
                     None,
                     [{"name": "a", "value": mask("1"), "expires": "2026-10-21T07:28:00.000Z"},
                      {"name": "b", "value": mask("2")}, {"name": "c", "value": mask("3")},
                      {"name": "d", "value": mask("4")},
                      {"name": "e", "value": mask("5"), "expires": "2026-11-21T10:32:43.133Z"}],
                     id="max-age-not-a-number-ignored"),
        pytest.param(["a=1", "b=2; path=/x; secure"], None,
                     [{"name": "a", "value": mask("1")},
                      {"name": "b", "value": mask("2"), "path": "/x", "secure": True}],
                     id="every-header"),
        pytest.param(["a=1; Expires=not a date; HttpOnly"], None,
                     [{"name": "a", "value": mask("1"), "httpOnly": True}],
                     id="bad-expires-dropped"),
        pytest.param(["a=1; Expires=Wednesday, 21-Oct-26 07:28:00 GMT"], None,
                     [{"name": "a", "value": mask("1"), "expires": "2026-10-21T07:28:00.000Z"}],
                     id="netscape-date"),
        pytest.param([";;", "s3cr3t; Path=/"], None,
                     [{"name": "", "value": mask("s3cr3t"), "path": "/"}],
                     id="malformed-and-nameless"),
        pytest.param(["token=xyz; Path=/"], Redactor(["token"]),
                     [{"name": "token", "value": "[REDACTED 3]", "path": "/"}],
                     id="denylisted"),
    ],
)
def test_response_cookies(set_cookies: list[str], redactor: Optional[Redactor],
                          expected: list[dict[str, Any]]) -> None:
    headers = [("Content-Type", "text/plain")] + [("Set-Cookie", c) for c in set_cookies]
    entry = entry_of(make_exchange(response_headers=headers, response_body=b"ok",
                                   response_body_size=2), redactor=redactor)
    assert entry["response"]["cookies"] == expected
    for header in entry["response"]["headers"][1:]:
        assert header["name"] == "Set-Cookie"
        assert header["value"].startswith(("sha512-", "[REDACTED"))


def test_response_headers_as_sent() -> None:
    headers = [("Content-Type", "application/json"), ("X-Thing", "a"), ("x-thing", "b"),
               ("x-documentation-url", "https://docs/logs/1")]
    entry = entry_of(make_exchange(response_headers=headers))
    assert [(h["name"], h["value"]) for h in entry["response"]["headers"]] == headers


# -- the log as the Metrics API gets it, through the middleware (SPEC 4, black box) --------


def test_request_headers_cookies_and_http_version(inline_wrap: Any, collector: Collector) -> None:
    _, _, entry = exchange(
        inline_wrap(reading_app()), collector, method="POST", body=b'{"a": 1}',
        headers={"Content-Type": "application/json", "X-Api-Key": "visible",
                 "Cookie": "theme=dark; session=abcdef123456", "Host": "api.example.com"})
    request = entry["request"]
    assert request["method"] == "POST"
    assert request["httpVersion"] == "HTTP/1.0"  # SERVER_PROTOCOL of the environ
    headers = {h["name"].lower(): h["value"] for h in request["headers"]}
    assert headers["content-type"] == "application/json"
    assert headers["content-length"] == "8"
    assert headers["x-api-key"] == spec_mask("visible")  # a credential header (SPEC 6)
    assert headers["host"] == "api.example.com"
    assert headers["cookie"] == spec_mask("theme=dark; session=abcdef123456")
    assert [c["name"] for c in request["cookies"]] == ["theme", "session"]
    # Cookie values are credentials too: never in clear (masked like the header).
    assert [c["value"] for c in request["cookies"]] == [spec_mask("dark"),
                                                       spec_mask("abcdef123456")]
    assert request["bodySize"] == 8


@pytest.mark.parametrize("name", ["Set-Cookie", "set-cookie", "SET-COOKIE"])
def test_set_cookie_masked_and_parsed_header_name_case_kept(
        inline_wrap: Any, collector: Collector, name: str) -> None:
    value = "session=s3cr3t-token-value; Path=/; HttpOnly"
    _, _, entry = exchange(
        inline_wrap(reading_app(headers=[("Content-Type", "text/plain"), (name, value)])),
        collector)
    response = entry["response"]
    assert {"name": name, "value": spec_mask(value)} in response["headers"]
    [cookie] = response["cookies"]
    assert cookie["name"] == "session" and cookie["value"] == spec_mask("s3cr3t-token-value")
    assert "s3cr3t-token-value" not in json.dumps(entry)


@pytest.mark.parametrize(("started", "expires"), [
    pytest.param(float("nan"), None, id="nan"),
    pytest.param("soon", None, id="not-a-number"),
    pytest.param(1e300, "9999-12-31T23:59:59.000Z", id="beyond-the-year-9999"),
    pytest.param(-1e6, "1970-01-01T00:00:00.000Z", id="before-1970"),
])
def test_a_max_age_from_an_impossible_start_time_never_costs_the_log(
        started: Any, expires: Optional[str]) -> None:
    headers = [("Content-Type", "text/plain"), ("Set-Cookie", "a=1; Max-Age=60")]
    entry = entry_of(make_exchange(started=started, response_headers=headers,
                                   response_body=b"ok", response_body_size=2))
    assert entry["response"]["cookies"][0].get("expires") == expires


@pytest.mark.parametrize(("name", "value", "expected"), [
    pytest.param("X-Original-URL", "/p?a=1&token=S3", "/p?a=1&token=%5BREDACTED%202%5D",
                 id="x-original-url"),
    pytest.param("X-Forwarded-Uri", "/p?token=S3#x", "/p?token=%5BREDACTED%202%5D#x",
                 id="x-forwarded-uri"),
    pytest.param("X-Original-URI", "/p?token=S3", "/p?token=%5BREDACTED%202%5D",
                 id="x-original-uri"),
    pytest.param("X-Rewrite-URL", "/p?token=S3", "/p?token=%5BREDACTED%202%5D",
                 id="x-rewrite-url"),
    pytest.param("X-Envoy-Original-Path", "/p?token=S3", "/p?token=%5BREDACTED%202%5D",
                 id="x-envoy-original-path"),
    pytest.param("Link", '<https://x/p?page=2&token=S3>; rel="next", <https://x/p?token=S3'
                 '#a>; rel=last',
                 '<https://x/p?page=2&token=%5BREDACTED%202%5D>; rel="next", '
                 '<https://x/p?token=%5BREDACTED%202%5D#a>; rel=last', id="link"),
    pytest.param("Link", "token=S3", "token=S3", id="link-without-a-target"),
    # The anchor parameter is a link's other URL (RFC 8288 3.2), quoted.
    pytest.param("Link", '<https://x/p>; rel=next; Anchor = "https://x/a?token=S3"',
                 '<https://x/p>; rel=next; Anchor = "https://x/a?token=%5BREDACTED%202%5D"',
                 id="link-anchor"),
    # An origin has no query (RFC 6454), but a client may send one, and CORS middleware
    # echoes it back in Access-Control-Allow-Origin.
    pytest.param("Origin", "https://x/?token=S3", "https://x/?token=%5BREDACTED%202%5D",
                 id="origin"),
    pytest.param("Access-Control-Allow-Origin", "https://x/?token=S3",
                 "https://x/?token=%5BREDACTED%202%5D", id="access-control-allow-origin"),
])
def test_a_header_holding_a_url_has_its_query_redacted(name: str, value: str,
                                                       expected: str) -> None:
    """Proxies and rewrites pass the URL a client asked for on in a header, query and
    all; a Link header's targets (pagination) are URLs too."""
    entry = entry_of(make_exchange(request_headers=[("Host", "h"), (name, value)],
                                   response_headers=[(name, value)]),
                     redactor=Redactor(["token"]))
    assert [h["value"] for h in entry["request"]["headers"] if h["name"] == name] == [expected]
    assert [h["value"] for h in entry["response"]["headers"] if h["name"] == name] == [
        expected]


@pytest.mark.parametrize(("lists", "value", "expected"), [
    pytest.param({"denylist": ["token"]}, '{"path": "/a", "Token": "S3", "n": [{"token": 1}]}',
                 '{"path":"/a","Token":"[REDACTED 2]","n":[{"token":"[REDACTED]"}]}',
                 id="denylist"),
    pytest.param({"denylist": ["token"]}, '{"path": "/a"}', '{"path": "/a"}',
                 id="nothing-to-redact-kept-as-sent"),
    pytest.param({"denylist": ["token"]}, '{"token": "S3', "[REDACTED 13]",
                 id="broken-json-naming-a-denied-key"),
    pytest.param({"denylist": ["token"], "allowlist": ["dropbox-api-arg", "host"]},
                 '{"token": "S3", "b": 1}', '{"token":"[REDACTED 2]","b":1}',
                 id="listed-header-denylist-still-wins"),
    pytest.param({"allowlist": ["dropbox-api-arg", "host"]}, '{"token": "S3"}',
                 '{"token": "S3"}', id="listed-header-kept-whole"),
    # No JSON (an IPv6 host starts so too): kept.
    pytest.param({"denylist": ["token"], "allowlist": ["dropbox-api-arg", "host"]},
                 "[::1]:80", "[::1]:80", id="not-json-kept"),
    # No quote, so no JSON key in it, even when it says a denied name (review10): kept.
    pytest.param({"denylist": ["db", "token", "id"]}, "[2001:db8::1]:443",
                 "[2001:db8::1]:443", id="ipv6-naming-a-denied-word-kept"),
    pytest.param({"denylist": ["token"]}, "[token refresh failed]",
                 "[token refresh failed]", id="bracketed-text-kept"),
    pytest.param({"denylist": ["id"]}, "{id}", "{id}", id="braced-word-kept"),
])
def test_a_header_holding_json_is_redacted_key_by_key(
        lists: dict[str, list[str]], value: str, expected: str) -> None:
    """A header value holding JSON (Dropbox's Dropbox-API-Arg), as a form field holding
    JSON is: SPEC 6's lists match its keys, the header stays JSON."""
    entry = entry_of(make_exchange(request_headers=[("Host", "h"), ("Dropbox-API-Arg", value)],
                                   response_headers=[("Dropbox-API-Result", value)]),
                     redactor=Redactor(lists.get("denylist", ()), lists.get("allowlist", ())))
    assert entry["request"]["headers"][1] == {"name": "Dropbox-API-Arg", "value": expected}
    if "allowlist" not in lists:
        assert entry["response"]["headers"][0] == {"name": "Dropbox-API-Result",
                                                   "value": expected}


def test_a_short_caller_key_in_a_link_target_is_masked() -> None:
    """A key too short to mask inside text is masked where a URL's value is it whole: a
    Link header's targets are URLs."""
    from urllib.parse import quote

    from readme_metrics.exchange import Group

    entry = entry_of(make_exchange(group=Group("k9"), response_headers=[
        ("Link", '</p?k=k9&b=k9x>; rel="next"; title=k9')]))
    assert [h["value"] for h in entry["response"]["headers"] if h["name"] == "Link"] == [
        f'</p?k={quote(mask("k9"), safe="")}&b=k9x>; rel="next"; title=k9']


@pytest.mark.parametrize(("name", "redactor", "expected"), [
    # ASGI servers pass a name with "_" on as sent; Django's ASGI handler (as CGI and
    # uWSGI) reads x_api_key as X-Api-Key: a credential header either way.
    pytest.param("X_Api_Key", None, spec_mask("s3cr3t"), id="credential-request"),
    pytest.param("proxy_authorization", None, spec_mask("s3cr3t"), id="credential-lower"),
    pytest.param("X-Auth_Token", None, spec_mask("s3cr3t"), id="credential-mixed"),
    pytest.param("x_secret", Redactor(["X-Secret"]), "[REDACTED 6]", id="denied-dashed"),
    pytest.param("x_secret", Redactor(["x_secret"]), "[REDACTED 6]", id="denied-as-sent"),
    pytest.param("x_ok", Redactor(allowlist=["x-ok"]), "s3cr3t", id="allowed-dashed"),
    pytest.param("x_no", Redactor(allowlist=["x-ok"]), "[REDACTED 6]", id="not-allowed"),
    pytest.param("x_ok", Redactor(["x_ok"], ["x-ok"]), "[REDACTED 6]",
                 id="denied-wins-over-allowed"),
    pytest.param("x_note", None, "s3cr3t", id="plain"),
])
def test_a_header_name_with_underscores_is_the_dashed_one(
        name: str, redactor: Optional[Redactor], expected: str) -> None:
    """Request and response headers alike."""
    exchange = make_exchange(request_headers=[(name, "s3cr3t")],
                             response_headers=[(name, "s3cr3t")])
    entry = entry_of(exchange, redactor=redactor)
    assert entry["request"]["headers"] == [{"name": name, "value": expected}]
    assert entry["response"]["headers"] == [{"name": name, "value": expected}]


def _masked_userinfo(url: str, userinfo: str) -> str:
    """A token alone shorter than 20 characters hidden whole (hostile54: its mask showed
    its last four, a third of this one; a longer one is masked); a user and password with
    the password hidden whole, the user kept (hostile52: its mask showed the password's
    last four characters)."""
    user, colon, password = userinfo.partition(":")
    hidden = (f"{user}:%5BREDACTED%20{len(password)}%5D" if colon
              else f"%5BREDACTED%20{len(userinfo)}%5D")
    return url.replace(userinfo + "@", hidden + "@", 1)


@pytest.mark.parametrize(("name", "value", "userinfo"), [
    pytest.param("Referer", "https://bob:s3cretpw@app.example/p?x=1", "bob:s3cretpw",
                 id="referer"),
    pytest.param("Location", "https://bob:s3cretpw@h.example/next", "bob:s3cretpw",
                 id="location"),
    # A token as the user alone (https://<token>@host, as git hosts take one).
    pytest.param("Content-Location", "https://ghp_t0k3n1234@h.example/r", "ghp_t0k3n1234",
                 id="user-alone"),
    pytest.param("Location", "//bob:s3cretpw@h.example/next", "bob:s3cretpw",
                 id="scheme-relative"),
    pytest.param("Link", "<https://bob:s3cretpw@h.example/p?page=2>; rel=next",
                 "bob:s3cretpw", id="link-target"),
])
def test_a_user_and_password_in_a_url_header_are_masked(name: str, value: str,
                                                         userinfo: str) -> None:
    """A URL's userinfo is a credential (a browser sends it as Authorization: Basic): in a
    header holding a URL it went out in clear. It is masked as Authorization is, the
    mask percent-encoded so the URL stays a URL (leak2); a password hidden whole, its
    user kept (hostile52)."""
    entry = entry_of(make_exchange(request_headers=[("Host", "h"), (name, value)],
                                   status=302, response_headers=[(name, value)]))
    expected = _masked_userinfo(value, userinfo)
    for side in ("request", "response"):
        assert [h["value"] for h in entry[side]["headers"] if h["name"] == name] == [
            expected]
    if name == "Location":
        assert entry["response"]["redirectURL"] == expected


@pytest.mark.parametrize("value", [
    pytest.param("https://h.example/p?email=a@b.example", id="at-in-the-query"),
    pytest.param("/p/a@b", id="at-in-a-path"),
    pytest.param("mailto:a@b.example", id="no-authority"),
])
def test_an_at_sign_outside_the_authority_is_kept(value: str) -> None:
    entry = entry_of(make_exchange(status=302, response_headers=[("Location", value)]))
    assert entry["response"]["redirectURL"] == value


KEY = "sk_live_0123456789abcdef0123"


@pytest.mark.parametrize(("name", "value"), [
    pytest.param("Host", f"{KEY}.example.com", id="host-holding-it"),
    pytest.param("Content-Type", f"application/json; profile={KEY}", id="noted-type"),
    pytest.param("Content-Type", f"text/plain; k={KEY.replace('_', '%5F')}",
                 id="percent-encoded"),
    pytest.param("X-Documentation-Url", f"https://d.example.com/logs/{KEY}",
                 id="docs-header"),
    pytest.param("Link", f'<https://a.example.com/p>; title="{KEY}"', id="link"),
    pytest.param("Content-Length", KEY, id="equal-to-it"),
])
def test_the_callers_key_in_a_header_headers_handle_by_kind_is_masked(name: str,
                                                                      value: str) -> None:
    """The headers headers() gives their own treatment (authority, noted, Link, the
    docs header) have the caller's key masked as CallerKey.text masks it, as the plain
    ones do (the test is written inline there, not a may_hold call)."""
    from readme_metrics.har.credentials import for_key
    from readme_metrics.har.headers import headers

    caller = for_key(KEY)
    assert caller is not None
    out, _ = headers([(name, value)], None, caller)
    assert out[0]["value"] == caller.text(value) != value
    assert KEY not in out[0]["value"]
    other = value.replace("sk", "zz")  # no spelling of the key left: kept as it is
    assert headers([(name, other)], None, caller)[0][0]["value"] == other
