"""A userinfo (``user:password@``) hidden in an authority header's value: Host's one,
each of a list's (X-Forwarded-Host, X-Forwarded-For), each of Forwarded's pairs', quoted
or not (:func:`masked_authority`), and a URL's userinfo as a URL writes it
(:func:`masked_userinfo`, which :mod:`.header_urls` uses for every URL header). The
password hidden whole, the user kept, as in a body or a query. (Moved out of
``header_urls``: house56.)
"""

from __future__ import annotations

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har.userinfo_shown import hidden_password, hidden_user, shown_user
from readme_metrics.masking import url_quoted

__all__ = ["masked_authority", "masked_userinfo"]


def masked_authority(value: str) -> str:
    """An authority header's value with each userinfo in it (``user:password@host``)
    hidden as a URL's is: Host's one, each of a list's (X-Forwarded-Host's,
    X-Forwarded-For's ``ada:...@10.0.0.1, 10.0.0.2``), each of Forwarded's pairs'
    (``for=...;host=ada:...@h;proto=https``, quoted or not; hostile53: these two sent it
    in clear, and a list's second was read with the first as its user). A userinfo
    starts at the value's start or after a ``,``, ``;`` or ``=`` (a password may hold
    those: read from its segment's first ``user:``), runs to its ``@`` (the last of its
    element: a password may hold one), and stops at no blank nor ``"``. A pair's quoted
    value (``host="ada:p\\"w@h"``, ``host="ada:p w@h"``) is one authority: its userinfo
    from the quote to its last ``@`` (review143: read from its blank or escaped quote,
    the password's start went in clear), and one followed by ``@`` is its userinfo
    (``host="ada:pw"@h``; hostile55)."""
    if "@" not in value:
        return value
    out: list[str] = []
    kept = 0
    for quoted in _QUOTED_VALUE.finditer(value):
        content = quoted.group(1)
        at = content.rfind("@")
        # (each quoted value is a piece of its own, one without "@" too: a quote is
        # a character of the pieces between them, for="[::1]:80";host=... was read as
        # one userinfo from its "[)
        out.append(_masked_elements(value[kept:quoted.start(1)]))
        if at < 0 and value[quoted.end(1):quoted.end(1) + 2] == '"@':  # host="ada:pw"@h
            out.append(masked_userinfo(content))
        else:
            out += (content,) if at < 0 else (masked_userinfo(content[:at]), content[at:])
        kept = quoted.end(1)
    out.append(_masked_elements(value[kept:]))
    return "".join(out)


#: A pair's quoted value (Forwarded's ``host="..."``: a quoted-string, its ``\``
#: escapes read as one with what they escape; to the value's end when never closed):
#: its content, group 1; each character read once. The pair's name a token from the
#: value's start, a blank, ``;`` or ``,``: a ``="`` inside an unquoted value
#: (``host=ada:p="w@h``) opens none (its ``p=`` was sent in clear; hostile55).
_QUOTED_VALUE = lazy_compile(
    r'(?:^|(?<=[\s;,]))[!#$%&\'*+.^_`|~0-9A-Za-z-]+="((?:[^"\\]|\\[\s\S]|\\$)*)')


def _masked_elements(value: str) -> str:
    """:func:`masked_authority` of a value, or part of one, holding no pair's quoted
    value."""
    if "@" not in value:
        return value
    out: list[str] = []
    kept = 0
    for segment in _AT_SEGMENT.finditer(value):
        start, end = segment.span(1)
        if start < end and value[start] == '"':  # (a value's quote: "ada:pw@h", or a
            start += 1  # closing one; no method on the value: a call per segment)
        user = _FIRST_ELEMENT.match(value, start, end) or _USERINFO_START.search(
            value, start, end)
        if user is None:  # no password: a token as the user, after the last , ; or =
            user = _LAST_ELEMENT.search(value, start, end)
        at = start if user is None else user.start()
        if at < end:
            out += value[kept:at], masked_userinfo(value[at:end])
            kept = end
    out.append(value[kept:])
    return "".join(out)


#: What comes before each ``@`` of an authority value: from a blank, ``@`` or the start
#: (each character read by one try: linear), an ``@`` inside when another follows
#: before its element ends. A ``"`` is one of its characters (``host=ada:p"w@h``, a
#: quote in an unquoted value: a segment from the quote sent ``p"`` in clear, hostile55);
#: a quoted value's own quotes are around the pieces read (:func:`masked_authority`),
#: and a segment's first one is skipped (:func:`_masked_elements`).
_AT_SEGMENT = lazy_compile(r'(?<![^\s@])((?:[^\s@]|@(?=[^\s,;@]*@))*)@')
#: A segment's userinfo with a password: its first element holding a ``:``, the
#: segment's first, or one after a ``,``, ``;``, ``=`` (each read to the next: linear).
_FIRST_ELEMENT = lazy_compile(r"[^,;=:]*:")
_USERINFO_START = lazy_compile(r"(?<=[,;=])[^,;=:]*:")
#: One without: its last element (the segment's start when it has one alone).
_LAST_ELEMENT = lazy_compile(r"(?<=[,;=])[^,;=]*$")


# What a userinfo's user may hold as written (RFC 3986: unreserved, sub-delims, escapes;
# a backslash as sent: a domain's CORP\\ada, hostile56).
_USER_SAFE = "!$&'()*+,;=%\\"


def masked_userinfo(userinfo: str) -> str:
    """A URL's userinfo hidden, as a URL writes it (percent-encoded): ``user:password``
    has its user kept and its password hidden whole (:func:`.text_userinfo.hidden_password`,
    as in a body or a query: its mask showed its last four characters, hostile52); a user
    without a password (``https://<token>@host``, ``<token>:@``) is logged as in a body
    (:func:`.text_userinfo.hidden_user`: a user name kept, a token hidden; its mask showed
    a short one whole or half till hostile54); one hidden already, by the lists or as the
    caller's key, stays as it is."""
    user, colon, password = userinfo.partition(":")
    if colon and password:
        mark = hidden_password(password)
        return url_quoted(shown_user(user), _USER_SAFE) + ":" + (
            url_quoted(password, _USER_SAFE) if mark is None else mark)
    return url_quoted(hidden_user(user), _USER_SAFE) + colon
