"""multipart/form-data bodies as HAR ``params`` (SPEC section 4), redacted field by field.

Parsed with webob (the runtime dependency that reads forms), so the fields recorded are
the fields the app saw.
"""

from __future__ import annotations

import base64
import io
from typing import Any, Optional

from readme_metrics.har.redaction import Redactor, redacted
from readme_metrics.har.text import sendable

__all__ = ["multipart_params"]


def multipart_params(
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
        import webob  # imported on first use: most logs carry no multipart body

        fields = webob.Request(environ).POST
        items = list(fields.items())
    except Exception:  # noqa: BLE001 - malformed multipart: recorded another way
        return None
    if not items and body.strip():
        return None
    params: list[dict[str, str]] = []
    for name, field in items:
        param = _param(name if isinstance(name, str) else str(name), field, redactor)
        if param is None:
            return None
        params.append(param)
    return params


def _param(name: str, field: Any, redactor: Optional[Redactor]) -> Optional[dict[str, str]]:
    """One HAR param of a parsed field; None when the field cannot be flattened."""
    name = sendable(name)
    hidden = redactor is not None and redactor.redacts(name)
    if isinstance(field, bytes):
        # A part with an empty filename (a file input left empty) comes as bytes.
        try:
            field = field.decode("utf-8")
        except UnicodeDecodeError:
            field = field.decode("latin-1")
    if isinstance(field, str):
        return {"name": name, "value": redacted(field) if hidden else sendable(field)}
    filename = getattr(field, "filename", None)
    if filename is None:
        return None  # nested multipart or something webob could not flatten
    try:
        data = field.value
        headers = getattr(field, "headers", None) or {}
        part_type = sendable(str(headers.get("content-type") or "application/octet-stream"))
    except Exception:  # noqa: BLE001
        return None
    if isinstance(data, str):
        data = data.encode("utf-8", "replace")
    if not isinstance(data, bytes):
        return None
    filename = sendable(str(filename))
    if hidden:
        value = redacted(data)
    else:
        value = (
            f"data:{part_type};name={filename};base64,"
            + base64.b64encode(data).decode("ascii")
        )
    return {"name": name, "fileName": filename, "contentType": part_type, "value": value}
