"""A URL's password written in a text, hidden by the denylist (hostile51): a body's
(``see https://ada:...@host/``, ``postgres://ada:...@db/x``, a JSON string's
``https:\\/\\/ada:...@host``) and a query's or form's value (``next=https://ada:...@host/``,
``next=https%3A%2F%2Fada%3A...%40host``). A header holding a URL has its password hidden
always, by :func:`hidden_password` too (:mod:`.header_urls`: it was masked, its last four
characters shown, till hostile52). The user is kept (masked when as long as a token:
:func:`shown_user`, the headers' rule too), the password hidden percent-encoded
(``%5BREDACTED%206%5D``), so that the URL stays a URL; a user alone (``https://<token>@h``)
as :func:`hidden_user` says, everywhere (hostile54). Written with Unicode escapes
(``https:\\u002f\\u002fada:...\\u0040h``) too, and one encoding deeper: encoded twice,
or escaped then percent-encoded (:mod:`.userinfo_deeper`, hostile58). Pure functions over
the text; each authority read once: linear. Each reader reads
:data:`.userinfo_starts.MOST_FOUND` URLs in one text at most, then hides the rest of it
unread (fail closed: a MiB of ``h://x@`` cost 0.8 s of CPU, a loop for each; hostile61).
A Windows domain's user and password written without a scheme (``CORP\\ada:pw@proxy``)
are read too (:mod:`.userinfo_bare`, hostile63), and a special scheme's URL with
separators other than ``//`` (``https:ada:pw@h``, :mod:`.userinfo_lenient`, hostile64;
with JSON's escapes, ``https:ada:pw\\u0040h``, hostile65).
How a userinfo is logged is :mod:`.userinfo_shown`'s (its names re-exported here).
"""

from __future__ import annotations

import re
from typing import Iterator, Optional, Union
from urllib.parse import quote, unquote

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har.redaction_marks import escaped_redacted, redacted
from readme_metrics.har.userinfo_bare import BARE
from readme_metrics.har.userinfo_deeper import DEEPER, deeper_windows
from readme_metrics.har.userinfo_lenient import LENIENT, LENIENT_ESCAPED, address_user
from readme_metrics.har.userinfo_shown import TOKEN_USER, hidden_password, hidden_user, shown_user
from readme_metrics.har.userinfo_starts import (
    ENCODED_SCAN,
    MOST_FOUND,
    RAW_SCAN,
    userinfo_matches,
)

__all__ = ["TOKEN_USER", "hidden_password", "hidden_user", "json_userinfo_hidden", "may_hold_at",
           "shown_user", "userinfo_hidden_in"]

#: A URL's userinfo, its scheme first, from a word's start: its user (group 1: no ``:``,
#: ``@`` nor bracket, an IP literal's), ``:``, its password (group 2) to the authority's
#: last ``@`` (a password may hold one), the authority ending at a blank, ``/``, ``?``,
#: ``#``, a double quote (a single one is a userinfo's), a backslash (``https:\/\/``,
#: JSON's escape, is read as ``https://``), a bracket of markup or a backquote. A
#: password holding ``/``, ``?`` or ``#`` unencoded (``https://ada:pa/ss@host/``, which
#: curl and browsers take loosely) is read to the first ``@`` after it, then to the
#: authority's last, when what follows the ``:`` up to that ``/``, ``?`` or ``#`` is no
#: port (digits): no URL has such a host, and the reading that hides it is the one a
#: client sends (:func:`loose_userinfo_end`). A loose password runs to no ``://``
#: (``:\/\/``), where another URL starts: each character is read by at most two starts'
#: tries, linear. A backslash inside a user or a password before its ``@``
#: (``http://ada:p\w@host/``, JSON's ``p\\w``; curl's and ``urlsplit``'s password
#: ``p\w``) is theirs, the password read loosely, as a header's is (hostile55: sent); one
#: after the first ``@`` ends the authority (``https://ada:pw@host\@evil/``: hostile54),
#: as one after a port may (``host:8080\@evil``: :func:`_port_then_backslash`). A
#: ``<`` or ``>`` is a password's (``:<password>@``), but a closing tag's ``</`` and one
#: after a port's digits (hostile59). A user's backslash before ``u`` and
#: four hex digits is a Unicode escape's (:data:`_ESCAPED`); before another ``u`` the
#: user's (a domain's ``CORP\\user``: review145, its password was sent). A user holding
#: an ``@`` (an address as the user, ``https://ada@corp.com:pw@host/``, which curl and a
#: WHATWG parser read to the authority's last ``@``) is read so when a ``:`` then another
#: ``@`` follow it within the authority (hostile56: its password was sent), with any
#: later ``@`` of the user (``ada@corp.com@x.org``: :func:`.userinfo_lenient.address_user`,
#: review156: the password was sent); one look a start, to the ``@`` after its ``:``:
#: linear.
_RAW_URL = (
    r"[A-Za-z][A-Za-z0-9+.\-]*:(?:\\?/){2}"
    + address_user(r"[^\s/?#\"<>\\`:@\[\]]|\\(?!u[0-9A-Fa-f]{4})[^\s/?#\"<>`:@\[\]]",
                   r"[^\s/?#\"<>\\`:@\[\]]", "@", r":[^\s\"<>`@]*@") + r"(?::"
    r"((?![0-9]+[<>])(?:(?![0-9]*(?:[/?#]|\\/)|\\@|\\\"[,:\]}])"
    r"(?:(?!:\\?/)(?:[^\s\"<>\\`@]|<(?!/)|>|\\[^\s<>`@]|\\(?=@)))*"
    r"(?:@[^\s/?#\"<>\\`@]*)*|(?:[^\s/?#\"<>\\`]|<(?!/)|>)*)))?@")
