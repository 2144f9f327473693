"""HAR headers: redacted, then credentials masked (SPEC sections 4 and 6).

Pure functions over header lists as captured (``[(name, value), ...]``). Redaction
(denylist/allowlist) is applied to the raw values first (the denied cookies of a
Cookie or Set-Cookie value one by one), then credential headers are masked with
:func:`readme_metrics.masking.mask`, so that a secret never leaves the process in clear
and a redacted value is never masked again. Nothing here raises, whatever the headers
hold. The HAR cookie records are :mod:`~readme_metrics.har.cookies`'; the cookies
redacted in a Cookie or Set-Cookie value are :mod:`.cookie_values`', the URLs in
header values (userinfo, Link targets) :mod:`.header_urls`', the names lowered once
:mod:`.header_names`', the caller's key masked in a header's name :mod:`.header_key_name`'.
"""

from __future__ import annotations

import sys
from operator import itemgetter
from typing import Optional

from readme_metrics.har.base64_archives import archive_in
from readme_metrics.har.base64_runs import archive_held
from readme_metrics.har.base64_starts import ZLIB_START, zlib_pair_in
from readme_metrics.har.cookie_values import REQUEST_COOKIE as _REQUEST_COOKIE
from readme_metrics.har.cookie_values import cookies_redacted, folded_cookies_redacted
from readme_metrics.har.cookie_values import header_cookies_redacted as _without_redacted_cookies
from readme_metrics.har.credential_headers import CREDENTIAL_HEADERS, credential_header
from readme_metrics.har.credentials import URL_HEADERS, CallerKey, authority_key
from readme_metrics.har.header_key_name import keyless_name as _keyless_name
from readme_metrics.har.header_names import LOWER_MAX as _LOWER_MAX
from readme_metrics.har.header_names import LOWERED, header, lower
from readme_metrics.har.header_reading import MOST_READ, hidden_within, read_within
from readme_metrics.har.header_urls import LINK_TARGET, hidden_userinfo
from readme_metrics.har.header_urls import link_targets as _link_targets
from readme_metrics.har.header_urls import listed_url as _listed_url
from readme_metrics.har.header_urls import masked_authority as _masked_authority
from readme_metrics.har.header_urls import unkeyed_hidden as _unkeyed_hidden
from readme_metrics.har.header_urls import url_header_hidden as _url_header_hidden
from readme_metrics.har.key_base64 import masked_base64_runs
from readme_metrics.har.key_base64_percent import masked_encoded_runs
from readme_metrics.har.key_base64_spellings import spelled_in
from readme_metrics.har.redaction import Redactor, redacted
from readme_metrics.har.subprotocols import SUBPROTOCOL_HEADER, masked_subprotocols
from readme_metrics.masking import CACHED_LENGTH, kept_mask, mask

# (the cookie values moved to cookie_values, the URLs in values to header_urls, the
# names lowered to header_names, the key in names to header_key_name: importable from
# here as before)
__all__ = [
    "AUTHORITY_HEADERS", "LINK_TARGET", "LOWERED", "MASKED_HEADERS", "_REQUEST_COOKIE",
    "cookies_redacted", "folded_cookies_redacted", "header", "headers", "hidden_userinfo",
    "keyed_values", "lower",
]

#: Header values that are credentials: sent as mask(value), never in clear; and so are
#: those of the names :func:`~readme_metrics.har.credential_headers.credential_header` takes.
MASKED_HEADERS = CREDENTIAL_HEADERS
#: Headers holding a URL's authority (``host[:port]``), or a list or pairs of them
#: (a proxy's: Forwarded's ``host=``, ``for=``, ``by=``; hostile53): a ``user:password@``
#: a hand-made client put there is a credential, its password hidden as a URL's is.
AUTHORITY_HEADERS = frozenset({"host", "x-forwarded-host", "x-original-host", "forwarded",
                               "x-forwarded-for", "x-forwarded-server", "x-real-ip"})

