"""review151: an adversarial review of land57's landings (ea1715f3..9dc3d0e7).

Finding 1 (delivery83, TLS 1.2): a body's last records and the client's close_notify in
one segment, the capture waiting for the rest. delivery83 hands those records to the
server first (:func:`readme_metrics.capture.tls_feed.feed`, ``whole``), but only where
their plaintext is seen to cover the rest: under TLS 1.3, whose record lengths tell it.
Under TLS 1.2 no length tells a record's plaintext (its close_notify an alert record, which
no body is), so nothing was handed over: the wait stopped at the close_notify and the body
was logged cut at what came before the wait ("short": 5 bytes, 8 of 8 before the fix, as
under TLS 1.3 before delivery83), the answer whole. Now, under TLS 1.2, the whole records
before the alert are handed over (all the client sent; a pipelined request's bytes too,
which the server reads anyway).
"""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from tests.support.fake_api import Collector
from tests.support.tls_asgi_thread import LOOPS, SERVERS, served
from tests.support.tls_bio import connected
from tests.support.tls_rest import (  # noqa: F401 (the fixture)
    answered,
    logged_body_size,
    long_grace,
    rest_with_notify,
)

TLS = pytest.mark.usefixtures("long_grace")


@TLS
@SERVERS
@LOOPS
@pytest.mark.parametrize("size", [60, 40_000])
def test_tls12_the_rest_and_close_notify_in_one_write(
        server: str, loop: str, size: int, collector: Collector, tmp_path: Path) -> None:
    """delivery83's row under TLS 1.2: the answer whole and the body logged whole."""
    rest = b"v" * size
    with served(server, loop, collector, tmp_path, "review151") as (port, context):
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        with connected(port, context) as client:
            assert client.tls.version() == "TLSv1.2"
            got = rest_with_notify(client, port, rest)
            logged = logged_body_size(collector)
    assert answered(got), got[:200]
    assert logged == 5 + size, logged


@TLS
@SERVERS
@LOOPS
def test_tls12_a_rest_short_of_the_length_then_close_notify(
        server: str, loop: str, collector: Collector, tmp_path: Path) -> None:
    """A client that declared 100 bytes more than it sends, its last ones with its
    close_notify: the answer whole (the wait ends at the close_notify, not at its
    bound), the body logged as far as it came."""
    rest = b"v" * 60
    with served(server, loop, collector, tmp_path, "review151") as (port, context):
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        with connected(port, context) as client:
            got = rest_with_notify(client, port, rest, short_by=100)
            logged = logged_body_size(collector)
    assert answered(got), got[:200]
    assert logged == 5 + len(rest), logged


@TLS
@SERVERS
@LOOPS
def test_tls13_a_rest_short_of_the_length_then_close_notify(
        server: str, loop: str, collector: Collector, tmp_path: Path) -> None:
    """Finding 2 (tls_feed, TLS 1.3, since delivery78): the same client under TLS 1.3.
    Its close_notify, a record of 2 bytes' size that does not end the body, was handed to
    the server as the body's: the server took the client's end and the app's answer was
    dropped (no byte of it: 4 of 4 before, uvicorn and hypercorn on asyncio and uvloop),
    where the bare app's went out. Now such a record, last in the socket, is held as a
    chunked body's is (more behind it hands it over): read by the server after the
    answer. On uvloop that alone was not enough (2 of 2 still failed): the watch paused
    the socket again after each look at it, records handed over or not, and uvloop's
    TLS layer (its read limits made 0: server_reading._LimitsPause) takes a pause of a
    paused socket with nothing waiting for a resume: the server read the held record
    during the wait. Now paused again only once records went (4 of 4 pass)."""
    rest = b"v" * 60
    with served(server, loop, collector, tmp_path, "review151") as (port, context), \
            connected(port, context) as client:
        assert client.tls.version() == "TLSv1.3"
        got = rest_with_notify(client, port, rest, short_by=100)
        logged = logged_body_size(collector)
    assert answered(got), got[:200]
    assert logged == 5 + len(rest), logged


# Finding 3 (hostile59's placeholder rule): a real password kept as a placeholder -------

#: Passwords that are a word holding a secret's name (``pass`` in Passion and Compassion,
#: ``auth`` in Authority, ``key`` in monkey, ``pass`` in Bypass), in the braces or
#: brackets of a placeholder: hostile59's placeholder rule matched the name anywhere in
#: the word, so each was taken for ``{password}``'s kind and kept, sent in clear (5 of 5
#: failed before hostile62, in a text, a JSON body, a form's value, a query's value and a
#: Referer alike). Now a whole word of the name must be a secret's name
#: (:mod:`readme_metrics.har.userinfo_placeholder`; tests/test_hostile62_findings.py).
@pytest.mark.parametrize("password", [
    "{Passion}", "<Compassion>", "{Authority}", "<monkeybars>", "${Bypass}"])
def test_a_word_holding_a_secrets_name_in_braces_is_hidden(password: str) -> None:
    from urllib.parse import quote

    from tests.support.logged_urls import denied_bodies, query_quoted
    from tests.test_hostile59_findings import FORM, _headers

    url = f"https://ada:{password}@host/p"
    logged = denied_bodies(f"see {url} now", "text/plain") + _headers("Referer", url)
    logged += denied_bodies('{"u": "' + url + '"}', "application/json")
    logged += denied_bodies("a=1&u=" + quote(url, safe=""), FORM)
    logged += list(query_quoted(quote(url, safe="")))
    bare = password.strip("<>{}$")
    assert [text for text in logged if bare in text] == [], logged
