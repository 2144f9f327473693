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
  equals it, or a whole string of a JSON document a value holds (see ``_short_json``).
  Names (of query parameters, form and multipart fields, cookies, JSON members) are
  masked as values are: a client may send the key as a name (``?k42``); so is a whole
  segment of the url's path (``/keys/k42/usage``) or its host.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from functools import lru_cache
from typing import Any, Callable, Optional
from urllib.parse import quote, quote_plus, unquote_plus

from readme_metrics.har.credential_headers import CREDENTIAL_HEADERS, credential_header
from readme_metrics.har.deep_json import loads, too_deep
from readme_metrics.har.json_literals import (
    EXOTIC_NUMBER,
    KeptNumber,
    dumps_as_sent,
    read_float,
    read_integer,
)
from readme_metrics.har.key_authority import (
    authority_key,
    valid_authority,
)
from readme_metrics.har.key_bytes import masked_base64
from readme_metrics.har.key_cuts import MIN_CUT_KEY, cut_base64, cut_text
from readme_metrics.har.key_numbers import (
    JSON_NUMBER,
    MAX_NUMBER_DIGITS,
    NUMBER_START,
    NUMBER_TEXT,
    masked_bare_numbers,
    number_in,
    number_looks,
    same_number,
)
from readme_metrics.har.key_paths import whole_segments
from readme_metrics.har.key_spellings import (
    ALNUM_ESCAPE,
    ALNUM_RUN,
    ANY_ESCAPE,
    ASCII_ESCAPE,
    encodable,
    is_json,
    json_decoded,
    json_pattern,
    longest_first,
    replaced,
    rooted_pattern,
    url_pattern,
)
from readme_metrics.har.text import (
    JSON_START,
    PROBED_TEXT,
    decode_component,
    percent_decoded,
    query_values,
    rarest,
    url_pairs,
)
from readme_metrics.masking import mask, utf8

__all__ = [
    "CREDENTIAL_HEADERS", "MAX_NUMBER_DIGITS", "MIN_CUT_KEY", "MIN_SUBSTRING_KEY",
    "URL_HEADERS", "CallerKey", "authority_key", "credential_header", "for_key",
]

# What a JSON text may hold outside its strings (numbers, literals, structure): a key
# made of these only can be found there, where a mask would no longer be JSON.
_OUTSIDE_STRINGS = frozenset("0123456789+-.eE truefalsn[]{},:\t\n\r")
# The constants Python's JSON parser (and so an app's) reads outside strings as numbers,
# where no JSON writer writes them (see json_literals): a key that is one, or holds one
# among the characters above, can be found there too.
_CONSTANTS = ("-Infinity", "Infinity", "NaN")

# What a mask holds before its "?": "sha512-" and base64.
_MASK_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-")

#: Keys this long or longer are replaced inside values, not only as whole values.
MIN_SUBSTRING_KEY = 8

#: The longest key looked for in every spelling it can take in a URL or a JSON text (each
#: character as is or encoded: a pattern compiled once per key, 60 to 110 us a character).
#: A text that spells a longer key otherwise than as is, percent-encoded or form-encoded
#: is hidden whole behind the mask: the client chooses the key the grouping function
#: reads, and an 8,000-character one spelled oddly once cost 0.5 to 0.9 s of CPU per log.
MAX_SPELLED_KEY = 128

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


