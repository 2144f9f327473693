"""review103's findings (an adversarial read of event_stream.py after review97-102).

1. A document that starts after other text in an event's data (``data: x {"password":``
   then ``data: "s3cr3t"}``) was not followed into the next events: only data starting
   with a document was, so the value in the next event went out in clear; a denied name
   split there too (``data: x {"pass`` then ``data: word": "s3cr3t"}``, the leftover
   review102 reported). Now a document is followed from where it starts in the data.
2. A piece cut right after a backslash in a string (``data: "{\\"password\\": \\`` then
   ``data: "`` then ``data: s3cr3t\\"}"``): the next piece's first character, escaped,
   was read as the string's end, the document as over, and the value went out. Now the
   escape is carried to the next piece.
3. Data holding a ``\\u`` escape was read as naming a denied key (an escape could spell
   one), so an event over several lines that was not one document was hidden whole
   though it named none (``data: hello \\u00e9`` then ``data: world``). Now the escapes
   are read as JSON reads them before the data is looked at.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.har.body_redaction import redact_text
from readme_metrics.har.event_stream import event_stream_redacted
from readme_metrics.har.redaction import Redactor
from tests.test_review101_findings import _nested

SECRET = "Zq8-r103-Xw3K"
DENY = Redactor(denylist=["password"])


def _redact(stream: str) -> tuple[str, object]:
    return redact_text(stream, "text/event-stream", "utf-8", DENY)


def _events(pieces: list[str], end: str = "\n") -> str:
    return "".join(f"data: {piece}{end}{end}" for piece in pieces)


@pytest.mark.parametrize("pieces", [
    ['x {"password": ', f'"{SECRET}"}}'],
    ['x {"pass', f'word": "{SECRET}"}}'],
    ['chunk {"a": 1, "p', 'assword":', f'["{SECRET}"]}}'],
    ['ok [{"password"', f': "{SECRET}"}}]'],
    ['x "{\\"password\\": ', f'\\"{SECRET}\\"}}"'],
    ['x "{\\"pass', f'word\\": \\"{SECRET}\\"}}"'],
    ['say "hi" {"pass', f'word": "{SECRET}"}}'],
    ['"delta" {"password": ', f'"{SECRET}"}}'],
])
@pytest.mark.parametrize("end", ["\n", "\r", "\r\n"])
def test_a_document_started_after_other_text_is_followed_into_later_events(
        pieces: list[str], end: str) -> None:
    """Failed before: the later events were kept as sent."""
    text, _ = _redact(_events(pieces, end))
    assert SECRET not in text


def test_a_document_after_other_text_ends_where_it_ends() -> None:
    """The events after it are as sent."""
    stream = _events(['x {"password": ', f'"{SECRET}"}}', "[DONE]", '{"a": 1}'])
    assert event_stream_redacted(stream, DENY)[0] == (
        "data: [REDACTED 15]\n\ndata: [REDACTED 16]\n\ndata: [DONE]\n\ndata: {\"a\": 1}\n\n")


@pytest.mark.parametrize("first", [
    'x "{\\"password\\": 1}"', 'say "hi" {"password": 1}', '"a" "[1, 2]" password',
])
def test_a_document_that_ends_in_its_event_leaves_the_next_ones_as_sent(first: str) -> None:
    """Read from its quote or its bracket, whichever the text before it says."""
    stream = _events([first, "[DONE]", '{"a": 1}'])
    assert event_stream_redacted(stream, DENY)[0].endswith(_events(["[DONE]", '{"a": 1}']))


@pytest.mark.parametrize("pieces", [
    ['"{\\"password\\": \\', '"', f'{SECRET}\\"}}"'],
    ['"{\\"password\\": \\', f'"{SECRET}\\"}}"'],
    ['{"password": ["x\\', '"', f'", "{SECRET}"]}}'],
    ['{"password": ["x\\\\\\', '"', f'", "{SECRET}"]}}'],
])
def test_an_escape_cut_between_events_is_read_whole(pieces: list[str]) -> None:
    """The first failed before (its last event kept as sent)."""
    document = "".join(pieces)
    assert SECRET in json.dumps(json.loads(document))  # (a document, the secret in it)
    text, _ = _redact(_events(pieces))
    assert SECRET not in text


def test_an_even_run_of_backslashes_escapes_nothing_after_it() -> None:
    """``"x\\\\`` ends in an escaped backslash: the next piece's quote closes the string,
    and the events after the document are as sent."""
    stream = _events(['{"password": "x\\\\', '"}', "[DONE]"])
    assert event_stream_redacted(stream, DENY)[0] == (
        "data: [REDACTED 17]\n\ndata: [REDACTED 2]\n\ndata: [DONE]\n\n")


@pytest.mark.parametrize("stream", [
    "data: hello \\u00e9\ndata: world\n\n",
    'data: {"a": "\\u00e9",\ndata: "b": 1\n\n',
    'data: {"a": "\\u00e9x\ndata: y"}\n\n',
    'data: [1,\n\ndata: "\\u00e9"]\n\n',
])
def test_data_with_an_escape_that_names_no_denied_key_is_as_sent(stream: str) -> None:
    """Failed before: hidden whole, with the unreadable comment."""
    assert _redact(stream) == (stream, None)


@pytest.mark.parametrize("stream", [
    f'data: hello\ndata: {{"pass\\u0077ord": "{SECRET}"\n\n',
    f'data: {{"a": 1,\ndata: "\\u0070assword": "{SECRET}"\n\n',
    f'data: {{"\\u0070ass\n\ndata: word": "{SECRET}"}}\n\n',
    f'data: {{"pass\\u00\n\ndata: 77ord": "{SECRET}"}}\n\n',
    f'data: x {{"pass\\u0077ord": \n\ndata: "{SECRET}"}}\n\n',
    f'data: {{"a": "\\\\u0070", "pass\\u0077ord":\ndata: "{SECRET}"\n\n',
])
def test_an_escape_that_spells_a_denied_key_still_hides_its_value(stream: str) -> None:
    text, _ = _redact(stream)
    assert SECRET not in text


@pytest.mark.parametrize(("stream", "expected"), [
    ('data: {"a": "x"}\ndata: {"b": "password"}\n\n', None),
    (f'data: {{"a": "x"}}\ndata: {{"password": "{SECRET}"}}\n\n',
     'data: {"a": "x"}\ndata: {"password":"[REDACTED 13]"}\n\n'),
    (f'data: [1]\r\ndata:\r\ndata: {{"b": {{"password": ["{SECRET}"]}}}}\r\n\r\n',
     'data: [1]\r\ndata:\r\ndata: {"b":{"password":"[REDACTED]"}}\r\n\r\n'),
])
def test_an_event_of_a_document_a_line_is_redacted_line_by_line(
        stream: str, expected: str | None) -> None:
    """Failed before: hidden whole, with the unreadable comment."""
    assert _redact(stream) == (expected or stream, None)


@pytest.mark.parametrize("stream", [
    f'data: {{"a": 1}}\ndata: {{"password":\ndata: "{SECRET}"}}\n\n',
    f'data: {{"a": 1}}\ndata: {{"password": "{SECRET}"\n\n',
    f'data: {{"a": 1}}\ndata: "{SECRET}"\ndata: {{"password": 1}}\n\n',
    f'data: {{"password": [\ndata: ["{SECRET}"]\ndata: ]}}\n\n',
])
def test_an_event_with_a_line_that_is_no_whole_document_is_still_hidden(stream: str) -> None:
    """(The last is one document over three lines, redacted as one.)"""
    text, _ = _redact(stream)
    assert SECRET not in text


@st.composite
def _streams(draw: st.DrawFn) -> str:
    value = draw(st.sampled_from([SECRET, [SECRET], {"k": SECRET}]))
    document = json.dumps(draw(_nested(draw(st.integers(0, 2)), value)),
                          indent=draw(st.sampled_from([None, 1])),
                          ensure_ascii=draw(st.booleans()))
    if draw(st.booleans()):
        document = json.dumps(document)  # a JSON string holding the document
    prefix = draw(st.sampled_from(["", "x ", "chunk: ", "ok [", "say \"hi\" "]))
    document = prefix + document
    # Cut anywhere (inside the key's name, after a backslash) but inside the secret (a
    # fragment of it is no secret) or the text before the document.
    keep = [(0, len(prefix) + 1)] + [(m, m + len(SECRET)) for m in range(len(document))
                                     if document.startswith(SECRET, m)]
    cuts = sorted(set(draw(st.lists(st.integers(1, len(document) - 1), max_size=6))))
    cuts = [c for c in cuts if not any(a < c < b for a, b in keep)]
    out = []
    for a, b in zip([0, *cuts], [*cuts, len(document)]):
        end = draw(st.sampled_from(["\n", "\r", "\r\n"]))
        out.append("".join(f"data: {line}{end}" for line in document[a:b].split("\n")))
        out.append(end)  # each piece an event of its own
    return "".join(out)


# 100 examples, not 400 (suite42): ec03375a's tree with its parent's event_stream.py: 100 and 40
# examples failed on each of seeds 1 to 5.
@settings(max_examples=100, deadline=None)
@given(_streams())
def test_no_denied_value_in_a_document_cut_anywhere(stream: str) -> None:
    """Failed before (the first example found: ``data: x {"p`` then ``data: assword":
    "..."}``)."""
    text, _ = _redact(stream)
    assert SECRET not in text
