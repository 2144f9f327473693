"""The counted nouns of the log lines and the command's output."""

from __future__ import annotations

import pytest

from readme_metrics._wording import counted
from readme_metrics.cli.text import counted as cli_counted


@pytest.mark.parametrize("count, noun, plural, text", [
    pytest.param(0, "log", "", "0 logs", id="none"),
    pytest.param(1, "log", "", "1 log", id="one"),
    pytest.param(2, "attempt", "", "2 attempts", id="two"),
    pytest.param(1, "entry", "entries", "1 entry", id="one-irregular"),
    pytest.param(3, "entry", "entries", "3 entries", id="irregular"),
])
def test_counted(count: int, noun: str, plural: str, text: str) -> None:
    assert counted(count, noun, plural) == text


def test_the_command_uses_the_same_helper() -> None:
    assert cli_counted is counted
