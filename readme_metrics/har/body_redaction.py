"""Redaction of a body's text by its type (SPEC section 6), for :mod:`.bodies`.

JSON key by key (a form's text that is JSON too), a form field by field, XML by its
elements, server-sent events by their data, text/plain's ``name=value`` lines as a form's
pairs, JSON encoded twice as a JSON string; anything else whole under an allowlist. Pure
functions over a decoded text; the comment they give says why a body was hidden whole.
"""

from __future__ import annotations

import re
from typing import Optional

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har.base64_archives import archive_in
from readme_metrics.har.base64_runs import archives_hidden
from readme_metrics.har.env_lines import plain_pairs as _plain_pairs
from readme_metrics.har.env_lines import queries as _queries
from readme_metrics.har.env_lines import text_pairs as _text_pairs
from readme_metrics.har.event_stream import (
    EVENT_STREAM,
    event_stream_names,
    event_stream_redacted,
)
from readme_metrics.har.key_formats import pickle_keyed
from readme_metrics.har.percent import percent_decoded
from readme_metrics.har.redaction import Redactor, redacted
from readme_metrics.har.redaction_csv import csv_redacted, delimiters_of
from readme_metrics.har.redaction_cut import hidden_members
from readme_metrics.har.redaction_escapes import spelled
from readme_metrics.har.redaction_marks import MARKS
from readme_metrics.har.redaction_netrc import netrc_redacted
from readme_metrics.har.redaction_spaced import PROPERTIES, properties_redacted
from readme_metrics.har.redaction_xml import (
    is_xml,
    plist_reading,
    plist_text,
    xml_redacted,
    xml_text,
)
from readme_metrics.har.redaction_yaml import flow_document, is_yaml, yaml_redacted
from readme_metrics.har.text import FORM, JSON_START, form_codec
from readme_metrics.har.text_userinfo import json_userinfo_hidden, userinfo_hidden_in
from readme_metrics.har.transfer_coding import base64_parts
from readme_metrics.har.yaml_env import yaml_env
from readme_metrics.har.yaml_lines import names_a_pair

__all__ = [
    "NOT_KEYED_COMMENT", "UNREDACTABLE_COMMENT", "json_as_form", "looks_like_json",
    "multipart_mentions", "redact_text",
]


UNREDACTABLE_COMMENT = (
    "body could not be parsed to redact it field by field, so it was redacted whole"
)


NOT_KEYED_COMMENT = "body is not key/value data, so the allowlist redacted it whole"


_FORM_OF_JSON_COMMENT = "body declared a form is JSON, so it was redacted key by key as JSON"


# A text body that may be a JSON string holding a document (JSON encoded twice).
_JSON_STRING_START = re.compile(r'\s*"')


# One whose string starts a document or another such string (blanks in it escaped).
_QUOTED_DOCUMENT = re.compile(r'\s*"(?: |\\[nrt])*(?:[\[{]|\\")')


def looks_like_json(essence: str, text: str) -> bool:
    return "json" in essence or JSON_START.match(text) is not None


# Codecs under which a key's ASCII bytes read as the key itself: a text that does not
# mention a denied key cannot hold one, so it need not be parsed.
_ASCII_TRANSPARENT = frozenset({"utf-8", "utf-8-sig", "latin-1", "windows-1252"})


def redact_text(
    text: str, essence: str, codec: str, redactor: Optional[Redactor]
) -> tuple[str, Optional[str]]:
    """Redact a text body: JSON key by key, a form (a response's: a request's becomes
    params) field by field, anything else whole under an allowlist. A text that is no
    JSON, form nor multipart body is read again with the escapes of HTML and scripts
    decoded (:mod:`.redaction_escapes`: ``pass&#119;ord=``, ``"\\x70assword"``); when
    that reading hides more, it is what is sent (its escapes decoded, hostile27)."""
    result = _by_type(text, essence, codec, redactor)
    if redactor is None or not redactor.has_deny or essence == FORM or (
            essence.startswith("multipart/") or "json" in essence):
        return _archives(result, essence, redactor)
    reading = spelled(text, False)
    percent = "%" in text and redactor.names_key_decoded(text if reading is None else reading)
    if percent:
        reading = spelled(text, True)  # (its percent escapes too: passw%6Frd, \x70%61...)
    if reading is None or not redactor.mentions_key(reading, True):
        return _archives(result, essence, redactor)
    hidden = _by_type(reading, essence, codec, redactor)
    # Each reading may miss what the other hides: a "&#34;" joins two pairs decoded
    # (password=1 &#34;password=2&pass&#119;ord=...) or opens a quote before a name
    # (&#34;password=...&pass&#119;ord=...), and either reading, the one that hid more
    # values sent, let a value out in clear (hostile29). What the text as written
    # sends, read decoded and hidden again, hides what both do: the text as written is
    # sent when it hid as many and that reading of it hides nothing more, the decoded
    # reading when it hides what that one does, else that one (a mark hidden again
    # then gives the mark's length).
    again = spelled(result[0], percent)
    both = _by_type(again, essence, codec, redactor) if again is not None else result
    unmarked = MARKS.sub("", both[0])
    if hidden[0].count(_HIDDEN) <= result[0].count(_HIDDEN) and (
            again is None or MARKS.sub("", again) == unmarked):
        return _archives(result, essence, redactor)
    return _archives(hidden if MARKS.sub("", hidden[0]) == unmarked else both, essence,
                     redactor)


