"""The checks of the options that are lists of strings: the key lists (``denylist``,
``allowlist`` and their deprecated aliases), ``skip_methods`` and ``allowed_http_hosts``.

A list is given as a list of str or as one comma-separated str (the environment's text);
each check returns the list normalised, or raises ``ValueError`` through
:meth:`~readme_metrics.options.Option.invalid` (a list written in brackets, a method or a
host that is not one, with a hint naming the entry). A key list written with another
separator than the comma is accepted and warned about (:func:`key_separator_warning`). As
in :mod:`readme_metrics.number_checks`, nothing here logs.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Callable, Optional
from urllib.parse import urlsplit

from readme_metrics._env import from_dotenv
from readme_metrics._wording import KeptError, env_file_hint

if TYPE_CHECKING:
    from readme_metrics.options import Option

__all__ = ["hosts", "key_separator_warning", "methods", "strings"]


_EMPTY_LIST = re.compile(r"\s*\[\s*\]\s*")


def _bracketed(text: str) -> bool:
    """True when the whole of ``text`` is in brackets, as a list is written in JSON or
    Python (``["a", "b"]``, ``[a,b]``): no key list means that."""
    text = text.strip()
    return text.startswith("[") and text.endswith("]")


def _as_commas(text: str) -> str:
    """How a list written in brackets is written here: ``["a", "b"]`` is ``'a,b'``."""
    items = [item.strip().strip("'\"").strip() for item in text.strip()[1:-1].split(",")]
    listed = ",".join(item for item in items if item)
    return (f"write it without brackets or quotes, {listed!r}" if listed
            else "an empty list is written [] alone")


def _json_list(text: str) -> bool:
    """True when ``text`` is a JSON array (``["a", "b"]``); ``[::1]``, an IPv6 host, is not."""
    if not _bracketed(text):
        return False
    try:
        return isinstance(json.loads(text), list)
    except ValueError:
        return False


def strings(normalise: Callable[[str], str] = str,
            listed: Callable[[str], bool] = _bracketed
            ) -> Callable[[Option, Any], list[str]]:
    """A list of strings, or one comma-separated string; each stripped and ``normalise``-d.

    ``listed`` tells a string written as a list (refused)."""
    def check(option: Option, value: Any) -> list[str]:
        # list() of a str would split it into characters: "password" must stay one key.
        items = value.split(",") if isinstance(value, str) else value
        if isinstance(value, str) and _EMPTY_LIST.fullmatch(value):
            # "[]": the empty list, said explicitly. An empty variable means unset (the
            # default), so README_SKIP_METHODS=[] is how the environment says "log every
            # method" (its default, OPTIONS, is the one list default that is not empty).
            return []
        if isinstance(value, str) and listed(value):
            # JSON (["password"]) would be one key named '["password"]' that matches
            # nothing, and [password,token] keys '[password' and 'token]': the denylist
            # would silently redact nothing.
            raise option.invalid(value, hint=_as_commas(value))
        kept = env_file_hint(value, items=True, dotenv=from_dotenv(option.variable))
        if kept:
            # '"password,token"' or 'password,token  # secrets' (docker run --env-file keeps
            # quotes and comments) would be the keys '"password' and 'token"', or
            # 'token  # secrets', which no field has: nothing would be redacted.
            raise KeptError(*option.invalid(value, hint=kept).args)
        if not isinstance(items, (list, tuple, set, frozenset)) or not all(
                isinstance(item, str) for item in items):
            raise option.wrong_type(value, "a list of str (or one comma-separated str)")
        return [normalise(item.strip()) for item in items if item.strip()]
    return check


# A key list written with another separator than the comma ("password;token", a shell's
# "password token", "id | name") is one key that no field has: the list would redact (or
# keep) nothing. It stays that key, as a JSON key may hold a ';' or a blank, but is said.
# A list written with commas used them: a blank there is its key's own ("first name").
_OTHER_SEPARATOR = re.compile(r"\s*[;|]\s*|\s+")
_OTHER_THAN_BLANK = re.compile(r"\s*[;|]\s*")


def key_separator_warning(option: Option, given: Any, value: Any) -> Optional[str]:
    """The warning for a key list given as text (the environment's, or one string) whose
    keys hold a ';', a '|' or, in a text without a comma, a blank: keys are separated by
    commas."""
    if not isinstance(given, str) or not isinstance(value, list):
        return None
    separator = _OTHER_THAN_BLANK if "," in given else _OTHER_SEPARATOR
    odd = [key for key in value if separator.search(key)]
    if not odd:
        return None
    meant = ",".join(part for key in value for part in separator.split(key) if part)
    return (f"readme_metrics: {option.label()} holds the key {odd[0]!r}: keys are separated "
            f"by commas ({meant!r}), so it is matched as one key, as written, which is "
            "likely no field's name")


# RFC 9110 5.6.2: a method is a token; "GET POST" (spaces) or "GET;POST" would be one
# method that no request has, so nothing would ever be skipped.
_METHOD = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# What a Host header holds: a name or address, maybe a port. A URL, a path or a wildcard
# (Django's ".example.com", "*") would match no Host, and every call would be skipped.
_HOST = re.compile(r"(\[[0-9a-f:.]+\]|[a-z0-9_\-][a-z0-9_\-.]*)(:[0-9]+)?")


def _method(name: str) -> str:
    """A registered method in upper case, whatever case it was written in ("options" is
    OPTIONS); any other as written: a method is case-sensitive (RFC 9110 9.1), and a
    custom one sent in lower case ("fetch") was upper-cased here and never skipped."""
    upper = name.upper()
    return upper if upper in REGISTERED_METHODS else name


def methods(option: Option, value: Any) -> list[str]:
    """HTTP method names, each one token: registered ones in upper case, others as
    written."""
    names = strings(_method)(option, value)
    for method in names:
        if not _METHOD.fullmatch(method):
            raise option.invalid(value, hint=f"{method!r} is not one method (separate "
                                 "methods with commas)")
    return names


#: IANA's HTTP Method Registry (RFC 9110's eight, PATCH, WebDAV's and the others
#: registered), and QUERY (the safe method with a body, in the making).
REGISTERED_METHODS = frozenset((
    "ACL", "BASELINE-CONTROL", "BIND", "CHECKIN", "CHECKOUT", "CONNECT", "COPY", "DELETE",
    "GET", "HEAD", "LABEL", "LINK", "LOCK", "MERGE", "MKACTIVITY", "MKCALENDAR", "MKCOL",
    "MKREDIRECTREF", "MKWORKSPACE", "MOVE", "OPTIONS", "ORDERPATCH", "PATCH", "POST",
    "PRI", "PROPFIND", "PROPPATCH", "PUT", "QUERY", "REBIND", "REPORT", "SEARCH", "TRACE",
    "UNBIND", "UNCHECKOUT", "UNLINK", "UNLOCK", "UPDATE", "UPDATEREDIRECTREF",
    "VERSION-CONTROL"))


def unknown_methods_warning(option: Option, given: Any, value: Any) -> Optional[str]:
    """The warning for a method no registry has (README_SKIP_METHODS=FETCH): kept, as a
    custom method is legal HTTP, but said, as a misspelt one skips nothing."""
    unknown = [method for method in value if method not in REGISTERED_METHODS]
    if not unknown:
        return None
    listed = ", ".join(repr(method) for method in unknown)
    # A custom method written in lower case ("purge", as README_SKIP_METHODS=options,purge
    # reads) is kept so, and no longer skips the upper-case one clients send (Varnish's
    # PURGE): said, with the spelling to write (review98).
    cased = dict.fromkeys(method.upper() for method in unknown
                          if method != method.upper() and method.upper() not in value)
    meant_none = [method.lower() for method in value] in _NONE_WORDS
    other = ("" if not cased or meant_none else f" ({', '.join(map(repr, cased))}, in upper "
             "case as clients usually send a method, is another method: list it too)")
    return (f"readme_metrics: {option.label()} lists {listed}, no method of the HTTP "
            "method registry (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, TRACE, CONNECT "
            "and WebDAV's): kept, it skips only requests sent with that very method"
            f"{other}, which servers pass on as any other; a misspelt method skips nothing"
            + (_EVERY_METHOD if meant_none else ""))


# README_SKIP_METHODS=none, meant as "skip none", was warned of as an unknown method
# without a word of how every method is logged (newcomer28).
_NONE_WORDS = [[word] for word in ("none", "null", "nothing", "no", "false", "off", "-")]
_EVERY_METHOD = ("; to skip no method (log every one), give an empty list: "
                 "README_SKIP_METHODS=[] (skip_methods=[])")


def hosts(option: Option, value: Any) -> list[str]:
    """Host names, lower case, each with or without a port."""
    names = strings(str.lower, _json_list)(option, value)
    for host in names:
        if not _HOST.fullmatch(host):
            raise option.invalid(value, hint=_why_no_host(host))
    return names


def _why_no_host(host: str) -> str:
    """What is wrong with one entry of allowed_http_hosts, naming it (a list may be long)."""
    if "*" in host or host.startswith("."):
        return f"{host!r} is a wildcard, which never matches: list each host"
    netloc = urlsplit(host).netloc if "://" in host else ""
    if netloc:
        return f"{host!r} is a URL: list its host, {netloc!r}"
    if "/" in host:
        return f"{host!r} is not a host name: list the host alone, without a path"
    if host.count(":") > 1:
        return f"{host!r} is not a host name: an IPv6 address goes in brackets, '[::1]'"
    if not host.isascii():
        name, colon, port = host.partition(":")
        try:
            sent = name.encode("idna").decode("ascii") + colon + port
        except UnicodeError:
            return f"{host!r} is not a host name"
        if _HOST.fullmatch(sent):
            # The Host header holds a name as DNS does ("xn--..."): matched as sent.
            return (f"{host!r} is an internationalised name, which clients send in its "
                    f"ASCII form: list {sent!r}")
    return f"{host!r} is not a host name"
