"""The benchmark's requests and apps: the small GET (13 headers, a 62-byte JSON answer),
the browser's GET, the 2 KB POST answered with ~100 KB, and the middleware around them
(``wrap``, with ``BENCH_BUFFER_LENGTH`` and ``BENCH_DENYLIST`` from the command line)."""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Callable, Iterable, Optional

#: A denylist as users set one (``--denylist``): the default figures are without lists.
TYPICAL_DENYLIST = "password,secret,token,api_key,ssn,credit_card"
API_KEY = "rdme_benchmark_key_0000"
TOKEN = "sk_live_4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"


GET_HEADERS = {  # 13 request headers, as a browser or SDK would send them
    "Host": "api.example.com",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) bench/1.0",
    "Accept": "application/json",
    "Accept-Encoding": "gzip, deflate, br",
    "Accept-Language": "en-US,en;q=0.9",
    "Authorization": f"Bearer {TOKEN}",
    "Cookie": "session=8c1f0e2d9b7a4c3e; theme=dark; _ga=GA1.2.1234567890.1700000000",
    "Connection": "keep-alive",
    "Cache-Control": "no-cache",
    "Referer": "https://docs.example.com/reference/get-widgets",
    "X-Request-Id": "0f8e2a3c-5b6d-4e7f-8a9b-0c1d2e3f4a5b",
    "X-Api-Version": "2024-06-01",
    "X-Forwarded-For": "203.0.113.7",
}
#: A browser's GET of the same API (Chrome 124 calling it with fetch from a web app): its
#: User-Agent, client hints, fetch metadata, a longer Cookie and a Referer whose query holds
#: an encoded ``@`` and an encoded URL (``%40``, ``%3A``), which the safety readers of URL
#: headers read (cpu43, cpu44). The bench's ``browser_get`` row; the small GET keeps
#: ``GET_HEADERS``.
BROWSER_HEADERS = {
    "Host": "api.example.com",
    "Connection": "keep-alive",
    "sec-ch-ua": '"Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"',
    "sec-ch-ua-mobile": "?0",
    "sec-ch-ua-platform": '"Linux"',
    "Authorization": f"Bearer {TOKEN}",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/124.0.0.0 Safari/537.36",
    "Accept": "application/json, text/plain, */*",
    "Origin": "https://app.example.com",
    "Sec-Fetch-Site": "same-site",
    "Sec-Fetch-Mode": "cors",
    "Sec-Fetch-Dest": "empty",
    "Referer": "https://app.example.com/signup?email=ada%40example.com"
               "&next=https%3A%2F%2Fapp.example.com%2Fwelcome&step=2",
    "Accept-Encoding": "gzip, deflate, br, zstd",
    "Accept-Language": "en-US,en;q=0.9,de;q=0.8",
    "Cookie": "_ga=GA1.1.1234567890.1700000000; _gid=GA1.1.987654321.1700000000; "
              "csrftoken=Xq3vT9pL2mN8rK4sW6yZ1aB5cD7eF0gH; "
              "session=8c1f0e2d9b7a4c3e5f6a7b8c9d0e1f2a; theme=dark",
}
GET_BODY = json.dumps({"id": 12345, "name": "widget", "tags": ["a", "b"], "ok": True},
                      separators=(",", ":")).encode()
GET_BODY = GET_BODY + b" " * (62 - len(GET_BODY))  # exactly 62 bytes of JSON
POST_BODY = json.dumps({"items": [{"sku": f"SKU-{n:05d}", "qty": n % 7, "note": "x" * 20}
                                  for n in range(40)]}).encode()[:2048]
POST_BODY = POST_BODY[:POST_BODY.rfind(b"}") + 1] + b"]}"
POST_BODY = POST_BODY + b" " * (2048 - len(POST_BODY))
POST_ANSWER = json.dumps([{"id": n, "sku": f"SKU-{n:05d}", "price": n * 1.25,
                           "description": "lorem ipsum dolor sit amet " * 2}
                          for n in range(830)]).encode()


def get_app(environ: dict, start_response: Callable) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(GET_BODY)))])
    return [GET_BODY]


def post_app(environ: dict, start_response: Callable) -> Iterable[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    json.loads(environ["wsgi.input"].read(length))
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(POST_ANSWER)))])
    return [POST_ANSWER]


def grouping(request: Any) -> dict:
    """A typical grouping function: the caller is the bearer token."""
    auth = request.headers.get("Authorization", "")
    return {"api_key": auth[7:], "label": "Bench User", "email": "bench@example.com"}


def environ_for(method: str, body: bytes = b"",
                headers: Optional[dict[str, str]] = None) -> dict:
    environ = {
        "REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": "/v1/widgets/12345",
        "QUERY_STRING": "expand=owner&limit=10", "SERVER_NAME": "api.example.com",
        "SERVER_PORT": "443", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.12",
        "wsgi.version": (1, 0), "wsgi.url_scheme": "https", "wsgi.errors": sys.stderr,
        "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
    }
    for name, value in (GET_HEADERS if headers is None else headers).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    if body:
        environ["CONTENT_TYPE"] = "application/json"
        environ["CONTENT_LENGTH"] = str(len(body))
    return environ


def wrap(app: Callable, metrics_url: str, **options: Any) -> Any:
    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    if os.environ.get("BENCH_BUFFER_LENGTH"):  # --buffer-length, else the default (10)
        options.setdefault("buffer_length", int(os.environ["BENCH_BUFFER_LENGTH"]))
    if os.environ.get("BENCH_DENYLIST"):  # --denylist (bench.py, instructions.py): a,b,...
        options.setdefault("denylist", os.environ["BENCH_DENYLIST"].split(","))

    config = MetricsApiConfig(api_key=API_KEY, grouping_function=grouping,
                              metrics_api=metrics_url,
                              base_log_url="https://docs.example.com", **options)
    return MetricsMiddleware(app, config)