def _archives(result: tuple[str, Optional[str]], essence: str, redactor: Optional[Redactor]
              ) -> tuple[str, Optional[str]]:
    """``result`` with each archive's base64 in its text hidden (XML's ``<file>UEsDB...
    </file>``, YAML's block, the body itself, a multipart answer's field: hostile35),
    but a JSON body's (its strings read by the walk) and a form's (its values by
    query_string), which read theirs; and each URL's password in it hidden
    (``https://ada:...@host/``), a JSON body's too (a form's: query_string; hostile51)."""
    if redactor is None or not redactor.has_deny or essence == FORM:
        return result
    if "json" in essence:  # (cut at a reader's cap: hidden whole, still JSON; SPEC 6)
        return json_userinfo_hidden(result[0]), result[1]
    return archives_hidden(redactor, userinfo_hidden_in(result[0])), result[1]


#: What each hidden value's mark holds, as written or percent-encoded.
_HIDDEN = "REDACTED"


def _by_type(
    text: str, essence: str, codec: str, redactor: Optional[Redactor]
) -> tuple[str, Optional[str]]:
    if redactor is None:
        return text, None
    if essence == FORM:
        return json_as_form(text, redactor) or (
            redactor.query_string(text, form_codec(codec)), None)
    if essence.startswith("multipart/") and multipart_mentions(text, redactor):
        # Kept as text (a response's), its fields cannot be redacted one by one.
        return redacted(text), UNREDACTABLE_COMMENT
    if text[:1] == "\ufeff" and JSON_START.match(text, 1) is not None:
        # A byte order mark the codec kept (a type that is not text, octet-stream: no
        # mark is looked for) is no part of the JSON after it ("\ufeff{" starts none, so
        # the document went out in clear); for text types decoding dropped it.
        text = text[1:]
    if looks_like_json(essence, text):
        if codec in _ASCII_TRANSPARENT and not redactor.mentions_key(text) and not (
                # A JSON Patch's pointer as a URI fragment, percent-encoded (#/pass%77ord),
                # or a URL's query in a string naming a key so (?pass%77ord=, ?api+key=:
                # _link).
                redactor.names_key_encoded(text)) and not (
                # A zip or a compressed file as base64 in a string (hostile33).
                redactor.has_deny and archive_in(text)):
            return text, None  # spare parsing and re-serialising it
        result = redactor.json_text(text)
        if result is not None:
            return result, None
        if is_yaml(essence) and flow_document(text):
            # YAML's flow style, no JSON ({a: 1, password: x}, PyYAML's
            # default_flow_style=True): read member by member (hidden whole before;
            # hostile36), by the denylist. With an allowlist, hidden whole as YAML's
            # block style is (its values went out in clear: hostile45).
            if redactor.allow_only:
                return redacted(text), NOT_KEYED_COMMENT
            return _keyed_text(text, essence, redactor), None
        if "json" in essence or is_yaml(essence) or _SECTION.match(text) is None:
            # Truncated, broken or mis-declared JSON cannot be redacted key by key.
            return redacted(text), UNREDACTABLE_COMMENT
        # (An INI's or TOML's section header first, "[db]" on its line, is no JSON: the
        # text is read by its lines below; hostile51: hidden whole before.)
    if redactor.allow_only:
        return redacted(text), NOT_KEYED_COMMENT
    if essence == EVENT_STREAM and event_stream_names(text, redactor):
        return event_stream_redacted(text, redactor)
    xml = is_xml(essence) or essence == _HTML or _is_plist(essence, text)
    if xml:
        # By the denylist, its elements and attributes named by a denied key (SOAP's
        # <wsse:Password>, HTML's <input name="password" value=...>): XML is keyed too.
        if redactor.mentions_key(text, True) or "<plist" in text and (
                # (A plist's <key> split by a comment or CDATA, pass<!-- -->word.)
                redactor.mentions_key(plist_reading(text), True)):
            return _keyed_text(text, essence, redactor, True), None
        return text, None
    if essence in PROPERTIES and (redactor.mentions_key(text, True) or "\\" in text):
        # (A properties file: its key then a blank, "=" or ":", then the value; hostile28.
        # A key with escapes, pass\u0077ord, or continued over lines, read so: review117.)
        return properties_redacted(text, redactor.denies, True) or text, None
    string = text[1:] if text[:1] == "\ufeff" else text  # (a mark, as above)
    if _JSON_STRING_START.match(string) is not None and (
            redactor.mentions_key(string) or redactor.names_key_encoded(string)):
        # JSON encoded twice sent as text (a string holding a document): read by the
        # denylist as a JSON body's string is; text that is no JSON string is kept, but
        # for one that could be such a string cut short (at max_body_bytes: the start of
        # a document or of a string in it, escaped quotes, a denied name), hidden whole
        # as a JSON body cut short is, not to send the start of a password.
        result = redactor.json_text(string)
        if result is not None:
            return text if result == string else result, None
        if _QUOTED_DOCUMENT.match(string) is not None and (
                '\\"' in string or "\\u" in string) and redactor.mentions_key(string, True):
            return redacted(text), UNREDACTABLE_COMMENT
    if essence in _PLAIN_FORMS and redactor.mentions_key(text, True) and pickle_keyed(
            redactor, text):
        # A pickle of protocol 0 is text: its Vpassword/S'password' lines no pair
        # (hostile29); hidden whole, as a binary pickle naming a denied key is.
        return redacted(text), UNREDACTABLE_COMMENT
    if essence in _PLAIN_FORMS and "<" in text and redactor.mentions_key(text, True):
        # XML after prose (Config:\n<password>...</password>, a SOAP envelope logged
        # after a line): its elements and attributes read as XML's (hostile53: sent in
        # clear; a text starting as XML is read so above), an unclosed one kept.
        text = xml_redacted(text, redactor.denies, prose=True)
    if essence in _PLAIN_FORMS and redactor.mentions_key(text, True):
        # A .netrc (machine ... password ...), a properties file's "password hunter2":
        # the key then a blank (hostile28); its other lines are then read as below.
        text = netrc_redacted(text, redactor.denies) or properties_redacted(
            text, redactor.denies, False) or text
    if essence in _PLAIN_FORMS and "\\" in text:
        # A properties file's lines with escapes or continued (pass\<LF> word=...,
        # password\:..., pass\word=..., password=a\<LF> ...), read as Java reads them,
        # its lines holding no "\\" left to the readings below (hostile51).
        text = properties_redacted(text, redactor.denies, False, True) or text
    if essence in _PLAIN_FORMS and ":" in text and redactor.mentions_key(text, True) and (
            names_a_pair(text, redactor.denies)):
        # Its lines that are YAML's pairs, "password: ...", read as YAML's (hostile51:
        # kept before, as any text not typed YAML; "the password: ..." names no key).
        text = yaml_redacted(text, redactor)
    if essence in _PLAIN_FORMS and ("=" in text or '"' in text or "'" in text) and (
            # (A name percent-encoded, "Pass%77ord=", is the name webob reads.)
            redactor.mentions_key(text, True) or redactor.names_key_encoded(text)):
        return _plain_pairs(text, redactor), None
    if essence in _PLAIN_FORMS:
        # JSON percent-encoded, with no "=" nor quote as sent (%7B%22password%22%3A...):
        # its members read decoded, as another text's are (hostile26).
        return (hidden_members(redactor, text) if "%" in text else text), None
    if redactor.mentions_key(text, True):
        # A CSV's column, and a JSON member in any other text (a script's; hostile24).
        return _keyed_text(text, essence, redactor), None
    return text, None


