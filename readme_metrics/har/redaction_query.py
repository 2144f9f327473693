"""A raw (percent-encoded) query, form or URL by the lists (SPEC section 6): the value of
each pair a list names redacted as the query writes it (``%5BREDACTED%205%5D``), a name
or value holding a JSON document redacted key by key, a value holding a URL or form that
names a denied key looked into (up to :data:`MAX_INNER_DEPTH` levels, hidden whole
below), and the value fields of a name/value pair naming a denied key. Pure functions of
the text and a :class:`~readme_metrics.har.redaction.Redactor`, whose verdicts
(``redacts``, ``denies``, ``names_key_decoded``) and JSON reading (``json_text``,
``json_field``) they ask; moved from :mod:`readme_metrics.har.redaction`, as is.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, Callable, Optional
from urllib.parse import quote

from readme_metrics.har.base64_archives import archive_in
from readme_metrics.har.base64_runs import archive_held
from readme_metrics.har.pair_documents import (
    hidden_name,
    hidden_name_in,
    in_charset,
    json_name,
    json_value,
    loose_value,
    quoted_name,
    quoted_piece,
)
from readme_metrics.har.pairs import query_values, url_pairs
from readme_metrics.har.percent import decode_component, decode_in
from readme_metrics.har.redaction_cut import cut_members, names_member
from readme_metrics.har.redaction_forms import (
    CACHED_NAME,
    ENCODED_EQUALS,
    ENCODED_TWICE,
    JSON_VALUE,
    JSON_VALUE_FIRST,
    NESTED_VALUE,
    decode_name,
    holds_bracket,
    holds_break,
    holds_quote,
)
from readme_metrics.har.redaction_json import INNER_START
from readme_metrics.har.redaction_marks import escaped_redacted, redacted
from readme_metrics.har.redaction_pairs import by_name, names_a_value_field, paired_values
from readme_metrics.har.text_userinfo import userinfo_hidden_in

if TYPE_CHECKING:
    from readme_metrics.har.redaction import Redactor

# (a pair's JSON moved to pair_documents: importable from here as before)
__all__ = ["MAX_INNER_DEPTH", "hidden_name", "hidden_name_in", "in_charset", "json_name",
           "json_value", "link_in", "linked", "loose_value", "paired_in", "query_string",
           "quoted_name", "quoted_piece"]

#: How many JSON documents inside JSON strings (inside JSON strings ...) are looked into
#: key by key; a deeper one that could hold a denied key is hidden whole (see
#: Redactor.json_text). Also how many URLs or forms in values are.
MAX_INNER_DEPTH = 2



def paired_in(redactor: Redactor, raw: str, codec: Optional[str] = None
               ) -> dict[str, frozenset[str]]:
    """:meth:`Redactor.paired_fields` of a raw query or form (its pairs as
    :func:`~readme_metrics.har.pairs.query_values` reads them, after a ``#`` or ``;``
    too), decoded in ``codec`` (None: UTF-8), as each decoded name's decoded values
    (:func:`~readme_metrics.har.redaction_pairs.by_name`); looked for only in one
    holding a value field and naming a denied key. Only a naming or value field's
    value is decoded (secrets15: every value was, twice in a form of pairs)."""
    if not redactor.has_deny or not names_a_value_field(raw) or (
            not redactor.names_key_decoded(raw)):
        return {}
    fields: list[tuple[str, str]] = []
    if codec is None:
        query_values(raw, lambda name, value: fields.append(
            (decode_name(name), value)), heads=True)
        paired = paired_values(fields, redactor.denies, decode_component)
    else:
        query_values(raw, lambda name, value: fields.append(
            (decode_in(name, codec), value)), heads=True)
        paired = paired_values(fields, redactor.denies, partial(decode_in, codec=codec))
    return by_name(paired) if paired else {}

def query_string(redactor: Redactor, raw_query: str, codec: Optional[str] = None) -> str:
    """Redact parameter values inside a raw (percent-encoded) query string or form.

    Only the value of a redacted parameter changes (to the percent-encoded
    ``[REDACTED n]``, n the length of the decoded value); everything else stays byte
    for byte, so the URL remains valid and its pairs read as ``queryString``. The
    ``k=v`` pairs after a ``#`` inside a pair (``a=1#token=x``, a fragment a client
    sent) are redacted too (see :func:`~readme_metrics.har.pairs.query_values`).

    ``codec``: a form's declared charset (:func:`~readme_metrics.har.text.form_codec`),
    in which its names and values are read; a name the denylist names read as UTF-8
    (what most frameworks read, whatever the charset) is redacted too.
    """
    if not redactor.active or not raw_query:
        return raw_query
    # A value holding a piece of a document (loose_value) holds a quote.
    quoted = holds_quote(raw_query)
    if quoted:
        # A denied member of a document in it whose value its separators cut: hidden
        # whole with the pieces it spans, before they are read one by one (forms23).
        raw_query = cut_members(redactor, raw_query, decode_component if codec is None
                                else partial(decode_in, codec=codec))
    # A name that is a JSON document holds a bracket, as sent or percent-encoded:
    # without one, no name is asked about (a call per pair, 2.7% of a 100 KB form).
    # (A name holding a quote is asked about when the form holds a member's name, a
    # quote then ":": prose's apostrophes ask nothing; hostile24.)
    named = holds_bracket(raw_query) or quoted and names_member(raw_query)
    # A value holding a URL, form or document naming a denied key (nested_value) is
    # looked for only in a query that names one somewhere, decoded as a whole once:
    # asked of each value, a form of 3,000 values holding "%3D" cost 4 times as much.
    # (NESTED_VALUE's brackets are named's: the rest of it is an encoded "=",
    # looked for without the pattern, which took 16 ms a MiB, or an escape encoded
    # twice ("%253D", "%257B"): not any "%25", a "100%" in a form field, which made
    # a 100 KB form decode itself whole twice, 44% more work (review63).)
    nested = redactor.has_deny and (
        named or "%3D" in raw_query or "%3d" in raw_query or "?" in raw_query
        or "%25" in raw_query and ENCODED_TWICE.search(raw_query) is not None
        # (A .env's lines with their "=" as sent, cfg=USER=x%0APASSWORD=...: hostile45.)
        or holds_break(raw_query)
    ) and redactor.names_key_decoded(raw_query)
    # (The value up to a raw "#" or ";" is asked about too: a URL in it,
    # next=https%3A...%3Ftoken%3Dx;v=1, see nested_value.)
    # The value fields of a name/value pair naming a denied key (paired_fields).
    paired = paired_in(redactor, raw_query, codec)
    # A value's loose piece is hidden for a key the denylist names only: in a UTF-8
    # query naming none (nested, which a quote makes asked), no value is decoded to look
    # (a 100 KB form of values holding "%27", prose, took 3 times as long; hostile24).
    # (A form in another charset may spell a name only its codec reads.)
    quoted = quoted and (nested or codec is not None)
    # A value holding an archive's base64 (a magic in it, or percent-encoded: %55EsDB...,
    # a value encoded whole; hostile35, hostile37: archive_in asks both) is read as a
    # JSON string's is.
    archives = redactor.has_deny and archive_in(raw_query)
    if codec is None:
        hidden = query_values(raw_query, partial(hidden_value, redactor, nested=nested,
                                                 paired=paired, quoted=quoted,
                                                 archives=archives),
                              partial(hidden_name, redactor) if named else None,
                              heads=nested)
    else:
        hidden = query_values(raw_query, partial(hidden_in, redactor, codec, nested=nested,
                                                 paired=paired, quoted=quoted,
                                                 archives=archives),
                              partial(hidden_name_in, redactor, codec) if named else None,
                              heads=nested)
    # (A URL's password in a value, next=https://ada:...@host/: hostile51.)
    return userinfo_hidden_in(hidden) if redactor.has_deny else hidden

def hidden_value(redactor: Redactor, name: str, value: str, nested: bool = True,
                  paired: Optional[dict[str, frozenset[str]]] = None,
                  quoted: bool = True, archives: bool = False) -> str | None:
    """The raw redacted value of the pair ``name=value``, or None to keep it.
    ``nested``: a value may hold a URL or form naming a denied key (see query_string);
    ``paired``: the fields holding a denied name/value pair's value (paired_in);
    ``quoted``: a value may hold a quote (loose_value); ``archives``: a value may hold
    an archive's base64 (:func:`archived`)."""
    if (redactor.redacts_raw(name) if len(name) <= CACHED_NAME else redactor.redacts(
            decode_component(name))) or paired and (
                values := paired.get(decode_name(name))) is not None and (
                decode_component(value) in values) or archives and archived(
                    redactor, value, decode_component):
        return escaped_redacted(decode_component(value))
    if value[:1] not in JSON_VALUE_FIRST or JSON_VALUE.match(value) is None:
        # As almost every value: no JSON (but a URL or form holding one, or naming a
        # denied key: nested_value; one starting with an escape too, a relative URL
        # "%2Fcb%3Fpassword%3D..." or a form encoded twice).
        return (nested_value(redactor, name, value, 0) if nested else None) or (
            loose_value(redactor, value, decode_component) if quoted else None)
    return json_value(redactor, decode_name(name), value, decode_component, None)

