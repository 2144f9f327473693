"""Build the log object ReadMe's Metrics API receives, a HAR 1.2 entry inside (SPEC 4).

Pure functions over an :class:`~readme_metrics.exchange.Exchange`: no I/O, no clock
except as a fallback for an impossible start time, nothing kept between calls except
small caches keyed on header values. They run on the delivery worker for every log, so
the common path (a small JSON or form body, no redaction) is a handful of dict builds;
redaction (:mod:`readme_metrics.redaction`) is applied to the raw values first, then the
credentials and cookies are masked (:func:`readme_metrics.masking.mask`) so that secrets
never leave the process in clear. Nothing here raises, whatever the exchange holds: a
body that cannot be parsed is recorded as text or base64, a malformed cookie is skipped.
"""

from __future__ import annotations

import base64
import codecs
import io
import math
import platform
import re
import time
from email.utils import mktime_tz, parsedate_tz
from functools import lru_cache
from typing import Any, Optional

from readme_metrics.exchange import Exchange
from readme_metrics.masking import mask
from readme_metrics.redaction import Redactor, decode_component, redacted
from readme_metrics.version import __version__

__all__ = ["CREATOR", "build_entry", "build_log"]

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

# Header values that are credentials: sent as mask(value), never in clear.
_MASKED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})

_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"
_OMITTED_COMMENT = "body streamed with wsgi.file_wrapper (sendfile) and not recorded"
_UNREDACTABLE_COMMENT = (
    "body could not be parsed to redact it field by field, so it was redacted whole"
)
_UNRECORDABLE_COMMENT = "body could not be recorded"

# Last second of 9999-12-31: later dates would not have the 4-digit year HAR expects.
_MAX_EPOCH = 253402300799
_JSON_START = re.compile(r"\s*[\[{]")


# -- small pure helpers -------------------------------------------------------------


