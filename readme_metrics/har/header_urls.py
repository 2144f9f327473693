"""URLs in header values scrubbed: a userinfo masked, a Link header's targets and anchors.

A ``user:password@`` in a URL or Host value has its password hidden whole, its user kept
(a user without a password as :func:`.text_userinfo.hidden_user` says); a URL header's
value is read as a text is too (:func:`url_header_hidden`: one that is no URL as written,
wholly percent-encoded, ``\\u``-escaped, and the URLs nested in one's query); its
query's pairs follow the lists (:func:`listed_url`); a Link's target
and anchor URLs are redacted as URL headers are; where the allowlist alone hides a URL
header, its value as mimeType and redirectURL show it has the parts no key names hidden.
An authority header's userinfo (Host, X-Forwarded-Host, Forwarded's pairs) is
:mod:`.authority_userinfo`'s (:func:`masked_authority`, :func:`masked_userinfo`,
importable here as before).
"""

from __future__ import annotations

import re
from typing import Callable, Optional
from urllib.parse import quote, unquote

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har.authority_userinfo import masked_authority, masked_userinfo
from readme_metrics.har.credentials import CallerKey
from readme_metrics.har.header_reading import hidden_within, spent
from readme_metrics.har.header_url_lists import listed_url
from readme_metrics.har.header_userinfo_ends import backslash_user_end, loose_userinfo_end
from readme_metrics.har.redaction import Redactor, redacted
from readme_metrics.har.text_userinfo import may_hold_at, userinfo_hidden_in

__all__ = ["LINK_TARGET", "hidden_userinfo", "link_targets", "listed_url", "masked_authority",
           "masked_userinfo", "unkeyed_hidden", "url_header_hidden", "userinfo_hidden"]

# A Link header's targets (RFC 8288: "<https://api/items?page=2>; rel=next, <...>"),
# pagination links that may carry a signed URL's token.
LINK_TARGET = re.compile(r"<([^<>]*)>")
# Its anchor parameter, the other URL of a link (RFC 8288 3.2), quoted: a URL cannot be a
# token. Any case and blanks, as a link's parameters may be written.
_LINK_ANCHOR = re.compile(r'(;[ \t]*anchor[ \t]*=[ \t]*")([^"]*)(")', re.IGNORECASE)


def userinfo_hidden(url: str, hide: Callable[[str], str]) -> str:
    """``url`` with its userinfo (``user:password@``) replaced by ``hide(userinfo)``, which
    gives it as a URL writes it (percent-encoded), so that it stays a URL."""
    if "@" not in url:
        return url
    scheme, sep, rest = url.partition("//")
    if sep and (not scheme or scheme.endswith(":")):
        # A backslash ends it too, as a WHATWG parser reads a special scheme's (http,
        # https, ws, ftp) and as a body's URL is read: ``https://ada:pw@host\@evil/``
        # goes to ``host`` (its password ``pw``); read to the last ``@``, the log showed
        # ``evil`` as the host (hostile54).
        end = min((at for at in (rest.find("/"), rest.find("?"), rest.find("#"),
                                 rest.find("\\")) if at >= 0), default=len(rest))
        if end < len(rest) and "@" not in rest[:end]:
            # A password holding a "/", "?" or "#" unencoded (ada:pa/ss@host/): read as
            # a body's is (text_userinfo; hostile53), when the authority has no port.
            loose = loose_userinfo_end(rest, end)
            if loose < 0 and rest[end] == "\\" and ":" not in rest[:end]:
                # A backslash in the user (a\da:pw@host/): the user's, as a body's URL
                # reads it (hostile56: its password was sent).
                loose = backslash_user_end(rest, end)
            end = end if loose < 0 else loose + 1
        userinfo, at, host = rest[:end].rpartition("@")
        if at and end < len(rest) and ":" in host:
            # An "@" in the user (ada@corp.com:pa/ss@h/): read from its host as one
            # holding no "@" is, loosely (hostile56: its password was sent).
            base = len(userinfo) + 1
            loose = loose_userinfo_end(rest[base:], end - base)
            if loose >= 0:
                end = base + loose + 1
                userinfo, at, host = rest[:end].rpartition("@")
        if at:
            url = scheme + sep + hide(userinfo) + at + host + rest[end:]
    return url


