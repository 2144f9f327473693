"""review89: an adversarial review of review86's capture changes.

- ``trusted_proxies``: review86 takes an X-Forwarded-For hop only when ``ipaddress``
  parses it, so that a client's own text ("<script>", control characters) logs the
  remote address. ``ipaddress`` takes any text after "%" in an IPv6 address as its zone
  id: ``::1%<img src=x onerror=alert(1)>`` and ``::1%\\x1b[31m`` were taken, and logged
  as clientIPAddress as sent. A zone id is taken now only when it is RFC 6874's
  unreserved characters (``fe80::1%eth0``, ``fe80::1%25eth0``).
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from readme_metrics.capture.request import pick_client_ip
from tests.support.fake_api import Collector
from tests.test_hostile14_servers import logs_by_trace, normalized, play, refused_logs, request
from tests.test_review86_findings import _served

_REMOTE = "192.0.2.1"
_UNRESERVED = re.compile(r"[0-9A-Za-z._~-]+")


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@given(st.sampled_from(["fe80::1", "::1", "2001:db8::5"]), st.text(max_size=20),
       st.sampled_from(["{}", "[{}]:443"]), st.integers(1, 2))
def test_a_zone_id_is_taken_only_as_an_interface_name(
        address: str, zone: str, form: str, trusted: int) -> None:
    hop = form.format(f"{address}%{zone}")
    header = ", ".join([hop, *["198.51.100.4"] * (trusted - 1)])
    found = pick_client_ip(_REMOTE, header, trusted)
    taken = _UNRESERVED.fullmatch(zone) is not None
    assert found == (f"{address}%{zone}" if taken else _REMOTE), (hop, found)


@given(st.text(max_size=80), st.integers(1, 3))
def test_a_hop_taken_is_an_address_with_no_text_of_the_clients(hop: str, trusted: int
                                                                ) -> None:
    header = ", ".join([hop, *["198.51.100.4"] * (trusted - 1)])
    found = pick_client_ip(_REMOTE, header, trusted)
    assert found == _REMOTE or (
        _is_ip(found) and re.fullmatch(r"[0-9A-Za-z.:%_~-]+", found) is not None), (hop, found)


@pytest.mark.parametrize(("hop", "logged"), [
    ("::1%<img src=x onerror=alert(1)>", _REMOTE),
    ("[fe80::1%<b>]:443", _REMOTE),
    ("::1%\x1b[31mred", _REMOTE),
    ("::1%\x01", _REMOTE),
    ("fe80::1%eth0", "fe80::1%eth0"),
    ("[fe80::1%en0]:8080", "fe80::1%en0"),
    ("fe80::1%25eth0", "fe80::1%25eth0"),
    ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
])
def test_zone_ids(hop: str, logged: str) -> None:
    assert pick_client_ip(_REMOTE, f"203.0.113.5, {hop}", 1) == logged


HOSTILE_ZONES = {
    "markup": "::1%<img src=x onerror=alert(1)>",
    "escape": "::1%\x1b[31mred",
    "control": "fe80::1%\x01",
}


@pytest.mark.e2e
def test_a_hostile_zone_id_logs_the_remote_address_under_werkzeug(
        collector: Collector, tmp_path: Path) -> None:
    hops = {**HOSTILE_ZONES, "zone": "fe80::1%eth0"}
    with _served(collector, tmp_path, "werkzeug", README_TRUSTED_PROXIES="1") as (
            port, logs_of):
        for name, hop in hops.items():
            header = b"X-Forwarded-For: " + hop.encode("latin-1")
            answers = {prefix: play(port, prefix, name, [
                ("send", request(1, "GET", "/noread", b"", header, close=True))])[0]
                for prefix in ("bare", "wrap")}
            assert normalized(answers["wrap"]) == normalized(answers["bare"]), name
        logs = logs_by_trace(logs_of())
    assert not refused_logs(collector)
    found = {name: logs[f"{name}-1"][0]["clientIPAddress"] for name in hops}
    assert found == {**{name: "127.0.0.1" for name in HOSTILE_ZONES}, "zone": "fe80::1%eth0"}
