"""multipart/form-data bodies as HAR ``params`` (SPEC section 4), redacted field by field.

Parsed with webob's FieldStorage (the runtime dependency that reads forms), so the parts
recorded are the parts the app saw; the part headers are read too, for what webob leaves
out: an RFC 2231 field name (``name*=UTF-8''password``, which werkzeug reads as
``password`` and webob as None) and the part's own Content-Type. An RFC 2231 file name
(``filename*=UTF-8''r%C3%A9sum%C3%A9.pdf``) wins over a plain ``filename`` (RFC 7578,
RFC 6266) and makes the part a file, as werkzeug does, so its bytes are kept. A part
holding JSON is redacted key by key, as a JSON body is. A body framed as browsers, curl,
requests and Go frame it is read without FieldStorage (:mod:`.multipart_usual`: the
same parts, a tenth of the work), any other as FieldStorage reads it
(:mod:`.multipart_storage`).

Every part is read as bytes and its headers as latin-1 (no byte lost), then decoded here
(:func:`~readme_metrics.har.text.decode_field`): a field in its declared charset, UTF-8
if none, names and file names as UTF-8; a byte that does not decode is kept
percent-encoded, as a urlencoded form keeps it (``caf\\xe9`` is ``caf%E9``; webob's
U+FFFD lost it).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from email.message import Message
from email.utils import collapse_rfc2231_value
from typing import Any, Callable, Optional

from readme_metrics.har.key_ebcdic import ebcdic_form_codec
from readme_metrics.har.key_shapes import ebcdic_shaped
from readme_metrics.har.multipart_files import file_holds_denied
from readme_metrics.har.multipart_storage import MOST_PARAMETER_WORK
from readme_metrics.har.multipart_storage import Body as _Body
from readme_metrics.har.multipart_storage import extended as _extended
from readme_metrics.har.multipart_storage import field_storage as _storage
from readme_metrics.har.multipart_storage import storage_parts as _storage_parts
from readme_metrics.har.multipart_usual import usual_fields as _usual_fields
from readme_metrics.har.redaction import Redactor, redacted
from readme_metrics.har.text import JSON_START, decode_field, sendable
from readme_metrics.har.transfer_coding import file_transfer_decoded

# (FieldStorage's reading moved to multipart_storage, the usual clients' framing to
# multipart_usual: importable from here as before)
__all__ = ["MOST_PARAMETER_WORK", "_Body", "_storage", "_usual_fields", "multipart_params"]


# The transfer encodings webob undoes in a field (MultiDict.from_fieldstorage).
_TRANSFER_DECODERS: dict[str, Callable[[bytes], bytes]] = {
    "base64": binascii.a2b_base64, "quoted-printable": binascii.a2b_qp}


def _fields(body: bytes, content_type: str) -> list[tuple[Any, str, Any]]:
    """(part, its name, the text of a field or the part of a file) for each part."""
    # The media type in lower case (RFC 9110 8.3.1: case-insensitive, as werkzeug, Django
    # and python-multipart read it; FieldStorage compares it as written), its parameters
    # as sent: the boundary's case is its own.
    media_type, semicolon, parameters = content_type.partition(";")
    content_type = media_type.lower() + semicolon + parameters
    fields = _usual_fields(body, content_type)
    if fields is not None:
        return fields
    return [(part, _name(part), part if part.filename else _field(part))
            for part in _storage_parts(body, content_type)]


def _field(part: Any) -> Any:
    """The text of a field part (its transfer encoding undone, in its charset), or what
    webob gives for a part that holds no bytes (a nested multipart: its parts)."""
    data = _field_bytes(part)
    if not isinstance(data, bytes):
        return data
    return decode_field(data, part.type_options.get("charset"))


def _field_bytes(part: Any) -> Any:
    """A field part's bytes, its transfer encoding undone (what webob gives for a part
    that holds none)."""
    data = part.value
    if not isinstance(data, bytes):
        return data
    coding = part.headers.get("content-transfer-encoding")
    if coding in _TRANSFER_DECODERS:
        data = _TRANSFER_DECODERS[coding](data)
    return data


def _json_read(data: bytes) -> str:
    """``data`` as json.loads(bytes) reads it: in the codec of its byte order mark
    (Notepad's UTF-8, PowerShell's UTF-16), or of UTF-16/32 by where its NULs are, else
    UTF-8 (surrogateescape: bytes that are not UTF-8 come back as they were)."""
    codec = json.detect_encoding(data)
    return data.decode(codec, "surrogateescape" if codec.startswith("utf-8") else "replace")


def _starts_a_document(data: bytes) -> bool:
    """Whether a file's text, as json.load reads it, starts a JSON document: told by its
    first 64 bytes, or by all of it when those are blanks (a template's indentation,
    blank lines; 16 characters in UTF-32): such a file's password went out in its data
    URL, though json.load reads it."""
    head = _json_read(data[:64])
    if JSON_START.match(head) is not None:
        return True
    return len(data) > 64 and not head.strip() and \
        JSON_START.match(_json_read(data)) is not None


# A field's text read as UTF-8 (no charset) that json.loads(bytes) reads otherwise: a
# byte order mark (as read, or percent-encoded as decode_field keeps a byte that is not
# UTF-8), or a NUL among the first characters (UTF-16/32).
_MARKED = ("\ufeff", "%FF%FE", "%FE%FF")


def _as_json_reads(part: Any, field: str) -> str:
    """A field's text as json.loads(its bytes) reads it, when that differs: curl -F
    'f=<payload.json' sends a file's bytes as a field, Notepad's with a mark
    (``"\\ufeff{"``: no JSON to json_field), PowerShell's in UTF-16 (NUL-spaced as UTF-8), so
    the password went out in clear. Any other field as it is."""
    if "\x00" not in field[:4] and not field.startswith(_MARKED):
        return field
    data = _field_bytes(part)
    return _json_read(data) if isinstance(data, bytes) else field


def _name(part: Any) -> str:
    """The field name, from an RFC 2231 ``name*`` parameter when the part has one."""
    extended = _extended(getattr(part, "headers", {}).get("content-disposition"), "name")
    if extended is not None:
        return sendable(extended)
    return "" if part.name is None else _utf8(str(part.name))


def _utf8(text: str) -> str:
    """A part header's parameter, read as latin-1 (see _fields), as UTF-8 text."""
    try:
        return decode_field(text.encode("latin-1"), None)
    except UnicodeEncodeError:  # not from the header's bytes (RFC 2231, decoded)
        return sendable(text)