def hidden_in(redactor: Redactor, codec: str, name: str, value: str, nested: bool = True,
               paired: Optional[dict[str, frozenset[str]]] = None,
               quoted: bool = True, archives: bool = False) -> str | None:
    """:func:`hidden_value` for a form in ``codec``."""
    decoded = decode_in(name, codec)
    if redactor.redacts(decoded) or redactor.denies(decode_name(name)) or (
            paired and decoded in paired and decode_in(value, codec) in paired[decoded]) or (
            archives and archived(redactor, value, partial(decode_in, codec=codec))):
        return escaped_redacted(decode_in(value, codec))
    if value[:1] not in JSON_VALUE_FIRST or JSON_VALUE.match(value) is None:
        # (a URL or form: hidden_value)
        return (nested_value(redactor, name, value, 0) if nested else None) or (
            loose_value(redactor, value, partial(decode_in, codec=codec)) if quoted
            else None)
    return json_value(redactor, decoded, value, partial(decode_in, codec=codec), codec)


def archived(redactor: Redactor, value: str, decode: Callable[[str], str]) -> bool:
    """Whether the raw value ``value`` holds an archive's base64 that
    :func:`~.base64_runs.archive_held` reads, as ``decode`` reads it or, a ``+`` in it, as
    written (standard base64 sent unencoded: a blank to the app, a ``+`` to a reader of
    the log). A magic percent-encoded (``%55EsDB...``, the value encoded whole: the
    app reads ``UEsDB...``; hostile37) is found in the decoded value."""
    if not archive_in(value):  # (its magics percent-encoded too)
        return False
    decoded = decode(value)
    return archive_held(redactor, decoded) or "+" in value and archive_held(
        redactor, decode(value.replace("+", "%2B")))