_RAW = lazy_compile(_RAW_URL)  # (from a word's start or a sign's escape: .userinfo_starts)

#: Blanks (what ``\\s`` reads in a text: where :data:`_RAW`'s authority ends) and the
#: other signs that end it there (``"``, ``<``, ``>``, a backquote; a backslash is a
#: user's or a password's, as :data:`_RAW` reads it: hostile55), as code
#: points: the same written as an escape (``\\u3000``, ``\\u00a0``: JSON's ensure_ascii)
#: or percent-encoded (``%20``, ``%E3%80%80``) end it in :data:`_ESCAPED` and
#: :data:`_ENCODED` too (review144: ``https://example.com\\u3000...ada@example.com``,
#: Japanese prose as Python's json writes it, had the website and the address's user
#: hidden as a user alone; a password was read across blanks to a later address's
#: ``@``, prose hidden with it).
_ENDS = (*range(0x9, 0xE), *range(0x1C, 0x21), 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B),
         0x2028, 0x2029, 0x202F, 0x205F, 0x3000, *map(ord, "\"<>`"))


#: :data:`_ENDS` but ``"``: a loose password's, written ``\\u0022`` or ``%22`` as JSON's
#: ``\\"`` is :data:`_RAW`'s (hostile58: ``https:\\u002f\\u002fada:Pa55\\u0022w\\u0040h``
#: and ``https%3A%2F%2Fada%3APa55%22w%40h`` ended there and sent it).
_LOOSE_ENDS = tuple(point for point in _ENDS if point != 0x22)


def _escapes(signs: str, ends: tuple[int, ...] = _ENDS) -> str:
    """An alternation of the Unicode escapes' hex (no case) of ``ends`` and ``signs``."""
    return "(?i:" + "|".join(f"{point:04x}" for point in (*ends, *map(ord, signs))) + ")"


def _percents(signs: str, ends: tuple[int, ...] = _ENDS) -> str:
    """An alternation of the percent-encoded UTF-8 (after the first ``%``, no case) of
    ``ends`` and ``signs``."""
    return "(?i:" + "|".join("%".join(f"{byte:02x}" for byte in chr(point).encode())
                             for point in (*ends, *map(ord, signs))) + ")"


#: A character of a percent-encoded URL's user (no IP literal's bracket: ``%5B%3A%3A1%5D``,
#: ``[::1]``, is no user and password), of its password (:data:`_ENCODED`).
_ENCODED_USER = r"[^\s/?#&=%:@\"'<>\\`+\[\]]|%(?!" + _percents("/?#:@[]") + r")[0-9A-Fa-f]{2}"
#: A password's ``<`` or ``>`` percent-encoded (``%3Cpassword%3E``: hostile59), but a
#: closing tag's ``</``.
_ENCODED_ANGLES = r"%3[Cc](?!%2[Ff]|/)|%3[Ee]"
_ENCODED_PASSWORD = (r"[^\s/?#&=%@\"'<>\\`+]|%(?!" + _percents("/?#@") + r")[0-9A-Fa-f]{2}|"
                     + _ENCODED_ANGLES)