class CallerKey:
    """Replace one caller's key by its mask in the strings of a HAR entry."""

    __slots__ = ("key", "masked", "inside", "aliases", "numeric", "_lone", "_plain", "_bare",
                 "_rooted", "_spellings", "_quoted_mask", "_twice_quoted_mask", "_json_keys",
                 "_escapes", "_url_spelling", "_json_spelling", "_anchor", "_probes",
                 "_number", "_value", "_leads", "_number_probes", "_number_looks",
                 "_integer_otherwise", "_spaced", "outside_masks", "keys")

    def __init__(self, key: str, masked: Optional[str] = None) -> None:
        """``masked``: the mask to write instead of ``mask(key)`` (an alias's: its key's)."""
        self.key = key
        self.masked = mask(key) if masked is None else masked
        self.inside = len(key) >= MIN_SUBSTRING_KEY
        # A form may write its space as "+" (see _encoded_in).
        self._spaced = " " in key
        # A key holding lone surrogates (a header's bytes read with surrogateescape) has
        # no UTF-8: the exchange shows its bytes otherwise (see _aliases).
        self._lone = not encodable(key)
        #: The other spellings of such a key in a HAR entry, masked with its mask.
        self.aliases: tuple[CallerKey, ...] = (
            _aliases(key, self.masked) if self._lone and masked is None else ())
        #: The key and its aliases' keys: a whole value equal to one is sent as ``masked``
        #: (each alias is masked as its key is).
        self.keys = frozenset((key, *(alias.key for alias in self.aliases)))
        # Printable ASCII without quote or backslash reads the same inside a JSON string,
        # so it (and its mask) can be replaced in a JSON text as plain text.
        self._plain = key.isascii() and key.isprintable() and not ('"' in key or "\\" in key)
        # A key that can be found outside a JSON text's strings (12345678 in {"id": 12345678}).
        self._bare = _OUTSIDE_STRINGS.issuperset(
            key.replace("Infinity", "").replace("NaN", "") if "N" in key or "I" in key
            else key)
        # A short key that is a JSON number (a grouping function returning the caller's
        # id as 12345): masked where a whole JSON number is it, as a whole string.
        self._number = not self.inside and (JSON_NUMBER.fullmatch(key) is not None
                                            or key in _CONSTANTS)
        # A key that is a JSON number, of any length: a JSON number of the same value
        # written otherwise (1000.0, 1e3, 1E+3 for 1000; 1000 for 1000.0) is the same value
        # to whoever reads the JSON, so it is masked as the key is (see _same). Strings
        # and the other parts of a log hold the key as written only.
        self._value: Optional[Decimal] = None
        self._leads: tuple[str, ...] = ()
        self._number_probes: tuple[str, ...] = ()
        self._number_looks: tuple[re.Pattern[str], ...] = ()
        self._integer_otherwise = False  # an integer key written otherwise ("1e+16")
        looks = number_looks(key, Decimal(key)) if JSON_NUMBER.fullmatch(key) else None
        if looks is not None:
            (self._value, self._leads, self._number_probes, self._number_looks,
             self._integer_otherwise) = looks
        #: Whether the key is a number, found by value in JSON too (see :meth:`numbers_in`).
        self.numeric = self._value is not None
        #: Whether no mask (:func:`~readme_metrics.masking.mask`) can hold the key in any
        #: spelling :meth:`text` looks for, so a masked value needs no search: a long key,
        #: not a number, without "?" and with a character outside a mask's "sha512-" and
        #: base64 ("+" for a space, as a form writes it). A spelling then cannot reach past
        #: the mask's "?" (no escape spells a "?"), nor fit in the at most 4 characters
        #: after it, nor in the base64 before it (no "%" or backslash for an escape there).
        self.outside_masks = (self.inside and not self.numeric and "?" not in key
                              and not _MASK_ALPHABET.issuperset(key.replace(" ", "+")))
        # A key starting with "/" (a grouping function returning the path) keeps it in
        # the url (see url, key_paths.whole_segments); not "/" alone, every root path.
        self._rooted = rooted_pattern(key) if key.startswith("/") and key.strip("/") else None
        # How the key can be written in a URL: as is, percent-encoded, or form-encoded
        # (longest first: see longest_first).
        self._spellings = longest_first({key, quote(utf8(key), safe=""),
                                          quote_plus(utf8(key), safe="")})
        self._quoted_mask = quote(self.masked, safe="")
        # As a link inside a query value carries it (?next=%2Fp%3Fk%3Dowl%252Fbert).
        self._twice_quoted_mask = quote(self._quoted_mask, safe="")
        # Any of them, or a mix, hex digits in either case (.NET's HttpUtility.UrlEncode
        # writes %2f): a pattern compiled when a text decodes to the key (_spelled),
        # as compiling it costs about 40 times the rest of this constructor.
        self._url_spelling: Optional[re.Pattern[str]] = None
        # Its longest run of letters and digits, which no URL needs to encode: a text
        # with neither it nor an escaped letter or digit cannot spell the key (a shortcut
        # past decoding it).
        self._anchor = max(ALNUM_RUN.findall(key), key=len, default="")
        self._probes = rarest(key)  # see _holds
        # The key as a JSON string, escaped and not (non-ASCII, DEL).
        self._json_keys = tuple({json.dumps(key), json.dumps(key, ensure_ascii=False)})
        # Any JSON spelling of it (each character as is or escaped), compiled as
        # _url_spelling is, when a text decodes to the key (_json_spellings).
        self._json_spelling: Optional[re.Pattern[str]] = None
        # The JSON escapes that can spell a character of the key: for a printable ASCII
        # key, \u0020 to \u007f (not the \u00e9 of any non-ASCII text), and \/ for a
        # slash; for any other key, every \u.
        self._escapes = ASCII_ESCAPE if self._plain else ANY_ESCAPE
        if "/" in key:
            self._escapes = re.compile(self._escapes.pattern + r"|\\/")

    def _numeric_in(self, text: str) -> bool:
        """Whether ``text`` may hold a JSON number of the key's value written otherwise
        (False for a key that is no number): see
        :func:`~readme_metrics.har.key_numbers.number_looks`."""
        if self._value is None:
            return False
        return number_in(text, self._number_looks, self._number_probes)

    def numbers_in(self, value: str) -> bool:
        """Whether ``value`` may be a JSON document holding a number of the key's value
        written otherwise (a numeric key only): one :meth:`text` masks."""
        return (self._value is not None and JSON_START.match(value) is not None
                and self._numeric_in(value))

    def _same(self, literal: str) -> bool:
        """Whether the JSON number ``literal`` is the key: as written, or of its value."""
        return same_number(literal, self.key, self._value, self._leads)

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
            if self._encoded_in(value):
                value = self._respelled(value, self._encoded_mask)
            if "\\" in value and (not self._plain or self._escaped(value)):
                # (A key with a quote, a backslash or a control character is escaped
                # with any backslash, non-ASCII maybe: _json_spellings looks.)
                value = self._json_spellings(value)
            if self.numeric and self.numbers_in(value):  # JSON: {"id": 1.2345678e7}
                value = self._json(value, nested=False) or self._bare_numbers(value)
            if self.key in value:
                return value.replace(self.key, self.masked)
        elif value != self.masked and (
                self.key in value or "\\" in value or self.numeric and self.numbers_in(value)
        ) and _REDACTED_MARK.fullmatch(value) is None:
            # A short key only where a whole value equals it: a JSON string of a document
            # the value holds (a form field's, a header's: {"key": "k123"}), its characters
            # maybe JSON escapes ("k\\u0031\\u0032\\u0033"). Not in its own mask, which
            # ends with it and is no JSON: a JSON body of the key repeated ([1,1,...] for
            # "1") had each mask put in read again as a document, twice (_json, _clean),
            # 14 us each, 7 s of the worker per MiB. Nor in a value the denylist
            # redacted ("[REDACTED 1]" for the key "1": tried as a JSON array, a form of
            # denied pairs cost 4 times as much), which holds no JSON string.
            return self._short_json(value)
        return value

    def _short_json(self, text: str) -> str:
        """``text`` with a short key masked where a whole JSON string equals it, one level
        deep: the strings of a JSON document in it; a document in those strings that holds
        the key is hidden whole (each level written back is escaped again by the levels
        around it, so a text nested n deep grew as 2 ** n, see
        :meth:`readme_metrics.har.redaction.Redactor._inner`)."""
        if self._may_hold_short(text):
            return self._json(text, nested=False) or self._json_spellings(text)
        return text

    def _may_hold_short(self, text: str) -> bool:
        """Whether a JSON ``text`` may hold a short key as a whole string: as a JSON string,
        escaped, or inside a JSON string holding JSON (its quotes escaped)."""
        return self._escaped(text) or any(spelling in text for spelling in self._json_keys) or (
            ("\\" in text or self._number) and self._holds(text)) or self._numeric_in(text)

    def _deepest(self, value: str) -> str:
        """A string of a JSON document in a JSON string, with a short key masked where it
        is the key, and hidden whole behind the mask where it may be a document holding
        it (not looked into: see :meth:`_short_json`)."""
        if value == self.key or (self.key in value and JSON_START.match(value) is not None):
            return self.masked
        return value

    def url(self, url: str) -> str:
        """A URL with the key masked, percent-encoded so the URL stays valid.

        The client may choose the key (the grouping function reads it from a header), so
        it may span the url's structure: the scheme stays; a key holding it leaves only
        the mask after it; an authority the mask left invalid (a port that is no port,
        half an IP literal) is percent-encoded whole. The query may then hold other pairs:
        :func:`scrub_entry` reads queryString from it again.
        """
        if self.numeric and self._numeric_in(url):  # a JSON value: ?filter={"id":1e3}
            url = url_pairs(url, self._numbers_in_values)
        if self.inside:
            # (_encoded_in's own first test, spared its call for almost every url.)
            if self.key not in url and not (("%" in url or self._spaced and "+" in url)
                                            and self._encoded_in(url)):
                # No spelling of the key in it, as in almost every url (see _json_escaped).
                return url if "\\" not in url and "%5C" not in url and "%5c" not in url \
                    else self._json_escaped(url, url_pairs)
            scheme, sep, rest = url.partition("://")
            if not sep:  # a relative URL (Location: /p?k=...): no scheme to keep
                scheme, rest = "", url
            if self._rooted is not None:
                # A key starting with "/" (a grouping function returning the path) keeps
                # it, as the mask keeps the last four: else a path starting with the key
                # made http://hsha512-..., a url of another host. Its other characters
                # as is or percent-encoded (GET /users%2Fme: PATH_INFO is "/users/me").
                rest = self._rooted.sub("/" + self._quoted_mask, rest)  # no backslash
            rest = self._json_escaped(self._spelled(rest), url_pairs)
            if not sep:
                return rest
            whole = scheme + sep + rest
            if self.key in whole or self._encoded_in(whole):
                return f"{scheme}{sep}{self._quoted_mask}/"  # the key spans the scheme
            return scheme + sep + valid_authority(rest)
        if url == self.key:  # a URL header holding just the key (Referer: k123)
            return self.masked
        return whole_segments(url_pairs(url, self._whole_values, flags=True), self.key,
                              self._rooted, self._quoted_mask)

    def form(self, text: str) -> str:
        """A form's text (a response's: a request's becomes params) with the key masked
        however it is encoded there, as in a url's query."""
        if self.numeric and self._numeric_in(text):
            text = self._numbers_in_values(text)
        if self.inside:
            return self._json_escaped(self._spelled(text), lambda pairs, change: change(pairs))
        text = query_values(text, self._whole_value)
        if self.key in text:
            # A JSON document answered as a form (read as one, it is one field's name),
            # kept as it was written.
            text = self._short_json(text)
        # A name that is the key, or spells it otherwise (k%31).
        return query_values(text, _kept, self._whole_name)

    def _json_escaped(self, url: str, pairs: Callable[[str, Callable[[str], str]], str]
                      ) -> str:
        """``url`` (a form's text: ``pairs`` applies a change to its pairs) with the key
        masked in a query value that holds it JSON-escaped: a JSON document in it escapes
        what a JSON writer escapes (PHP's json_encode writes ``\\/`` for every slash, most
        writers ``\\u00e9``, a quote as ``\\"``), then percent-encoded, which
        :meth:`_spelled` does not decode. The value is re-quoted whole."""
        if "\\" not in url and "%5C" not in url and "%5c" not in url:
            return url
        return pairs(url, lambda query: query_values(query, self._escaped_value,
                                                     self._escaped_name))

    def _escaped_value(self, name: str, value: str) -> Optional[str]:
        """The raw value of a pair with the key masked in its JSON escapes (see
        :meth:`_json_escaped`), or None to keep it."""
        return self._escaped_name(value)

    def _escaped_name(self, raw: str) -> Optional[str]:
        """A raw name (or value) with the key masked in its JSON escapes, or None."""
        decoded = decode_component(raw)
        if "\\" not in decoded:
            return None
        masked = self.text(decoded)
        return None if masked == decoded else quote(utf8(masked), safe="")

    def _spelled(self, text: str) -> str:
        """``text`` with every URL spelling of the key masked: the usual ones (longest
        first), then any other the text still decodes to."""
        text = replaced(text, self._spellings, self._quoted_mask)
        if self._encoded_in(text):
            text = self._respelled(text, lambda spelling: self._quoted(spelling.group()))
        return text

    def _encoded_mask(self, spelling: re.Match[str]) -> str:
        """The quoted mask for a percent-encoded spelling; the key as is stays."""
        found = spelling.group()
        return found if found == self.key else self._quoted(found)

    def _quoted(self, found: str) -> str:
        """The mask percent-encoded as ``found`` spells the key: twice for a spelling that
        decodes to it only twice (a link inside a query value)."""
        if "%25" in found and unquote_plus(found, errors="surrogateescape") != self.key:
            return self._twice_quoted_mask
        return self._quoted_mask

    def _url_any(self) -> re.Pattern[str]:
        """The pattern of any URL spelling of the key (see _url_spelling)."""
        if self._url_spelling is None:  # two threads may both compile it: no harm
            self._url_spelling = url_pattern(self.key)
        return self._url_spelling

    def _respelled(self, text: str, replace: Callable[[re.Match[str]], str],
                   hidden: Optional[Callable[[str], str]] = None) -> str:
        """``text`` (which :meth:`_encoded_in` found spelling the key) with each URL spelling
        of the key replaced (the key as is stays, for the caller to mask).

        A key too long to have a pattern (:data:`MAX_SPELLED_KEY`) has its usual
        spellings replaced (percent- and form-encoded); a text that still spells it
        otherwise becomes ``hidden(text)`` (default: the quoted mask) whole.
        """
        if len(self.key) <= MAX_SPELLED_KEY:
            return self._url_any().sub(replace, text)
        key = self.key
        spelled = replaced(text, tuple(s for s in self._spellings if s != key),
                            self._quoted_mask)
        if not self._encoded_in(spelled.replace(key, self.masked)):
            return spelled
        return self._quoted_mask if hidden is None else hidden(text)

    def _encoded_in(self, text: str) -> bool:
        """Whether ``text`` percent-decodes to a text holding the key, however it is
        encoded: a client may encode what needs no encoding (``%6F`` for ``o``), a form
        writes a space as "+", and a link inside a query value is encoded twice."""
        if "%" not in text and not (" " in self.key and "+" in text):
            return False
        if self._anchor not in text and ALNUM_ESCAPE.search(text) is None:
            return False
        if len(self.key) <= MAX_SPELLED_KEY and ("%" in self.key or (
                self._lone and utf8(self.key).decode("utf-8", "surrogateescape") != self.key)):
            # Decoding would change the key's own "%41" too, or no decoding gives a lone
            # surrogate surrogateescape cannot make (\ud800): ask the pattern. (A longer
            # key is found decoded below, or as is by the caller.)
            return self._url_any().search(text) is not None
        if self._lone and any(spelling in text for spelling in self._spellings):
            # A longer key with such a surrogate is not found decoded: its usual spellings
            # (percent- and form-encoded) are found as they are.
            return True
        decoded = percent_decoded(text)  # unquote's, at C speed
        if self.key in decoded:
            return True
        if "%25" in text and self.key in percent_decoded(decoded):
            return True
        return " " in self.key and self.key in unquote_plus(text, errors="surrogateescape")

    def _numbers_in_values(self, query: str) -> str:
        """A raw query or form with the key masked in the JSON documents its names and
        values hold where a number of its value is written otherwise (see
        :meth:`numbers_in`)."""
        return query_values(query, self._number_value, self._number_name)

    def _number_value(self, name: str, value: str) -> Optional[str]:
        return self._number_name(value)

    def _number_name(self, raw: str) -> Optional[str]:
        """A raw name (or value) with the key masked where a JSON number of its value is
        written otherwise in the document it holds, or None (see :meth:`numbers_in`)."""
        decoded = decode_component(raw)
        if not self.numbers_in(decoded):
            return None
        masked = self.text(decoded)
        return None if masked == decoded else quote(utf8(masked), safe="")

    def _whole_values(self, query: str) -> str:
        """A raw query (or a fragment's pairs) with the values and names that decode to
        the (short) key masked, a name alone after a ``#`` too (``?a=1#k42``)."""
        return query_values(query, self._whole_value, self._whole_name, flags=True)

    def _whole_name(self, raw: str) -> Optional[str]:
        """The raw name of a pair masked as :meth:`name` masks it decoded (as queryString
        shows it: a name that is the key, or a JSON document holding it), else None."""
        decoded = decode_component(raw)
        if self.key not in decoded and "\\" not in decoded and not self.numeric:
            return None
        masked = self.name(decoded)
        return None if masked == decoded else quote(utf8(masked), safe="")

    def _whole_value(self, name: str, value: str) -> Optional[str]:
        """The quoted mask for a raw value that decodes to the key, the value masked as
        :meth:`text` masks it when it holds the key (JSON: ``f={"key": "k123"}``), else
        None."""
        decoded = decode_component(value)
        if decoded == self.key:
            return self._quoted_mask
        if self.key not in decoded and "\\" not in decoded:  # (JSON escapes may spell it)
            return None
        masked = self.text(decoded)
        return None if masked == decoded else quote(utf8(masked), safe="")

    def body(self, text: str) -> str:
        """A body's text with the key masked; a JSON document stays valid JSON.

        A JSON text may spell the key with escapes (``\\u002d``, ``\\/``): a text that could
        is read as JSON too, so its decoded strings are masked; one that is no JSON (cut
        short) has each spelling masked. A long key percent-encoded (a link in the body)
        is masked as in a url. Where a JSON text holds the key outside a string (the whole
        body, a number, across its structure), the mask goes into a JSON string.
        A byte order mark (kept in a body whose type is not text) is kept, the text after
        it masked as a body.
        """
        if text[:1] == "\ufeff":
            after = text.lstrip("\ufeff")  # (marks repeated: one call, no recursion)
            return text[:len(text) - len(after)] + self.body(after)
        if text == self.key:
            return self._hidden(text)
        if not self.inside:
            if self._may_hold_short(text):
                return self._json(text) or self._json_spellings(text)
            return text
        # (The first tests of _encoded_in and _escaped, spared their calls for most bodies.)
        if ("%" in text or self._spaced and "+" in text) and self._encoded_in(text):
            # A link ({"next": "...?key=k%2F"}): its spellings masked as in a url
            # (JSON-safe, as the quoted mask is); the key as is is masked below.
            text = self._respelled(text, self._encoded_mask, self._hidden)
        # (_numeric_in's own first test, spared its call for a key that is no number.)
        if self._plain and not (self._bare and self._holds(text)) and not (
                self.numeric and self._numeric_in(text)):
            # In a JSON text such a key is inside a string: masked there as plain text.
            if self._holds(text):
                text = text.replace(self.key, self.masked)
            if "\\" in text and self._escaped(text):
                return self._json(text) or self._json_spellings(text)
            return text
        scrubbed = self._json(text)
        if scrubbed is None:  # not JSON: plain text, or JSON cut short (its spellings)
            masked = text.replace(self.key, self.masked) if self.key in text else text
            masked = self._json_spellings(masked)
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

    def _holds(self, text: str) -> bool:
        """``self.key in text``, sooner for a large text that lacks one of the key's rarest
        characters (see :func:`~readme_metrics.har.text.rarest`), as most bodies do."""
        if len(text) >= PROBED_TEXT:
            for character in self._probes:
                if character not in text:
                    return False
        return self.key in text

    def _escaped(self, text: str) -> bool:
        """Whether a JSON ``text`` could spell the key with escapes (see ``_escapes``): a
        printable key has no character the other escapes give."""
        return "\\" in text and self._escapes.search(text) is not None

    def _hidden(self, text: str) -> str:
        """The mask in place of all of ``text``: a JSON string if ``text`` is JSON."""
        return json.dumps(self.masked, ensure_ascii=False) if is_json(text) else self.masked

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

    def _json(self, text: str, nested: bool = True, exotic: bool = False) -> Optional[str]:
        """Mask the key in the strings of a JSON document (in its numbers too, made strings,
        for a long key that can be one); None if ``text`` is not JSON. ``nested``: a short
        key is masked in the JSON documents its strings hold too (see
        :meth:`_short_json`), one level deep. ``exotic``: numbers Python reads as none
        written back the same are kept as written (:class:`KeptNumber`), a Python call a
        number: asked for again when the C parser's reading could not be read or written
        for one (a document holding one was no JSON, its strings not masked)."""
        if text[:1] == "\ufeff":
            # A byte order mark a body kept (a type that is not text, octet-stream, has no
            # mark taken off: see bodies._redact_text) or a field's: json.loads refuses
            # the text, which an app reading it as utf-8-sig reads as JSON; the document
            # after it is masked, the mark kept.
            after = text.lstrip("\ufeff")
            scrubbed = self._json(after, nested, exotic)
            return None if scrubbed is None else text[:len(text) - len(after)] + scrubbed
        if (NUMBER_START.match(text) is not None and text.isascii()
                and NUMBER_TEXT.fullmatch(text) is None):
            # Starts as a number and is none (a string's "1 1" for the key "1"): no JSON,
            # as the C parser reads it, told without raising and catching its error.
            return None
        numbers: list[str] = []  # the numbers that held the key, masked
        held = self.key in text
        # The numbers are looked at (a Python call each) where one may be the key: as
        # written (an integer or not), or of its value written otherwise, which an integer
        # literal is only for a key written otherwise itself (1000 for "1000.0").
        as_written = (self.inside and self._bare or self._number) and held
        by_value = self._numeric_in(text)
        ints = read_integer if exotic else int
        floats = read_float if exotic else float
        constants = KeptNumber if exotic else float
        try:
            if (as_written or by_value) and JSON_START.match(text) is None:
                # A text that is no array or object (a string's "1 1" in a body of them,
                # for the key "1") is read without hooks first: the C parser says in a
                # microsecond whether it is JSON at all, where a decoder of hooks took 14.
                # (Its integers as written: int() refuses one of over 4,300 digits, which
                # the hooks below read, the key masked in it.)
                loads(text, parse_int=str)
            if as_written or by_value:
                def number(literal: str, parse: Any) -> Any:
                    if self.inside and self.key in literal:
                        numbers.append(literal.replace(self.key, self.masked))
                    elif literal == self.key or self._value is not None and self._same(literal):
                        # A short key: the whole number only. Of its value, written in a
                        # way the looks (by_value) miss too (12.5e0, 1234.5e1): read as a
                        # float, it would be written again as the key (12.5, 12345.0).
                        numbers.append(self.masked)
                    else:
                        return parse(literal)
                    return numbers[-1]

                document = loads(
                    text, parse_float=lambda literal: number(literal, floats),
                    parse_int=(lambda literal: number(literal, ints))
                    if as_written or by_value and self._integer_otherwise else
                    read_integer if exotic else None,
                    # NaN, Infinity, -Infinity: the key's characters outside a string,
                    # as a number's are (the key "Infinity": the mask goes into a string).
                    parse_constant=(lambda literal: number(literal, constants))
                    if as_written else constants if exotic else None)
            elif exotic:
                document = loads(text, parse_int=read_integer, parse_float=read_float,
                                 parse_constant=KeptNumber)
            else:
                document = loads(text)
        except ValueError as error:
            # int() refuses an integer of over 4,300 digits (a ValueError, where a text
            # that is no JSON raises a JSONDecodeError): read again keeping it.
            if exotic or isinstance(error, json.JSONDecodeError) or (
                    EXOTIC_NUMBER.search(text) is None):
                return None
            return self._json(text, nested, True)
        except RecursionError:
            return None
        if isinstance(document, str):
            scrubbed = self.text(document) if nested else self._deepest(document)
            if scrubbed is document and not numbers:
                return None
            return dumps_as_sent(scrubbed, text)
        if not isinstance(document, (dict, list)):
            return None
        changed = bool(numbers)
        # A string or a name holds the key only if the text does (or spells it escaped):
        # a document looked at for its numbers alone is not walked.
        stack = [document] if held or "\\" in text else []
        # What each distinct string came out as (a pure function of it; None: the string
        # itself, kept): a body of one string repeated (["1 1", ...] for the key "1")
        # asks text() once, not once a string, here and in _clean's walk of the text.
        known: dict[str, Optional[str]] = {}
        while stack:
            node = stack.pop()
            if isinstance(node, dict) and any(self.key in name for name in node):
                # The key as a member name (a short one: the whole name, as elsewhere).
                renamed = {self.name(name) if nested else self._deepest(name): value
                           for name, value in node.items()}
                node.clear()
                node.update(renamed)
                changed = True
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for slot, value in list(items):
                if isinstance(value, (dict, list)):
                    stack.append(value)
                elif isinstance(value, str):
                    if value in known:
                        found = known[value]
                        scrubbed = value if found is None else found
                    else:
                        scrubbed = self.text(value) if nested else self._deepest(value)
                        known[value] = None if scrubbed is value else scrubbed
                    if scrubbed is not value:
                        node[slot] = scrubbed
                        changed = True
        if not changed:
            # A member the parser dropped (a name given twice: the last one is kept) was
            # not walked: a key there (as is, or spelled with JSON escapes) is masked in
            # place, where that keeps the document, else the document is written again
            # without that member. A text that holds none is sent as it came.
            if not (held or "\\" in text) or self._clean(text, known if nested else {}):
                return text
            try:
                written = dumps_as_sent(document, text)
            except (ValueError, RecursionError):  # (a stack used up already: as 1e400)
                return self._unwritable(text, nested, exotic)
            return self._as_sent(text, written, document, exotic)
        try:
            written = dumps_as_sent(document, text)
        except (ValueError, RecursionError):
            return self._unwritable(text, nested, exotic)
        return self._as_sent(text, written, document, exotic)

    def _unwritable(self, text: str, nested: bool, exotic: bool) -> str:
        """:meth:`_json` of a document that could not be written again: a number beyond a
        double (1e400) was read as infinity, or the text spells NaN or Infinity (no JSON,
        which Python's parser and so an app's reads), which no JSON writer writes, so it
        is read again keeping such numbers as written; else (a stack used up) the key's
        JSON spellings in the text are masked instead, the rest left as sent."""
        if not exotic and EXOTIC_NUMBER.search(text) is not None:
            again = self._json(text, nested, True)
            if again is not None:
                return again
        return self._json_spellings(text)

    def _as_sent(self, text: str, otherwise: str, document: Any, exotic: bool) -> str:
        """``text`` with the key masked in place (:meth:`_json_spellings`) when it reads as
        ``document`` (``text`` read, the key masked) and holds the key nowhere else, else
        ``otherwise`` (``document`` written again): the other numbers, the layout and the
        escapes stay as sent (written again, ``10.50`` is ``10.5``, ``1E2`` is ``100.0``,
        a long fraction is rounded). A key masked in a JSON document a string holds is
        ``otherwise``'s only."""
        in_place = self._json_spellings(text)
        if in_place == text:
            return otherwise
        try:
            same = loads(in_place, parse_int=read_integer if exotic else None,
                         parse_float=read_float if exotic else None,
                         parse_constant=KeptNumber if exotic else None) == document and (
                self._clean(in_place))
        except (ValueError, RecursionError):
            return otherwise
        return in_place if same else otherwise

    def _clean(self, text: str, known: Optional[dict[str, Optional[str]]] = None) -> bool:
        """Whether no string (member names too) or number of the JSON ``text`` is one
        :meth:`_json` would mask, in every member: also those of an object that names
        one twice, which a document read as a dict leaves out (the last one is kept).
        ``known``: strings and what :meth:`text` made of them, already."""
        dirty = False
        known = {} if known is None else known

        def number(literal: str) -> int:
            nonlocal dirty
            if literal == self.key or self.inside and self.key in literal or (
                    self._value is not None and self._same(literal)):
                dirty = True
            return 0

        try:
            stack = [loads(text, object_pairs_hook=lambda pairs: pairs,
                           parse_int=number, parse_float=number, parse_constant=number)]
        except ValueError:  # (the stack used up: not known clean, so written again)
            return False
        while stack and not dirty:
            node = stack.pop()
            if isinstance(node, str):
                if node in known:
                    found = known[node]
                    dirty = found is not None and found != node
                else:
                    dirty = self.text(node) != node
            elif isinstance(node, (list, tuple)):  # an array, an object's pairs, a pair
                stack.extend(node)
        return not dirty

    def _json_spellings(self, text: str) -> str:
        """``text`` with the key masked however a JSON string spells it (each character as
        is or escaped: ``\\u002d``, ``\\/``), a short key only where a whole string equals
        it: in a JSON text the parser could not help with (cut short, a number beyond a
        double), or text that is no JSON but escapes it so."""
        key = self.key
        if self._value is not None and JSON_START.match(text) is not None:
            text = self._bare_numbers(text)
        # Decoded and compared first, as most such texts do not hold the key: no pattern
        # compiled, no slow search. A key with a quote, a backslash or a control character
        # has escapes that do not decode so: the pattern looks wherever there is one.
        simple = key.isprintable() and not ('"' in key or "\\" in key)
        if (simple or "\\" not in text) and (
                key if self.inside else f'"{key}"') not in json_decoded(text, key):
            return text
        if len(key) > MAX_SPELLED_KEY:
            return self._hidden(text)
        if self._json_spelling is None:  # two threads may both compile it: no harm
            self._json_spelling = json_pattern(self.key, whole=not self.inside)
        masked = json.dumps(self.masked, ensure_ascii=False)
        if self.inside:
            masked = masked[1:-1]  # inside a string, where the key was
        return self._json_spelling.sub(lambda _: masked, text)

    def _bare_numbers(self, text: str) -> str:
        """A JSON ``text`` the parser could not read (cut short) with each number that is
        the (numeric) key masked, as written or of its value: a value after ``:``, ``[``
        or ``,``, ended by ``,``, ``]``, ``}`` or the text's end (a number cut there may
        have been longer: masked all the same)."""
        if self.key not in text and not self._numeric_in(text):
            return text
        return masked_bare_numbers(text, json.dumps(self.masked), self._same)


