"""A form or multipart field's value by the lists (SPEC section 6): redacted key by key
when it is JSON (:func:`~.redaction_walk.json_text`), hidden whole when it could hold a
listed key that cannot be read (broken JSON, an archive's base64, a member a denied key
names in text before a document), its pairs read when it is a URL, a form or a
``.env``'s lines. A pure function of the text and a
:class:`~readme_metrics.har.redaction.Redactor`; moved from :mod:`.redaction_walk`, as is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from readme_metrics.har.base64_runs import archive_held
from readme_metrics.har.env_lines import field_pairs
from readme_metrics.har.redaction_query import quoted_piece
from readme_metrics.har.redaction_walk import escapes_quote, json_text

if TYPE_CHECKING:
    from readme_metrics.har.redaction import Redactor

__all__ = ["json_field"]


def json_field(redactor: Redactor, text: str, name: str) -> tuple[str | None, bool]:
    """(a field's value redacted key by key when it is JSON, else None; redact it
    whole?): the value of a form or multipart field ``name`` that is not redacted
    itself. Broken JSON that could hold a listed key cannot be let through."""
    first = text.lstrip()[:1]
    if first == '"' and redactor.has_deny:
        # A JSON string (a part typed application/json holding a payload encoded
        # twice): a document in it is read by the denylist, as in a body
        # (json_text); any other text starting with a quote is kept as it is, but
        # for one that could be such a string cut short (an escaped quote or a \u
        # escape, and a denied name): hidden whole, as a broken document is; and so is
        # one holding a member a denied key names ("{"password": ...}, a quote before a
        # document: quoted_piece, kept in clear before hostile24).
        document = json_text(redactor, text, listed=redactor.allows(name))
        return document, document is None and (escapes_quote(text) and (
            redactor.mentions_key(text, True)) or (
            quoted_piece(redactor, text, True) is not None))
    if first not in ("{", "["):
        if archive_held(redactor, text):
            # An archive's base64 (a multipart text field's: hostile35), hidden whole.
            return None, True
        if redactor.has_deny and ("=" in text or "%" in text):
            # A URL or form (a multipart field's "next" link), read as link_in reads one
            # in a JSON string; lines of pairs, a .env, as text/plain's (hostile42).
            hidden = field_pairs(redactor, text)
            if hidden != text:
                return hidden, False
        # Text before a document (x{"password": ...}, a document in a string of one):
        # a member a denied key names in it is hidden whole, as a form's such piece is
        # (quoted_piece, hostile22); a multipart field kept it in clear (review105).
        return None, redactor.has_deny and quoted_piece(redactor, text, True) is not None
    document = json_text(redactor, text, listed=redactor.allows(name))
    return document, document is None and redactor.mentions_key(text)
