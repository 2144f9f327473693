"""A fixed corpus of varied exchanges and the logs they give, to pin build_log's output.

``cases()`` makes the same few hundred cases on every run (a seeded ``random.Random``):
requests captured by the real WSGI middleware under several configurations (redaction,
body limit, trusted proxies, development mode), turned into logs the way the worker does
(``MetricsPipeline.build_log``), and plain :class:`Exchange` records with odd fields
(impossible times and statuses, unknown or declared sizes, omitted and incomplete
bodies) given to ``build_log`` directly. Their bodies and headers mix JSON, forms,
multipart, compressed, UTF-16, latin-1 and binary data, credentials, cookies and the
caller's key in every place it can hide.

``tests/golden_logs.json`` holds each case's log as compact JSON (key order included,
non-ASCII escaped so that lone surrogates survive), one per line. It was written from
the code before the worker's CPU work of issue 11 and must not change when only the
speed of the code does. After a deliberate change of what is sent, write it again and
review its diff, which is the change in the logs:

.. code-block:: sh

    python -m tests.support.golden_logs --write
"""

from __future__ import annotations

import argparse
import calendar
import json
import math
import random
import re
import string
import time
from collections.abc import Iterator
from enum import IntEnum
from pathlib import Path
from typing import Any, Optional

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.exchange import INVALID_STATUS, Exchange, Group
from readme_metrics.har import CREATOR, build_log, coding_engines
from readme_metrics.har.cookies import MAX_EPOCH
from readme_metrics.har.redaction import Redactor
from tests.support.minimal_server import call, environ_for

GOLDEN = Path(__file__).resolve().parents[1] / "golden_logs.json"
SEED = 20261201
WSGI_CASES = 260
EXCHANGE_CASES = 160

LONG_KEY = "rdme_live_7f3a9c2b5d8e1f40"
SHORT_KEY = "42"
ODD_KEY = 'k"ey/with spaces&=é+%'
KEYS = [LONG_KEY, LONG_KEY, SHORT_KEY, ODD_KEY, "", "free"]

# Compressed bodies as bytes, not compressed here: another zlib could compress otherwise,
# and the compressed size is part of the log.
GZIP_JSON = (
    b'\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03\xabV*-N-R\xb2\xaaV*\xc9\xcfN\xcdS\xb2R*1'
    b'\xc86\xceS\xd2Q\xcaK\xccM\x05r\x1dS\x12\x95ju\x94\n\x12\x8b\x8b\xcb\xf3\x8bR\x80"'
    b'\x05\xe5@\xd9\xcc\x92\xd4\xdcb%\xabhC\x1d#\x1d\xe3\xd8Z\x00\x80\xe4G\xdeG\x00\x00\x00'
)
ZLIB_FORM = b"x\x9c\xcbK\xccM\xb5uLIT+H,..\xcf/J\xb1-(W\xcbL\xb15\x07\x00xc\t\t"

# Middleware configurations the WSGI cases are captured under.
CONFIGS: list[dict[str, Any]] = [
    {},
    {"denylist": ["password", "x-secret", "sid", "user.token", "token"]},
    {"allowlist": ["id", "name", "accept", "items", "host"]},
    {"max_body_bytes": 48, "development_mode": True},
    {"trusted_proxies": 1, "denylist": ["Token", "items.note"]},
    {"denylist": ["password", "cookie"], "allowlist": ["password", "name", "user"]},
    {"max_body_bytes": 0},
]


class Status(IntEnum):
    CREATED = 201


def _text(rng: random.Random, alphabet: str, low: int = 0, high: int = 12) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(low, high)))


_LATIN1 = string.ascii_letters + string.digits + " -_.;=,é\xff\xa0ü"
# UTF-8 bytes read as latin-1, as a WSGI server hands them over.
_UTF8_AS_LATIN1 = "h\u00c3\u00a9llo \u00e2\u0082\u00ac"


