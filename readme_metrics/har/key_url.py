"""The caller's key in a URL or a form's text: as is, percent-encoded (any character, hex
digits in either case, twice inside a query value), form-encoded ("+" for a space), in the
JSON a query value holds (escaped, or a number of its value), as a whole name or value,
a whole segment of the path, or the host; the mask percent-encoded so the URL stays valid.
Pure functions of the text and the key's :class:`~readme_metrics.har.key_forms.KeyForms`;
``mask_text`` masks one decoded value (``CallerKey.text``). Moved from
:mod:`readme_metrics.har.credentials`, as is.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Callable, Optional
from urllib.parse import unquote_plus

from readme_metrics.har.key_authority import valid_authority
from readme_metrics.har.key_forms import MAX_SPELLED_KEY, KeyForms
from readme_metrics.har.key_json import MaskText, short_json
from readme_metrics.har.key_paths import whole_segments
from readme_metrics.har.key_spellings import ALNUM_ESCAPE, replaced
from readme_metrics.har.pairs import query_values, url_pairs
from readme_metrics.har.percent import decode_component, percent_decoded
from readme_metrics.masking import url_quoted, utf8

__all__ = ["encoded_in", "encoded_mask", "json_encoded_mask", "masked_form", "masked_url",
           "respelled"]


def masked_url(forms: KeyForms, url: str, mask_text: MaskText) -> str:
    """A URL with the key masked, percent-encoded so the URL stays valid.

    The client may choose the key (the grouping function reads it from a header), so
    it may span the url's structure: the scheme stays; a key holding it leaves only
    the mask after it; an authority the mask left invalid (a port that is no port,
    half an IP literal) is percent-encoded whole. The query may then hold other pairs:
    :func:`~readme_metrics.har.scrub.scrub_entry` reads queryString from it again.
    """
    key = forms.key
    if forms.numeric and forms.numeric_in(url):  # a JSON value: ?filter={"id":1e3}
        url = url_pairs(url, partial(_numbers_in_values, forms, mask_text))
    if forms.inside:
        # (encoded_in's own first test, spared its call for almost every url.)
        if key not in url and not (("%" in url or forms.spaced and "+" in url)
                                   and encoded_in(forms, url)):
            # No spelling of the key in it, as in almost every url (see _json_escaped).
            return url if "\\" not in url and "%5C" not in url and "%5c" not in url \
                else _json_escaped(url, url_pairs, mask_text)
        scheme, sep, rest = url.partition("://")
        if not sep:  # a relative URL (Location: /p?k=...): no scheme to keep
            scheme, rest = "", url
        if forms.rooted is not None:
            # A key starting with "/" (a grouping function returning the path) keeps
            # it, as the mask keeps the last four: else a path starting with the key
            # made http://hsha512-..., a url of another host. Its other characters
            # as is or percent-encoded (GET /users%2Fme: PATH_INFO is "/users/me").
            rest = forms.rooted.sub("/" + forms.quoted_mask, rest)  # no backslash
        rest = _json_escaped(_spelled(forms, rest), url_pairs, mask_text)
        if not sep:
            return rest
        whole = scheme + sep + rest
        if key in whole or encoded_in(forms, whole):
            return f"{scheme}{sep}{forms.quoted_mask}/"  # the key spans the scheme
        return scheme + sep + valid_authority(rest)
    if url == key:  # a URL header holding just the key (Referer: k123)
        return forms.masked
    return whole_segments(url_pairs(url, partial(_whole_values, forms, mask_text), flags=True),
                          key, forms.rooted, forms.quoted_mask)


def masked_form(forms: KeyForms, text: str, mask_text: MaskText) -> str:
    """A form's text (a response's: a request's becomes params) with the key masked
    however it is encoded there, as in a url's query."""
    if forms.numeric and forms.numeric_in(text):
        text = _numbers_in_values(forms, mask_text, text)
    if forms.inside:
        return _json_escaped(_spelled(forms, text), lambda pairs, change: change(pairs),
                             mask_text)
    text = query_values(text, partial(_whole_value, forms, mask_text))
    if forms.key in text:
        # A JSON document answered as a form (read as one, it is one field's name),
        # kept as it was written.
        text = short_json(forms, text, mask_text)
    # A name that is the key, or spells it otherwise (k%31).
    return query_values(text, _kept, partial(_whole_name, forms, mask_text))


