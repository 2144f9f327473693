"""What an ASGI exchange's messages say, for the log (:mod:`.asgi_exchange` records them).

- :func:`body_record`: the request body's record, sized from the scope's headers, ended
  at once when an HTTP/1 request has no body.
- :func:`start_status`: the logged status and reason of an ``http.response.start``.
- :func:`content_length`: the Content-Length of the response headers (-1 unknown).
- :func:`app_status`, :func:`client_gone_comment`: the app's status as the log quotes
  it; :func:`trails`, :func:`answers_trailers_only`: the trailers extension;
  :func:`file_size`: what a Path Send or Zero Copy Send message sends.

What each server does that its messages do not say is :mod:`.asgi_server_quirks`'.
"""

from __future__ import annotations

import os
from http import HTTPStatus
from typing import Any, MutableMapping, Optional

from readme_metrics.asgi_types import Message
from readme_metrics.capture.asgi_scope import ScopeRequest, scope_version
from readme_metrics.capture.asgi_server_quirks import (
    answered_version,
    awaits_continue,
    client_gone,
    closes_on_refused_start,
    cut_answered,
    cuts_stream_at_length,
    ends_receive_with_response,
    holds_start,
    loaded_answered_version,
    loaded_sends_later_bodies,
    reads_on_for_expect,
    sends_informational_body,
    sends_later_bodies,
)
from readme_metrics.capture.body import BodyRecord
from readme_metrics.exchange import INVALID_STATUS

# What each server does (cut_answered, client_gone, holds_start, ...) is
# asgi_server_quirks': importable from here too, as it always was.
__all__ = ["CLIENT_GONE_COMMENT", "CLIENT_GONE_REASON", "CLIENT_GONE_STATUS",
           "CUT_STATUS", "REASONS", "answered_version", "answers_trailers_only",
           "app_status", "awaits_continue", "body_record", "client_gone",
           "client_gone_comment", "closes_on_refused_start", "content_length",
           "cut_answered", "cuts_stream_at_length", "ends_receive_with_response",
           "file_size", "holds_start", "loaded_answered_version",
           "loaded_sends_later_bodies", "reads_on_for_expect", "sends_informational_body",
           "sends_later_bodies", "start_status", "trails"]

#: What the client got when the server ended the request body (``http.disconnect``)
#: before the app's response start, under the servers :func:`cut_answered` names: the
#: server's 400 for a malformed body (a chunk size that is no hex number), the app's
#: answer sent after it going nowhere. A client that left mid-body got nothing; its
#: unfinished request is logged 400 too (nginx logs 400 for a request body the client
#: did not finish).
CUT_STATUS = 400

#: What the client got when it left before the app's response start, under the servers
#: that tell (:func:`client_gone`): nothing, which HAR's status (a number the Metrics API
#: takes from 100 to 999) cannot say. Logged as nginx logs it, 499 Client Closed Request,
#: with none of the app's headers or body (the app's status never reached the client;
#: the HAR comment, :func:`client_gone_comment`, says so and quotes it). A client gone
#: mid-stream got the start: its log keeps the app's status, and the body as far as it
#: went; one gone mid-body is :data:`CUT_STATUS`.
CLIENT_GONE_STATUS = 499
CLIENT_GONE_REASON = "Client Closed Request"
#: The HAR response comment of a :data:`CLIENT_GONE_STATUS` log (no server sent it),
#: followed by the app's status when it had one: "; the app answered 200".
CLIENT_GONE_COMMENT = ("the client left before the response started and got none of it "
                       "(499 is nginx's Client Closed Request)")

#: Status code -> reason phrase, looked up once: an HTTPStatus lookup per response costs
#: more than the rest of recording the response start.
REASONS = {code.value: code.phrase for code in HTTPStatus}


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
    # HTTP/2 and 3 may have one of unknown length. The usual "1.1" is tested before
    # scope_version() is called (a call fewer per request).
    if (declared is None and not request.chunked
            and (scope.get("http_version") == "1.1" or scope_version(scope) in ("1.0", "1.1"))):
        record.end()
    return record


