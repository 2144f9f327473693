"""HAR cookie records: a request's Cookie and a response's Set-Cookie headers read into
HAR cookies, redacted, then masked (SPEC sections 4 and 6).

A cookie's value is redacted by the lists or masked with
:func:`readme_metrics.masking.mask`; the caller's key is masked in the names, values,
paths and domains; a Set-Cookie's Expires and Max-Age become an ISO 8601 ``expires``.
The Cookie and Set-Cookie header values themselves are redacted by
:mod:`~readme_metrics.har.headers`, whose cookie redaction this module uses. Nothing
here raises, whatever the headers hold: a malformed cookie or date is skipped.
"""

from __future__ import annotations

import math
import re
import time
from typing import Any, Optional

from readme_metrics.har.cookie_date import cookie_date
from readme_metrics.har.credentials import CallerKey
from readme_metrics.har.header_names import LOWERED, lower
from readme_metrics.har.header_reading import MOST_READ, hidden_within
from readme_metrics.har.headers import cookies_redacted, folded_cookies_redacted
from readme_metrics.har.key_base64_names import masked_name_runs
from readme_metrics.har.key_base64_spellings import spelled_in
from readme_metrics.har.redaction import Redactor, redacted
from readme_metrics.har.text_userinfo import may_hold_at, userinfo_hidden_in
from readme_metrics.masking import CACHED_LENGTH, kept_mask, mask

__all__ = ["MAX_EPOCH", "request_cookies", "response_cookies", "response_received"]

# Last second of 9999-12-31: later dates would not have the 4-digit year HAR expects.
MAX_EPOCH = 253402300799


def _cookie_value(name: str, value: str, redactor: Optional[Redactor]) -> str:
    if redactor is not None and redactor.redacts(name):
        return redacted(value)
    return mask(value)


def _userinfo_hidden(cookies: str, left: list[int]) -> str:
    """Cookies with each URL's password in them hidden (``next=https%3A%2F%2Fada%3A...%40db``)
    before their values are masked: a mask shows a value's last four characters, a
    password's last ones when the host after it is short (``...@db``; hostile52). Its ``@``
    in any spelling (:func:`.text_userinfo.may_hold_at`): a name, a Path or a Domain
    holding ``\\u0040`` or ``%2540`` went in clear (hostile63). ``left``: one log's
    Set-Cookie values read as texts within one budget (:func:`.header_reading.hidden_within`:
    each read with a cap of its own, 100 values cost ~3,000 calls a KiB; hostile64)."""
    return hidden_within(cookies, left, past=_past_budget) if may_hold_at(cookies) else (
        cookies)


def _past_budget(header: str) -> str:
    """A Set-Cookie ``header`` past one log's budget, unread: its value hidden,
    ``[REDACTED n]``, its name and attributes kept but those that may hold a URL's ``@``
    (:func:`.text_userinfo.may_hold_at`: an attribute's value hidden, a name whole).
    Hidden whole till hostile66, its cookie lost its name, path, expires and flags."""
    first, *attributes = header.split(";")
    name, equals, value = first.partition("=")
    name = (redacted(name.strip()) if may_hold_at(name) else name) + "=" if equals else ""
    return ";".join([name + redacted((value if equals else first).strip())] + [
        attribute if not may_hold_at(attribute) else _hidden_attribute(attribute)
        for attribute in attributes])


def _hidden_attribute(attribute: str) -> str:
    """A Set-Cookie attribute that may hold a URL's ``@``: its value hidden (``Path=
    [REDACTED n]``, no path a client keeps), or whole when its name holds the ``@``."""
    attr, equals, value = attribute.partition("=")
    if not equals or may_hold_at(attr):
        return redacted(attribute.strip())
    return attr + "=" + redacted(value.strip())


def _request_cookie_value(name: str, value: str, redactor: Redactor) -> str:
    """:func:`_cookie_value` of a request cookie, the cookies after a "," in its value
    that the lists redact redacted before it is masked (and its value redacted when its
    name is such a cookie's, after a ",": ``d,password=...``)."""
    if "," in name and redactor.redacts(name.rpartition(",")[2].strip()):
        return redacted(value)
    if "," in value and not redactor.redacts(name) and (
            redactor.has_allow or redactor.may_deny(value)):
        value = cookies_redacted(value, redactor.redacts)
    return _cookie_value(name, value, redactor)


def _pair(cookie: str) -> tuple[str, str]:
    """A cookie's (name, value), blanks stripped. One without "=" is a value with an
    empty name (RFC 6265bis 5.6, as browsers and Starlette read ``Cookie: s3cr3t``): it
    is masked as any cookie's value, where as a name it went out in clear."""
    name, equals, value = cookie.partition("=")
    if not equals:
        return "", name.strip()
    return name.strip(), value.strip()


