"""review143: what an adversary's reading of this session's landings found.

- mod_wsgi_shared: a FIFO at the stop's file (its name is the process id's, in the
  shared temporary directory: any local user can make one) blocked the open for reading,
  and mod_wsgi's stop with it, till Apache's kill.
- header_urls.masked_authority: a Forwarded pair's quoted value with a blank or an
  escaped quote in its password (``host="ada:p\\"w@h"``) was read from there, the
  password's start sent in clear.
"""

from __future__ import annotations

import os
import re
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.delivery import mod_wsgi_shared
from readme_metrics.har.header_urls import masked_authority
from tests.test_delivery67_shared_notice import path  # noqa: F401 (the stop file, removed)


@pytest.mark.usefixtures("path")
@pytest.mark.parametrize("owner", ["this user", "another user"])
def test_a_fifo_at_the_stop_file_is_not_waited_on(owner: str) -> None:
    """Failed before (2 of 2: the open blocked till a writer came). The FIFO is not
    read nor replaced: the interpreter counts from its own notice."""
    stop = mod_wsgi_shared._path()
    os.mkfifo(stop, 0o666)
    if owner == "another user" and os.geteuid() == 0:
        os.chown(stop, 65534, 65534)
    found: list[float] = []
    reader = threading.Thread(target=lambda: found.append(
        mod_wsgi_shared.first_notice(12.5)), daemon=True)
    reader.start()
    reader.join(30)  # (a hang guard, not a speed measure: returns at once when sound)
    blocked = reader.is_alive()
    if blocked:  # let the blocked open go, so that the thread ends
        os.close(os.open(stop, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(30)
    assert not blocked
    assert found == [12.5]
    assert os.path.exists(stop) and not os.path.isfile(stop)


HIDDEN = re.compile(r'host="ada:%5BREDACTED%20\d+%5D@h"')


@pytest.mark.parametrize("password", [r"p\"w", "p w", r"longsecret\"x", r"p\\w",
                                      "a b,c;d=e", r"sec\"ret with blanks"])
def test_a_quoted_forwarded_host_hides_its_whole_password(password: str) -> None:
    """Failed before (5 of 6: the part before the blank or the escaped quote sent in
    clear; ``p\\\\w`` was hidden)."""
    shown = masked_authority(f'for=192.0.2.1;host="ada:{password}@h";proto=https')
    assert HIDDEN.search(shown), shown
    assert shown.startswith("for=192.0.2.1;") and shown.endswith(";proto=https")


_PASSWORD_CHAR = st.sampled_from(list("abcXYZ019 ,;=:@/") + ['\\"', "\\\\"])


@settings(max_examples=200, deadline=None)
@given(head=st.text("abcdefgh", min_size=6, max_size=12),
       rest=st.lists(_PASSWORD_CHAR, min_size=1, max_size=8))
def test_no_part_of_a_quoted_password_is_shown(head: str, rest: list[str]) -> None:
    """Failed before (a password with a blank or an escaped quote after its start)."""
    password = "Q" + head + "".join(rest)
    shown = masked_authority(f'for="[2001:db8::1]:4711", host="ada:{password}@h"')
    assert ("Q" + head) not in shown
    assert shown.startswith('for="[2001:db8::1]:4711", ')
    assert HIDDEN.search(shown), shown


@pytest.mark.parametrize("value", [
    'for="[2001:db8::1]:4711"', "for=unknown", "for=_hidden;by=_secret",
    "192.0.2.1, 198.51.100.2", 'for=192.0.2.60;proto=http;by="[::1]:80"',
    'for=unknown, for="_gazonk";host=example.com', 'host=""', 'host="\\"'])
def test_proxy_values_without_a_userinfo_are_kept(value: str) -> None:
    """Sound before and after: no over-hiding of ordinary proxy values."""
    assert masked_authority(value) == value


def test_an_unclosed_quoted_value_is_hidden_to_its_end() -> None:
    """Failed before (``ada:p`` shown: read from the blank)."""
    shown = masked_authority('host="ada:p w@h')
    assert shown.startswith('host="ada:%5BREDACTED%20') and shown.endswith("%5D@h")


# XML after prose: nested elements of one name -------------------------------------------

def _prose_hidden(text: str) -> str:
    from readme_metrics.har.redaction_xml import xml_redacted

    return xml_redacted(text, lambda name: name == "password", prose=True)


@settings(max_examples=100, deadline=None)
@given(depth=st.integers(1, 4), secrets=st.lists(
    st.text("QRSTUVWXYZ", min_size=6, max_size=10), min_size=2, max_size=5))
def test_prose_nested_elements_of_one_name_are_hidden_whole(
        depth: int, secrets: list[str]) -> None:
    """Failed before (the content after the first inner close went in clear: the first
    ``</password>`` ended the outer element)."""
    inner = f"<password>{secrets[0]}</password>"
    for _ in range(1, depth):
        inner = f"<password>{inner}</password>"
    body = f"Config:\n<password>{inner}{''.join(secrets[1:])}</password> the end"
    shown = _prose_hidden(body)
    assert all(secret not in shown for secret in secrets), shown
    assert shown.startswith("Config:\n<password>[REDACTED ") and shown.endswith(
        "</password> the end")


def test_prose_placeholders_and_siblings_are_kept() -> None:
    """Sound before and after: an unclosed mention kept; siblings each their own."""
    assert _prose_hidden("Type <password> below. <b>ok</b>") == (
        "Type <password> below. <b>ok</b>")
    assert _prose_hidden("a <password>x</password> b <password>y</password> c") == (
        "a <password>[REDACTED 1]</password> b <password>[REDACTED 1]</password> c")
    assert _prose_hidden("pw <password/> then <password>s3</password>.") == (
        "pw <password/> then <password>[REDACTED 2]</password>.")


@pytest.mark.parametrize("unit", [
    "<password>a<password>b</password>", "<password>", "<password><b>x</b></password>",
    "</password>x<password><password>"])
def test_prose_nesting_work_grows_with_the_text(unit: str) -> None:
    """The nested reading's counted work (calls, and the length of each text a C method
    reads) at 16 KiB and 64 KiB: about 4 times, not 16."""
    from tests.support.work_count import text_work

    def work(size: int) -> int:
        text = "x " + unit * (size // len(unit)) + "</password> tail"
        return text_work(lambda: _prose_hidden(text))

    small, large = work(1 << 14), work(1 << 16)
    assert large < 6 * small, (small, large)


# A URL with an IP literal and an "@" in its path ----------------------------------------

_IP_LITERAL = st.sampled_from(["[::1]", "[2001:db8::1]", "[fe80::1%25eth0]", "[::ffff:10.0.0.1]"])


@settings(max_examples=100, deadline=None)
@given(host=_IP_LITERAL, port=st.sampled_from(["", ":80", ":5173"]),
       tail=st.sampled_from(["/@vite/client", "/users/@me", "/a@b", "/x?y=a@b", "/#@c"]))
def test_an_ip_literal_url_with_an_at_in_its_path_is_kept(
        host: str, port: str, tail: str) -> None:
    """Failed before (the loose password read ``[`` as a user and hid the host and the
    path to the ``@``: ``http://[::1]:5173/@vite/client``, in a header and in a body)."""
    from readme_metrics.har.header_urls import hidden_userinfo
    from readme_metrics.har.text_userinfo import userinfo_hidden_in

    url = f"http://{host}{port}{tail}"
    assert hidden_userinfo(url) == url
    assert userinfo_hidden_in(f"Referer was {url} here") == f"Referer was {url} here"


def test_an_ip_literal_url_with_a_userinfo_still_has_it_hidden() -> None:
    from readme_metrics.har.header_urls import hidden_userinfo
    from readme_metrics.har.text_userinfo import userinfo_hidden_in

    for url in ("http://ada:pa/ss@[::1]:80/x", "http://ada:pw@[2001:db8::1]/@me"):
        assert "%5BREDACTED" in hidden_userinfo(url), url
        assert "%5BREDACTED" in userinfo_hidden_in(f"see {url} now"), url
