"""One log per exchange when one project's middleware is stacked twice (SPEC 5).

Wrapping an app twice for the same ReadMe project is easy to do by accident: Flask's
extension and a hand-written ``app.wsgi_app = MetricsMiddleware(...)``, Django's
middleware setting and a wrapped ``get_wsgi_application()``, ``app.add_middleware`` run
again on the same app. Every layer logged the exchange, and ReadMe counted each call as
many times. The outermost layer that records an exchange marks the request (the WSGI
environ, the ASGI scope, Django's ``META``) with its project; a layer inside it for the
same project (API key and Metrics API) passes the request through untouched, so the log
and the ``x-documentation-url`` header are the outer layer's. Layers for different
projects each log the exchange: that is sending it to two projects.

The outermost layer of a project decides for it, whatever it decides: its skip rules,
and its grouping function returning None ("do not log", SPEC 6), leave the exchange
unlogged for that project, and the layers inside pass it through. The grouping function
runs when the response starts, after the app (it may use what the app set up), long
after the inner layers chose to pass the request through, so a None cannot hand the
exchange on to them; and two grouping functions for one project are an accident of
stacking, not two opinions to reconcile. A layer that skips by rule marks too.

The mark is an opaque number, never the key: environs and scopes end up in error pages.
The middlewares write it only while a project has more than one middleware in the process
(:func:`layer` counts them), so an app wrapped once sees its environ or scope as bare and
pays nothing for it on its requests. Starlette makes the middlewares added to it at its
first request, inside the call of an ASGI layer around the app, which could not have known
to mark the scope: an ASGI layer also says, in a context variable of the task, which scope
it records (:func:`recording`); a layer inside given that very scope passes it through. A
scope of its own (a request the app makes to itself over httpx's ASGITransport, in the
same task) is another exchange, logged; a copy of the recorded scope (a middleware in
between that changes the request on a ``dict(scope)``) is the same exchange. A WSGI
app run by an ASGI-to-WSGI bridge (asgiref's WsgiToAsgi, Starlette's WSGIMiddleware)
gets an environ made from the scope, without its mark, in a thread given a copy of the
task's context: its WSGI layer of the project finds the ASGI layer's recording there
(:func:`asgi_records`), the same exchange by its method and path, or by its headers when
a middleware in between rewrote the path on a copy of the scope.
"""

from __future__ import annotations

import contextvars
import threading
import weakref
from typing import Any, Mapping, MutableMapping, Optional

from readme_metrics.config import MetricsApiConfig

__all__ = ["MARK", "asgi_records", "done", "layer", "mark", "marked", "recorded",
           "recording", "recording_here"]

#: The request's key holding the projects whose layer records it.
MARK = "readme_metrics.recorded_for"

# Middlewares made per project in this process, each count in a list shared by them all,
# so a layer made first sees the ones made after it.
_layers: dict[int, list[int]] = {}
_lock = threading.RLock()  # re-entrant: a finalizer may run inside it (gc)
# The ASGI scope recorded by the layers running this task, and their projects.
_recording: contextvars.ContextVar[Optional[tuple[Any, tuple[int, ...]]]] = (
    contextvars.ContextVar("readme_metrics.recording", default=None))


def layer(config: MetricsApiConfig, owner: object) -> tuple[int, list[int]]:
    """Count one more middleware, ``owner``, for ``config``'s project: the number that
    stands for the project in the mark (this process only), and the project's count of
    middlewares (the mark matters once it is above 1). The count goes down again when
    ``owner`` is freed (an app factory's apps, a test client's Django handler), so a
    process that made and dropped many sees an app wrapped once as bare again."""
    project = hash((config.api_key, config.metrics_api))
    with _lock:
        count = _layers.setdefault(project, [0])
        count[0] += 1
    weakref.finalize(owner, _dropped, count)
    return project, count


