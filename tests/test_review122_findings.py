"""review122: the last session's safety landings (hostile30, review117, the lead's
f2e01c7a) reviewed, with hostile30's denylist of common words; each leak sent in clear
by a real Flask app to a real collector on 127.0.0.1 before:

1. A YAML block key in quotes holding its quote escaped (``'it''s': {password: ...}``,
   ``"a\\"b": {password: ...}``): :func:`redaction_yaml._value_start` took the first
   quote after the opening one for the closing one, so the line held no key, and the
   flow collection after it (PyYAML reads ``{password: ...}`` as its value) was not
   read. The closing quote is now found by one scanner, shared with ``_flow_close``.
2. A ``.netrc`` whose first entry is a ``macdef`` (an ftp init macro before the first
   machine, as curl and Python's netrc read one), or whose keywords are quoted
   (``"password" ...``, as curl and Python's netrc read a quoted token): no netrc, its
   password in clear.
"""

from __future__ import annotations

import json
import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.har.redaction_netrc import netrc_redacted
from tests.support.denied_bodies import (
    DENY,
    SECRET,
    WORDS,
    assert_hidden,
    assert_hidden_in_both,
    assert_kept_in_both,
    records,
)
from tests.support.fake_api import Collector
from tests.support.flask_echo import logged_echo
from tests.support.memory import peak_bytes

YAML = "application/yaml"

LEAKS: dict[str, tuple[str, str]] = {
    "yaml-single-quoted-key-flow-map": (YAML, f"'it''s': {{password: {SECRET}}}\n"),
    "yaml-single-quoted-key-flow-list": (YAML, f"'it''s': [a, {{password: {SECRET}}}]\n"),
    "yaml-double-quoted-key-flow-map": (YAML, f'"it\\"s": {{password: {SECRET}}}\n'),
    "yaml-quoted-key-in-a-sequence": (YAML, f"- 'it''s': {{password: {SECRET}}}\n"),
    "yaml-quoted-key-nested": (YAML, f"a:\n  'it''s': {{b: 1, password: {SECRET}}}\n"),
    "yaml-quoted-key-anchored": (YAML, f"&a 'it''s': {{password: {SECRET}}}\n"),
    "yaml-quoted-key-flow-over-lines": (YAML, f'"x\\"": [\n  {{password: {SECRET}}}\n]\n'),
    "netrc-macdef-first": ("text/plain", (
        "macdef init\ncd /pub\n\n"
        f"machine a.example.com login ada password {SECRET}\n")),
    "netrc-macdef-first-crlf": ("text/plain", (
        "macdef init\r\ncd /pub\r\n\r\n"
        f"machine a.example.com login ada password {SECRET}\r\n")),
    "netrc-comment-then-macdef-octet": ("application/octet-stream", (
        "# ftp\nmacdef init\nbin\n\n"
        f"default login anonymous password {SECRET}\n")),
    "netrc-quoted-keyword": ("text/plain",
                             f'machine a.example.com login ada "password" {SECRET}\n'),
    "netrc-quoted-machine": ("text/plain",
                             f'"machine" a.example.com "login" ada "password" {SECRET}\n'),
}


@pytest.mark.parametrize("shape", LEAKS)
def test_the_value_is_hidden(shape: str) -> None:
    mime, body = LEAKS[shape]
    assert_hidden_in_both(body, mime)


def test_pyyaml_reads_the_pairs() -> None:
    import yaml
    for shape, (mime, body) in LEAKS.items():
        if mime == YAML:
            assert SECRET in json.dumps(yaml.safe_load(body)), shape


def test_python_netrc_reads_the_passwords(tmp_path: Any) -> None:
    import netrc
    for shape, (_, body) in LEAKS.items():
        if shape.startswith("netrc"):
            path = tmp_path / shape
            path.write_bytes(body.encode())
            hosts = netrc.netrc(str(path)).hosts
            assert SECRET in json.dumps(hosts), shape


KEPT = {
    "yaml-quoted-keys": (YAML, "'it''s': {a: 1, b: [x, 'y''z']}\n\"q\\\"\": [1, 2]\n"),
    "yaml-quoted-key-plain": (YAML, "'it''s': x\n\"say \\\"hi\\\"\": y\n"),
    "netrc-prose-macdef": ("text/plain", "macdef names a macro; the password comes later\n"),
    "netrc-prose-quoted": ("text/plain", 'machine "learning" makes "password" cracking easy\n'),
}


@pytest.mark.parametrize("shape", KEPT)
def test_guard_ordinary_data_is_kept(shape: str) -> None:
    mime, body = KEPT[shape]
    assert_kept_in_both(body, mime)


def test_a_quoted_netrc_keyword_keeps_its_quotes() -> None:
    body = f'machine a "login" ada "password" {SECRET}\n'
    assert netrc_redacted(body, DENY.denies) == body.replace(SECRET, "[REDACTED 10]")


@pytest.mark.parametrize("shape", ["yaml-single-quoted-key-flow-map", "netrc-macdef-first"])
def test_a_flask_app_sends_the_value_hidden(collector: Collector, shape: str) -> None:
    mime, text = LEAKS[shape]
    assert_hidden(logged_echo(collector, text.encode(), mime, WORDS))