#: ... of a password read loosely: a ``/``, ``?``, ``#`` in it too, as written or encoded.
_ENCODED_LOOSE = (r"[^\s&=%@\"'<>\\`+]|%(?!" + _percents("@", _LOOSE_ENDS)
                  + r")[0-9A-Fa-f]{2}|" + _ENCODED_ANGLES)

#: The same percent-encoded (a query's value): ``https%3A%2F%2F``, the user, ``%3A``, the
#: password to the authority's last ``%40``, ending at an encoded ``/``, ``?``, ``#``, a
#: pair's ``&``, ``=``, or a blank (a form's ``+`` too: a value's space, ``%2B`` a plus;
#: review144). Each delimiter as written or encoded (``https%3A%2F%2Fada:...%40h``,
#: ``https://ada%3A...%40h``, ``https%3A\/\/``: an encoder that keeps ``:`` or ``@``;
#: hostile55: no URL to this, sent), one at least encoded (:func:`_encoded`). A password
#: holding an encoded ``/``, ``?`` or ``#`` (``https://ada:pa/ss@h`` encoded) is read to
#: its first ``%40`` when no port's digits are before it, as :data:`_RAW` reads one
#: written out, to no other URL's start; and a URL starts after an escape of a sign too
#: (``x%20https%3A...``: prose in a form's value; hostile56: both sent in clear); its
#: ``//`` may be PHP's ``\\/\\/`` encoded too (``%5C%2F``: JSON in a form's value).
_ENCODED_URL = (
    r"[A-Za-z][A-Za-z0-9+.\-]*(?:%2[Bb][A-Za-z0-9+.\-]*)*(?::|%3[Aa])(?:(?:\\|%5[Cc])?(?:/|%2[Ff])){2}"
    + address_user(_ENCODED_USER, _ENCODED_USER, "(?:@|%40)",
                   "(?::|%3[Aa])(?:" + _ENCODED_LOOSE + r")*(?:@|%40)")
    + r"(?:(?::|%3[Aa])((?![0-9]+%3[CcEe])"
    r"(?:(?![0-9]*(?:[/?#]|%(?i:2f|3f|23)|(?:\\|%5[Cc])(?:/|%2[Ff]))"
    r"|[0-9]+%22|(?:\\|%5[Cc])(?:@|%40)|%22(?:[,:\]}]|%(?i:2c|3a|5d|7d)))"
    r"(?:(?!(?::|%3[Aa])(?:\\|%5[Cc])?(?:/|%2[Ff]))(?:" + _ENCODED_LOOSE + r"))*"
    r"(?:(?:@|%40)(?:[^\s/?#&=%@\"'<>\\`+]|%(?!" + _percents("/?#@") + r")[0-9A-Fa-f]{2})*)*"
    r"|(?:" + _ENCODED_PASSWORD + r")*"
    r"(?:(?:@|%40)(?:[^\s/?#&=%@\"'<>\\`+]|%(?!" + _percents("/?#@") + r")[0-9A-Fa-f]{2})*)*"
    r")))?(?:@|%40)")
_ENCODED = lazy_compile(_ENCODED_URL)  # (as _RAW)

#: A lone backslash in a password read with escapes: one no JSON escape starts (``\\x``,
#: ``\\@``: a raw text's, as :data:`_RAW` reads a password's; review145's finding 3, the
#: escaped user ``DOM\\u00e9x`` beside the password ``s3cret99\\x``: sent in clear). A
#: JSON escape (``\\n``, ``\\/``, ``\\"``, ``\\\\``, ``\\u0041``) is no such backslash:
#: ``\\n`` is a newline's, which ends a URL (review145).
_LONE = r"\\(?![bfnrt\"\\/\s]|u[0-9A-Fa-f]{4})"
#: A password's ``<`` or ``>``, as written or escaped (Go's JSON writes ``\\u003c``), but
#: a closing tag's ``</`` (hostile59).
_ESCAPED_ANGLES = (r"(?:<|\\u003[Cc])(?!/|\\/|\\u002[Ff])|>|\\u003[Ee]")
#: A character of a user read with escapes, of a password (:data:`_ESCAPED`): a JSON
#: string's ``\\\\`` (a backslash: ``CORP\\\\ada``) and a lone backslash too; no IP
#: literal's bracket.
_ESCAPED_USER = (r"[^\s/?#\"<>\\`:@\[\]]|\\\\|" + _LONE + r"|\\u(?!" + _escapes(":/@?#[]")
                 + r")[0-9A-Fa-f]{4}")
