"""Build the log object ReadMe's Metrics API receives, a HAR 1.2 entry inside (SPEC 4).

Pure functions over an :class:`~readme_metrics.exchange.Exchange`: no I/O, no clock
except as a fallback for an impossible start time, nothing kept between calls except
small caches keyed on header values. They run on the delivery worker for every log, so
the common path (a small JSON or form body, no redaction) is a handful of dict builds;
redaction (:mod:`readme_metrics.har.redaction`) is applied to the raw values first, then
the credentials and cookies are masked (:func:`readme_metrics.masking.mask`) so that
secrets never leave the process in clear. Nothing here raises, whatever the exchange
holds: a body that cannot be parsed is recorded as text or base64, a malformed cookie is
skipped.
"""

from __future__ import annotations

import platform
from operator import itemgetter
from typing import Any, Optional

from readme_metrics.exchange import INVALID_STATUS, Exchange
from readme_metrics.har import bodies
from readme_metrics.har.cookies import (
    request_cookies,
    response_cookies,
    response_received,
)
from readme_metrics.har.credentials import CallerKey, for_key
from readme_metrics.har.entry_times import started as _started
from readme_metrics.har.entry_times import timings
from readme_metrics.har.headers import (
    RAW_CONTENT_TYPE,
    RAW_COOKIE,
    headers,
    hidden_userinfo,
    keyed_values,
)
from readme_metrics.har.key_gate import keyless
from readme_metrics.har.pairs import parse_query, query_values
from readme_metrics.har.percent import decode_component
from readme_metrics.har.redaction import Redactor, escaped_redacted, redacted
from readme_metrics.har.redaction_pairs import paired_across
from readme_metrics.har.scrub import masked_base64, scrub_entry
from readme_metrics.har.text_userinfo import (
    json_userinfo_hidden,
    userinfo_hidden_in,
)
from readme_metrics.masking import mask
from readme_metrics.version import __version__

__all__ = ["CREATOR", "DEFAULT_MAX_BODY_BYTES", "build_entry", "build_log", "timings"]

#: The HAR ``creator``: computed once, it cannot change while the process runs.
CREATOR: dict[str, str] = {
    "name": "readme-metrics (python)",
    "version": __version__,
    "comment": (
        f"{platform.machine()}-{platform.system()}{platform.release()}"
        f"/{platform.python_version()}"
    ),
}

DEFAULT_MAX_BODY_BYTES = 262144

_VALUE = itemgetter("value")


def _request(
    exchange: Exchange, url: str, query: list[tuple[str, str]],
    active: Optional[Redactor], max_body_bytes: int, caller: Optional[CallerKey],
    gated: bool,
) -> dict[str, Any]:
    """The HAR ``request`` object (``gated``: :func:`headers`')."""
    request_headers, noted = headers(exchange.request_headers, active, caller, None, gated)
    # Most requests carry no Cookie header: spare the parser its pass then. (bodies.safely,
    # body_clip.body_size and body_forms.records written out here and in _response: a Python
    # call each costs more than what it does, and every log makes them; cpu29.)
    cookies: Any = []
    if RAW_COOKIE in noted:
        try:
            cookies = request_cookies(noted[RAW_COOKIE], active, caller) or []
        except Exception:  # noqa: BLE001 - as bodies.safely: never the whole log lost
            cookies = []
    body, size = exchange.request_body, exchange.request_body_size
    if size < -1 or (size != -1 and size < len(body)):
        size = len(body)
    request: dict[str, Any] = {
        "method": exchange.method,
        "url": url,
        "httpVersion": exchange.http_version,
        "headers": request_headers,
        "queryString": [{"name": name, "value": value} for name, value in query]
                       if query else [],
        "cookies": cookies,
        "headersSize": -1,
        "bodySize": size,
    }
    # A body too large to record at all (max_body_bytes=0) still shows, as truncated,
    # one of unknown length too (chunked, left unread: none of it is read to keep none);
    # one of unknown length, or declared and none of it received, that could not be
    # read, as incomplete.
    if (exchange.request_body or exchange.request_body_size > 0
            or (exchange.request_body_size < 0 and max_body_bytes == 0)
            or (exchange.request_body_incomplete and (
                exchange.request_body_size < 0 or (exchange.request_body_declared or 0) > 0))):
        # mimeTypes are the Content-Type as sent, the caller's key masked (redacted only
        # when the denylist names it: headers() notes it so).
        post = bodies.safely(
            bodies.post_data, exchange.request_body, request["bodySize"], noted, active,
            max_body_bytes, exchange.request_body_incomplete, exchange.request_body_declared,
            exchange.request_body_read,
        )
        if post is None:
            post = {
                "mimeType": noted.get("content-type") or "text/plain",
                "text": "",
                "comment": bodies.UNRECORDABLE_COMMENT,
            }
        request["postData"] = post
    return request


