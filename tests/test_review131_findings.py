"""A hostile read of hostile39's YAML anchors (review131): an alias chain (``y: &b [*a]``
then ``password: *b``: ``a``'s value went out), a denied name anchored over a line break
(``&k |-`` then ``password``, then ``*k : ...``: sent in clear), a merge key's sequence
of a hidden mapping (``<<: [*b]``: the text sent did not load), and two anchor regexes
that tried a match at each ``&`` of a line to its end (``&a&a...``: 64 KiB took 9 s,
1 MiB some 40 minutes). Each body is read by PyYAML as the app would."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.denied_bodies import SECRET, WORDS, records

YAML = "application/yaml"

S = SECRET


def _load(text: str) -> Any:
    return list(yaml.safe_load_all(text))


LEAKS = [
    pytest.param(f"x: &a {S}\ny: &b [*a]\npassword: *b\n", id="alias-chain"),
    pytest.param(f"x: &a {S}\ny: &b {{k: *a}}\npassword: [*b]\n", id="alias-chain-flow"),
    pytest.param(f"x: &a {S}\ny: &b [*a]\nz: &c [*b]\nw: &d [*c]\nv: &e [*d]\n"
                 f"u: &f [*e]\ntoken: *f\n", id="alias-chain-long"),
    pytest.param(f"- &n0 b: &p |\n    {S}\n- password: *p\n", id="anchored-key-block"),
    pytest.param(f"&n0 b: &p |\n  {S}\npassword: *p\n", id="anchored-key-block-top"),
    pytest.param(f"- !!str b: &p |\n    {S}\n- password: *p\n", id="tagged-key-block"),
    pytest.param(f"a: &k |-\n  password\n*k : {S}\n", id="named-block-scalar"),
    pytest.param(f"a: &k\n  password\n*k : {S}\n", id="named-next-line"),
    pytest.param(f"a: &k\r\n  password\r\n*k : {S}\r\n", id="named-next-line-crlf"),
]


@pytest.mark.parametrize("body", LEAKS)
def test_a_denied_value_through_an_alias_is_not_sent(body: str) -> None:
    assert S in repr(_load(body))
    for record in records(body.encode(), YAML):
        text = record["text"]
        assert S not in text, text
        assert S not in repr(_load(text)), text


@pytest.mark.parametrize("body", [
    pytest.param(f"b: &b {{x: {S}}}\npassword: *b\nc:\n  <<: [*b]\n", id="aliased"),
    pytest.param(f"password: &b {{a: {S}}}\nc: {{<<: [*b], d: 1}}\n", id="denied"),
    pytest.param(f"password: &b {{a: {S}}}\nk: &k {{e: 2}}\nc:\n  <<: [*k, *b]\n",
                 id="two"),
])
def test_a_merge_sequence_of_a_hidden_mapping_merges_nothing_of_it(body: str) -> None:
    _load(body)
    for record in records(body.encode(), YAML):
        text = record["text"]
        assert S not in text, text
        assert S not in repr(_load(text)), text
    if "*k" in body:
        assert "<<: [*k, {}]" in records(body.encode(), YAML)[0]["text"]


@pytest.mark.parametrize("body", [
    pytest.param(f"password: [&m {S}]\n*m : 1\n", id="block"),
    pytest.param(f"password: [&m {S}]\nb:\n  *m : 1\n", id="block-nested"),
    pytest.param(f"password: [&m {S}]\n? *m\n: 1\n", id="explicit"),
    pytest.param(f"password: [&m {S}]\nb: {{*m : 1}}\n", id="flow"),
    pytest.param(f"password: [&m {S}]\nb: {{? *m : 1}}\n", id="flow-explicit"),
])
def test_a_key_aliasing_an_anchor_hidden_in_a_value_still_loads(body: str) -> None:
    """``*m`` as a key, ``m`` an anchor inside a hidden value: it named no anchor in the
    text sent, which did not load; the key is a marker now."""
    _load(body)
    for record in records(body.encode(), YAML):
        text = record["text"]
        assert S not in text, text
        assert S not in repr(_load(text)), text


_RUN = """\
import resource, sys
resource.setrlimit(resource.RLIMIT_CPU, (20, 20))
from readme_metrics.har.redaction_yaml import yaml_redacted
from tests.support.denied_bodies import DENY
unit, head = sys.argv[1], sys.argv[2].replace("|", "\\n")
print(len(yaml_redacted(head + "x: " + unit * ((1 << 20) // len(unit)) + "\\n", DENY)))
"""


@pytest.mark.parametrize(("unit", "head"), [
    ("&a", "b: *a|"),
    ("&", "b: *a|"),
    ("#&", "b: *a|"),
    ("&a", "password: &b [&a s]|<<: *b|c: *a|"),
])
def test_a_line_of_ampersands_is_read_once(unit: str, head: str) -> None:
    """In a child whose CPU time is bounded at 20 s (a bound on the work, not a timing:
    linear takes a fraction of a second for 1 MiB; main's reading, some 40 minutes)."""
    from tests.support.processes import run_command

    root = Path(__file__).resolve().parent.parent
    done = run_command([sys.executable, "-c", _RUN, unit, head], timeout=600,
                       capture_output=True, text=True, cwd=root)
    assert done.returncode == 0, done.stderr[-2000:]


# A document written by hand: anchors on scalars, keys, block scalars and flow items,
# aliases of them anywhere after (PyYAML's dumps anchor collections only).
_NAMES = st.sampled_from([*WORDS, "a", "b", "name", "x-db"])


@st.composite
def _documents(draw: st.DrawFn) -> str:
    lines: list[str] = []
    anchors: list[str] = []
    counter = [0]

    def leaf() -> str:
        counter[0] += 1
        return f"v{counter[0]}w"

    def node(inline: bool) -> str:
        kinds = ["plain", "anchored", "flow", "flow-anchored", "tagged"]
        if anchors:
            kinds += ["alias", "alias", "flow-alias"]
        if not inline:
            kinds += ["block-scalar", "next-line", "comment-between"]
        kind = draw(st.sampled_from(kinds))
        name = f"n{len(anchors)}"
        if kind == "plain":
            return leaf()
        if kind == "alias":
            return "*" + draw(st.sampled_from(anchors))
        if kind == "flow-alias":
            return f"[{leaf()}, *{draw(st.sampled_from(anchors))}]"
        anchors.append(name)
        if kind == "anchored":
            return f"&{name} {leaf()}"
        if kind == "tagged":
            return f"{draw(st.sampled_from(['!!str ', '!<tag:yaml.org,2002:str> ']))}" \
                   f"&{name} {leaf()}"
        if kind == "flow":
            return f"[&{name} {leaf()}, {leaf()}]"
        if kind == "flow-anchored":
            return f"&{name} {{k: {leaf()}, {draw(_NAMES)}: {leaf()}}}"
        if kind == "block-scalar":
            return f"&{name} {draw(st.sampled_from(['|', '|-', '>']))}\n  {leaf()}"
        if kind == "next-line":
            return f"&{name}\n  {leaf()}"
        return f"&{name} # c\n  {leaf()}"

    for index in range(draw(st.integers(1, 7))):
        key = f"{draw(_NAMES)}{index}" if draw(st.booleans()) else draw(_NAMES)
        if draw(st.integers(0, 5)) == 0:
            anchors.append(f"n{len(anchors)}")
            key = f"&{anchors[-1]} {key}{index}"  # (an anchored key)
        value = node(False)
        lines.append(f"{key}: {value}" if draw(st.booleans()) or "\n" in value
                     else f"- {key}: {value}")
    if any(line.startswith("- ") for line in lines):
        lines = [line if line.startswith("- ") else f"- {line}".replace("\n", "\n  ")
                 for line in lines]
    text = "\n".join(lines) + "\n"
    if draw(st.booleans()):
        text = "---\n" + text
    return text.replace("\n", draw(st.sampled_from(["\n", "\r\n"])))


def _under_denied(node: Any, under: bool, found: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            denied = under or (isinstance(key, str) and key in WORDS)
            _under_denied(key, under, found)
            _under_denied(value, denied, found)
    elif isinstance(node, list):
        for value in node:
            _under_denied(value, under, found)
    elif under and isinstance(node, str):
        found.update(part for part in node.split() if part.startswith("v"))


@settings(max_examples=300, deadline=None)
@given(_documents())
def test_hand_written_anchors_load_after_and_send_no_denied_value(body: str) -> None:
    """Every body that loaded loads after, and no scalar reached under a denied key
    (through any chain of aliases) is sent."""
    try:
        documents = _load(body)
    except yaml.YAMLError:
        return
    denied: set[str] = set()
    for document in documents:
        _under_denied(document, False, denied)
    for record in records(body.encode(), YAML):
        text = record["text"]
        after = _load(text)  # (still YAML)
        for value in denied:
            assert value not in text and value not in repr(after), (body, text, value)