_ESCAPED_PASSWORD = (r"[^\s/?#\"<>\\`@]|\\\\|" + _LONE + r"|\\u(?!" + _escapes("@/?#")
                     + r")[0-9A-Fa-f]{4}|" + _ESCAPED_ANGLES)
#: ... read loosely: a ``/``, ``?``, ``#`` in it too, as written or escaped (``\\/``).
_ESCAPED_LOOSE = (r"[^\s\"<>\\`@]|\\[\\/\"]|" + _LONE + r"|\\u(?!" + _escapes("@", _LOOSE_ENDS)
                  + r")[0-9A-Fa-f]{4}|" + _ESCAPED_ANGLES)

#: The same with JSON's (or a JavaScript text's) Unicode escapes: its ``:``, ``/``, ``@``
#: each as written or as ``\u003a``, ``\u002f`` (or ``\/``), ``\u0040``
#: (``https:\u002f\u002fada:...\u0040h``, which a JSON writer that escapes them sends;
#: hostile54: read as no URL, sent in clear), the user and password holding other
#: escapes; the password to the authority's last ``@``. A start's authority holds no
#: ``/`` nor ``\`` but another escape's: no other start's, linear.
_ESCAPED = lazy_compile(
    r"(?<![A-Za-z0-9+.\-%])[0-9+.\-]*[A-Za-z][A-Za-z0-9+.\-]*(?::|\\u003[Aa])(?:\\?/|\\u002[Ff]){2}"
    + address_user(_ESCAPED_USER, _ESCAPED_USER, r"(?:@|\\u0040)",
                   r"(?::|\\u003[Aa])(?:" + _ESCAPED_LOOSE + r")*(?:@|\\u0040)")
    + r"(?:(?::|\\u003[Aa])((?![0-9]+(?:\\\"|\\u0022|[<>]|\\u003[CcEe])|" + _LONE
    + r"(?:@|\\u0040)|(?:\\\"|\\u0022)[,:\]}])"
    r"(?:(?![0-9]*(?:[/?#]|\\/|\\u(?i:002f|003f|0023)))"
    r"(?:(?!(?::|\\u003[Aa])(?:\\?/|\\u002[Ff]))(?:" + _ESCAPED_LOOSE + r"))*"
    r"|(?:" + _ESCAPED_PASSWORD + r")*)(?:(?:@|\\u0040)(?:[^\s/?#\"<>\\`@]|\\u(?!"
    + _escapes("@/?#") + r")[0-9A-Fa-f]{4})*)*))?(?:@|\\u0040)")
_UNICODE_ESCAPE = lazy_compile(r"\\u([0-9A-Fa-f]{4})")


def userinfo_hidden_in(text: str) -> str:
    """``text`` with the password of each URL's userinfo in it hidden, as written,
    percent-encoded or with Unicode escapes (see the module's docstring), a user alone
    as :func:`hidden_user` logs it; ``text`` itself when none is."""
    if "@" in text and "/" in text:
        text = _hidden(text, _raw(text), False)
    if "@" in text and ":" in text:  # (a special scheme's other separators: hostile64)
        text = _hidden(text, _capped(LENIENT.finditer(text)), False)
    if "\\" in text and "@" in text and ":" in text:  # (a domain's user, schemeless)
        text = _hidden(text, _capped(BARE.finditer(text)), False)
    if "\\" in text and "\\u" in text:  # (a lone backslash found first: memchr's speed)
        # (before the encoded reading: its %3A and %40 in a user, ada%3Ax:%40pw\u0040h,
        # read first as ada, x: and an @, and the password sent; hostile58)
        text = _hidden(text, _capped(_ESCAPED.finditer(text)), False, escaped=True)
        if "@" in text or "u0040" in text:  # (the lenient spellings escaped: hostile65)
            text = _hidden(text, _capped(LENIENT_ESCAPED.finditer(text)), False, escaped=True)
    if ("%40" in text or "@" in text and (
            "%3A" in text or "%3a" in text or "%2F" in text or "%2f" in text)) and (
            "/" in text or "%2F" in text or "%2f" in text) and (
            ":" in text or "%3A" in text or "%3a" in text):  # (its "://": hostile58)
        text = _hidden(text, _encoded(text), True)
    if "%" in text and DEEPER.search(text) is not None:
        text = _deeper(text)
    return text


