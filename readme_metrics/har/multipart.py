"""multipart/form-data bodies as HAR ``params`` (SPEC section 4), redacted field by field.

Parsed with webob's FieldStorage (the runtime dependency that reads forms), so the parts
recorded are the parts the app saw; the part headers are read too, for what webob leaves
out: an RFC 2231 field name (``name*=UTF-8''password``, which werkzeug reads as
``password`` and webob as None) and the part's own Content-Type. An RFC 2231 file name
(``filename*=UTF-8''r%C3%A9sum%C3%A9.pdf``) wins over a plain ``filename`` (RFC 7578,
RFC 6266) and makes the part a file, as werkzeug does, so its bytes are kept. A part
holding JSON is redacted key by key, as a JSON body is. A body framed as browsers, curl,
requests and Go frame it is read without FieldStorage (:func:`_usual_fields`: the same
parts, a tenth of the work), any other as FieldStorage reads it.

Every part is read as bytes and its headers as latin-1 (no byte lost), then decoded here
(:func:`~readme_metrics.har.text.decode_field`): a field in its declared charset, UTF-8
if none, names and file names as UTF-8; a byte that does not decode is kept
percent-encoded, as a urlencoded form keeps it (``caf\\xe9`` is ``caf%E9``; webob's
U+FFFD lost it).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import sys
from email.message import Message
from email.utils import collapse_rfc2231_value
from typing import Any, Callable, Optional

from readme_metrics.har.multipart_files import file_holds_denied
from readme_metrics.har.redaction import Redactor, redacted
from readme_metrics.har.text import JSON_START, decode_field, sendable
from readme_metrics.har.transfer_coding import file_transfer_decoded

__all__ = ["multipart_params"]


def _extended(disposition: Any, key: str) -> Optional[str]:
    """The RFC 2231 ``key*`` parameter of a Content-Disposition, decoded; None if absent."""
    if not disposition or f"{key}*" not in disposition.lower():  # NAME*= too
        return None
    message = Message()
    message["content-disposition"] = disposition
    for param, value in message.get_params(header="content-disposition") or ():
        if param == key and isinstance(value, tuple):
            return str(collapse_rfc2231_value(value))
    return None


#: The most characters the parameters of a body's Content-Type and part headers may cost
#: to read. The standard library's readers of them (``cgi.parse_header``, which webob's
#: FieldStorage calls for each part, and email's ``get_params``) go over the rest of a
#: header again for each ";" in it: a client's part header of 64 KiB of ";" after an
#: unclosed quote cost the worker 2.4 s, a 256 KiB body (max_body_bytes' default) ~40 s.
#: A body over this is recorded as one that does not parse. Forms as sent by browsers and
#: HTTP clients cost a few hundred characters a part: thousands of parts stay far below.
MOST_PARAMETER_WORK = 1 << 24


def _parameter_work(value: Any) -> int:
    """What reading the parameters of a header value costs at most, in characters: the
    rest of it for each parameter."""
    value = str(value)
    return (value.count(";") + 1) * len(value)


class _Body(io.BytesIO):
    """The body FieldStorage reads, with what its parts' parameters may still cost."""

    work_left = MOST_PARAMETER_WORK

    def charge(self, work: int) -> None:
        """Count ``work`` against the body's bound (:data:`MOST_PARAMETER_WORK`)."""
        self.work_left -= work
        if self.work_left < 0:
            raise ValueError("multipart parameters too costly to read")


_storage_class: Any = None


def _cgi() -> Any:
    """The cgi module webob's FieldStorage is built on (the standard library's, or on
    Python 3.13+ the legacy-cgi package's)."""
    from webob.compat import cgi_FieldStorage  # imported on first use: multipart is rare

    return sys.modules[cgi_FieldStorage.__mro__[1].__module__]