def _dropped(count: list[int]) -> None:
    """A middleware counted by :func:`layer` was freed (in any thread, maybe one that
    holds the lock already: it is re-entrant)."""
    with _lock:
        count[0] -= 1


def marked(carrier: Mapping[str, Any], project: int) -> bool:
    """True when a layer outside already records this request for ``project``."""
    projects = carrier.get(MARK)
    return projects is not None and project in projects


def mark(carrier: MutableMapping[str, Any], project: int) -> None:
    """Say that this request is recorded for ``project`` (layers inside pass it on)."""
    projects = carrier.get(MARK)
    carrier[MARK] = (project,) if projects is None else (*projects, project)


def recorded(scope: Mapping[str, Any], project: int) -> bool:
    """True when an ASGI layer outside already records ``scope`` for ``project``: marked,
    or the very scope an outer layer of this task records (:func:`recording`)."""
    projects = scope.get(MARK)  # marked() written out: a call fewer per exchange
    if projects is not None and project in projects:
        return True
    outer = _recording.get()
    return outer is not None and project in outer[1] and (
        outer[0] is scope or _copied(scope, outer[0]))


def _copied(scope: Mapping[str, Any], outer: Mapping[str, Any]) -> bool:
    """True when ``scope`` is a copy of ``outer`` (``dict(scope)``, ``{**scope, ...}``):
    it shares one of the containers a server makes afresh for each request. A layer
    made lazily inside the outer one's call (Starlette's) behind a middleware that
    copies the scope got the copy, unmarked (the outer layer was alone when it began),
    and logged the exchange a second time. A request the app makes to itself (httpx's
    ASGITransport) has containers of its own: another exchange."""
    for key in _PER_REQUEST:
        value = outer.get(key)
        if value is not None and scope.get(key) is value:
            return True
    return False


#: Scope values a server or in-process client makes anew per request (uvicorn, hypercorn,
#: daphne, httpx, Starlette's TestClient; granian 2.8 shares "asgi" and "extensions"
#: across concurrent requests, harmless: the outer recording is read from this request's
#: own context, so another request's scope is never compared).
_PER_REQUEST = ("asgi", "headers", "extensions", "state")


def asgi_records(project: int, environ: Mapping[str, Any]) -> bool:
    """For a WSGI layer: True when an ASGI layer of ``project`` records the exchange this
    context runs, which ``environ`` is (the WSGI app is behind an ASGI-to-WSGI bridge,
    which runs it with a copy of the task's context and builds the environ from the
    scope: its method, and its path as SCRIPT_NAME and PATH_INFO, or its root_path and
    path when the path does not start with the root_path; or another path, a
    middleware in between having rewritten it on a copy of the scope, when the environ
    holds the scope's headers as the bridges build them: :func:`_bridged`). Said once:
    the recording is forgotten for ``project`` in this context then (another project's
    WSGI layer further in still finds it). A request made in process to another method
    or path (a WSGI app called by the ASGI app) is another exchange."""
    outer = _recording.get()
    if outer is None or project not in outer[1]:
        return False
    try:
        scope = outer[0]
        path = scope.get("path")
        if environ.get("REQUEST_METHOD") != scope.get("method") or not isinstance(path, str):
            return False
        script, path_info = environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", "")
        wanted = _latin1(path)
        root = scope.get("root_path")
        # Or a root_path the path does not hold (hypercorn's --root-path; uvicorn puts it
        # in the path): the bridges keep the whole path in PATH_INFO then, SCRIPT_NAME the
        # root_path (and a Mount's prefix, which Starlette adds to root_path).
        if f"{script}{path_info}" != wanted and not (
                path_info == wanted and isinstance(root, str) and root
                and script.startswith(_latin1(root))) and not (
                _rewritten(wanted, f"{script}{path_info}", root) and _bridged(scope, environ)):
            return False
    except Exception:  # an odd environ or scope: not this exchange, logged as before
        return False
    # Forgotten for this project only: a WSGI layer of another project recorded outside
    # (an ASGI layer of each before the bridge) further in still finds it.
    rest = tuple(other for other in outer[1] if other != project)
    _recording.set((scope, rest) if rest else None)
    return True


