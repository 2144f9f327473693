"""A multipart body's parts as webob's FieldStorage reads them, in linear time.

FieldStorage is cgi's, through webob (on Python 3.13+ the legacy-cgi package's), made to
read a part with an RFC 2231 ``filename*`` as a file and its header lines in linear time;
what the parameters of the body's Content-Type and of the part headers cost to read is
bounded (:data:`MOST_PARAMETER_WORK`). :mod:`.multipart` flattens the parts it reads.
"""

from __future__ import annotations

import io
import sys
from email.message import Message
from email.utils import collapse_rfc2231_value
from typing import Any, Optional

__all__ = ["MOST_PARAMETER_WORK", "Body", "cgi_module", "extended", "field_storage",
           "parameter_work", "storage_parts"]


def extended(disposition: Any, key: str) -> Optional[str]:
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


def parameter_work(value: Any) -> int:
    """What reading the parameters of a header value costs at most, in characters: the
    rest of it for each parameter."""
    value = str(value)
    return (value.count(";") + 1) * len(value)


class Body(io.BytesIO):
    """The body FieldStorage reads, with what its parts' parameters may still cost."""

    work_left = MOST_PARAMETER_WORK

    def charge(self, work: int) -> None:
        """Count ``work`` against the body's bound (:data:`MOST_PARAMETER_WORK`)."""
        self.work_left -= work
        if self.work_left < 0:
            raise ValueError("multipart parameters too costly to read")


_storage_class: Any = None


def cgi_module() -> Any:
    """The cgi module webob's FieldStorage is built on (the standard library's, or on
    Python 3.13+ the legacy-cgi package's)."""
    from webob.compat import cgi_FieldStorage  # imported on first use: multipart is rare

    return sys.modules[cgi_FieldStorage.__mro__[1].__module__]


def field_storage() -> Any:
    """webob's FieldStorage, made to read a part with an RFC 2231 ``filename*`` as a file,
    in time linear in the body (see ``read_multi``)."""
    global _storage_class
    if _storage_class is None:
        from webob.compat import cgi_FieldStorage

        cgi = cgi_module()

        class FieldStorage(cgi_FieldStorage):
            def read_single(self) -> None:
                headers = getattr(self, "headers", None) or {}
                filename = extended(headers.get("content-disposition"), "filename")
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
                                charge(parameter_work(value))
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


def storage_parts(body: bytes, content_type: str) -> list[Any]:
    """The parts of a body as webob's FieldStorage reads them (any framing)."""
    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "QUERY_STRING": "",
    }
    fp = Body(body)
    fp.charge(parameter_work(content_type))
    # latin-1: the part headers as their bytes (UTF-8 made any other byte U+FFFD).
    storage = field_storage()(
        fp=fp, environ=environ, keep_blank_values=True, encoding="latin-1"
    )
    return list(storage.list or ())