# Properties: what PyYAML writes, Python's netrc reads, as any such file may be.

_KEY_TEXT = st.text(alphabet=string.ascii_letters + " '\"\\:#,[]{}-", min_size=1,
                    max_size=12)


@settings(max_examples=60, deadline=None)
@given(_KEY_TEXT, st.booleans(), st.integers(0, 2))
def test_any_key_pyyaml_writes_keeps_its_flow_values_denied_key_hidden(
        key: str, listed: bool, indent: int) -> None:
    """PyYAML's output for ``{key: {password: SECRET}}`` (its key quoted as it must be,
    the value in flow style): the password hidden, the text still YAML."""
    import yaml
    value: Any = {"password": SECRET, "n": 1}
    document = {key: [value] if listed else value}
    text = yaml.safe_dump(document, default_flow_style=None, width=1 << 16)
    if indent:
        text = "".join(" " * indent + line for line in text.splitlines(True))
        text = "a:\n" + text
    for record in records(text.encode(), YAML):
        assert SECRET not in json.dumps(record), text
        yaml.safe_load(record["text"])


_NETRC_WORD = st.sampled_from(["a.example.com", "ada", '"x y"', "#x", "w"])


@settings(max_examples=60, deadline=None)
@given(st.booleans(), st.booleans(), st.sampled_from([" ", "\t", "\n", "\r\n", "\n\t"]),
       st.sampled_from(["\n", "\r\n"]), st.lists(st.sampled_from(["login", "account"]),
                                                 max_size=2))
def test_any_netrc_python_reads_has_its_password_hidden(
        macro: bool, quoted: bool, blank: str, end: str, others: list[str]) -> None:
    def keyword(word: str) -> str:
        return f'"{word}"' if quoted else word
    head = f"macdef init{end}cd /pub{end}{end}" if macro else ""
    tokens = [keyword("machine"), "h.example.com"]
    for other in others:
        tokens += [keyword(other), "ada"]
    tokens += [keyword("password"), SECRET]
    body = head + blank.join(tokens) + end
    hidden = netrc_redacted(body, DENY.denies)
    assert hidden is not None and SECRET not in hidden, body


def _old_flow_close(lines: list[str], index: int, flow: str, budget: list[int]) -> int:
    """redaction_yaml._flow_close as f2e01c7a left it (its quotes read a character at a
    time): the shared scanner reads them as it did."""
    depth, quote, prev, first, blank = 0, "", "", "", True
    for ahead in range(len(lines) - index + 1):
        budget[0] -= 1
        if budget[0] < 0:
            return index
        text = lines[index + ahead - 1] if ahead else flow
        at, blank = 0, True
        while at < len(text):
            character = text[at]
            if quote:
                if character == "\\" and quote == '"':
                    at += 1
                elif character == quote:
                    if quote == "'" and text[at + 1:at + 2] == "'":
                        at += 1
                    else:
                        quote, prev = "", character
            elif character in ("'", '"') and (prev in "{[,:" or blank and first in "!&"):
                quote = character
            elif character in " \t\r":
                blank = True
            elif character == "#" and (at == 0 or text[at - 1] in " \t"):
                break
            else:
                if blank:
                    first, blank = character, False
                prev = character
                if character in "{[":
                    depth += 1
                elif character in "}]":
                    depth -= 1
                    if depth <= 0:
                        return index + ahead
            at += 1
    return index


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["{", "[", "}", "]", ",", ":", " ", "'", "''", '"', '\\"',
                                 "\\", "\\\\", "#", " #", "!!s ", "&a ", "a", "\n"]),
                min_size=1, max_size=24), st.integers(2, 40))
def test_a_flow_collections_end_is_the_old_scanners(pieces: list[str], budget: int) -> None:
    from readme_metrics.har.redaction_yaml import _flow_close
    lines = ("{" + "".join(pieces)).split("\n")
    old, new = [budget], [budget]
    assert _flow_close(lines, 1, lines[0], new) == _old_flow_close(lines, 1, lines[0], old)
    assert new == old


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="'\"\\ :ab#", max_size=16))
def test_a_quoted_keys_value_starts_where_pyyaml_reads_it(key: str) -> None:
    """A key in single quotes ('' a quote) or double quotes (JSON's escapes) is the key
    PyYAML reads: its value starts after its colon."""
    import yaml

    from readme_metrics.har.redaction_yaml import _value_start
    for line in ("'" + key.replace("'", "''") + "': 1", json.dumps(key) + ": 1"):
        assert yaml.safe_load(line) == {key: 1}, line
        assert _value_start(line, 0) == len(line) - 1, line


# Cost: a MiB of short properties lines (hostile28's and review117's reader) through
# build_log with a denylist (256 KiB here): the reader kept a list of every line, and two or three
# pieces a line to the end (24-50 copies of the body at the peak); now a few.

