"""The caller's key's base64 spellings masked in a HAR entry's fields (SPEC 6): the url
and its query, the redirect, the headers (a Basic credential under a name that is no
credential header's, an echo), the cookies, the form and multipart fields and their
names, the method, the status text, the bodies' types; and in a string of the log outside
the entry (:func:`masked_base64`). The rest of where the key is masked, and the bodies'
base64, are :mod:`.scrub`'s; moved from there, as is.
"""

from __future__ import annotations

from itertools import chain
from operator import itemgetter
from typing import Any

from readme_metrics.har.credentials import URL_HEADERS, CallerKey
from readme_metrics.har.header_urls import LINK_TARGET
from readme_metrics.har.key_base64 import masked_base64_runs
from readme_metrics.har.key_base64_percent import masked_encoded_runs
from readme_metrics.har.key_base64_spellings import (
    base64_spellings,
    broken_spelling_in,
    shortest_spelling,
    spelled_in,
)
from readme_metrics.har.pairs import parse_query

__all__ = ["base64_fields", "masked_base64", "masked_value"]

_VALUE = itemgetter("value")
_NAME = itemgetter("name")


def base64_fields(entry: dict[str, Any], caller: CallerKey) -> None:
    """Mask the key base64-encoded in the url (its path and query), the headers (a
    Basic credential under a name that is no credential header's, an echo), the cookies
    and the form and multipart fields, as in the bodies (:func:`.scrub._scrub`). Each value is
    asked whether it holds a spelling first, here (a call per header cost 9 us a log)."""
    key = caller.key
    spellings = base64_spellings(key)
    request, response = entry["request"], entry["response"]
    url, redirect = request["url"], response["redirectURL"]
    post = request.get("postData")
    every = (request["headers"], request["cookies"], response["headers"],
             response["cookies"], post.get("params", ()) if post else ())
    # The method and the reason phrase (a server's "401 Unknown token <base64>") too:
    # the client's and the app's text. (A cookie's name, a Set-Cookie's attributes:
    # cookies.request_cookies and response_cookies.)
    method, reason = request.get("method", ""), response.get("statusText", "")
    # One look over the url, the redirect and all the values at once first (no spelling
    # holds a NUL, so one found in the joined text is in one of them): most logs hold
    # none. The values taken by C (itemgetter), not a comprehension testing each
    # record (~2/3 of this pass's 28k instructions a small GET's log, callgrind): every
    # header's and cookie's value is a string; a record without one, or with another
    # type (a form's file part), sends it to the records' own test, as before.
    # The form's and multipart's field names too (a file part's name is in its data URL,
    # its value): most logs have no fields.
    params = every[4]
    try:
        joined = "\0".join([url, redirect, method, reason, *map(_VALUE, chain(*every))])
        if params:
            joined += "\0" + "\0".join(map(_NAME, params))
    except (KeyError, TypeError):
        joined = "\0".join([url, redirect, method, reason, *[
            record[field] for records in every for record in records
            for field in ("name", "value")
            if record.get(field).__class__ is str]])
    if "comment" in response:  # quoting a status no status line carries (rare)
        joined += "\0" + str(response["comment"])
    for spelling in spellings:
        if spelling in joined:
            break
    else:
        # None as written; maybe broken: wrapped across lines (a form field's
        # certificate), JSON-escaped (a header holding JSON), percent-encoded with its
        # "+" or "/" (a query's value, a cookie's). Three scans of a text that holds
        # none of their marks, as most do.
        if not ("%" in joined or "\n" in joined or "\\" in joined) or not (
                broken_spelling_in(joined, key)):
            return
    masked, shortest = caller.masked, shortest_spelling(key)
    if len(url) >= shortest:
        hidden = masked_value(url, key, masked, spellings, True)
        if hidden != url:
            entry["pageref"] = request["url"] = hidden
            request["queryString"] = [{"name": name, "value": value}
                                      for name, value in parse_query(hidden.partition("?")[2])]
    if len(redirect) >= shortest:
        response["redirectURL"] = masked_value(redirect, key, masked, spellings, True)
    for records in every:
        for record in records:
            value = record.get("value")
            if value.__class__ is str and len(value) >= shortest and (
                    "fileName" not in record):
                name = record.get("name", "").lower()
                if name == "link" and "<" in value:
                    # Its targets are URLs (a path's "/" maybe not base64's).
                    value = LINK_TARGET.sub(lambda found: "<" + masked_value(
                        found[1], key, masked, spellings, True) + ">", value)
                record["value"] = masked_value(
                    value, key, masked, spellings, name in URL_HEADERS)
    for field in ("method", "statusText", "comment"):
        side = request if field == "method" else response
        value = side.get(field)
        if value.__class__ is str and len(value) >= shortest:
            side[field] = masked_value(value, key, masked, spellings, False)
    # The bodies' types: the Content-Type as sent (in the headers' values above; an
    # allowlist hiding the header alone: headers._unlisted).
    for body in (response.get("content"), post):
        value = body.get("mimeType") if body else None
        if value.__class__ is str and len(value) >= shortest:
            body["mimeType"] = masked_value(value, key, masked, spellings, False)
    # The names of the fields, and a file part's name (in its data URL too): a client may
    # send a credential as a name (a flag), as the key itself is masked.
    for record in params:
        for field in ("name", "fileName"):
            value = record.get(field)
            if value.__class__ is str and len(value) >= shortest:
                hidden = masked_value(value, key, masked, spellings, False)
                if hidden != value:
                    record[field] = hidden
                    data = record.get("value")
                    if field == "fileName" and data.__class__ is str:
                        record["value"] = data.replace(
                            f";name={value};base64,", f";name={hidden};base64,", 1)


def masked_base64(value: str, caller: CallerKey) -> str:
    """A string of the log outside the entry (the client's address: an X-Forwarded-For
    hop as sent, behind trusted_proxies) with the (long) key's base64 spellings masked,
    as :func:`base64_fields` does in the entry's."""
    key = caller.key
    if not caller.inside or len(value) < shortest_spelling(key) or not spelled_in(value, key):
        return value
    return masked_value(value, key, caller.masked, base64_spellings(key), False)


def masked_value(value: str, key: str, masked: str, spellings: tuple[str, ...],
                  url: bool) -> str:
    """One value (``url``: a URL's) with the key's base64 spellings masked: as written
    (:func:`masked_base64_runs`, a run wrapped or JSON-escaped in a value that is no URL
    too), and percent-encoded (:func:`masked_encoded_runs`)."""
    if _holds(value, spellings) or not url and ("\n" in value or "\\" in value):
        value = masked_base64_runs(value, key, masked, url=url)
    if "%" in value:
        value = masked_encoded_runs(value, key, masked, url)
    return value


def _holds(value: str, spellings: tuple[str, ...]) -> bool:
    """Whether ``value`` holds one of the ``spellings`` (a loop: a generator per value is
    an object the collector counts, and more collections cost more than the test)."""
    for spelling in spellings:  # noqa: SIM110 (no generator: see above)
        if spelling in value:
            return True
    return False