def _response(
    exchange: Exchange, active: Optional[Redactor], max_body_bytes: int,
    caller: Optional[CallerKey], gated: bool,
) -> tuple[dict[str, Any], Optional[str]]:
    """The HAR ``response`` object, and its Content-Type as sent (its mimeType is
    redacted when the denylist names Content-Type; ``gated``: :func:`headers`')."""
    # (The x-documentation-url's tail is read only with lists: not made without; cpu25.)
    response_headers, noted = headers(exchange.response_headers, active, caller,
                                      None if active is None else f"/logs/{exchange.id}",
                                      gated)
    response_type = noted.get("content-type")
    body, size = exchange.response_body, exchange.response_body_size
    if size < -1 or (size != -1 and size < len(body)):  # (body_clip.body_size)
        size = len(body)
    if exchange.response_body_omitted:
        content = bodies.omitted(size, response_type)
    else:
        try:  # (bodies.safely)
            content = bodies.content(body, size, noted, active, max_body_bytes)
        except Exception:  # noqa: BLE001 - a body must never cost the whole log
            content = None
    if content is None:
        content = {
            "size": size,
            "mimeType": response_type if response_type is not None else "",
            "comment": bodies.UNRECORDABLE_COMMENT,
        }
    elif exchange.status.__class__ is int and 300 <= exchange.status < 400 and (
            "@" in content.get("text", "") and content.get("encoding") is None):
        # A redirect's body quoting its Location (werkzeug's "Redirecting ... <a href=")
        # has a URL's password hidden as the Location has, lists or not (hostile52); a
        # JSON one cut at a reader's cap hidden whole, still JSON (review152).
        content["text"] = (json_userinfo_hidden if "json" in content.get(
            "mimeType", "").lower() else userinfo_hidden_in)(content["text"])
    if exchange.response_body_cut is not None:  # the app's answer broke off
        bodies.broke_off(content, size, exchange.response_body_cut,
                         exchange.response_cut_at_exit, exchange.response_body_short)
    elif exchange.response_client_left:  # the client left mid-answer
        bodies.client_left(content, size)
    status, status_text = exchange.status, exchange.status_text
    if status.__class__ is int and 100 <= status <= 999 and status_text.__class__ is str:
        comment = None  # (_status's usual case, without its call)
    else:
        status, status_text, comment = _status(status, status_text)
    if exchange.response_comment is not None:  # a status no status line carried (499)
        comment = exchange.response_comment
    response: dict[str, Any] = {
        "status": status,
        "statusText": status_text,
        # What the server's status line said, where known to differ from the request's.
        "httpVersion": exchange.response_http_version or exchange.http_version,
        "headers": response_headers,
        "cookies": (bodies.safely(response_cookies, exchange.response_headers, active,
                                  response_received(exchange.started, exchange.wait),
                                  caller) or []
                    if "set-cookie" in noted else []),
        "content": content,
        "redirectURL": noted.get("location", ""),
        "headersSize": -1,
        "bodySize": size,
    }
    if comment is not None:
        response["comment"] = comment
    return response, noted.get(RAW_CONTENT_TYPE)


