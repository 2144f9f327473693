"""hostile36: YAML's flow style (PyYAML's ``canonical=True`` above all) read member by
member.

1. ``yaml.dump(..., canonical=True)`` writes a whole document as one flow collection,
   each key explicit and tagged on a line of its own (``? !!str "password"`` then
   ``: !!str "s",``): the collection was read as one whose keys were none (``? !!str
   "a"`` no key) and went out as written: 928 of 1,000 canonical dumps of documents
   holding denied keys (the fuzz below, review125's, secrets as unique words) sent a
   denied key's value.
2. A quoted scalar after the JSON members' reading's mark (``: [REDACTED] "a,]"``: that
   reading, first, hid the tag alone) had its ``,`` and ``]`` read as the collection's.
3. A flow collection typed YAML that is no JSON (``{a: 1, password: x}``, PyYAML's
   ``default_flow_style=True``) was hidden whole as JSON cut short is: 480 of 500 such
   dumps sent nothing of their data; now member by member, each denied key's value
   hidden, the rest as written.
4. A block scalar's line starting ``{`` whose ``}`` is far below (``- >-`` then
   ``  { :&``) was read as a flow collection to there, every line between passed over
   unread: a denied key among them went out (review125's default_style fuzz, a few in
   2,000).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.denied_bodies import SECRET, WORDS, records
from tests.support.fake_api import Collector
from tests.support.flask_echo import logged_echo

YAML = "application/yaml"


def _canonical(document: Any, **options: Any) -> str:
    import yaml
    return str(yaml.dump(document, canonical=True, sort_keys=False, **options))


LEAKS: dict[str, str] = {
    "canonical": _canonical({"password": SECRET, "a": 1}),
    "canonical-nested": _canonical({"a": {"b": [1, {"token": SECRET}]}}),
    "canonical-crlf": _canonical({"a": {"secret": SECRET}}, line_break="\r\n"),
    "canonical-sequence-value": _canonical({"password": [SECRET, 2]}),
    # A comma and a bracket in the hidden value's quotes.
    "canonical-quoted-marks": _canonical({"password": f"a, ]{SECRET}", "b": 1}),
    "explicit-flow-keys": f"{{? password : {SECRET}, a: 1}}\n",
    "tagged-flow-key": f'{{!!str "token": {SECRET}}}\n',
    "multi-line-flow": f"a: {{\n  b: 1,\n  password: {SECRET}\n}}\n",
    "flow-pair-in-sequence": f"[a, password: {SECRET}]\n",
    # A block scalar's line starting "{", its "}" far below.
    "block-scalar-brace": f"a:\n- >-\n  {{ :&\nb:\n  token: >-\n    {SECRET}\nc: >-\n  }}\n",
    "block-scalar-brace-in-key": f"? |-\n  {{\n: a: 1\n\"secret\":\n  x: 1\nb:\n- c: '}}'\n"
                                 f"  token: {SECRET}\n",
    "item-key-block-brace": f"- ? |2-\n    {{\n  : 1\n  token:\n  - {SECRET}\n- '}}'\n",
}


def test_pyyaml_reads_the_secrets() -> None:
    import yaml
    for shape, body in LEAKS.items():
        assert SECRET in json.dumps(yaml.safe_load(body)), shape


@pytest.mark.parametrize("shape", LEAKS)
def test_the_value_is_hidden(shape: str) -> None:
    for record in records(LEAKS[shape].encode(), YAML):
        sent = json.dumps(record)
        assert SECRET not in sent, sent
        assert "REDACTED" in sent


def _hidden_or_same(sent: Any, document: Any) -> bool:
    """Whether ``sent`` (a document read back) is ``document`` with each denied key's
    value a mark."""
    if isinstance(document, dict):
        return isinstance(sent, dict) and set(sent) == set(document) and all(
            (key in WORDS and (value in (None, "", [], {}) or str(sent[key]).startswith(
                "[REDACTED"))) or _hidden_or_same(sent[key], value)
            for key, value in document.items())
    if isinstance(document, list):
        return isinstance(sent, list) and len(sent) == len(document) and all(
            _hidden_or_same(a, b) for a, b in zip(sent, document))
    return bool(sent == document)


KEPT: dict[str, Any] = {
    "canonical": {"password": SECRET, "a": 1, "b": ["x", {"c": "y, ]"}]},
    "flow": {"a": {"b": [1, {"token": SECRET}]}, "c": "it s"},
}


@pytest.mark.parametrize("shape", KEPT)
def test_the_rest_is_kept(shape: str) -> None:
    """The document read back is the one sent, each denied key's value a mark (the
    flow style was hidden whole)."""
    import yaml
    options = {"canonical": True} if shape == "canonical" else {"default_flow_style": True}
    body = yaml.dump(KEPT[shape], sort_keys=False, **options)
    for record in records(body.encode(), YAML):
        assert SECRET not in record["text"]
        assert _hidden_or_same(yaml.safe_load(record["text"]), KEPT[shape]), record


def test_guard_a_flow_collection_cut_short_is_still_hidden_whole() -> None:
    """A flow collection typed YAML that never closes (cut at max_body_bytes) is hidden
    whole, as JSON cut short is."""
    for record in records(f"{{a: 1, password: {SECRET}, b: [1, 2".encode(), YAML):
        assert SECRET not in json.dumps(record)
        assert record["text"].startswith("[REDACTED")


def test_a_flask_app_sends_the_canonical_dump_hidden(collector: Collector) -> None:
    body = _canonical({"user": "zoe", "password": SECRET})
    sent = json.dumps(logged_echo(collector, body.encode(), YAML, WORDS))
    assert SECRET not in sent
    assert "REDACTED" in sent
    assert "zoe" in sent  # (member by member: the rest as written)


_KEYS = st.sampled_from([*WORDS, "a", "b d", "tokens", "password x", "? ", "{[,:", "#x"])
_LEAF = st.one_of(st.integers(0, 99), st.none(), st.booleans(),
                  st.text(" ab:,#'\"{}[]?!&*-|>\n\\\t", max_size=8))
_DOCUMENT = st.recursive(
    st.dictionaries(_KEYS, _LEAF, min_size=1, max_size=3),
    lambda inner: st.dictionaries(_KEYS, st.one_of(_LEAF, inner, st.lists(inner, max_size=2)),
                                  min_size=1, max_size=3),
    max_leaves=8)

_STYLES = [{"canonical": True}, {"canonical": True, "line_break": "\r\n"},
           {"default_flow_style": True}, {"default_flow_style": True, "width": 12},
           {"default_flow_style": None}, {"default_style": '"'}, {"default_style": "'"},
           {"default_style": "|"}, {"default_style": ">"}]


def _secreted(document: Any, under: bool, count: list[int]) -> Any:
    """``document`` with each scalar under a denied key a word of its own."""
    if isinstance(document, dict):
        return {key: _secreted(value, under or key in WORDS, count)
                for key, value in document.items()}
    if isinstance(document, list):
        return [_secreted(value, under, count) for value in document]
    if not under:
        return document
    count[0] += 1
    return f"{SECRET}{count[0]}x"


@settings(max_examples=300, deadline=None)
@given(_DOCUMENT, st.sampled_from(_STYLES))
def test_pyyaml_dumps_in_every_style_send_no_denied_value(document: Any,
                                                           style: dict[str, Any]) -> None:
    """Each scalar under a denied key hidden, in every style PyYAML writes (before
    hostile36 the canonical ones leaked: 5,129 of 33,000 documents over 11 styles in
    the fuzz of the CHANGELOG, 0 after)."""
    import yaml
    document = _secreted(document, False, [0])
    body = yaml.dump(document, sort_keys=False, **style)
    for record in records(body.encode(), YAML):
        assert SECRET not in record["text"], (body, record["text"])
