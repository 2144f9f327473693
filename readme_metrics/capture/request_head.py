"""What the worker logs of a request besides its body, kept raw on the request thread.

- :data:`RequestHead` is what the worker needs of a request; a :class:`RequestSource`
  (``nbytes`` and ``head()``) is kept on the request thread and parsed only on the worker.
- :class:`EnvironRequest` is the WSGI one (an ASGI adapter writes its own over the scope,
  :class:`~readme_metrics.capture.asgi_scope.ScopeRequest`); :func:`environ_head` parses
  its strings with :mod:`~readme_metrics.capture.request_url`,
  :mod:`~readme_metrics.capture.request_headers` and
  :mod:`~readme_metrics.capture.forwarded`.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any, Callable, Mapping, Protocol, Sequence

from readme_metrics.capture.environ_strings import PLANS_MAX, Values, environ_strings, small_shape
from readme_metrics.capture.forwarded import pick_client_ip
from readme_metrics.capture.latin1 import header_text
from readme_metrics.capture.request_headers import add_content_headers, header_name
from readme_metrics.capture.request_url import build_url, environ_target, server_host

__all__ = ["EnvironRequest", "RequestHead", "RequestSource", "environ_head"]


#: The request as the worker logs it (everything but the body): ``(method, url,
#: http_version, headers, client_ip)``. A plain tuple, unpacked as soon as it is made
#: (:meth:`~readme_metrics.capture.recorder.PendingExchange.to_exchange`): an object of
#: five fields cost the worker about 2k instructions more per log.
RequestHead = tuple[str, str, str, list[tuple[str, str]], str]


class RequestSource(Protocol):
    """Raw request pieces kept on the request thread; ``head()`` parses them on the worker.

    ``nbytes`` counts what the pieces hold (for the queue's memory bound).
    """

    nbytes: int

    def head(self) -> RequestHead: ...


class EnvironRequest:
    """A :class:`RequestSource` over a WSGI environ: its strings, copied, parsed later.

    Strings only (see :mod:`~readme_metrics.capture.environ_strings`): the worker must
    not keep the server's socket objects alive, and a later app or dispatcher rewriting
    PATH_INFO must not change what is logged. The keys are kept as a tuple (the environ
    shape's), the values as one string where they can be (``joined``: cpu34); the dict
    is built on the worker.
    """

    __slots__ = ("keys", "values", "trusted_proxies", "nbytes")

    def __init__(self, environ: Mapping[str, object], trusted_proxies: int = 0) -> None:
        # Every string is held until the log is sent (headers can be large): counted.
        self.keys, self.values, self.nbytes = environ_strings(environ, joined=True)
        self.trusted_proxies = trusted_proxies

    def head(self) -> RequestHead:
        """Method, URL, version, headers and client IP (on the worker)."""
        return environ_head(self.keys, self.values, self.trusted_proxies)


def environ_head(keys: tuple[str, ...], values: Values, trusted_proxies: int = 0
                 ) -> RequestHead:
    """The head of a request from the strings :func:`environ_strings` copied of its
    environ (on the worker)."""
    last_keys, plan = _last_head
    # The keys of one environ shape are one tuple (environ_strings' plan): the plan
    # used last is found by identity, not by hashing 30 keys.
    if keys is not last_keys:
        plan = _HEAD_PLANS.get(keys) or _head_plan(keys)
    if isinstance(values, str):  # (environ_strings' joined values: split on the worker)
        # All ASCII asked of the text once (no join of the values picked), and the list
        # the split makes read as it is, the None after the values appended: no tuple
        # copy of it (cpu40).
        ascii_only = values.isascii()
        split: list[Any] = values.split("\0")
        picked = plan.header_values(split)
        split.append(None)
        pieces = plan.pieces(split)
    else:
        picked = plan.header_values(values)
        ascii_only = False
        pieces = plan.pieces(values + (None,))
    # The header pairs made in C (the names the plan's, the values picked by one call)
    # when every value is ASCII, as nearly every request's are: a Python loop of a
    # method call and an append a header otherwise (cpu33).
    if ascii_only or "".join(picked).isascii():
        headers = list(zip(plan.header_names, picked))
    else:
        headers = [(name, value if value.isascii() else header_text(value))
                   for name, value in zip(plan.header_names, picked)]
    # The variables read below, in _PIECES' order (None: not in this environ), by one
    # call: no dict of them for request_url and client_ip.
    (method, protocol, content_type, length, software, scheme, host, server_name,
     server_port, raw_uri, request_uri, script_name, path_info, query, forwarded_proto,
     forwarded_host, remote_addr, forwarded_for) = pieces
    if content_type or length:  # (else add_content_headers adds none: no call)
        add_content_headers(headers, content_type, length, software)
    if scheme is None:
        scheme = "http"
    if software is None:
        software = ""
    # (method, url, http_version, headers, client_ip); the defaults are request_url's
    # and client_ip's. The url is environ_url's, its two parts called here: one Python
    # call of twelve arguments less per log (cpu18).
    return (
        "GET" if method is None else method,
        build_url(scheme, host or server_host(
                      "localhost" if server_name is None else server_name, server_port,
                      scheme),
                  environ_target(raw_uri or request_uri, software, script_name or "",
                                 path_info or "", query or ""),
                  forwarded_proto, forwarded_host, trusted_proxies),
        "HTTP/1.1" if protocol is None else _VERSIONS.get(protocol, protocol),
        headers,
        # (pick_client_ip without its call when no proxy is trusted: the address)
        ("" if remote_addr is None else remote_addr) if trusted_proxies <= 0
        else pick_client_ip("" if remote_addr is None else remote_addr, forwarded_for,
                            trusted_proxies),
    )


# granian names HTTP/1.0 "HTTP/1" in SERVER_PROTOCOL: the log says what the client sent.
_VERSIONS = {"HTTP/1": "HTTP/1.0"}
# What environ_head reads of an environ besides the headers, in the order of its
# unpacking: the fixed variables, then what request_url and client_ip read.
_PIECES = ("REQUEST_METHOD", "SERVER_PROTOCOL", "CONTENT_TYPE", "CONTENT_LENGTH",
           "SERVER_SOFTWARE", "wsgi.url_scheme", "HTTP_HOST", "SERVER_NAME", "SERVER_PORT",
           "RAW_URI", "REQUEST_URI", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING",
           "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST", "REMOTE_ADDR",
           "HTTP_X_FORWARDED_FOR")


class _HeadPlan:
    """Where the pieces of a request's head are among the copied strings of one environ
    shape (its keys, in order): the worker reads them by index instead of making a dict
    of every key and translating each key again."""

    __slots__ = ("header_names", "header_values", "pieces")

    def __init__(self, keys: tuple[str, ...]) -> None:
        headers = [(index, name) for index, key in enumerate(keys)
                   for name in (header_name(key),) if name]
        #: The headers' names as logged, in the environ's order; ``header_values(values)``
        #: their values, a tuple whatever their number (itemgetter of one index gives
        #: the item, of none raises: those shapes go by a lambda).
        self.header_names = tuple(name for _, name in headers)
        indices = [index for index, _ in headers]
        self.header_values: Callable[[Sequence[str]], tuple[str, ...]] = (
            itemgetter(*indices) if len(indices) > 1
            else (lambda values: (values[indices[0]],)) if indices
            else (lambda values: ()))
        index = {key: position for position, key in enumerate(keys)}  # keys are unique
        # The _PIECES of the strings with a None after them, that None for a key not in
        # this shape: one call, where a loop (or a dict for request_url) costs more.
        self.pieces = itemgetter(*(index.get(key, len(keys)) for key in _PIECES))


#: Head plans by environ shape (the keys environ_strings copied), bounded as its plans
#: are: a client sending random header names cannot grow them.
_HEAD_PLANS: dict[tuple[str, ...], _HeadPlan] = {}
#: The keys and plan made last (see EnvironRequest.head); one tuple, replaced whole.
_last_head: tuple[tuple[str, ...], _HeadPlan] = ((), _HeadPlan(()))


def _head_plan(keys: tuple[str, ...]) -> _HeadPlan:
    global _last_head
    plan = _HeadPlan(keys)
    if len(_HEAD_PLANS) < PLANS_MAX and small_shape(keys):
        _HEAD_PLANS[keys] = plan
        _last_head = (keys, plan)  # kept alive by _HEAD_PLANS: its identity stays its own
    return plan