def link_in(redactor: Redactor, node: Any, at: Any, text: str, depth: int = 0) -> bool:
    """Redact, by the denylist, the query (and a fragment's ``k=v`` pairs) of a URL that
    ``node[at]`` holds (a pagination link, a presigned upload URL), as a URL header's;
    True when it changed. The allowlist does not apply: the string is the value of a
    key it lists, kept whole (or it was redacted whole). A name may be percent-encoded
    (``?pass%77ord=``), as in a request's url: then the decoded text is looked in. A
    string with no ``?`` or ``#`` is read as a form (an API Gateway event's ``"body":
    "user=a&password=..."``): its pairs, as a form body's are."""
    if "?" not in text and "#" not in text and "&" not in text and ";" not in text and (
            "=" not in text.rstrip("=")) and ENCODED_EQUALS.search(text) is None:
        # One name, its value empty or "=": base64's padding (review49); but a URL or
        # form percent-encoded (what an app decodes: "a%3D1%26password%3D...") is read.
        return False
    hidden = linked(redactor, text, depth)
    if hidden == text:
        return False
    node[at] = hidden
    return True

def linked(redactor: Redactor, text: str, depth: int = 0, loose: bool = False) -> str:
    """``text`` with the values the denylist names redacted when it is a URL with a
    query (or a fragment's ``k=v`` pairs) or a form (see :func:`link_in`); else as it
    is. A value that is not named but holds a JSON document, or a URL or form again
    (``?data=%7B%22password%22...``, ``?next=https%3A...%3Fpassword%3D...``: what an
    app reads with ``json.loads(args["data"])``) is looked into too, up to
    :data:`MAX_INNER_DEPTH` levels (hidden whole below, if it could hold a key).
    ``loose``: ``text`` is a text/plain line, read as a form's pairs (a name or value
    that is no JSON holding a denied member's piece hidden whole, as a form's is: see
    :func:`denied_pairs`)."""
    if not redactor.names_key_decoded(text):
        return text
    if loose and holds_quote(text):
        # (Text before a document, x{"password": ...}: a form of one name; hostile23.)
        return denied_pairs(redactor, text, depth, loose)
    if "=" not in text and "?" not in text and "#" not in text:
        # A URL or form percent-encoded ("%2Fcb%3Fpassword%3D...", a form value
        # encoded twice as the app reads it): read decoded, one level deeper.
        if ENCODED_EQUALS.search(text) is None:
            return text
        if depth >= MAX_INNER_DEPTH:
            return redacted(text)
        decoded = decode_component(text)
        # (Its lines, a .env's, each read as a line of text/plain: hostile45.)
        hidden = redactor.field_pairs(decoded, depth + 1)
        return text if hidden == decoded else quote(hidden, safe="")
    pairs = partial(denied_pairs, redactor, depth=depth)
    if ("?" in text or "#" in text) and "=" not in (
            text.partition("?")[0].partition("#")[0]):
        # (A "=" before the first "?" or "#": a form, whose value holds one, as a
        # client writing "user=a&password=" + password sends it: read as a form,
        # which reads a URL in a value too.)
        hidden = url_pairs(text, pairs)
        if hidden == text and ";" in text:
            # A form whose ";" pair's value holds the "?" (``x=1;password=??s``).
            hidden = pairs(text)
        return hidden
    return pairs(text)

