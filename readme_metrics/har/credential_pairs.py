"""Credential headers written as JSON name/value pairs (SPEC 6): a header list sent in a
JSON body (Postman's and HAR's ``[{"name": "Authorization", "value": "Bearer ..."}]``, a
proxy or webhook API's ``{"headers": [{"key": "X-Api-Key", "value": ...}]}``, AWS's
``{"Name": ..., "Value": ...}``, fetch's ``[["Authorization", "Bearer ..."]]``), or
keyed by their names in a member named for headers (``{"headers": {"Authorization":
...}}``: an echo of a request, API Gateway's Lambda event) has the value of each pair
or member naming a credential header
(:func:`~readme_metrics.har.credential_headers.credential_header`) masked, as the header
itself is, with or without a denylist. The pairs are those the denylist reads
(:data:`~readme_metrics.har.redaction_json.NAME_MEMBERS` with
:data:`~readme_metrics.har.redaction_json.VALUE_MEMBERS`, paired by
:func:`~readme_metrics.har.redaction_pairs.pairs_with`): one table. A pure function over
the text; nothing here raises.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterator, Optional
from urllib.parse import quote_plus, unquote_plus

from readme_metrics._http import is_token
from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har.credential_headers import (
    CREDENTIAL_HEADERS,
    CREDENTIAL_KEY_ENDINGS,
    credential_header,
)
from readme_metrics.har.deep_json import repeats_a_name
from readme_metrics.har.json_literals import dumps_as_sent, read_as_sent
from readme_metrics.har.redaction_json import NAME_MEMBERS, VALUE_MEMBERS, more_members_than
from readme_metrics.har.redaction_marks import REDACTED_MARK
from readme_metrics.har.redaction_names import folded_name, needles_in
from readme_metrics.har.redaction_pairs import paired_values, pairs_with
from readme_metrics.har.text import rarest
from readme_metrics.masking import is_masked, mask

__all__ = ["masked_credential_fields", "masked_credential_form", "masked_credential_pairs"]

# What a text's value member ends with, as written ("value", "Value", "ParameterValue",
# "VALUES", "val", "v"), each holding a "v" looked for first (memchr speed: a 100 KB
# answer with none is passed by in 10 us, where these took 0.9 ms); or a list of rows
# ([["X-Api-Key", ...]]). A text with neither holds no pair and is not parsed.
_VALUE_ENDS = ("alue", "ALUE", 'al"', 'AL"', 'v"', 'V"')
_ROWS = re.compile(r'\[\s*\[\s*"')
# What a member holding headers keyed by their names holds as written ("headers",
# "Headers", API Gateway's "multiValueHeaders", "requestHeader"): {"headers":
# {"Authorization": "Bearer ..."}}, an echo of the request (httpbin's /headers), a
# Lambda proxy event. (One search, lower case: each costs about 0.1 ms in a 100 KB text
# of common letters; an all-capitals "HEADERS" member, looked for only in a text holding
# an "H": _KEYED_CAPITALS.)
_KEYED = "eader"
_KEYED_CAPITALS = "EADER"
# The words one of which a credential header's name holds (the last words and endings
# of credential_header's rule; "key" after a word, as a bare "key" names none, and a
# pair's "key" member is no credential), and the listed names holding none: a text with
# none of them (in any case) names no credential header.
_WORDS = ("auth", "token", "secret", "passw", "passphrase", "-key", "_key", " key", "sig",
          "jwt", "hmac", "assertion", "cookie", *CREDENTIAL_KEY_ENDINGS)
_NEEDLES = _WORDS + tuple(sorted(name for name in CREDENTIAL_HEADERS
                                 if not any(word in name for word in _WORDS)))
# Each needle's rarest characters in either case, looked for first (needles_in): a body
# lacking them is passed by at memchr speed (a 100 KB answer in 10 us, where looking for
# each needle took 1.9 ms).
_PROBES = tuple(tuple((c, c.upper()) for c in rarest(needle)) for needle in _NEEDLES)


def _has_rows(text: str) -> bool:
    """Whether ``text`` may hold a list of rows: two "[" first (memchr speed, where the
    pattern took 30 us in a 100 KB answer holding one)."""
    first = text.find("[")
    return first >= 0 and text.find("[", first + 1) >= 0 and (
        _ROWS.search(text, first) is not None)


def _may_name_credentials(text: str) -> bool:
    """Whether ``text`` may hold a pair, a row or headers keyed by name, naming a
    credential header: the credential words (2 ms in a 100 KB text holding their rarest
    characters) looked for only in a text holding one of those shapes."""
    if not (("v" in text or "V" in text) and any(end in text for end in _VALUE_ENDS)
            or _has_rows(text) or "h" in text and _KEYED in text
            # (A text with neither "h" nor "H" is scanned for each once, as before.)
            or "H" in text and (_KEYED in text or _KEYED_CAPITALS in text)):
        return False
    return needles_in(text, _NEEDLES, _PROBES)


# In a JSON text that cannot be read: a member's name and the quote starting its string,
# and a row's "[" and the quote starting its first string; each string's end found stop
# by stop (_string_end). (A pattern for the whole string, its characters or escapes
# repeated, kept a state for each one: a header list cut short with a 512 KiB string,
# sent with no lists, took 94 MiB at its peak; hostile30.)
_MEMBER = re.compile(r'"([A-Za-z_]{1,30})"\s*:\s*"')
_ROW = re.compile(r'\[\s*"')
_ROW_NEXT = lazy_compile(r'\s*,\s*"')
# In a string: an escape (skipped whole), its closing quote, or a backslash before a
# line end or at the text's end.
_STRING_STOP = lazy_compile(r'\\.|["\\]')
_BETWEEN = re.compile(r"\s*,\s*")


def _string_end(text: str, at: int) -> Optional[tuple[int, int]]:
    """Where a JSON string whose characters start at ``at`` ends: its characters' end and
    its own (after its closing quote; at the text's end when it is cut short there, a
    backslash last left out); None when a backslash starts no escape (one before a line
    end: no string)."""
    for stop in _STRING_STOP.finditer(text, at):
        found = stop.group()
        if found == '"':
            return stop.start(), stop.end()
        if found == "\\":
            return (stop.start(), len(text)) if stop.end() == len(text) else None
    return len(text), len(text)


# A string found: its member's name (a row's none), its match's start, its characters'
# start and end, its end.
_Found = tuple[str, int, int, int, int]


def _members(text: str) -> Iterator[_Found]:
    """Each member holding a string in ``text``, as a pattern's finditer read them."""
    at = 0
    while True:
        start = _MEMBER.search(text, at)
        if start is None:
            return
        end = _string_end(text, start.end())
        if end is None:
            at = start.start() + 1
            continue
        yield start.group(1), start.start(), start.end(), end[0], end[1]
        at = end[1]


