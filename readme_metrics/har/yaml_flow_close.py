"""Where a YAML flow collection's lines end, for :mod:`.redaction_yaml` and :mod:`.yaml_env`.

A flow collection (``{a: 1, password: x}``) may run over lines; the block reader, a line
at a time, asks here for the first line after the one closing it, and hands the lines
joined to :func:`~.yaml_flow.flow_hidden`. Moved from :mod:`.yaml_flow` (which exports
it), as is.
"""

from __future__ import annotations

from typing import Sequence

from readme_metrics.har.redaction_marks import redacted
from readme_metrics.har.yaml_lines import quote_close

__all__ = ["flow_close"]

#: A value the JSON members' reading (run first) hid: ``"password"`` then ``: !!str "s"``
#: had its tag alone hidden, ``: [REDACTED] "s"``; the quoted scalar after it is read as
#: one (its commas were read as the collection's: a password went out, hostile36).
_HIDDEN = redacted(None)


def flow_close(lines: Sequence[str], index: int, flow: str, budget: list[int]) -> int:
    """The index of the first line after the line closing the flow collection that
    ``flow`` (from line ``index - 1``) starts: a quoted scalar in it runs over lines at
    any indentation, one starting ``#`` among them (``{b: '\n#', password: ...}``);
    ``index`` when it does not close (not YAML: the lines are read as keys), and once
    ``budget`` (the lines read, shared by one text's calls) is spent."""
    # A quote starts a quoted scalar only where a node starts: after the collection's
    # marks or a ``:``, or after a node's properties (``!!str 'x'``, ``&a 'x'``); inside
    # a plain scalar (``[a']``, ``[it's]``) it is a character of it (the lines after it
    # were read as a string still open and hidden whole: hostile26's property).
    depth, quote, prev, first, blank = 0, "", "", "", True
    for ahead in range(len(lines) - index + 1):  # (no copy of the lines: linear)
        budget[0] -= 1
        if budget[0] < 0:
            # Collections that never close, line after line ("- {" and "a: {b: 'x"
            # 20,000 times: each read to the end, 113 s for 80 KB): past ``budget``,
            # one still open is not YAML's, as one that never closes (its lines and
            # the rest read as keys: a "password: ..." among them hidden all the same).
            return index
        text = lines[index + ahead - 1] if ahead else flow
        at, blank = 0, True
        if quote:  # (a quoted scalar from the line before, going on)
            close = quote_close(text, 0, quote)
            if close < 0:
                continue
            at, quote, prev = close + 1, "", quote
        while at < len(text):
            character = text[at]
            if character == "[" and prev in "{[,:" and text.startswith(_HIDDEN, at):
                # (A value the JSON members' reading hid, "[REDACTED]": a quoted scalar
                # may start after it, ': [REDACTED] "a,]"' as PyYAML's canonical=True
                # writes one, its "]" closing nothing; hostile36.)
                at += len(_HIDDEN)
                continue
            if character in ("'", '"') and (prev in "{[,:" or blank and first in "!&"):
                close = quote_close(text, at + 1, character)
                if close < 0:
                    quote = character  # (it goes on on the next line)
                    break
                at, prev = close + 1, character
                continue
            if character in " \t\r":
                blank = True
            elif character == "#" and (at == 0 or text[at - 1] in " \t"):
                break  # (a comment, to the line's end)
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
