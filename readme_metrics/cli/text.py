"""Wording of the command's output."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str = "") -> str:
    """``"1 log"``, ``"2 logs"``; ``plural`` where adding an "s" is wrong ("entries")."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