def start_status(status: Any) -> tuple[int, str]:
    """The logged status and reason of an ``http.response.start``'s ``status``, once the
    server took the message.

    A status that is no int, which a server took all the same, is sent as ``int(status)``:
    hypercorn (asyncio and trio) sends ``"200"`` (or ``200.0``) as 200. uvicorn and
    granian refuse it (their ``send`` raises: the app's error is logged 500); daphne
    takes the start and refuses it with the first body message (the exchange logs it as
    the app gave it then). Anything else (2000, None, True, "abc") is no status a status
    line can carry: ``(INVALID_STATUS, repr)``, which the HAR builder logs as 500.
    """
    if isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 999:
        code = int(status)  # HTTPStatus.OK is an int too, and servers take it
        return code, REASONS.get(code, "")
    if status is not None and not isinstance(status, int):  # bool is an int
        try:
            code = int(status)
        except Exception:  # noqa: BLE001 - any object: no number, no status line
            code = INVALID_STATUS
        if 100 <= code <= 999:
            return code, REASONS.get(code, "")
    return INVALID_STATUS, repr(status)


def app_status(status: Any) -> int:
    """The code of the status of an app's start, when it is one a status line could
    carry; else 0."""
    code, _ = start_status(status)
    return 0 if code == INVALID_STATUS else code


def trails(scope: MutableMapping[str, Any]) -> bool:
    """Whether the server offers the ASGI trailers extension: a response whose start says
    ``trailers`` then ends with its last ``http.response.trailers`` message, not its last
    body message (hypercorn over HTTP/2). A server that does not offer it ignores the
    start's ``trailers``. Never raises."""
    try:
        return "http.response.trailers" in (scope.get("extensions") or {})
    except Exception:  # noqa: BLE001 - a scope that is not the server's: no trailers
        return False


def answers_trailers_only(scope: MutableMapping[str, Any]) -> bool:
    """Whether a ``http.response.trailers`` message with no start before it is the
    answer: hypercorn over HTTP/2 sends it as a 200 whose headers are those trailers
    (gRPC's trailers-only response) to a client that sent ``te: trailers``; elsewhere
    it refuses it (raises into the app, and answers its own 500). Never raises."""
    try:
        return trails(scope) and scope.get("http_version") in ("2", "3") and any(
            bytes(name) == b"te" and bytes(value) == b"trailers"
            for name, value in scope.get("headers") or ())
    except Exception:  # noqa: BLE001 - a scope that is not the server's: no such answer
        return False


def client_gone_comment(status: Any) -> str:
    """:data:`CLIENT_GONE_COMMENT`, with the status of the app's start that never reached
    the client when it is one a status line could carry."""
    code = app_status(status)
    if not code:
        return CLIENT_GONE_COMMENT
    return f"{CLIENT_GONE_COMMENT}; the app answered {code}"


def content_length(headers: Any) -> int:
    """The Content-Length the app declared; -1 when none can be read (never raises)."""
    try:
        for name, value in headers:
            if bytes(name).lower() == b"content-length":
                return int(value)
    except Exception:  # noqa: BLE001 - malformed headers are the server's to refuse
        pass
    return -1


def file_size(message: Message, declared: int, before: int) -> int:
    """The response body's size, in all, once the server took a message whose bytes it
    reads from a file itself; -1 when it cannot be told. Never raises, and never reads
    the file (a stat at most: the ASGI adapter runs it off the event loop).

    - ``http.response.pathsend``: the whole file at ``path`` (ASGI Path Send), so its
      Content-Length (``declared``; -1: none), else the file's size.
    - ``http.response.zerocopysend``: ``count`` bytes of ``file`` (ASGI Zero Copy Send),
      or, without a count, the file from ``offset`` (else from where it stands) to its
      end, after the ``before`` bytes of body messages sent before it (-1: unknown).
    """
    try:
        if message.get("type") == "http.response.pathsend":
            if declared >= 0:
                return declared
            return os.stat(message["path"]).st_size
        count = message.get("count")
        if count is None:
            descriptor = message["file"].fileno()
            offset = message.get("offset")
            if offset is None:
                offset = os.lseek(descriptor, 0, os.SEEK_CUR)
            count = max(os.fstat(descriptor).st_size - offset, 0)
        if before < 0 or count.__class__ is not int or count < 0:
            return -1
        return before + count
    except Exception:  # noqa: BLE001 - the server's to refuse; the size is unknown
        return -1
