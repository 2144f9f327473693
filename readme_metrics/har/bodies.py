"""Request ``postData`` and response ``content`` of a HAR entry (SPEC sections 4 and 6).

Forms become ``params``, multipart bodies ``params`` with files as data URLs, text (JSON,
XML, text/*) becomes ``text`` (JSON redacted key by key), anything else base64. Nothing
here raises into the caller: :func:`safely` turns a failure into a comment.
"""

from __future__ import annotations

import base64
import re
from typing import Any, Callable, Optional

from readme_metrics.exchange import Exchange
from readme_metrics.har.headers import header
from readme_metrics.har.multipart import multipart_params
from readme_metrics.har.redaction import Redactor, redacted
from readme_metrics.har.text import content_type, decode, parse_query

__all__ = ["UNRECORDABLE_COMMENT", "body_size", "content", "post_data", "records", "safely"]

_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"
_OMITTED_COMMENT = "body streamed with wsgi.file_wrapper (sendfile) and not recorded"
_UNREDACTABLE_COMMENT = (
    "body could not be parsed to redact it field by field, so it was redacted whole"
)
UNRECORDABLE_COMMENT = "body could not be recorded"
_JSON_START = re.compile(r"\s*[\[{]")


def records(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    """HAR ``[{name, value}]`` records of (name, value) pairs."""
    return [{"name": name, "value": value} for name, value in pairs]


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


def body_size(size: int, captured: bytes) -> int:
    """The real body size; never below what was captured, -1 only when unknown."""
    if size < -1 or (size != -1 and size < len(captured)):
        return len(captured)
    return size


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
    pairs = parse_query(body.decode("utf-8", "replace"))
    if redactor is not None:
        pairs = redactor.pairs(pairs)
    return records(pairs)


def _text_or_base64(
    body: bytes,
    essence: str,
    charset: Optional[str],
    truncated: bool,
    redactor: Optional[Redactor],
) -> tuple[str, bool, Optional[str]]:
    """(text, is_base64, redaction comment) for a body that is not a form."""
    text = decode(body, charset, truncated)
    if text is None:
        return base64.b64encode(body).decode("ascii"), True, None
    text, comment = _redact_text(text, essence, redactor)
    return text, False, comment


def post_data(
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
        raw, body_size(exchange.request_body_size, raw), max_body_bytes
    )
    if exchange.request_body_incomplete:  # the client had not sent the rest (SPEC 5)
        note = f"incomplete: {len(body)} of {exchange.request_body_size} bytes had arrived"
    declared = header(exchange.request_headers, "content-type")
    essence, charset = content_type(declared)
    post: dict[str, Any]
    if essence == _FORM:
        post = {"mimeType": content_type_out, "params": _form_params(body, redactor)}
        if note:
            post["comment"] = note
        return post
    if essence == _MULTIPART and declared is not None:
        params = multipart_params(body, declared, redactor)
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


def content(
    exchange: Exchange,
    content_type_out: Optional[str],
    size: int,
    redactor: Optional[Redactor],
    max_body_bytes: int,
) -> dict[str, Any]:
    """HAR response ``content``."""
    out: dict[str, Any] = {
        "size": size,
        "mimeType": content_type_out if content_type_out is not None else "",
    }
    if exchange.response_body_omitted:
        out["comment"] = _OMITTED_COMMENT
        return out
    body, note, truncated = _clip(exchange.response_body, size, max_body_bytes)
    essence, charset = content_type(header(exchange.response_headers, "content-type"))
    text, is_base64, comment = _text_or_base64(body, essence, charset, truncated, redactor)
    out["text"] = text
    if is_base64:
        out["encoding"] = "base64"
    joined = _join(comment, note)
    if joined:
        out["comment"] = joined
    return out


def safely(build: Callable[..., Any], *args: Any) -> Any:
    """Run a body builder; a failure gives None instead of losing the log."""
    try:
        return build(*args)
    except Exception:  # noqa: BLE001 - a body must never cost the whole log
        return None