def _storage() -> Any:
    """webob's FieldStorage, made to read a part with an RFC 2231 ``filename*`` as a file,
    in time linear in the body (see ``read_multi``)."""
    global _storage_class
    if _storage_class is None:
        from webob.compat import cgi_FieldStorage

        cgi = _cgi()

        class FieldStorage(cgi_FieldStorage):
            def read_single(self) -> None:
                headers = getattr(self, "headers", None) or {}
                filename = _extended(headers.get("content-disposition"), "filename")
                if filename is not None:
                    self.filename = filename  # before the part is read: a file
                # Every part's bytes are kept, and decoded by _fields (webob decoded a
                # field as UTF-8, a byte that is not U+FFFD).
                self._binary_file = True
                super().read_single()

            def read_multi(self, environ: Any, keep_blank_values: Any,
                           strict_parsing: Any) -> None:
                """webob's ``read_multi`` (cgi's of Python 3.5), the same parts read, in
                linear time: a part's header lines are joined once (``+=`` on bytes
                copied all of them again for each line: 256 KiB of short header lines
                cost 2.5 s), and what the parameters of its Content-Disposition and
                Content-Type headers cost to read (which the part's FieldStorage does
                next, and multipart_params again) is charged to the body."""
                ib = self.innerboundary
                if not cgi.valid_boundary(ib):
                    raise ValueError(f"Invalid boundary in multipart form: {ib!r}")
                self.list = []
                if self.qs_on_post:
                    query = cgi.urllib.parse.parse_qsl(
                        self.qs_on_post, self.keep_blank_values, self.strict_parsing,
                        encoding=self.encoding, errors=self.errors)
                    for key, value in query:
                        self.list.append(cgi.MiniFieldStorage(key, value))

                klass = self.FieldStorageClass or self.__class__
                first_line = self.fp.readline()  # bytes
                if not isinstance(first_line, bytes):
                    raise ValueError(f"{self.fp} should return bytes, got "
                                     f"{type(first_line).__name__}")
                self.bytes_read += len(first_line)

                # Ensure that we consume the file until we've hit our innerboundary
                while first_line.strip() != (b"--" + self.innerboundary) and first_line:
                    first_line = self.fp.readline()
                    self.bytes_read += len(first_line)

                while True:
                    parser = cgi.FeedParser()
                    lines = []
                    while True:
                        data = self.fp.readline()
                        lines.append(data)
                        if not data.strip():
                            break
                    hdr_text = b"".join(lines)
                    if not hdr_text:
                        break
                    # parser takes strings, not bytes
                    self.bytes_read += len(hdr_text)
                    parser.feed(hdr_text.decode(self.encoding, self.errors))
                    headers = parser.close()
                    charge = getattr(self.fp, "charge", None)
                    if charge is not None:
                        for name in ("content-disposition", "content-type"):
                            for value in headers.get_all(name) or ():
                                charge(_parameter_work(value))
                    # Some clients add Content-Length for part headers, ignore them
                    if "content-length" in headers:
                        filename = None
                        if "content-disposition" in self.headers:
                            _, pdict = cgi.parse_header(self.headers["content-disposition"])
                            if "filename" in pdict:
                                filename = pdict["filename"]
                        if filename is None:
                            del headers["content-length"]
                    part = klass(self.fp, headers, ib, environ, keep_blank_values,
                                 strict_parsing, self.limit - self.bytes_read,
                                 self.encoding, self.errors)
                    self.bytes_read += part.bytes_read
                    self.list.append(part)
                    if part.done or self.bytes_read >= self.length > 0:
                        break
                self.skip_lines()

        _storage_class = FieldStorage
    return _storage_class


# The transfer encodings webob undoes in a field (MultiDict.from_fieldstorage).
_TRANSFER_DECODERS: dict[str, Callable[[bytes], bytes]] = {
    "base64": binascii.a2b_base64, "quoted-printable": binascii.a2b_qp}


def _fields(body: bytes, content_type: str) -> list[tuple[Any, str, Any]]:
    """(part, its name, the text of a field or the part of a file) for each part."""
    fields = _usual_fields(body, content_type)
    if fields is not None:
        return fields
    return [(part, _name(part), part if part.filename else _field(part))
            for part in _storage_parts(body, content_type)]


class _UsualPart:
    """A part read by :func:`_usual_fields`: what this module asks of a part webob's
    FieldStorage read (its headers by their lower-case names)."""

    __slots__ = ("name", "filename", "value", "headers", "type_options")

    def __init__(self, name: str, filename: Optional[str], value: bytes,
                 headers: dict[str, str], type_options: dict[str, str]) -> None:
        self.name = name
        self.filename = filename
        self.value = value
        self.headers = headers
        self.type_options = type_options


