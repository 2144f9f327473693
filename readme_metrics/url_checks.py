"""The checks of the options that are URLs: ``metrics_api``, ``readme_api_url`` (the API
key is sent to both) and ``base_log_url`` (the docs links' base).

:func:`http_url` takes an http(s) base URL the library can post to, or raises through
:meth:`~readme_metrics.options.Option.invalid` saying why not; a refused URL is shown with
its user and password masked (a refused text is no URL to read, so up to its last "@").
The ``*_warning`` functions word what a URL accepted deserves: the path the library adds
given as well, plain HTTP to another machine, a user and password in a link base. As in
:mod:`readme_metrics.number_checks`, nothing here logs.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Optional
from urllib.parse import SplitResult, urlsplit

from readme_metrics._http import shown_url
from readme_metrics._loopback import is_loopback_url

if TYPE_CHECKING:
    from readme_metrics.options import Option

__all__ = [
    "appended_path_warning", "http_url", "key_url_warnings", "link_userinfo_warning",
    "plain_http_warning",
]


# The library appends these paths itself ({metrics_api}/v1/request, {readme_api_url}/v1):
# a URL copied with them would be posted to .../v1/request/v1/request, which answers 404.
# The official package joined them as absolute paths, so such a URL worked there: it is
# taken off (with one warning), so that a configuration that worked keeps working.
_APPENDED_PATHS = {"metrics_api": ("/v1/request", "/v1"), "readme_api_url": ("/v1",)}


def _appended_path(option: Option, url: str) -> Optional[str]:
    """The path the library appends to ``option`` that ``url`` ends in, if any."""
    path = urlsplit(url).path.lower()
    return next((end for end in _APPENDED_PATHS.get(option.name, ()) if path.endswith(end)),
                None)


# In a URL's host or anywhere: a blank (host) or a control character (anywhere) is a typo
# that http.client refuses on every POST, or a host no resolver finds.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# A refused URL's userinfo, up to its last "@" (see _shown_refused).
_REFUSED_USERINFO = re.compile(r"\A((?:[^/?#]*//|[A-Za-z][A-Za-z0-9+.\-]*:/(?!/))?)[\s\S]*@")


def _shown_refused(text: str) -> str:
    """A refused URL ``text`` for its message: masked as :func:`.shown_url` masks a URL,
    but up to its last "@". A password holding an unencoded "/", "?" or "#" (generated
    ones often do) ends the authority early, as urlsplit and browsers read it (the rest
    is a port, a path, a query or a fragment): shown_url, right for a URL that parses,
    would show it. A refused text is no URL to read so: what may be a credential goes."""
    return _REFUSED_USERINFO.sub(r"\1***@", text, count=1) if "@" in text else text


def _host_name_problem(text: str, host: str) -> Optional[str]:
    """Why requests cannot post to the host name ``host`` of ``text``, if it cannot: an
    empty label (``a..b``, ``.a``: retried every batch for ever, each POST failing), or a
    name IDNA refuses (``\u2603.com``: requests' InvalidURL when the transport was made,
    out of ``MetricsMiddleware(app, config)``). IP literals are left to urlsplit, but an
    IPv6 zone id."""
    if ":" in host:  # an IPv6 literal (urlsplit checked it)
        # requests and the direct route alike look "::1%25lo" up as a name: every POST
        # fails ("Name or service not known"), retried for ever.
        return ("its IPv6 address has a zone id (%...), which requests cannot post to"
                if "%" in host else None)
    if not all(host.removesuffix(".").split(".")):  # (a final dot: a fully qualified name)
        return "its host name has an empty label (two dots in a row, or a leading dot)"
    import requests  # here, not at import: ``import readme_metrics`` needs no requests

    try:
        requests.Request("POST", text).prepare()
    except requests.exceptions.InvalidURL as error:
        # requests quotes the URL in some ("Invalid URL 'http://user:password@...'"):
        # shown as the error shows it, without its user and password.
        shown = _shown_refused(text)
        said = str(error).replace(repr(text), repr(shown)).replace(text, shown)
        userinfo = urlsplit(text).netloc.rpartition("@")[0]
        if userinfo and userinfo in said:
            said = "requests' InvalidURL, its message withheld: it quotes the user info"
        return f"its host name is not valid ({said})"
    except Exception:  # noqa: BLE001 - anything else is left to the first POST to say
        pass
    return None


# A URL followed by another assignment (" README_API_URL=http://..."): the one line that
# ``readme-metrics collect`` prints for a shell's export, copied whole into a .env file.
_TWO_ASSIGNMENTS = re.compile(r"\s+[A-Za-z_][A-Za-z0-9_]*=")


def _before_another_assignment(text: str) -> str:
    """``text`` up to another variable's assignment, if it holds one: what follows is
    another variable's value (``README_API_KEY=rdme_...`` on the same .env line), never
    shown in an error."""
    found = _TWO_ASSIGNMENTS.search(text)
    return text if found is None else f"{text[:found.start()]} ..."


def _url_problem(text: str, parts: SplitResult) -> Optional[str]:
    """Why the http(s) URL ``text`` (split: ``parts``) is no base URL the library can post
    to, if it is not. urlsplit drops tabs and line breaks: ``text`` still has them."""
    if _CONTROL.search(text) or any(char.isspace() for char in parts.netloc):
        if _TWO_ASSIGNMENTS.search(text):  # collect's `export A=... B=...` line, in .env
            return ("it holds a blank and another variable's assignment: each variable "
                    "takes one value, and a .env file one variable a line")
        return "it holds a blank or control character"
    if "\\" in parts.netloc:
        # urlsplit reads the host on past a "\" (to an "@": "https://docs.example.com\@x"
        # is host x to it), browsers read it as "/" and requests' urllib3 ends the host
        # there: the key would go to, or the links name, another host than the checks
        # here and the messages read.
        return ("it holds a '\\' before its path, where requests and browsers end the "
                "host: write '/' after the host, and a user's, password's or path's '\\' "
                "as %5C")
    if not parts.hostname:
        return "it names no host"
    try:
        port = parts.port  # ValueError for a port that is no number from 0 to 65535
    except ValueError:
        port = 0
    if port == 0:
        return "its port must be a number from 1 to 65535"
    return _host_name_problem(text, parts.hostname)


def _userinfo_past_the_host(option: Option, parts: SplitResult) -> bool:
    """True for ``http://owl:8001/pass@host``: a password whose "/" follows digits (or
    nothing) reads as a port, the rest as a path. Taken, it posted to host "owl" (the
    key with it), and every message, the repr and base_log_url's links showed the
    password: shown_url masks only an authority's userinfo. The API's URLs have no "@"
    in their path; a docs site's may (a team's page, test_leak4): there, only after a
    host with a port, which is what such a password makes of the user."""
    if "@" not in parts.path:
        return False
    return option.name != "base_log_url" or ":" in parts.netloc.rpartition("]")[2]


def http_url(option: Option, value: Any) -> Optional[str]:
    """An http(s) URL, stripped, without a trailing slash (or the path the library appends
    itself), with a host, a valid port if any, and no query or fragment."""
    if value is None and option.default is None:
        return None
    if not isinstance(value, str):
        raise option.wrong_type(value, "a str (an http(s) URL)")
    text = value.strip()
    try:
        parts = urlsplit(text)
    except ValueError:  # "http://[::1": an unclosed or invalid IP literal
        raise option.invalid(_shown_refused(value), hint="not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise option.invalid(_shown_refused(value), hint=_scheme_hint(text))
    url = text.rstrip("/")
    appended = _appended_path(option, url)
    problem = _url_problem(text, parts)
    if problem is None and ("?" in text or "#" in text):
        # They would end up after the paths the library appends (an empty one too:
        # 'http://host?' posted to '/?/v1/request', whose path is '/').
        problem = (f"give the base URL, without {appended} (the library adds it)"
                   if appended is not None else
                   "a base URL has no query or fragment (the library appends paths to it)")
    if problem is None and _userinfo_past_the_host(option, parts):
        problem = ("an '@' follows its host: a password holding '/', '?' or '#' takes "
                   "them percent-encoded (%2F, %3F, %23), and an '@' of the path %40")
    if problem is not None:
        raise option.invalid(_shown_refused(_before_another_assignment(value)),
                             hint=problem)
    if appended is None:
        return url
    return url[:-len(appended)].rstrip("/")


_SCHEME_ONE_SLASH = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:/")

# "https//host", "https:/host", "https:host", "htps://host", "htttp://host": an http(s)
# scheme mistyped (a letter missing, doubled or extra; the ":" or a "/" missing). Read as
# a URL without its scheme, "https//host" got "did you mean 'https://https//host'?".
_MISTYPED_SCHEME = re.compile(
    r"(?P<word>h{1,2}t{0,3}p{1,2}(?P<s>s?))(?P<sep>[:;]?/{0,3})(?P<rest>[^/:\s].*)\Z",
    re.IGNORECASE | re.DOTALL)


def _mistyped_scheme_hint(text: str) -> Optional[str]:
    """The URL meant by ``text`` if its http(s) scheme is mistyped (see _MISTYPED_SCHEME):
    the scheme its letters say (an "s" at their end: https) with "://" and the rest."""
    found = _MISTYPED_SCHEME.match(text)
    if found is None or not found["sep"] or (found["word"].lower() in ("http", "https")
                                             and found["sep"] == "://"):
        return None  # no ":" or "/" after the letters: a host name ("httpbin.org")
    scheme = "https" if found["s"] else "http"
    try:
        if not urlsplit(f"{scheme}://{found['rest']}").hostname:
            return None
    except ValueError:
        return None
    return f"{scheme}://{found['rest']}"


def _scheme_hint(text: str) -> str:
    """For a URL given without its scheme (``127.0.0.1:8001``, the collector's address
    copied without it): the URL meant, ``http://`` for a loopback host (the collector
    speaks plain HTTP), ``https://`` otherwise; for a mistyped scheme (``https//host``),
    the URL with it spelled right; "" when the text is no such address."""
    if not text or any(c.isspace() for c in text):
        return ""
    mistyped = _mistyped_scheme_hint(text)
    if mistyped is not None:
        return ("its scheme is mistyped: a URL starts with http:// or https://: "
                f"did you mean {_shown_refused(mistyped)!r}?")
    if "://" in text or text[0] in "/:":
        return ""
    if _SCHEME_ONE_SLASH.match(text):  # "http:/host": a scheme, one slash short, not a host
        return ""
    try:
        if not urlsplit(f"http://{text}").hostname:
            return ""
        scheme = "http" if is_loopback_url(f"http://{text}") else "https"
    except ValueError:  # "[": an unclosed IP literal, no address to suggest
        return ""
    meant = f"{scheme}://{text}"
    return f"a URL starts with http:// or https://: did you mean {_shown_refused(meant)!r}?"


def appended_path_warning(option: Option, given: Any, value: Any) -> Optional[str]:
    """The warning for a URL ``given`` with the path the library adds (``value``: without)."""
    appended = (_appended_path(option, given.strip().rstrip("/")) if isinstance(given, str)
                else None)
    if appended is None:
        return None
    return (f"readme_metrics: {option.label()} ends in {appended}, which the library adds "
            f"itself: using {shown_url(value)}")


def plain_http_warning(option: Option, given: Any, value: Any) -> Optional[str]:
    """The warning for an ``http://`` URL the API key is sent to (``value``: checked) whose
    host is not this machine: the key crosses the network in clear."""
    if not isinstance(value, str) or urlsplit(value).scheme != "http" or (
            is_loopback_url(value)):
        return None
    return (f"readme_metrics: {option.label()} is {shown_url(value)}, plain HTTP to a host "
            "that is not this machine: the API key goes over the network in clear (in the "
            "Authorization header of every request to it); use https://")


def link_userinfo_warning(option: Option, given: Any, value: Any) -> Optional[str]:
    """The warning for a link base URL (``base_log_url``) holding a user and password,
    which the links made from it leave out."""
    if not isinstance(value, str) or "@" not in urlsplit(value).netloc:
        return None
    return (f"readme_metrics: {option.label()} holds a user and password "
            f"({shown_url(value)}): they are left out of x-documentation-url, which every "
            "client receives")


def key_url_warnings(option: Option, given: Any, value: Any) -> tuple[str, ...]:
    """The warnings for a URL the API key is sent to: :func:`appended_path_warning` and
    :func:`plain_http_warning`."""
    return tuple(warning for warning in (appended_path_warning(option, given, value),
                                         plain_http_warning(option, given, value))
                 if warning is not None)