def _started(epoch: float) -> str:
    """ISO 8601 UTC with milliseconds and ``Z``, e.g. ``2026-11-21T10:31:43.123Z``."""
    try:
        total_ms = math.floor(float(epoch) * 1000)
        seconds, millis = divmod(total_ms, 1000)
        if not 0 <= seconds <= _MAX_EPOCH:
            raise ValueError(epoch)
    except (TypeError, ValueError, OverflowError):
        # An impossible start time must not lose the log: record when it was built.
        seconds, millis = divmod(math.floor(time.time() * 1000), 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def _ms(seconds: Any) -> float:
    """Seconds to HAR milliseconds: non-negative, finite, rounded to microseconds."""
    try:
        value = float(seconds) * 1000.0
    except (TypeError, ValueError, OverflowError):
        return 0.0
    if not math.isfinite(value) or value <= 0.0:
        return 0.0
    return round(value, 3)


# Header name -> its lower-case form. Every log compares a dozen or two header names
# against a few known ones, several times over (masking, cookies, content types): the
# names repeat from one log to the next, so each distinct one is lowered once. Bounded:
# random names cannot grow it; past the bound they are simply lowered every time.
_LOWER: dict[str, str] = {}
_LOWER_MAX = 2048


def _lower(name: str) -> str:
    lower = _LOWER.get(name)
    if lower is None:
        lower = name.lower()
        if len(_LOWER) < _LOWER_MAX:
            _LOWER[name] = lower
    return lower


def _header(headers: list[tuple[str, str]], name: str) -> Optional[str]:
    """First value of header ``name`` (lower-case), or None."""
    lowered = _LOWER.get
    for key, value in headers:
        # The cache lookup is inlined in the loops over headers: a call per header costs
        # more than the lookup itself.
        if (lowered(key) or _lower(key)) == name:
            return value
    return None


@lru_cache(maxsize=256)
def _content_type(value: Optional[str]) -> tuple[str, Optional[str]]:
    """(lower-case essence, charset or None) of a Content-Type; cached per value."""
    if not value:
        return "", None
    essence, _, params = value.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset":
            charset = val.strip().strip("\"'").lower() or None
    return essence.strip().lower(), charset


@lru_cache(maxsize=64)
def _text_codec(charset: Optional[str]) -> str:
    """The text codec for a declared charset; UTF-8 if none, unknown or not text."""
    if charset:
        try:
            info = codecs.lookup(charset)
        except LookupError:
            return "utf-8"
        # base64, rot13 and friends are codecs too, but not text encodings.
        if getattr(info, "_is_text_encoding", True):
            return info.name
    return "utf-8"


def _decode(body: bytes, charset: Optional[str], truncated: bool) -> Optional[str]:
    """Body as text, or None when it is binary.

    A truncated body may end in the middle of a multi-byte character: the incremental
    decoder then drops that partial tail instead of calling the whole body binary.
    """
    codec = _text_codec(charset)
    try:
        if truncated:
            text = codecs.getincrementaldecoder(codec)().decode(body, final=False)
        else:
            text = body.decode(codec)
        if codec != "utf-8":
            # utf-7, unicode_escape and friends can yield lone surrogates, which could
            # not be sent as UTF-8 JSON: such a body is not text we can record.
            text.encode("utf-8")
        return text
    except (UnicodeError, LookupError, ValueError, TypeError):
        if codec != "utf-8":
            return _decode(body, None, truncated)
        return None


def _join(*comments: Optional[str]) -> Optional[str]:
    text = "; ".join(c for c in comments if c)
    return text or None


def _looks_like_json(essence: str, text: str) -> bool:
    return "json" in essence or _JSON_START.match(text) is not None


def _redact_text(
    text: str, essence: str, redactor: Optional[Redactor]
) -> tuple[str, Optional[str]]:
    """Redact a text body if it is JSON; (text, comment)."""
    if redactor is None or not redactor.mentions_key(text):
        # A denylisted key cannot be in there: spare parsing and re-serialising it.
        return text, None
    result = redactor.json_text(text)
    if result is not None:
        return result, None
    if _looks_like_json(essence, text):
        # Truncated or broken JSON cannot be redacted key by key: never leak it.
        return redacted(text), _UNREDACTABLE_COMMENT
    return text, None


def _parse_query(raw: str) -> list[tuple[str, str]]:
    """Decoded (name, value) pairs in order; repeats and blank values kept."""
    pairs = []
    for chunk in raw.split("&"):
        if chunk:
            name, _, value = chunk.partition("=")
            pairs.append((decode_component(name), decode_component(value)))
    return pairs


def _records(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in pairs]


def _without_redacted_cookies(name: str, value: str, redactor: Optional[Redactor]) -> str:
    """A Cookie/Set-Cookie value with the denylisted cookies' values replaced.

    Applied before masking: the mask ends with the value's last four characters, which
    would otherwise show (part of) a denylisted cookie's value whenever it comes last.
    A header the allowlist lets through is masked as it is, as any allowed credential.
    """
    if redactor is None:
        return value
    lower = _lower(name)
    if lower == "cookie":
        parts = value.split(";")
        count = len(parts)
    elif lower == "set-cookie":
        parts = value.split(";")
        count = 1  # the attributes after the first ";" are not cookies
    else:
        return value
    changed = False
    for index in range(count):
        cookie, equals, cookie_value = parts[index].partition("=")
        if equals and redactor.denies(cookie.strip()):
            parts[index] = f"{cookie}={redacted(cookie_value.strip())}"
            changed = True
    return ";".join(parts) if changed else value


# Headers whose first HAR value build_entry needs (mimeType, redirectURL) or whose
# presence it checks (cookies), noted while the headers are built: one pass, not four.
_NOTED_HEADERS = frozenset({"content-type", "location", "cookie", "set-cookie"})


def _headers(
    headers: list[tuple[str, str]], redactor: Optional[Redactor]
) -> tuple[list[dict[str, str]], dict[str, str]]:
    """HAR headers: redacted first, then credentials masked (a redaction stays).

    Also returns the first HAR value of each header of ``_NOTED_HEADERS`` present, by
    lower-case name.
    """
    out = []
    noted: dict[str, str] = {}
    lowered = _LOWER.get
    for name, value in headers:
        lower = lowered(name) or _lower(name)
        if redactor is not None and redactor.redacts(name):
            value = redacted(value)
        elif lower in _MASKED_HEADERS:
            value = mask(_without_redacted_cookies(name, value, redactor))
        if lower in _NOTED_HEADERS and lower not in noted:
            noted[lower] = value
        out.append({"name": name, "value": value})
    return out, noted


def _cookie_value(name: str, value: str, redactor: Optional[Redactor]) -> str:
    if redactor is not None and redactor.redacts(name):
        return redacted(value)
    return mask(value)


def _request_cookies(
    headers: list[tuple[str, str]], redactor: Optional[Redactor]
) -> list[dict[str, str]]:
    """Cookies of every Cookie header (``a=1; b=2``), lenient: never raises."""
    out = []
    lowered = _LOWER.get
    for key, header in headers:
        if (lowered(key) or _lower(key)) != "cookie":
            continue
        for part in header.split(";"):
            name, _, value = part.partition("=")
            name, value = name.strip(), value.strip()
            if not name and not value:
                continue
            out.append({"name": name, "value": _cookie_value(name, value, redactor)})
    return out


def _expires(value: str) -> Optional[str]:
    """A Set-Cookie Expires date as ISO 8601, or None when it cannot be read."""
    try:
        parsed = parsedate_tz(value)
        epoch = None if parsed is None else mktime_tz(parsed)
    except Exception:  # noqa: BLE001 - a hostile date must not cost the log
        return None
    if epoch is None or not 0 <= epoch <= _MAX_EPOCH:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(epoch))


