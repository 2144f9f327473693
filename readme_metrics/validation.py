"""Check one log object against the payload contract (SPEC section 4), stdlib only.

The local collector (``readme-metrics collect``) answers a POST with invalid logs with 400
and the reasons, like the real Metrics API would, so a user sees at once what is wrong
with what their service sends. The runtime has no jsonschema, so the HAR 1.2 rules that
matter are written out here; every problem is one human-readable line that starts with
the JSON path of the offending value::

    >>> validate_log({"_id": 7})[:2]
    ['_id: must be a string, got the number 7', 'group: missing']

An empty list means the log is valid.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import uuid
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

from readme_metrics.masking import is_masked

__all__ = ["validate_batch", "validate_log"]

_STARTED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
_HAR_DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)")
_REDACTED = re.compile(r"\[REDACTED( \d+)?\]")
# Header values that must never leave the building in clear (SPEC section 4).
_MASKED_REQUEST_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
_MASKED_RESPONSE_HEADERS = frozenset({"set-cookie"})
# HAR allows 'comment' everywhere and custom members only when '_'-prefixed.
_RECORD_KEYS = frozenset({"name", "value", "comment"})
_COOKIE_KEYS = frozenset(
    {"name", "value", "path", "domain", "expires", "httpOnly", "secure", "comment"}
)
_PARAM_KEYS = frozenset({"name", "value", "fileName", "contentType", "comment"})


class _Checker:
    """Collects problems while walking one log; each check reports and never raises."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def obj(self, value: Any, path: str) -> Optional[dict[str, Any]]:
        if not isinstance(value, dict):
            self.add(path, f"must be an object, got {_kind(value)}")
            return None
        return value

    def field(self, parent: dict[str, Any], key: str, path: str,
              check: Callable[[Any, str], Any], required: bool = True) -> Any:
        """Run ``check`` on ``parent[key]``; report a missing required member."""
        child = f"{path}.{key}" if path else key
        if key not in parent:
            if required:
                self.add(child, "missing")
            return None
        return check(parent[key], child)

    def string(self, value: Any, path: str) -> Optional[str]:
        if not isinstance(value, str):
            self.add(path, f"must be a string, got {_kind(value)}")
            return None
        return value

    def boolean(self, value: Any, path: str) -> Optional[bool]:
        if not isinstance(value, bool):
            self.add(path, f"must be true or false, got {_kind(value)}")
            return None
        return value

    def integer(self, value: Any, path: str, minimum: int = -1) -> Optional[int]:
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(path, f"must be an integer, got {_kind(value)}")
            return None
        if value < minimum:
            self.add(path, f"must be >= {minimum}, got {value}")
            return None
        return value

    def number(self, value: Any, path: str, minimum: float = 0) -> Optional[float]:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.add(path, f"must be a number, got {_kind(value)}")
            return None
        if not math.isfinite(value) or value < minimum:
            self.add(path, f"must be a finite number >= {minimum:g}, got {value!r}")
            return None
        return float(value)

    def members(self, value: dict[str, Any], path: str, allowed: frozenset[str]) -> None:
        """Only HAR members (and ``_``-prefixed custom ones); ``comment`` is a string."""
        for key in value:
            if key not in allowed and not str(key).startswith("_"):
                self.add(f"{path}.{key}", "is not a HAR 1.2 member (custom ones start with _)")
        if "comment" in allowed and "comment" in value:
            self.string(value["comment"], f"{path}.comment")

    def records(self, value: Any, path: str, allowed: frozenset[str] = _RECORD_KEYS,
                value_required: bool = True) -> list[dict[str, Any]]:
        """A HAR list of ``{name, value}`` objects (headers, query, cookies, params)."""
        if not isinstance(value, list):
            self.add(path, f"must be an array, got {_kind(value)}")
            return []
        good = []
        for index, item in enumerate(value):
            item_path = f"{path}[{index}]"
            record = self.obj(item, item_path)
            if record is None:
                continue
            self.members(record, item_path, allowed)
            name = self.field(record, "name", item_path, self.string)
            self.field(record, "value", item_path, self.string, required=value_required)
            for key in ("path", "domain", "fileName", "contentType"):
                if key in allowed:
                    self.field(record, key, item_path, self.string, required=False)
            for key in ("httpOnly", "secure"):
                if key in allowed:
                    self.field(record, key, item_path, self.boolean, required=False)
            expires = record.get("expires") if "expires" in allowed else None
            if "expires" in record and "expires" in allowed and not (
                isinstance(expires, str) and _HAR_DATE.fullmatch(expires)
            ):
                self.add(f"{item_path}.expires", f"must be an ISO 8601 date, got {_kind(expires)}")
            if name is not None:
                good.append(record)
        return good


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {shown!r}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _header(headers: list[dict[str, Any]], name: str) -> Optional[str]:
    for header in headers:
        if str(header.get("name", "")).lower() == name and isinstance(header.get("value"), str):
            return str(header["value"])
    return None


