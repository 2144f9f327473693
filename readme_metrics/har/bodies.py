"""Request ``postData`` and response ``content`` of a HAR entry (SPEC sections 4 and 6).

Forms become ``params``, multipart bodies ``params`` with files as data URLs, text (JSON,
XML, text/*) becomes ``text`` (JSON redacted key by key), anything else base64. Nothing
here raises into the caller: :func:`safely` turns a failure into a comment.
"""

from __future__ import annotations

import base64
import codecs
import json
import re
from typing import Any, Callable, Optional

from readme_metrics.har.body_redaction import (
    NOT_KEYED_COMMENT,
    UNREDACTABLE_COMMENT,
    json_as_form,
    looks_like_json,
    multipart_mentions,
    redact_text,
)
from readme_metrics.har.compression import decompress, missing_decoder, names_no_coding
from readme_metrics.har.credential_pairs import (
    masked_credential_fields,
    masked_credential_form,
    masked_credential_pairs,
)
from readme_metrics.har.headers import RAW_CONTENT_ENCODING, RAW_CONTENT_TYPE
from readme_metrics.har.multipart import multipart_params
from readme_metrics.har.pairs import parse_query
from readme_metrics.har.percent import ascii_form, escape_undecoded
from readme_metrics.har.redaction import Redactor, redacted
from readme_metrics.har.text import (
    FORM,
    JSON_START,
    content_type,
    decode,
    form_codec,
    wide_form_codec,
    wide_text,
)

__all__ = [
    "UNRECORDABLE_COMMENT", "body_size", "content", "hide_bodies", "omitted", "post_data",
    "records", "safely",
]