def request_cookies(cookies: str, redactor: Optional[Redactor],
                    caller: Optional[CallerKey] = None) -> list[dict[str, str]]:
    """Cookies of the Cookie header values ``cookies`` (``a=1; b=2``, several joined by
    ";", as :func:`headers` notes them), lenient: never raises.

    ``caller``: its key is masked in the names and values, as :func:`headers` does in
    the header values (an alias's spellings are left to the scrub after the build).
    """
    out = []
    # (_userinfo_hidden's tests inlined: a call a log with cookies costs more.)
    for part in (userinfo_hidden_in(cookies) if "@" in cookies or "%40" in cookies
                 or "u0040" in cookies or "%2540" in cookies else cookies).split(";"):
        # _pair, inlined: a call per cookie costs more than its test.
        name, equals, value = part.partition("=")
        name, value = (name.strip(), value.strip()) if equals else ("", name.strip())
        if not name and not value:
            continue
        # (With lists, only a cookie holding a "," asks _request_cookie_value.)
        out.append({"name": name, "value": (
                        kept_mask(value) if len(value) <= CACHED_LENGTH else mask(value))
                    if redactor is None
                    else _request_cookie_value(name, value, redactor) if "," in part
                    else _cookie_value(name, value, redactor)})
    # (_cookie_keys' own first tests, no call when they leave every record as it is: no
    # lists and a key no mask holds, the raw cookies holding no spelling of it; the
    # key not a number, CallerKey.may_hold written out.)
    if caller is not None and out:
        key, inside = caller.key, caller.inside
        # ("%" and "\\" looked for once, for both tests: cpu27.)
        marked = "%" in cookies or "\\" in cookies
        if caller.numeric or not (redactor is None and caller.outside_masks) or (
                cookies == key or len(cookies) >= len(key) and (
                    key in cookies or marked and (inside or "\\" in cookies) or inside and (
                        caller.spaced and "+" in cookies))):
            _cookie_keys(out, cookies, redactor is None, caller)
        probe = caller.base64_probe
        if probe is not None and (marked or probe in cookies) and spelled_in(cookies, key):
            # Its base64 in a name (a value is a mask, or redacted): a Basic credential
            # sent as a cookie's name. (Looked for in the header, once, for most logs.)
            for record in out:
                record["name"] = masked_name_runs(record["name"], key, caller.masked)
    return out


def _cookie_keys(records: list[dict[str, str]], cookies: str, masked: bool,
                 caller: CallerKey) -> None:
    """Mask the caller's key in request cookie ``records``, decided on the raw ``cookies``
    they were read from where that is exact: every name is a piece of it, so none may
    hold the key when the whole cannot (but a number's JSON, which a piece may start);
    ``masked`` (no lists: every value is a mask) and a key no mask can hold
    (:attr:`CallerKey.outside_masks`) leave the values as they are."""
    names = caller.numeric or caller.may_hold(cookies)
    values = not (masked and caller.outside_masks)
    if names or values:
        for record in records:
            if names and caller.may_hold(record["name"]):
                record["name"] = caller.name(record["name"])
            if values and caller.may_hold(record["value"]):
                record["value"] = caller.text(record["value"])