def _json_body(rng: random.Random, key: str) -> bytes:
    document: Any = {
        "id": rng.randint(-5, 10**20),
        "name": rng.choice(["Ada", "Zoë", "\u2028", "a\"b\\c", ""]),
        "password": rng.choice(["hunter2", 12, None, ["x"], {"deep": "y"}]),
        "user": {"token": rng.choice(["t0k3n", key]), "name": "n",
                 "Password": rng.random()},
        "items": [{"note": _text(rng, _LATIN1), "qty": rng.randint(0, 9)}
                  for _ in range(rng.randint(0, 3))],
    }
    if rng.random() < 0.3:
        document["api_key"] = key
    if rng.random() < 0.2:
        document = [document, rng.choice([1.5, 1e300, -0.0, "x"])]
    text = json.dumps(document, ensure_ascii=rng.random() < 0.5,
                      separators=rng.choice([(",", ":"), (", ", ": ")]))
    if rng.random() < 0.1:
        text = text.replace('"password"', '"pass\\u0077ord"')
    return text.encode("utf-8")


def _form_body(rng: random.Random, key: str) -> bytes:
    pairs = []
    for _ in range(rng.randint(0, 5)):
        name = rng.choice(["name", "password", "id", "a[]", "user[token]", "x+y", "%C3%A9"])
        value = rng.choice(["Ada", "hunter%202", key, "%FF", "a+b", "", "%zz"])
        pairs.append(f"{name}={value}" if rng.random() < 0.9 else name)
    return "&".join(pairs).encode("latin-1", "replace")


def _multipart_body(rng: random.Random, key: str) -> bytes:
    parts = []
    for _ in range(rng.randint(1, 3)):
        name = rng.choice(["title", "password", "avatar", "id", "é"])
        head = f'Content-Disposition: form-data; name="{name}"'
        if rng.random() < 0.4:
            head += '; filename="f.bin"\r\nContent-Type: application/octet-stream'
        elif rng.random() < 0.3:
            head += "\r\nContent-Type: text/plain; charset=" + rng.choice(
                ["utf-8", "latin-1", "utf-7", "bogus"])
        value = rng.choice([b"h\xc3\xa9llo", b"\x89PNG\r\n\x00\xff", key.encode(), b"+2AA-"])
        parts.append(b"--XyZ\r\n" + head.encode("utf-8") + b"\r\n\r\n" + value + b"\r\n")
    body = b"".join(parts) + b"--XyZ--\r\n"
    return body[:rng.randint(10, len(body))] if rng.random() < 0.15 else body


# (Content-Type or None, Content-Encoding or None, body maker)
_BODY_KINDS: list[tuple[Optional[str], Optional[str], Any]] = [
    ("application/json", None, _json_body),
    ("application/json; charset=utf-8", None, _json_body),
    ("application/problem+json", None, _json_body),
    (None, None, _json_body),
    ("application/x-www-form-urlencoded", None, _form_body),
    ("multipart/form-data; boundary=XyZ", None, _multipart_body),
    ("multipart/form-data", None, _multipart_body),
    ("application/octet-stream", None,
     lambda rng, key: bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))),
    ("image/png", None, lambda rng, key: b"\x89PNG\r\n\x1a\n" + key.encode()),
    ("text/plain; charset=utf-16", None,
     lambda rng, key: ("\ufeffpassword=" + key).encode("utf-16-le")),
    ("text/plain", None, lambda rng, key: ("caf\u00e9 " + key).encode("latin-1", "replace")),
    ("text/html; charset=bogus", None, lambda rng, key: b"<p>\xe9\xff</p>"),
    ("text/plain; charset=utf-7", None, lambda rng, key: b"a +2AA- b"),
    ("application/json", "gzip", lambda rng, key: GZIP_JSON),
    ("application/x-www-form-urlencoded", "deflate", lambda rng, key: ZLIB_FORM),
    ("application/json", "br", lambda rng, key: b"\x0b\x02\x80{}\x03"),
    ("application/json", "gzip", lambda rng, key: GZIP_JSON[:30]),
    ("text/xml", None, lambda rng, key: b'<?xml version="1.0"?><a password="x"/>'),
]

