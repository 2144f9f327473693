"""review144: what hostile54's reading of a URL's user alone, and of a userinfo written
with Unicode escapes or percent-encoded, did to ordinary text.

1. A user alone was read from any text between ``scheme://`` and an ``@``: a CSV row
   (``Ada,https://ada.dev,ada@example.com``), a list or an SQL row
   (``('https://example.com','ada@example.com')``) had the website's host and the
   address's user hidden whole (``https://%5BREDACTED%2011%5D@example.com``), a long
   one masked. A user holding what no token holds (a list's separator, a quote or a
   bracket of prose, a character not ASCII) is text, kept
   (``text_userinfo.hidden_user``).
2. An escaped blank (``\\u3000``, ``\\u00a0``, ``\\u2028``: Python's json writes any
   non-ASCII character so) did not end the escaped reading's authority, as a blank ends
   the raw one: Japanese prose in JSON had its website and address hidden, and a
   password was read across the blank to a later address's ``@``, the prose between
   hidden with it. The same percent-encoded (``%20``, a form's ``+``: a contact form's
   message). What ends the raw reading ends the escaped and the encoded ones now.

Each (but the guards) failed before; the tokens and passwords stay hidden.
"""

from __future__ import annotations

import json
import signal
import socket
import sys
import textwrap
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.har.redaction import Redactor
from readme_metrics.har.text_userinfo import userinfo_hidden_in
from readme_metrics.masking import mask
from tests.support.command import app_environment
from tests.support.django_stop_site import SITE as D54_SITE
from tests.support.exchanges import logged_bodies
from tests.support.fake_api import Collector
from tests.support.flask_echo import echo_server, posted_through
from tests.support.polling import wait_until
from tests.support.ports import free_port
from tests.support.processes import kill_server, start_server
from tests.support.raw_requests import answers_200

DENY = Redactor(["password"])
TOKEN = "ghp_0123456789abcdefXw3K0123456789abcdef"
SHORT = "Zq8h22Xw"

_HOSTS = st.from_regex(r"[a-z]{1,8}(\.[a-z]{2,6}){1,2}", fullmatch=True)
_LOCALS = st.from_regex(r"[a-z][a-z0-9.]{0,12}", fullmatch=True)


# 1. Text before an address's "@" ----------------------------------------------------------

@pytest.mark.parametrize("text", [
    "name,site,email\nAda,https://ada.dev,ada@example.com\n",
    "('https://example.com','ada@example.com')",
    "https://example.com;ada@example.com",
    "https://example.com|ada@example.com",
    "[site](https://ada.dev),ada@example.com",
    "https://www.example-shop.com,ada.lovelace@example.com",  # (20+: was masked)
    "https://example.com\u2026ada@example.com",
    "https://example.com\u3000ada@example.com",
])
def test_a_website_then_an_address_is_kept(text: str) -> None:
    """Failed before: the host and the address's user hidden (masked at 20 and more),
    but for the ideographic space (a blank: kept before too, guarded)."""
    for mime in ("text/plain", "text/csv"):
        assert logged_bodies(text, mime, DENY) == [text, text], mime
    as_json = json.dumps({"t": text}, ensure_ascii=False)
    assert logged_bodies(as_json, "application/json", DENY)[1] == as_json


@settings(max_examples=60, deadline=None)
@given(host=_HOSTS, local=_LOCALS, domain=_HOSTS,
       sep=st.sampled_from([",", ";", "|", "'", "','", "),(", "\u2026", "\u00bb"]))
def test_any_website_then_an_address_is_kept(host: str, local: str, domain: str,
                                             sep: str) -> None:
    """A website, a separator, an address: the text as it was (failed before)."""
    text = f"https://{host}{sep}{local}@{domain}"
    assert userinfo_hidden_in(text) == text


# 2. Escaped and encoded blanks ------------------------------------------------------------

BLANKS = ["\u3000", "\u00a0", "\u2028", "\u2003", "\u0085"]


@pytest.mark.parametrize("blank", BLANKS)
def test_an_escaped_blank_ends_the_authority(blank: str) -> None:
    """Prose in JSON as Python's json writes it (``\\u3000``): the website and the
    address kept; a password hidden, the prose after its host kept. Failed before (the
    user "example.com\\u3000..." hidden or masked; the password read to ``bob@``)."""
    prose = f"\u30b5\u30a4\u30c8\uff1ahttps://example.com{blank}\u9023\u7d61\uff1aada@example.com"
    written = json.dumps({"t": prose})  # (ensure_ascii: every non-ASCII one escaped)
    assert "\\u" in written
    assert logged_bodies(written, "application/json", DENY)[1] == written
    secret = json.dumps({"t": f"https://ada:pw1234@example.com{blank}and bob@example.com"})
    logged = logged_bodies(secret, "application/json", DENY)[1]
    assert logged == secret.replace("pw1234", "%5BREDACTED%206%5D"), logged


@pytest.mark.parametrize("space", ["+", "%20", "%E3%80%80", "%C2%A0", "%0A"])
def test_an_encoded_blank_ends_the_authority(space: str) -> None:
    """A form's text field (``+`` for a space, as browsers send it): kept; a password in
    a query's URL hidden, what follows its host kept. Failed before (the user
    "example.com+and+mail+ada" masked; the password read to ``bob%40``)."""
    form = f"message=Visit{space}https%3A%2F%2Fexample.com{space}and{space}ada%40example.com"
    assert userinfo_hidden_in(form) == form
    query = f"next=https%3A%2F%2Fada%3Apw1234%40github.com{space}and{space}bob%40example.com"
    assert userinfo_hidden_in(query) == query.replace("pw1234", "%5BREDACTED%206%5D")