def _rows(text: str) -> Iterator[tuple[tuple[int, int], tuple[int, int]]]:
    """Each row of two strings in ``text``: the spans of their characters."""
    at = 0
    while True:
        start = _ROW.search(text, at)
        if start is None:
            return
        first = _string_end(text, start.end())
        after = None if first is None else _ROW_NEXT.match(text, first[1])
        second = None if after is None else _string_end(text, after.end())
        if first is None or after is None or second is None:
            at = start.start() + 1
            continue
        yield (start.end(), first[0]), (after.end(), second[0])
        at = second[1]


def _unescaped(written: str) -> Any:
    """A JSON string's characters as written between its quotes, read (None if they
    cannot be: cut inside an escape)."""
    try:
        return json.loads('"' + written + '"')
    except ValueError:
        return None


def _masked_as_written(text: str) -> str:
    """``text``, a JSON text that cannot be read (cut short), with the value of each pair
    (two members one after the other, either first) and row naming a credential header
    masked where it is written; the rest as it is."""
    spans: list[tuple[int, int]] = []
    members = list(_members(text))
    for first, second in zip(members, members[1:]):
        if _BETWEEN.fullmatch(text, first[4], second[1]) is None:
            continue
        one, other = folded_name(first[0]), folded_name(second[0])
        for name, naming, value, member in ((first, one, second, other),
                                            (second, other, first, one)):
            if naming in NAME_MEMBERS and member in VALUE_MEMBERS and pairs_with(
                    naming, member) and _names_credential(
                        _unescaped(text[name[2]:name[3]])):
                spans.append((value[2], value[3]))
    for (name_start, name_end), value_span in _rows(text):
        if _names_credential(_unescaped(text[name_start:name_end])):
            spans.append(value_span)
    if not spans:
        return text
    out: list[str] = []
    kept = 0
    for start, end in sorted(set(spans)):
        if start < kept:
            continue
        written = text[start:end]
        value = _unescaped(written)
        hidden = _masked(value if value.__class__ is str else written)
        out += [text[kept:start], json.dumps(hidden, ensure_ascii=False)[1:-1]]
        kept = end
    out.append(text[kept:])
    return "".join(out)


