"""The HAR 1.2 part of a log (SPEC section 4): entry, request, response, pages.

Each function walks one part with a :class:`~readme_metrics.cli.collector.checker.Checker`
and adds a line per problem; :mod:`readme_metrics.cli.collector.validation` calls them.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

from readme_metrics.cli.collector.checker import (
    HAR_DATE,
    Checker,
    header_value,
    is_date,
    kind,
    repeats,
    secret_shape,
)
from readme_metrics.har.credential_headers import credential_header
from readme_metrics.har.subprotocols import SUBPROTOCOL_HEADER, subprotocol_tokens

__all__ = ["check_entry", "check_pages"]

_STARTED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
# Header values that must never leave the building in clear (SPEC sections 4 and 6): the
# very names the HAR builder masks (its list and its rule), in requests and responses.
_MASKED_HEADERS = credential_header
_COOKIE_KEYS = frozenset(
    {"name", "value", "path", "domain", "expires", "httpOnly", "secure", "comment"}
)
_PARAM_KEYS = frozenset({"name", "value", "fileName", "contentType", "comment"})


def _check_secrets(c: Checker, headers: list[dict[str, Any]], cookies: list[dict[str, Any]],
                   path: str, masked: Callable[[str], bool]) -> None:
    for index, header in enumerate(headers):
        name = str(header["name"])
        # "_" for "-" (x_api_key) is the same header to Django, CGI and uWSGI: the library
        # masks it as the dashed name.
        if (masked(name.lower().replace("_", "-")) and "value" in header
                and not secret_shape(header["value"])):
            c.add(f"{path}.headers[{index}]", f"the {name} value must be masked, not sent in clear")
        elif (name.lower() == SUBPROTOCOL_HEADER and "value" in header
              and any(not secret_shape(token)
                      for _, _, token in subprotocol_tokens(str(header["value"])))):
            # A WebSocket client's bearer token as a subprotocol (the library masks it).
            c.add(f"{path}.headers[{index}]",
                  f"the token in the {name} value must be masked, not sent in clear")
    for index, cookie in enumerate(cookies):
        if "value" in cookie and not secret_shape(cookie["value"]):
            c.add(f"{path}.cookies[{index}]",
                  f"the value of cookie {cookie['name']!r} must be masked, not sent in clear")


def _check_cookies(c: Checker, message: dict[str, Any], path: str,
                   headers: list[dict[str, Any]]) -> None:
    """A request's or a response's ``cookies``, and no secret in clear in them or in its
    ``headers``."""
    cookies = c.field(message, "cookies", path,
                      lambda v, p: c.records(v, p, _COOKIE_KEYS)) or []
    _check_secrets(c, headers, cookies, path, _MASKED_HEADERS)


def _check_headers_size(c: Checker, message: dict[str, Any], path: str) -> None:
    """A request's or a response's ``headersSize``: -1, the headers' size unknown."""
    headers_size = c.field(message, "headersSize", path, c.integer)
    if headers_size is not None and headers_size != -1:
        c.add(f"{path}.headersSize", f"must be -1, got {headers_size}")


def _check_post_data(c: Checker, value: Any, path: str, headers: list[dict[str, Any]],
                     body_size: Optional[int]) -> None:
    post = c.obj(value, path)
    if post is None:
        return
    c.members(post, path, frozenset({"mimeType", "params", "text", "comment"}))
    mime = c.field(post, "mimeType", path, c.string)
    has_params, has_text = "params" in post, "text" in post
    if has_params == has_text:
        c.add(path, "must have either params or text (not both, not neither)")
    if has_params:
        c.records(post["params"], f"{path}.params", _PARAM_KEYS, value_required=False)
    if has_text:
        text = c.string(post["text"], f"{path}.text")
        comment = post.get("comment")
        if text is not None and isinstance(comment, str) and comment.startswith("base64"):
            try:
                base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                c.add(f"{path}.text", "is marked base64 but does not decode as base64")
        content_type = header_value(headers, "content-type")
        if mime is not None and not repeats(mime, content_type or "text/plain"):
            c.add(f"{path}.mimeType",
                  f"must be the request's Content-Type {content_type or 'text/plain'!r}, "
                  f"got {mime!r}")
    comment = post.get("comment")
    if body_size == 0 and not (isinstance(comment, str) and "incomplete:" in comment):
        # (A body the client declared and sent none of is there, incomplete: bodySize is
        # the bytes received.)
        c.add(path, "present although the request has no body (bodySize 0)")


