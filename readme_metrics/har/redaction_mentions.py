"""Whether a text or bytes could name a key a :class:`Redactor`'s denylist lists."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from readme_metrics.har.json_escapes import QUERY_ESCAPES, spells
from readme_metrics.har.percent import decode_component
from readme_metrics.har.redaction_forms import ENCODED_EQUALS
from readme_metrics.har.redaction_names import names_in, needles_in, surrogates_dropped
from readme_metrics.har.utf8_names import folded_utf8

if TYPE_CHECKING:
    from readme_metrics.har.redaction import Redactor

#: How many times a text is percent-decoded to look for a denied name in it (a value
#: encoded once per level, its letters too: ``pass%2525252577ord``); past that, a text that
#: still decodes is taken to hold one (Redactor.names_key_decoded). Each decoding shrinks
#: the text, and stops once nothing changes: most text is decoded once, or not at all.
MAX_DECODINGS = 16


def names_key_decoded(redactor: Redactor, text: str) -> bool:
    """Whether ``text`` names a denied key as it is or percent-decoded, once or more
    (a form in a URL's query value in a field: ``passwor%2564`` is two decodings from
    ``password``): decoded until nothing changes, at most :data:`MAX_DECODINGS`
    times; a text that still decodes then could name one (a client may encode a
    value any number of times, and
    :func:`~readme_metrics.har.redaction_query.linked` hides what is past its depth)."""
    for _ in range(MAX_DECODINGS):
        if redactor.mentions_key(text, True):
            return True
        if "%" not in text and not (redactor.spaced and "+" in text):
            return False
        decoded = decode_component(text)
        if decoded == text:
            return False
        text = decoded
    return redactor.mentions_key(text, True) or decode_component(text) != text


def mentions_key(redactor: Redactor, text: str, denied_only: bool = False) -> bool:
    """Whether unparsable ``text`` could hold a value that must be redacted.

    Used for bodies that should be structured (JSON, forms) but do not parse, e.g.
    truncated, for binary data (:meth:`mentions_key_in`), and to skip parsing JSON
    that cannot contain a denied key: with an allowlist anything could be sensitive;
    with a denylist only text that contains a denied key name (case-insensitively,
    NULs left out: UTF-16/32), as written or through its JSON escapes
    (``pa\\u0073sword``, at any depth: :mod:`~readme_metrics.har.json_escapes`).
    ``denied_only``: whether it could hold a key the denylist names (the allowlist
    keeps it whole: the value of a key it lists).
    """
    if not redactor.active or (denied_only and not redactor.has_deny):
        return False
    if redactor.has_allow and not denied_only:
        return True
    needles = redactor.needles
    if needles_in(text, needles.names, needles.probes) or needles.odd and _odd_in(
            redactor, text):
        return True
    # Then a backslash, and an escape that could spell a needle, both found at memory
    # speed (random binary data holds none such): only then is the text decoded.
    if "\\" not in text:
        return False
    if "\0" in text:  # escapes NUL-spaced (UTF-16/32 JSON read as bytes)
        text = text.replace("\0", "")
    return (needles.escape_probe.search(text) is not None or (
        "%" in text or redactor.spaced and "+" in text) and (
        QUERY_ESCAPES.search(text) is not None)) and spells(text, partial(_read, redactor))


def _read(redactor: Redactor, reading: str) -> bool:
    """:meth:`_spelled`, or percent-decoded as names_key_decoded reads a link or a
    form (``"?pass\\u002577ord="``, review112), not through mentions_key again."""
    if _spelled(redactor, reading):
        return True
    for _ in range(MAX_DECODINGS):
        if "%" not in reading and not (redactor.spaced and "+" in reading):
            return False
        decoded = decode_component(reading)
        if decoded == reading:
            return False
        if _spelled(redactor, decoded):
            return True
        reading = decoded
    return True


def _spelled(redactor: Redactor, reading: str) -> bool:
    """Whether a text read through its escapes holds a needle (as mentions_key looks
    in the text as written)."""
    needles = redactor.needles
    if not reading.isascii():  # (a name holding a lone surrogate: read without; hostile49)
        dropped = surrogates_dropped(reading)
        if dropped != reading and needles_in(dropped, needles.names, needles.probes):
            return True
    return needles_in(reading, needles.names, needles.probes) or (
        needles.odd and _odd_in(redactor, reading))


def _odd_in(redactor: Redactor, text: str) -> bool:
    """Whether ``text`` holds a needle needles_in does not find: one holding a NUL,
    which it leaves out (a name in UTF-16/32), and one holding "/" or "~" as a JSON
    pointer writes it (``client~1secret``, ``~0``)."""
    needles = redactor.needles
    return ("\0" in text and names_in(text, needles.names)) or (
        needles.pointed and "~" in text and needles_in(
            text.replace("~1", "/").replace("~0", "~"), needles.names, needles.probes))


def names_key_encoded(redactor: Redactor, text: str) -> bool:
    """Whether a URL or form in ``text`` may name a key the denylist lists in a
    query's spelling only: percent-encoded (``?pass%77ord=``) or, for a name holding a
    space, with ``+`` for it (``?api+key=``); the query's pairs are read so (see
    :func:`~readme_metrics.har.redaction_query.link_in`; a JSON Patch's pointer as a
    URI fragment too, ``#/pass%77ord``;
    a form in a string percent-encoded, ``a%3D1%26pass%2577ord%3D...``, its ``=``
    too). Costs nothing for a text with no ``?``, ``#`` or ``=`` (as is or encoded),
    or nothing to decode."""
    if not ("%" in text or (redactor.spaced and "+" in text)) or (
            "=" not in text and "?" not in text and "#" not in text
            and ("%" not in text or ENCODED_EQUALS.search(text) is None)):
        return False
    # (Decoded more than once: a form in a URL's query value, see names_key_decoded.)
    return redactor.names_key_decoded(decode_component(text))


def mentions_key_in(redactor: Redactor, data: bytes) -> bool:
    """:meth:`mentions_key` for a body kept as bytes (recorded in base64), as its
    bytes read as latin-1; for ASCII names on the bytes themselves, at memory speed
    (case-folding 256 KiB of latin-1 took 9 ms): lower-cased, the one latin-1
    character that case-folds to ASCII, ``ß``, read ``ss``, NULs left out; and in UTF-8,
    the characters folding to ASCII folded (``paſsword``) and a name beyond ASCII
    looked for in the UTF-8 reading of bytes holding one of its characters
    (:mod:`~readme_metrics.har.utf8_names`)."""
    if not redactor.active:
        return False
    needles = redactor.needles
    if redactor.has_allow or needles.wide:
        return redactor.mentions_key(folded_utf8(data).decode("latin-1")) or (
            needles.raw_probe is not None and needles.raw_probe.search(data) is not None
            and redactor.mentions_key(data.decode("utf-8", "replace")))
    data = folded_utf8(data)
    folded = data.lower()
    if b"\0" in folded:
        folded = folded.replace(b"\0", b"")
    if b"\xdf" in folded:
        folded = folded.replace(b"\xdf", b"ss")
    if any(needle in folded for needle in needles.in_bytes):
        return True
    if needles.pointed and b"~" in folded:
        pointed = folded.replace(b"~1", b"/").replace(b"~0", b"~")
        if any(needle in pointed for needle in needles.in_bytes):
            return True
    if b"\\" not in data:
        return False
    if b"\0" in data:
        data = data.replace(b"\0", b"")
    return needles.byte_probe.search(data) is not None and spells(
        data.decode("latin-1"), partial(_spelled, redactor))
