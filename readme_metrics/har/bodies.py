"""Request ``postData`` and response ``content`` of a HAR entry (SPEC sections 4 and 6).

Forms become ``params``, multipart bodies ``params`` with files as data URLs, text (JSON,
XML, text/*) becomes ``text`` (JSON redacted key by key), anything else base64. Nothing
here raises into the caller: :func:`safely` turns a failure into a comment.

This module assembles them and their comments; the reading is by job in its siblings:
:mod:`.body_clip` (the bound), :mod:`.body_forms` (params; :mod:`.body_wide` a form in
UTF-16/32), :mod:`.body_text` (text or base64), :mod:`.body_redaction` (a text by its type).
"""

from __future__ import annotations

import base64
from typing import Any, Callable, Optional

from readme_metrics.exchange import WITHHELD_CHUNKED
from readme_metrics.har.body_clip import clip
from readme_metrics.har.body_compressed import starts_compressed
from readme_metrics.har.body_forms import params_of
from readme_metrics.har.body_text import text_or_base64
from readme_metrics.har.compression import decompress, missing_decoder, names_no_coding
from readme_metrics.har.credential_pairs import (
    masked_credential_fields,
    masked_credential_form,
    masked_credential_pairs,
)
from readme_metrics.har.headers import RAW_CONTENT_ENCODING, RAW_CONTENT_TYPE
from readme_metrics.har.redaction import Redactor, redacted
from readme_metrics.har.text import FORM, JSON_START, content_type, decode

__all__ = [
    "UNRECORDABLE_COMMENT", "UWSGI_CHUNKED_COMMENT", "content", "hide_bodies", "omitted",
    "post_data", "safely",
]

_MULTIPART = "multipart/form-data"
_OMITTED_COMMENT = (
    "body sent by the server from a file (WSGI file_wrapper, ASGI pathsend) and not recorded"
)
_UNREADABLE_COMMENT = "body could not be decoded, so it was redacted whole"
_NO_CODING_COMMENT = "its Content-Encoding names no compression: recorded as received"
UNRECORDABLE_COMMENT = "body could not be recorded"
#: A chunked body under uWSGI, none of it in wsgi.input (WITHHELD_CHUNKED).
UWSGI_CHUNKED_COMMENT = ("incomplete: uWSGI gives a chunked body not in wsgi.input but to "
                         "uwsgi.chunked_read(): none of it could be recorded")


def _join(first: Optional[str], second: Optional[str]) -> Optional[str]:
    """Two optional comments as one ("a; b"), None when neither is there."""
    if not first:
        return second or None
    return f"{first}; {second}" if second else first


def _readable(
    body: bytes, coding: Optional[str], truncated: bool, max_body_bytes: int
) -> tuple[Optional[bytes], Optional[str], bool]:
    """(body with its Content-Encoding undone or None if unreadable, comment, truncated)."""
    if not coding:
        return body, None, truncated
    decoded = decompress(body, coding, max_body_bytes)
    if decoded is None:
        if names_no_coding(coding, body):
            # SPEC 4: text, exactly as received (its checks as any text's).
            # (Not the header's words: the client's, they could hold anything.)
            return body, _NO_CODING_COMMENT, truncated
        return None, missing_decoder(coding), truncated
    if not decoded.codings:
        return body, None, truncated
    note = f"decompressed from Content-Encoding {decoded.codings}"
    if decoded.inside:
        note += f" and the {decoded.inside} inside it, undeclared"
    if decoded.truncated:
        note += f", to the first {len(decoded.body)} bytes"
    return decoded.body, note, truncated or decoded.truncated


def _recorded(
    readable: Optional[bytes], body: bytes, essence: str, charset: Optional[str],
    truncated: bool, redactor: Optional[Redactor], note: Optional[str], limit: int,
) -> tuple[str, bool, Optional[str]]:
    """(text, is_base64, comment) of a body recorded as text or base64."""
    if readable is None:
        # Its Content-Encoding cannot be undone (an unknown coding, br or zstd with no
        # module for it, corrupt data). Nothing in it can be checked, by the lists nor
        # for the caller's api_key (SPEC 6), which anyone could read in its base64 by
        # decompressing it: nothing in it is let through, lists or none.
        return redacted(body), False, _join(_UNREADABLE_COMMENT, note)
    text, is_base64, comment = text_or_base64(readable, essence, charset, truncated, redactor,
                                             limit)
    return text, is_base64, (note or None) if comment is None else _join(comment, note)