# Headers whose first HAR value build_entry needs (mimeType, redirectURL) or whose
# presence it checks (cookies), noted while the headers are built: one pass, not four.
_NOTED_HEADERS = frozenset({"content-type", "location", "cookie", "set-cookie"})
#: Keys under which :func:`headers` notes the raw (unredacted) values the bodies need.
RAW_CONTENT_TYPE = "raw content-type"
RAW_CONTENT_ENCODING = "raw content-encoding"
#: Key under which :func:`headers` notes the raw Cookie values, joined by ";" (several
#: Cookie headers hold the same cookies as one holding them all).
RAW_COOKIE = "raw cookie"
_RAW_NOTED = {"content-type": RAW_CONTENT_TYPE, "content-encoding": RAW_CONTENT_ENCODING}
#: The response header the library adds (SPEC 7).
DOCS_HEADER = "x-documentation-url"


# What :func:`headers` does with a header, by name as sent: (lower-case name, kind,
# note its HAR value?, key to note its raw value under or None). Decided once per
# distinct name (bounded like ``LOWERED``), so each header costs one lookup instead of a
# lower() and four set tests.
_PLAIN, _MASKED, _URL, _LINK, _AUTHORITY, _SUBPROTOCOLS = 0, 1, 2, 3, 4, 5
_ROLES: dict[str, tuple[str, int, bool, Optional[str], Optional[str]]] = {}
# The names (as sent) of the headers that are nothing but data to the log: no credential,
# no URL, no Link, none whose value is noted. Without a denylist or allowlist such a
# header (most of them: Host, Accept, User-Agent ...) only has the caller's key looked
# for in its value, and headers() takes it by this one set test. Bounded as _ROLES.
_PLAIN_NAMES: set[str] = set()
# The longest of _PLAIN_NAMES: a key longer than it is in none of them, and headers()
# looks for it in no plain header's name (one test a log, not one a header: the small
# GET's log, inline, 350,790 instructions with one a header, 348,521 with this, 347,715
# on d7467c6; callgrind, secrets16).
_PLAIN_LONGEST = [0]


def _role(name: str) -> tuple[str, int, bool, Optional[str], Optional[str]]:
    low = lower(name)
    # A name with "_" for "-" (x_api_key) is the same header to the app wherever "_" and
    # "-" both become "_" (HTTP_X_API_KEY): Django's ASGI handler, CGI, uWSGI. ASGI servers
    # pass it on as sent, so it is masked and listed as the name with dashes would be
    # (the lists are asked about both spellings); its name is logged as sent.
    dashed = low.replace("_", "-") if "_" in low else None
    spelled = low if dashed is None else dashed
    # And the other way: a WSGI server's HTTP_CLIENT_SECRET is logged Client-Secret,
    # which the app reads as request.headers["client_secret"] (werkzeug, Django): a
    # list entry with "_" names it too.
    other = dashed if dashed is not None else (
        low.replace("-", "_") if "-" in low else None)
    kind = (_MASKED if credential_header(spelled) else _URL if spelled in URL_HEADERS
            else _LINK if spelled == "link"
            else _AUTHORITY if spelled in AUTHORITY_HEADERS
            else _SUBPROTOCOLS if spelled == SUBPROTOCOL_HEADER else _PLAIN)
    role = (low, kind, low in _NOTED_HEADERS, _RAW_NOTED.get(low), other)
    if len(_ROLES) < _LOWER_MAX:
        _ROLES[name] = role
        if kind == _PLAIN and not role[2] and role[3] is None:
            _PLAIN_NAMES.add(name)
            if len(name) > _PLAIN_LONGEST[0]:
                _PLAIN_LONGEST[0] = len(name)
    return role


def _redacts(redactor: Redactor, name: str, dashed: Optional[str]) -> bool:
    """Whether the lists redact a header ``name``, also spelled ``dashed`` (its "_"
    and "-" swapped: see _role)."""
    if dashed is None:
        return redactor.redacts(name)
    return redactor.denies(name) or redactor.denies(dashed) or (
        redactor.allow_only and not (redactor.allows(name) or redactor.allows(dashed)))


def _denies(redactor: Redactor, name: str, dashed: Optional[str]) -> bool:
    """Whether the denylist names a header ``name``, also spelled ``dashed``."""
    return redactor.denies(name) or (dashed is not None and redactor.denies(dashed))