def _kept(name: str, value: str) -> None:
    """For :func:`~readme_metrics.har.pairs.query_values`: every value as it is."""
    return None


def _json_escaped(url: str, pairs: Callable[[str, Callable[[str], str]], str],
                  mask_text: MaskText) -> str:
    """``url`` (a form's text: ``pairs`` applies a change to its pairs) with the key
    masked in a query value that holds it JSON-escaped: a JSON document in it escapes
    what a JSON writer escapes (PHP's json_encode writes ``\\/`` for every slash, most
    writers ``\\u00e9``, a quote as ``\\"``), then percent-encoded, which
    :func:`_spelled` does not decode. The value is re-quoted whole."""
    if "\\" not in url and "%5C" not in url and "%5c" not in url:
        return url
    return pairs(url, lambda query: query_values(
        query, partial(_escaped_value, mask_text), partial(_escaped_name, mask_text)))


def _escaped_value(mask_text: MaskText, name: str, value: str) -> Optional[str]:
    """The raw value of a pair with the key masked in its JSON escapes (see
    :func:`_json_escaped`), or None to keep it."""
    return _escaped_name(mask_text, value)


def _escaped_name(mask_text: MaskText, raw: str) -> Optional[str]:
    """A raw name (or value) with the key masked in its JSON escapes, or None."""
    decoded = decode_component(raw)
    if "\\" not in decoded:
        return None
    masked = mask_text(decoded)
    return None if masked == decoded else url_quoted(masked)


def _spelled(forms: KeyForms, text: str) -> str:
    """``text`` with every URL spelling of the key masked: the usual ones (longest
    first), then any other the text still decodes to."""
    text = replaced(text, forms.spellings, forms.quoted_mask)
    if encoded_in(forms, text):
        text = respelled(forms, text, lambda spelling: _quoted(forms, spelling.group()))
    return text


def encoded_mask(forms: KeyForms, spelling: re.Match[str]) -> str:
    """The quoted mask for a percent-encoded spelling; the key as is stays."""
    found = spelling.group()
    return found if found == forms.key else _quoted(forms, found)


def json_encoded_mask(forms: KeyForms, spelling: re.Match[str]) -> str:
    """:func:`encoded_mask` in a JSON text, which stays JSON: a spelling that starts just
    after the first backslash of an escape (its first character escaped: ``\\"``,
    ``\\/``, the second of ``\\\\``) has one more backslash before the mask, and one that
    ends with the first backslash of an escaped one (``\\\\``), one after it (review127:
    the mask after a lone backslash, ``"\\sha512-..."``, was an escape JSON has not, and
    the body went out as no JSON)."""
    masked = encoded_mask(forms, spelling)
    if masked is spelling.group():
        return masked
    text, start, end = spelling.string, spelling.start(), spelling.end()
    before = start
    while before and text[before - 1] == "\\":
        before -= 1
    if (start - before) % 2:
        masked = "\\" + masked
    if text[end - 1] == "\\":
        first = end - 1
        while first and text[first - 1] == "\\":
            first -= 1
        if (end - first) % 2:
            masked += "\\"
    return masked


def _quoted(forms: KeyForms, found: str) -> str:
    """The mask percent-encoded as ``found`` spells the key: twice for a spelling that
    decodes to it only twice (a link inside a query value)."""
    if "%25" in found and unquote_plus(found, errors="surrogateescape") != forms.key:
        return forms.twice_quoted_mask
    return forms.quoted_mask


def respelled(forms: KeyForms, text: str, replace: Callable[[re.Match[str]], str],
              hidden: Optional[Callable[[str], str]] = None) -> str:
    """``text`` (which :func:`encoded_in` found spelling the key) with each URL spelling
    of the key replaced (the key as is stays, for the caller to mask).

    A key too long to have a pattern (:data:`MAX_SPELLED_KEY`) has its usual
    spellings replaced (percent- and form-encoded); a text that still spells it
    otherwise becomes ``hidden(text)`` (default: the quoted mask) whole.
    """
    if len(forms.key) <= MAX_SPELLED_KEY:
        return forms.url_any().sub(replace, text)
    key = forms.key
    spelled = replaced(text, tuple(s for s in forms.spellings if s != key),
                       forms.quoted_mask)
    if not encoded_in(forms, spelled.replace(key, forms.masked)):
        return spelled
    return forms.quoted_mask if hidden is None else hidden(text)


