"""cpu22's findings: what a form of denied pairs costs the log worker.

A client's form of ``password=1&`` repeated (a MiB of it: 95,000 pairs) cost the worker
0.28 s to build on main eef6b66: for each pair, the name decoded and asked of the lists
(three Python calls), and each of the name and its redacted value decoded again for the
params (``%5BREDACTED%201%5D``, a call each), and two regular expressions run over the
whole text looking for escapes it did not have. Now a distinct name is asked once per
redactor, a distinct name or value decoded once per form, and the text searched for a
``%`` before any pattern: 0.14 s. The same logs: the former code is kept below and
compared on generated forms.
"""

from __future__ import annotations

from functools import partial
from typing import Optional

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from readme_metrics.exchange import Group
from readme_metrics.har import build_log
from readme_metrics.har.pairs import parse_query, query_values
from readme_metrics.har.percent import decode_component, decode_in
from readme_metrics.har.redaction import Redactor, escaped_redacted
from readme_metrics.har.redaction_forms import JSON_VALUE, NESTED_VALUE, holds_bracket
from readme_metrics.har.redaction_query import (
    hidden_in,
    hidden_name,
    hidden_name_in,
    json_value,
    nested_value,
    paired_in,
)
from tests.support.exchanges import post
from tests.test_hostile11_findings import _calls

# -- the former code (main eef6b66), the reference -------------------------------------------


def _former_parse_query(raw: str, codec: Optional[str] = None) -> list[tuple[str, str]]:
    """parse_query as it was: each name and value decoded by a call of its own."""
    pairs = []
    decoded = decode_component if codec is None else partial(decode_in, codec=codec)
    for chunk in raw.split("&"):
        if chunk:
            name, _, value = chunk.partition("=")
            pairs.append((decoded(name), decoded(value)))
    return pairs


def _former_hidden_value(redactor: Redactor, name: str, value: str,
                         nested: bool = True,
                         paired: frozenset[str] = frozenset()) -> Optional[str]:
    """Redactor._hidden_value as it was: the name decoded and asked of the lists each time
    (with redact13's rules since: a denied name/value pair's value field, ``paired``, and
    a value starting with an escape asked whether it holds a URL or form)."""
    decoded = decode_component(name)
    if redactor.redacts(decoded) or paired and decoded in paired:
        return escaped_redacted(decode_component(value))
    if value[:1] not in "{[%+ \t\n\r\"" or JSON_VALUE.match(value) is None:
        return nested_value(redactor, name, value, 0) if nested else None
    return json_value(redactor, decoded, value, decode_component, None)


def _former_query_string(redactor: Redactor, raw: str, codec: Optional[str]) -> str:
    """Redactor.query_string as it was: its two looks over the text by pattern."""
    if not redactor.active or not raw:
        return raw
    named = holds_bracket(raw)
    nested = redactor.has_deny and (NESTED_VALUE.search(raw) is not None or "?" in raw) \
        and redactor.names_key_decoded(raw)
    paired = paired_in(redactor, raw, codec)
    if codec is None:
        return query_values(raw, partial(_former_hidden_value, redactor, nested=nested,
                                         paired=paired),
                            partial(hidden_name, redactor) if named else None, heads=nested)
    return query_values(raw, partial(hidden_in, redactor, codec, nested=nested,
                                     paired=paired),
                        partial(hidden_name_in, redactor, codec) if named else None,
                        heads=nested)


# A form's pieces, the awkward ones often: escapes of brackets, "=", "&", "#", UTF-8 and
# none, names the lists name (and spelled otherwise), a lone surrogate.
_PIECE = st.sampled_from([
    "password", "PassWord", "p%61ssword", "%70assword", "\ufeffpassword", "token", "id", "a",
    "user", "user[password]", "%5Bpassword%5D", "%22password%22", "[", "]", "{", "}", '"',
    ":", "=", "&", "%", "%3D", "%3d", "%5B", "%5b", "%7B", "%7b", "%23", "%26", "%3B",
    "%41", "%C3%A9", "%E2%82", "%FF", "%zz", "+", "#", ";", "?", ".", " ", "%20", "%2B",
    "1", "0", "é", "ß", "\udcff", "\ud800", "next=https://x/?token=1",
    # (escapes encoded twice, the plain-text look for "%25"; redact13's pair members)
    "%25", "%253D", "%2526", "%25253D", "name", "nAme", "value", "[value]",
])
_TEXT = st.lists(st.one_of(_PIECE, st.characters()), max_size=30).map("".join)
# A long form too (parse_query reads one of 16 "&" or more through its table), its
# pieces drawn from a few, so that they repeat.
_FORM = st.one_of(_TEXT, st.lists(st.lists(_PIECE, max_size=4).map("".join),
                                  min_size=17, max_size=40).map("&".join))
_CODEC = st.sampled_from([None, "latin-1", "utf-8", "cp1252"])
_REDACTORS = [Redactor(denylist=["password"]), Redactor(allowlist=["id"]),
              Redactor(denylist=["user.token", "password"], allowlist=["id", "a"]),
              Redactor(denylist=["tOken", "é"]), Redactor()]


@given(_FORM, _CODEC)
@example("a=%C3%A9&password=%5B&b=%FF+%41", None)
@example("password=1&password=1&password=22", None)
@example("a\ud800b=%41&c=d", None)  # a lone surrogate in a name
def test_parse_query_is_the_former(raw: str, codec: Optional[str]) -> None:
    """parse_query decodes each distinct name and value once: the pairs the former code
    read, in order, repeats kept."""
    if codec is not None:
        raw = raw.encode("ascii", "replace").decode("ascii")  # (ascii_form's: ASCII)
    assert parse_query(raw, codec) == _former_parse_query(raw, codec)


@given(_FORM, _CODEC, st.sampled_from(range(len(_REDACTORS))))
@example("password=1&PASSWORD=2&p%61ssword=33", None, 0)
@example("a=%3Dtoken%3D1&next=%3Ftoken%3Dx", None, 3)
@example("a=%7B%22password%22:1%7D&%5Bx%5D=1", None, 0)
@example("id=1&a=2&user%5Btoken%5D=3", None, 2)
@example("next=a%253D1%2526password%253Dx", None, 0)  # the look for "%25" (review63)
def test_query_string_is_the_former(raw: str, codec: Optional[str], which: int) -> None:
    """Redactor.query_string, its names' answers remembered by the redactor (shared by
    every example, as by every log) and its looks for escapes made without a pattern
    where the text has no "%", gives the former text."""
    if codec is not None:
        raw = raw.encode("ascii", "replace").decode("ascii")
    redactor = _REDACTORS[which]
    assert redactor.query_string(raw, codec) == _former_query_string(redactor, raw, codec)


@pytest.mark.parametrize(("unit", "bound"), [
    ("password=1&", 500), ("password=1&id=2&", 450)], ids=["denied", "denied-and-kept"])
def test_a_form_of_denied_pairs_makes_fewer_python_calls_a_kib(unit: str, bound: int) -> None:
    """64 KiB of denied pairs (and of denied and kept ones): 841 (961) Python calls a KiB
    on main eef6b66, 376 (322) now: the name asked once per redactor, each distinct
    name and value decoded once for the params."""
    body = unit.encode() * (64 * 1024 // len(unit))
    exchange_ = post("application/x-www-form-urlencoded", body, group=Group("rdme_key_1234"))
    redactor = Redactor(denylist=["password"])
    per_kib = _calls(lambda: build_log(exchange_, redactor=redactor, max_body_bytes=1 << 20)
                     ) / 64
    assert per_kib <= bound, per_kib
