"""The grouping function's one call for a WSGI exchange, on the request made for it.

:func:`identify` asks it once per exchange (:data:`UNKNOWN` until then), on the
middleware's ``grouping_request`` or, for the middleware's own request without a body,
on a bare copy of the environ whose input is :data:`NO_BODY`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator, Optional

from readme_metrics.capture.webob_request import Request
from readme_metrics.capture.webob_request import new as new_object
from readme_metrics.exchange import Group

if TYPE_CHECKING:
    from readme_metrics.capture.wsgi_exchange import WSGICapture

__all__ = ["NO_BODY", "NoBody", "UNKNOWN", "identify"]

UNKNOWN: Any = object()  # the grouping function has not run yet


class NoBody:
    """``wsgi.input`` of the grouping request when the request declares no body."""

    __slots__ = ()

    def read(self, *args: Any) -> bytes:
        return b""

    def readline(self, *args: Any) -> bytes:
        return b""

    def readlines(self, *args: Any) -> list[bytes]:
        return []

    def __iter__(self) -> Iterator[bytes]:
        return iter(())


NO_BODY = NoBody()


def identify(capture: WSGICapture) -> Optional[Group]:
    """The grouping function's answer for ``capture``'s request, asked once (None: not
    logged, also when it raised); the request it is given is the middleware's
    (``grouping_request``), or written out here for the middleware's own."""
    if capture.group is UNKNOWN:
        try:
            middleware = capture.middleware
            if middleware.own_request and capture.tee is None:
                # grouping_request() written out for a request without a body (a
                # call fewer): a copy of the environ with no input, in a bare request.
                request_environ = dict(capture.environ)
                request_environ["wsgi.input"] = NO_BODY
                request_environ.pop("webob.is_body_seekable", None)
                request = new_object(Request)
                request.__dict__["environ"] = request_environ
                capture.group = capture.pipeline.identify(request)
                return capture.group  # type: ignore[no-any-return,unused-ignore]
            request = middleware.grouping_request(capture.environ, capture.tee)
            tee = capture.tee
            # given_copy() written out for the middleware's own request (a call fewer).
            copy = ((None if tee is None else tee.record) if middleware.own_request
                    else middleware.given_copy(request, tee))
            if middleware.hands_back:
                try:
                    capture.group = capture.pipeline.identify(request, copy)
                finally:
                    middleware.grouped(request)
            else:
                capture.group = capture.pipeline.identify(request, copy)
        except Exception:
            capture.group = None
    return capture.group  # type: ignore[no-any-return,unused-ignore]
