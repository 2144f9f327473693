"""review136: a ``.env``'s pairs in YAML that hostile42's reading passed over went out in
clear.

hostile42 (``har/yaml_env.py``) reads each block, plain and quoted scalar of a YAML body
as text/plain's lines of ``name=value`` pairs, but passed flow collections over: the
same compose ``environment`` list hidden as a block sequence (``- PASSWORD=...``) went
out readable as a flow one (``environment: [USER=ada, PASSWORD=...]``), and so did a
flow mapping's value and a quoted item (``["PASSWORD=..."]``). A double-quoted scalar
whose line break is an escape JSON does not read (``\\x0a``, ``\\U0000000a``: YAML's) was
read as one line, its pair named ``USER`` holding the rest: sent in clear too. Now each
scalar of a flow collection whose lines hide a value is hidden whole (the collection's
other members kept, the YAML loading), and YAML's escapes are read as YAML reads them.

hostile44 joined base64 groups parted by "any mark ``b64decode`` skips" for seven marks;
``b64decode`` skips ``!#$*@^~`` too, and a zip's ``.env`` grouped by them went out as
written (a text, a JSON string, a form): joined now as well.
"""

from __future__ import annotations

import base64
import json
from typing import Callable

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.har.redaction import Redactor
from tests.support.leaks import strings
from tests.support.sent_bodies import SECRET, bodies_logged, kept_as_sent
from tests.support.work_count import text_work

DENY = Redactor(["password", "private_key"])
YAML = "application/yaml"


FLOW_LEAKS = {
    "compose-flow-list": f"services:\n  db:\n    environment: [USER=ada, PASSWORD={SECRET}]\n",
    "flow-quoted-item": f'environment: ["USER=ada", "PASSWORD={SECRET}"]\n',
    "flow-single-quoted": f"environment: ['USER=ada', 'PASSWORD={SECRET}']\n",
    "flow-over-lines": f"environment: [\n  USER=ada,\n  PASSWORD={SECRET}\n]\n",
    "flow-map-value": f"env: {{user: USER=ada, cmd: PASSWORD={SECRET}}}\n",
    "flow-map-env-string": f'env: {{x: USER=ada, dotenv: "USER=ada\\nPASSWORD={SECRET}"}}\n',
    "flow-in-sequence": f"- [USER=ada, PASSWORD={SECRET}]\n",
    "flow-nested": f"a: {{b: [USER=ada, {{c: PASSWORD={SECRET}}}]}}\n",
    "flow-anchored": f"env: [USER=ada, &p PASSWORD={SECRET}]\nagain: *p\n",
    "flow-commented": f"env: [USER=ada,  # the user\n  PASSWORD={SECRET}]\n",
    "top-flow": f"[USER=ada, PASSWORD={SECRET}]\n",
    "double-x0a": f'env: "USER=ada\\x0aPASSWORD={SECRET}\\x0aHOST=db"\n',
    "double-U": f'env: "USER=ada\\U0000000aPASSWORD={SECRET}\\U0000000aHOST=db"\n',
    "double-x0a-in-flow": f'env: [USER=ada, "HOST=db\\x0aPASSWORD={SECRET}"]\n',
}


@pytest.mark.parametrize("case", FLOW_LEAKS)
def test_a_dot_env_pair_in_a_flow_collection_or_a_yaml_escape_is_hidden(case: str) -> None:
    body = FLOW_LEAKS[case]
    assert any(SECRET in s for s in strings(yaml.safe_load(body)))  # (it holds one)
    for text in bodies_logged(body.encode(), YAML, DENY):
        assert SECRET not in text, text
        assert "REDACTED" in text, text
        sent = strings(yaml.safe_load(text))  # (still YAML)
        assert not any(SECRET in s for s in sent), text
        # The member beside it kept (in the scalar itself where the scalar is read
        # as its lines: the escapes' cases).
        assert any("USER=ada" in s for s in sent), text


def test_the_flow_lists_other_members_are_kept_as_written() -> None:
    body = f"environment: [USER=ada, PASSWORD={SECRET}, HOST=db]  # the db\n"
    [text, _] = bodies_logged(body.encode(), YAML, DENY)
    assert text.startswith("environment: [USER=ada, "), text
    assert text.endswith(", HOST=db]  # the db\n"), text
    # (The shape merged with hostile45's: the member's pair kept, its value hidden,
    # "PASSWORD=[REDACTED n]" as a .env line's, written in double quotes.)
    member = yaml.safe_load(text)["environment"][1]
    assert member.startswith("PASSWORD=") and "REDACTED" in member, text
    assert SECRET not in text, text


def test_a_yaml_escape_is_read_as_yaml_reads_it() -> None:
    """The pair's value hidden, the scalar's other lines kept (not the scalar whole)."""
    [text, _] = bodies_logged(FLOW_LEAKS["double-x0a"].encode(), YAML, DENY)
    value = yaml.safe_load(text)["env"]
    assert SECRET not in value, text
    assert value.startswith("USER=ada\nPASSWORD=") and value.endswith("\nHOST=db"), text


