"""The demo's example API and the calls ``demo --requests N`` makes to it.

:class:`DemoApp` is a small JSON API (list, read, create and delete items, a form login, a
file upload and one endpoint that fails on purpose) written as a plain PEP 3333 app over
webob; :func:`demo_grouping` tells its callers apart by their ``X-Api-Key`` header;
:func:`fire_requests` calls it with every kind of body and outcome.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import Any, Iterable

from readme_metrics.capture.webob_request import webob  # without cgi's warning
from readme_metrics.wsgi_types import StartResponse, WSGIEnvironment

__all__ = ["DEMO_CALLERS", "DemoApp", "demo_grouping", "fire_requests"]

#: The example API's own keys (header ``X-Api-Key``) and who they belong to.
DEMO_CALLERS: dict[str, dict[str, str]] = {
    "demo-key-alice": {"label": "Alice (Acme Corp)", "email": "alice@acme.example"},
    "demo-key-bob": {"label": "Bob (Globex)", "email": "bob@globex.example"},
    "demo-key-carol": {"label": "Carol (Initech)", "email": "carol@initech.example"},
}


def demo_grouping(request: webob.Request) -> dict[str, str]:
    """Who is calling: the X-Api-Key header's owner, or an anonymous caller per address."""
    key = request.headers.get("X-Api-Key", "")
    if key in DEMO_CALLERS:
        return {"api_key": key, **DEMO_CALLERS[key]}
    return {"api_key": f"anonymous-{request.remote_addr or 'unknown'}", "label": "anonymous"}