def _response_cookies(
    headers: list[tuple[str, str]], redactor: Optional[Redactor]
) -> list[dict[str, Any]]:
    """One HAR cookie per Set-Cookie header, with the attributes HAR knows."""
    out = []
    lowered = _LOWER.get
    for key, header in headers:
        if (lowered(key) or _lower(key)) != "set-cookie":
            continue
        first, *attributes = header.split(";")
        name, _, value = first.partition("=")
        name, value = name.strip(), value.strip()
        if not name and not value:
            continue
        cookie: dict[str, Any] = {"name": name, "value": _cookie_value(name, value, redactor)}
        for attribute in attributes:
            attr, _, attr_value = attribute.partition("=")
            attr, attr_value = attr.strip().lower(), attr_value.strip()
            if attr == "path":
                cookie["path"] = attr_value
            elif attr == "domain":
                cookie["domain"] = attr_value
            elif attr == "expires":
                expires = _expires(attr_value)
                if expires is not None:
                    cookie["expires"] = expires
            elif attr == "httponly":
                cookie["httpOnly"] = True
            elif attr == "secure":
                cookie["secure"] = True
        out.append(cookie)
    return out


# -- bodies ------------------------------------------------------------------------


def _clip(body: bytes, size: int, max_body_bytes: int) -> tuple[bytes, Optional[str], bool]:
    """(body within max_body_bytes, truncation comment, truncated?)."""
    total = size
    if max_body_bytes >= 0 and len(body) > max_body_bytes:
        # The capture should have truncated already; guard the bound here too.
        total = max(size, len(body))
        body = body[:max_body_bytes]
    if total > len(body):
        return body, f"truncated to {len(body)} of {total} bytes", True
    return body, None, False


def _form_params(body: bytes, redactor: Optional[Redactor]) -> list[dict[str, str]]:
    # Form data is percent-encoded ASCII; raw bytes beyond that are taken as UTF-8
    # (a declared charset is ignored: exotic codecs could yield unsendable surrogates).
    pairs = _parse_query(body.decode("utf-8", "replace"))
    if redactor is not None:
        pairs = redactor.pairs(pairs)
    return _records(pairs)


