"""Pieces of HTTP syntax (RFC 9110) that more than one module checks input against, and
the container of a WSGI app's response headers, which servers check too."""

from __future__ import annotations

import re
import typing as t

__all__ = ["TOKEN", "as_given", "is_token", "shown_url", "without_userinfo"]

# RFC 9110 section 5.6.2 token: what a method or a header field name may be made of.
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")


def is_token(text: str) -> bool:
    """True when ``text`` is a whole RFC 9110 token (a method or header name)."""
    return TOKEN.match(text) is not None


# A URL's scheme and "//", then its authority up to its path, query or fragment, and the
# "user:password@" that may start it (up to its last "@", as urlsplit reads it). Anchored:
# only the authority's, never a later "//...@" in the path or query (?next=//owl@host).
_USERINFO = re.compile(r"\A([^/?#]*//)([^/?#]*)@")
# The same for a text shown in a message, which may be a URL given without its scheme
# ("user:pw@metrics.example.com", the mistake newcomer2's hint answers) or with one slash
# ("http:/user:pw@host"): what starts it up to an "@" before any "/", "?" or "#" is taken
# for the userinfo too.
_SHOWN_USERINFO = re.compile(r"\A((?:[^/?#]*//|[A-Za-z][A-Za-z0-9+.\-]*:/(?!/))?)([^/?#]*)@")


def shown_url(url: str) -> str:
    """``url`` for a message or an error: its userinfo (``user:password@``, a credential)
    replaced by ``***@``. Any text, a URL that does not parse too (what is refused is
    shown)."""
    return _SHOWN_USERINFO.sub(r"\1***@", url, count=1) if "@" in url else url


def without_userinfo(url: str) -> str:
    """``url`` without its userinfo (``user:password@``): for a link handed to others."""
    return _USERINFO.sub(r"\1", url, count=1) if "@" in url else url


class _ListOfItsOwn(t.List[t.Tuple[str, str]]):
    """Headers the app gave as a list of a class of its own: a list still, as uWSGI and
    mod_wsgi ask (PyList_Check), but not exactly one, which wsgiref refuses."""


def as_given(given: object, headers: t.List[t.Tuple[str, str]]) -> t.Any:
    """``headers``, a WSGI middleware's edit of the app's response headers ``given``, in
    a container the server takes or refuses as it does ``given``. PEP 3333 asks for a
    list; wsgiref (``python app.py``, Django's runserver) answers 500 to anything but
    exactly a list, other servers iterate what they get (waitress twice). So a list
    stays a list, a list of another class is one too (not exactly a list), an iterator
    an iterator (read once), and anything else (a tuple, a dict's items) a tuple."""
    kind = given.__class__
    if kind is list:
        return headers
    if isinstance(given, list):
        return _ListOfItsOwn(headers)
    if hasattr(given, "__next__"):
        return iter(headers)
    return tuple(headers)
