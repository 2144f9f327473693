"""Where a header URL's userinfo ends when :func:`.header_urls.userinfo_hidden`'s first
reading (to the authority's first ``/``, ``?``, ``#``) holds no ``@``: a password holding
one of those unencoded, or a user holding a backslash, read as a body's URL is
(:mod:`.text_userinfo`; moved from there, hostile58). Pure functions; one match from one
place: linear.
"""

from __future__ import annotations

from readme_metrics._lazy_re import lazy_compile

__all__ = ["backslash_user_end", "loose_userinfo_end"]


def loose_userinfo_end(rest: str, end: int) -> int:
    """Where the userinfo of a URL's ``rest`` (after its ``//``: a header's URL, the
    whole value) ends, its authority ``rest[:end]`` holding no ``@``: at the first ``@``
    after a password holding an unencoded ``/``, ``?`` or ``#`` (``ada:pa/ss@host/``,
    as the body reader reads it in a text; then to the authority's last ``@``), when
    ``rest[:end]`` is ``user:`` and no port; -1 when it is none."""
    colon = rest.find(":", 0, end)
    # (an IP literal's "[" is no user's: http://[::1]:80/@vite/client was read as
    # "[" and a password, its host and path hidden; review143. An empty port, then
    # "/", "?", "#" or "\@", is a port's; a password starting with a backslash,
    # ada:\pw@h, a password's, as a body's: hostile56.)
    # (A port's digits then a backslash are a password's, ada:1234\pw@h, but before an
    # "@" or after a host no user is: host:8080\@evil, localhost:8080\a@b; hostile59.)
    if (colon < 0 or end == colon + 1 and (rest[end] != "\\" or rest[end + 1:end + 2] in (
            "@", "")) or rest[colon + 1:end].isdigit() and (
            rest[end] != "\\" or rest[end + 1:end + 2] in ("@", "")
            or _HOST_USER.fullmatch(rest, 0, colon) is not None) or "[" in rest[:colon]):
        return -1
    found = _LOOSE.match(rest, end)
    return -1 if found is None else found.end() - 1


def backslash_user_end(rest: str, end: int) -> int:
    """Where the userinfo of a URL's ``rest`` (after its ``//``: a header's URL, the
    whole value) ends when its user holds a backslash, ``rest[end]`` (its first; no
    ``@``, ``:`` before it), and a password follows (``a\\da:pw@host/``, as the body reader
    reads a body's and curl and ``urlsplit`` read it; a WHATWG parser reads the host
    ``a`` and a path: hostile56, its password was sent in either reading): at its ``@``,
    the password read loosely (:data:`_LOOSE`); -1 when it is none (no ``:`` after the
    user, a port's digits, no ``@``)."""
    user = _BACKSLASH_USER.match(rest, end)
    if user is None or _PORT.match(rest, user.end()) is not None:
        return -1
    found = _LOOSE.match(rest, user.end())
    return -1 if found is None else found.end() - 1


#: A user's rest from its backslash to its ``:`` (a user's characters, backslashes too,
#: as the body reader's); then no port: digits to the authority's end
#: (``a\\b:8080/x@y``), or right before the ``@`` after a backslash (``a\\b:8080\\@evil``,
#: as ``host:8080\\@evil`` is kept). Digits, a backslash and more before the ``@``
#: (``a\\b:1234\\pw@h``: a WHATWG parser's host ``a`` and a path, curl's and
#: ``urlsplit``'s password ``1234\\pw``) are a password, hidden (hostile61: read as a
#: port, sent; :func:`loose_userinfo_end` reads ``ada:1234\\pw@h`` so since hostile59).
_BACKSLASH_USER = lazy_compile(r"\\[^\s/?#:@\[\]]*:")
_PORT = lazy_compile(r"[0-9]*(?:[/?#]|\Z)|[0-9]*\\@")


#: The rest of a loose password from its first ``/``, ``?`` or ``#`` in a URL that is a
#: header's whole value (no blank nor quote ends it), then the authority to its last
#: ``@``, a backslash after its first ending it (``ada:pa/ss@host\\@evil/`` goes to
#: ``host``, as :func:`.header_urls.userinfo_hidden` reads a backslash after an ``@``;
#: hostile56); one match from one place: linear.
_LOOSE = lazy_compile(r"[^@]*(?:@[^/?#@\\]*)*@")
#: A user that is a host no user name is (as :mod:`.text_userinfo` reads one).
_HOST_USER = lazy_compile(r"(?i:localhost)|[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
