"""review139: an adversarial read of what landed f4fb9f8d..c0735d8b.

1. hostile49 made the denylist's escape probe (``json_escapes.escape_probe``) match every
   ``\\ud800``-``\\udfff`` escape, for a name holding a lone surrogate. A surrogate pair
   is one character (an emoji, as Python's ``json.dumps`` writes it by default), no lone
   surrogate: a JSON text holding one was then read through all its escapes on every
   check (``mentions_key``) that a text with no denied name could be skipped by: 4.5
   times the work of reading it, 7 times the time, for a 194 KB chat log with two emoji a
   message. Only a lone surrogate's escape (or a pair whose backslash is itself escaped:
   a document held in a string, read again) is probed now; the pair passes as before
   hostile49, and hostile49's names are still found.
"""

from __future__ import annotations

import json

import pytest

from readme_metrics.har.redaction import Redactor
from readme_metrics.har.redaction_mentions import mentions_key
from tests.support.sent_bodies import SECRET, bodies_logged, kept_as_sent
from tests.support.work_count import calls

DENY = Redactor(["password"])


def _chat(count: int, text: str) -> str:
    return json.dumps([{"user": f"u{n}", "text": text} for n in range(count)])


def test_surrogate_pairs_are_not_read_through_their_escapes() -> None:
    """Failed before: 2,013 calls for 1,000 messages with emoji (each escape decoded),
    against 6 for the same messages without. Now the same few calls."""
    plain = _chat(1_000, "nice job caf\u00e9")
    emoji = _chat(1_000, "nice \U0001F600 job \U0001F44D")
    assert "\\ud83d\\ude00" in emoji  # (json.dumps' default: ensure_ascii)
    assert not mentions_key(DENY, emoji)
    assert calls(lambda: mentions_key(DENY, emoji)) <= calls(
        lambda: mentions_key(DENY, plain)) + 2


@pytest.mark.parametrize("name", [
    "password\\ud800", "pass\\udc80word", "\\udfffPASSWORD", "password\\ude00",
    "pass\\ud800\\ud800word", "pass\\ude00\\ude00word", "pass\\uD800word",
    "pass\\udbff\\ud800word",
])
def test_a_lone_surrogates_escape_in_a_name_is_still_found(name: str) -> None:
    """Passed before (the probe took every surrogate escape) and after."""
    body = f'{{"{name}": "{SECRET}", "user": "ada"}}'.encode()
    assert mentions_key(DENY, body.decode())
    for text in bodies_logged(body, "application/json", DENY):
        assert SECRET not in text and "REDACTED" in text, text


def test_a_lone_surrogate_a_level_down_is_still_found() -> None:
    """A document held in a string: its escapes escaped once more. The pair's backslash
    escaped (``pass\\\\ud800\\udc80word``) reads, once, as ``pass\\ud800`` then a lone
    low surrogate, and, again, as ``pass``, two lone surrogates, ``word``."""
    text = '{"doc": "{\\"pass\\\\ud800\\udc80word\\": 1}"}'
    assert mentions_key(DENY, text)


def test_guard_a_pair_in_a_name_is_its_character() -> None:
    """As hostile49's guard: ``\\ud83d\\ude00password_hint`` is another name."""
    body = b'{"\\ud83d\\ude00password_hint": "kept", "text": "\\ud83d\\ude00"}'
    assert kept_as_sent(body, "application/json", DENY)