def post_data(
    body: bytes,
    size: int,
    head: dict[str, str],
    redactor: Optional[Redactor],
    max_body_bytes: int,
    incomplete: bool = False,
    length: Optional[int] = None,
    read: Optional[int] = None,
) -> dict[str, Any]:
    """HAR ``postData`` for a request body; ``head`` as noted by :func:`headers`.

    ``incomplete``: the client had not sent the rest of a body the app left unread
    (SPEC 5), so ``size`` is what could be read without waiting (``body`` at most
    max_body_bytes of it) and ``length`` the length the client declared (-1: none);
    ``length`` None: ``size`` is the declared length and ``body`` what arrived.
    ``read``: the bytes read of a body whose rest no one read (the app did not read it
    to its end, the capture stopped at max_body_bytes): the comment says so.
    """
    body, note, truncated = clip(body, size, max_body_bytes)
    if incomplete:
        if length is None:
            received, length, note = len(body), size, None
        else:
            received = max(size, len(body))
            truncated = True  # it may end in a character cut short
        of = f"{length} bytes" if length >= 0 else "a body of unknown length"
        if length == WITHHELD_CHUNKED and not received:
            note = _join(UWSGI_CHUNKED_COMMENT, note)
        else:
            # (A body kept only in part says so after: "truncated to 10 of 17 bytes".)
            note = _join(f"incomplete: {received} of {of} could be read without waiting",
                         note)
    elif read is not None:
        note = _join(note, f"only {read} bytes were read: the app did not read the body to "
                           "its end, nor did the capture past max_body_bytes")
    declared = head.get(RAW_CONTENT_TYPE)
    mime_type = head.get("content-type")
    essence, charset = content_type(declared)
    readable, decoded, truncated = _readable(
        body, head.get(RAW_CONTENT_ENCODING), truncated, max_body_bytes
    )
    note = _join(decoded, note)
    post: dict[str, Any]
    if readable is not None and essence in (FORM, _MULTIPART) and declared is not None and not (
            # A gzip upload declared a form: no form, binary data (base64), whose checks
            # read what it holds compressed, by the lists (text_or_base64) and for the
            # caller's key (scrub). As a form's params its bytes were a field's name,
            # gunzipped back by anyone (review110), the caller's key unseen (hostile26).
            essence == FORM and starts_compressed(readable)):
        params, text, comment = params_of(readable, essence, charset, declared, redactor,
                                        truncated, max_body_bytes)
        if params is not None:
            # A header list in form fields: its credentials masked as the headers are.
            masked_credential_fields(params)
            post = {"mimeType": mime_type, "params": params}
            if note:
                post["comment"] = note
            return post
        if text is not None:
            return {"mimeType": mime_type, "text": text, "comment": _join(comment, note)}
    text, is_base64, note = _recorded(
        readable, body, essence, charset, truncated, redactor, note, max_body_bytes
    )
    # SPEC 4: the Content-Type as sent, or text/plain when there is none (even for
    # base64: the comment says how to read the text).
    post = {"mimeType": mime_type or "text/plain", "text": text}
    if is_base64:
        post["comment"] = _join("base64", note)
    elif note:
        post["comment"] = note
    return post