def _secret_shape(value: Any) -> bool:
    return isinstance(value, str) and (is_masked(value) or bool(_REDACTED.fullmatch(value)))


def _check_secrets(c: _Checker, headers: list[dict[str, Any]], cookies: list[dict[str, Any]],
                   path: str, masked: frozenset[str]) -> None:
    for index, header in enumerate(headers):
        name = str(header["name"])
        if name.lower() in masked and "value" in header and not _secret_shape(header["value"]):
            c.add(f"{path}.headers[{index}]", f"the {name} value must be masked, not sent in clear")
    for index, cookie in enumerate(cookies):
        if "value" in cookie and not _secret_shape(cookie["value"]):
            c.add(f"{path}.cookies[{index}]",
                  f"the value of cookie {cookie['name']!r} must be masked, not sent in clear")


def _check_post_data(c: _Checker, value: Any, path: str, headers: list[dict[str, Any]],
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
        content_type = _header(headers, "content-type")
        if mime is not None and mime != (content_type or "text/plain"):
            c.add(f"{path}.mimeType",
                  f"must be the request's Content-Type {content_type or 'text/plain'!r}, "
                  f"got {mime!r}")
    if body_size == 0:
        c.add(path, "present although the request has no body (bodySize 0)")


def _check_request(c: _Checker, value: Any, path: str) -> None:
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
        parts = urlsplit(url)
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
    cookies = c.field(request, "cookies", path,
                      lambda v, p: c.records(v, p, _COOKIE_KEYS)) or []
    _check_secrets(c, headers, cookies, path, _MASKED_REQUEST_HEADERS)
    headers_size = c.field(request, "headersSize", path, c.integer)
    if headers_size is not None and headers_size != -1:
        c.add(f"{path}.headersSize", f"must be -1, got {headers_size}")
    body_size = c.field(request, "bodySize", path, c.integer)
    if "postData" in request:
        _check_post_data(c, request["postData"], f"{path}.postData", headers, body_size)
    elif body_size is not None and body_size > 0:
        c.add(path, f"has a body of {body_size} bytes but no postData")


def _check_response(c: _Checker, value: Any, path: str) -> None:
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
    cookies = c.field(response, "cookies", path,
                      lambda v, p: c.records(v, p, _COOKIE_KEYS)) or []
    _check_secrets(c, headers, cookies, path, _MASKED_RESPONSE_HEADERS)
    content = c.field(response, "content", path, c.obj)
    if content is not None:
        content_path = f"{path}.content"
        c.members(content, content_path, frozenset(
            {"size", "compression", "mimeType", "text", "encoding", "comment"}
        ))
        c.field(content, "size", content_path, c.integer)
        c.field(content, "compression", content_path, c.integer, required=False)
        mime = c.field(content, "mimeType", content_path, c.string)
        content_type = _header(headers, "content-type") or ""
        if mime is not None and mime != content_type:
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
    location = _header(headers, "location") or ""
    if redirect is not None and redirect != location:
        c.add(f"{path}.redirectURL", f"must be the Location header {location!r}, got {redirect!r}")
    headers_size = c.field(response, "headersSize", path, c.integer)
    if headers_size is not None and headers_size != -1:
        c.add(f"{path}.headersSize", f"must be -1, got {headers_size}")
    c.field(response, "bodySize", path, c.integer)


def _check_pages(c: _Checker, value: Any, path: str) -> None:
    if not isinstance(value, list):
        c.add(path, f"must be an array, got {_kind(value)}")
        return
    for index, item in enumerate(value):
        page_path = f"{path}[{index}]"
        page = c.obj(item, page_path)
        if page is None:
            continue
        c.members(page, page_path,
                  frozenset({"startedDateTime", "id", "title", "pageTimings", "comment"}))
        started = c.field(page, "startedDateTime", page_path, c.string)
        if started is not None and not _HAR_DATE.fullmatch(started):
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


def _check_entry(c: _Checker, value: Any, path: str) -> None:
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
    if started is not None and not _STARTED.fullmatch(started):
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


def validate_log(log: Any) -> list[str]:
    """Return every way ``log`` breaks SPEC section 4 (an empty list when it is valid)."""
    c = _Checker()
    top = c.obj(log, "log")
    if top is None:
        return c.problems
    log_id = c.field(top, "_id", "", c.string)
    if log_id is not None:
        try:
            parsed = uuid.UUID(log_id)
        except ValueError:
            parsed = None
        if parsed is None or parsed.version != 4 or str(parsed) != log_id:
            c.add("_id", f"must be a uuid4 string, got {log_id!r}")
    group = c.field(top, "group", "", c.obj)
    if group is not None:
        for key in group:
            if key not in ("id", "label", "email"):
                c.add(f"group.{key}", "is not a group member (id, label, email)")
        group_id = c.field(group, "id", "group", c.string)
        if group_id is not None and not is_masked(group_id):
            c.add("group.id", "must be masked (sha512-...?last4), never the raw API key")
        c.field(group, "label", "group", c.string, required=False)
        c.field(group, "email", "group", c.string, required=False)
    c.field(top, "clientIPAddress", "", c.string)
    c.field(top, "development", "", c.boolean)
    for key in top:
        if key not in ("_id", "group", "clientIPAddress", "development", "request") \
                and not str(key).startswith("_"):
            c.add(str(key), "is not a log member")
    request = c.field(top, "request", "", c.obj)
    if request is None:
        return c.problems
    for key in request:
        if key != "log":
            c.add(f"request.{key}", "unexpected: request holds only the HAR 'log'")
    har = c.field(request, "log", "request", c.obj)
    if har is None:
        return c.problems
    c.members(har, "request.log",
              frozenset({"version", "creator", "browser", "pages", "entries", "comment"}))
    # A server never sends browser or pages, but HAR allows them: check their shape only.
    c.field(har, "pages", "request.log", lambda v, p: _check_pages(c, v, p), required=False)
    version = c.field(har, "version", "request.log", c.string)
    if version is not None and version != "1.2":
        c.add("request.log.version", f"must be '1.2', got {version!r}")
    for key in ("creator", "browser"):
        creator = c.field(har, key, "request.log", c.obj, required=key == "creator")
        if creator is not None:
            c.members(creator, f"request.log.{key}", frozenset({"name", "version", "comment"}))
            c.field(creator, "name", f"request.log.{key}", c.string)
            c.field(creator, "version", f"request.log.{key}", c.string)
    entries = c.field(har, "entries", "request.log", lambda v, p: v)
    if "entries" not in har:
        return c.problems
    if not isinstance(entries, list):
        c.add("request.log.entries", f"must be an array, got {_kind(entries)}")
    elif len(entries) != 1:
        c.add("request.log.entries", f"must hold exactly one entry, got {len(entries)}")
    else:
        _check_entry(c, entries[0], "request.log.entries[0]")
    return c.problems


def validate_batch(payload: Any) -> dict[int, list[str]]:
    """Validate a whole POST body (already parsed JSON): index -> problems, invalid only.

    A body that is not a non-empty array is reported under index -1.
    """
    if not isinstance(payload, list):
        return {-1: [f"body: must be a JSON array of logs, got {_kind(payload)}"]}
    if not payload:
        return {-1: ["body: must hold at least one log, got an empty array"]}
    found = {}
    for index, log in enumerate(payload):
        problems = validate_log(log)
        if problems:
            found[index] = problems
    return found

