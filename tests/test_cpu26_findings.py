"""cpu26: :attr:`CallerKey.shortest`, the length below which :meth:`CallerKey.may_hold` is
False, tested inline before the call for the short strings of every log (the method, the
reason phrase, the client's address): three Python calls fewer per log with the default
options (docs/PERFORMANCE.md, "Sixteenth session", cpu26)."""

from __future__ import annotations

import pytest

from readme_metrics.exchange import Group
from readme_metrics.har import build_log
from readme_metrics.har.credentials import CallerKey
from tests.support.exchanges import make_exchange

# Keys as grouping functions return them: long and short, numbers (found by value in
# JSON: "1e3" is 1000), a space, non-ASCII, a backslash, empty.
KEYS = ["rdme_key_1234567890abcdef", "k3y", "1000", "1e3", "12345678901234567890",
        "a b c d e f g h", "clé-secrète-0123456789", "k\\y_0123456789", "7", ""]
# Values: shorter, as long as and longer than each key, holding it or a spelling of it.
VALUES = ["", "GET", "OK", "127.0.0.1", "1000", "1e3", "1E+3", "[1e3]", "1000.0", "k3y",
          "xk3yx", "a+b+c+d+e+f+g+h", "rdme_key_1234567890abcdef", "\\u006b3y", "7", "7.0",
          '{"id": 7}', "cl%C3%A9-secr%C3%A8te-0123456789", "k\\\\y_0123456789"]


@pytest.mark.parametrize("key", KEYS)
def test_no_value_shorter_than_shortest_may_hold_the_key(key: str) -> None:
    caller = CallerKey(key)
    assert caller.shortest == (0 if caller.numeric else len(key))
    for value in VALUES + [key, key[:-1], key + "x"]:
        if len(value) < caller.shortest:
            assert caller.may_hold(value) is False, value


def test_the_short_strings_of_a_log_ask_may_hold_nothing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    may_hold = CallerKey.may_hold

    def counted(self: CallerKey, value: str) -> bool:
        asked.append(value)
        return may_hold(self, value)

    monkeypatch.setattr(CallerKey, "may_hold", counted)
    key = "rdme_key_1234567890abcdef"
    log = build_log(make_exchange(group=Group(key, "Owl", "owl@example.com")))
    entry = log["request"]["log"]["entries"][0]
    assert entry["request"]["method"] == "GET"
    assert entry["response"]["statusText"] == "OK"
    assert asked == []  # main asked about "GET", "OK" and "10.0.0.1"


@pytest.mark.parametrize("key, method, reason", [
    ("k3y", "k3y", "k3y"),  # each the whole key: its mask
    ("1e3", "1e3", "1e3"),  # a numeric key: shortest 0, asked always
    ("rdme_key_1234567890abcdef", "rdme_key_1234567890abcdef",
     "Unknown key rdme_key_1234567890abcdef"),  # a long key, inside the reason too
])
def test_values_that_hold_the_key_are_still_masked(key: str, method: str, reason: str) -> None:
    caller = CallerKey(key)
    log = build_log(make_exchange(group=Group(key, "Owl", "owl@example.com"),
                                  method=method, status_text=reason))
    entry = log["request"]["log"]["entries"][0]
    for shown, given in ((entry["request"]["method"], method),
                         (entry["response"]["statusText"], reason)):
        assert caller.may_hold(given)
        assert shown == caller.text(given) != given
