"""Whether a multipart file part holds a value the denylist names (SPEC 6), for
:mod:`.multipart`, which then hides the part's value (its name, file name and type kept).

A file part is recorded as a data URL, base64 of its bytes (SPEC 4): a reader gets its
text back with one command. A JSON file was redacted key by key (review105), but any
other file went out as it came: an ``.env`` (``PASSWORD=...``), a log line's
``x{"password": ...}``, a JSON file typed ``text/plain`` or ``application/octet-stream``
with text before its document, a gzip of a JSON file (hostile26). Such a file is read
as a body is: its text (in the charset its part names, its mark or UTF-8) as a
text/plain body's is read (each line's ``name=value`` pairs, a member a denied key
names in double or single quotes), or as XML, HTML, CSV or YAML under such a type;
bytes that are no text as binary data is (a denied key's name in a key's shape in them,
:mod:`.key_shapes`, or in what they hold compressed: :mod:`.body_compressed`, each
layer to ``limit`` bytes, a layer that reaches it hidden too). Only the denylist
applies: a file part the allowlist does not list is hidden already, and the allowlist
keeps a listed one whole. Prose naming a key (``reset your
password``) is kept, as in a text body.
"""

from __future__ import annotations

from functools import lru_cache

from readme_metrics.har.body_compressed import budgeted_holds
from readme_metrics.har.body_redaction import redact_text
from readme_metrics.har.key_ebcdic import ebcdic_form_codec
from readme_metrics.har.key_shapes import ebcdic_shaped
from readme_metrics.har.redaction import Redactor
from readme_metrics.har.redaction_xml import is_xml
from readme_metrics.har.redaction_yaml import is_yaml
from readme_metrics.har.text import content_type, decode

__all__ = ["file_holds_denied"]

#: Types whose own reading applies to a file's text (elements, columns); any other
#: text is read as text/plain (a file's type says little: curl and requests send
#: octet-stream for an unknown extension, ``.env`` included).
_OWN_READING = ("text/html", "text/csv", "application/csv", "text/tab-separated-values")


@lru_cache(maxsize=8)
def _denying(denylist: frozenset[str]) -> Redactor:
    """A redactor of ``denylist`` alone (the lists never change: one per app)."""
    return Redactor(denylist=sorted(denylist))


def file_holds_denied(data: bytes, part_type: str, redactor: Redactor, limit: int) -> bool:
    """Whether a file part's ``data`` (typed ``part_type``) holds a value the denylist of
    ``redactor`` names, read as a body of text or binary data is (see the module)."""
    if not redactor.has_deny:
        return False
    deny = _denying(redactor.deny_keys) if redactor.has_allow else redactor
    essence, charset = content_type(part_type)
    text, codec = decode(data, essence, charset, False)
    if text is None:
        return deny.shapes_key_in(data) or budgeted_holds(data, deny.shapes_key_in, limit)
    if len(text) == len(data) and not data.isascii() and ebcdic_form_codec(codec) is None \
            and ebcdic_shaped(deny, data):
        return True  # EBCDIC read a byte a character, as a body is (hostile34)
    reading = essence if is_xml(essence) or is_yaml(essence) or essence in _OWN_READING \
        else "text/plain"
    return redact_text(text, reading, codec, deny)[0] != text
