"""Wording shared by the library's log lines and the command's output."""

from __future__ import annotations

__all__ = ["counted"]


def counted(count: int, noun: str, plural: str = "") -> str:
    """``"1 log"``, ``"2 logs"``; ``plural`` where adding an "s" is wrong ("entries")."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