def _unlisted(value: str, kind: int, redactor: Redactor, caller: Optional[CallerKey]) -> str:
    """The value of a header the allowlist alone hides, as mimeType and redirectURL show
    it: a URL's query still follows the lists, its unkeyed parts are hidden, the
    caller's key is still masked."""
    if kind == _URL:
        value = _unkeyed_hidden(_listed_url(redactor, value))
        return value if caller is None else caller.url(value)
    if caller is None:
        return value
    if caller.may_hold(value):
        value = caller.text(value)
    if caller.inside and spelled_in(value, caller.key):  # its base64 too (see scrub.py)
        value = masked_base64_runs(value, caller.key, caller.masked)
        value = masked_encoded_runs(value, caller.key, caller.masked)
    return value


# A header's value in its (name, value) pair.
_VALUE = itemgetter(1)
# The first character of a header value that may be a JSON document; with a blank, one
# that may start one after its blanks (JSON's whitespace: `X-Data:  {"password": ...}`,
# werkzeug hands an obs-folded value on with its fold's blanks; went out, hostile43).
_JSON_OPEN = frozenset("{[")
_JSON_LEAD = frozenset("{[ \t\r\n")


def _json_value(value: str, name: str, redactor: Redactor) -> str:
    """A header value holding JSON (Dropbox's ``Dropbox-API-Arg``) redacted key by key by
    the denylist, as a form field holding JSON is (the header is not redacted itself, so
    the allowlist lists it: kept whole otherwise). A value that is no JSON (an IPv6
    ``Host: [::1]:80``, ``[token refresh failed]``) is kept, unless it may be JSON cut
    short naming a denied key (a quote in it: every JSON key is a quoted string)."""
    if '"' not in value or not redactor.mentions_key(value, denied_only=True):
        return value
    document = redactor.json_text(value, listed=True)
    return redacted(value) if document is None else document