def _sendable(text: str) -> str:
    """``text`` without lone surrogates (a part's charset=utf-7 can make them)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def _multipart_params(
    body: bytes, content_type: str, redactor: Optional[Redactor]
) -> Optional[list[dict[str, str]]]:
    """Fields and files of a multipart/form-data body via webob; None if it won't parse."""
    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        # A BytesIO already seeks: spare webob copying the body again.
        "webob.is_body_seekable": True,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "PATH_INFO": "/",
    }
    try:
        import webob  # the runtime dependency that reads forms; imported on first use

        fields = webob.Request(environ).POST
        items = list(fields.items())
    except Exception:  # noqa: BLE001 - malformed multipart: recorded another way
        return None
    if not items and body.strip():
        return None
    params: list[dict[str, str]] = []
    for name, field in items:
        name = _sendable(name if isinstance(name, str) else str(name))
        hidden = redactor is not None and redactor.redacts(name)
        if isinstance(field, bytes):
            # A part with an empty filename (a file input left empty) comes as bytes.
            try:
                field = field.decode("utf-8")
            except UnicodeDecodeError:
                field = field.decode("latin-1")
        if isinstance(field, str):
            params.append({"name": name, "value": redacted(field) if hidden else _sendable(field)})
            continue
        filename = getattr(field, "filename", None)
        if filename is None:
            return None  # nested multipart or something webob could not flatten
        try:
            data = field.value
            headers = getattr(field, "headers", None) or {}
            part_type = _sendable(str(headers.get("content-type") or "application/octet-stream"))
        except Exception:  # noqa: BLE001
            return None
        if isinstance(data, str):
            data = data.encode("utf-8", "replace")
        if not isinstance(data, bytes):
            return None
        filename = _sendable(str(filename))
        if hidden:
            value = redacted(data)
        else:
            value = (
                f"data:{part_type};name={filename};base64,"
                + base64.b64encode(data).decode("ascii")
            )
        params.append(
            {"name": name, "fileName": filename, "contentType": str(part_type), "value": value}
        )
    return params


def _text_or_base64(
    body: bytes,
    essence: str,
    charset: Optional[str],
    truncated: bool,
    redactor: Optional[Redactor],
) -> tuple[str, bool, Optional[str]]:
    """(text, is_base64, redaction comment) for a body that is not a form."""
    text = _decode(body, charset, truncated)
    if text is None:
        return base64.b64encode(body).decode("ascii"), True, None
    text, comment = _redact_text(text, essence, redactor)
    return text, False, comment


def _post_data(
    exchange: Exchange,
    content_type_out: Optional[str],
    redactor: Optional[Redactor],
    max_body_bytes: int,
) -> Optional[dict[str, Any]]:
    """HAR ``postData`` for the request body, or None when there is no body."""
    raw = exchange.request_body
    if not raw and exchange.request_body_size <= 0:
        return None
    body, note, truncated = _clip(
        raw, _body_size(exchange.request_body_size, raw), max_body_bytes
    )
    content_type = _header(exchange.request_headers, "content-type")
    essence, charset = _content_type(content_type)
    post: dict[str, Any]
    if essence == _FORM:
        post = {"mimeType": content_type_out, "params": _form_params(body, redactor)}
        if note:
            post["comment"] = note
        return post
    if essence == _MULTIPART and content_type is not None:
        params = _multipart_params(body, content_type, redactor)
        if params is not None:
            post = {"mimeType": content_type_out, "params": params}
            if note:
                post["comment"] = note
            return post
        if redactor is not None and redactor.mentions_key(body.decode("latin-1")):
            # Fields we could not parse could be sensitive: redact the whole body.
            return {
                "mimeType": content_type_out,
                "text": redacted(body),
                "comment": _join(_UNREDACTABLE_COMMENT, note),
            }
    text, is_base64, comment = _text_or_base64(body, essence, charset, truncated, redactor)
    # SPEC 4: the Content-Type as sent, or text/plain when there is none (even for
    # base64: the comment says how to read the text).
    post = {"mimeType": content_type_out or "text/plain", "text": text}
    if is_base64:
        post["comment"] = _join("base64", note)
    else:
        joined = _join(comment, note)
        if joined:
            post["comment"] = joined
    return post


def _content(
    exchange: Exchange,
    content_type_out: Optional[str],
    size: int,
    redactor: Optional[Redactor],
    max_body_bytes: int,
) -> dict[str, Any]:
    """HAR response ``content``."""
    content: dict[str, Any] = {
        "size": size,
        "mimeType": content_type_out if content_type_out is not None else "",
    }
    if exchange.response_body_omitted:
        content["comment"] = _OMITTED_COMMENT
        return content
    body, note, truncated = _clip(exchange.response_body, size, max_body_bytes)
    essence, charset = _content_type(_header(exchange.response_headers, "content-type"))
    text, is_base64, comment = _text_or_base64(body, essence, charset, truncated, redactor)
    content["text"] = text
    if is_base64:
        content["encoding"] = "base64"
    joined = _join(comment, note)
    if joined:
        content["comment"] = joined
    return content


