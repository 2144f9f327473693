"""The caller's key in the forms its masking looks for, worked out once per key: how long
it is (masked inside a value, or only whole), whether it is a JSON number (and the looks of
its value), how a URL and a JSON text spell it, the mask in those spellings. Plain data and
the cheap tests on it, for :mod:`readme_metrics.har.key_json` and
:mod:`readme_metrics.har.key_url`, whose functions take a :class:`KeyForms`;
:class:`~readme_metrics.har.credentials.CallerKey` is one. Moved from
:mod:`readme_metrics.har.credentials`, as is.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Optional
from urllib.parse import quote

from readme_metrics.har.key_numbers import JSON_NUMBER, number_in, number_looks, same_number
from readme_metrics.har.key_spellings import (
    ALNUM_RUN,
    ANY_ESCAPE,
    ASCII_ESCAPE,
    encodable,
    is_json,
    json_pattern,
    longest_first,
    rooted_pattern,
    url_pattern,
)
from readme_metrics.har.text import JSON_START, PROBED_TEXT, rarest
from readme_metrics.masking import mask, url_quoted

__all__ = ["MAX_SPELLED_KEY", "MIN_SUBSTRING_KEY", "KeyForms"]

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


class KeyForms:
    """One key's forms: what its masking looks for, and the mask it writes."""

    __slots__ = ("key", "masked", "inside", "numeric", "shortest", "lone", "plain", "bare",
                 "rooted", "spellings", "quoted_mask", "twice_quoted_mask", "json_keys", "escapes",
                 "url_spelling", "json_spelling", "anchor", "probes", "number", "value",
                 "leads", "number_probes", "number_looks", "integer_otherwise", "spaced",
                 "outside_masks")

    def __init__(self, key: str, masked: Optional[str] = None) -> None:
        """``masked``: the mask to write instead of ``mask(key)`` (an alias's: its key's)."""
        self.key = key
        self.masked = mask(key) if masked is None else masked
        self.inside = len(key) >= MIN_SUBSTRING_KEY
        # A form may write its space as "+" (see key_url.encoded_in).
        self.spaced = " " in key
        # A key holding lone surrogates (a header's bytes read with surrogateescape) has
        # no UTF-8: the exchange shows its bytes otherwise (see credentials._aliases).
        self.lone = not encodable(key)
        # Printable ASCII without quote or backslash reads the same inside a JSON string,
        # so it (and its mask) can be replaced in a JSON text as plain text.
        self.plain = key.isascii() and key.isprintable() and not ('"' in key or "\\" in key)
        # A key that can be found outside a JSON text's strings (12345678 in {"id": 12345678}).
        self.bare = _OUTSIDE_STRINGS.issuperset(
            key.replace("Infinity", "").replace("NaN", "") if "N" in key or "I" in key
            else key)
        # A short key that is a JSON number (a grouping function returning the caller's
        # id as 12345): masked where a whole JSON number is it, as a whole string.
        self.number = not self.inside and (JSON_NUMBER.fullmatch(key) is not None
                                           or key in _CONSTANTS)
        # A key that is a JSON number, of any length: a JSON number of the same value
        # written otherwise (1000.0, 1e3, 1E+3 for 1000; 1000 for 1000.0) is the same value
        # to whoever reads the JSON, so it is masked as the key is (see same). Strings
        # and the other parts of a log hold the key as written only.
        self.value: Optional[Decimal] = None
        self.leads: tuple[str, ...] = ()
        self.number_probes: tuple[str, ...] = ()
        self.number_looks: tuple[re.Pattern[str], ...] = ()
        self.integer_otherwise = False  # an integer key written otherwise ("1e+16")
        looks = number_looks(key, Decimal(key)) if JSON_NUMBER.fullmatch(key) else None
        if looks is not None:
            (self.value, self.leads, self.number_probes, self.number_looks,
             self.integer_otherwise) = looks
        #: Whether the key is a number, found by value in JSON too (see :meth:`numbers_in`).
        self.numeric = self.value is not None
        #: No value shorter than this may hold the key (``CallerKey.may_hold`` is False for
        #: it): the key's length, 0 for a numeric key (1e3 is 1000). A caller's test of it
        #: inline skips the call for the short values of every log (a method, a reason
        #: phrase, a client's address).
        self.shortest = 0 if self.numeric else len(key)
        #: Whether no mask (:func:`~readme_metrics.masking.mask`) can hold the key in any
        #: spelling ``CallerKey.text`` looks for, so a masked value needs no search: a long
        #: key, not a number, without "?" and with a character outside a mask's "sha512-"
        #: and base64 ("+" for a space, as a form writes it). A spelling then cannot reach
        #: past the mask's "?" (no escape spells a "?"), nor fit in the at most 4
        #: characters after it, nor in the base64 before it (no "%" or backslash for an
        #: escape there).
        self.outside_masks = (self.inside and not self.numeric and "?" not in key
                              and not _MASK_ALPHABET.issuperset(key.replace(" ", "+")))
        # A key starting with "/" (a grouping function returning the path) keeps it in
        # the url (see key_url.masked_url, key_paths.whole_segments); not "/" alone, every
        # root path.
        self.rooted = rooted_pattern(key) if key.startswith("/") and key.strip("/") else None
        # How the key can be written in a URL: as is, percent-encoded, or form-encoded
        # (longest first: see longest_first).
        self.spellings = longest_first({key, url_quoted(key), url_quoted(key, plus=True)})
        self.quoted_mask = quote(self.masked, safe="")
        # As a link inside a query value carries it (?next=%2Fp%3Fk%3Dowl%252Fbert).
        self.twice_quoted_mask = quote(self.quoted_mask, safe="")
        # Any of them, or a mix, hex digits in either case (.NET's HttpUtility.UrlEncode
        # writes %2f): a pattern compiled when a text decodes to the key (url_any), as
        # compiling it costs about 40 times the rest of this constructor.
        self.url_spelling: Optional[re.Pattern[str]] = None
        # Its longest run of letters and digits, which no URL needs to encode: a text
        # with neither it nor an escaped letter or digit cannot spell the key (a shortcut
        # past decoding it).
        self.anchor = max(ALNUM_RUN.findall(key), key=len, default="")
        self.probes = rarest(key)  # see holds
        # The key as a JSON string, escaped and not (non-ASCII, DEL).
        self.json_keys = tuple({json.dumps(key), json.dumps(key, ensure_ascii=False)})
        # Any JSON spelling of it (each character as is or escaped), compiled as
        # url_spelling is, when a text decodes to the key (json_any).
        self.json_spelling: Optional[re.Pattern[str]] = None
        # The JSON escapes that can spell a character of the key: for a printable ASCII
        # key, \u0020 to \u007f (not the \u00e9 of any non-ASCII text), and \/ for a
        # slash; for any other key, every \u.
        self.escapes = ASCII_ESCAPE if self.plain else ANY_ESCAPE
        if "/" in key:
            self.escapes = re.compile(self.escapes.pattern + r"|\\/")

    def numeric_in(self, text: str) -> bool:
        """Whether ``text`` may hold a JSON number of the key's value written otherwise
        (False for a key that is no number): see
        :func:`~readme_metrics.har.key_numbers.number_looks`."""
        if self.value is None:
            return False
        return number_in(text, self.number_looks, self.number_probes)

    def numbers_in(self, value: str) -> bool:
        """Whether ``value`` may be a JSON document holding a number of the key's value
        written otherwise (a numeric key only): one ``CallerKey.text`` masks."""
        return (self.value is not None and JSON_START.match(value) is not None
                and self.numeric_in(value))

    def same(self, literal: str) -> bool:
        """Whether the JSON number ``literal`` is the key: as written, or of its value."""
        return same_number(literal, self.key, self.value, self.leads)

    def holds(self, text: str) -> bool:
        """``self.key in text``, sooner for a large text that lacks one of the key's rarest
        characters (see :func:`~readme_metrics.har.text.rarest`), as most bodies do."""
        if len(text) >= PROBED_TEXT:
            for character in self.probes:
                if character not in text:
                    return False
        return self.key in text

    def escaped(self, text: str) -> bool:
        """Whether a JSON ``text`` could spell the key with escapes (see ``escapes``): a
        printable key has no character the other escapes give."""
        return "\\" in text and self.escapes.search(text) is not None

    def hidden(self, text: str) -> str:
        """The mask in place of all of ``text``: a JSON string if ``text`` is JSON."""
        return json.dumps(self.masked, ensure_ascii=False) if is_json(text) else self.masked

    def url_any(self) -> re.Pattern[str]:
        """The pattern of any URL spelling of the key (see url_spelling)."""
        if self.url_spelling is None:  # two threads may both compile it: no harm
            self.url_spelling = url_pattern(self.key)
        return self.url_spelling

    def json_any(self) -> re.Pattern[str]:
        """The pattern of any JSON spelling of the key (see json_spelling): a long key
        anywhere in a string, a short one as a whole string."""
        if self.json_spelling is None:  # two threads may both compile it: no harm
            self.json_spelling = json_pattern(self.key, whole=not self.inside)
        return self.json_spelling