_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)


def _read_as(name: str) -> tuple[str, ...]:
    """The names the app's parser may read for a part named ``name`` as webob read it
    (the lists are asked about each): werkzeug (Flask) undoes a quoted string's
    backslash escapes (``name="to\\ken"`` is ``token``), Django strips blanks
    (``name="token "``)."""
    if "\\" not in name and name == name.strip():
        return (name,)
    unescaped = _QUOTED_PAIR.sub(r"\1", name)
    return (name, unescaped, name.strip(), unescaped.strip())


def _holds_parts(value: Any, redactor: Redactor) -> bool:
    """Whether a part's value may hold more parts to Django, which ends a part at any
    line starting with ``--`` and the boundary (``--XyZx`` too, where webob, werkzeug
    and python-multipart read on), and may name a listed key there."""
    if isinstance(value, bytes):
        return b"\n--" in value and redactor.mentions_key_in(value)
    return isinstance(value, str) and "\n--" in value and redactor.mentions_key(value)


def _ebcdic_keyed(part: Any, redactor: Redactor) -> bool:
    """Whether a field's bytes, beyond ASCII, spell a denied name in a key's shape read
    as EBCDIC (a mainframe client's ``PASSWORD=...``, no charset: kept percent-encoded,
    which ``iconv -f IBM037`` reads; hostile34; one declared EBCDIC is read in it)."""
    data = _field_bytes(part)
    return isinstance(data, bytes) and not data.isascii() and ebcdic_form_codec(
        part.type_options.get("charset")) is None and ebcdic_shaped(redactor, data)


def _names(name: str, part: Any) -> tuple[str, ...]:
    """Every name the app's parser may read for ``part`` (see :func:`_read_as`): webob's,
    the plain ``name`` beside a ``name*`` (python-multipart reads it), and those of each
    Content-Disposition header the part has (Django and python-multipart read the last,
    webob and werkzeug the first), RFC 2231 continuations joined (``name*0=to;
    name*1=ken``: werkzeug and Django read ``token``, webob nothing)."""
    names = {name}
    plain = getattr(part, "name", None)
    if plain is not None and plain != name:
        names.add(_utf8(str(plain)))
    headers = getattr(part, "headers", None)
    if isinstance(headers, Message):  # (a _UsualPart has one, with no "*")
        dispositions = headers.get_all("content-disposition") or []
        if len(dispositions) > 1 or any("*0" in value for value in dispositions):
            for value in dispositions:
                message = Message()
                message["content-disposition"] = value
                for param, found in message.get_params(header="content-disposition") or ():
                    if param == "name":
                        names.add(_utf8(str(collapse_rfc2231_value(found))))
    if len(names) == 1:
        return _read_as(name)
    return tuple(spelled for each in names for spelled in _read_as(each))