_PATHS = ["/", "/v1/widgets/12345", "/caf\u00e9/x", "/a b/%2F", "/p;q=1", "//double",
          "/\u00c3\u00a9t\u00c3\u00a9"]
_QUERY_PIECES = ["a=1", "b=", "c", "password=hunter2", "token=abc", "x=%FF", "y=%C3%A9",
                 "z=a+b", "é=ü", "k=" + LONG_KEY, "k2=" + SHORT_KEY, "", "%zz=1", "id=7",
                 "api_key=rdme%5Flive%5F7f3a9c2b5d8e1f40"]


def _request_headers(rng: random.Random, key: str) -> dict[str, str]:
    pool: list[tuple[str, Any]] = [
        ("HTTP_ACCEPT", lambda: rng.choice(["*/*", "application/json", "text/html;q=0.9"])),
        ("HTTP_USER_AGENT", lambda: "bench/1.0 " + _text(rng, _LATIN1)),
        ("HTTP_AUTHORIZATION", lambda: rng.choice(
            [f"Bearer {key}", "Basic dXNlcjpwYXNz", key, "Token x"])),
        ("HTTP_X_API_KEY", lambda: rng.choice([key, key, "other-key-0000"])),
        ("HTTP_COOKIE", lambda: rng.choice(
            ["sid=abc123; theme=dark", f"session={key}", "a=1;b", " ; =x;sid=", "theme=l"])),
        ("HTTP_X_FORWARDED_FOR", lambda: rng.choice(["198.51.100.7", "1.1.1.1, 2.2.2.2", ""])),
        ("HTTP_X_FORWARDED_PROTO", lambda: rng.choice(["https", "HTTP", "ftp", "https, http"])),
        ("HTTP_X_FORWARDED_HOST", lambda: rng.choice(["proxy.example.com", "bad host", "[::1"])),
        ("HTTP_REFERER", lambda: rng.choice(
            [f"https://app.example.com/?k={key}", "/relative?x=1", "not a url"])),
        ("HTTP_X_SECRET", lambda: "s3cr3t"),
        ("HTTP_X_CUSTOM", lambda: rng.choice(
            [_UTF8_AS_LATIN1, "\u00e9\u00ff", "plain", key, f"pre-{key}-post"])),
        ("HTTP_PROXY_AUTHORIZATION", lambda: "Basic Zm9vOmJhcg=="),
        ("HTTP_ACCEPT_ENCODING", lambda: "gzip, br"),
    ]
    headers = {}
    for name, value in rng.sample(pool, rng.randint(0, len(pool))):
        headers[name] = value()
    return headers


_STATUSES = ["200 OK", "201 Created", "204 No Content", "302 Found", "404 Not Found",
             "418 I'm a teapot", "500 Internal Server Error", "599 Custom Reason", "200 ",
             "200", "abc", "2000 OK"]


def _response_headers(rng: random.Random, key: str) -> list[tuple[str, str]]:
    pool: list[tuple[str, Any]] = [
        ("Set-Cookie", lambda: rng.choice([
            "sid=abc; Path=/; HttpOnly; Secure",
            "theme=dark; Domain=.example.com; Expires=Wed, 21 Oct 2026 07:28:00 GMT",
            "bad; Expires=not a date", f"k={key}; Max-Age=10", "=; Path=/"])),
        ("Set-Cookie", lambda: "second=2; expires=Thu, 01 Jan 1970 00:00:00 GMT"),
        ("Location", lambda: rng.choice(["/next", f"https://x.example.com/?k={key}", ""])),
        ("X-Custom", lambda: rng.choice([_UTF8_AS_LATIN1, "plain", key])),
        ("Cache-Control", lambda: "no-store"),
        ("WWW-Authenticate", lambda: "Bearer realm=x"),
        ("x-secret", lambda: "hidden"),
    ]
    return [(name, value()) for name, value in rng.sample(pool, rng.randint(0, len(pool)))]