KEPT = {
    "flow-list": "environment: [USER=ada, HOST=db, 'MODE=prod', \"A=1\"]\n",
    "flow-map": "e: {a: USER=ada, b: [x=1, y=2]}\n",
    "prose": "notes: [the password= field, set password = later]\n",
    "other-names": "env: [PASSWORDS=many, PASSWORD_HINT=pet]\n",
    "double-x-escape": 'env: "USER=ada\\x0aHOST=db"\n',
}


@pytest.mark.parametrize("case", KEPT)
def test_flow_collections_with_no_denied_pair_are_kept(case: str) -> None:
    assert kept_as_sent(KEPT[case].encode(), YAML, DENY)


def test_many_flow_collections_cost_linear_work() -> None:
    """Four times the collections, at most five times the work (counted, not timed)."""
    from readme_metrics.har.bodies import post_data

    def work(n: int) -> int:
        data = ("env: [PASSWORD=x]\n" + "a: [A=1, {b: B=2}, 'C=3']\n" * n).encode()
        post_data(data, len(data), {"content-type": YAML}, DENY, 1 << 24)
        return text_work(lambda: post_data(data, len(data), {"content-type": YAML}, DENY,
                                           1 << 24))

    small, large = work(2_000), work(8_000)
    assert large <= 5 * small, (small, large)


_STYLES: dict[str, Callable[[str], str]] = {
    "plain": lambda item: item,
    "double": json.dumps,
    "single": lambda item: "'" + item.replace("'", "''") + "'",
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet="abcXYZ019!@$%^*()&;:/ -_'\"", min_size=3, max_size=14),
       st.sampled_from(sorted(_STYLES)), st.sampled_from(["list", "map", "lines"]),
       st.integers(0, 2))
def test_any_pair_in_a_flow_collection_is_hidden_the_others_kept(
        value: str, style: str, shape: str, at: int) -> None:
    secret = "Zq8" + value
    items = ["USER=ada", "HOST=db"]
    items.insert(at, f"PASSWORD={secret}")
    written = [_STYLES[style](item) for item in items]
    if shape == "map":
        body = "env: {" + ", ".join(f"k{n}: {item}" for n, item in enumerate(written)) + "}\n"
    else:
        gap = "\n  " if shape == "lines" else " "
        body = "env: [" + gap + f",{gap}".join(written) + "]\n"
    try:
        members = yaml.safe_load(body)["env"]
    except yaml.YAMLError:
        return  # (no YAML: a plain scalar of flow indicators)
    values = list(members.values()) if shape == "map" else members
    if f"PASSWORD={secret}" not in values:
        return  # (another reading: a comment, a plain scalar's folded blanks)
    for text in bodies_logged(body.encode(), YAML, DENY):
        assert secret not in text, text
        loaded = yaml.safe_load(text)["env"]
        sent = list(loaded.values()) if shape == "map" else loaded
        assert len(sent) == 3 and "USER=ada" in sent and "HOST=db" in sent, text


# hostile44's "any mark b64decode skips": seven more ---------------------------------

#: Marks Python's ``b64decode`` skips that hostile44 did not join groups at (``'``, ``\``,
#: ``"``, ``%``, ``&``, ``=``, ``?``, brackets and ``<>`` are left: they end a run in
#: text, a string, an escape or a query).
MORE_MARKS = ["!", "#", "$", "*", "@", "^", "~"]


@pytest.mark.parametrize("mark", MORE_MARKS)
@pytest.mark.parametrize("archive", ["zip", "gzip"])
def test_base64_groups_parted_by_any_other_mark_are_read(archive: str, mark: str) -> None:
    from tests.test_hostile41_findings import GROUPED, _grouped, _leaks

    value = _grouped(GROUPED[archive], mark)
    assert base64.b64decode(value) == base64.b64decode(GROUPED[archive])
    assert _leaks(value) == []


def test_guard_prose_in_those_marks_is_kept() -> None:
    from tests.test_hostile41_findings import PROSE_ZIP, _b64, _form_kept, _grouped

    for value in [_grouped(_b64(PROSE_ZIP), mark) for mark in MORE_MARKS] + [
            "H4sI!this!that!them", "UEsD#is#what#zips#start", "eJ*zlib*eA~eF@KLUv^Qlpo"]:
        assert kept_as_sent(f"note: {value}\n".encode(), "text/plain"), value
        assert kept_as_sent(json.dumps({"f": value}).encode(), "application/json"), value
        assert _form_kept(value), value


def test_runs_in_those_marks_cost_linear_work() -> None:
    """Four times the groups, at most five times the work (counted, not timed)."""
    from readme_metrics.har.bodies import post_data

    def work(n: int) -> int:
        data = ("UEsDBBQA" + "#AAAA" * n + " H4sI~" + "@BBBB" * n).encode()
        return text_work(lambda: post_data(data, len(data), {"content-type": "text/plain"},
                                           DENY, 1 << 24))

    work(10)  # (regexes compiled)
    small, large = work(2_000), work(8_000)
    assert large <= 5 * small, (small, large)