def content(
    body: bytes,
    size: int,
    head: dict[str, str],
    redactor: Optional[Redactor],
    max_body_bytes: int,
) -> dict[str, Any]:
    """HAR response ``content`` (without the file_wrapper case, see :func:`omitted`)."""
    mime_type = head.get("content-type")
    out: dict[str, Any] = {"size": size, "mimeType": mime_type if mime_type is not None else ""}
    if size == len(body) <= max_body_bytes:  # all of it, within the bound: as clip gives
        note, truncated = None, False
    else:
        body, note, truncated = clip(body, size, max_body_bytes)
    essence, charset = content_type(head.get(RAW_CONTENT_TYPE))
    coding = head.get(RAW_CONTENT_ENCODING)
    if coding:
        readable, decoded, truncated = _readable(body, coding, truncated, max_body_bytes)
        note = _join(decoded, note)
    else:  # (_readable's first test: the usual response, sent as it is)
        readable = body
        if redactor is None:
            # What _recorded gives with no lists, without its two calls.
            text = decode(body, essence, charset, truncated)[0]
            if text is None:
                out["text"] = base64.b64encode(body).decode("ascii")
                out["encoding"] = "base64"
            else:
                # (looks_like_json, inline: the usual answer's path, a call fewer.)
                out["text"] = masked_credential_pairs(text) if (
                    "json" in essence or JSON_START.match(text) is not None) else (
                    masked_credential_form(text) if essence == FORM else text)
            if note:
                out["comment"] = note
            return out
    text, is_base64, note = _recorded(
        readable, body, essence, charset, truncated, redactor, note, max_body_bytes
    )
    out["text"] = text
    if is_base64:
        out["encoding"] = "base64"
    if note:
        out["comment"] = note
    return out


def omitted(size: int, mime_type: Optional[str]) -> dict[str, Any]:
    """HAR ``content`` of a file the server sent (wsgi.file_wrapper, ASGI pathsend): its
    size, no text."""
    return {"size": size, "mimeType": mime_type if mime_type is not None else "",
            "comment": _OMITTED_COMMENT}


def broke_off(content: dict[str, Any], size: int, declared: int,
              at_exit: bool = False, short: bool = False) -> None:
    """Say in HAR response ``content``'s comment that the answer broke off after ``size``
    bytes, short of the ``declared`` Content-Length (-1: none): the app's call ended
    before its body's end, and the server closed the connection (hypercorn's HTTP/2
    one too) without it (see ``Exchange.response_body_cut``); or, ``at_exit``, the
    process exited while it was still being sent (``Exchange.response_cut_at_exit``);
    or, ``short``, the app's answer ended, shorter than its own Content-Length
    (``Exchange.response_body_short``). "incomplete", as a request body's, so that the
    text's end is read as cut (:mod:`.credentials`)."""
    if short:
        content["comment"] = _join(content.get("comment"), (
            f"incomplete: the app's answer was shorter than its Content-Length: {size} of "
            f"{declared} bytes; the client's answer was cut short there"))
        return
    of = f"{size} of the {declared} bytes its Content-Length declared" if declared >= 0 \
        else f"{size} bytes, with no end of its body"
    content["comment"] = _join(content.get("comment"), (
        f"incomplete: the process exited while the answer was being sent, after {of}: "
        "what was sent later is not logged" if at_exit else
        f"incomplete: the app's answer broke off after {of}: its call ended before the "
        "body's end, and the client's answer was cut short there"))


def client_left(content: dict[str, Any], size: int) -> None:
    """Say in HAR response ``content``'s comment that the client left after ``size``
    bytes, before the answer's end (``Exchange.response_client_left``): "incomplete", as
    :func:`broke_off` says it."""
    content["comment"] = _join(content.get("comment"), (
        f"incomplete: the client left before the answer's end, after the server took "
        f"{size} bytes of it: what the app sent later reached no one and is not logged"))


def hide_bodies(entry: dict[str, Any]) -> None:
    """Redact both bodies of ``entry`` whole (when they could not be checked)."""
    post = entry["request"].get("postData")
    if post is not None:
        post.pop("params", None)
        post["text"], post["comment"] = "[REDACTED]", UNRECORDABLE_COMMENT
    content = entry["response"]["content"]
    if "text" in content:
        content.pop("encoding", None)
        content["text"], content["comment"] = "[REDACTED]", UNRECORDABLE_COMMENT


def safely(build: Callable[..., Any], *args: Any) -> Any:
    """Run a body builder; a failure gives None instead of losing the log."""
    try:
        return build(*args)
    except Exception:  # noqa: BLE001 - a body must never cost the whole log
        return None