_HTML, _TSV = "text/html", "text/tab-separated-values"
#: An INI's or TOML's section header on the text's first line (``[db]``, ``[[servers]]``,
#: ``[tool.poetry]``), which no JSON document starts with (``[null]``, ``[true]`` do: a
#: JSON Lines stream's first line).
_SECTION = lazy_compile(r"[ \t\f]*\[\[?[ \t\f]*(?!(?:true|false|null)[ \t\f]*\])"
                        r"[A-Za-z_][\w.\- \t\f]*\]\]?[ \t\f]*(?:\r?\n|\r|\Z)")


def _is_plist(essence: str, text: str) -> bool:
    """Whether ``text`` is an XML property list sent as text or octet-stream: read as
    XML, not as text/plain's lines (hostile28; after a comment too, hostile30); or any
    XML sent so, starting as a document does (``<?xml``, ``<db><password>...``: its
    lines only were read, its elements sent in clear; hostile51)."""
    return essence == "application/x-plist" or essence in _PLAIN_FORMS and (
        plist_text(text) or xml_text(text))


def _keyed_text(text: str, essence: str, redactor: Redactor, xml: bool = False) -> str:
    """A text body of another type by the denylist: XML (and HTML) by its elements and
    attributes, CSV by its columns, YAML by its mapping keys, then any text by the JSON
    members in it (``<data>{"password": ...}</data>``, a script's), in double or single
    quotes, and by its links' queries."""
    csv = "csv" in essence or essence == _TSV
    if xml:
        text = xml_redacted(text, redactor.denies, essence == _HTML)
    elif csv:
        text = csv_redacted(text, redactor.denies, delimiters_of(essence, text))
    elif is_yaml(essence):
        # (Its JSON members first: flow style, {"password": ...}; a value they hid is
        # not hidden again.)
        # Then its scalars' lines of pairs, a .env's (hostile42).
        return yaml_env(_queries(yaml_redacted(hidden_members(redactor, text), redactor,
                                               text), redactor, yaml=True), redactor)
    elif "<" in text:  # XML in another text (a script's, markdown's): as text/plain's
        text = xml_redacted(text, redactor.denies, prose=True)
    text = _queries(hidden_members(redactor, text, csv), redactor)
    # Then its lines that are a .env's pairs, "export PASSWORD=..." (hostile45).
    return text if csv else _text_pairs(text, redactor, xml)


