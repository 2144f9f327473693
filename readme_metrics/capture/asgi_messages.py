"""What an ASGI exchange's messages say, for the log (:mod:`.asgi_exchange` records them).

- :func:`body_record`: the request body's record, sized from the scope's headers, ended
  at once when an HTTP/1 request has no body.
- :func:`status`: the logged status and reason of an ``http.response.start``.
- :func:`content_length`: the Content-Length of the response headers (-1 unknown).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, MutableMapping, Optional

from readme_metrics.capture.asgi_scope import ScopeRequest
from readme_metrics.capture.body import BodyRecord
from readme_metrics.exchange import INVALID_STATUS

__all__ = ["body_record", "content_length", "status"]

# Status code -> reason phrase, looked up once: an HTTPStatus lookup per response costs
# more than the rest of recording the response start.
_REASONS = {code.value: code.phrase for code in HTTPStatus}


def body_record(scope: MutableMapping[str, Any], request: ScopeRequest,
                 limit: int) -> BodyRecord:
    """The request body's record, ended at once when the request has no body."""
    length = request.length
    try:
        declared: Optional[int] = int(length) if length is not None else None
    except ValueError:
        declared = None
    if declared is not None and declared < 0:
        declared = None
    record = BodyRecord(limit, declared)
    # HTTP/1.x without Content-Length and Transfer-Encoding has no body (RFC 9112);
    # HTTP/2 and 3 may have one of unknown length.
    if (declared is None and scope.get("http_version", "1.1") in ("1.0", "1.1")
            and not request.chunked):
        record.end()
    return record


def status(value: Any) -> tuple[int, str]:
    """The logged status and reason of an ``http.response.start``'s ``status``.

    Anything but an int of three digits (2000, "200", None, True) is no status a status
    line can carry: ``(INVALID_STATUS, repr)``, which the HAR builder logs as 500.
    """
    if value.__class__ is int and 100 <= value <= 999:
        return value, _REASONS.get(value, "")
    return INVALID_STATUS, repr(value)


def content_length(headers: Any) -> int:
    for name, value in headers:
        if bytes(name).lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return -1
    return -1