def denied_pairs(redactor: Redactor, query: str, depth: int = 0, loose: bool = False) -> str:
    """A raw query with the values of the pairs the denylist names redacted (and
    those of a name/value pair naming a denied key: paired_fields), and a denied
    member of a document in it that its separators cut hidden whole (cut_members: a
    value's form decoded, ``x{"password":"S%26password%3Dx"}``, kept S). ``loose``: a
    name or value that is no JSON from its start and holds a denied member's piece
    (``x{"password": ...}``, ``note "password": ...``) is hidden whole too, as a
    form's is (hidden_value, json_name; hostile22): a text/plain line (hostile23)."""
    quoted = holds_quote(query)
    if quoted:
        query = cut_members(redactor, query, decode_component)
    loose = loose and quoted
    return query_values(query, partial(denied_value, redactor, depth,
                                       paired_in(redactor, query), loose),
                        partial(hidden_name, redactor, denied_only=True) if loose else None,
                        heads=True)

def denied_value(redactor: Redactor, depth: int, paired: dict[str, frozenset[str]],
                  loose: bool, name: str, value: str) -> str | None:
    decoded = decode_name(name)
    if redactor.denies(decoded) or paired and decoded in paired and (
            decode_component(value) in paired[decoded]):
        return escaped_redacted(decode_component(value))
    if not loose:
        return nested_value(redactor, name, value, depth)
    # A value starting as JSON may be a piece of one all the same (x{"a": "=", "password":
    # "..."}: the value '", "password": "..."}'), read as a form's value is (json_value;
    # kept in clear before hostile24).
    return nested_value(redactor, name, value, depth) or (
        loose_value(redactor, value, decode_component) if JSON_VALUE.match(value) is None
        else json_value(redactor, decoded, value, decode_component, None))