class DemoApp:
    """The example API: a plain PEP 3333 app over webob, items kept in memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[int, dict[str, Any]] = {
            1: {"id": 1, "name": "Anvil", "price": 49.0, "tags": ["heavy"]},
            2: {"id": 2, "name": "Rocket skates", "price": 129.5, "tags": ["fast", "risky"]},
            3: {"id": 3, "name": "Bird seed", "price": 3.25, "tags": []},
        }
        self._next_id = 4

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = webob.Request(environ)
        response = self.dispatch(request)
        return response(environ, start_response)

    @staticmethod
    def _json(data: Any, status: int = 200, **headers: str) -> webob.Response:
        response = webob.Response(
            body=json.dumps(data, indent=None).encode("utf-8"), status=status,
            content_type="application/json", charset=None,
        )
        for name, value in headers.items():
            response.headers[name.replace("_", "-")] = value
        return response

    def dispatch(self, request: webob.Request) -> webob.Response:
        """Route one request (a dozen lines beat a framework dependency here)."""
        method, path = request.method, request.path_info.rstrip("/") or "/"
        if path == "/" and method == "GET":
            return self._json({
                "name": "readme-metrics demo API",
                "endpoints": [
                    "GET /api/items", "POST /api/items (JSON)", "GET /api/items/<id>",
                    "DELETE /api/items/<id>", "POST /api/login (form: username, password)",
                    "POST /api/upload (multipart: file)", "GET /api/fail (always 500)",
                ],
                "authentication": "X-Api-Key: " + " | ".join(DEMO_CALLERS),
            })
        if path == "/api/items":
            if method == "GET":
                return self._list(request)
            if method == "POST":
                return self._create(request)
        elif path.startswith("/api/items/"):
            return self._item(request, path[len("/api/items/"):])
        elif path == "/api/login" and method == "POST":
            return self._login(request)
        elif path == "/api/upload" and method == "POST":
            return self._upload(request)
        elif path == "/api/fail":
            return self._json({"error": "the warehouse database is on fire (a simulated failure)"},
                              500)
        else:
            return self._json({"error": f"no route for {method} {path}"}, 404)
        return self._json({"error": f"{method} is not allowed on {path}"}, 405,
                          Allow="GET, POST")

    def _list(self, request: webob.Request) -> webob.Response:
        with self._lock:
            items = list(self._items.values())
        tag = request.GET.get("tag")
        if tag:
            items = [item for item in items if tag in item["tags"]]
        return self._json({"items": items, "count": len(items)})

    def _create(self, request: webob.Request) -> webob.Response:
        try:
            data = json.loads(request.body or b"null")
        except ValueError:
            return self._json({"error": "the body is not JSON"}, 400)
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            return self._json({"error": "expected an object with a 'name'"}, 422)
        with self._lock:
            item = {"id": self._next_id, "name": data["name"],
                    "price": data.get("price", 0), "tags": data.get("tags", [])}
            self._items[self._next_id] = item
            self._next_id += 1
        return self._json(item, 201, Location=f"/api/items/{item['id']}")

    def _item(self, request: webob.Request, raw_id: str) -> webob.Response:
        if not raw_id.isdigit():
            return self._json({"error": f"item ids are numbers, got {raw_id!r}"}, 400)
        item_id = int(raw_id)
        with self._lock:
            if request.method == "DELETE":
                found = self._items.pop(item_id, None)
                if found is not None:
                    return webob.Response(status=204)
            else:
                found = self._items.get(item_id)
        if found is None:
            return self._json({"error": f"no item {item_id}"}, 404)
        if request.method != "GET":
            return self._json({"error": f"{request.method} is not allowed here"}, 405,
                              Allow="GET, DELETE")
        return self._json(found)

    def _login(self, request: webob.Request) -> webob.Response:
        username = request.POST.get("username", "")
        if not username or not request.POST.get("password"):
            return self._json({"error": "username and password are required, as form fields: "
                                        "-d username=ada -d password=..."}, 400)
        response = self._json({"user": username, "token": "demo-token-" + username})
        response.set_cookie("session", "demo-session-" + username, httponly=True)
        return response

    def _upload(self, request: webob.Request) -> webob.Response:
        files = []
        for field, value in request.POST.items():
            if hasattr(value, "file"):
                data = value.file.read()
                files.append({"field": field, "filename": value.filename, "size": len(data),
                              "contentType": value.type})
        if not files:
            return self._json({"error": "send a multipart/form-data body with a file"}, 400)
        return self._json({"received": files, "note": request.POST.get("note", "")}, 201)


def _requests_plan() -> list[tuple[str, str, dict[str, Any]]]:
    """The calls the demo makes, in order, cycled: every kind of body and outcome."""
    return [
        ("GET", "/api/items", {}),
        ("POST", "/api/items", {"json": {"name": "Giant magnet", "price": 19.99,
                                         "tags": ["new", "magnetic"]}}),
        ("GET", "/api/items/1?fields=name,price", {}),
        ("POST", "/api/login", {"data": {"username": "wile", "password": "s3cret-carrot"}}),
        ("POST", "/api/upload", {
            "files": {"file": ("order.csv", b"id,qty\n1,2\n3,1\n", "text/csv")},
            "data": {"note": "weekly order"},
        }),
        ("GET", "/api/items/999", {}),
        ("GET", "/api/fail", {}),
        ("GET", "/api/items?tag=fast", {}),
        ("DELETE", "/api/items/3", {}),
        ("POST", "/api/items", {"data": "not json", "headers": {
            "Content-Type": "application/json"}}),
    ]


def fire_requests(base: str, count: int, stop: threading.Event,
                  statuses: Counter[str]) -> None:
    """Make ``count`` varied calls to the API at ``base``, until ``stop`` is set.

    Each answer's status class is counted in ``statuses`` as it comes (``{"2xx": n}``), so
    the calls made are known even when one fails.
    """
    import requests  # the runtime dependency; only the demo driver needs it here

    plan = _requests_plan()
    keys = list(DEMO_CALLERS)
    # One session per caller, as separate clients would have (the login cookie stays theirs).
    sessions = {key: requests.Session() for key in keys}
    try:
        for index in range(count):
            if stop.is_set():
                return
            method, path, options = plan[index % len(plan)]
            kwargs = dict(options)
            key = keys[index % len(keys)]
            headers = {"X-Api-Key": key, **kwargs.pop("headers", {})}
            response = sessions[key].request(method, base + path, headers=headers, timeout=10,
                                             **kwargs)
            statuses[f"{response.status_code // 100}xx"] += 1
    finally:
        for session in sessions.values():
            session.close()