def json_userinfo_hidden(text: str) -> str:
    """A JSON text read as :func:`userinfo_hidden_in` reads any, or, where a reader's cap
    cut it (its rest hidden unread, ``%5BREDACTED n%5D``: the cut leaves a string
    unterminated), hidden whole as the JSON string ``"[REDACTED n]"``, so that it stays
    JSON (hostile61; a redirect's JSON body read without lists was sent cut: review152)."""
    hidden = userinfo_hidden_in(text)
    if hidden.endswith("%5D") and not text.endswith("%5D"):
        return f'"{redacted(text)}"'
    return hidden


def may_hold_at(text: str) -> bool:
    """Whether ``text`` may hold a URL's ``@`` a reader reads: as written, percent-encoded
    once or twice (``%40``, ``%2540``), escaped (``\\u0040``, and that encoded,
    ``%5Cu0040``). The gate before :func:`userinfo_hidden_in` where a value is no URL
    header's (a cookie's: it looked for ``@`` and ``%40`` alone, hostile63)."""
    return "@" in text or "%40" in text or "u0040" in text or "%2540" in text


#: A reader's matches, then, past its cap (:data:`.userinfo_starts.MOST_FOUND`), where
#: the rest of the text it hides unread starts.
_Found = Iterator[Union[re.Match[str], int]]


def _raw(text: str) -> _Found:
    """:data:`_RAW`'s matches (:func:`.userinfo_matches`) but one whose user is a host then
    JSON's escape of a blank (:data:`_HOST_THEN_BLANK`): its authority ends there, no
    userinfo (review146: ``https://example.com\\nSupport:ada@x``'s user was hidden)."""
    for found in userinfo_matches(text, RAW_SCAN, _RAW):
        if isinstance(found, int) or "\\" not in found[1] or (
                _HOST_THEN_BLANK.match(found[1]) is None):
            yield found


def _capped(found: Iterator[re.Match[str]]) -> _Found:
    """A reader's ``found`` matches (:data:`_ESCAPED`'s, each tried at every character
    in C) to :data:`.userinfo_starts.MOST_FOUND`, then where the next one starts: what a
    match logs costs 3 to 5 us (a MiB of ``h:\\u002f\\u002fx\\u0040``, 130 ms: hostile61)."""
    for number, userinfo in enumerate(found):
        if number == MOST_FOUND:
            yield userinfo.start()
            return
        yield userinfo


#: A user that is a host (a ``.`` before its first backslash; ``CORP\\nancy`` has none)
#: then ``\\n``, ``\\r``, ``\\t`` or ``\\f`` (``corp.example\\ada``: the user's).
_HOST_THEN_BLANK = lazy_compile(r"[^\\.]*\.[^\\]*\\[nrtf]")


def _encoded(text: str) -> _Found:
    """:data:`_ENCODED`'s matches in ``text`` but a URL written whole as :data:`_RAW`
    reads it (its scheme's ``://`` and its ``@`` as written: that one's)."""
    for found in userinfo_matches(text, ENCODED_SCAN, _ENCODED):
        if isinstance(found, int) or "%" in text[
                found.start():found.start(1)] or text[found.end() - 1] != "@":
            yield found  # (a sign's escape before it too: x%20https://ada:...@h)


def _unescaped(written: str) -> str:
    """A userinfo's part read with Unicode escapes (``\\u0041``) as the text means it."""
    return _UNICODE_ESCAPE.sub(lambda found: chr(int(found[1], 16)), written) if (
        "\\u" in written) else written