def hidden_userinfo(url: str) -> str:
    """``url`` with its userinfo (``user:password@``) hidden (:func:`masked_userinfo`)."""
    return userinfo_hidden(url, masked_userinfo)


def url_header_hidden(value: str, hide: Optional[Callable[[str], str]] = None,
                      left: Optional[list[int]] = None) -> str:
    """A URL header's ``value`` (Referer, Location, a Link's target) with its URL's
    userinfo hidden by ``hide`` (:func:`masked_userinfo` by default) as written
    (:func:`userinfo_hidden`), then every URL's password in it read as a text's is, in
    each spelling (:func:`.text_userinfo.userinfo_hidden_in`: wholly percent-encoded,
    ``https%3A%2F%2Fada%3Apw%40h``, with JSON's ``\\u`` or ``\\/`` escapes, one encoding
    deeper; hostile61: a browser sends none of them, a hand-made client may, and its
    password was sent): its own when the value is no URL as written or its authority
    holds an encoded ``@`` (``https://ada%3Apw%40h/``), and a URL's nested in its query
    or fragment (``?next=https://ada:pw@h/``, encoded or not: sent with no lists till
    hostile63; hidden always, as the header's own URL's, the query's keys the lists'
    as before). A value that is no URL as written but that a client reads as one
    (:func:`_bare_authority_hidden`) has its userinfo hidden as a URL's. ``left``: one
    log's budget of such reading (:mod:`.header_reading`, review152). A special scheme's
    separators other than ``//`` (``https:\\\\ada:pw@h/``, ``https:///ada:pw@h/``,
    ``https:ada:pw@h/``) are read as a browser reads them, as ``//`` (review152: each
    sent the password). A tab (or a line break) is read as a WHATWG parser reads it,
    removed wherever it is: ``https:\t//ada:pw@h/`` goes to ``h`` with the password
    (review153: it was sent); a value whose reading without them hides something is
    logged as read. So are they percent-encoded, once or twice (``%09``, ``%250A``), in
    a URL nested encoded (``?next=https%3A%2F%2F%09ada%3Apw%40h``: decoded, a browser
    removes them; hostile65: sent)."""
    blanks = "\t" in value or "\n" in value or "\r" in value
    encoded = ("%09" in value or "%0A" in value or "%0D" in value or "%0a" in value
               or "%0d" in value or "%250" in value)
    if (blanks or encoded) and left is not None and may_hold_at(value):
        # Read as read, then as written: charged to one log's budget once for both (a
        # regex's try at each of 100 values' "%", 20 ms), its readings here within that.
        # (Charged for each, a 6 KiB Referer holding a form's %0D%0A, an e-mail and a
        # time was hidden whole, no password in it; review156.)
        if spent(value, left):
            return redacted(value)
        left = None
    if blanks:
        read_as = value.replace("\t", "").replace("\n", "").replace("\r", "")
        hidden = url_header_hidden(read_as, hide, left)
        if hidden != read_as:
            return hidden
    if encoded and may_hold_at(value):
        read_as = _ENCODED_BLANK.sub("", value)
        if _ENCODED_BLANK.search(read_as) is not None:
            # (one the removal made, %%0909: read so again and again, a value of them
            # would nest as deep as it is long; no browser's: fail closed)
            return redacted(value)
        if read_as != value:
            hidden = url_header_hidden(read_as, hide, left)
            if hidden != read_as:
                return hidden
    if _ENCODED_LEAD.match(value) is not None:
        decoded = _encoded_lenient_hidden(value, hide, left)
        if decoded is not None:
            return decoded
    lenient = _LENIENT.match(value)
    if lenient is not None and not value.startswith("\\u", lenient.end()):
        # (a separator escaped, https:\\u002f/ada:pw@h, is the text readers': hostile65)
        head = lenient.group()
        hidden = url_header_hidden("x://" + value[len(head):], hide, left)
        return head + hidden[4:] if hidden.startswith("x://") else redacted(value)
    scheme, sep, rest = value.partition("//")
    if not sep or scheme and not scheme.endswith(":"):
        text = userinfo_hidden_in(value) if left is None else hidden_within(value, left)
        return _bare_authority_hidden(text, hide or masked_userinfo)
    hidden = userinfo_hidden(value, hide or masked_userinfo) if "@" in value else value
    # (Read as a text only where a reader may find a userinfo: cpu43, _readable. A value
    # left unread costs nothing, so it is not charged to the log's budget either: a long
    # Referer's ?login_hint=ada%40example.com was hidden whole past 16 KiB, or once other
    # such URL headers had spent it, though it held no password and was not read; review155.)
    if scheme in _PLAIN and not _readable(rest):
        return hidden
    text = userinfo_hidden_in(hidden) if left is None else hidden_within(hidden, left)
    return _nested_encoded_hidden(text, hide, left) if "3A" in rest or "3a" in rest else text