_MULTIPART = "multipart/form-data"
_OMITTED_COMMENT = (
    "body sent by the server from a file (WSGI file_wrapper, ASGI pathsend) and not recorded"
)
# The type a form that is JSON is read as (_form_of_json).
_JSON_TYPE = "application/json"
_UNREADABLE_COMMENT = "body could not be decoded, so it was redacted whole"
_NO_CODING_COMMENT = "its Content-Encoding names no compression: recorded as received"
UNRECORDABLE_COMMENT = "body could not be recorded"
# A JSON document's first bytes, after a UTF-8 byte order mark (json.loads reads one).
_JSON_BYTES_START = re.compile(rb"(?:\xef\xbb\xbf)?\s*[\[{]")
# UTF-16's byte order marks (UTF-32's, and UTF-16/32 without one, have a NUL in the first
# four bytes).
_UTF16_MARKS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def records(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    """HAR ``[{name, value}]`` records of (name, value) pairs."""
    return [{"name": name, "value": value} for name, value in pairs]


def _join(first: Optional[str], second: Optional[str]) -> Optional[str]:
    """Two optional comments as one ("a; b"), None when neither is there."""
    if not first:
        return second or None
    return f"{first}; {second}" if second else first


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
    if total < 0 <= max_body_bytes <= len(body):
        # A body of unknown length (chunked, its rest unread by the app) recorded up to
        # the limit: the capture stopped there, with more of it maybe to come.
        return body, f"truncated to {len(body)} bytes of a body of unknown length", True
    return body, None, False


def _form_params(body: bytes, charset: Optional[str], wide: Optional[str],
                 redactor: Optional[Redactor]) -> list[dict[str, str]]:
    """HAR params of a form body; ``wide``: its codec when it is UTF-16/32
    (:func:`_wide_codec`), else None."""
    codec = None if wide is not None else form_codec(charset)
    if wide is not None:
        # UTF-16/32 (NUL-spaced ASCII): read in that codec, as Django's QueryDict reads
        # a form declared so, not as NUL-spaced names no list names (a "password" field
        # went out in clear); its escapes are then read as any form's (UTF-8). Cut
        # short, or an odd byte: U+FFFD for it, never a fall back to NUL-spaced names.
        text = body.decode(wide, "replace")
    elif codec is not None:
        # The client's statement of what the bytes mean, when it is a charset a form can
        # be in: "caf%E9" in latin-1 is "café" (the escapes, and the raw bytes, read so).
        text = ascii_form(body)
    else:
        # Form data is percent-encoded ASCII; raw bytes beyond that are taken as UTF-8,
        # and one that is not UTF-8 is kept percent-encoded, as an escape of it is (a raw
        # "caf\xe9" is "caf%E9", as "caf%E9" is; U+FFFD lost the byte).
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = escape_undecoded(body.decode("utf-8", "surrogateescape"))
    if redactor is not None:
        # The pairs after a "#" in a pair too, and a field holding JSON key by key.
        text = redactor.query_string(text, codec)
    return records(parse_query(text, codec))


def _misread_wide(body: bytes, wide: Optional[str], redactor: Redactor) -> bool:
    """Whether a form holding NULs spells a denied name in UTF-16/32 that the reading it
    gets hides: read as bytes (``wide`` None: no mark, no charset, its first characters
    beyond ASCII; review52), or in ``wide`` told by a declared charset alone and not
    the client's (UTF-16-BE with no mark declared "utf-16" read little-endian, U+7000
    for "p", as Django reads it; UTF-32 declared "utf-16", NUL-spaced; review55). No
    name matched, and the secret went out spelled in its bytes. An ASCII name in any
    UTF-16/32 is that name in the bytes read as latin-1, NULs dropped (mentions_key
    drops them); one beyond ASCII ("パスワード") is looked for in each UTF-16/32 reading."""
    if wide is not None:
        text = body.decode(wide, "replace")
        if "\0" in text:
            return redactor.mentions_key(text, denied_only=True)
        if redactor.mentions_key(text, denied_only=True):
            return False
    return redactor.mentions_key(body.decode("latin-1"), denied_only=True) or (
        redactor.denies_beyond_ascii and any(
            redactor.mentions_key(body.decode(codec, "replace"), denied_only=True)
            for codec in _WIDE_READINGS))


# The codecs _misread_wide reads a form holding NULs in.
_WIDE_READINGS = ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")


def _wide_codec(body: bytes, charset: Optional[str], truncated: bool) -> Optional[str]:
    """The codec of a form body in UTF-16/32, None for any other: ASCII holds no NUL.
    Told as json.loads(bytes) tells a text's: by its byte order mark, or by where the
    NULs of its first two characters are, whatever the charset says (UTF-16-BE without a
    mark, declared "utf-16", read little-endian logged the fields byte-swapped, U+7000
    for "p"; with no charset, NUL-spaced; neither named by any list); else its declared
    charset when that is UTF-16/32 (the first characters beyond ASCII).

    Told by its bytes alone (no such charset), it must be text in that codec: binary
    data sent with a form's type (curl --data-binary's default), an MP4's
    ``\0\0\0\x18ftyp``, a font's or BSON's first bytes, was read as U+FFFD soup; it is
    read as any form's bytes are (escaped). Only a body cut short (``truncated``) may end
    in a unit's bytes: a whole one of an odd length is no UTF-16 (its last byte was
    U+FFFD). And it must be text in it (:func:`wide_text`): no controls (a protobuf's
    bytes), no ASCII read two bytes at a time (the caller's key after a UTF-16 start).
    """
    if 0 not in body:
        return None
    found = json.detect_encoding(body)
    declared = wide_form_codec(charset)
    if found.startswith("utf-8"):
        return declared
    if declared is None:
        try:
            text = codecs.getincrementaldecoder(found)().decode(body, final=not truncated)
        except UnicodeDecodeError:
            return None
        if not wide_text(text, body, found, truncated):
            return None
    return found


def _text_or_base64(
    body: bytes,
    essence: str,
    charset: Optional[str],
    truncated: bool,
    redactor: Optional[Redactor],
) -> tuple[str, bool, Optional[str]]:
    """(text, is_base64, redaction comment) for a body that is not a form's params."""
    comment: Optional[str] = None
    text: Optional[str]
    read = _form_of_json(body, truncated, redactor) if essence == FORM else None
    if read is not None:
        # An answer declared a form that is JSON: read as a request's is (_params), in
        # the codec json.loads reads its bytes in (windows-1252 JSON was no text, and
        # was redacted whole; twins21).
        text, comment = read
    else:
        text, codec = decode(body, essence, charset, truncated)
        if text is not None and redactor is not None:
            text, comment = redact_text(text, essence, codec, redactor)
    if text is not None:
        if looks_like_json(essence, text):
            # A header list in JSON ({"name": "Authorization", "value": ...}): its
            # credentials masked as the headers are, lists or none.
            text = masked_credential_pairs(text)
        elif essence == FORM:
            # A header list in a form-encoded answer (recorded as text).
            text = masked_credential_form(text)
        return text, False, comment
    if redactor is not None:
        # Binary data is not key/value data (allowlist), and may spell a denied key.
        if redactor.allow_only:
            return redacted(body), False, NOT_KEYED_COMMENT
        if (redactor.mentions_key_in(body) or _names_key_encoded_in(body, essence, redactor)
                or essence.startswith("multipart/") and (
                    # A part in UTF-16/32 (a form's, a JSON's): its value's names
                    # percent-encoded, NUL-spaced (leaks11).
                    b"%" in body and multipart_mentions(
                        body.decode("latin-1").replace("\0", ""), redactor))):
            return redacted(body), False, UNREDACTABLE_COMMENT
    return base64.b64encode(body).decode("ascii"), True, None


def _names_key_encoded_in(body: bytes, essence: str, redactor: Redactor) -> bool:
    """Whether binary data of a keyed type, a form or JSON, names a denied key only
    percent-encoded (``pass%77ord=``, a URL's query in a JSON string): as its text would
    be read (a form's parse; :func:`redact_text`'s ``names_key_encoded``). JSON that is
    no UTF-8 and holds a control is base64 since hostile18, and a form answer that is no
    UTF-8 always was: :meth:`Redactor.mentions_key_in` finds no such spelling."""
    if b"%" not in body or essence != FORM and "json" not in essence and (
            JSON_START.match(body[:64].decode("latin-1")) is None):
        return False
    return redactor.names_key_encoded(body.decode("latin-1"))


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
    truncated: bool, redactor: Optional[Redactor], note: Optional[str],
) -> tuple[str, bool, Optional[str]]:
    """(text, is_base64, comment) of a body recorded as text or base64."""
    if readable is None:
        # Its Content-Encoding cannot be undone (an unknown coding, br or zstd with no
        # module for it, corrupt data). Nothing in it can be checked, by the lists nor
        # for the caller's api_key (SPEC 6), which anyone could read in its base64 by
        # decompressing it: nothing in it is let through, lists or none.
        return redacted(body), False, _join(_UNREADABLE_COMMENT, note)
    text, is_base64, comment = _text_or_base64(readable, essence, charset, truncated, redactor)
    return text, is_base64, (note or None) if comment is None else _join(comment, note)


