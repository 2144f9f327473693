"""review102's findings (two leaks review101 left in event_stream.py).

1. A denied key's name split between events let its value out: ``data: {"pass`` then
   ``data: word": "s3cr3t"}``. No piece named the key, and the body-level check (the
   stream as written) named none either. Now the open document's last characters are
   read with each next piece, and the body-level check reads the events' data as one
   text too.
2. ``event:``, ``id:`` and comment lines went out in clear (``event: {"password": ...}``,
   ``id: password=...``). The stream is the body (SPEC 6, denied keys at any depth): such
   a line is redacted as a data line alone is; a line naming no denied key is as sent.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.har.body_redaction import redact_text
from readme_metrics.har.event_stream import event_stream_redacted
from readme_metrics.har.redaction import Redactor

SECRET = "Zq8-r102-Xw3K"
DENY = Redactor(denylist=["password"])


def _redact(stream: str) -> tuple[str, object]:
    return redact_text(stream, "text/event-stream", "utf-8", DENY)


@pytest.mark.parametrize("pieces", [
    ['{"pass', f'word": "{SECRET}"}}'],
    ['{"p', "asswor", f'd": "{SECRET}"}}'],
    ['{"user": "zoe", "passw', f'ord": ["{SECRET}"]}}'],
    ['[{"x": 1}, {"passwo', 'rd":', f'"{SECRET}"}}]'],
    ['"{\\"pass', f'word\\": \\"{SECRET}\\"}}"'],
])
@pytest.mark.parametrize("end", ["\n", "\r", "\r\n"])
@pytest.mark.parametrize("between", ["", "event: chunk", ": keep-alive", "id: 7"])
def test_a_denied_keys_name_split_between_events_hides_its_value(
        pieces: list[str], end: str, between: str) -> None:
    """Failed before (every piece kept as sent)."""
    extra = f"{between}{end}" if between else ""
    stream = "".join(f"{extra}data: {piece}{end}{end}" for piece in pieces)
    text, _ = _redact(stream)
    assert SECRET not in text


def test_a_split_name_is_read_by_the_stream_alone_too() -> None:
    """Failed before: event_stream_redacted kept the value's event as sent."""
    stream = f'data: {{"pass\n\ndata: word": "{SECRET}"}}\n\n'
    assert event_stream_redacted(stream, DENY)[0] == 'data: {"pass\n\ndata: [REDACTED 23]\n\n'


def test_a_split_name_of_no_denied_key_is_as_sent() -> None:
    stream = 'data: {"pass\n\ndata: port": "x"}\n\ndata: [DONE]\n\n'
    assert _redact(stream) == (stream, None)


@pytest.mark.parametrize(("line", "expected"), [
    (f'event: {{"password": "{SECRET}"}}', 'event: {"password":"[REDACTED 13]"}'),
    (f"id: password={SECRET}", "id: password=%5BREDACTED%2013%5D"),
    (f': {{"password": "{SECRET}"}}', ': {"password":"[REDACTED 13]"}'),
    (f':{{"password": "{SECRET}"}}', ':{"password":"[REDACTED 13]"}'),
    (f'retry: {{"a": {{"password": "{SECRET}"}}}}', 'retry: {"a":{"password":"[REDACTED 13]"}}'),
    (f"password={SECRET}", "password=%5BREDACTED%2013%5D"),
])
@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_a_denied_key_in_a_line_other_than_data_is_redacted(
        line: str, expected: str, end: str) -> None:
    """Failed before (the line kept as sent)."""
    stream = f"{line}{end}data: {{\"a\": 1}}{end}{end}"
    text, comment = _redact(stream)
    assert text == f"{expected}{end}data: {{\"a\": 1}}{end}{end}"
    assert comment is None


def test_an_unreadable_line_naming_a_denied_key_is_hidden_whole() -> None:
    text, comment = _redact(f'event: {{"password": "{SECRET}"\n\n')
    assert text == "event: [REDACTED 28]\n\n"
    assert comment is not None


_FIELDS = st.sampled_from(["event", "id", "retry", "", "x-data", "dat"])
_VALUES = st.text("abc {}[]\":,=&%", max_size=20)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_FIELDS, _VALUES, st.sampled_from(["\n", "\r", "\r\n"])),
                max_size=8))
def test_a_line_naming_no_denied_key_is_as_sent(fields: list[tuple[str, str, str]]) -> None:
    stream = "".join(f"{name}: {value}{end}" for name, value, end in fields)
    stream += 'data: {"password": 1}\n\n'  # so the stream is read line by line
    text, _ = _redact(stream)
    assert text.startswith(stream[:-len('data: {"password": 1}\n\n')])


@st.composite
def _split_streams(draw: st.DrawFn) -> str:
    document = json.dumps({"a": draw(st.integers()), "password": SECRET, "b": [1]})
    if draw(st.booleans()):
        document = json.dumps(document)
    name = document.index("pass")
    # One cut inside the key's name, others anywhere outside the secret and escapes.
    cuts = {draw(st.integers(name + 1, name + len("password") - 1))}
    secret = document.index(SECRET)
    cuts |= {c for c in draw(st.lists(st.integers(1, len(document) - 1), max_size=4))
             if not secret < c < secret + len(SECRET) and document[c - 1] != "\\"
             and not name <= c <= name + len("password")}
    cuts_ = sorted(cuts)
    pieces = [document[a:b] for a, b in zip([0, *cuts_], [*cuts_, len(document)])]
    end = draw(st.sampled_from(["\n", "\r", "\r\n"]))
    return "".join(f"data: {piece}{end}{end}" for piece in pieces)


@settings(max_examples=300, deadline=None)
@given(_split_streams())
def test_no_denied_value_when_its_name_is_split_between_events(stream: str) -> None:
    """Failed before (hypothesis found a stream whose secret was kept)."""
    text, _ = _redact(stream)
    assert SECRET not in text