#: A tab or a line break percent-encoded, once or twice.
_ENCODED_BLANK = lazy_compile(r"%(?:25)?0[9AaDd]")


def _readable(rest: str) -> bool:
    """Whether a text reader may find a userinfo in a URL as written, ``rest`` what
    follows its scheme's ``//``: an ``@`` in some spelling in its authority (to its first
    ``/``, ``?`` or ``#``, past which no reader's user runs), or a ``:`` in some spelling
    (``%3A``, ``\\u003a``, ``%253A``) anywhere, without which no reader's password nor
    nested URL's scheme starts (a Referer's ``?email=ada%40example.com``: read in full
    since hostile63, ~4 us a value; cpu43), or a ``%25`` or ``%5C`` (the deeper
    spellings: read, as before). The userinfo as written is :func:`userinfo_hidden`'s.
    Asked only after a scheme of :data:`_PLAIN` (no sign of a userinfo before ``//``)."""
    if not may_hold_at(rest):
        return False  # (no reader's match ends without an "@" in some spelling)
    if ":" in rest or "3A" in rest or "3a" in rest or "%25" in rest or (
            "%5C" in rest or "%5c" in rest):
        return True
    end = len(rest)
    for sign in "/?#":
        at = rest.find(sign, 0, end)
        if at >= 0:
            end = at
    return may_hold_at(rest[:end])


#: A URL header's scheme (what precedes its first ``//``) holding nothing a reader reads.
_PLAIN = frozenset(("", "http:", "https:", "ws:", "wss:", "ftp:", "HTTP:", "HTTPS:"))


#: A special scheme then its ``:`` percent-encoded, once or twice (group 1: twice).
_ENCODED_LEAD = lazy_compile(r"(?i)(?:https?|wss?|ftp)%(25)?3a")


def _encoded_lenient_hidden(value: str, hide: Optional[Callable[[str], str]],
                            left: Optional[list[int]]) -> Optional[str]:
    """A URL header's ``value`` wholly percent-encoded (once or twice) whose special
    scheme's separators are no ``//`` (``https%3Aada%3Apw%40h``, ``https%3A%5C%5C...``,
    ``https%3A%2F%2F%2F...``: the text readers read ``//`` alone, review152's spellings
    were sent encoded, review153) with its decoded URL's password hidden, encoded as it
    was; None if nothing is hidden so. Counted against ``left`` (hidden whole past it):
    decoding costs a call or two an escape."""
    if spent(value, left):
        return redacted(value)
    twice = _ENCODED_LEAD.match(value).group(1) is not None  # type: ignore[union-attr]
    decoded = unquote(unquote(value)) if twice else unquote(value)
    if _LENIENT.match(decoded) is None:
        return None
    hidden = url_header_hidden(decoded, hide, left)
    if hidden == decoded:
        return None
    hidden = quote(hidden, safe="")
    return quote(hidden, safe="") if twice else hidden


#: :data:`_ENCODED_LEAD` nested in a value (from a word's start or after an escape) and
#: the encoded text it starts, to a query's ``&``, a ``#`` or a blank.
_NESTED_ENCODED = lazy_compile(r"(?:(?<![A-Za-z0-9+.\-%])|(?<=%[0-9A-Fa-f]{2}))"
                               r"(?i:https?|wss?|ftp)%(?:25)?3[Aa][^&#\s]*")


