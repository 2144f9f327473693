"""Redaction: keep what the user listed out of the logs (SPEC section 6).

``denylist`` and ``allowlist`` entries match keys case-insensitively (case-folded: ``straße``
is ``STRASSE``) wherever a key
exists in a log: header names, query parameters (``queryString`` and the query part of
the ``url`` and of the URL headers, Location and the like, with the ``k=v`` pairs of
their fragments), cookie names, form and multipart fields, and JSON bodies at any depth.

* A bare entry (``password``) matches that key anywhere; a dotted entry
  (``user.password``) matches that path from the JSON document root only, the path
  running over object keys with arrays transparent (``users.password`` is the password
  of every object in the ``users`` array). For flat names (headers, query, cookies,
  form fields) an entry matches the whole name, dots included; so does a denylist entry
  a JSON member's whole name at any depth (``{"hits": [{"user.email": ...}]}``, a
  flattened document), as a bare entry would.
* A redacted value becomes ``"[REDACTED n]"`` for a string of length n, ``"[REDACTED]"``
  otherwise (numbers, booleans, null, objects, arrays, bytes).
* The denylist wins over the allowlist. With an allowlist, every key not listed is
  redacted; an allowed key keeps its whole value; a key that is not allowed but holds an
  object or array is descended into, so allowed keys deeper down survive. A value no key
  holds (a bare JSON value, an element of a top-level array) is not listed either.

Everything is precomputed when the :class:`Redactor` is built (lower-cased frozensets),
so each log costs a few set lookups; with both lists empty ``active`` is False and
callers skip redaction altogether (no JSON parsing, bodies left byte-exact). Nothing here
raises on any input: these functions run on the delivery worker for every log.
"""

from __future__ import annotations

import json
from functools import lru_cache, partial
from typing import Any, Callable, Iterable, Optional, Sequence
from urllib.parse import quote

from readme_metrics.har.deep_json import loads, repeats_a_name, too_deep
from readme_metrics.har.pairs import query_values, target_pairs, url_pairs
from readme_metrics.har.percent import decode_component, decode_in
from readme_metrics.har.redaction_forms import (
    CACHED_NAME,
    ENCODED_EQUALS,
    ENCODED_TWICE,
    JSON_VALUE,
    JSON_VALUE_FIRST,
    NESTED_VALUE,
    decode_cached,
    decode_name,
    holds_bracket,
    in_charset,
    names_a_value_field,
)
from readme_metrics.har.redaction_json import (
    ESCAPED_IN_JSON,
    INNER_START,
    JSON_FIRST,
    NAMING_MEMBERS,
    VALUE_MEMBERS,
    finite_float,
    more_members_than,
    reject_constant,
)
from readme_metrics.har.redaction_marks import escaped_redacted, redacted
from readme_metrics.har.redaction_members import echoed_input, operation_values
from readme_metrics.har.redaction_names import (
    bracketed_lists,
    folded_name,
    needles_in,
    normalise,
)
from readme_metrics.har.redaction_pairs import by_name, paired_values
from readme_metrics.har.text import JSON_START, rarest

__all__ = ["Redactor", "decode_component", "redacted"]

#: How many JSON documents inside JSON strings (inside JSON strings ...) are looked into
#: key by key; a deeper one that could hold a denied key is hidden whole (see _inner).
MAX_INNER_DEPTH = 2
#: How many times a text is percent-decoded to look for a denied name in it (a value
#: encoded once per level, its letters too: ``pass%2525252577ord``); past that, a text that
#: still decodes is taken to hold one (Redactor.names_key_decoded). Each decoding shrinks
#: the text, and stops once nothing changes: most text is decoded once, or not at all.
MAX_DECODINGS = 16
# Distinct bracketed names remembered per redactor (names repeat from request to request).
_BRACKETED_MAX = 1024