def _params(
    body: bytes, essence: str, charset: Optional[str], declared: str,
    redactor: Optional[Redactor], truncated: bool,
) -> tuple[Optional[list[dict[str, str]]], Optional[str], Optional[str]]:
    """(HAR params of a form or multipart body, or else the text to record and its
    comment; all None when it is recorded as any other body). ``truncated``: the body
    was cut short."""
    if essence == FORM:
        json_text = _form_of_json(body, truncated, redactor)
        if json_text is not None:
            return None, *json_text
        wide = _wide_codec(body, charset, truncated)
        if redactor is not None and 0 in body and (
                (wide is not None or not json.detect_encoding(body).startswith("utf-8"))
                and redactor.mentions_key(
                    body.decode("latin-1").replace("\0", "\n"), denied_only=True)
                or _misread_wide(body, wide, redactor)):
            # Read in UTF-16/32 (as Django reads it), a denied name spelled in ASCII
            # (as werkzeug and Starlette read the bytes) would go out in clear. (The
            # NULs made line breaks: mentions_key drops NULs, finding NUL-spaced names.)
            # So for bytes that look so but do not decode (read as bytes, NUL-spaced).
            # And for UTF-16/32 not told as such (its first characters beyond ASCII,
            # "名前=...&password=...", hold no NUL): read as bytes, its pairs' names are
            # NUL-spaced, which no name matches (mentions_key drops the NULs).
            return None, redacted(body), UNREDACTABLE_COMMENT
        return _form_params(body, charset, wide, redactor), None, None
    params = multipart_params(body, declared, redactor)
    if params is None and redactor is not None and multipart_mentions(
            body.decode("latin-1"), redactor):
        # Fields we could not parse could be sensitive: redact the whole body.
        return None, redacted(body), UNREDACTABLE_COMMENT
    return params, None, None


def _form_of_json(body: bytes, truncated: bool, redactor: Optional[Redactor]
                  ) -> Optional[tuple[str, str]]:
    """(text, comment) of a request body sent as a form that is JSON (jQuery's default
    Content-Type; a view reading ``json.loads(request.body)`` reads it as JSON), see
    :func:`json_as_form`; None for any other body."""
    if redactor is None or (_JSON_BYTES_START.match(body) is None and not (
            0 in body[:4] or body[:2] in _UTF16_MARKS)):
        return None
    # As json.loads(bytes) reads it: in the codec of its byte order mark, or of UTF-16/32
    # by where its NULs are (RFC 4627), else UTF-8.
    codec = json.detect_encoding(body)
    try:
        text = body.decode(codec)
    except UnicodeDecodeError:
        # A byte that is not UTF-8 (a Windows client's curly quote): its keys are ASCII
        # all the same, and read as a form the document was one field's name. Read as a
        # JSON body without a charset is (hostile20: the same text under either type):
        # cut short, up to a character cut; else one character a byte, 0x80-0x9F as
        # windows-1252 ("\x93" is U+201C, not the control U+0093); binary (a control no
        # text holds), as latin-1. The UTF-8 mark before it is no text. UTF-16/32 cut
        # short: as far as it decodes.
        if codec.startswith("utf-8"):
            data = body[3 if codec == "utf-8-sig" else 0:]
            text = decode(data, _JSON_TYPE, None, truncated)[0] or data.decode("latin-1")
        else:
            text = body.decode(codec, "replace")
    return json_as_form(text, redactor)


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
    body, note, truncated = _clip(body, size, max_body_bytes)
    if incomplete:
        if length is None:
            received, length, note = len(body), size, None
        else:
            received = max(size, len(body))
            truncated = True  # it may end in a character cut short
        of = f"{length} bytes" if length >= 0 else "a body of unknown length"
        # (A body kept only in part says so after: "truncated to 10 of 17 bytes".)
        note = _join(f"incomplete: {received} of {of} could be read without waiting", note)
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
    if readable is not None and essence in (FORM, _MULTIPART) and declared is not None:
        params, text, comment = _params(readable, essence, charset, declared, redactor,
                                        truncated)
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
        readable, body, essence, charset, truncated, redactor, note
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
    if size == len(body) <= max_body_bytes:  # all of it, within the bound: as _clip gives
        note, truncated = None, False
    else:
        body, note, truncated = _clip(body, size, max_body_bytes)
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
        readable, body, essence, charset, truncated, redactor, note
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