def _nested_encoded_hidden(text: str, hide: Optional[Callable[[str], str]],
                           left: Optional[list[int]]) -> str:
    """``text`` (a URL header's, read) with each percent-encoded URL nested in it whose
    special scheme's separators are no ``//`` (``?next=Https%3A%2Fada%3Apw%40h``) read as
    :func:`_encoded_lenient_hidden` reads a whole value (review154: review153 read the
    whole value alone, the nested one's password was sent)."""
    out: list[str] = []
    last = 0
    for found in _NESTED_ENCODED.finditer(text):
        hidden = _encoded_lenient_hidden(found.group(), hide, left)
        if hidden is not None:
            out += (text[last:found.start()], hidden)
            last = found.end()
    return "".join(out) + text[last:] if out else text


#: What a client reads before the authority of a value that is no URL as written: a
#: special scheme's ``:`` then any slashes or backslashes (a WHATWG parser's
#: ``http:ada:pw@h``, ``http:\\\\ada:pw@h/``, ``http:/ada:pw@h``), or none (curl's
#: ``ada:pw@h``, ``a\\b:1234\\pw@h``, read after an ``http://`` it adds).
_BARE_LEAD = lazy_compile(r"(?i:(?:https?|wss?|ftp):)?[\\/]*")
#: A scheme whose URLs have no authority: ``mailto:ada@example.com`` is an address.
_NO_AUTHORITY = lazy_compile(r"(?i:mailto|tel|sms|urn|data|javascript|about|blob|cid|mid):")


def _bare_authority_hidden(value: str, hide: Callable[[str], str]) -> str:
    """A URL header's ``value`` that is no URL as written with the userinfo a client
    reads at its start (after :data:`_BARE_LEAD`) hidden by ``hide``, as a URL's
    (hostile63: sent; hostile61 read ``//a\\b:1234\\pw@h`` alone)."""
    if "@" not in value or _NO_AUTHORITY.match(value) is not None:
        return value
    lead = _BARE_LEAD.match(value).end()  # type: ignore[union-attr]
    return value[:lead] + userinfo_hidden("//" + value[lead:], hide)[2:]


#: A special scheme (WHATWG's: http, https, ws, wss, ftp) then separators that are not
#: ``//``: any run of ``/`` and ``\\`` (none a ``\\u`` escape's), or none, which a browser
#: reads as ``//``.
_LENIENT = lazy_compile(r"(?i:https?|wss?|ftp):(?!//(?![/\\]))(?:/|\\(?!u[0-9A-Fa-f]{4}))*")


def unkeyed_hidden(url: str) -> str:
    """``url`` with the parts no key names redacted whole (percent-encoded, so it stays a
    URL): the fragment (an OAuth redirect carries its access token there) and the
    userinfo (``user:password@``). The allowlist hides them as it hid the header."""
    url, hash_mark, fragment = url.partition("#")
    if hash_mark:
        url += "#" + quote(redacted(fragment), safe="")
    return url_header_hidden(url, _redacted_whole)


def _redacted_whole(userinfo: str) -> str:
    """A userinfo as its redaction, percent-encoded."""
    return quote(redacted(userinfo), safe="")

def link_targets(value: str, redactor: Optional[Redactor], caller: Optional[CallerKey],
                 left: Optional[list[int]] = None) -> str:
    """A Link header with its targets and anchors redacted and scrubbed as URL headers
    are (the rest of it, the caller's key masked as in any header, by the caller);
    ``left``: as :func:`url_header_hidden`'s."""
    def scrubbed(url: str) -> str:
        url = url if redactor is None else listed_url(redactor, url)
        url = url if caller is None else caller.url(url)
        return url_header_hidden(url, left=left)

    value = LINK_TARGET.sub(lambda found: f"<{scrubbed(found[1])}>", value)
    if "anchor" not in value.lower():
        return value
    return _LINK_ANCHOR.sub(
        lambda found: f"{found[1]}{scrubbed(found[2])}{found[3]}", value)

