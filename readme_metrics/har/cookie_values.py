"""Cookie and Set-Cookie values with the value of each cookie the lists redact replaced.

A cookie after a "," counts too; :mod:`.headers` applies these before masking
(:func:`header_cookies_redacted`, by the header's name; moved from there, as is).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable, Optional

from readme_metrics.har.header_names import lower
from readme_metrics.har.redaction import redacted

if TYPE_CHECKING:
    from readme_metrics.har.redaction import Redactor

__all__ = ["REQUEST_COOKIE", "cookies_redacted", "folded_cookies_redacted",
           "header_cookies_redacted"]


# A cookie after a "," in a Set-Cookie value: "sid=abc, password=...". RFC 6265 forbids
# folding Set-Cookie, but apps and servers do it (one header for several cookies, as
# urllib3 and so requests join them), and requests, http.cookiejar and many clients read
# a cookie there; an Expires date's "," is followed by no "name=" before the next ";".
_FOLDED_COOKIE = re.compile(r"(,)([^;,=]*)=([^;,]*)")


def folded_cookies_redacted(value: str, redacts: Callable[[str], bool]) -> str:
    """A Set-Cookie value (or a piece of one) with the value of each cookie after a ","
    whose name ``redacts`` redacted: masked whole, the header and the cookie whose value
    or attribute holds it ended with the redacted value's last four characters."""
    return cookies_redacted(value, redacts, _FOLDED_COOKIE)


# A request cookie, "name=value", between ";" or ",": a server joins a Cookie header sent
# twice with "," (wsgiref, werkzeug, gunicorn; waitress ", "), and webob (the grouping
# function's request) and http.cookies read a cookie after it. Tried only at the value's
# start or a separator: tried at every character, a run holding no "=" was read again
# from each (quadratic: an 8 KB Cookie naming a denied key cost 0.8 s of the worker).
REQUEST_COOKIE = re.compile(r"(^|[;,])([^;,=]*)=([^;,]*)")


def cookies_redacted(value: str, redacts: Callable[[str], bool],
                     cookie_pattern: re.Pattern[str] = REQUEST_COOKIE) -> str:
    """A request's Cookie value with the value of each cookie whose name ``redacts``
    redacted, one after a "," too (werkzeug, Django and Starlette read it as part of the
    cookie before it: masked so, it ended with the redacted value's last four characters).
    ``cookie_pattern``: (what comes before a cookie, its name, its value).

    A redacted value runs to the next ";", past a "," in it: werkzeug, Django and
    Starlette read ``password=x,s3cr3t`` as the value ``x,s3cr3t`` (webob and a folding
    client as ``x``), and cut at the "," the mask ended with the rest's last four
    characters. What it runs over (a cookie after a "," in it) is redacted with it."""
    out: list[str] = []
    written = 0
    for cookie in cookie_pattern.finditer(value):
        if cookie.start() < written or not redacts(cookie.group(2).strip()):
            continue
        end = value.find(";", cookie.end())
        end = len(value) if end < 0 else end
        out += value[written:cookie.start(3)], redacted(value[cookie.start(3):end].strip())
        written = end
    return "".join(out) + value[written:] if out else value


def header_cookies_redacted(name: str, value: str, redactor: Optional[Redactor]) -> str:
    """A Cookie/Set-Cookie value with the denylisted cookies' values replaced (a header
    ``name`` of either, in any case, "_" for "-"; any other value as it is).

    Applied before masking: the mask ends with the value's last four characters, which
    would otherwise show (part of) a denylisted cookie's value whenever it comes last.
    A header the allowlist lets through is masked as it is, as any allowed credential.
    """
    if redactor is None:
        return value
    lowered = lower(name).replace("_", "-")
    if lowered in ("cookie", "cookie2"):
        # (Most Cookie headers name no denied cookie: one look at the whole value, not a
        # Python call per cookie.)
        return cookies_redacted(value, redactor.denies) if redactor.may_deny(value) else value
    if lowered == "set-cookie":
        if "," in value:
            value = folded_cookies_redacted(value, redactor.denies)
        first, semicolon, attributes = value.partition(";")  # attributes are no cookies
        cookie, equals, cookie_value = first.partition("=")
        if equals and redactor.denies(cookie.strip()):
            return f"{cookie}={redacted(cookie_value.strip())}{semicolon}{attributes}"
        return value
    if lowered == "set-cookie2":
        # RFC 2965: several cookies, each with its attributes, separated by ",".
        return ",".join(header_cookies_redacted("set-cookie", cookie, redactor)
                        for cookie in value.split(","))
    return value