def encoded_in(forms: KeyForms, text: str) -> bool:
    """Whether ``text`` percent-decodes to a text holding the key, however it is
    encoded: a client may encode what needs no encoding (``%6F`` for ``o``), a form
    writes a space as "+", and a link inside a query value is encoded twice."""
    key = forms.key
    if "%" not in text and not (" " in key and "+" in text):
        return False
    if forms.anchor not in text and ALNUM_ESCAPE.search(text) is None:
        return False
    if len(key) <= MAX_SPELLED_KEY and ("%" in key or (
            forms.lone and utf8(key).decode("utf-8", "surrogateescape") != key)):
        # Decoding would change the key's own "%41" too, or no decoding gives a lone
        # surrogate surrogateescape cannot make (\ud800): ask the pattern. (A longer
        # key is found decoded below, or as is by the caller.)
        return forms.url_any().search(text) is not None
    if forms.lone and any(spelling in text for spelling in forms.spellings):
        # A longer key with such a surrogate is not found decoded: its usual spellings
        # (percent- and form-encoded) are found as they are.
        return True
    decoded = percent_decoded(text)  # unquote's, at C speed
    if key in decoded:
        return True
    if "%25" in text and key in percent_decoded(decoded):
        return True
    return " " in key and key in unquote_plus(text, errors="surrogateescape")


def _numbers_in_values(forms: KeyForms, mask_text: MaskText, query: str) -> str:
    """A raw query or form with the key masked in the JSON documents its names and
    values hold where a number of its value is written otherwise (see
    :meth:`~readme_metrics.har.key_forms.KeyForms.numbers_in`)."""
    return query_values(query, partial(_number_value, forms, mask_text),
                        partial(_number_name, forms, mask_text))


def _number_value(forms: KeyForms, mask_text: MaskText, name: str, value: str
                  ) -> Optional[str]:
    return _number_name(forms, mask_text, value)


def _number_name(forms: KeyForms, mask_text: MaskText, raw: str) -> Optional[str]:
    """A raw name (or value) with the key masked where a JSON number of its value is
    written otherwise in the document it holds, or None (see :func:`_numbers_in_values`)."""
    decoded = decode_component(raw)
    if not forms.numbers_in(decoded):
        return None
    masked = mask_text(decoded)
    return None if masked == decoded else url_quoted(masked)


def _whole_values(forms: KeyForms, mask_text: MaskText, query: str) -> str:
    """A raw query (or a fragment's pairs) with the values and names that decode to
    the (short) key masked, a name alone after a ``#`` too (``?a=1#k42``)."""
    return query_values(query, partial(_whole_value, forms, mask_text),
                        partial(_whole_name, forms, mask_text), flags=True)


def _whole_name(forms: KeyForms, mask_text: MaskText, raw: str) -> Optional[str]:
    """The raw name of a pair masked as ``CallerKey.name`` masks it decoded (as
    queryString shows it: a name that is the key, or a JSON document holding it), else
    None."""
    decoded = decode_component(raw)
    if forms.key not in decoded and "\\" not in decoded and not forms.numeric:
        return None
    masked = mask_text(decoded)
    return None if masked == decoded else url_quoted(masked)


def _whole_value(forms: KeyForms, mask_text: MaskText, name: str, value: str
                 ) -> Optional[str]:
    """The quoted mask for a raw value that decodes to the key, the value masked as
    ``mask_text`` masks it when it holds the key (JSON: ``f={"key": "k123"}``), else
    None."""
    decoded = decode_component(value)
    if decoded == forms.key:
        return forms.quoted_mask
    if forms.key not in decoded and "\\" not in decoded:  # (JSON escapes may spell it)
        return None
    masked = mask_text(decoded)
    return None if masked == decoded else url_quoted(masked)
