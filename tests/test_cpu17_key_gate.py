"""cpu17: what the key gate (har/key_gate.py) no longer joins, and why no log changes.

The gate left out of its join the query's names and values (the url it joins holds
them) and, for a key of 23 characters or more, the cookies' values (each a mask or the
redaction mark, which the scrub reads for the key's base64 alone). The lemmas under each,
as properties over generated input; the gated builder against the ungated one is
tests/test_cpu16_key_gate.py's grid and property, run with these changes.
"""

from __future__ import annotations

import os
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.har import build_log
from readme_metrics.har.credentials import for_key
from readme_metrics.har.key_base64_spellings import base64_spellings, shortest_spelling
from readme_metrics.har.key_gate import MASK_DIGEST_SPELLED, keyless, reads_cookies
from readme_metrics.har.pairs import parse_query
from readme_metrics.har.scrub import _masked_value
from readme_metrics.masking import mask
from tests.test_cpu16_key_gate import GATED_KEYS, OTHER_KEYS, _exchange
from tests.test_cpu29_findings import TOKEN, _small_get

EXAMPLES = int(os.environ.get("CPU17_EXAMPLES", "300"))
_RUN = re.compile(r"[A-Za-z0-9+/\-_]+=*")


@st.composite
def _queries(draw: st.DrawFn) -> tuple[str, str]:
    """A gated key and a query made of its characters, pieces of its spellings, "+",
    "&", "=" and a few others: a piece decoded otherwise than split needs "%" or "+"."""
    key = draw(st.sampled_from(GATED_KEYS))
    pieces = [key, key[: len(key) // 2], key[len(key) // 2:], *base64_spellings(key),
              *(spelling[:9] for spelling in base64_spellings(key)), "+", "&", "=", "&=",
              " ", "a", "%", "\\", "\n", "?", "#", ";"]
    chosen = draw(st.lists(st.sampled_from(pieces), max_size=12))
    return key, "".join(chosen)


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(_queries())
def test_a_query_pair_holds_no_needle_its_url_lacks(drawn: tuple[str, str]) -> None:
    """The lemma under leaving the query's pairs out: no needle in the url's query, none
    in a name or value parse_query reads from it (build_entry's queryString)."""
    key, query = drawn
    needles = for_key(key).gate  # type: ignore[union-attr]
    assert needles is not None
    if any(needle in query for needle in needles):
        return
    for name, value in parse_query(query):
        for text in (name, value):
            assert not any(needle in text for needle in needles), (query, text)


def test_the_query_lemma_needs_the_plus_of_a_spaced_key() -> None:
    """Its one decoding without "%": "+" read as a space, which a key with a space
    makes a needle (the property's spaced keys find it)."""
    spaced = "rdme key with spaces 42"
    assert " " in spaced and "+" in for_key(spaced).gate  # type: ignore[operator,union-attr]
    (pair,) = parse_query("k=" + spaced.replace(" ", "+"))
    assert pair[1] == spaced


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(st.sampled_from(GATED_KEYS + [TOKEN + "0123456789"]), st.text(max_size=60))
def test_the_scrub_leaves_a_mask_as_it_is(key: str, value: str) -> None:
    """The cookies' values are masks; the scrub reads them for the key's base64 only
    (scrub._base64_fields: _masked_value), which finds no run past the mask's "?" (its
    last 4 characters are too few) and no spelling in its digest but by chance."""
    masked = mask(value)
    digest, question, tail = masked.partition("?")
    assert question and len(tail) <= 4 and digest.startswith("sha512-")
    runs = _RUN.findall(masked)
    assert all("?" not in run for run in runs)
    caller = for_key(key)
    assert caller is not None
    assert _masked_value(masked, key, caller.masked, base64_spellings(key), False) == masked


@pytest.mark.parametrize("key", GATED_KEYS + OTHER_KEYS + [
    "k" * 22, "k" * 23, "sk_live_" + "a" * 15, TOKEN])
def test_cookies_are_read_for_a_key_whose_base64_a_digest_could_hold(key: str) -> None:
    """Read unless each spelling is 29 characters or more: past the mask's "sha512-",
    22 of a digest's characters (132 bits); keys of 23 characters or more (ASCII)."""
    caller = for_key(key)
    assert caller is not None
    if caller.gate is None:
        assert not caller.gate_cookies
        return
    assert caller.gate_cookies == reads_cookies(caller)
    assert reads_cookies(caller) == (shortest_spelling(key) < 7 + MASK_DIGEST_SPELLED)
    assert reads_cookies(caller) == (len(key) < 23)


def test_a_short_key_s_base64_in_a_cookie_value_closes_the_gate() -> None:
    """For a key read in the cookies (13 characters: 60-bit spellings), a cookie value
    holding its base64 is seen; for bench's key (40), the cookies' values are not read."""
    for key, reads in (("rdme_abcdefgh", True), (TOKEN, False)):
        caller = for_key(key)
        assert caller is not None and caller.gate is not None
        exchange, _ = _exchange(key, None, "path")
        entry = build_log(exchange)["request"]["log"]["entries"][0]
        assert keyless(entry, caller.gate, None, caller.gate_cookies)
        entry["request"]["cookies"] = [{"name": "c", "value": base64_spellings(key)[0]}]
        assert keyless(entry, caller.gate, None, caller.gate_cookies) is not reads


def test_bench_s_small_get_is_passed_by_the_gate() -> None:
    exchange = _small_get().to_exchange()
    caller = for_key(str(exchange.group.id))
    assert caller is not None and caller.gate is not None and not caller.gate_cookies
    entry = build_log(exchange)["request"]["log"]["entries"][0]
    assert entry["request"]["cookies"] and entry["request"]["queryString"]
    assert keyless(entry, caller.gate, "application/json", caller.gate_cookies)