def _check_request(c: Checker, value: Any, path: str) -> None:
    request = c.obj(value, path)
    if request is None:
        return
    c.members(request, path, frozenset({
        "method", "url", "httpVersion", "cookies", "headers", "queryString", "postData",
        "headersSize", "bodySize", "comment",
    }))
    method = c.field(request, "method", path, c.string)
    if method == "":
        c.add(f"{path}.method", "must not be empty")
    url = c.field(request, "url", path, c.string)
    query_pairs: Optional[int] = None
    if url is not None:
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port no URL can have
            _check_ip_literal(parts.netloc)
        except ValueError:  # "http://[::1/p": an unclosed or invalid IP literal
            parts = urlsplit("")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            c.add(f"{path}.url", f"must be an absolute http(s) URL, got {url!r}")
        elif any(ch.isspace() for ch in url):
            c.add(f"{path}.url", "must not contain blanks (the query stays percent-encoded)")
        else:
            query_pairs = len([chunk for chunk in parts.query.split("&") if chunk])
    c.field(request, "httpVersion", path, c.string)
    headers = c.field(request, "headers", path, c.records) or []
    query = c.field(request, "queryString", path, c.records)
    if isinstance(query, list) and query_pairs is not None and len(query) != query_pairs:
        c.add(f"{path}.queryString",
              f"has {len(query)} pairs but the url query has {query_pairs}")
    _check_cookies(c, request, path, headers)
    _check_headers_size(c, request, path)
    body_size = c.field(request, "bodySize", path, c.integer)
    if "postData" in request:
        _check_post_data(c, request["postData"], f"{path}.postData", headers, body_size)
    elif body_size is not None and body_size > 0:
        c.add(path, f"has a body of {body_size} bytes but no postData")


def _check_response(c: Checker, value: Any, path: str) -> None:
    response = c.obj(value, path)
    if response is None:
        return
    c.members(response, path, frozenset({
        "status", "statusText", "httpVersion", "cookies", "headers", "content", "redirectURL",
        "headersSize", "bodySize", "comment",
    }))
    status = c.field(response, "status", path, c.integer)
    if status is not None and not 100 <= status <= 999:
        c.add(f"{path}.status", f"must be a 3-digit HTTP status, got {status}")
    c.field(response, "statusText", path, c.string)
    c.field(response, "httpVersion", path, c.string)
    headers = c.field(response, "headers", path, c.records) or []
    _check_cookies(c, response, path, headers)
    content = c.field(response, "content", path, c.obj)
    if content is not None:
        content_path = f"{path}.content"
        c.members(content, content_path, frozenset(
            {"size", "compression", "mimeType", "text", "encoding", "comment"}
        ))
        c.field(content, "size", content_path, c.integer)
        c.field(content, "compression", content_path, c.integer, required=False)
        mime = c.field(content, "mimeType", content_path, c.string)
        content_type = header_value(headers, "content-type") or ""
        if mime is not None and not repeats(mime, content_type):
            c.add(f"{content_path}.mimeType",
                  f"must be the response's Content-Type {content_type!r}, got {mime!r}")
        text = c.field(content, "text", content_path, c.string, required=False)
        encoding = c.field(content, "encoding", content_path, c.string, required=False)
        if encoding is not None and encoding != "base64":
            c.add(f"{content_path}.encoding", f"must be 'base64' when present, got {encoding!r}")
        elif encoding == "base64" and text is not None:
            try:
                base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                c.add(f"{content_path}.text", "does not decode as base64")
    redirect = c.field(response, "redirectURL", path, c.string)
    location = header_value(headers, "location") or ""
    if redirect is not None and not repeats(redirect, location):
        c.add(f"{path}.redirectURL", f"must be the Location header {location!r}, got {redirect!r}")
    _check_headers_size(c, response, path)
    c.field(response, "bodySize", path, c.integer)