def _status(status: Any, text: Any) -> tuple[int, str, Optional[str]]:
    """HAR ``status``, ``statusText`` and a comment for a status no status line can carry.

    HAR's status is a number, and the Metrics API refuses a whole batch for one log whose
    status is not a 3-digit one (100 to 999): an app's status without such a code
    (``"2000 OK"``, ``"abc"``, or ``"099 Weird"``, whose 099 waitress, gunicorn and
    wsgiref send as given and werkzeug as 99: either way the number 99) is logged as 500,
    the comment quoting what the app gave.
    """
    if isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 999:
        # int(): an IntEnum (a Django view's HTTPStatus.CREATED) is sent as its number.
        return int(status), text if text.__class__ is str else str(text), None
    given = str(text) if status == INVALID_STATUS else f"{status} {text}".rstrip()
    return 500, "Internal Server Error", (
        f"the app's status {given!r} has no HTTP status code from 100 to 999 (3 digits, "
        "the first not 0; HAR's status is that number): logged as 500")


def build_entry(
    exchange: Exchange,
    redactor: Optional[Redactor] = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    caller_key: Optional[str] = None,
) -> dict[str, Any]:
    """The HAR 1.2 entry of one exchange, redacted and masked (SPEC section 4).

    ``caller_key``: the api_key the grouping function returned, replaced by its mask
    wherever the exchange carried it (SPEC section 6).
    """
    return _entry(exchange, redactor, max_body_bytes,
                  for_key(caller_key) if caller_key else None)


def _entry(exchange: Exchange, redactor: Optional[Redactor], max_body_bytes: int,
           caller: Optional[CallerKey]) -> dict[str, Any]:
    """:func:`build_entry` for the caller's key as its :class:`CallerKey` (None: none)."""
    active = redactor if redactor is not None and redactor.active else None

    # queryString is read from the url redacted, so the two always agree.
    url = exchange.url if active is None else active.target(exchange.url)
    if "@" in url:
        # A user and password in it (a Host header holding them) are a credential.
        url = hidden_userinfo(url)
    if "@" in url or "%40" in url or "u0040" in url or "%2540" in url:
        # A URL's password in its path or query (GET /proxy/https://ada:pw@h/, ?u=...):
        # hidden as a URL header's, with or without lists (hostile64: sent), percent-
        # encoded, so that it stays a URL and queryString, read from it, agrees. (The
        # test of text_userinfo.may_hold_at written out: every log passes here, cpu29.)
        url = userinfo_hidden_in(url)
    raw_query = url.partition("?")[2]
    query = parse_query(raw_query) if raw_query else []

    total, wait, receive = timings(exchange.wait, exchange.duration)
    # The key gate runs on this log: the header values sent as they come are left to it
    # (headers()' gated), and looked at again only when it says no (_keyed_headers).
    gate = None if caller is None else caller.gate
    gated = gate is not None
    request = _request(exchange, url, query, active, max_body_bytes, caller, gated)
    if active is not None and query and "postData" in request:
        url = _paired_across(request, url, query, active)
    response, response_type = _response(exchange, active, max_body_bytes, caller, gated)
    entry = {
        "pageref": url,
        "startedDateTime": _started(exchange.started),
        "time": total,
        "request": request,
        "response": response,
        "cache": {},
        "timings": {"send": 0, "wait": wait, "receive": receive},
    }
    try:
        # Most logs hold no spelling of the key: the gate proves it, and they are left
        # as built (key_gate; the scrub's ~49k instructions of a small GET's log).
        if caller is not None and (gate is None or not keyless(
                entry, gate, response_type, caller.gate_cookies)):
            if gated:
                _keyed_headers(exchange, entry, active, caller)
            scrub_entry(entry, caller, response_type, max_body_bytes)
    except Exception:  # noqa: BLE001 - never the key in clear, never a lost log
        bodies.hide_bodies(entry)
    return entry


