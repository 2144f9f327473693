"""review101's findings (a review of event_stream.py after review97's and house5's
changes, merged by hand).

A document streamed in pieces, an event each, let a denied key's value out when the key
and its value were in different events: ``data: {"user": "zoe", "password":`` then
``data: "s3cr3t"}``. The first event was hidden whole (a document cut short naming the
key) but the second, naming no key, was kept as sent; so were ``data: "s3cr3t"`` alone
(a JSON string) and ``data: ["s3cr3t"]}``. Now an event that starts a document it does
not finish opens it: while the document is open (its objects and arrays counted across
the events, strings skipped) and has named a denied key, every event's data is hidden
whole; the event that ends it is the last so hidden.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.har.body_redaction import redact_text
from readme_metrics.har.event_stream import UNREADABLE_EVENT_COMMENT, event_stream_redacted
from readme_metrics.har.redaction import Redactor

SECRET = "Zq8-r101-Xw3K"
DENY = Redactor(denylist=["password"])


@pytest.mark.parametrize("pieces", [
    ['{"user": "zoe", "password":', f'"{SECRET}"}}'],
    ['{"user": "zoe", "password"', f': "{SECRET}"}}'],
    ['{"password": [', f'"{SECRET}"]}}'],
    ['{"x": {"password": {', f'"a": "{SECRET}"}}}}}}'],
    ['{"password":', f'"{SECRET}"', "}"],
    ['{"a": "x",', '"password":', f'["{SECRET}"]}}'],
    ['{"user": "zoe",', '"password"', f': "{SECRET}"}}'],
])
@pytest.mark.parametrize("end", ["\n", "\r", "\r\n"])
def test_a_denied_keys_value_in_a_later_event_is_hidden(pieces: list[str], end: str) -> None:
    """Failed before (the value's event kept as sent)."""
    stream = "".join(f"data: {piece}{end}{end}" for piece in pieces)
    text, comment = redact_text(stream, "text/event-stream", "utf-8", DENY)
    assert SECRET not in text
    assert comment == UNREADABLE_EVENT_COMMENT


def test_the_events_after_the_document_ends_are_as_sent() -> None:
    """The document ended (its last "}"), what follows is read event by event again."""
    stream = ('data: {"password":\n\ndata: "x"}\n\ndata: [DONE]\n\n'
              'data: {"a": "{[\\"", "b": 1}\n\n')
    assert event_stream_redacted(stream, DENY) == (
        'data: [REDACTED 12]\n\ndata: [REDACTED 4]\n\ndata: [DONE]\n\n'
        'data: {"a": "{[\\"", "b": 1}\n\n', UNREADABLE_EVENT_COMMENT)


def test_an_open_document_naming_no_denied_key_is_as_sent() -> None:
    stream = 'data: {"user": "zoe",\n\ndata: "name": "x"}\n\ndata: {"password": 1}\n\n'
    assert event_stream_redacted(stream, DENY) == (
        'data: {"user": "zoe",\n\ndata: "name": "x"}\n\ndata: {"password":"[REDACTED]"}\n\n',
        None)


def test_a_string_open_across_events_hides_no_bracket_in_it() -> None:
    """A "}" inside a string of a later piece does not end the document."""
    stream = f'data: {{"password": "ab\n\ndata: c}}d", "b": "{SECRET}"}}\n\n'
    text, _ = event_stream_redacted(stream, DENY)
    assert SECRET not in text


_KEYS = st.sampled_from(["a", "user", "msg", "n"])
_LEAVES = st.one_of(st.integers(), st.booleans(), st.none(),
                    st.text("abc xyz{}[]\":,", max_size=6))


def _nested(depth: int, value: object) -> st.SearchStrategy[object]:
    if depth == 0:
        return st.fixed_dictionaries({"password": st.just(value)},
                                     optional={"a": _LEAVES, "b": _LEAVES})
    inner = _nested(depth - 1, value)
    return st.one_of(
        st.builds(lambda k, v, o: {k: v, "o": o}, _KEYS, inner, _LEAVES),
        st.builds(lambda v, o: [o, v], inner, _LEAVES))


@st.composite
def _streams(draw: st.DrawFn) -> str:
    value = draw(st.sampled_from([SECRET, [SECRET], {"k": SECRET}, [1, {"k": [SECRET]}]]))
    document = json.dumps(draw(_nested(draw(st.integers(0, 3)), value)),
                          indent=draw(st.sampled_from([None, 1])))
    if draw(st.booleans()):
        document = json.dumps(document)  # a JSON string holding the document
    # Cut anywhere but inside the key's name (a name cut in two is looked for in no
    # event), inside the secret (a fragment of it is no secret), or inside an escape
    # (a piece ending "\\" reads the next line's start as escaped: review101's report).
    keep = [(m, m + len(w)) for w in ("password", SECRET)
            for m in range(len(document)) if document.startswith(w, m)]
    cuts = sorted(set(draw(st.lists(st.integers(1, len(document) - 1), max_size=6))))
    cuts = [c for c in cuts if not any(a < c < b for a, b in keep)
            and document[c - 1] != "\\"]
    pieces = [document[a:b] for a, b in zip([0, *cuts], [*cuts, len(document)])]
    out = []
    for piece in pieces:
        end = draw(st.sampled_from(["\n", "\r", "\r\n"]))
        out.append("".join(f"data: {line}{end}" for line in piece.split("\n")))
        if draw(st.booleans()):
            out.append(end)  # the event ends here
    return "".join(out)


# 75 examples, not 300 (suite42): e044e75d's tree with its parent's event_stream.py
# failed at 75 on each of seeds 1 to 5 (and passed with its own).
@settings(max_examples=75, deadline=None)
@given(_streams())
def test_no_denied_value_in_a_document_streamed_in_pieces(stream: str) -> None:
    text, _ = redact_text(stream, "text/event-stream", "utf-8", DENY)
    assert SECRET not in text