# Text read as form pairs: text/plain, and a body with no Content-Type, which webob (the
# grouping function's request, Pyramid's) reads as a form, and which a client sends as
# one: ``requests.post(url, data="user=a&password=...")`` gives no Content-Type.
# And text sent as application/octet-stream, whose type says nothing of its form (a file
# sent as it is: ``curl --data-binary @.env -H 'Content-Type: application/octet-stream'``
# sent its PASSWORD=... in clear; hostile26).
_PLAIN_FORMS = frozenset({"text/plain", "", "application/octet-stream"})


def multipart_mentions(text: str, redactor: Redactor) -> bool:
    """:meth:`Redactor.mentions_key` for a multipart body, whose field names may also be
    percent-encoded (RFC 2231: ``name*=UTF-8''%74oken``), or a part's value a form or
    URL naming one percent-encoded once more (``data=user%3Dzoe%26passwor%2564%3D``), or
    a quoted-printable part's name broken by a soft line break, or a base64 part's
    decoded text names one (review117)."""
    return redactor.mentions_key(text) or _mentioned(base64_parts(text), redactor) or (
        "%" in text and redactor.names_key_decoded(percent_decoded(text))) or (
        # (A quoted-printable part's soft line break inside a name, pass=\r\nword.)
        "=\n" in text or "=\r\n" in text) and redactor.mentions_key(
        _SOFT_BREAK.sub("", text))


def _mentioned(text: Optional[str], redactor: Redactor) -> bool:
    return text is not None and redactor.mentions_key(text)


#: A soft line break of quoted-printable (RFC 2045 6.7).
_SOFT_BREAK = lazy_compile("=\r?\n")


def json_as_form(text: str, redactor: Redactor) -> Optional[tuple[str, str]]:
    """(text, comment) of a form's ``text`` that is JSON, redacted as JSON: read as a form,
    its keys and values would be one field's name, which no list redacts. None when it
    is no JSON, or holds nothing to redact."""
    if text.startswith("\ufeff"):  # a UTF-8 byte order mark, which json.loads reads
        text = text[1:]
    if JSON_START.match(text) is None or not redactor.mentions_key(text):
        return None
    document = redactor.json_text(text)
    if document is None:
        return redacted(text), UNREDACTABLE_COMMENT
    return document, _FORM_OF_JSON_COMMENT
