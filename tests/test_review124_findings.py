"""review124's findings (an adversarial review of review122, newcomer29 and cpu15).

1. YAML: the value of an explicit key (``? key`` then ``: value``) written on the
   ``:`` line as a compact mapping or sequence (``: password: ...``, ``: - password:
   ...``) had its denied key read as no key at all: the line's content was taken to
   start at the ``:``. PyYAML writes every key it cannot write as a simple key so (a key
   over 128 characters: a URL; one over lines), with its default block style
   (``yaml.safe_dump``), and the password went out in clear. The ``: `` of an explicit
   value is now skipped as a sequence's ``- `` is.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.denied_bodies import (
    SECRET,
    WORDS,
    assert_hidden,
    assert_kept_in_both,
    records,
)
from tests.support.fake_api import Collector
from tests.support.flask_echo import logged_echo

YAML = "application/yaml"
LONG_URL = "https://api.example.com/v1/" + "a" * 130

LEAKS: dict[str, str] = {
    "explicit-value-compact-map": f"? a\n: password: {SECRET}\n",
    "explicit-value-compact-map-quoted": f"? 'it''s'\n: b: 1\n  password: {SECRET}\n",
    "explicit-value-compact-seq": f"? a\n: - password: {SECRET}\n",
    "explicit-value-nested": f"x:\n  ? a\n  : password: {SECRET}\n",
    "explicit-value-in-a-sequence": f"k:\n- ? a\n  : password: {SECRET}\n",
    "explicit-key-over-lines": f"? 'a\n\n  b'\n: password: {SECRET}\n",
    "explicit-key-block": f"? |\n  a\n: password: {SECRET}\n",
    "pyyaml-long-key": f"? {LONG_URL}\n: password: {SECRET}\n  user: ada\n",
}


def test_pyyaml_reads_the_passwords() -> None:
    import yaml
    for shape, body in LEAKS.items():
        assert SECRET in json.dumps(yaml.safe_load(body)), shape
    # What PyYAML itself writes for a mapping under a long key: the shape above.
    written = yaml.safe_dump({LONG_URL: {"password": SECRET, "user": "ada"}})
    assert written == LEAKS["pyyaml-long-key"]


@pytest.mark.parametrize("shape", LEAKS)
def test_the_value_is_hidden(shape: str) -> None:
    import yaml
    for record in records(LEAKS[shape].encode(), YAML):
        assert_hidden(record)
        yaml.safe_load(record["text"])


KEPT = {
    "explicit-value-plain": "? a\n: b\n",
    "explicit-value-map-allowed": "? a\n: b: 1\n  c: [1, 2]\n",
    "explicit-value-seq": "? a\n: - 1\n  - x: y\n",
}


@pytest.mark.parametrize("shape", KEPT)
def test_guard_ordinary_data_is_kept(shape: str) -> None:
    assert_kept_in_both(KEPT[shape], YAML)


def test_a_flask_app_sends_the_value_hidden(collector: Collector) -> None:
    import yaml

    body = yaml.safe_dump({LONG_URL: {"password": SECRET, "user": "ada"}}).encode()
    assert_hidden(logged_echo(collector, body, YAML, WORDS))


_KEY = st.text(alphabet="ab '\"\\:#,[]{}-&*!|>?%@`\t\n", min_size=1, max_size=10)


@settings(max_examples=80, deadline=None)
@given(_KEY, st.booleans(), st.sampled_from([None, "'", '"']), st.integers(0, 2))
def test_any_key_pyyaml_writes_in_block_style_keeps_its_value_hidden(
        key: str, listed: bool, style: Any, indent: int) -> None:
    """PyYAML's block style for ``{key: {password: SECRET}}``, any key (an explicit one
    for a key over lines), scalars in any style: the password hidden, the text YAML."""
    import yaml
    value: Any = {"password": SECRET, "n": 1}
    document: Any = {key: [value] if listed else value}
    if indent:
        document = {"a": document} if indent == 1 else {"a": [document]}
    text = yaml.safe_dump(document, default_flow_style=False, default_style=style)
    assert SECRET in json.dumps(yaml.safe_load(text))
    for record in records(text.encode(), YAML):
        assert SECRET not in json.dumps(record), text
        yaml.safe_load(record["text"])


# 2. A quoted scalar over lines (a value, an item, an explicit key) whose later line
# starts with "[" or "{" was read as a flow collection opening there, and every line up
# to a "]" or "}" (in a quoted value further down) was passed over unread: the password
# in clear. Its lines now start no flow collection.
OPEN_QUOTE_LEAKS: dict[str, str] = {
    "value": f"k: 'a\n\n  ['\nd:\n  password: {SECRET}\ne: ']'\n",
    "item": f"- 'a\n\n  ['\n- d:\n    password: {SECRET}\n- ']'\n",
    "explicit-key": f"? 'a\n\n  ['\n: b\nd:\n  password: {SECRET}\ne: ']'\n",
    "double-quoted": f'k: "a\\"\n  {{"\nd:\n  password: {SECRET}\ne: "}}"\n',
}


@pytest.mark.parametrize("shape", OPEN_QUOTE_LEAKS)
def test_a_quoted_scalar_over_lines_starts_no_flow(shape: str) -> None:
    import yaml
    body = OPEN_QUOTE_LEAKS[shape]
    assert SECRET in json.dumps(yaml.safe_load(body))
    for record in records(body.encode(), YAML):
        assert SECRET not in json.dumps(record)