def _iso(epoch: float) -> str:
    """ISO 8601 UTC with milliseconds, within the years HAR can write (0 to MAX_EPOCH)."""
    epoch = min(max(epoch, 0.0), float(MAX_EPOCH))
    seconds, millis = divmod(math.floor(epoch * 1000), 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def _expires(value: str) -> Optional[str]:
    """A Set-Cookie Expires date as ISO 8601 (RFC 6265 5.1.1: UTC, any layout of its
    fields), or None when it cannot be read. A date before 1970 (an expired cookie, the
    usual way to delete one) is the earliest time written, as a Max-Age of 0 is."""
    epoch = cookie_date(value)
    return None if epoch is None else _iso(epoch)


_DELTA_SECONDS = re.compile(r"-?[0-9]+\Z")


def _max_age(value: str, received: Optional[float]) -> Optional[str]:
    """The expiry a Set-Cookie Max-Age gives, as ISO 8601 (None when it cannot be read).

    RFC 6265 (5.2.2): the time the response came plus that many seconds; zero or less is
    the earliest time there is (the cookie is deleted). A number past the year 9999 is
    the latest HAR can write, as a browser caps it.
    """
    if received is None or _DELTA_SECONDS.match(value) is None:
        return None
    if len(value.lstrip("-").lstrip("0")) > 15:  # beyond any date either way (and int()
        # of 5,000 digits raises); leading zeros say nothing: 0000000000000005 is 5 s
        return _iso(0.0 if value.startswith("-") else float(MAX_EPOCH))
    seconds = int(value)
    return _iso(received + seconds if seconds > 0 else 0.0)


def response_received(started: Any, wait: Any) -> Optional[float]:
    """When the response started (epoch seconds), the moment a Max-Age counts from; None
    for an exchange whose times are no numbers."""
    try:
        received = float(started) + max(float(wait), 0.0)
    except (TypeError, ValueError, OverflowError):
        return None
    return received if math.isfinite(received) else None


def response_cookies(
    pairs: list[tuple[str, str]], redactor: Optional[Redactor],
    received: Optional[float] = None, caller: Optional[CallerKey] = None,
) -> list[dict[str, Any]]:
    """One HAR cookie per Set-Cookie header, with the attributes HAR knows.

    ``expires`` is the Max-Age counted from ``received`` (see :func:`response_received`)
    when there is one (it wins over Expires, RFC 6265 5.3), else the Expires date. HAR
    has no field for SameSite (nor Priority, Partitioned ...): the header keeps them. A
    Path that is empty or does not start with "/", and an empty Domain, give no field
    (RFC 6265 5.2.3 and 5.2.4: the cookie keeps its default path and host).

    ``caller``: its key is masked in the cookies' strings, as :func:`request_cookies`
    does (an alias's spellings are left to the scrub after the build).
    """
    out = []
    lowered = LOWERED.get
    # Whether the values need a search: not when each is a mask (no lists) that cannot
    # hold the key (see _cookie_keys).
    values = caller is not None and not (redactor is None and caller.outside_masks)
    left = [MOST_READ]
    for key, value_of_header in pairs:
        if (lowered(key) or lower(key)) != "set-cookie":
            continue
        if redactor is not None and "," in value_of_header:
            value_of_header = folded_cookies_redacted(value_of_header, redactor.redacts)
        first, *attributes = _userinfo_hidden(value_of_header, left).split(";")
        name, value = _pair(first)
        if not name and not value:
            continue
        cookie: dict[str, Any] = {"name": name, "value": _cookie_value(name, value, redactor)}
        max_age = None
        for attribute in attributes:
            attr, _, attr_value = attribute.partition("=")
            attr, attr_value = attr.strip().lower(), attr_value.strip()
            if attr == "path":
                # RFC 6265 5.2.4: an empty path, or one not starting with "/", leaves
                # the cookie the default path (the request's), which is not "" or "api".
                if attr_value.startswith("/"):
                    cookie["path"] = attr_value
                else:
                    cookie.pop("path", None)
            elif attr == "domain":
                if attr_value:  # 5.2.3: an empty Domain is ignored, an earlier one kept
                    cookie["domain"] = attr_value
            elif attr == "expires":
                expires = _expires(attr_value)
                if expires is not None:
                    cookie["expires"] = expires
            elif attr == "max-age":
                max_age = _max_age(attr_value, received) or max_age
            elif attr == "httponly":
                cookie["httpOnly"] = True
            elif attr == "secure":
                cookie["secure"] = True
        if max_age is not None:
            cookie["expires"] = max_age
        if caller is not None:
            # Decided on the header where that is exact, as _cookie_keys does: the name,
            # path and domain are pieces of it, so none may hold the key when the whole
            # cannot (but a number's JSON, which a piece may start).
            pieces = caller.numeric or caller.may_hold(value_of_header)
            if pieces or values or "expires" in cookie:
                _set_cookie_keys(cookie, pieces, values, caller)
            probe = caller.base64_probe
            if probe is not None and (probe in value_of_header or "%" in value_of_header
                                      or "\\" in value_of_header) and (
                    spelled_in(value_of_header, caller.key)):
                # Its base64 in the name, the path or the domain (the value is a mask,
                # or redacted), as in a request's cookie's name.
                for field in ("name", "path", "domain"):
                    if field in cookie:
                        cookie[field] = masked_name_runs(cookie[field], caller.key,
                                                         caller.masked)
        out.append(cookie)
    return out


def _set_cookie_keys(cookie: dict[str, Any], pieces: bool, values: bool,
                     caller: CallerKey) -> None:
    """Mask the caller's key in a response ``cookie``: in its name, path and domain when
    ``pieces``, its value when ``values``, its expires (a date written here) always."""
    for field, value in cookie.items():
        if value.__class__ is str and (
                values if field == "value" else pieces or field == "expires") and (
                caller.may_hold(value)):
            cookie[field] = caller.name(value) if field == "name" else caller.text(value)