def headers(
    pairs: list[tuple[str, str]], redactor: Optional[Redactor],
    caller: Optional[CallerKey] = None, own: Optional[str] = None, gated: bool = False,
) -> tuple[list[dict[str, str]], dict[str, str]]:
    """HAR headers: redacted first, then credentials masked (a redaction stays), then the
    caller's key masked in the other values.

    ``own``: the tail (``/logs/<_id>``) of the ``x-documentation-url`` the library added
    to the response (SPEC 7): that header is the library's, not the app's data, so only a
    denylist naming it redacts it.

    Also returns the first HAR value of each header of ``_NOTED_HEADERS`` present, by
    lower-case name, the first raw Content-Type under ``RAW_CONTENT_TYPE``, the raw
    Content-Encoding lines joined with ", " under ``RAW_CONTENT_ENCODING``, and every raw
    Cookie value under ``RAW_COOKIE``.

    ``gated``: the build asks the key gate (:func:`~readme_metrics.har.key_gate.keyless`)
    over these values, so the caller's key is not looked for in the values sent as they
    come (the plain ones, Host's, Content-Length's ...): the gate looks for each spelling
    of it in them, and a log it finds one in has them built again without ``gated``
    (``build._keyed_headers``). Names, the values noted, URLs and a Link's targets are
    done as without it.
    """
    out: list[dict[str, str]] = []
    noted: dict[str, str] = {}
    roles = _ROLES.get
    # A plain header (see _PLAIN_NAMES) the lists leave as it is only has the key looked
    # for (learned below into the redactor's passed_names, see Redactor).
    bare = redactor is None  # (a local flag, tested once a plain header: cpu20)
    passed = None if bare else redactor.passed_names  # type: ignore[union-attr]
    plain = _PLAIN_NAMES if passed is None else passed
    # CallerKey.may_hold, inlined for the plain headers: a method call per header costs
    # more than the test. A value with "%" may spell a long key percent-encoded ("+" too
    # for a space in it), one with a backslash JSON-escaped; no spelling is shorter than
    # the key, and most header values are (and so a value equal to the key holds it).
    # (One test of caller, not one a local: two calls a log; cpu25.)
    # ``named``: whether a plain header's name may hold the key (set too when a name
    # learned plain in this call, one that may, is sent twice). ``tested``: whether the
    # values sent as they come have the key looked for here: not without a caller, nor
    # when the gate does it (one test a header: cpu27).
    if caller is None:
        key, inside, spaced, shortest, numeric, named, tested = (
            "", False, False, sys.maxsize, False, False, False)
    else:
        key, inside, numeric = caller.key, caller.inside, caller.numeric
        spaced = inside and caller.spaced
        shortest = len(key)
        named = shortest <= _PLAIN_LONGEST[0]
        tested = not gated
    # A value holding an archive's base64 is read as a form field's is (archive_held:
    # every start base64_starts knows, a zip's a byte or two into a quantum, zlib's,
    # percent-encoded; hostile37, hostile40): hidden whole when its .env spells a denied
    # key. archive_in asked once over the values joined (no start spans the "\n": not
    # base64, not a percent escape's), as redaction_query asks it of the raw query: a
    # log's headers without one cost a join and its searches, a header a flag's test.
    # (archive_in's needles first, inlined: base64_starts.SPLIT_HEADS (the magics'
    # first two characters: a magic split by a mark too), the shifted NEEDLES, "%" and
    # "\\u", and ZLIB's 32 pairs: zlib_pair_in finds their second characters (the
    # pattern's search, ZLIB_START, alone took ~36k Ir over 13 common headers; cpu28),
    # the search confirms what it finds; a test keeps them in step. Over 13 common
    # headers' values, none found: ~1.2 us, archive_in's call ~1.55.)
    archives = urls = False
    left = [MOST_READ]  # (the values read as texts: one budget a log, review152)
    if redactor is not None and redactor.has_deny:
        joined = "\n".join(map(_VALUE, pairs))
        # A URL's password in a value the lists leave (X-Return-To: https://ada:...@h/)
        # hidden as a body's is, with a denylist given (text_userinfo; hostile52), its
        # "@" written, encoded, escaped or one encoding deeper (hostile61: read if "@").
        urls = ("@" in joined or "%40" in joined or "u0040" in joined
                or "%2540" in joined)
        archives = ("UE" in joined or "H4" in joined or "Ql" in joined
                    or "KL" in joined or "BLAw" in joined or "QSwME" in joined
                    or "%" in joined or zlib_pair_in(joined)
                    and ZLIB_START.search(joined) is not None
                    or "\\u" in joined) and archive_in(joined)
    for name, value in pairs:
        if archives and archive_held(redactor, value):  # type: ignore[arg-type]
            value = redacted(value)
        if name in plain and (bare or value[:1] not in _JSON_LEAD):
            if urls:
                value = hidden_within(value, left)
            if tested and (len(value) >= shortest and (
                    key in value or "\\" in value or inside and (
                    "%" in value or (spaced and "+" in value))) or (
                    numeric and caller.numbers_in(value))):  # type: ignore[union-attr]
                value = caller.text(value)  # type: ignore[union-attr]
            # A name is learned plain whatever it holds: the key (a client sending it as
            # a header's name) is looked for in each log's (most are shorter than it).
            out.append({"name": _keyless_name(name, caller)  # type: ignore[arg-type]
                        if named and len(name) >= shortest else name, "value": value})
            continue
        low, kind, note, raw, dashed = roles(name) or _role(name)
        if raw is not None:
            if raw not in noted:
                noted[raw] = value
            elif raw == RAW_CONTENT_ENCODING:
                # A list: its lines are one list (RFC 9110 5.3), as WSGI servers join
                # them; ASGI servers pass each on ("identity" then "gzip": gzipped).
                noted[raw] += ", " + value
        elif low == "cookie":
            noted[RAW_COOKIE] = (noted[RAW_COOKIE] + ";" + value if RAW_COOKIE in noted
                                 else value)
        if redactor is not None and (redactor.redacts(name) if dashed is None
                                     else _redacts(redactor, name, dashed)) and (
                low != DOCS_HEADER or own is None or not value.endswith(own)
                or redactor.denies(name)):
            if note and low not in noted and not _denies(redactor, name, dashed):
                # The allowlist alone hides it: mimeType and redirectURL repeat it, but
                # they are the HAR's own fields, not keys SPEC 6's lists match.
                noted[low] = _unlisted(value, kind, redactor, caller)
            value = redacted(value)
        elif kind == _MASKED:
            if redactor is not None:
                value = _without_redacted_cookies(name, value, redactor)
            if "@" in value or "%40" in value or "u0040" in value or "%2540" in value:
                # A URL's password in it (a cookie's next=https://ada:...@db) hidden
                # first: the mask shows the value's last four characters (hostile52).
                value = hidden_within(value, left)
            # (mask, inlined: its call costs more than the length test.)
            value = kept_mask(value) if len(value) <= CACHED_LENGTH else mask(value)
        elif kind == _URL:
            if redactor is not None:
                value = _listed_url(redactor, value)
            # (CallerKey.url's first answer, the url as it is, without its call: a long
            # key, no number, neither the key nor an escape in the value.)
            if caller is not None and (not inside or numeric or key in value or "%" in value
                                       or "\\" in value or spaced and "+" in value):
                value = caller.url(value)
            # A user and password in it are a credential (sent as Authorization: Basic),
            # its "@" in any spelling (hostile61). (No call for most URLs.)
            if "@" in value or "%40" in value or "u0040" in value or "%2540" in value:
                value = _url_header_hidden(value, left=left)
        else:
            if kind == _AUTHORITY:
                if "@" in value:  # (within the log's budget: hostile64)
                    value = read_within(value, left, _masked_authority)
                if "%40" in value or "u0040" in value or "%2540" in value:  # (hostile61)
                    value = hidden_within(value, left)
                if caller is not None and not caller.inside and (
                        caller.key in value or "%" in value):
                    # A short key that is the host (with a port or a userinfo: the url
                    # shows its host masked, scrub.py), as the whole value would be.
                    value = authority_key(value, caller.key, caller.masked)
            elif kind == _SUBPROTOCOLS:
                value = masked_subprotocols(value)  # a WebSocket client's bearer token
            if kind == _LINK or redactor is not None and value[:1] in _JSON_LEAD and (
                    value[:1] in _JSON_OPEN or value.lstrip(" \t\r\n")[:1] in _JSON_OPEN):
                value = (_link_targets(value, redactor, caller, left) if kind == _LINK
                         else _json_value(value, name, redactor))  # type: ignore[arg-type]
            if urls:
                value = hidden_within(value, left)
            # caller.may_hold, inlined as for the plain headers above (Host, Content-Type,
            # Content-Length and x-documentation-url take this way in every log; a noted
            # value is looked at with the gate too: the bodies' mimeType repeat it).
            if (tested or note and caller is not None) and (len(value) >= shortest and (
                    key in value or "\\" in value or inside and (
                    "%" in value or (spaced and "+" in value))) or (
                    numeric and caller.numbers_in(value))):  # type: ignore[union-attr]
                value = caller.text(value)  # type: ignore[union-attr]
            # A plain header the lists leave as it is, learned (passed_names): here the
            # lists redact none but maybe the library's own x-documentation-url.
            if passed is not None and name in _PLAIN_NAMES and (
                    low != DOCS_HEADER or redactor is not None
                    and not _redacts(redactor, name, dashed)):
                passed.add(name)
        if note and low not in noted:
            noted[low] = value
        if len(name) >= shortest:
            named = True
            name = _keyless_name(name, caller)  # type: ignore[arg-type]
        out.append({"name": name, "value": value})
    return out, noted


