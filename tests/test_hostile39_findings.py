"""YAML anchors and aliases around a denied key's value (hostile39's read of hostile36's
:mod:`readme_metrics.har.yaml_flow` and review129's aliases): an anchored key an alias of
which is a denied key's value (``{&p s: 1, password: *p}``: ``s`` went out), and a denied
value holding an anchor used elsewhere (``password: &p s`` then ``b: *p``: the anchor went
with the value and the body sent no longer loaded). Each body is read by PyYAML as the
app would; what is sent must load and hold no denied value."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.denied_bodies import SECRET, WORDS, records

YAML = "application/yaml"

S = SECRET

ANCHORED_KEYS = [
    pytest.param(f"{{&p {S}: 1, password: *p}}\n", id="flow"),
    pytest.param(f"x: {{&p {S}: 1}}\npassword: *p\n", id="flow-nested"),
    pytest.param(f"x: [{{&p {S}: 1}}]\npassword: *p\n", id="flow-in-sequence"),
    pytest.param(f"{{? &p {S} : 1, token: [*p]}}\n", id="flow-explicit"),
    pytest.param(f"{{!!str &p {S}: 1, password: *p}}\n", id="flow-tag-first"),
    pytest.param(f"&p {S}: 1\npassword: *p\n", id="block"),
    pytest.param(f"a:\n  &p {S}: 1\npassword: *p\n", id="block-nested"),
    pytest.param(f"- &p {S}: 1\n- password: *p\n", id="block-item"),
    pytest.param(f"- !!str &p {S}: 1\n- password: *p\n", id="block-tag-first"),
    pytest.param(f"? &p {S}\n: 1\npassword: *p\n", id="block-explicit"),
    pytest.param(f"a:\n  &p '{S}': 1\nsecret: {{a: *p}}\n", id="block-quoted"),
    pytest.param(f'--- !!map {{\n  ? &p !!str "{S}"\n  : !!int "1",\n'
                 f'  ? !!str "password"\n  : *p,\n}}\n', id="canonical"),
]


def _load(text: str) -> Any:
    return list(yaml.safe_load_all(text))


@pytest.mark.parametrize("body", ANCHORED_KEYS)
def test_an_anchored_key_that_a_denied_key_names_is_hidden(body: str) -> None:
    assert S in repr(_load(body))  # (the app reads it: a key, and the password)
    for record in records(body.encode(), YAML):
        text = record["text"]
        assert S not in text, text
        assert S not in repr(_load(text)), text


UNLOADABLE = [
    pytest.param(f"password: &p {S}\nother: *p\n", id="block"),
    pytest.param(f"password: &p\n  - {S}\nother: *p\n", id="block-lines"),
    pytest.param(f"password: !!seq &p [{S}]\nother: *p\n", id="block-tag-first"),
    pytest.param(f"{{password: &p {S}, other: *p}}\n", id="flow"),
    pytest.param(f"a: {{password: &p {S}}}\nother: [*p]\n", id="flow-nested"),
    pytest.param(f"password: [&p {S}, 1]\nother: *p\n", id="nested-anchor"),
    pytest.param(f"password:\n  a: &p\n    - {S}\nother:\n- *p\n", id="nested-block"),
    pytest.param(f"token: {{a: &p [{S}]}}\nother: {{b: *p}}\n", id="nested-flow"),
    pytest.param(f"x: &q [&p {S}]\npassword: *q\nother: *p\n", id="via-alias"),
    pytest.param(f"password: [&p {S}]\nother: *p # c\n", id="alias-and-comment"),
]


@pytest.mark.parametrize("body", UNLOADABLE)
def test_a_denied_value_anchored_still_loads(body: str) -> None:
    """The anchor is kept on the marker, ``password: &p "[REDACTED n]"`` (``other`` reads
    the marker, not the secret); an alias of an anchor hidden inside the value is hidden
    too. Before, the sent text did not load (the alias named no anchor)."""
    before = _load(body)[0]
    assert S in repr(before["other"])
    for record in records(body.encode(), YAML):
        text = record["text"]
        assert S not in text, text
        after = _load(text)[0]
        assert S not in repr(after), text
        assert set(after) == set(before)


@pytest.mark.parametrize("body", [
    pytest.param(f"password: &b {{a: {S}}}\nx:\n  <<: *b\n  c: 1\n", id="denied"),
    pytest.param(f"x: &b {{a: {S}}}\npassword: *b\ny: {{<<: *b, c: 1}}\n", id="aliased"),
])
def test_a_merge_key_of_a_hidden_mapping_merges_nothing(body: str) -> None:
    """``<<: *b`` of a mapping now a marker: PyYAML cannot merge a string (the text sent
    did not load); it merges nothing now, ``<<: {}``."""
    assert S in repr(_load(body))
    for record in records(body.encode(), YAML):
        text = record["text"]
        assert S not in text, text
        assert "<<: {}" in text and S not in repr(_load(text)), text


@pytest.mark.parametrize("body", [
    "x: &p 1\ny: *p\n",
    "x: &b {a: 1}\ny:\n  <<: *b\n",
    "&p a: 1\nb: *p\n",
    "{&p a: 1, b: *p}\n",
    "a: &p [1, &q 2]\nb: *q\n",
])
def test_kept_as_written(body: str) -> None:
    for record in records(body.encode(), YAML):
        assert record["text"] == body


class _Ref:
    """A place in a document for a shared collection of the pool (written as an alias)."""

    def __init__(self, index: int) -> None:
        self.index = index


_KEYS = st.sampled_from([*WORDS, "a", "b", "name", "items", "x-db"])
_LEAF = st.one_of(st.integers(0, 99), st.booleans(), st.text("ab :,#'\"&*-", max_size=6),
                  st.integers(0, 2).map(_Ref))
_TREE = st.recursive(
    st.dictionaries(_KEYS, _LEAF, min_size=1, max_size=3),
    lambda inner: st.one_of(
        st.dictionaries(_KEYS, st.one_of(_LEAF, inner), min_size=1, max_size=3),
        st.lists(st.one_of(_LEAF, inner), min_size=1, max_size=3)),
    max_leaves=8)
_POOL_ITEM = st.one_of(
    st.lists(st.one_of(st.integers(0, 9), st.text("ab", max_size=3)), min_size=1,
             max_size=3),
    st.dictionaries(_KEYS, st.one_of(st.integers(0, 9), st.lists(st.integers(0, 9),
                                                                 min_size=1, max_size=2)),
                    min_size=1, max_size=2))

_STYLES = [{"default_flow_style": False}, {"default_flow_style": None},
           {"default_flow_style": True}, {"default_flow_style": True, "width": 12},
           {"canonical": True}, {"canonical": True, "line_break": "\r\n"},
           {"default_style": '"'}, {"default_style": "'"}]


def _shared(tree: Any, pool: list[Any]) -> Any:
    """``tree`` with each :class:`_Ref` the pool's collection (the same object)."""
    if isinstance(tree, _Ref):
        return pool[tree.index % len(pool)]
    if isinstance(tree, dict):
        return {key: _shared(value, pool) for key, value in tree.items()}
    if isinstance(tree, list):
        return [_shared(value, pool) for value in tree]
    return tree


