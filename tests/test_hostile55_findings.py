"""hostile55: what hostile51 to 54 left in a URL's userinfo, a proxy's pairs, hypercorn's
HTTP/2 resets and a script's assignments.

1. A raw backslash in a body URL's password (``http://ada:p\\w@host/``, in a text, a
   JSON string's ``p\\\\w``, after an escaped user ``http://a\\da:pw@host/``, before the
   ``@``: ``p\\@host``) ended the body reader's authority: no ``@`` after it, the password
   sent in clear. A header's URL hid it (read loosely, as a ``/`` in a password);
   curl and Python's ``urlsplit`` take it as the password. Read so in a body now.
2. A URL percent-encoded in part (``https%3A%2F%2Fada:pw%40h``, ``https://ada%3Apw%40h``,
   a query value's: ``:`` or ``@`` left as written) was no URL to the encoded reader,
   which wanted each of them encoded. (``\\u`` escapes with ``%`` in them were read:
   guards.)
3. ``Forwarded: host=ada:p"w@h``: a quote inside an unquoted value started the
   authority after it (``w``), ``ada:p"`` sent; ``host=ada:p="w@h``: its ``="`` read
   as a quoted value's start, ``p=`` sent.
4. The user-alone rule (:func:`readme_metrics.har.text_userinfo.hidden_user`) kept
   ``deadbeef`` (a hex token's shape) and hid ``Admin``. One rule now, as BODIES.md
   states it: a letter, then lowercase letters, digits, ``.``, ``_``, ``-``, two digits
   at most, not 8 or more hex digits alone; anything else shorter than 20 hidden whole.
   Its escapes are decoded once (a header's, a body's), twice in an encoded URL (a
   query's): sound, pinned.
5. With no lists a body's URL is logged as sent (SPEC section 6: a value is redacted by
   a list's key, or as the caller's key; README: "a URL's password in any body" by the
   denylist): sound, pinned, its docs made to say so.
6. hypercorn over HTTP/2: a client's RST_STREAM after the whole answer went out (its
   END_STREAM sent: a client that had not sent all of its request resets it) made the
   log say 499, the client gone before the answer.
7. A script's subscript assignments (``obj["password"] = "x"``) are hidden; ``obj[key]``
   names no key: kept. Sound, pinned.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.har.text_userinfo import hidden_user
from tests.support.capped_child import secrets_hidden_in_capped_child
from tests.support.fake_api import Collector
from tests.support.flask_echo import echo_server, posted_through
from tests.support.logged_urls import denied_bodies, header_values, query_as_written

SECRET = "Zq8h-s3cr3t"


# 1. A backslash in a body URL's password --------------------------------------------------

BACKSLASHED = {
    "text": ("text/plain", "see http://ada:p\\w-%s@host/ now"),
    "json": ("application/json", json.dumps({"u": "http://ada:p\\w-%s@host/"})),
    "javascript": ("application/javascript", 'const u = "http://ada:p\\\\w-%s@host/";'),
    "before-at": ("text/plain", "see http://ada:%s\\@host/ now"),
    "json-slash": ("application/json", '{"u": "http:\\/\\/ada:p\\\\w-%s@host\\/"}'),
    "escaped": ("application/json", '{"u": "http:\\u002f\\u002fada:p\\\\w-%s\\u0040host"}'),
    "user": ("text/plain", "see http://a\\da:%s@host/ now"),
    # guard (hidden before): a form's value, percent-encoded
    "form": ("application/x-www-form-urlencoded", "u=http%%3A%%2F%%2Fada%%3Ap%%5Cw-%s%%40host"),
}


@pytest.mark.parametrize("shape", BACKSLASHED)
def test_a_backslash_in_a_body_urls_password_is_hidden(shape: str) -> None:
    """Failed before: 7 of 8 (the password sent); form passed (guard)."""
    mime, body = BACKSLASHED[shape]
    for text in denied_bodies(body % SECRET, mime):
        assert SECRET not in text and "REDACTED" in text, text


def test_a_backslash_password_reads_as_a_header_does() -> None:
    """The body's reading is the header's: the user and host kept, the password's
    length. Failed before (sent)."""
    url = "http://ada:p\\w@host/"
    assert header_values("Referer", url) == ["http://ada:%5BREDACTED%203%5D@host/"]
    assert denied_bodies(f"see {url}", "text/plain")[0] == "see http://ada:%5BREDACTED%203%5D@host/"


@pytest.mark.parametrize("text", [
    "https://ada:pw@host\\@evil/x",  # the host before the backslash (hostile54)
    "https://host:8080\\@evil/", "https:\\/\\/host:8080\\/a@b",  # a port, then a path
    "C:\\Users\\ada@corp", "see \\\\server\\share ada@example.com",
])
def test_a_backslash_after_the_host_or_a_port_is_no_password(text: str) -> None:
    """Guards: passed before."""
    logged = denied_bodies(f"see {text} now", "text/plain")[0]
    if "pw" in text:
        assert logged == "see https://ada:%5BREDACTED%202%5D@host\\@evil/x now"
    else:
        assert logged == f"see {text} now"


# 2. A URL encoded in part -------------------------------------------------------------------

PARTLY = {
    "raw-colon": "https%3A%2F%2Fada:{}%40h%2Fx",
    "raw-at": "https%3A%2F%2Fada%3A{}@h%2Fx",
    "raw-slashes": "https%3A//ada%3A{}%40h/x",
    "raw-scheme-colon": "https:%2F%2Fada%3A{}%40h",
    "raw-scheme": "https://ada%3A{}%40h/x",
    "json-slashes": "https%3A\\/\\/ada%3A{}%40h",
    # guards (hidden before)
    "all": "https%3A%2F%2Fada%3A{}%40h%2Fx",
    "lower": "https%3a%2f%2fada%3a{}%40h",
}


@pytest.mark.parametrize("shape", PARTLY)
def test_a_partly_encoded_urls_password_is_hidden(shape: str) -> None:
    """In a query's value (its url and queryString), a form's and a text. Failed before:
    6 of 8 (sent); all and lower passed (guards)."""
    written = PARTLY[shape].format(SECRET)
    sent = list(query_as_written(written)) if "\\" not in written else []
    sent += denied_bodies(f"next={written}", "application/x-www-form-urlencoded")
    sent += denied_bodies(f"see {written} now", "text/plain")
    for text in sent:
        assert SECRET not in text and "REDACTED" in text, (text, sent)


@pytest.mark.parametrize("written", [
    "http:\\/\\/ada:p%40w-{}@h/", "http\\u003a//ada:{}@h/", "\\u0068ttp://ada:{}@h/",
    "http:\\u002f\\u002fada:p%40w-{}\\u0040h/", "\\u0068ttp\\u003a\\/\\/ada\\u003a{}%40w\\u0040h",
])
def test_escapes_and_percent_escapes_together(written: str) -> None:
    """Guards (the brief's shapes): passed before."""
    for text in denied_bodies('{"u": "' + written.format(SECRET) + '"}', "application/json"):
        assert SECRET not in text and "REDACTED" in text, text


@pytest.mark.parametrize("text", [
    "https://h.example/a%40b", "mail%3A ada@example.com", "https%3A%2F%2Fh%2Fa@b.c",
    "https://ada@example.com/?q=%2F", "a=1%2F2&b=ada@example.com",
])
def test_encoded_texts_without_a_userinfo_are_kept(text: str) -> None:
    """Guards: passed before."""
    assert denied_bodies(text, "text/plain") == [text, text]


# 3. A quote inside a proxy's unquoted value ------------------------------------------------

#: value as sent (the secret's place ``{}``) -> as logged (its password's length ``{}``)
FORWARDED = {
    "forwarded": ('host=ada:p"w-{}@h', "host=ada:%5BREDACTED%20{}%5D@h", 4),
    "forwarded-pairs": ('for=1.2.3.4;host=ada:p"w-{}@h;proto=https',
                        "for=1.2.3.4;host=ada:%5BREDACTED%20{}%5D@h;proto=https", 4),
    "inner-equals-quote": ('host=ada:p="w-{}@h', "host=ada:%5BREDACTED%20{}%5D@h", 5),
    "quoted-then-at": ('host="ada:p-{}"@h', 'host="ada:%5BREDACTED%20{}%5D"@h', 2),
    # guards (hidden before): a quoted value, its escaped quote; a quoted for= first
    "quoted": ('host="ada:p\\"w-{}@h"', 'host="ada:%5BREDACTED%20{}%5D@h"', 5),
    "quoted-for": ('for="[::1]:80";host=ada:p-{}@h',
                   'for="[::1]:80";host=ada:%5BREDACTED%20{}%5D@h', 2),
}


@pytest.mark.parametrize("shape", FORWARDED)
def test_a_quote_in_an_unquoted_forwarded_value(shape: str) -> None:
    """Failed before: 4 of 6 (``ada:p"``, ``p=`` or the quoted ``ada:p-...`` sent);
    quoted, quoted-for passed (guards)."""
    value, logged, around = FORWARDED[shape]
    assert header_values("Forwarded", value.format(SECRET)) == [
        logged.format(around + len(SECRET))]


def test_a_quote_in_an_x_forwarded_host_list() -> None:
    """Failed before (the password's start, before its quote, sent)."""
    [logged] = header_values("X-Forwarded-Host", f'a.example, ada:{SECRET}"w@b')
    assert SECRET not in logged and logged.endswith("@b"), logged
    assert header_values("X-Forwarded-Host", '"ada:pw@h"') == ['"ada:%5BREDACTED%202%5D@h"']


# 4. The user-alone rule ----------------------------------------------------------------------

_LOWER = "abcdefghijklmnopqrstuvwxyz"
_HEX = set("0123456789abcdefABCDEF")


def _reads_as_a_name(user: str) -> bool:
    """The rule as BODIES.md states it, written without the module's pattern."""
    return (user[:1].isascii() and user[:1].isalpha()
            and all(c in _LOWER + "0123456789._-" for c in user[1:])
            and sum(c.isdigit() for c in user) <= 2
            and not (len(user) >= 8 and set(user) <= _HEX))


#: user names: a letter, lowercase letters and signs, two digits at most
_NAMES = st.builds(
    lambda first, rest, digits: first + rest + digits,
    st.sampled_from(_LOWER + _LOWER.upper()),
    st.text(_LOWER + "._-", max_size=12), st.text("0123456789", max_size=2))


@settings(max_examples=200)
@given(user=_NAMES)
def test_a_user_name_alone_is_kept(user: str) -> None:
    """A header's or a body's (as written), a query's (encoded once more: the same, these
    characters need no escape). Failed before (``Admin``: a capital first, hidden)."""
    expected = user if _reads_as_a_name(user) else f"%5BREDACTED%20{len(user)}%5D"
    assert hidden_user(user) == expected
    assert hidden_user(user, True) == expected


@settings(max_examples=300)
@given(user=st.text("abcdefXYZ0123456789._-+!~%", min_size=1, max_size=19))
def test_the_user_alone_rule_on_both_sides(user: str) -> None:
    """Whatever a short user is, it is kept exactly when the stated rule reads it as a
    name, else hidden whole: failed before (``Xab`` hidden, ``deadbeef`` kept)."""
    from urllib.parse import unquote

    shown = unquote(user)
    # (or holding what no token holds: text before an address's @, review144; a
    # backslash, review145)
    kept = _reads_as_a_name(shown) or any(
        c in ",;|'(){}^\\" or not c.isascii() for c in shown)
    assert hidden_user(user) == (user if kept else f"%5BREDACTED%20{len(shown)}%5D")


@pytest.mark.parametrize("user, kept", [
    ("Admin", True), ("Administrator", True), ("Ada", True), ("ec2-user", True),
    ("deadbeef", False), ("cafebabe", False), ("DEADBEEF", False), ("a1b2c3d4", False),
    ("ADMIN", False), ("JohnDoe", False), ("0123", False), ("beef", True), ("deadbee", True),
])
def test_the_user_alone_rule_in_a_header_and_a_body(user: str, kept: bool) -> None:
    """Failed before: 5 of 13 (Admin, Administrator, Ada hidden; deadbeef, cafebabe kept)."""
    logged = user if kept else f"%5BREDACTED%20{len(user)}%5D"
    assert header_values("Referer", f"https://{user}@h/x") == [f"https://{logged}@h/x"]
    assert denied_bodies(f"see https://{user}@h/x", "text/plain")[0] == f"see https://{logged}@h/x"


@pytest.mark.parametrize("written, kept", [
    ("%41dmin", True),  # Admin
    ("%2541dmin", False),  # a header's user %41dmin: an escape, token-like
    ("%2561da", False),
])
def test_a_users_escapes_are_decoded_once_in_a_url(written: str, kept: bool) -> None:
    """A header's URL: its user decoded once. Failed before: %41dmin (Admin: hidden)."""
    logged = written if kept else "%5BREDACTED%20{}%5D"
    [value] = header_values("Referer", f"https://{written}@h/")
    assert value == "https://" + logged.format(7 if "41" in written else 5) + "@h/", value


@pytest.mark.parametrize("written, kept", [
    ("%252541dmin", False),  # the URL https://%2541dmin@h: its user %41dmin
    ("%2541dmin", True),  # the URL https://%41dmin@h: its user Admin
    ("%2561da", True),  # ada
])
def test_a_query_values_url_is_decoded_once_more(written: str, kept: bool) -> None:
    """A query's value is a URL encoded once more: its user decoded twice (the value's
    escape, the URL's). Failed before: %2541dmin (Admin: hidden)."""
    url, value = query_as_written(f"https%3A%2F%2F{written}%40h%2F")
    if kept:
        assert written in url, url
    else:
        assert written not in url and "REDACTED" in url and "REDACTED" in value, (url, value)


# 5. With no lists a body is logged as sent -------------------------------------------------

def test_with_no_lists_a_bodys_userinfo_is_as_sent() -> None:
    """SPEC section 6: a value is hidden by a list's key or as the caller's key; README:
    a URL's password in a body by the denylist. A header's URL has its password hidden
    always. Passed before (pinned); the docs said "a body alike"."""
    text = f"see https://Zq8h22Xw@h/ and https://ada:{SECRET}@h/ and https://a1b2c3d4@h/"
    assert denied_bodies(text, "text/plain", None) == [text, text]
    quoted = json.dumps({"u": text})
    assert denied_bodies(quoted, "application/json", None)[0] == quoted
    hidden = denied_bodies(text, "text/plain")[0]
    assert SECRET not in hidden and "Zq8h22Xw" not in hidden and "a1b2c3d4" not in hidden
    assert header_values("Referer", f"https://ada:{SECRET}@h/") == [
        f"https://ada:%5BREDACTED%20{len(SECRET)}%5D@h/"]


# 6. An HTTP/2 reset after the whole answer ---------------------------------------------------

class _Reader:
    """hypercorn's asyncio worker's reader (its ``_buffer``: what it read, unread)."""

    def __init__(self, data: bytes) -> None:
        self._buffer = bytearray(data)

    def exception(self) -> None:
        return None


class _Server:
    """hypercorn's TCP server: its ``send`` the protocol's ``send``."""

    def __init__(self, data: bytes) -> None:
        self.reader = _Reader(data)

    async def send(self, event: object) -> None:
        raise AssertionError("nothing is sent")


class _Protocol:
    """hypercorn's H2Protocol: its h2 connection, its ``stream_send`` the stream's."""

    def __init__(self, server: _Server, connection: Any) -> None:
        self.connection, self.send = connection, server.send

    async def stream_send(self, event: object) -> None:
        raise AssertionError("nothing is sent")


class _Stream:
    """hypercorn's HTTPStream: its ``send`` the protocol's ``stream_send``."""

    def __init__(self, protocol: _Protocol, stream_id: int) -> None:
        self.stream_id, self.send = stream_id, protocol.stream_send
        self.scope = {"type": "http", "http_version": "2"}


def _reset_after(answered: str, request_ended: bool, pruned: bool = False) -> bool:
    """hypercorn_reset of a stream that h2 connections (a client's, the server's) carried:
    the request (ended or not), the answer (``none``, ``part`` of it, or ``whole``), then
    the client's RST_STREAM, which the server holds unread."""
    h2_config = pytest.importorskip("h2.config")
    from h2.connection import H2Connection
    from h2.errors import ErrorCodes

    from readme_metrics.capture.asgi_servers import hypercorn_reset

    client = H2Connection(h2_config.H2Configuration(client_side=True))
    server = H2Connection(h2_config.H2Configuration(client_side=False))
    client.initiate_connection()
    server.initiate_connection()
    for _ in range(2):
        server.receive_data(client.data_to_send())
        client.receive_data(server.data_to_send())
    client.send_headers(1, [(":method", "POST"), (":path", "/"), (":scheme", "http"),
                            (":authority", "h")], end_stream=request_ended)
    server.receive_data(client.data_to_send())
    if answered != "none":
        server.send_headers(1, [(":status", "200")])
        server.send_data(1, b"ok", end_stream=answered == "whole")
        client.receive_data(server.data_to_send())
    if pruned:
        assert server.open_inbound_streams == (answered != "whole" or not request_ended)
    if not client.streams[1].closed:
        client.reset_stream(1, ErrorCodes.CANCEL)
        reset = client.data_to_send()
    else:  # (a client resetting a stream closed both ways: some do)
        reset = bytes.fromhex("000004030000000001") + ErrorCodes.CANCEL.to_bytes(4, "big")
    assert reset[3] == 3  # RST_STREAM
    return hypercorn_reset(_Stream(_Protocol(_Server(reset), server), 1))


@pytest.mark.parametrize("request_ended", [False, True], ids=["upload", "get"])
@pytest.mark.parametrize("pruned", [False, True], ids=["open", "pruned"])
def test_an_http2_reset_after_the_whole_answer_is_no_client_gone(
        request_ended: bool, pruned: bool) -> None:
    """Failed before: 4 of 4 (a reset: the log's 499, the app's 200 quoted)."""
    assert _reset_after("whole", request_ended, pruned) is False


@pytest.mark.parametrize("answered", ["none", "part"])
@pytest.mark.parametrize("request_ended", [False, True], ids=["upload", "get"])
def test_an_http2_reset_before_the_answer_ended_is_one(answered: str,
                                                       request_ended: bool) -> None:
    """Guards (delivery66: passed before)."""
    assert _reset_after(answered, request_ended) is True


# 7. A script's subscript assignments ---------------------------------------------------------

@pytest.mark.parametrize("line", [
    'obj["password"] = "{}";', "obj['password']='{}';", 'obj[ "password" ] = "{}";',
    'a.b["password"] = `{}`;', 'cfg.password = "{}";', 'obj["user"]["password"] = "{}";',
])
@pytest.mark.parametrize("mime", ["text/plain", "application/javascript", "json-string"])
def test_a_scripts_denied_subscript_is_hidden(line: str, mime: str) -> None:
    """Guards: passed before."""
    text = line.format(SECRET)
    if mime == "json-string":
        mime, text = "application/json", json.dumps({"script": text})
    for logged in denied_bodies(text, mime):
        assert SECRET not in logged and "REDACTED" in logged, logged


@pytest.mark.parametrize("mime", ["text/plain", "application/javascript"])
def test_a_subscript_by_a_variable_names_no_key(mime: str) -> None:
    """``obj[key] = "..."``: which key is the program's; no list names it. Passed before."""
    text = 'obj[key] = "not-a-secret";\nobj.user = "ada";'
    assert denied_bodies(text, mime) == [text, text]


# Linear work ------------------------------------------------------------------------------



@pytest.mark.parametrize("unit", [
    pytest.param("a://b:\\\\", id="backslash-pairs"),
    pytest.param("a://b:\\x", id="backslashes"),
    pytest.param("a://b\\c", id="user-backslashes"),
    pytest.param("a%3A%2F%2Fb:", id="encoded-starts"),
    pytest.param("a:%2F%2Fb%3Ac@", id="encoded-ats"),
    pytest.param("a%3A//b%40%40", id="encoded-pairs"),
    pytest.param('a="', id="quotes"),
    pytest.param(';a="b', id="quoted-values"),
])
def test_each_reader_is_linear_on_a_mib(unit: str) -> None:
    """1 MiB of a worst case around the secrets, in a child whose CPU is bounded at 20 s
    (a bound on the work, not a timing). Failed before: 8 of 8 (the secrets sent)."""
    secrets_hidden_in_capped_child(
        unit, " https://ada:p\\Zq8h22Xw3K@h/ https%3A%2F%2Fada:Zq8h22Xw3K%40h ",
        "Forwarded", 'host=ada:p"Zq8h22Xw3K@h;', ';host=ada:p"Zq8h22Xw3K@h')


@pytest.mark.parametrize("unit", ['a"b@', ';a="x"', 'a="b"@', '"a:b@', "a%3A%2F%2Fb:c@"])
def test_the_readers_counted_work_grows_with_the_text(unit: str) -> None:
    """masked_authority's and userinfo_hidden_in's counted work (calls, and the length of
    each text a C method reads) at 16 KiB and 64 KiB: about 4 times, not 16. A guard:
    this change's first reading of a segment's quote, a call on the whole value for each
    segment, was 16 times (hostile53's count found it)."""
    from readme_metrics.har.header_urls import masked_authority
    from readme_metrics.har.text_userinfo import userinfo_hidden_in
    from tests.support.work_count import text_work

    small, large = unit * ((1 << 14) // len(unit)), unit * ((1 << 16) // len(unit))
    for read in (masked_authority, userinfo_hidden_in):
        counted = text_work(partial(read, small)), text_work(partial(read, large))
        assert counted[1] < 6 * counted[0], (read.__name__, counted)


# Through a real server, a real Flask app, the collector -------------------------------------

@pytest.fixture(scope="module")
def echo_site(module_collector: Collector) -> Iterator[tuple[int, Any, Collector]]:
    with echo_server(module_collector) as site:
        yield site


def test_backslashes_partial_encodings_and_quotes_through_flask(
        echo_site: tuple[int, Any, Collector]) -> None:
    """1, 2, 3 and 4. Failed before (each secret sent; Admin hidden)."""
    body = json.dumps({"a": f"http://ada:p\\w{SECRET}@host/",
                       "b": f"https%3A%2F%2Fada:{SECRET}%40h", "c": "https://deadbeef@h/"})
    sent, entry = posted_through(echo_site, [
        ("Forwarded", f'for=1.2.3.4;host=ada:p"{SECRET}@h'), ("Referer", "https://Admin@h/")],
        body, "application/json")
    assert SECRET not in sent and "deadbeef" not in sent, sent
    logged = {h["name"]: h["value"] for h in entry["request"]["headers"]}
    assert logged["Referer"] == "https://Admin@h/", logged