def multipart_params(
    body: bytes, content_type: str, redactor: Optional[Redactor], limit: int = 1 << 18,
) -> Optional[list[dict[str, str]]]:
    """Fields and files of a multipart/form-data body; None if it won't parse.
    ``limit``: max_body_bytes, the most read of each layer a file holds compressed."""
    try:
        fields = _fields(body, content_type)
    except Exception:  # noqa: BLE001 - malformed multipart: recorded another way
        return None
    if not fields and body.strip():
        return None
    params: list[dict[str, str]] = []
    mentions: Optional[bool] = None
    # The value fields of a name/value pair naming a denied key (env[0][name]=password,
    # env[0][value]=...), as a form's are; by every name the app's parser may read for a
    # part (name="value"; name*=UTF-8''x is "value" to python-multipart: _names).
    # (Each spelling once: a part is one field, paired by its position among them.)
    read_as = [() if redactor is None else tuple(dict.fromkeys(_names(name, part)))
               for part, name, _ in fields]
    paired = frozenset() if redactor is None else redactor.paired_fields(
        (spelled, value if isinstance(value, str) else "")
        for names, (_, _, value) in zip(read_as, fields) for spelled in names)
    for (part, name, value), names in zip(fields, read_as):
        text = value if isinstance(value, str) else ""
        unread = bool(paired) and any((spelled, text) in paired for spelled in names)
        if not name and redactor is not None and not getattr(part, "headers", None):
            # No part header webob could read ("Content-Disposition : ...", which
            # werkzeug reads): nothing says whose value it is.
            if mentions is None:
                mentions = redactor.mentions_key(body.decode("latin-1"))
            unread = mentions
        try:
            param = _param(name, part, value, redactor, names, limit, unread)
        except Exception:  # noqa: BLE001 - a part webob could not flatten
            return None
        if param is None:
            return None
        params.append(param)
    return params


def _param(
    name: str, part: Any, field: Any, redactor: Optional[Redactor],
    read_as: tuple[str, ...], limit: int, unread: bool = False,
) -> Optional[dict[str, str]]:
    """One HAR param of a parsed part; None when the part cannot be flattened.
    ``read_as``: the names the app's parser may read for it (:func:`_names`; none without
    a redactor). ``unread``: its headers could not be read, and the body may name a
    listed key, or it holds the value of a name/value pair naming a denied key: it is
    redacted whole."""
    denied = unread or redactor is not None and any(map(redactor.denies, read_as))
    hidden = unread or redactor is not None and any(map(redactor.redacts, read_as))
    if not hidden and redactor is not None and (_holds_parts(
            field if isinstance(field, str) else getattr(field, "value", None), redactor)
            or isinstance(field, str) and _ebcdic_keyed(part, redactor)):
        denied = hidden = True
    if isinstance(field, str):
        text = field if denied or redactor is None else _as_json_reads(part, field)
        document, whole = (None, False) if denied or redactor is None else \
            redactor.json_field(text, name)
        if document is not None:
            # (Nothing redacted: the field as it came.)
            return {"name": name, "value": field if document == text else document}
        return {"name": name, "value": redacted(field) if hidden or whole else field}
    filename = getattr(field, "filename", None)
    if filename is None:
        return None  # nested multipart or something webob could not flatten
    data = field.value
    if not isinstance(data, bytes):
        return None
    headers = getattr(part, "headers", None) or {}
    # The file as it was before its Content-Transfer-Encoding (base64: its data URL was
    # base64 of base64, the file's password one base64 -d away; hostile27, review117).
    data = file_transfer_decoded(data, headers.get("content-transfer-encoding"))
    extended = _extended(headers.get("content-disposition"), "filename")
    filename = _utf8(str(filename)) if extended is None else sendable(extended)
    # A file part without a Content-Type (as requests sends one given no type): RFC 7578
    # (4.4) reads the part as text/plain, but labels a file of unknown type so.
    part_type = _utf8(str(headers.get("content-type") or "application/octet-stream"))
    value = _file_value(data, part_type, filename, name, hidden, denied, redactor, limit)
    return {"name": name, "fileName": filename, "contentType": part_type, "value": value}


def _file_value(
    data: bytes, part_type: str, filename: str, name: str, hidden: bool, denied: bool,
    redactor: Optional[Redactor], limit: int,
) -> str:
    """A file part as a data URL, its JSON redacted key by key (redacted whole if hidden,
    or if it holds a value the denylist names otherwise: :mod:`.multipart_files`)."""
    document: Optional[str] = None
    if not denied and redactor is not None and (
            "json" in part_type.lower() or _starts_a_document(data)):
        # As json.load(upload) reads it (_json_read). A file of any type may be JSON:
        # requests sends a file part with no Content-Type (logged as octet-stream), curl
        # octet-stream or text/plain by the file's name; such a file's password went out
        # in its data URL. (Its text starts a JSON document, as a body's does.)
        text = _json_read(data)
        document, whole = redactor.json_field(text, name)
        if document is not None:
            if document != text:  # (else the bytes as they came, mark and all)
                data = document.encode("utf-8", "surrogateescape")
            hidden = False
        hidden = hidden or whole
    if not hidden and not denied and document is None and redactor is not None and (
            file_holds_denied(data, part_type, redactor, limit)):
        hidden = True  # (an .env, a log line's x{"password": ...}, a gzip of JSON)
    if hidden:
        return redacted(data)
    return f"data:{part_type};name={filename};base64," + base64.b64encode(data).decode("ascii")