def _kept(name: str, value: str) -> None:
    """For :func:`~readme_metrics.har.text.query_values`: every value as it is."""
    return None


def _aliases(key: str, masked: str) -> tuple[CallerKey, ...]:
    """How an exchange shows a key with lone surrogates, each masked as ``masked``.

    Such a key stands for bytes that are no UTF-8 (``utf8``: ``\\udc80`` for the byte
    0x80). Headers, cookies and bodies that are no UTF-8 show them read as latin-1; the
    url percent-encodes them, which the key itself masks, but a query or form value keeps
    an escape that is no UTF-8 as written (``%80``), which only a long key finds decoded.
    """
    data = utf8(key)
    spellings = {data.decode("latin-1")}
    if len(key) < MIN_SUBSTRING_KEY:
        spellings.add(decode_component(quote(data, safe="")))
    spellings.discard(key)
    return tuple(CallerKey(spelling, masked) for spelling in sorted(spellings))


@lru_cache(maxsize=256)
def for_key(key: str) -> Optional[CallerKey]:
    """The :class:`CallerKey` of ``key`` (None for an empty key); one per distinct key."""
    return CallerKey(key) if key else None


def __getattr__(name: str) -> Any:
    """:func:`scrub_entry`, at its older place (it is in :mod:`readme_metrics.har.scrub`)."""
    if name == "scrub_entry":
        from readme_metrics.har.scrub import scrub_entry
        return scrub_entry
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