def nested_value(redactor: Redactor, name: str, value: str, depth: int) -> str | None:
    """The raw value of a pair no list names, redacted where it holds a JSON
    document, a URL or a form that names a denied key (see :func:`linked`); None to
    keep it. Only a value holding an encoded ``=`` (a URL's or form's pairs, as a
    client encodes them in a value) or a bracket is decoded: a form of 3,000
    percent-encoded values costs 5 ms, not 25. A raw ``=`` in a value (``a=p=``) is
    the value's text, but after a raw ``?``: a URL sent unencoded
    (``next=https://x/cb?token=...``), its pairs read raw as the URL's. A pair
    holding a raw ``#`` or ``;`` (in its name too: ``a#token=...``), or a ``%23`` in
    its name or beside a raw ``?``, is left to query_values, which reads the pairs
    after one as a fragment's, and the value up to it; a ``%23`` or ``%3B`` in a
    value otherwise is the nested text's (``next=https%3A...%3Ftoken%3Dx%23top``: its
    URL's fragment, or a form's separator, as :func:`linked` reads a JSON
    string's)."""
    if "#" in value or ";" in value or "#" in name or ";" in name or "%23" in name:
        return None
    if NESTED_VALUE.search(value) is None:
        if "=" in value and holds_break(value):
            # Lines, their "=" as sent (cfg=USER=x%0APASSWORD=...): a .env's (hostile45).
            text = decode_component(value)
            hidden = redactor.field_pairs(text, depth + 1) if (
                depth < MAX_INNER_DEPTH) else redacted(text)
            return None if hidden == text else quote(hidden, safe="")
        if "=" not in value.partition("?")[2] or "%23" in value:
            return None
        if depth >= MAX_INNER_DEPTH:
            return escaped_redacted(decode_component(value)) if (
                redactor.names_key_decoded(value)) else None
        hidden = linked(redactor, value, depth + 1)
        return None if hidden == value else hidden
    text = decode_component(value)
    if not redactor.names_key_decoded(text):
        return None
    if depth >= MAX_INNER_DEPTH:
        return escaped_redacted(text)
    if INNER_START.match(text) is not None:
        document = redactor.json_text(text, listed=True, depth=depth + 1)
        if document is None:
            return escaped_redacted(text) if redactor.mentions_key(text, True) \
                else None
        return None if document == text else quote(document, safe="")
    if "=" not in text:
        if decode_component(text) == text:
            # Decoded, and no escape left: text before a document (``x {"password"...``,
            # its bracket raw), no value encoded again. Hidden whole, as the value it is:
            # read as one encoded again, its marker was percent-encoded once a level
            # more (``%255BREDACTED``; forms22).
            return escaped_redacted(text)
        # A URL, form or document percent-encoded twice (``next=a%253D1%2526password
        # %253D...``: the app reads "a%3D1%26password%3D..." and decodes it again):
        # read as the value it decodes to, one level deeper.
        inner = nested_value(redactor, name, text, depth + 1) if (
            NESTED_VALUE.search(text) is not None) else None
        return None if inner is None else quote(inner, safe="")
    # (A .env's lines, percent-encoded in the value: each read as text/plain's is, as
    # in a JSON string; the first line's pair held the rest, the later ones were sent
    # in clear: hostile45.)
    hidden = redactor.field_pairs(text, depth + 1)
    return None if hidden == text else quote(hidden, safe="")