def _body_size(size: int, captured: bytes) -> int:
    """The real body size; never below what was captured, -1 only when unknown."""
    if size < -1 or (size != -1 and size < len(captured)):
        return len(captured)
    return size


def _safely(build: Any, *args: Any) -> Any:
    """Run a body builder; a failure records a comment instead of losing the log."""
    try:
        return build(*args)
    except Exception:  # noqa: BLE001 - a body must never cost the whole log
        return None


# -- public -------------------------------------------------------------------------


def build_entry(
    exchange: Exchange,
    redactor: Optional[Redactor] = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> dict[str, Any]:
    """The HAR 1.2 entry of one exchange, redacted and masked (SPEC section 4)."""
    active = redactor if redactor is not None and redactor.active else None

    base, question, raw_query = exchange.url.partition("?")
    url = exchange.url
    query = _parse_query(raw_query) if raw_query else []
    if active is not None:
        query = active.pairs(query)
        if raw_query:
            url = base + question + active.query_string(raw_query)

    request_headers, request_noted = _headers(exchange.request_headers, active)
    response_headers, response_noted = _headers(exchange.response_headers, active)
    # mimeTypes are the Content-Type as it appears in the HAR (so redacted if listed).
    request_type = request_noted.get("content-type")
    response_type = response_noted.get("content-type")
    location = response_noted.get("location", "")

    request: dict[str, Any] = {
        "method": exchange.method,
        "url": url,
        "httpVersion": exchange.http_version,
        "headers": request_headers,
        "queryString": _records(query),
        # Most requests carry no Cookie header: spare the parser its pass then.
        "cookies": (_safely(_request_cookies, exchange.request_headers, active) or []
                    if "cookie" in request_noted else []),
        "headersSize": -1,
        "bodySize": _body_size(exchange.request_body_size, exchange.request_body),
    }
    # A body too large to record at all (max_body_bytes=0) still shows, as truncated.
    if exchange.request_body or exchange.request_body_size > 0:
        post = _safely(_post_data, exchange, request_type, active, max_body_bytes)
        if post is None:
            post = {
                "mimeType": request_type or "text/plain",
                "text": "",
                "comment": _UNRECORDABLE_COMMENT,
            }
        request["postData"] = post

    response_size = _body_size(exchange.response_body_size, exchange.response_body)
    content = _safely(_content, exchange, response_type, response_size, active, max_body_bytes)
    if content is None:
        content = {
            "size": response_size,
            "mimeType": response_type if response_type is not None else "",
            "comment": _UNRECORDABLE_COMMENT,
        }
    response: dict[str, Any] = {
        "status": exchange.status,
        "statusText": exchange.status_text,
        "httpVersion": exchange.http_version,
        "headers": response_headers,
        "cookies": (_safely(_response_cookies, exchange.response_headers, active) or []
                    if "set-cookie" in response_noted else []),
        "content": content,
        "redirectURL": location,
        "headersSize": -1,
        "bodySize": response_size,
    }

    wait = _ms(exchange.wait)
    try:
        receive = _ms(exchange.duration - exchange.wait)
    except TypeError:
        receive = 0.0
    return {
        "pageref": url,
        "startedDateTime": _started(exchange.started),
        "time": 0 + wait + receive,
        "request": request,
        "response": response,
        "cache": {},
        "timings": {"send": 0, "wait": wait, "receive": receive},
    }


def build_log(
    exchange: Exchange,
    *,
    development: bool = False,
    redactor: Optional[Redactor] = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> dict[str, Any]:
    """The log object posted to the Metrics API for one exchange (SPEC section 4)."""
    group_info = exchange.group
    group: dict[str, str] = {"id": mask(str(group_info.id))}
    if group_info.label is not None:
        group["label"] = str(group_info.label)
    if group_info.email is not None:
        group["email"] = str(group_info.email)
    return {
        "_id": exchange.id,
        "group": group,
        "clientIPAddress": exchange.client_ip,
        "development": bool(development),
        "request": {
            "log": {
                "version": "1.2",
                # A copy, so that a consumer editing one log cannot change the others.
                "creator": dict(CREATOR),
                "entries": [build_entry(exchange, redactor, max_body_bytes)],
            }
        },
    }
