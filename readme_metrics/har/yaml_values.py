"""Where a mapping key's value lies in a YAML block (for :mod:`.redaction_yaml`): the line
holding an explicit key's value (``? password`` then ``: ...``), and the first line after
a value, its lines being those indented deeper than its key. Pure functions over the
document's lines. (Moved out of ``redaction_yaml``: house56.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from readme_metrics.har.yaml_anchors import denies as _denies
from readme_metrics.har.yaml_lines import complex_scalars as _complex_scalars
from readme_metrics.har.yaml_lines import is_item as _item

if TYPE_CHECKING:
    from readme_metrics.har.redaction import Redactor

__all__ = ["explicit_value", "value_end"]


def explicit_value(lines: Sequence[str], index: int, at: int, redactor: Redactor,
              named: frozenset[str]) -> int:
    """The index of the line holding the value (``: ...`` at the key's indentation) of
    an explicit key on line ``index - 1`` that the denylist names: a scalar on the ``?``
    line (``? password``), or a complex key holding the name as a scalar, on that line
    or on the lines below it indented deeper (``? [a, password]``, ``? {password: x}``,
    ``? |`` then ``password``, ``?`` then ``- password``: hostile29); -1 for any other
    line."""
    line = lines[index - 1]
    if not (line.startswith(("? ", "?\t"), at) or line[at:].rstrip("\r") == "?"):
        return -1
    colon = value_end(lines, index, at, "?")  # (the key's lines: deeper than it)
    if colon >= len(lines):
        return -1
    following = lines[colon]
    if len(following) - len(following.lstrip(" ")) != at or not (
            following.startswith((": ", ":\t"), at) or following[at:].rstrip("\r") == ":"):
        return -1
    key = line[at + 1:].strip(" \t\r")
    scalar = key[1:-1] if key[:1] in ('"', "'") and key[-1:] == key[:1] else key
    if colon == index and scalar and _denies(redactor, scalar, named):
        return colon
    text = "\n".join([key, *lines[index:colon]])
    return colon if redactor.mentions_key(text, True) and any(
        _denies(redactor, scalar, named) for scalar in _complex_scalars(text)) else -1


def value_end(lines: Sequence[str], index: int, at: int, value: str) -> int:
    """The index of the first line after a value starting on line ``index - 1`` at
    ``at``: the lines after it indented deeper than its key (blank ones among them) are
    its value too, and so are a sequence's items at its key's indentation after a key
    with no value on its line (``password:`` then ``- ...``, as PyYAML writes one); a
    sibling key of a sequence's item (``- password: ...`` then ``  n: 1``) is not."""
    last = index
    for ahead in range(index, len(lines)):
        following = lines[ahead]
        if not following.strip():
            continue  # (a blank line, at any indentation)
        deeper = len(following) - len(following.lstrip(" ")) - at
        if following.lstrip().startswith("#"):
            # A comment's line, at any indentation; deeper, it may be a quoted string's
            # line, its flow collection going on after it ({a: '\n  #', password: ...}
            # went out in clear: hostile26's property, hostile27): the value's too.
            last = ahead + 1 if deeper > 0 else last
            continue
        if deeper < 0 or deeper == 0 and (value or not _item(following, at)):
            break
        last = ahead + 1
    return last