def _names_credential(name: Any) -> bool:
    """Whether a JSON string ``name`` names a credential header (``x_api_key`` as
    ``X-Api-Key``, as a server reading it does)."""
    if name.__class__ is not str:
        return False
    # A header's name is a token (RFC 9110 5.1): ``/password`` (a route) names no header.
    name = name.strip()
    return is_token(name) and credential_header(
        name.lower().replace("_", "-"))


# The values of a setting (any case), which no credential is: a pair holding one is a
# settings list's row ({"name": "auth", "value": "enabled"}, [["sig", "none"]]), which a
# name alone does not tell from a header's (secrets16), and masking it hid nothing. So
# is the name of a scheme alone, with no credential after it ({"name": "auth", "value":
# "oauth2"}: which scheme a client uses; OpenAPI's security types and the places of an
# API key), as an ``Authorization: Bearer`` without a token holds none (secrets17).
_SETTINGS = frozenset((
    "enabled", "disabled", "enable", "disable", "true", "false", "on", "off", "yes", "no",
    "none", "null", "required", "optional", "allowed", "denied", "default", "auto", "",
    "basic", "bearer", "digest", "oauth", "oauth1", "oauth2", "openid", "oidc", "saml",
    "apikey", "api-key", "api_key", "jwt", "hmac", "ntlm", "negotiate", "kerberos",
    "hawk", "aws4", "sigv4", "mtls", "token", "session", "cookie", "header", "query",
    "anonymous", "public",
))
# The longest of them: a longer value is no setting (no lookup).
_SETTING_LENGTH = max(map(len, _SETTINGS))


def _masked(value: Any) -> Any:
    """A credential's value masked: a string, or each string of a list (AWS's
    ``Values``), but a setting's (:data:`_SETTINGS`); anything else as it is."""
    if value.__class__ is str:
        return value if is_masked(value) or REDACTED_MARK.fullmatch(value) or (
            len(value) <= _SETTING_LENGTH and value.lower() in _SETTINGS) else mask(value)
    if value.__class__ is list:
        return [_masked(item) if item.__class__ is str else item for item in value]
    return value


def _walk(document: Any) -> tuple[bool, int]:
    """Mask, in place, the value of each pair naming a credential header: (True when one
    changed, the number of keys of the objects walked: at most the document's)."""
    changed = False
    count = 0
    stack = [document]
    while stack:
        node = stack.pop()
        if node.__class__ is dict:
            keys = list(node)
            count += len(keys)
            folded = [folded_name(key) for key in keys]
            naming = [member for key, member in zip(keys, folded)
                      if member in NAME_MEMBERS and _names_credential(node[key])]
            for key, member in zip(keys, folded):
                value = node[key]
                if value.__class__ is dict and member.endswith(("headers", "header")):
                    # Headers keyed by their names: each credential header's value.
                    for name, held in value.items():
                        if _names_credential(name):
                            hidden = _masked(held)
                            if hidden != held:
                                value[name] = hidden
                                changed = True
                if naming and member in VALUE_MEMBERS and any(
                        pairs_with(name, member) for name in naming):
                    hidden = _masked(value)
                    if hidden != value:
                        node[key] = hidden
                        changed = True
                elif isinstance(value, (dict, list)):
                    stack.append(value)
        elif node.__class__ is list:
            if len(node) == 2 and _names_credential(node[0]) and node[1].__class__ is str:
                # A row of a list of pairs ([["Authorization", "Bearer ..."]]: fetch's
                # Headers init, Object.entries).
                hidden = _masked(node[1])
                if hidden != node[1]:
                    node[1] = hidden
                    changed = True
                continue
            stack.extend(item for item in node if isinstance(item, (dict, list)))
    return changed, count


