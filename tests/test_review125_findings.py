"""review125's findings (an adversarial read of delivery41, hostile32, review124, keyleak1).

1. YAML: a denied key whose value starts on the next lines went out in clear when PyYAML
   writes it so:

   - with CRLF line breaks (``yaml.dump(..., line_break="\\r\\n")``, a Windows client's
     file): ``password:\\r`` then ``  user: ...`` was read as the key ``password:`` (its
     ``\\r`` taken off the key's end instead of its colon), so every denied key holding a
     mapping or a sequence was sent as written;
   - with a property on the key's line and a sequence's items at the key's indentation
     (``password: &id001`` then ``- ...``, the anchor PyYAML puts on a value it writes
     twice; ``password: !!python/tuple`` then ``- ...``, ``yaml.dump`` of a tuple): the
     property alone was hidden, the items after it sent in clear;
   - a key in quotes then a sequence's items at its indentation (``"password":`` then
     ``- ...``): the JSON members' reading, run first, hid the ``-`` alone as the
     member's value, and the YAML reading then saw no item there;
   - the same with a block scalar (``"token": |-`` then its lines) or a plain scalar
     over lines: the indicator or first line alone hidden, taken for the value hidden
     already, its lines below sent;
   - with CRLF line breaks, a value anchored (``x-db: &id001\\r``) that a denied key
     names by its alias (``password: *id001``): the anchor's pattern wanted a blank or
     the line's end after it, the ``\\r`` was neither, and the anchored value went out.

   Found by a fuzz of 2,000 PyYAML-dumped documents (denied keys at every depth, every
   style): see the report of review125 for the figures.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.denied_bodies import SECRET, WORDS
from tests.support.denied_bodies import records as _records
from tests.support.fake_api import Collector
from tests.support.flask_echo import logged_echo

YAML = "application/yaml"

LEAKS: dict[str, str] = {
    "crlf-mapping": f"password:\r\n  user: {SECRET}\r\nb: 1\r\n",
    "crlf-sequence": f"password:\r\n- {SECRET}\r\nb: 1\r\n",
    "crlf-nested": f"a:\r\n  token:\r\n    x: {SECRET}\r\n  b: 1\r\n",
    "crlf-in-a-sequence": f"- password:\r\n    x: {SECRET}\r\n  b: 1\r\n",
    "crlf-quoted-key": f"'password':\r\n  x: {SECRET}\r\n",
    "anchor-then-items": f"password: &id001\n- {SECRET}\nb: *id001\n",
    "anchor-then-items-crlf": f"password: &id001\r\n- {SECRET}\r\nb: *id001\r\n",
    "tag-then-items": f"password: !!python/tuple\n- {SECRET}\n- 2\nb: 1\n",
    "anchor-and-tag-then-items": f"password: &a !!seq\n- {SECRET}\nb: 1\n",
    "nested-anchor-then-items": f"a:\n  password: &id001\n  - {SECRET}\n  b: *id001\n",
    # The anchored value of a denied key's alias, its anchor's line ending "\r".
    "crlf-anchored-mapping": f"x-db: &id001\r\n  inner: {SECRET}\r\npassword: *id001\r\n",
    "crlf-anchored-sequence": f"x-db: &id001\r\n- {SECRET}\r\npassword: *id001\r\n",
    # A quoted key, then a sequence at its indentation (PyYAML's default_style='"', a
    # key it must quote, JSON-ish YAML by hand): the JSON members' reading, first, took
    # the "-" for the member's value and hid it alone, and the items were no longer
    # read as the key's value.
    "quoted-key-then-items": f'"password":\n- {SECRET}\n- two\nb: 1\n',
    "single-quoted-key-then-items": f"'password':\n- {SECRET}\nb: 1\n",
    "quoted-key-then-items-crlf": f'"password":\r\n- {SECRET}\r\n',
    "quoted-key-then-nested-items": f'"password":\n- - {SECRET}\n  - 2\n',
    # The same reading hid a block scalar's indicator, or a plain scalar's first line,
    # alone ("token": [REDACTED]), and the YAML reading took the value for hidden
    # already: its lines below went out in clear.
    "quoted-key-block-literal": f'"token": |-\n  {SECRET}\nb: 1\n',
    "single-quoted-key-block-literal": f"'password': |\n  a\n  {SECRET}\n",
    "quoted-key-plain-over-lines": f'"password": x\n  {SECRET}\nb: 1\n',
}


def test_pyyaml_reads_the_passwords() -> None:
    import yaml
    for shape, body in LEAKS.items():
        assert SECRET in json.dumps(yaml.unsafe_load(body), default=list), shape
    # What PyYAML itself writes: the shapes above.
    assert yaml.safe_dump({"password": {"user": SECRET}, "b": 1}, line_break="\r\n",
                          sort_keys=False) == LEAKS["crlf-mapping"]
    shared = [SECRET]
    assert yaml.safe_dump({"password": shared, "b": shared},
                          sort_keys=False) == LEAKS["anchor-then-items"]
    assert yaml.dump({"password": (SECRET, 2), "b": 1},
                     sort_keys=False) == LEAKS["tag-then-items"]
    shared = {"inner": SECRET}  # type: ignore[assignment]
    assert yaml.safe_dump({"x-db": shared, "password": shared}, sort_keys=False,
                          line_break="\r\n") == LEAKS["crlf-anchored-mapping"]


@pytest.mark.parametrize("shape", LEAKS)
def test_the_value_is_hidden(shape: str) -> None:
    for record in _records(LEAKS[shape].encode(), YAML):
        sent = json.dumps(record)
        assert SECRET not in sent, sent
        assert "REDACTED" in sent


KEPT = {
    "crlf-plain": "a:\r\n  b: 1\r\n- x\r\n",
    "anchor-allowed": "a: &id001\n- 1\nb: *id001\n",
    "tag-allowed": "a: !!python/tuple\n- 1\n- 2\n",
    "quoted-allowed-then-items": '"a":\n- 1\n- x: y\n',
}


@pytest.mark.parametrize("shape", KEPT)
def test_guard_ordinary_data_is_kept(shape: str) -> None:
    body = KEPT[shape]
    for record in _records(body.encode(), YAML):
        assert record["text"] == body, record


def test_a_flask_app_sends_the_value_hidden(collector: Collector) -> None:
    import yaml

    body = yaml.safe_dump({"a": 1, "password": {"user": SECRET}},
                          line_break="\r\n").encode()
    sent = json.dumps(logged_echo(collector, body, YAML, WORDS))
    assert SECRET not in sent
    assert "REDACTED" in sent


_VALUE = st.recursive(
    st.one_of(st.just(SECRET), st.integers(0, 9), st.text("ab :-#'\"\n", max_size=6)),
    lambda inner: st.one_of(st.lists(inner, min_size=1, max_size=3),
                            st.dictionaries(st.sampled_from(["a", "b", "c d"]), inner,
                                            min_size=1, max_size=3)),
    max_leaves=6)


@settings(max_examples=120, deadline=None)
@given(_VALUE, st.sampled_from(["\n", "\r\n"]), st.booleans(), st.booleans(),
       st.integers(0, 2), st.booleans())
def test_a_denied_value_pyyaml_writes_on_the_next_lines_is_hidden(
        value: Any, line_break: str, shared: bool, as_tuple: bool, indent: int,
        alias_first: bool) -> None:
    """PyYAML's block style for ``{password: value}``, any line break, the value written
    twice (an anchor on the key's line, or on another key's and the password's an alias)
    or a tuple (a tag there): the secret hidden."""
    import yaml
    if as_tuple and isinstance(value, list):
        value = tuple(value)
    document: Any = {"password": value, "b": value if shared else 1}
    if alias_first:
        document = {"b": document["b"], "password": value}
    if indent:
        document = {"x": document} if indent == 1 else {"x": [document]}
    text = yaml.dump(document, default_flow_style=False, sort_keys=False,
                     line_break=line_break)
    if SECRET not in text:
        return
    for record in _records(text.encode(), YAML):
        sent = json.dumps(record)
        if shared and not isinstance(value, (list, dict, tuple)):
            continue  # (a scalar written twice is written twice: the second in clear)
        assert SECRET not in sent, text
