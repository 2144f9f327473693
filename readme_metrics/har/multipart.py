"""multipart/form-data bodies as HAR ``params`` (SPEC section 4), redacted field by field.

Parsed with webob's FieldStorage (the runtime dependency that reads forms), so the fields
recorded are the fields the app saw; the part headers are read too, for what webob leaves
out: an RFC 2231 field name (``name*=UTF-8''password``, which werkzeug reads as
``password`` and webob as None) and the part's own Content-Type. An RFC 2231 file name
(``filename*=UTF-8''r%C3%A9sum%C3%A9.pdf``) wins over a plain ``filename`` (RFC 7578,
RFC 6266) and makes the part a file, as werkzeug does, so its bytes are kept. A part
holding JSON is redacted key by key, as a JSON body is.
"""

from __future__ import annotations

import base64
import io
from email.message import Message
from email.utils import collapse_rfc2231_value
from typing import Any, Optional

from readme_metrics.har.redaction import Redactor, redacted
from readme_metrics.har.text import sendable

__all__ = ["multipart_params"]


def _extended(disposition: Any, key: str) -> Optional[str]:
    """The RFC 2231 ``key*`` parameter of a Content-Disposition, decoded; None if absent."""
    if not disposition or f"{key}*" not in disposition:
        return None
    message = Message()
    message["content-disposition"] = disposition
    for param, value in message.get_params(header="content-disposition") or ():
        if param == key and isinstance(value, tuple):
            return str(collapse_rfc2231_value(value))
    return None


_storage_class: Any = None


def _storage() -> Any:
    """webob's FieldStorage, made to read a part with an RFC 2231 ``filename*`` as a file."""
    global _storage_class
    if _storage_class is None:
        from webob.compat import cgi_FieldStorage  # imported on first use: multipart is rare

        class FieldStorage(cgi_FieldStorage):
            def read_single(self) -> None:
                headers = getattr(self, "headers", None) or {}
                filename = _extended(headers.get("content-disposition"), "filename")
                if filename is not None:
                    # Before the part is read: a file keeps its bytes, a field is decoded.
                    self.filename, self._binary_file = filename, True
                super().read_single()

        _storage_class = FieldStorage
    return _storage_class


def _fields(body: bytes, content_type: str) -> list[tuple[Any, Any, Any]]:
    """(part, name as webob gives it, value as webob gives it) for each part."""
    from webob.multidict import MultiDict

    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "QUERY_STRING": "",
    }
    storage = _storage()(
        fp=io.BytesIO(body), environ=environ, keep_blank_values=True, encoding="utf8"
    )
    parts = list(storage.list or ())
    # from_fieldstorage adds exactly one item per part, in order (the values webob
    # decodes: charsets, transfer encodings), so the parts line up with its items.
    items = list(MultiDict.from_fieldstorage(storage).items())
    return [(part, name, value) for part, (name, value) in zip(parts, items)]


def _name(part: Any, name: Any) -> str:
    """The field name, from an RFC 2231 ``name*`` parameter when the part has one."""
    extended = _extended(getattr(part, "headers", {}).get("content-disposition"), "name")
    if extended is not None:
        return extended
    return "" if name is None else str(name)


def multipart_params(
    body: bytes, content_type: str, redactor: Optional[Redactor]
) -> Optional[list[dict[str, str]]]:
    """Fields and files of a multipart/form-data body; None if it won't parse."""
    try:
        fields = _fields(body, content_type)
    except Exception:  # noqa: BLE001 - malformed multipart: recorded another way
        return None
    if not fields and body.strip():
        return None
    params: list[dict[str, str]] = []
    for part, name, value in fields:
        try:
            param = _param(_name(part, name), part, value, redactor)
        except Exception:  # noqa: BLE001 - a part webob could not flatten
            return None
        if param is None:
            return None
        params.append(param)
    return params


def _param(
    name: str, part: Any, field: Any, redactor: Optional[Redactor]
) -> Optional[dict[str, str]]:
    """One HAR param of a parsed part; None when the part cannot be flattened."""
    name = sendable(name)
    denied = redactor is not None and redactor.denies(name)
    hidden = redactor is not None and redactor.redacts(name)
    if isinstance(field, bytes):
        # A part with an empty filename (a file input left empty) comes as bytes.
        try:
            field = field.decode("utf-8")
        except UnicodeDecodeError:
            field = field.decode("latin-1")
    if isinstance(field, str):
        field = sendable(field)
        document, whole = (None, False) if denied or redactor is None else \
            redactor.json_field(field, name)
        if document is not None:
            return {"name": name, "value": document}
        return {"name": name, "value": redacted(field) if hidden or whole else field}
    filename = getattr(field, "filename", None)
    if filename is None:
        return None  # nested multipart or something webob could not flatten
    data = field.value
    headers = getattr(part, "headers", None) or {}
    part_type = sendable(str(headers.get("content-type") or "application/octet-stream"))
    if isinstance(data, str):
        data = data.encode("utf-8", "replace")
    if not isinstance(data, bytes):
        return None
    filename = sendable(str(filename))
    value = _file_value(data, part_type, filename, name, hidden, denied, redactor)
    return {"name": name, "fileName": filename, "contentType": part_type, "value": value}


def _file_value(
    data: bytes, part_type: str, filename: str, name: str, hidden: bool, denied: bool,
    redactor: Optional[Redactor],
) -> str:
    """A file part as a data URL, its JSON redacted key by key (redacted whole if hidden)."""
    if not denied and redactor is not None and "json" in part_type.lower():
        document, whole = redactor.json_field(data.decode("utf-8", "replace"), name)
        if document is not None:
            data, hidden = document.encode("utf-8"), False
        hidden = hidden or whole
    if hidden:
        return redacted(data)
    return f"data:{part_type};name={filename};base64," + base64.b64encode(data).decode("ascii")
