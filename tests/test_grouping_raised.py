"""grouping_raised.RaisedLog (SPEC 6): what the grouping function raised is logged once per
distinct message per place, by type and place, never by value; a note (a body cut at
max_body_bytes) makes a place of its own, said with the note of its first time."""

from __future__ import annotations

import logging
from typing import Any, Optional

from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics._logging import QuietLogger
from readme_metrics.grouping_raised import MAX_MESSAGES_PER_PLACE, RaisedLog, builtin_place

KINDS = {"KeyError": KeyError, "ValueError": ValueError}


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno == logging.ERROR:
            self.errors.append(record.getMessage())


def _raised(kind: str, message: str) -> Exception:
    try:
        raise KINDS[kind](message)
    except Exception as exc:  # noqa: BLE001 - the exception, with its traceback
        return exc


def _expected(events: list[tuple[str, str, str]]) -> list[tuple[str, Optional[int], str]]:
    """The model: (kind, the distinct message's number when it is not the first, note)
    of each line to be logged."""
    seen: dict[tuple[str, bool], list[str]] = {}
    lines: list[tuple[str, Optional[int], str]] = []
    for kind, message, note in events:
        messages = seen.setdefault((kind, bool(note)), [])
        if message in messages or len(messages) >= MAX_MESSAGES_PER_PLACE:
            continue
        messages.append(message)
        lines.append((kind, len(messages) if len(messages) > 1 else None, note))
    return lines


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(sorted(KINDS)),
                          # More messages than a place logs: its bound is reached too.
                          st.integers(0, MAX_MESSAGES_PER_PLACE + 3).map(str),
                          st.sampled_from(["", "; note one", "; note two"])),
                max_size=80))
def test_each_distinct_message_of_a_place_is_logged_once(events: list[tuple[str, str, str]]
                                                          ) -> None:
    _check(events)


def _check(events: list[tuple[str, str, str]]) -> None:
    """The lines logged for ``events`` (kind, message, note) are the model's."""
    logger = logging.getLogger("readme_metrics.test_grouping_raised")
    logger.propagate = False
    lines = Lines()
    logger.addHandler(lines)
    try:
        log = RaisedLog(QuietLogger(logger))
        for kind, message, note in events:
            log.report(_raised(kind, message), "the grouping function", note=note)
    finally:
        logger.removeHandler(lines)
    expected = _expected(events)
    assert len(lines.errors) == len(expected), (lines.errors, expected)
    for line, (kind, number, note) in zip(lines.errors, expected):
        assert line.startswith(f"readme_metrics: the grouping function raised {kind} at "
                               f"{__file__}:"), line
        assert "'" not in line, line  # never the message: it is request data
        said = f"distinct message {number} from there" if number else "another message"
        assert (said in line) == (number is not None), line
        # Each line carries the note it was reported with, before the closing words.
        assert line.endswith(f"{note}; the request is not logged (traceback at DEBUG "
                             "level)"), line
        last = number == MAX_MESSAGES_PER_PLACE
        assert ("later ones are not logged" in line) == last, line


def test_a_place_logs_its_first_distinct_messages_only() -> None:
    """A message holding a request value is distinct on every request: the place says
    MAX_MESSAGES_PER_PLACE of them, the last one saying later ones are not, then nothing."""
    events = [("KeyError", f"no user {n}", "") for n in range(MAX_MESSAGES_PER_PLACE + 5)
              for _ in range(2)]
    _check(events)
    assert len(_expected(events)) == MAX_MESSAGES_PER_PLACE


def test_a_builtin_is_named_as_the_place() -> None:
    assert builtin_place(dict).startswith("dict itself (built-in code")
    assert builtin_place(len).startswith("len itself (built-in code")

    class Callable_:
        def __call__(self, request: Any) -> None:
            raise KeyError(request)

    assert builtin_place(Callable_()).startswith(f"{__name__}.")