def keyed_values(pairs: list[tuple[str, str]], records: list[dict[str, str]],
                 caller: CallerKey) -> None:
    """``records``, :func:`headers` of ``pairs`` built ``gated`` without lists, made as
    the build without ``gated`` makes them, in place: the caller's key looked for in each
    value the gated build left untested, and masked (:meth:`CallerKey.text`) where it
    may be. Without lists those are the values of the headers neither a credential (a
    mask) nor a URL header (``CallerKey.url``'s) nor noted (tested either way), and the
    test is the last thing done to each, so the value built is the one it tests: one
    build of the headers, not two (a browser's Referer holding a ``%`` has the gate say
    no in every log; cpu44). One record a pair, in order (:func:`headers` makes one for
    each)."""
    key, inside, spaced = caller.key, caller.inside, caller.inside and caller.spaced
    shortest = len(key)
    roles = _ROLES.get
    for (name, _), record in zip(pairs, records):
        value = record["value"]
        # (CallerKey.may_hold, inlined as in headers(); the gate's keys are no numbers.)
        if len(value) >= shortest and (key in value or "\\" in value or inside and (
                "%" in value or (spaced and "+" in value))) or (
                caller.numeric and caller.numbers_in(value)):
            _, kind, note, _, _ = roles(name) or _role(name)
            if kind != _MASKED and kind != _URL and not note:
                record["value"] = caller.text(value)