# Guards: what hostile54 hides stays hidden --------------------------------------------------

@pytest.mark.parametrize("spelling", ["raw", "escaped", "encoded"])
def test_tokens_and_passwords_stay_hidden(spelling: str) -> None:
    """A token user alone, a short one, ``x-access-token:<token>@`` (passed before)."""
    texts = [f"https://{TOKEN}@github.com/o/r", f"https://{SHORT}@h/x",
             f"https://x-access-token:{TOKEN}@github.com/o/r"]
    for text in texts:
        if spelling == "escaped":
            text = text.replace("/", "\\u002f").replace("@", "\\u0040")
        elif spelling == "encoded":
            text = "next=" + quote(text, safe="")
        shown = userinfo_hidden_in(text)
        assert TOKEN not in shown and SHORT not in shown, shown
    assert quote(mask(TOKEN), safe="") in userinfo_hidden_in(texts[0])


# A real Flask app behind werkzeug, the loopback collector -----------------------------------

@pytest.fixture(scope="module")
def echo_site(module_collector: Collector) -> Iterator[tuple[int, Any, Collector]]:
    with echo_server(module_collector) as site:
        yield site


def test_a_csv_and_escaped_prose_through_flask(echo_site: tuple[int, Any, Collector]
                                               ) -> None:
    """A CSV row and JSON prose POSTed to a Flask app, logged as sent (failed before:
    ``https://%5BREDACTED%2011%5D@example.com`` in the CSV's log)."""
    csv = "name,site,email\nAda,https://ada.dev,ada@example.com\n"
    _, entry = posted_through(echo_site, [], csv, "text/csv")
    assert entry["request"]["postData"]["text"] == csv
    assert entry["response"]["content"]["text"] == csv
    prose = json.dumps({"t": "https://example.com\u3000ada@example.com",
                        "u": f"https://{SHORT}@h/"})
    sent, entry = posted_through(echo_site, [], prose, "application/json")
    assert SHORT not in sent, sent
    assert entry["response"]["content"]["text"] == prose.replace(
        SHORT, "%5BREDACTED%208%5D")


def test_the_ends_are_the_raw_readings_blanks() -> None:
    """The escaped and encoded readings' blanks are what ``\\s`` reads in the raw one."""
    import re

    from readme_metrics.har.text_userinfo import _ENDS

    blanks = {point for point in range(0x10000) if re.match(r"\s", chr(point))}
    # (a backslash is a user's or a password's: hostile55)
    assert set(_ENDS) == blanks | set(map(ord, "\"<>`"))


# 3. Django's sync chain: its cancel as the client left mid-answer ----------------------------

_APP_LINE = "\napp = get_asgi_application() if BARE else with_lifespan("
assert _APP_LINE in D54_SITE  # (where /big goes: a site changed elsewhere fails here)
_BIG_SITE = D54_SITE.replace(_APP_LINE, textwrap.dedent("""
    from django.http import HttpResponse

    def big(request):
        return HttpResponse(b"x" * 4_000_000)

    urlpatterns.append(path("big", big))
""") + _APP_LINE)


def test_a_client_gone_mid_answer_under_the_sync_chain_is_no_499(
        collector: Collector, tmp_path: Path) -> None:
    """A sync-only middleware in MIDDLEWARE (asgiref runs the chain in a thread), under
    hypercorn: the client reads the 200's head and 200 KB of its 4 MB body, and closes;
    Django cancels the chain's task mid-send. The client got the 200's start: logged as
    the view's 200, the client gone before the answer's end, not 499 "got none of it"
    (delivery65's verdict; failed before, 2 of 2). (uvicorn and daphne log the view's
    200 there, before and after.)"""
    pytest.importorskip("hypercorn")
    port = free_port()
    (tmp_path / "big_site.py").write_text(_BIG_SITE)
    env = app_environment(collector.url, tmp_path, D54_ENTERED=str(tmp_path / "entered"),
                          D54_RELEASE=str(tmp_path / "release"), D54_SYNC_CHAIN="1")
    with open(tmp_path / "err", "wb") as err:
        process = start_server([sys.executable, "-m", "hypercorn", "-b",
                                f"127.0.0.1:{port}", "big_site:app"],
                               cwd=tmp_path, env=env, stdout=err, stderr=err)
    try:
        wait_until(lambda: answers_200(port))
        for _ in range(2):
            with socket.socket() as conn:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                conn.connect(("127.0.0.1", port))
                conn.sendall(b"GET /big HTTP/1.1\r\nHost: d54\r\n\r\n")
                got = b""
                conn.settimeout(60)
                while len(got) < 200_000:
                    chunk = conn.recv(65536)
                    assert chunk, got[:200]  # (the server closed: not a 4 MB answer)
                    got += chunk
                assert got.startswith(b"HTTP/1.1 200 ")
        process.send_signal(signal.SIGTERM)  # with_lifespan sends the logs at the stop
        process.wait(60)
    finally:
        kill_server(process)
    said = (tmp_path / "err").read_text(errors="replace")
    logs = collector.wait_for_logs(3)
    responses = [log["request"]["log"]["entries"][0]["response"] for log in logs
                 if log["request"]["log"]["entries"][0]["request"]["url"].endswith("/big")]
    assert len(responses) == 2, said[-2000:]
    for response in responses:
        assert response["status"] == 200, (response.get("comment"), said[-2000:])
        assert "the client left before the answer's end" in response["content"].get(
            "comment", ""), response["content"].get("comment")