def _hidden(text: str, found: _Found, encoded: bool, escaped: bool = False) -> str:
    """``text`` with each password ``found`` (its matches, group 2) hidden, its user
    (group 1) shown as :func:`shown_user` shows it; an empty password, or one hidden
    already, kept; ``escaped``: read with their Unicode escapes (:data:`_ESCAPED`); from
    where a reader stopped at its cap, the rest hidden whole, ``%5BREDACTED n%5D`` (fail
    closed, as :func:`_deeper` past its windows; hostile61). (No call on the text itself:
    a call for each URL on a text of many was counted the text's length each by
    tests/support's text_work.)"""
    out: list[str] = []
    kept = 0
    for userinfo in found:
        if isinstance(userinfo, int):
            cut = max(kept, userinfo)
            out += text[kept:cut], escaped_redacted(text[cut:])
            kept = len(text)
            break
        for group, shown in zip((1, 2), _shown(userinfo, encoded, escaped)):
            if shown is not None:
                out += text[kept:userinfo.start(group)], shown
                kept = userinfo.end(group)
    if not out:
        return text
    out.append(text[kept:])
    return "".join(out)


def _shown(userinfo: re.Match[str], encoded: bool, escaped: bool
           ) -> tuple[Optional[str], Optional[str]]:
    """What a reader's match's user and password are logged as (:func:`_hidden`), each
    None when kept as written (an empty password, one hidden already, a user name)."""
    user, password = userinfo.group(1, 2)
    if escaped:
        user, password = _unescaped(user), password and _unescaped(password)
    if password and password[0].isdigit() and _port_then_backslash(user, password, encoded):
        return None, None
    if not password:  # none, or an empty one (``https://<token>:@``): the user alone
        shown = hidden_user(user, encoded)
        return (None if shown == user else shown), None
    shown = shown_user(user, encoded) if user else user
    return (None if shown == user else shown), hidden_password(password, encoded)


def _port_then_backslash(user: str, password: str, encoded: bool) -> bool:
    """Whether a reader's ``user`` and ``password`` are a host, its port then a backslash
    and a path (``host:8080\\@evil``, as a WHATWG parser reads it; a user that is a
    host no user name is: ``localhost:8080\\api,ada@x.com``, ``10.0.0.1:80\\a\\b@x``;
    JSON's ``\\"`` after the port: a string's end, ``"...:8080\\",\\"ada@x"``), kept as
    written. Any other password starting with digits then a backslash is hidden
    (hostile59: ``ada:1234\\pw@host`` was read as a port and sent; escaped or encoded,
    the port, the path and an address's user were hidden)."""
    if encoded:
        user, password = unquote(user), unquote(password)
    found = _PORT_BACKSLASH.match(password)
    return found is not None and (found.end() == len(password) or password[found.end()] == '"'
                                  or _HOST_USER.fullmatch(user) is not None)


#: A port's digits then a backslash (JSON's ``\\\\`` too); a user that is a host no
#: user name is (``localhost``, an IPv4 address).
_PORT_BACKSLASH = lazy_compile(r"[0-9]+\\\\?")
_HOST_USER = lazy_compile(r"(?i:localhost)|[0-9]{1,3}(?:\.[0-9]{1,3}){3}")


def _deeper(text: str) -> str:
    """``text`` with each password of a URL spelled one encoding deeper than the readers
    read (:mod:`.userinfo_deeper`) hidden: read in its window decoded once by the reader
    of that spelling, what it hides written there encoded once more."""
    out: list[str] = []
    kept = read = 0
    for start, window, to_text in deeper_windows(text):
        if window is None:  # (past the windows read: the rest hidden unread, hostile60)
            start = max(start, read)
            out += text[kept:start], escaped_redacted(text[start:])
            kept = len(text)
            break
        if start < read:
            continue
        found = _ESCAPED.match(window) if "\\u" in window else None  # (as in the text)
        escaped = found is not None
        found = found or _ENCODED.match(window)
        if found is None:
            continue
        read = to_text(found.end())
        for group, shown in zip((1, 2), _shown(found, not escaped, escaped)):
            if shown is not None:
                out += text[kept:to_text(found.start(group))], quote(shown, safe="")
                kept = to_text(found.end(group))
    if not out:
        return text
    out.append(text[kept:])
    return "".join(out)