def _rewritten(path: str, got: str, root: Any = None) -> bool:
    """True when ``got`` is ``path`` with a prefix stripped or added (``/v1/items`` and
    ``/items``, a mount's prefix), after the scope's ``root`` too where both hold it
    (uvicorn --root-path puts it in the path), a trailing slash added or stripped too
    (a middleware that normalizes it): the rewrites :func:`_bridged` is asked for.
    Another path altogether (``/users`` fetched in process, the client's headers
    forwarded, while serving ``/dashboard``) is another exchange, however alike its
    headers."""
    pairs = [(path, got)]
    if isinstance(root, str) and root:
        root = _latin1(root)
        if path.startswith(root) and got.startswith(root):
            pairs.append((path[len(root):], got[len(root):]))
    return any(a and b and (a.endswith(b) or b.endswith(a))
               for pair in pairs for a, b in (pair, (pair[0].rstrip("/"), pair[1].rstrip("/"))))


def _bridged(scope: Mapping[str, Any], environ: Mapping[str, Any]) -> bool:
    """True when ``environ`` holds the recorded request's headers and client address as
    a bridge builds them from the scope (each header ``HTTP_<NAME>``, or CONTENT_TYPE and
    CONTENT_LENGTH, a repeated one joined by commas), and no other header: the exchange
    reached the bridge on a copy of the scope whose path a middleware in between rewrote
    (a version prefix stripped, a mount). A request the app makes in process to a WSGI
    app builds an environ of its own, with its own headers: another exchange (a request
    with no header at all is not taken for the same one). Asked only when the path
    differs, of a project with two middlewares."""
    built: dict[str, str] = {}
    for name, value in scope.get("headers") or ():
        key = name.decode("latin-1")
        key = _BRIDGED_NAMES.get(key) or f"HTTP_{key.upper().replace('-', '_')}"
        text = value.decode("latin-1")
        built[key] = f"{built[key]},{text}" if key in built else text
    client = scope.get("client")
    if client and environ.get("REMOTE_ADDR") != client[0]:
        return False
    return bool(built) and built == {key: value for key, value in environ.items()
                     if key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH")}


_BRIDGED_NAMES = {"content-type": "CONTENT_TYPE", "content-length": "CONTENT_LENGTH"}


def _latin1(text: str) -> str:
    """A decoded ASGI path as an environ holds it: its UTF-8 bytes read as latin-1."""
    return text.encode("utf-8", "surrogateescape").decode("latin-1")


def recording(scope: MutableMapping[str, Any], project: int,
              layers: list[int]) -> contextvars.Token[Any]:
    """Say that this ASGI layer records ``scope`` for ``project``: the mark while the
    project has two middlewares, the context variable always; the token resets it when
    the layer's call of the app returns."""
    if layers[0] > 1:
        mark(scope, project)
    outer = _recording.get()
    # The projects recorded outside go on with this exchange, a copy of its scope too (a
    # middleware in between that copies it): a layer further in of any of them passes it.
    projects = (*outer[1], project) if outer is not None and (
        outer[0] is scope or _copied(scope, outer[0])) else (project,)
    return _recording.set((scope, projects))


def recording_here() -> bool:
    """True when an ASGI layer records the exchange this context runs (the app it calls
    runs here, or a WSGI app behind an ASGI-to-WSGI bridge, in a copy of the context)."""
    return _recording.get() is not None


def done(token: Optional[contextvars.Token[Any]]) -> None:
    """The layer's call of the app returned: its scope is no longer recorded here (None:
    the layer never said it was)."""
    if token is None:
        return
    try:
        _recording.reset(token)
    except ValueError:  # (another context: nothing of this layer's is left in it)
        pass
