"""The Metrics API's answer to one POST, read in full, whichever HTTP client carried it."""

from __future__ import annotations

import http.client
from typing import Any, Optional

from readme_metrics._http import is_token

#: http.client's limits: the longest line, the most header lines (the blank one counted).
#: The direct route's reader (:mod:`.reader`) applies them too.
MAX_LINE = 65536
MAX_HEADERS = 100

#: The most of an answer's body that is read. The policy logs the start of an error's
#: body and nothing reads more; a server sending an endless body (or announcing one of
#: terabytes) must not grow the process's memory while ReadMe misbehaves (SPEC 7).
MAX_CONTENT = 64 * 1024

#: The longest charset name looked up (IANA's registry has none longer).
_CHARSET_MAX = 40


class FinalResponse(http.client.HTTPResponse):
    """``http.client``'s answer, read past every interim (1xx) answer before it.

    RFC 9110 (15.2) has a client pass over interim answers it does not expect, whatever
    their number; ``http.client`` passes over ``100 Continue`` only and would take a
    ``103 Early Hints`` (or ``102 Processing``) for the answer, leaving the real one
    unread on the line. ``101 Switching Protocols`` is final: it is never expected here
    and is read as an answer the policy does not accept, and its connection, which no
    longer speaks HTTP, is not reused (``http.client``, and urllib3 after it, would keep
    it without ``Connection: close``). The session's connections use this class (through
    urllib3); the direct route's reader (:mod:`.reader`) does the same.

    With ``verdict_first`` (the session's connections), header lines after the final
    status line that break ``http.client``'s limits (a line over 65,536 bytes, more than
    100 lines) give that status with no headers and no body, its connection closed, as
    ``reader.read_answer(..., verdict_first=True)`` does, instead of an exception that
    had the logs sent again.

    ``head_ended`` tells whether the status line and header lines ended (the blank line
    read, or the limits broken) before the connection did: ``http.client`` reads a
    connection closed while they came (``HTTP/1.1 202`` and then nothing) as an answer
    with the headers that came, and so does this class, but a POST whose connection the
    watchdog cut then was not answered (:meth:`.session.SessionPoster.post`), as on the
    direct route (``reader.read_answer``'s ``on_verdict``).
    """

    verdict_first = False

    #: The head ended before the connection did (set by :meth:`begin`).
    head_ended = False

    def begin(self) -> None:
        fp = self.fp
        head = _HeadLines(fp)
        self.fp = head  # type: ignore[assignment]  # readline and close, all begin uses
        try:
            super().begin()
        except http.client.HTTPException:  # LineTooLong, or more than 100 lines
            # Only once the final status line was read: http.client sets the version
            # right before it parses the header lines, and the headers after.
            if (not self.verdict_first or self.version not in (10, 11)
                    or self.headers is not None):
                raise
            self.headers = self.msg = http.client.HTTPMessage()
            self.chunked = False
            self.length = 0
            self.will_close = True
            head.cut = False  # past the limits: the status is the verdict all the same
        finally:
            if self.fp is head:  # (http.client may have closed and dropped it)
                self.fp = fp
        self.head_ended = not head.cut
        if self.status == 101:
            self.will_close = True  # http.client closes the connection; urllib3 drops it

    def _read_status(self) -> tuple[str, int, str]:
        # http.client's status-line reader, which its begin() calls in a loop: private,
        # but the same in every Python this package supports (3.9 on).
        while True:
            version, status, reason = super()._read_status()  # type: ignore[misc]
            if not 102 <= status < 200:  # 100 is passed over by http.client itself
                return version, status, reason
            _skip_fields(self.fp)


class _HeadLines:
    """The answer's stream as :meth:`FinalResponse.begin` reads it (line by line):
    ``cut`` once a line came without its line end (the connection ended in it, or
    before it)."""

    __slots__ = ("_fp", "cut")

    def __init__(self, fp: Any) -> None:
        self._fp = fp
        self.cut = False

    def readline(self, limit: int = -1) -> bytes:
        line: bytes = self._fp.readline(limit)
        if not line.endswith(b"\n") and (limit < 0 or len(line) < limit):
            self.cut = True
        return line

    def close(self) -> None:
        self._fp.close()


def _skip_fields(stream: Any) -> None:
    """Read an interim answer's header lines up to the blank line that ends them, with
    the limits http.client sets on an answer's (the blank line counted, as it counts it)."""
    for _ in range(MAX_HEADERS):
        line = stream.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise http.client.LineTooLong("header line")
        if line in (b"\r\n", b"\n", b""):
            return
    raise http.client.HTTPException(f"got more than {MAX_HEADERS} headers")


class Answer:
    """Status, reason, headers and body of an answered POST (the body read up to
    :data:`MAX_CONTENT` bytes; the connection of a longer one is closed, not reused).

    The names are those of ``requests.Response`` (``status_code``, ``reason``,
    ``headers``, ``content``, ``text``), so the sender reads either transport the same way.
    ``headers`` looks names up case-insensitively (urllib3's ``HTTPHeaderDict``, whose
    repeated values are joined as in requests' ``Response.headers``, or
    the direct route's :class:`~.reader.Fields`, looked up as ``http.client.HTTPMessage``:
    ``get(name)`` and ``[name]``); :meth:`first` gives the
    same first value of a repeated header on either.
    """

    __slots__ = ("status_code", "reason", "headers", "content", "waited")

    def __init__(self, status_code: int, reason: str, headers: Any,
                 content: bytes) -> None:
        self.status_code = status_code
        self.reason = reason
        self.headers = headers
        self.content = content
        #: Seconds from the POST's start to its status line and headers, for an answer
        #: whose body was cut at the POST's bound (None otherwise): the API's answer
        #: time, not the bound (``Attempt``).
        self.waited: Optional[float] = None

    def first(self, name: str) -> Optional[str]:
        """The first value of header ``name``, None if absent.

        A header sent twice (``Retry-After: 5`` and ``Retry-After: 10``) is two values
        to both clients; ``headers.get`` would give requests' joined ``"5, 10"`` but
        ``http.client``'s first one, so the policy reads this instead.
        """
        headers = self.headers
        values = (headers.getlist(name) if hasattr(headers, "getlist")
                  else headers.get_all(name))
        return values[0] if values else None

    @property
    def text(self) -> str:
        """The body decoded with the charset the answer names (UTF-8 by default);
        undecodable bytes are replaced, never raised about.

        The name comes from the server: a codec that refuses ``errors="replace"``
        (``idna``, ``punycode``, ``undefined``) or a name no codec can have (a NUL in
        it) raised out of the sender, which dropped the batch as an unexpected error (a
        503 that asked for a retry) or, in inline mode, left it unsettled for good. Only
        a name that can be one (an RFC 9110 token of at most 40 characters, as IANA's
        are) is looked up: Python remembers every name it did not find.
        """
        charset = "utf-8"
        content_type = self.headers.get("Content-Type") or ""
        for parameter in content_type.split(";")[1:]:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "charset" and value.strip():
                charset = value.strip().strip('"')
        if len(charset) <= _CHARSET_MAX and is_token(charset):
            try:
                return self.content.decode(charset, errors="replace")
            except (LookupError, UnicodeError, ValueError):  # unknown, or no text codec
                pass
        return self.content.decode("utf-8", errors="replace")

    def __repr__(self) -> str:
        return f"<Answer [{self.status_code}]>"