def check_pages(c: Checker, value: Any, path: str) -> None:
    if not isinstance(value, list):
        c.add(path, f"must be an array, got {kind(value)}")
        return
    for index, item in enumerate(value):
        page_path = f"{path}[{index}]"
        page = c.obj(item, page_path)
        if page is None:
            continue
        c.members(page, page_path,
                  frozenset({"startedDateTime", "id", "title", "pageTimings", "comment"}))
        started = c.field(page, "startedDateTime", page_path, c.string)
        if started is not None and not (HAR_DATE.fullmatch(started) and is_date(started)):
            c.add(f"{page_path}.startedDateTime", f"must be an ISO 8601 date, got {started!r}")
        c.field(page, "id", page_path, c.string)
        c.field(page, "title", page_path, c.string)
        timings = c.field(page, "pageTimings", page_path, c.obj)
        if timings is not None:
            timings_path = f"{page_path}.pageTimings"
            c.members(timings, timings_path, frozenset({"onContentLoad", "onLoad", "comment"}))
            for key in ("onContentLoad", "onLoad"):
                c.field(timings, key, timings_path, lambda v, p: c.number(v, p, minimum=-1),
                        required=False)


def check_entry(c: Checker, value: Any, path: str) -> None:
    entry = c.obj(value, path)
    if entry is None:
        return
    c.members(entry, path, frozenset({
        "pageref", "startedDateTime", "time", "request", "response", "cache", "timings",
        "serverIPAddress", "connection", "comment",
    }))
    c.field(entry, "pageref", path, c.string, required=False)
    c.field(entry, "serverIPAddress", path, c.string, required=False)
    c.field(entry, "connection", path, c.string, required=False)
    started = c.field(entry, "startedDateTime", path, c.string)
    if started is not None and not (_STARTED.fullmatch(started) and is_date(started)):
        c.add(f"{path}.startedDateTime",
              f"must be ISO 8601 UTC with milliseconds (2026-11-21T10:31:43.123Z), got {started!r}")
    total = c.field(entry, "time", path, c.number)
    for key, check in (("request", _check_request), ("response", _check_response)):
        if key in entry:
            check(c, entry[key], f"{path}.{key}")
        else:
            c.add(f"{path}.{key}", "missing")
    cache = c.field(entry, "cache", path, c.obj)
    if cache is not None and any(not str(key).startswith("_") for key in cache):
        c.add(f"{path}.cache", "must be {} (the middleware sees no cache)")
    timings = c.field(entry, "timings", path, c.obj)
    if timings is None:
        return
    timings_path = f"{path}.timings"
    c.members(timings, timings_path, frozenset(
        {"blocked", "dns", "connect", "send", "wait", "receive", "ssl", "comment"}
    ))
    spent = 0.0
    complete = True
    for name in ("send", "wait", "receive"):
        got = c.field(timings, name, timings_path, c.number)
        complete = complete and got is not None
        spent += got or 0.0
    for name in ("blocked", "dns", "connect", "ssl"):
        got = c.field(timings, name, timings_path,
                      lambda v, p: c.number(v, p, minimum=-1), required=False)
        spent += got if got is not None and got > 0 else 0.0
    # The builder rounds each timing; allow float noise, not a real mismatch.
    if complete and total is not None and abs(total - spent) > 1e-3:
        c.add(f"{path}.time", f"must be the sum of the timings ({spent:g} ms), got {total:g}")


_IP_FUTURE = re.compile(r"v[0-9A-Fa-f]+\.[A-Za-z0-9._~!$&'()*+,;=:-]+")


def _check_ip_literal(netloc: str) -> None:
    """ValueError unless a bracketed host is an IPv6 address or an IPvFuture (RFC 3986
    3.2.2): what urlsplit checks itself from Python 3.11.4, not before (3.9, 3.10)."""
    host = netloc.rpartition("@")[2]
    if not host.startswith("["):
        return
    literal = host[1:host.find("]")]
    if literal[:1] in ("v", "V"):
        if not _IP_FUTURE.fullmatch(literal):
            raise ValueError(f"invalid IPvFuture address {literal!r}")
        return
    ipaddress.IPv6Address(literal)  # ValueError for "zz", an IPv4 address, ...
