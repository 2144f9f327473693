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

from functools import lru_cache
from typing import Callable, Iterable, Sequence

from readme_metrics.har import (
    key_shapes,
    redaction_fields,
    redaction_mentions,
    redaction_query,
    redaction_walk,
)
from readme_metrics.har.deny_needles import deny_needles
from readme_metrics.har.env_lines import field_pairs
from readme_metrics.har.pairs import target_pairs, url_pairs
from readme_metrics.har.percent import decode_component
from readme_metrics.har.redaction_forms import CACHED_NAME, decode_cached
from readme_metrics.har.redaction_marks import escaped_redacted, redacted
from readme_metrics.har.redaction_mentions import MAX_DECODINGS
from readme_metrics.har.redaction_names import (
    bracketed_lists,
    folded_name,
    names_in,
    normalise,
)
from readme_metrics.har.redaction_pairs import paired_values
from readme_metrics.har.redaction_query import linked

__all__ = ["MAX_DECODINGS", "Redactor", "decode_component", "escaped_redacted", "redacted"]

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
        "active", "_deny_flat", "_allow_flat", "deny_keys", "deny_paths",
        "allow_keys", "allow_paths", "has_allow", "has_deny", "track_paths",
        "needles", "_bracketed", "spaced", "redacts_raw", "_named", "passed_names",
    )

    def __init__(self, denylist: Sequence[str] = (), allowlist: Sequence[str] = ()) -> None:
        deny = normalise(denylist)
        allow = normalise(allowlist)
        # (The lists as sets, has_deny/has_allow, track_paths, needles, spaced and redacts_raw are
        # public but read-only: redaction_query's and redaction_walk's functions read them.)
        # Flat names (headers, query, cookies, form fields) match any entry as a whole.
        self._deny_flat = deny
        self._allow_flat = allow
        # JSON: bare entries match a key anywhere, dotted entries a path from the root
        # (and, denied, a member's whole name anywhere, as a flat name).
        self.deny_keys = deny
        self.deny_paths = frozenset(k for k in deny if "." in k)
        self.allow_keys = frozenset(k for k in allow if "." not in k)
        self.allow_paths = frozenset(k for k in allow if "." in k)
        self.has_deny = bool(deny)
        self.has_allow = bool(allow)
        # Building "a.b.c" path strings costs an allocation per JSON key: only if needed.
        self.track_paths = bool(self.deny_paths or self.allow_paths)
        #: What a denied key looks like inside text we cannot parse (see mentions_key):
        #: the needles and their probes, a frozen record the mentions' modules read.
        self.needles = needles = deny_needles(deny)
        # A needle with a space a query may write as "+" (?api+key=): see names_key_encoded.
        self.spaced = needles.spaced
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
        self.redacts_raw: Callable[[str], bool] = lru_cache(maxsize=_BRACKETED_MAX)(
            lambda name: self.redacts(decode_cached(name)))
        #: The plain header names (Host, Accept ...: har/headers.py's _PLAIN_NAMES) these
        #: lists leave as they are, learned by har/headers.headers(), which then takes
        #: them as it takes the plain names without lists (a value opening as JSON
        #: aside) instead of asking the lists about both spellings of the name in every
        #: log (docs/PERFORMANCE.md, speed9). The lists never change; a subset of the
        #: bounded _PLAIN_NAMES.
        self.passed_names: set[str] = set()

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
            found = bracketed_lists(key, self._deny_flat, self._allow_flat, self.deny_keys,
                                    self.allow_keys)
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
        return denied or (self.has_allow and not allowed)

    def denies(self, name: str) -> bool:
        """True when the flat key ``name`` is on the denylist (whatever the allowlist)."""
        return self.has_deny and (self._named.get(name) or self._verdict(name))[0]

    def may_deny(self, text: str) -> bool:
        """Whether ``text`` (a Cookie header's value) may hold a name :meth:`denies`:
        False skips asking name by name (a Python call per cookie). Never False where one
        is (tests/test_speed9_cookies.py compares both ways over random headers and lists)."""
        return self.has_deny and names_in(text, self.needles.names)

    def allows(self, name: str) -> bool:
        """True when the flat key ``name`` is on the allowlist (and not denied)."""
        if not self.has_allow:
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
        if not self.has_deny:
            return frozenset()
        return paired_values(fields, self.denies)

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

    # Read by redaction_query's pure functions, which ask this redactor's verdicts.
    query_string = redaction_query.query_string
    linked = linked
    # (A value's lines, a .env percent-encoded in a form's value: env_lines, which reads
    # each line by redaction_query's functions.)
    field_pairs = field_pairs

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

    # -- a denied name in text -------------------------------------------------------
    # (har/redaction_mentions.py's functions, which read this redactor's needles.)
    names_key_decoded = redaction_mentions.names_key_decoded
    mentions_key = redaction_mentions.mentions_key
    names_key_encoded = redaction_mentions.names_key_encoded

    # A JSON document, or a form or multipart field's value: redaction_walk's and
    # redaction_fields' pure
    # functions, which read this redactor's lists.
    json_text = redaction_walk.json_text
    json_field = redaction_fields.json_field

    @property
    def denies_beyond_ascii(self) -> bool:
        """True when a denylist entry holds a character beyond ASCII (``パスワード``):
        text in UTF-16/32 read as latin-1 bytes spells an ASCII name only (NULs dropped
        by :meth:`mentions_key`), so such a name is looked for in its own reading."""
        return self.needles.wide

    @property
    def allow_only(self) -> bool:
        """True when an allowlist is set: data that is not key/value is redacted whole."""
        return self.has_allow

    # Binary data's check (a denied name in a key's shape: har/key_shapes.py, binary2).
    shapes_key_in = key_shapes.shapes_key_in
    mentions_key_in = redaction_mentions.mentions_key_in