PROPERTIES_BODIES = {
    "continued-key": ("text/x-java-properties", "pass" + "\\\n" * (1 << 15) + "word=s\n"),
    "continued-value": ("text/x-java-properties", "password=" + "a\\\n" * (1 << 16) + "b\n"),
    "plain-lines": ("text/plain", "password s\n" * ((1 << 18) // 11)),
    "colon-lines": ("text/x-java-properties", "password:s\r\n" * ((1 << 18) // 12)),
}


@pytest.mark.parametrize("shape", PROPERTIES_BODIES)
def test_a_properties_file_of_short_lines_is_read_in_memory_of_a_few_copies(
        shape: str) -> None:
    from readme_metrics.har import build_log
    from tests.support.exchanges import make_exchange
    mime, text = PROPERTIES_BODIES[shape]
    body = text.encode()
    exchange = make_exchange(response_headers=[("Content-Type", mime)],
                             response_body=body, response_body_size=len(body))
    assert peak_bytes(lambda: build_log(exchange, redactor=DENY, max_body_bytes=2 << 20)) < (
        8 * len(body))
    sent = build_log(exchange, redactor=DENY, max_body_bytes=2 << 20)[
        "request"]["log"]["entries"][0]["response"]["content"]["text"]
    assert "REDACTED" in sent and "s\n" not in sent and "a\\\n" not in sent


# Properties over the other readers the landings changed: what plistlib writes, a
# properties key Java reads as a denied name, a JSON document over an event's data lines.

_NAMES = st.sampled_from(["user", "n", "db", "it's", "a<b>&c"])
_LEAVES = st.one_of(st.integers(0, 99), st.sampled_from(["ada", "x y", "<&>"]),
                    st.booleans())


@settings(max_examples=40, deadline=None)
@given(st.recursive(st.dictionaries(_NAMES, _LEAVES, max_size=2),
                    lambda inner: st.dictionaries(_NAMES, inner | st.lists(inner, max_size=2),
                                                  max_size=2), max_leaves=6),
       st.sampled_from(["password", "token", "api_key"]), st.booleans(),
       st.sampled_from(["application/xml", "application/x-plist", "text/plain"]))
def test_any_plist_has_its_denied_values_hidden(document: dict[str, Any], name: str,
                                                data: bool, mime: str) -> None:
    import plistlib
    document = {**document, "inner": {name: SECRET.encode() if data else SECRET}}
    body = plistlib.dumps(document)
    for record in records(body, mime):
        sent = json.dumps(record)
        assert SECRET not in sent and "WnE4aDIyWHczSw" not in sent, body
        if not data:  # (a <data> element's mark is no base64: plistlib refuses it)
            plistlib.loads(record["text"].encode())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["plain", "u", "slash", "cont"]), min_size=8, max_size=8),
       st.sampled_from(["=", ":", " ", "\t", " = ", " : ", "\f"]), st.booleans(),
       st.sampled_from(["\n", "\r\n", "\r"]))
def test_any_properties_key_java_reads_as_denied_has_its_value_hidden(
        spellings: list[str], separator: str, dotted: bool, end: str) -> None:
    key = ""
    for character, spelling in zip("password", spellings):
        key += {"plain": character, "u": f"\\u{ord(character):04x}",
                "slash": "\\" + character if character not in "tnrfu" else character,
                "cont": "\\" + end + "  " + character}[spelling]
    body = f"# app{end}user=ada{end}{'db.' if dotted else ''}{key}{separator}{SECRET}{end}"
    for record in records(body.encode(), "text/x-java-properties"):
        assert SECRET not in json.dumps(record), body


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["token", "password", "secret"]), st.sampled_from([None, 0, 1, 2]),
       st.sampled_from(["\n", "\r\n", "\r"]), st.booleans())
def test_any_json_event_has_its_denied_values_hidden(name: str, indent: Any, end: str,
                                                     nested: bool) -> None:
    value: Any = {"a": [1, {name: SECRET}]} if nested else {name: SECRET}
    lines = json.dumps({"user": "ada", "v": value}, indent=indent).split("\n")
    body = "event: auth" + end + "".join(f"data: {line}{end}" for line in lines) + end
    for record in records(body.encode(), "text/event-stream"):
        assert SECRET not in json.dumps(record), body


def _stream_data(text: str) -> list[str]:
    """Each event's data as an EventSource reads a stream (the WHATWG rules)."""
    events, data = [], []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line:
            if data:
                events.append("\n".join(data))
            data = []
            continue
        field, colon, value = line.partition(":")
        if field == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    return events


@pytest.mark.parametrize("first", ["data", "data:", "data: "])
def test_an_events_document_over_lines_reads_as_the_same_document(first: str) -> None:
    """An event whose first data line is empty (``data`` alone) then a document naming a
    denied key: the document, hidden, was written on the ``data`` line with no colon
    (``data{"token": ...}``), a field of another name: the event's data lost."""
    body = f'{first}\ndata: {{"token": "{SECRET}", "n": 1}}\n\n'
    for record in records(body.encode(), "text/event-stream"):
        assert SECRET not in record["text"]
        [data] = _stream_data(record["text"])
        assert json.loads(data) == {"token": "[REDACTED 10]", "n": 1}, record["text"]
