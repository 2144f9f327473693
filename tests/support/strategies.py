"""Hypothesis strategies: WSGI apps whose whole behaviour is data (differential tests)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any


class ScriptedError(Exception):
    """Raised by :class:`ScriptedApp` on purpose."""


@dataclass
class ScriptedApp:
    """A WSGI app whose whole behaviour is data, so hypothesis can generate it.

    ``mode``: "list" returns a list, "iter" a generator calling start_response lazily,
    "write" sends the first chunk through write(), "raise_before" raises before
    start_response, "raise_during" raises after the first chunk, "error_page" starts a
    200, then replaces it with ``status`` through exc_info before any body.
    """

    status: str = "200 OK"
    headers: list[tuple[str, str]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)
    mode: str = "list"
    read_body: bool = True
    calls: int = 0
    closed: int = 0
    environs: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.calls += 1
        self.environs.append(dict(environ))
        if self.read_body:
            environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        if self.mode == "raise_before":
            raise ScriptedError("before start_response")
        if self.mode == "list":
            start_response(self.status, list(self.headers))
            return list(self.chunks)
        if self.mode == "write":
            write = start_response(self.status, list(self.headers))
            if self.chunks:
                write(self.chunks[0])
            return self._closing(iter(self.chunks[1:]))
        return self._closing(self._generate(start_response))

    def _generate(self, start_response: Any) -> Any:
        if self.mode == "error_page":
            start_response("200 OK", [("Content-Type", "text/plain")])
            try:
                raise ScriptedError("handled")
            except ScriptedError:
                start_response(self.status, list(self.headers), sys.exc_info())
        else:
            start_response(self.status, list(self.headers))
        for index, chunk in enumerate(self.chunks):
            if self.mode == "raise_during" and index == 1:
                raise ScriptedError("while iterating")
            yield chunk
        if self.mode == "raise_during":
            raise ScriptedError("at the end")

    def _closing(self, iterator: Any) -> Any:
        app = self

        class Body:
            def __iter__(self) -> Any:
                return iterator

            def close(self) -> None:
                app.closed += 1

        return Body()


def scripted_apps(extra_headers: Any = None) -> Any:
    """Hypothesis strategy of valid :class:`ScriptedApp` s (wsgiref.validate and lint clean).

    ``extra_headers`` is a strategy of (name, value) pairs mixed into the app's headers,
    for headers the middleware under test cares about.
    """
    from hypothesis import strategies as st

    statuses = st.sampled_from([
        "200 OK", "201 Created", "204 No Content", "301 Moved Permanently",
        "304 Not Modified", "400 Bad Request", "404 Not Found", "418 I'm a teapot",
        "500 Internal Server Error", "599 Custom Reason",
    ])
    value = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
    name = st.from_regex(r"X-[A-Za-z][A-Za-z0-9-]{0,12}[A-Za-z0-9]", fullmatch=True)
    pair = st.tuples(name, value)
    if extra_headers is not None:
        pair = st.one_of(pair, extra_headers)

    @st.composite
    def build(draw: Any) -> ScriptedApp:
        status = draw(statuses)
        code = int(status[:3])
        headers = draw(st.lists(pair, max_size=6))
        empty = code in (204, 304)
        chunks = [] if empty else draw(st.lists(st.binary(max_size=64), max_size=5))
        mode = draw(st.sampled_from(
            ["list", "iter", "write", "raise_before", "raise_during", "error_page"]
        ))
        if not empty:
            headers.insert(draw(st.integers(0, len(headers))),
                           ("Content-Type", draw(st.sampled_from(
                               ["text/plain", "application/json", "application/octet-stream"]
                           ))))
            if mode not in ("raise_during", "write") and draw(st.booleans()):
                headers.append(("Content-Length", str(sum(map(len, chunks)))))
        elif code == 204:
            headers.append(("Content-Length", "0"))
        return ScriptedApp(status, headers, chunks, mode)

    return build()