def masked_credential_pairs(text: str) -> str:
    """``text`` (a JSON body) with the value of each name/value pair naming a credential
    header masked, and of each credential header in an object of headers keyed by their
    names; ``text`` itself, byte for byte, when it holds none (or is no JSON:
    left as it is, as a header list cut short cannot be read). Written back as a
    redacted document is (compact, characters beyond ASCII as sent)."""
    # The shapes _may_name_credentials looks for need a "v" or an "h" (either case) or two
    # "[": a body with none (a small JSON answer, an id and a list) is passed by without
    # its calls.
    first = text.find("[")
    if not ("v" in text or "h" in text or "V" in text or "H" in text or first >= 0 and (
            text.find("[", first + 1) >= 0)) or not _may_name_credentials(text):
        return text
    try:
        document = read_as_sent(text)
    except ValueError:
        # A header list cut at max_body_bytes (a HAR posted to an API): its pairs as
        # written.
        return _masked_as_written(text)
    except (TypeError, RecursionError):
        return text
    if not isinstance(document, (dict, list)):
        return text
    changed, keys = _walk(document)
    # A member named twice keeps its last value only in ``document``, as the app reads
    # it: an earlier one, never walked, may be a credential ({"Authorization": "Bearer
    # ...", "Authorization": 1}), so such a text is written back from the document, as
    # the redaction walk writes it (review140: sent as written, in clear).
    if not changed and not (more_members_than(text, keys) and repeats_a_name(text)):
        return text
    # Numbers as written; a lone surrogate from a "\ud800" escape escaped again.
    return dumps_as_sent(document, text)


def masked_credential_fields(params: list[dict[str, Any]]) -> None:
    """Mask, in place, the value of each form or multipart field that a field naming a
    credential header pairs with (``headers[0][name]=Authorization&headers[0][value]=
    Bearer ...``: the pairs the denylist reads, :func:`paired_values`), as the header
    itself is; files aside. A form none of whose values holds a credential word is
    passed by."""
    # Subscripts, not .get(): no call per field (a 64 KiB form has thousands).
    fields = [(param["name"], param["value"]) for param in params
              if "fileName" not in param and "name" in param and "value" in param
              and param["name"].__class__ is str and param["value"].__class__ is str]
    if not fields or not needles_in("\n".join([value for _, value in fields]), _NEEDLES,
                                    _PROBES):
        return
    hidden = paired_values(fields, _names_credential)
    if not hidden:
        return
    for param in params:
        if (param.get("name"), param.get("value")) in hidden and "fileName" not in param:
            param["value"] = _masked(param["value"])


def masked_credential_form(text: str) -> str:
    """``text``, a form-encoded body recorded as text (an answer: a request's form is
    recorded as fields, :func:`masked_credential_fields`), with the value of each field
    a field naming a credential header pairs with masked (percent-encoded as a form's
    value is), the rest as written; ``text`` itself when none is (a form naming no
    credential header is passed by unread)."""
    if not needles_in(unquote_plus(text) if "%" in text else text, _NEEDLES, _PROBES):
        return text
    pieces = text.split("&")
    fields = []
    for piece in pieces:
        name, _, value = piece.partition("=")
        fields.append((unquote_plus(name), unquote_plus(value)))
    hidden = paired_values(fields, _names_credential)
    if not hidden:
        return text
    return "&".join([
        piece.partition("=")[0] + "=" + quote_plus(_masked(field[1]), safe="")
        if field in hidden else piece for piece, field in zip(pieces, fields)])