def _grouping(request: Any) -> Optional[dict[str, Any]]:
    key = request.headers.get("X-Group-Key")
    if key is None:
        return None
    group: dict[str, Any] = {"api_key": key}
    label = request.headers.get("X-Group-Label")
    if label is not None:
        group["label"] = label
        group["email"] = "owl@example.com"
    return group


def _middlewares() -> list[MetricsMiddleware]:
    return [MetricsMiddleware(lambda environ, start_response: [], MetricsApiConfig(
        api_key="rdme_golden_0000", grouping_function=_grouping,
        metrics_api="http://127.0.0.1:9", base_log_url="https://docs.example.com",
        **config)) for config in CONFIGS]


def _log_id(rng: random.Random) -> str:
    h = "%032x" % (rng.getrandbits(128) & ~(0xF << 76) & ~(0x3 << 62) | (0x4 << 76)
                   | (0x2 << 62))
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _wsgi_case(rng: random.Random, middleware: MetricsMiddleware) -> Optional[dict[str, Any]]:
    key = rng.choice([key for key in KEYS if key])  # an empty one is not logged
    method = rng.choice(["GET", "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
    content_type, coding, make_body = rng.choice(_BODY_KINDS)
    body = make_body(rng, key) if method in ("POST", "PUT", "PATCH") else b""
    query = "&".join(rng.sample(_QUERY_PIECES, rng.randint(0, 4)))
    extra = _request_headers(rng, key)
    extra["HTTP_X_GROUP_KEY"] = key
    if rng.random() < 0.6:
        extra["HTTP_X_GROUP_LABEL"] = rng.choice(["Owl", "Zoë", "a\u2028b"])
    if coding is not None and body:
        extra["HTTP_CONTENT_ENCODING"] = coding
    if rng.random() < 0.3:
        raw = rng.choice(_PATHS) + ("?" + query if query else "")
        extra["RAW_URI"] = raw + rng.choice(["", "", "#frag"])
    if rng.random() < 0.2:
        extra["HTTP_HOST"] = rng.choice(["api.example.com:8443", "ex ample.com", "[::1]:80",
                                         "h\u00e9.example"])
    if rng.random() < 0.15:
        extra["wsgi.url_scheme"] = "https"
    environ = environ_for(method, rng.choice(_PATHS), body,
                          content_type if body or rng.random() < 0.2 else None, query,
                          rng.choice(["auto", "auto", None, "999", "abc"]), **extra)
    status = rng.choice(_STATUSES)
    response_headers = _response_headers(rng, key)
    kind_type, kind_coding, make_answer = rng.choice(_BODY_KINDS)
    answer = b"" if status.startswith(("204", "304")) else make_answer(rng, key)
    if kind_type is not None and rng.random() < 0.9:
        response_headers.insert(rng.randint(0, len(response_headers)),
                                ("Content-Type", kind_type))
    if kind_coding is not None:
        response_headers.append(("Content-Encoding", kind_coding))
    if rng.random() < 0.5:
        response_headers.append(("Content-Length", str(len(answer))))
    cut = rng.randint(0, len(answer))
    chunks = [answer[:cut], answer[cut:]] if rng.random() < 0.3 else [answer]

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if rng.random() < 0.7:
            environ["wsgi.input"].read()
        start_response(status, list(response_headers))
        return chunks

    pipeline = middleware.pipeline
    assert pipeline is not None
    items: list[Any] = []
    pipeline.submit = items.append  # type: ignore[method-assign,assignment]
    log_id = _log_id(rng)
    pipeline.new_id = lambda: log_id  # type: ignore[method-assign]
    middleware.app = app
    call(middleware, environ)
    if not items:
        return None  # not logged (grouping returned nothing)
    item = items[0]
    wait = rng.choice([0.0, 0.0000005, 0.0123456, 1.5, 3600.25])
    # The clock readings the worker makes the times of: begun at 0, so that they are
    # exactly these.
    item.begin, item.responded = 0.0, wait
    item.finished = wait + rng.choice([0.0, 0.000001, 0.0255, 2.0])
    log = pipeline.build_log(item)
    _clock_max_age(log, wait)
    _clock_start(log)  # the wall-clock start comes from the worker's clock
    return log


def _clock_max_age(log: dict[str, Any], wait: float) -> None:
    """A cookie's Max-Age=10 counts from when the response came, the clock's start plus
    ``wait``: its expiry checked against that (to the millisecond both are cut to), then
    pinned as such."""
    entry = log["request"]["log"]["entries"][0]
    started = calendar.timegm(time.strptime(entry["startedDateTime"][:19], "%Y-%m-%dT%H:%M:%S"))
    received = started + int(entry["startedDateTime"][20:23]) / 1000 + wait
    for cookie in entry["response"]["cookies"]:
        expires = cookie.get("expires", "")
        if expires.endswith("Z") and not expires.startswith(("1970", "2026-10-21")):
            at = calendar.timegm(time.strptime(expires[:19], "%Y-%m-%dT%H:%M:%S"))
            assert abs(at + int(expires[20:23]) / 1000 - (received + 10)) < 0.002, expires
            cookie["expires"] = "(the clock + Max-Age=10)"


def _clock_start(log: dict[str, Any]) -> None:
    """A start time read from the clock: its format pinned, not its value."""
    entry = log["request"]["log"]["entries"][0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["startedDateTime"])
    entry["startedDateTime"] = "(the clock)"


_STARTS: list[Any] = [1795257103.123456, 0.0, 0.0009, 1795257103.9999999, -1.0,
                      float("nan"), float("inf"), 253402300799.9, 253402300800.0, "1.5",
                      1e20, True, 1795257103.0005]
_ODD_TIMES: list[Any] = [0.0, -1.0, 0.0105, float("nan"), float("inf"), "x", None, 1e-7,
                         2.0517, 123456.789012]
_EXCHANGE_STATUSES: list[tuple[Any, Any]] = [
    (200, "OK"), (Status.CREATED, "Created"), (True, "OK"), (99, "Low"), (1000, "High"),
    (INVALID_STATUS, "abc"), (INVALID_STATUS, ""), (404, b"Not Found"), (599, None),
    (301, "Moved"),
]


def _exchange_case(rng: random.Random) -> dict[str, Any]:
    key = rng.choice(KEYS + [LONG_KEY.upper(), "x" * 40])
    content_type, coding, make_body = rng.choice(_BODY_KINDS)
    body = make_body(rng, key)
    headers = [(name[5:].replace("_", "-").title(), value)
               for name, value in _request_headers(rng, key).items()]
    if content_type is not None:
        headers.insert(rng.randint(0, len(headers)), (rng.choice(
            ["Content-Type", "content-type", "CONTENT-TYPE"]), content_type))
    if coding is not None:
        headers.append(("Content-Encoding", coding))
    if rng.random() < 0.2:
        headers.append(("Cookie", "second=cookie; sid=2"))
    response_type, response_coding, make_answer = rng.choice(_BODY_KINDS)
    response_body = make_answer(rng, key)
    response_headers = _response_headers(rng, key)
    if response_type is not None:
        response_headers.append(("Content-Type", response_type))
    if response_coding is not None:
        response_headers.append(("content-encoding", response_coding))
    status, status_text = rng.choice(_EXCHANGE_STATUSES)
    started = rng.choice(_STARTS)
    if isinstance(started, float) and rng.random() < 0.5:
        started += rng.choice([0.001, 0.5, 0.0004])
    query = "&".join(rng.sample(_QUERY_PIECES, rng.randint(0, 5)))
    exchange = Exchange(
        id=_log_id(rng),
        started=started,
        method=rng.choice(["GET", "POST", "PUT", "PROPFIND"]),
        url=rng.choice(["http://h:1/p", "https://api.example.com/v1/x", "http://[::1]/"])
        + ("?" + query if query else "") + rng.choice(["", "", "#f"]),
        http_version=rng.choice(["HTTP/1.1", "HTTP/1.0", "HTTP/2"]),
        request_headers=headers,
        client_ip=rng.choice(["10.0.0.1", "::1", ""]),
        group=Group(key, rng.choice([None, "Owl", 7]), rng.choice([None, "a@b.c"])),  # type: ignore[arg-type]
        request_body=body,
        request_body_size=rng.choice([len(body), len(body), -1, len(body) + 100, -5, 0]),
        request_body_incomplete=rng.random() < 0.1,
        status=status,
        status_text=status_text,
        response_headers=response_headers,
        response_body=response_body,
        response_body_size=rng.choice([len(response_body), -1, len(response_body) * 3]),
        response_body_omitted=rng.random() < 0.1,
        wait=rng.choice(_ODD_TIMES),
        duration=rng.choice(_ODD_TIMES),
    )
    redactor = rng.choice([None, Redactor(), Redactor(["password", "sid", "a"]),
                           Redactor((), ["id", "name"]), Redactor(["user.token"], ["user"])])
    log = build_log(exchange, development=rng.random() < 0.3, redactor=redactor,
                    max_body_bytes=rng.choice([262144, 262144, 16, 0, 4]))
    try:
        possible = 0 <= math.floor(float(started) * 1000) // 1000 <= MAX_EPOCH
    except (TypeError, ValueError, OverflowError):
        possible = False
    if not possible:  # logged with the time it was built at
        _clock_start(log)
    return log


def cases() -> Iterator[dict[str, Any]]:
    """The corpus's logs, in order (the creator, which names this machine, left out).
    Its br bodies are read as where no brotli is installed (unreadable: redacted whole,
    "install brotli ..."), whatever is installed here, so that the logs are the same on
    every machine (hostile21)."""
    rng = random.Random(SEED)
    middlewares = _middlewares()
    finders = dict(coding_engines._FINDERS)
    coding_engines._FINDERS.update(dict.fromkeys(finders, lambda: None))
    coding_engines.engine.cache_clear()
    try:
        made = 0
        while made < WSGI_CASES:
            log = _wsgi_case(rng, rng.choice(middlewares))
            if log is not None:
                made += 1
                yield _without_creator(log)
        for _ in range(EXCHANGE_CASES):
            yield _without_creator(_exchange_case(rng))
    finally:
        for middleware in middlewares:
            middleware.close()
        coding_engines._FINDERS.update(finders)
        coding_engines.engine.cache_clear()


def _without_creator(log: dict[str, Any]) -> dict[str, Any]:
    har = log["request"]["log"]
    assert har["creator"] == CREATOR
    har["creator"] = "(CREATOR)"
    return log


def encoded(log: dict[str, Any]) -> str:
    """One log as a line of the golden file: compact, in key order, non-ASCII escaped."""
    return json.dumps(log, separators=(",", ":"), allow_nan=True)


def read_golden() -> list[str]:
    lines = GOLDEN.read_text(encoding="ascii").splitlines()
    assert lines[0] == "[" and lines[-1] == "]"
    return [line.rstrip(",") for line in lines[1:-1]]


def write_golden() -> int:
    lines = [encoded(log) for log in cases()]
    with open(GOLDEN, "w", encoding="ascii", newline="\n") as out:
        out.write("[\n" + ",\n".join(lines) + "\n]\n")
    return len(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="write tests/golden_logs.json")
    args = parser.parse_args()
    if args.write:
        print(f"{write_golden()} logs written to {GOLDEN}")


if __name__ == "__main__":
    main()
