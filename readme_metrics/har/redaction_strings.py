"""A string in a JSON document that is no document itself, read as text by the lists
(SPEC section 6): text before a document (a log line's ``x{"password": ...}``, a
``str(dict)``) as a text body is (:func:`members_in`), lines of pairs after a bracket
(TOML's, an INI's ``[db]``) as text/plain's lines are (:func:`lines_after_bracket`).
Pure functions of the text and a :class:`~readme_metrics.har.redaction.Redactor`; moved
from :mod:`.redaction_walk`, as is (which walks the documents and calls these).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from readme_metrics.har.env_lines import string_pairs
from readme_metrics.har.redaction_cut import hidden_members
from readme_metrics.har.redaction_marks import redacted
from readme_metrics.har.redaction_query import quoted_piece

if TYPE_CHECKING:
    from readme_metrics.har.redaction import Redactor

__all__ = ["lines_after_bracket", "members_in"]


def members_in(redactor: Redactor, node: Any, at: Any, text: str) -> bool:
    """Redact ``node[at]``, a string that is no JSON document but may hold one after
    text (a log line's ``x{"password": "..."}``, Python's ``str(dict)`` in a message),
    by the denylist; True when it changed. Kept in clear before hostile25, where the
    same text as text/plain, a form or a multipart field was hidden.

    With no backslash in it, as a text body is: the value of each member a denied key
    names, in double or single quotes, written ``[REDACTED n]``, the rest kept
    (:func:`~readme_metrics.har.redaction_cut.hidden_members`). With one (a document
    in a string in it, a repr's escaped quotes: ``{'password': '\\\\'...'}``, whose
    readings are many), as a text/plain line's piece is: hidden whole when it names a
    denied member, in quotes followed by ``:``
    (:func:`~readme_metrics.har.redaction_query.quoted_piece`). A string not naming a
    denied key at all (most: a document's other strings) is passed by first."""
    if not redactor.mentions_key(text, True):
        return False
    if "\\" in text:
        if quoted_piece(redactor, text, True) is None:
            return False
        node[at] = redacted(text)
        return True
    hidden = hidden_members(redactor, text, denied_only=True)
    if hidden == text:
        return False
    node[at] = hidden
    return True


def lines_after_bracket(redactor: Redactor, node: Any, at: Any, text: str, depth: int
                         ) -> bool:
    """Redact ``node[at]``, a string starting with ``[`` or ``{`` that held no document
    to redact, as a string of lines (:func:`~.env_lines.string_pairs`) when it holds a
    line break and a ``=``: TOML's or an INI's ``[db]\\npassword = ...`` (hostile50:
    read as a document only, sent in clear)."""
    return ("\n" in text or "\r" in text) and "=" in text and string_pairs(
        redactor, node, at, text, depth)