#: A part's header as browsers, curl, requests and Go's mime/multipart write it: a
#: Content-Disposition of form-data with a quoted name (and file name) holding no quote,
#: backslash, ";", "*" or line break, perhaps a Content-Type, no other header and no
#: folded line; then the blank line.
_USUAL_HEAD = re.compile(
    rb'(?i:content-disposition): (form-data; name="([^"\\;*\r\n]*)"'
    rb'(?:; filename="([^"\\;*\r\n]*)")?)'
    rb'(?:\r\n(?i:content-type):[ \t]*([^\r\n]*))?\r\n\r\n')

#: A boundary that cgi.valid_boundary takes, ASCII (its latin-1 bytes are its own).
_USUAL_BOUNDARY = re.compile(r"[ -~]{0,200}[!-~]")


def _usual_fields(body: bytes, content_type: str) -> Optional[list[tuple[Any, str, Any]]]:
    """:func:`_fields` of a body framed as the usual clients frame it, its parts read as
    webob's FieldStorage reads them (the same names, file names, bytes and header
    values); None for any other body, which FieldStorage reads (:func:`_storage_parts`).
    FieldStorage costs about 35 us a part (email's FeedParser for each part's header, a
    Message asked 8 times, a file object per part): a form of tiny parts cost 0.7 to 0.9
    s a MiB.

    Usual: the body starts with its first boundary's line, ends with the closing one
    (and perhaps a line break), each part's header is :data:`_USUAL_HEAD`, and no line
    of a part's bytes starts with the boundary (which FieldStorage would read as one)."""
    # What the parameters cost to read (cgi.parse_header's time is quadratic in them) is
    # counted before each is read, as FieldStorage's reading counts it (_Body.charge).
    work_left = MOST_PARAMETER_WORK - _parameter_work(content_type)
    if work_left < 0:
        return None
    cgi = _cgi()
    ctype, options = cgi.parse_header(content_type)
    boundary = options.get("boundary", "")
    if ctype[:10] != "multipart/" or _USUAL_BOUNDARY.fullmatch(boundary) is None:
        return None
    dash = b"--" + boundary.encode("ascii")
    if not body.startswith(dash + b"\r\n"):
        return None
    pieces = body[len(dash) + 2:].split(b"\r\n" + dash)
    if len(pieces) < 2 or pieces[-1] not in (b"--", b"--\r\n") or \
            body.count(b"\n" + dash) != len(pieces) - 1:
        return None
    fields = []
    for index, piece in enumerate(pieces[:-1]):
        if index and not piece.startswith(b"\r\n"):
            return None  # "--boundary" and more on its line
        head = _USUAL_HEAD.match(piece, 2 if index else 0)
        if head is None:
            return None
        disposition = head[1].decode("latin-1")
        headers = {"content-disposition": disposition}
        type_options: dict[str, str] = {}
        work_left -= _parameter_work(disposition)
        if head[4] is not None:
            part_type = headers["content-type"] = head[4].decode("latin-1")
            work_left -= _parameter_work(part_type)
            if work_left < 0:
                return None
            part_ctype, type_options = cgi.parse_header(part_type)
            if part_ctype == "application/x-www-form-urlencoded" or \
                    part_ctype[:10] == "multipart/":
                return None  # read as a form or as more parts
        filename = None if head[3] is None else head[3].decode("latin-1")
        value = piece[head.end():]
        part = _UsualPart(head[2].decode("latin-1"), filename, value, headers, type_options)
        # Its name and field as _name and _field read them: no name* (no "*"), no
        # Content-Transfer-Encoding.
        fields.append((part, decode_field(head[2], None), part if filename else
                       decode_field(value, type_options.get("charset"))))
    return fields if work_left >= 0 else None


def _storage_parts(body: bytes, content_type: str) -> list[Any]:
    """The parts of a body as webob's FieldStorage reads them (any framing)."""
    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "QUERY_STRING": "",
    }
    fp = _Body(body)
    fp.charge(_parameter_work(content_type))
    # latin-1: the part headers as their bytes (UTF-8 made any other byte U+FFFD).
    storage = _storage()(
        fp=fp, environ=environ, keep_blank_values=True, encoding="latin-1"
    )
    return list(storage.list or ())


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
    if not hidden and redactor is not None and _holds_parts(
            field if isinstance(field, str) else getattr(field, "value", None), redactor):
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