class Redactor:
    """Apply a denylist and/or allowlist to the keyed parts of a log.

    .. code-block:: python

        redactor = Redactor(denylist=["password", "user.token"])
        redactor.pairs([("password", "hunter2")])   # [("password", "[REDACTED 7]")]
        redactor.json_text('{"user": {"token": "abc"}}')
        # '{"user":{"token":"[REDACTED 3]"}}'
    """

    __slots__ = (
        "active", "_deny_flat", "_allow_flat", "_deny_keys", "_deny_paths",
        "_allow_keys", "_allow_paths", "_has_allow", "_has_deny", "_track_paths",
        "_needles", "_probes", "_bracketed", "_escapable", "_spaced", "_wide_needles",
        "_redacts_raw", "_named",
    )

    def __init__(self, denylist: Sequence[str] = (), allowlist: Sequence[str] = ()) -> None:
        deny = normalise(denylist)
        allow = normalise(allowlist)
        # Flat names (headers, query, cookies, form fields) match any entry as a whole.
        self._deny_flat = deny
        self._allow_flat = allow
        # JSON: bare entries match a key anywhere, dotted entries a path from the root
        # (and, denied, a member's whole name anywhere, as a flat name).
        self._deny_keys = deny
        self._deny_paths = frozenset(k for k in deny if "." in k)
        self._allow_keys = frozenset(k for k in allow if "." not in k)
        self._allow_paths = frozenset(k for k in allow if "." in k)
        self._has_deny = bool(deny)
        self._has_allow = bool(allow)
        # Building "a.b.c" path strings costs an allocation per JSON key: only if needed.
        self._track_paths = bool(self._deny_paths or self._allow_paths)
        # What a denied key looks like inside text we cannot parse (see mentions_key).
        self._needles = tuple(sorted({k.rsplit(".", 1)[-1] for k in deny}))
        # A needle JSON may spell with a short escape: any backslash may hide it.
        self._escapable = any(ESCAPED_IN_JSON.search(needle) for needle in self._needles)
        # A needle with a space a query may write as "+" (?api+key=): see names_key_encoded.
        self._spaced = any(" " in needle for needle in self._needles)
        # A needle beyond ASCII, which UTF-16/32 bytes read as latin-1 do not spell.
        self._wide_needles = not all(needle.isascii() for needle in self._needles)
        # Each needle's rarest characters in either case: an ASCII text lacking both cases
        # of one cannot hold the needle, lower-cased or not (see mentions_key). None for a
        # needle with a character beyond ASCII, always looked for.
        self._probes = tuple(
            tuple((c, c.upper()) for c in rarest(needle)) if needle.isascii() else None
            for needle in self._needles)
        #: False when there is nothing to redact: callers then skip all redaction work.
        self.active: bool = bool(deny or allow)
        self._bracketed: dict[str, tuple[bool, bool]] = {}
        # (denied, allowed) by flat name as given, before folding: a log asks about each
        # of its header, query and cookie names two to five times, and the names repeat
        # from log to log (see _verdict). Bounded as _bracketed.
        self._named: dict[str, tuple[bool, bool]] = {}
        # Whether the value of a raw (percent-encoded) query or form name is redacted,
        # asked once per distinct name: a form's names repeat (a MiB of denied pairs asked
        # 95,000 times, three Python calls each).
        self._redacts_raw: Callable[[str], bool] = lru_cache(maxsize=_BRACKETED_MAX)(
            lambda name: self.redacts(decode_cached(name)))

    def __repr__(self) -> str:
        return (
            f"Redactor(denylist={sorted(self._deny_flat)!r}, "
            f"allowlist={sorted(self._allow_flat)!r})"
        )

    # -- flat names ---------------------------------------------------------------

    def _lists(self, key: str) -> tuple[bool, bool]:
        """(denied, allowed) for a lower-case flat name.

        A bracketed name (``password[]``, ``user[password]``, ``items[0][token]``, as
        PHP, Rails and many form libraries write them) is also the path of its segments,
        indexes left out, as a JSON document's keys would be: a bare entry matches any
        segment, a dotted entry the whole path.
        """
        if "[" not in key:
            return key in self._deny_flat, key in self._allow_flat
        found = self._bracketed.get(key)
        if found is None:
            found = bracketed_lists(key, self._deny_flat, self._allow_flat, self._deny_keys,
                                    self._allow_keys)
            if len(self._bracketed) < _BRACKETED_MAX and len(key) <= CACHED_NAME:
                self._bracketed[key] = found
        return found

    def _verdict(self, name: str) -> tuple[bool, bool]:
        """(denied, allowed) for the flat key ``name`` as given, remembered for the names
        that repeat (read through ``self._named.get(name) or self._verdict(name)``: the
        tuple is never empty). A name longer than CACHED_NAME is not kept."""
        found = self._lists(folded_name(name))
        if len(self._named) < _BRACKETED_MAX and len(name) <= CACHED_NAME:
            self._named[name] = found
        return found

    def redacts(self, name: str) -> bool:
        """True when the value of the flat key ``name`` must be redacted."""
        if not self.active:
            return False
        denied, allowed = self._named.get(name) or self._verdict(name)
        return denied or (self._has_allow and not allowed)

    def denies(self, name: str) -> bool:
        """True when the flat key ``name`` is on the denylist (whatever the allowlist)."""
        return self._has_deny and (self._named.get(name) or self._verdict(name))[0]

    def allows(self, name: str) -> bool:
        """True when the flat key ``name`` is on the allowlist (and not denied)."""
        if not self._has_allow:
            return False
        denied, allowed = self._named.get(name) or self._verdict(name)
        return allowed and not denied

    def paired_fields(self, fields: Iterable[tuple[str, str]]
                      ) -> frozenset[tuple[str, str]]:
        """The fields (decoded ``(name, value)`` of a form, a query or a multipart body,
        as given) that hold the value of a name/value pair naming a key the denylist
        names, as a JSON object does
        (:func:`~readme_metrics.har.redaction_members.operation_values`): the fields of one object
        (``env[0][name]=password&env[0][value]=...``, ``params[0][key]=token&
        params[0][value]=...``, ``env[0].name``, or the form itself: ``name=password&
        value=...``), a member of :data:`NAME_MEMBERS` naming the key as a flat name is
        (in any case: ``nAme``), a member of :data:`VALUE_MEMBERS` holding its value,
        paired by index or position within the object
        (:func:`~readme_metrics.har.redaction_pairs.paired_values`). A form with a
        ``name`` field alone (a sign-up's ``name=password``) holds no value to redact."""
        if not self._has_deny:
            return frozenset()
        return paired_values(fields, self.denies)

    def _paired_in(self, raw: str, codec: Optional[str] = None
                   ) -> dict[str, frozenset[str]]:
        """:meth:`paired_fields` of a raw query or form (its pairs as
        :func:`~readme_metrics.har.pairs.query_values` reads them, after a ``#`` or ``;``
        too), decoded in ``codec`` (None: UTF-8), as each decoded name's decoded values
        (:func:`~readme_metrics.har.redaction_pairs.by_name`); looked for only in one
        holding a value field and naming a denied key. Only a naming or value field's
        value is decoded (secrets15: every value was, twice in a form of pairs)."""
        if not self._has_deny or not names_a_value_field(raw) or (
                not self.names_key_decoded(raw)):
            return {}
        fields: list[tuple[str, str]] = []
        if codec is None:
            query_values(raw, lambda name, value: fields.append(
                (decode_name(name), value)), heads=True)
            paired = paired_values(fields, self.denies, decode_component)
        else:
            query_values(raw, lambda name, value: fields.append(
                (decode_in(name, codec), value)), heads=True)
            paired = paired_values(fields, self.denies, partial(decode_in, codec=codec))
        return by_name(paired) if paired else {}

    def pairs(self, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Redact the values of (name, value) pairs: headers, query, cookies, fields.

        Returns the very same list when nothing is redacted (no copy on the hot path).
        """
        if not self.active:
            return pairs
        out: list[tuple[str, str]] | None = None
        for index, (name, value) in enumerate(pairs):
            if self.redacts(name):
                if out is None:
                    out = list(pairs)
                out[index] = (name, redacted(value))
        return pairs if out is None else out

    def query_string(self, raw_query: str, codec: Optional[str] = None) -> str:
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
        if not self.active or not raw_query:
            return raw_query
        # A name that is a JSON document holds a bracket, as sent or percent-encoded:
        # without one, no name is asked about (a call per pair, 2.7% of a 100 KB form).
        named = holds_bracket(raw_query)
        # A value holding a URL, form or document naming a denied key (_nested_value) is
        # looked for only in a query that names one somewhere, decoded as a whole once:
        # asked of each value, a form of 3,000 values holding "%3D" cost 4 times as much.
        # (NESTED_VALUE's brackets are named's: the rest of it is an encoded "=",
        # looked for without the pattern, which took 16 ms a MiB, or an escape encoded
        # twice ("%253D", "%257B"): not any "%25", a "100%" in a form field, which made
        # a 100 KB form decode itself whole twice, 44% more work (review63).)
        nested = self._has_deny and (
            named or "%3D" in raw_query or "%3d" in raw_query or "?" in raw_query
            or "%25" in raw_query and ENCODED_TWICE.search(raw_query) is not None
        ) and self.names_key_decoded(raw_query)
        # (The value up to a raw "#" or ";" is asked about too: a URL in it,
        # next=https%3A...%3Ftoken%3Dx;v=1, see _nested_value.)
        # The value fields of a name/value pair naming a denied key (paired_fields).
        paired = self._paired_in(raw_query, codec)
        if codec is None:
            return query_values(raw_query, partial(self._hidden_value, nested=nested,
                                                   paired=paired),
                                self._hidden_name if named else None, heads=nested)
        return query_values(raw_query, partial(self._hidden_in, codec, nested=nested,
                                               paired=paired),
                            partial(self._hidden_name_in, codec) if named else None,
                            heads=nested)

    def _hidden_value(self, name: str, value: str, nested: bool = True,
                      paired: Optional[dict[str, frozenset[str]]] = None) -> str | None:
        """The raw redacted value of the pair ``name=value``, or None to keep it.
        ``nested``: a value may hold a URL or form naming a denied key (see query_string);
        ``paired``: the fields holding a denied name/value pair's value (_paired_in)."""
        if (self._redacts_raw(name) if len(name) <= CACHED_NAME else self.redacts(
                decode_component(name))) or paired and (
                    values := paired.get(decode_name(name))) is not None and (
                    decode_component(value) in values):
            return escaped_redacted(decode_component(value))
        if value[:1] not in JSON_VALUE_FIRST or JSON_VALUE.match(value) is None:
            # As almost every value: no JSON (but a URL or form holding one, or naming a
            # denied key: _nested_value; one starting with an escape too, a relative URL
            # "%2Fcb%3Fpassword%3D..." or a form encoded twice).
            return self._nested_value(name, value, 0) if nested else None
        return self._json_value(decode_name(name), value, decode_component, None)

    def _hidden_in(self, codec: str, name: str, value: str, nested: bool = True,
                   paired: Optional[dict[str, frozenset[str]]] = None) -> str | None:
        """:meth:`_hidden_value` for a form in ``codec``."""
        decoded = decode_in(name, codec)
        if self.redacts(decoded) or self.denies(decode_name(name)) or (
                paired and decoded in paired and decode_in(value, codec) in paired[decoded]):
            return escaped_redacted(decode_in(value, codec))
        if value[:1] not in JSON_VALUE_FIRST or JSON_VALUE.match(value) is None:
            # (a URL or form: _hidden_value)
            return self._nested_value(name, value, 0) if nested else None
        return self._json_value(decoded, value, partial(decode_in, codec=codec), codec)

    def _hidden_name(self, name: str) -> str | None:
        """The raw name of a pair when it is a JSON document holding a key to redact
        (``curl --data-urlencode '{"password": ...}'`` sends one percent-encoded with no
        "=", a form of one field named by the document), redacted key by key; None to
        keep it, as every name that is no JSON is kept."""
        if name[:1] not in JSON_VALUE_FIRST:  # as almost every name: no JSON
            return None
        return self._json_name(name, decode_component, None)

    def _hidden_name_in(self, codec: str, name: str) -> str | None:
        """:meth:`_hidden_name` for a form in ``codec``."""
        if name[:1] not in JSON_VALUE_FIRST:
            return None
        return self._json_name(name, partial(decode_in, codec=codec), codec)

    def _json_name(self, name: str, decode: Callable[[str], str],
                   codec: Optional[str]) -> str | None:
        if JSON_VALUE.match(name) is None:
            return None
        text = decode(name)
        if JSON_START.match(text) is None:
            return None
        document = self.json_text(text)
        if document is None:
            # Cut short (a body truncated to max_body_bytes) or broken: hidden whole only
            # if it could hold a member (a quoted name) that a denied key names, or any
            # under an allowlist (whose whole document's unlisted values are redacted); a
            # name such as "{password}" is none.
            if '"' not in text or not self.mentions_key(text):
                return None
            document = redacted(text)
        elif document == text:
            return None
        return quote(document if codec is None else in_charset(document, codec), safe="")

    def _json_value(self, name: str, value: str, decode: Callable[[str], str],
                    codec: Optional[str]) -> str | None:
        """The raw value of a pair that is not redacted itself, when it holds JSON (a
        query's ``filter={"token": ...}``, a form field's): redacted key by key as
        :meth:`json_field` says, percent-encoded in the form's charset ``codec`` (None:
        UTF-8), as its other escapes are read; None to keep it."""
        if JSON_VALUE.match(value) is None:
            return None
        text = decode(value)
        document, whole = self.json_field(text, name)
        if whole:
            return escaped_redacted(text)
        if document is None or document == text:
            return None
        return quote(document if codec is None else in_charset(document, codec), safe="")

    def target(self, url: str) -> str:
        """A request's url (a ``#`` in it is data: see
        :func:`~readme_metrics.har.pairs.target_pairs`) with its query redacted by
        :meth:`query_string`, and the ``k=v`` pairs after a ``#`` in its path."""
        if not self.active:
            return url
        return target_pairs(url, self.query_string)

    def url(self, url: str) -> str:
        """``url`` with its query string, and a fragment of ``k=v`` pairs, redacted by
        :meth:`query_string` (see :func:`~readme_metrics.har.pairs.url_pairs`)."""
        if not self.active or ("?" not in url and "#" not in url and "%23" not in url):
            return url
        return url_pairs(url, self.query_string)

    # -- JSON -----------------------------------------------------------------------

    def json_text(self, text: str, listed: bool = False, depth: int = 0) -> str | None:
        """Redact a JSON document; None when ``text`` is not JSON.

        When nothing needs redacting the original text is returned unchanged (byte
        exact); otherwise the document is re-serialised compactly with non-ASCII kept
        (so is one naming a member twice that could hide a listed key under an earlier
        value: only the last is kept).
        ``listed``: the document is the value of a key the allowlist lists (a JSON form
        field), so only the denylist applies inside it. ``depth``: how many JSON strings
        hold this document (see :meth:`_inner`).
        """
        try:
            # Deeper than deep_json.MAX_DEPTH: not JSON (redacted whole where it could
            # hold a listed key), as the parser's recursion could crash a small stack.
            document = loads(text, parse_constant=reject_constant,
                             parse_float=finite_float)
        except (ValueError, TypeError):
            return None
        if not self.active:
            return text
        allow_mode = self._has_allow and not listed
        if not isinstance(document, (dict, list)):
            # A bare value has no key: with an allowlist, it is not listed.
            if allow_mode:
                return json.dumps(redacted(document))
            if self._has_deny and document.__class__ is str:
                # JSON encoded twice (JSON.stringify of a string): a document in a string,
                # read by the denylist as a member's string value is (_inner); so is a
                # URL or a form (_link: an endpoint answering a presigned URL alone).
                holder = [document]
                if self._inner(holder, 0, document, depth) if document[:1] in JSON_FIRST \
                        else ("=" in document or "%" in document) and self._link(
                            holder, 0, document):
                    # Characters beyond ASCII as sent, as a redacted document's are (but
                    # a lone surrogate, which UTF-8 cannot carry: see below).
                    out = json.dumps(holder[0], ensure_ascii=False)
                    try:
                        out.encode("utf-8")
                    except UnicodeEncodeError:
                        out = json.dumps(holder[0])
                    return out
            return text
        try:
            changed, keys = self._walk(document, allow_mode, "\\" in text and (
                '\\"' in text or "\\u" in text), depth)
            # A member named twice keeps its last value only in ``document``, as
            # json.loads (Flask, Django, Starlette) reads it: an earlier value, never
            # walked, may hold a listed key, so such a text is written back from the
            # document when it could ({"a": {"password": "x"}, "a": 1} is {"a":1}).
            # The text names no member twice when it has no more members than the
            # document has keys (:func:`more_members_than`): known without reading it
            # again, most often.
            if not changed and not ((allow_mode or self.mentions_key(text, True))
                                    and more_members_than(text, keys)
                                    and repeats_a_name(text)):
                return text
            out = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
            if "\\" in text and "\\u" in text:  # the backslash first, see mentions_key
                # "\ud800" escapes decode to lone surrogates, which cannot be sent as
                # UTF-8: escape them again in that (rare) case.
                try:
                    out.encode("utf-8")
                except UnicodeEncodeError:
                    out = json.dumps(document, separators=(",", ":"))
            return out
        except Exception:  # noqa: BLE001 - never leak: hide the whole document instead
            return json.dumps(redacted(text))

    def json_field(self, text: str, name: str) -> tuple[str | None, bool]:
        """(a field's value redacted key by key when it is JSON, else None; redact it
        whole?): the value of a form or multipart field ``name`` that is not redacted
        itself. Broken JSON that could hold a listed key cannot be let through."""
        first = text.lstrip()[:1]
        if first == '"' and self._has_deny:
            # A JSON string (a part typed application/json holding a payload encoded
            # twice): a document in it is read by the denylist, as in a body
            # (json_text); any other text starting with a quote is kept as it is, but
            # for one that could be such a string cut short (an escaped quote or a \u
            # escape, and a denied name): hidden whole, as a broken document is.
            document = self.json_text(text, listed=self.allows(name))
            return document, document is None and "\\" in text and (
                '\\"' in text or "\\u" in text) and self.mentions_key(text, True)
        if first not in ("{", "["):
            if self._has_deny and ("=" in text or "%" in text):
                # A URL or form (a multipart field's "next" link), read as _link reads one
                # in a JSON string.
                hidden = self.linked(text)
                return (hidden if hidden != text else None), False
            return None, False
        document = self.json_text(text, listed=self.allows(name))
        return document, document is None and self.mentions_key(text)

    def _walk(self, root: dict[str, Any] | list[Any], allow_root: bool,
              quoted: bool = False, depth: int = 0) -> tuple[bool, int]:
        """Redact ``root`` in place: (True when anything changed, the number of keys of
        the objects walked, or -1 when some were not walked: the value of an allowed key
        with no denylist).

        ``quoted``: the text holds an escaped quote (or a ``\\u`` escape, which may spell
        one), so a string value in it may be a JSON document with keys (see
        :meth:`_inner`); without one, none is.

        Iterative (an explicit stack) so that documents nested as deep as the JSON parser
        accepts cannot exhaust the Python stack.
        """
        deny_keys, deny_paths = self._deny_keys, self._deny_paths
        allow_keys, allow_paths = self._allow_keys, self._allow_paths
        has_deny, track = self._has_deny, self._track_paths
        inner = has_deny and quoted
        links = has_deny  # a string may be a URL whose query names a denied key (_link)
        naming, values = NAMING_MEMBERS, VALUE_MEMBERS
        changed = False
        keys = 0
        # Every object is walked but an allowed key's value with no denylist, and, with
        # neither list applying from the root (a listed form field, no denylist), any
        # object below the root.
        whole = has_deny or allow_root
        # (node, path of the key holding it, allowlist applies)
        stack: list[tuple[Any, str, bool]] = [(root, "", allow_root)]
        while stack:
            node, path, allow_mode = stack.pop()
            if isinstance(node, dict):
                keys += len(node)
                # The members a rule below redacted already: a member's own rule (denied,
                # or not listed) leaves them so, "[REDACTED n]" of the value, not of that.
                done: tuple[str, ...] = ()
                # (Lower-cased once for the rules below and the loop: name/value members
                # in any case, {"nAme": ..., "vAlue": ...}, as any key is matched.)
                folded = list(map(str.lower, node))
                if (has_deny or allow_mode) and not values.isdisjoint(folded):
                    if not naming.isdisjoint(folded):
                        done = operation_values(
                            node, folded, allow_mode, has_deny=has_deny, denies=self.denies,
                            deny_keys=deny_keys, deny_paths=deny_paths,
                            allow_keys=allow_keys, allow_paths=allow_paths)
                elif has_deny and "input" in node and "loc" in node:
                    done = echoed_input(node, deny_keys, deny_paths)
                if done:
                    changed = True
                for (key, value), lower in zip(node.items(), folded):
                    if not lower.isascii():  # folded_name, inlined
                        lower = key.casefold().lstrip("\ufeff")
                    here = (f"{path}.{lower}" if path else lower) if track else ""
                    nested = isinstance(value, (dict, list))
                    if lower in deny_keys or (track and here in deny_paths):
                        if key not in done:
                            node[key] = redacted(value)
                        changed = True
                    elif allow_mode:
                        if lower in allow_keys or (track and here in allow_paths):
                            # Kept whole, but the denylist still wins deeper down.
                            if nested and has_deny:
                                stack.append((value, here, False))
                            elif inner and value.__class__ is str and value[:1] in JSON_FIRST:
                                changed = self._inner(node, key, value, depth) or changed
                            elif links and value.__class__ is str and (
                                    "=" in value or "%" in value):
                                changed = self._link(node, key, value, depth) or changed
                            elif nested:
                                whole = False  # kept whole, not walked
                        elif nested:
                            stack.append((value, here, True))
                        elif key not in done:
                            node[key] = redacted(value)
                            changed = True
                    elif nested and has_deny:
                        stack.append((value, here, False))
                    elif inner and value.__class__ is str and value[:1] in JSON_FIRST:
                        changed = self._inner(node, key, value, depth) or changed
                    elif links and value.__class__ is str and (
                            "=" in value or "%" in value):
                        changed = self._link(node, key, value, depth) or changed
            else:
                for index, value in enumerate(node):
                    if isinstance(value, (dict, list)):
                        if has_deny and value.__class__ is list and len(value) >= 2 and (
                                value[0].__class__ is str and self.denies(value[0])):
                            # A pair in an array of pairs ([["password", ...]]: JavaScript's
                            # Object.entries, URLSearchParams' init, Python's dict items),
                            # its name read as a flat name is, as a name/value object's;
                            # a row with more after the value too (["password", "s",
                            # "meta"]: a tuple of name, value and its attributes).
                            value[1] = redacted(value[1])
                            changed = True
                            if allow_mode:  # its name too, not listed (its value once)
                                value[0] = redacted(value[0])
                                for at in range(2, len(value)):  # the rest, as walked
                                    if isinstance(value[at], (dict, list)):
                                        stack.append((value[at], path, True))
                                    else:
                                        value[at] = redacted(value[at])
                                continue
                        stack.append((value, path, allow_mode))
                    elif allow_mode:
                        # An array element belongs to the key holding the array; one of a
                        # root array has no key, so no key lists it (as a bare value).
                        node[index] = redacted(value)
                        changed = True
                    elif inner and value.__class__ is str and value[:1] in JSON_FIRST:
                        changed = self._inner(node, index, value, depth) or changed
                    elif links and value.__class__ is str and (
                            "=" in value or "%" in value):
                        changed = self._link(node, index, value, depth) or changed
        return changed, keys if whole else -1

    def _link(self, node: Any, at: Any, text: str, depth: int = 0) -> bool:
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
        hidden = self.linked(text, depth)
        if hidden == text:
            return False
        node[at] = hidden
        return True

    def linked(self, text: str, depth: int = 0) -> str:
        """``text`` with the values the denylist names redacted when it is a URL with a
        query (or a fragment's ``k=v`` pairs) or a form (see :meth:`_link`); else as it
        is. A value that is not named but holds a JSON document, or a URL or form again
        (``?data=%7B%22password%22...``, ``?next=https%3A...%3Fpassword%3D...``: what an
        app reads with ``json.loads(args["data"])``) is looked into too, up to
        :data:`MAX_INNER_DEPTH` levels (hidden whole below, if it could hold a key)."""
        if not self.names_key_decoded(text):
            return text
        if "=" not in text and "?" not in text and "#" not in text:
            # A URL or form percent-encoded ("%2Fcb%3Fpassword%3D...", a form value
            # encoded twice as the app reads it): read decoded, one level deeper.
            if ENCODED_EQUALS.search(text) is None:
                return text
            if depth >= MAX_INNER_DEPTH:
                return redacted(text)
            decoded = decode_component(text)
            hidden = self.linked(decoded, depth + 1)
            return text if hidden == decoded else quote(hidden, safe="")
        pairs = partial(self._denied_pairs, depth=depth)
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

    def names_key_decoded(self, text: str) -> bool:
        """Whether ``text`` names a denied key as it is or percent-decoded, once or more
        (a form in a URL's query value in a field: ``passwor%2564`` is two decodings from
        ``password``): decoded until nothing changes, at most :data:`MAX_DECODINGS`
        times; a text that still decodes then could name one (a client may encode a
        value any number of times, and :meth:`linked` hides what is past its depth)."""
        for _ in range(MAX_DECODINGS):
            if self.mentions_key(text, True):
                return True
            if "%" not in text and not (self._spaced and "+" in text):
                return False
            decoded = decode_component(text)
            if decoded == text:
                return False
            text = decoded
        return self.mentions_key(text, True) or decode_component(text) != text

    def _denied_pairs(self, query: str, depth: int = 0) -> str:
        """A raw query with the values of the pairs the denylist names redacted (and
        those of a name/value pair naming a denied key: paired_fields)."""
        return query_values(query, partial(self._denied_value, depth,
                                           self._paired_in(query)), heads=True)

    def _denied_value(self, depth: int, paired: dict[str, frozenset[str]], name: str,
                      value: str) -> str | None:
        decoded = decode_name(name)
        if self.denies(decoded) or paired and decoded in paired and (
                decode_component(value) in paired[decoded]):
            return escaped_redacted(decode_component(value))
        return self._nested_value(name, value, depth)

    def _nested_value(self, name: str, value: str, depth: int) -> str | None:
        """The raw value of a pair no list names, redacted where it holds a JSON
        document, a URL or a form that names a denied key (see :meth:`linked`); None to
        keep it. Only a value holding an encoded ``=`` (a URL's or form's pairs, as a
        client encodes them in a value) or a bracket is decoded: a form of 3,000
        percent-encoded values costs 5 ms, not 25. A raw ``=`` in a value (``a=p=``) is
        the value's text, but after a raw ``?``: a URL sent unencoded
        (``next=https://x/cb?token=...``), its pairs read raw as the URL's. A pair
        holding a raw ``#`` or ``;`` (in its name too: ``a#token=...``), or a ``%23`` in
        its name or beside a raw ``?``, is left to query_values, which reads the pairs
        after one as a fragment's, and the value up to it; a ``%23`` or ``%3B`` in a
        value otherwise is the nested text's (``next=https%3A...%3Ftoken%3Dx%23top``: its
        URL's fragment, or a form's separator, as :meth:`linked` reads a JSON
        string's)."""
        if "#" in value or ";" in value or "#" in name or ";" in name or "%23" in name:
            return None
        if NESTED_VALUE.search(value) is None:
            if "=" not in value.partition("?")[2] or "%23" in value:
                return None
            if depth >= MAX_INNER_DEPTH:
                return escaped_redacted(decode_component(value)) if (
                    self.names_key_decoded(value)) else None
            hidden = self.linked(value, depth + 1)
            return None if hidden == value else hidden
        text = decode_component(value)
        if not self.names_key_decoded(text):
            return None
        if depth >= MAX_INNER_DEPTH:
            return escaped_redacted(text)
        if INNER_START.match(text) is not None:
            document = self.json_text(text, listed=True, depth=depth + 1)
            if document is None:
                return escaped_redacted(text) if self.mentions_key(text, True) \
                    else None
            return None if document == text else quote(document, safe="")
        if "=" not in text:
            # A URL, form or document percent-encoded twice (``next=a%253D1%2526password
            # %253D...``: the app reads "a%3D1%26password%3D..." and decodes it again):
            # read as the value it decodes to, one level deeper.
            inner = self._nested_value(name, text, depth + 1) if (
                NESTED_VALUE.search(text) is not None) else None
            return None if inner is None else quote(inner, safe="")
        hidden = self.linked(text, depth + 1)
        return None if hidden == text else quote(hidden, safe="")

    def _inner(self, node: Any, at: Any, text: str, depth: int = 0) -> bool:
        """Redact ``node[at]``, a string that is itself a JSON document (a webhook's
        ``"Message": "{\\"token\\": ...}"``), by the denylist; True when it changed.

        ``depth``: how many JSON strings hold ``node`` already. Each level written back
        is escaped once more by each level around it (a backslash doubles), so documents
        in strings in strings ... grew as 2 ** depth: a 6 KB body (its backslashes
        spelled ``\\u005c``) was logged as 268 MB, and 16 KB exhausted the memory. Past
        :data:`MAX_INNER_DEPTH` levels such a string is hidden whole if it could hold a
        denied key, and left as it is otherwise; so is a document nested deeper than
        :data:`~readme_metrics.har.deep_json.MAX_DEPTH`, which is not read."""
        if INNER_START.match(text) is None or not (
                # (or a URL in it naming a key percent-encoded: ?pass%77ord=, see _link)
                self.mentions_key(text) or self.names_key_encoded(text)):
            return False
        if depth >= MAX_INNER_DEPTH:
            node[at] = redacted(text)
            return True
        document = self.json_text(text, listed=True, depth=depth + 1)
        if document is None and too_deep(text) and self.mentions_key(text, True):
            node[at] = redacted(text)  # (listed: only the denylist applies inside it)
            return True
        if document is None or document == text:
            return False
        node[at] = document
        return True

    def mentions_key(self, text: str, denied_only: bool = False) -> bool:
        """Whether unparsable ``text`` could hold a value that must be redacted.

        Used for bodies that should be structured (JSON, forms) but do not parse, e.g.
        truncated, and to skip parsing JSON that cannot contain a denied key: with an
        allowlist anything could be sensitive; with a denylist only text that contains a
        denied key name (case-insensitively) or a backslash-u escape (which could spell one).
        ``denied_only``: whether it could hold a key the denylist names (the allowlist
        keeps it whole: the value of a key it lists).
        """
        if not self.active or (denied_only and not self._has_deny):
            return False
        # A backslash is looked for first: one character is found at memory speed, where
        # a two-character needle took 88 us in a 100 KB body.
        if (self._has_allow and not denied_only) or ("\\" in text and (
                "\\u" in text or self._escapable)):
            return True
        return needles_in(text, self._needles, self._probes)

    def names_key_encoded(self, text: str) -> bool:
        """Whether a URL or form in ``text`` may name a key the denylist lists in a
        query's spelling only: percent-encoded (``?pass%77ord=``) or, for a name holding a
        space, with ``+`` for it (``?api+key=``); the query's pairs are read so (see
        :meth:`_link`; a JSON Patch's pointer as a URI fragment too, ``#/pass%77ord``;
        a form in a string percent-encoded, ``a%3D1%26pass%2577ord%3D...``, its ``=``
        too). Costs nothing for a text with no ``?``, ``#`` or ``=`` (as is or encoded),
        or nothing to decode."""
        if not ("%" in text or (self._spaced and "+" in text)) or (
                "=" not in text and "?" not in text and "#" not in text
                and ("%" not in text or ENCODED_EQUALS.search(text) is None)):
            return False
        # (Decoded more than once: a form in a URL's query value, see names_key_decoded.)
        return self.names_key_decoded(decode_component(text))

    @property
    def denies_beyond_ascii(self) -> bool:
        """True when a denylist entry holds a character beyond ASCII (``パスワード``):
        text in UTF-16/32 read as latin-1 bytes spells an ASCII name only (NULs dropped
        by :meth:`mentions_key`), so such a name is looked for in its own reading."""
        return self._wide_needles

    @property
    def allow_only(self) -> bool:
        """True when an allowlist is set: data that is not key/value is redacted whole."""
        return self._has_allow

    def mentions_key_in(self, data: bytes) -> bool:
        """:meth:`mentions_key` for a body kept as bytes (recorded in base64)."""
        return self.active and self.mentions_key(data.decode("latin-1"))