def _keyed_headers(exchange: Exchange, entry: dict[str, Any], active: Optional[Redactor],
                   caller: CallerKey) -> None:
    """The request's and response's headers of ``entry``, built ``gated`` (the key not
    looked for in the values sent as they come), made as without it where a value may
    hold the key (:meth:`CallerKey.may_hold` of them joined: each such value does):
    the gate said no, so the scrub runs, and it leaves the headers' values to headers().
    Without lists each such value is tested where it is (:func:`.headers.keyed_values`:
    the headers built once; cpu44); with lists, where a value may be redacted, the side's
    headers are built again without ``gated``."""
    for side, pairs, own in (
            (entry["request"], exchange.request_headers, None),
            (entry["response"], exchange.response_headers,
             None if active is None else f"/logs/{exchange.id}")):
        if caller.may_hold("\0".join(map(_VALUE, side["headers"]))):
            if active is None and len(pairs) == len(side["headers"]):  # (one a pair)
                keyed_values(pairs, side["headers"], caller)
            else:
                side["headers"] = headers(pairs, active, caller, own)[0]


def _paired_across(request: dict[str, Any], url: str, query: list[tuple[str, str]],
                   redactor: Redactor) -> str:
    """The request's ``url``, and its ``queryString`` and form or multipart ``params`` in
    place, with the values of a name/value pair split between the query and the body
    redacted (:func:`~readme_metrics.har.redaction_pairs.paired_across`)."""
    params = request["postData"].get("params")
    if not params:
        return url
    hidden = paired_across(query, [(param["name"], param["value"]) for param in params
                                   if param.get("value").__class__ is str], redactor.denies)
    if not hidden:
        return url
    for record in (*request["queryString"], *params):
        if (record["name"], record.get("value")) in hidden:
            record["value"] = redacted(record["value"])
    base, _, raw_query = url.partition("?")
    url = base + "?" + query_values(raw_query, lambda name, value: escaped_redacted(
        decode_component(value)) if (decode_component(name), decode_component(value)) in (
            hidden) else None)
    request["url"] = url
    return url


def _client_ip(address: str, caller: Optional[CallerKey]) -> str:
    """The client's address with the caller's key masked: the address a server gives may
    be an X-Forwarded-For hop as sent (uvicorn's ``--proxy-headers`` takes it), which a
    client reaching the proxy writes itself (the header is masked, so is this copy of
    it). (The middleware's own ``trusted_proxies`` takes only an IP address.)"""
    if caller is None or address.__class__ is not str or len(address) < caller.shortest:
        return address
    if caller.may_hold(address):
        address = caller.text(address)
    return masked_base64(address, caller)  # (its base64: "Basic <base64>", a hop's junk)


def build_log(
    exchange: Exchange,
    *,
    development: bool = False,
    redactor: Optional[Redactor] = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> dict[str, Any]:
    """The log object posted to the Metrics API for one exchange (SPEC section 4)."""
    group_info, address = exchange.group, exchange.client_ip
    key = str(group_info.id)
    # One CallerKey for the group and the entry (its mask is the group id's).
    caller = for_key(key) if key else None
    group: dict[str, str] = {"id": mask(key) if caller is None else caller.masked}
    # A label or email that is the caller's key (a grouping function with no name at
    # hand returning {"api_key": k, "label": k}) goes as the key's mask, as in group.id
    # (SPEC 6: the key never leaves in clear). Any other label or email is the grouping
    # function's own text, sent as given, even one it built from the key. (Tested here,
    # not in a function: a call per field costs more than the test.)
    if group_info.label is not None:
        label = str(group_info.label)
        group["label"] = caller.masked if caller is not None and label in caller.keys else label
    if group_info.email is not None:
        email = str(group_info.email)
        group["email"] = caller.masked if caller is not None and email in caller.keys else email
    return {
        "_id": exchange.id,
        "group": group,
        # (_client_ip's first test written out: most logs need no more.)
        "clientIPAddress": address if caller is None or address.__class__ is not str
        or len(address) < caller.shortest else _client_ip(address, caller),
        "development": bool(development),
        "request": {
            "log": {
                "version": "1.2",
                # A copy, so that a consumer editing one log cannot change the others.
                "creator": dict(CREATOR),
                "entries": [_entry(exchange, redactor, max_body_bytes, caller)],
            }
        },
    }
