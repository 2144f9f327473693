"""Credentials never leave in clear: credential headers and the caller's key (SPEC 6).

Two rules, applied after redaction:

* The values of the headers in :data:`CREDENTIAL_HEADERS` are sent as
  :func:`~readme_metrics.masking.mask` of the value, as Authorization always was (the
  header rule is :mod:`readme_metrics.har.credential_headers`, its names re-exported here).
* The api_key the grouping function returned (the ``group.id`` before masking) is
  replaced by its mask wherever the exchange carried it: any header, the url and its
  query, form and multipart fields and files, cookies, JSON (escaped spellings too), text
  and base64 bodies, in the request and the response. A key of :data:`MIN_SUBSTRING_KEY`
  characters or more is replaced wherever it occurs inside a value or a name; a shorter
  one (too short to tell from ordinary data: ``42``, ``free``) only where a whole value
  equals it, or a whole string of a JSON document a value holds (see
  :func:`~readme_metrics.har.key_json.short_json`).
  Names (of query parameters, form and multipart fields, cookies, JSON members) are
  masked as values are: a client may send the key as a name (``?k42``); so is a whole
  segment of the url's path (``/keys/k42/usage``) or its host.

:class:`CallerKey` holds the key's forms (:class:`~readme_metrics.har.key_forms.KeyForms`)
and says which masking a string gets: its JSON (:mod:`~readme_metrics.har.key_json`), its
URL or form spellings (:mod:`~readme_metrics.har.key_url`), a body cut short
(:mod:`~readme_metrics.har.key_cuts`), base64 data (:mod:`~readme_metrics.har.key_bytes`).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache, partial
from typing import Optional
from urllib.parse import quote

from readme_metrics.har.credential_headers import CREDENTIAL_HEADERS, credential_header
from readme_metrics.har.deep_json import too_deep
from readme_metrics.har.key_authority import authority_key
from readme_metrics.har.key_base64_spellings import base64_probe
from readme_metrics.har.key_bytes import masked_base64
from readme_metrics.har.key_cuts import MIN_CUT_KEY, cut_base64, cut_text
from readme_metrics.har.key_forms import MAX_SPELLED_KEY, MIN_SUBSTRING_KEY, KeyForms
from readme_metrics.har.key_gate import gate_needles, reads_cookies
from readme_metrics.har.key_json import (
    bare_numbers,
    json_spellings,
    masked_json,
    may_hold_short,
    short_json,
)
from readme_metrics.har.key_numbers import MAX_NUMBER_DIGITS
from readme_metrics.har.key_spellings import as_is_masked, encodable
from readme_metrics.har.key_url import (
    encoded_in,
    encoded_mask,
    json_encoded_mask,
    masked_form,
    masked_url,
    respelled,
)
from readme_metrics.har.percent import decode_component
from readme_metrics.har.text import JSON_START
from readme_metrics.masking import utf8

__all__ = [
    "CREDENTIAL_HEADERS", "MAX_NUMBER_DIGITS", "MAX_SPELLED_KEY", "MIN_CUT_KEY",
    "MIN_SUBSTRING_KEY", "URL_HEADERS", "CallerKey", "authority_key", "credential_header",
    "for_key",
]

#: Headers holding a URL: redacted and scrubbed as the request URL is (stays valid). The
#: X- ones carry the URL a client asked for past a proxy or a rewrite (IIS, nginx's
#: auth_request, Traefik's forward auth, Envoy), its query included.
URL_HEADERS = frozenset({
    "referer", "location", "content-location", "refresh", "x-original-url",
    "x-original-uri", "x-rewrite-url", "x-forwarded-uri", "x-envoy-original-path",
    # An origin has no query (RFC 6454), but a client may send one, which CORS
    # middleware echoes back.
    "origin", "access-control-allow-origin",
})


# What the denylist writes for a value it redacts (redaction.redacted).
_REDACTED_MARK = re.compile(r"\[REDACTED(?: [0-9]+)?\]")


class CallerKey(KeyForms):
    """Replace one caller's key by its mask in the strings of a HAR entry: the key's
    forms (:class:`~readme_metrics.har.key_forms.KeyForms`), and which masking each
    kind of string gets."""

    __slots__ = ("aliases", "base64_probe", "gate", "gate_cookies", "keys")

    def __init__(self, key: str, masked: Optional[str] = None) -> None:
        """``masked``: the mask to write instead of ``mask(key)`` (an alias's: its key's)."""
        KeyForms.__init__(self, key, masked)
        #: The other spellings of such a key in a HAR entry, masked with its mask.
        self.aliases: tuple[CallerKey, ...] = (
            _aliases(key, self.masked) if masked is None and not key.isascii() else ())
        #: The key and its aliases' keys: a whole value equal to one is sent as ``masked``
        #: (each alias is masked as its key is).
        self.keys = frozenset((key, *(alias.key for alias in self.aliases)))
        #: A character the base64 of a long key holds as written at every alignment
        #: (:func:`~readme_metrics.har.key_base64_spellings.base64_probe`): a short value
        #: lacking it, a "%" and a backslash holds none. None for a short key (not looked for).
        self.base64_probe: Optional[str] = base64_probe(key) if self.inside else None
        #: What a log holding the key in any spelling holds one of, or None: a log holding
        #: none is left as built (:func:`~readme_metrics.har.key_gate.keyless`).
        self.gate: Optional[tuple[str, ...]] = gate_needles(self, bool(self.aliases))
        #: Whether the gate reads the cookies' values (masks) too: a key whose base64 a
        #: mask's digest may hold by chance (:func:`~readme_metrics.har.key_gate.reads_cookies`).
        self.gate_cookies = self.gate is not None and reads_cookies(self)

    def may_hold(self, value: str) -> bool:
        """Whether ``value`` may spell the key: it equals it, or holds it (a long key: as is,
        percent-encoded, "+" for a space in it, or JSON-escaped; a short one as is, in a
        JSON document it may hold, either maybe in JSON escapes: a backslash); no such
        spelling is shorter than the key, and most values are. (Inlined in
        :func:`readme_metrics.har.headers.headers` and ``_records``, where a method call
        per header or field would cost more than the test.)"""
        key = self.key
        return value == key or (len(value) >= len(key) and (
            key in value or "\\" in value or self.inside and (
                "%" in value or (" " in key and "+" in value)))) or (
            self.numeric and self.numbers_in(value))

    def text(self, value: str) -> str:
        """A free-text value (header, field, cookie) with the key masked: a long key
        percent-encoded too (a link: ``Link: <...?api_key=k%2F...>``), or JSON-escaped (a
        header holding JSON: PHP's json_encode writes ``\\/`` for every slash)."""
        if value == self.key:
            return self.masked
        if self.inside:
            if encoded_in(self, value):
                value = respelled(self, value, partial(encoded_mask, self))
            if "\\" in value and self.key in value and not self.numeric and (
                    JSON_START.match(value) is None):
                # The key as is first in a text that is no JSON document (a JSON
                # string's value, read: "\\/v1/keys" of "\\\\\\/v1\\/keys"): a backslash
                # just before it is the text's own. Read as the escape "\\/", it went
                # with the key, and the document was written again without it.
                value = value.replace(self.key, self.masked)
            if "\\" in value and (not self.plain or self.escaped(value)):
                # (A key with a quote, a backslash or a control character is escaped
                # with any backslash, non-ASCII maybe: json_spellings looks.)
                value = json_spellings(self, value)
            if self.numeric and self.numbers_in(value):  # JSON: {"id": 1.2345678e7}
                value = (masked_json(self, value, self.text, nested=False)
                         or bare_numbers(self, value))
            if self.key in value:
                return value.replace(self.key, self.masked)
        elif value != self.masked and (
                self.key in value or "\\" in value or self.numeric and self.numbers_in(value)
        ) and _REDACTED_MARK.fullmatch(value) is None:
            # A short key only where a whole value equals it: a JSON string of a document
            # the value holds (a form field's, a header's: {"key": "k123"}), its characters
            # maybe JSON escapes ("k\\u0031\\u0032\\u0033"). Not in its own mask, which
            # ends with it and is no JSON: a JSON body of the key repeated ([1,1,...] for
            # "1") had each mask put in read again as a document, twice (key_json),
            # 14 us each, 7 s of the worker per MiB. Nor in a value the denylist
            # redacted ("[REDACTED 1]" for the key "1": tried as a JSON array, a form of
            # denied pairs cost 4 times as much), which holds no JSON string.
            return short_json(self, value, self.text)
        return value

    def url(self, url: str) -> str:
        """A URL with the key masked, percent-encoded so the URL stays valid:
        :func:`~readme_metrics.har.key_url.masked_url`."""
        # masked_url's first answer, for almost every url (two a log), without its call:
        # a long key, no number, none of its spellings and no escape in the url.
        if self.inside and not self.numeric and self.key not in url and not (
                "%" in url or "\\" in url or self.spaced and "+" in url):
            return url
        return masked_url(self, url, self.text)

    def form(self, text: str) -> str:
        """A form's text (a response's: a request's becomes params) with the key masked
        however it is encoded there, as in a url's query:
        :func:`~readme_metrics.har.key_url.masked_form`."""
        return masked_form(self, text, self.text)

    def body(self, text: str, backslash: Optional[bool] = None) -> str:
        """A body's text with the key masked; a JSON document stays valid JSON.

        A JSON text may spell the key with escapes (``\\u002d``, ``\\/``): a text that could
        is read as JSON too, so its decoded strings are masked; one that is no JSON (cut
        short) has each spelling masked. A long key percent-encoded (a link in the body)
        is masked as in a url. Where a JSON text holds the key outside a string (the whole
        body, a number, across its structure), the mask goes into a JSON string.
        A byte order mark (kept in a body whose type is not text) is kept, the text after
        it masked as a body. ``backslash``: whether ``text`` holds one, when the caller
        knows (one scan of a large body, shared with
        :func:`~readme_metrics.har.key_base64.masked_base64_runs`).
        """
        if text[:1] == "\ufeff":
            after = text.lstrip("\ufeff")  # (marks repeated: one call, no recursion)
            return text[:len(text) - len(after)] + self.body(after, backslash)
        if text == self.key:
            return self.hidden(text)
        if not self.inside:
            if may_hold_short(self, text):
                return masked_json(self, text, self.text) or json_spellings(self, text)
            return text
        # (The first tests of encoded_in and escaped, spared their calls for most bodies.)
        if ("%" in text or self.spaced and "+" in text) and encoded_in(self, text):
            # A link ({"next": "...?key=k%2F"}): its spellings masked as in a url
            # (JSON-safe, as the quoted mask is); the key as is is masked below.
            text = respelled(self, text, partial(
                json_encoded_mask if "\\" in text and JSON_START.match(text) is not None
                else encoded_mask, self), self.hidden)
        # (numeric_in's own first test, spared its call for a key that is no number.)
        if self.plain and not (self.bare and self.holds(text)) and not (
                self.numeric and self.numeric_in(text)):
            # In a JSON text such a key is inside a string: masked there as plain text.
            if self.holds(text):
                # (The mask holds no "\\".)
                text = as_is_masked(text, self.key, self.masked)
            if ("\\" in text if backslash is None else backslash) and self.escaped(text):
                return masked_json(self, text, self.text) or json_spellings(self, text)
            return text
        scrubbed = masked_json(self, text, self.text)
        if scrubbed is None:  # not JSON: plain text, or JSON cut short (its spellings)
            masked = text.replace(self.key, self.masked) if self.key in text else text
            masked = json_spellings(self, masked)
            if masked != text and JSON_START.match(text) is not None and too_deep(text):
                # JSON too deep to read (deep_json): the key may have stood outside its
                # strings (a number, across the structure), where the mask is no JSON.
                # The document goes as one JSON string, as a key across it does below.
                return json.dumps(masked, ensure_ascii=False)
            return masked
        if self.key in scrubbed:  # across the document's structure: "1,2,3" in [1,2,3]
            return json.dumps(scrubbed.replace(self.key, self.masked), ensure_ascii=False)
        return scrubbed

    def cut(self, text: str, comment: str) -> str:
        """A body's text cut short (``comment``) with the key's first characters that end
        it masked: :func:`~readme_metrics.har.key_cuts.cut_text`."""
        return cut_text(text, comment, self.key, self.masked, self.inside)

    def cut_base64(self, encoded: str, comment: str) -> str:
        """:meth:`cut` for base64 ``encoded`` data
        (:func:`~readme_metrics.har.key_cuts.cut_base64`)."""
        return cut_base64(encoded, comment, self.key, self.masked, self.inside)

    def name(self, value: str) -> str:
        """A field, parameter, cookie or JSON member name with the key masked as a value
        is (:meth:`text`): a client may send the key as a name (``?k123``, a flag), and
        a JSON body sent as a form is one field's name (``{"id": "k42"}=``). A short key
        only where the whole name, or a whole string of the JSON document it is, equals
        it, as in a value."""
        return self.text(value)

    def base64(self, encoded: str) -> str:
        """Base64 data (a binary body, a file part) with the key's UTF-8 bytes masked:
        :func:`~readme_metrics.har.key_bytes.masked_base64`."""
        return masked_base64(encoded, self.key, self.masked, self.inside)

    def data_url(self, url: str, part_type: Optional[str] = None,
                 file_name: Optional[str] = None) -> str:
        """A file part's ``data:<type>;name=<file name>;base64,<data>`` with the key masked;
        given the part's ``part_type`` and ``file_name`` (as built, before masking), a
        short key that is either whole is masked there as in contentType and fileName."""
        head, mark, data = url.rpartition(";base64,")
        if not mark:
            return self.text(url)
        if (part_type is not None and file_name is not None
                and head == f"data:{part_type};name={file_name}"):
            head = f"data:{self.text(part_type)};name={self.name(file_name)}"
        return self.text(head) + mark + self.base64(data)


def _aliases(key: str, masked: str) -> tuple[CallerKey, ...]:
    """How an exchange shows a key that is not ASCII otherwise, each masked as ``masked``.

    A key with lone surrogates stands for bytes that are no UTF-8 (``utf8``: ``\\udc80``
    for the byte 0x80). Headers, cookies and bodies that are no UTF-8 show them read as
    latin-1; the url percent-encodes them, which the key itself masks, but a query or
    form value keeps an escape that is no UTF-8 as written (``%80``), which only a long
    key finds decoded.

    A key read from a header (PEP 3333's environ, an ASGI server's bytes: latin-1, so
    ``"cl\u00c3\u00a9"`` for the UTF-8 ``cl\u00e9`` a client sent) stands for the UTF-8
    text those bytes are, as the log shows them in that header and the url, form and
    JSON bodies show them elsewhere: that text is the key too (hostile20).
    """
    data = utf8(key)
    spellings = set()
    if not encodable(key):
        spellings.add(data.decode("latin-1"))
        if len(key) < MIN_SUBSTRING_KEY:
            spellings.add(decode_component(quote(data, safe="")))
    else:
        try:
            spellings.add(key.encode("latin-1").decode("utf-8"))
        except UnicodeError:  # beyond latin-1, or its bytes are no UTF-8: no other reading
            pass
    spellings.discard(key)
    return tuple(CallerKey(spelling, masked) for spelling in sorted(spellings))


@lru_cache(maxsize=256)
def for_key(key: str) -> Optional[CallerKey]:
    """The :class:`CallerKey` of ``key`` (None for an empty key); one per distinct key."""
    return CallerKey(key) if key else None

