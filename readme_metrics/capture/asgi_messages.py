"""What an ASGI exchange's messages say, for the log (:mod:`.asgi_exchange` records them).

- :func:`body_record`: the request body's record, sized from the scope's headers, ended
  at once when an HTTP/1 request has no body.
- :func:`start_status`: the logged status and reason of an ``http.response.start``.
- :func:`content_length`: the Content-Length of the response headers (-1 unknown).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, MutableMapping, Optional

from readme_metrics.capture.asgi_scope import ScopeRequest
from readme_metrics.capture.body import BodyRecord
from readme_metrics.exchange import INVALID_STATUS

__all__ = ["body_record", "content_length", "start_status"]

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
    if declared is not None and (declared < 0 or request.chunked):
        declared = None  # a length sent with Transfer-Encoding means nothing (RFC 9112 6.3)
    record = BodyRecord(limit, declared, request.chunked)
    # HTTP/1.x without Content-Length and Transfer-Encoding has no body (RFC 9112);
    # HTTP/2 and 3 may have one of unknown length.
    if (declared is None and scope.get("http_version", "1.1") in ("1.0", "1.1")
            and not request.chunked):
        record.end()
    return record


def start_status(status: Any) -> tuple[int, str]:
    """The logged status and reason of an ``http.response.start``'s ``status``.

    Anything but an int of three digits (2000, "200", None, True) is no status a status
    line can carry: ``(INVALID_STATUS, repr)``, which the HAR builder logs as 500.
    """
    if isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 999:
        code = int(status)  # HTTPStatus.OK is an int too, and servers take it
        return code, _REASONS.get(code, "")
    return INVALID_STATUS, repr(status)


def content_length(headers: Any) -> int:
    """The Content-Length the app declared; -1 when none can be read (never raises)."""
    try:
        for name, value in headers:
            if bytes(name).lower() == b"content-length":
                return int(value)
    except Exception:  # noqa: BLE001 - malformed headers are the server's to refuse
        pass
    return -1