def _secreted(node: Any, under: bool, count: list[int]) -> None:
    """Each scalar reached under a denied key (through a shared collection too) made a
    word of its own, in place."""
    places = node.items() if isinstance(node, dict) else enumerate(node)
    for place, value in list(places):
        denied = under or place in WORDS
        if isinstance(value, (dict, list)):
            _secreted(value, denied, count)
        elif denied and not (isinstance(value, str) and value.startswith(SECRET)):
            count[0] += 1
            node[place] = f"{SECRET}{count[0]}x"


@settings(max_examples=400, deadline=None)
@given(_TREE, st.lists(_POOL_ITEM, min_size=1, max_size=3), st.sampled_from(_STYLES))
def test_pyyaml_dumps_with_shared_values_load_after_and_send_no_denied_value(
        tree: Any, pool: list[Any], style: dict[str, Any]) -> None:
    """Documents in which collections are shared (PyYAML writes ``&id001`` on the first
    and ``*id001`` after), a denied key's value among them or inside them: every body
    that loaded before loads after, and no scalar reached under a denied key is sent."""
    document = _shared(tree, pool)
    _secreted(document, False, [0])
    body = yaml.dump(document, sort_keys=False, **style)
    _load(body)
    for record in records(body.encode(), YAML):
        text = record["text"]
        assert SECRET not in text, (body, text)
        _load(text)  # (still YAML)


def _manifest(size: int) -> str:
    chunk = "".join(f"item{i}:\n  name: n{i}\n  password: s{i}\n  tags: [a, b, {{c: d}}]\n"
                    f"  x: &a{i} v\n  y: *a{i}\n  list:\n  - 1\n  - 2\n" for i in range(50))
    return (chunk * (size // len(chunk) + 1))[:size].rsplit("\n", 1)[0] + "\n"


@pytest.mark.parametrize("body", [
    pytest.param(_manifest(1 << 17), id="manifest"),
    pytest.param("".join(f"- {i}\n" for i in range(100)) * 325, id="short-lines"),
])
def test_a_yaml_body_is_read_in_a_few_copies_of_its_size(body: str) -> None:
    """Its lines were held as strings of their own and the text written as another list
    of lines: 8.7x a 1 MiB manifest's size at the peak, 14.3x a list of short items
    (``- 1``); 3.7x and under 1x now (positions; a body's copies are its marker's).
    The same multiples at an eighth of those sizes, as here (suite41: 128 KiB and 156
    KiB, 3.7x and 0.9x now, 8.7x and 14.3x with 5eb0e542^'s reader; tracemalloc's CPU
    an eighth)."""
    from readme_metrics.har.redaction_yaml import yaml_redacted
    from tests.support.denied_bodies import DENY
    from tests.support.memory import peak_bytes

    assert peak_bytes(lambda: yaml_redacted(body, DENY)) < 5 * len(body)
