"""Differential for the log worker's CPU work (issue 11): the same logs byte for byte
before and after a change. Run it on two trees and compare the last line:

.. code-block:: sh

    PYTHONPATH=/tmp/old python benchmarks/differential.py 7 6000 /tmp/old.txt
    PYTHONPATH=.        python benchmarks/differential.py 7 6000 /tmp/new.txt
    cmp /tmp/old.txt /tmp/new.txt   # per-log digests: the first that differs

(and once more with a Python without orjson). Two parts, one seed:

- built logs: generated exchanges aimed at the caller's key in base64 (every alignment,
  both alphabets, padded or not, percent-encoded, cut in half), credential pairs and
  credential headers in JSON, forms, multipart and text bodies, in headers, cookies,
  URLs and the status text; no lists, a denylist or an allowlist; max_body_bytes 40 or
  100,000: each log's encodings (stdlib, and orjson where installed) hashed (cpu27);
- captured responses: a WSGI app through the real middleware (``pipeline.submit``
  taking the queued records) answering with Content-Length headers declared in every
  way (none, exact, longer or shorter than the body, twice, not a number, in capitals,
  other 14-character names, bytes) and bodies of one or more chunks: each record's
  Exchange (``Pending.to_exchange``), the times left out, hashed (cpu28).

Prints ``seed N logs N encoder E masked-in N sha256 H`` then ``records N sha256 H``.
"""
# ruff: noqa
import base64, hashlib, json, random, sys, urllib.parse
from readme_metrics.exchange import Exchange, Group
from readme_metrics.har import build_log
from readme_metrics.har.redaction import Redactor
from readme_metrics.delivery import encode

seed, count, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = random.Random(seed)
KEYS = ["sk_live_4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c", "rdme_key_1234567890abcdef", "k3y",
        "12345678", "1000", "12345678901234567890", "a b c d e f g h", "clé-secrète-0123456789",
        "k\\y_0123456789", "key+with/slash==", "7", "abcdefgh", "ÿÿÿÿÿÿÿÿÿ", "x" * 130,
        "tok-\udcff-0123456789", "Basic dXNlcjpwYXNz", "%41%42%43-key-0000", "/v1/widgets"]
NAMES = ["Authorization", "X-Api-Key", "api_key", "X-Echo", "Referer", "Location", "Cookie",
         "Set-Cookie", "X-Forwarded-Uri", "Proxy-Authorization", "X-Token", "Accept",
         "User-Agent", "x-auth-token", "Content-Type", "X-Secret", "Link", "Origin"]

def b64(data, urlsafe, pad):
    s = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(data).decode()
    return s if pad else s.rstrip("=")

def key_bytes(key):
    return key.encode("utf-8", "surrogateescape")

def carrier(key):
    """A string that may carry the key: as is, base64 in some shape, or unrelated."""
    kind = rng.randrange(12)
    pre = rng.choice(["", "user:", "a", "ab", "abc", "x:y:", "\u00e9:"]).encode()
    post = rng.choice([b"", b"!", b"xy", b"\x00\xff"])
    data = pre + key_bytes(key) + post
    enc = b64(data, rng.random() < 0.4, rng.random() < 0.5)
    if kind == 0: return key
    if kind == 1: return "Basic " + enc
    if kind == 2: return enc
    if kind == 3: return "pre " + enc + " post"
    if kind == 4: return urllib.parse.quote(enc, safe="")
    if kind == 5: return enc[:len(enc) // 2]
    if kind == 6: return "Bearer " + key
    if kind == 7: return rng.choice(["plain", "gzip, br", "application/json", "Mozilla/5.0 (X11) bench/1.0", "a" * 60, "sha512-abc?1234"])
    if kind == 8: return f"https://h.example/p/{enc}?t={enc}&k=v"
    if kind == 9: return "\n".join([enc, "x"]) if rng.random() < 0.2 else enc + "==" 
    if kind == 10: return "".join(rng.choice("AZaz09+/-_=") for _ in range(rng.randrange(80)))
    return b64(rng.choice([b"user:other", b"nothing", key_bytes(key)[:3]]), False, True)

def body_for(key, side):
    kind = rng.randrange(9)
    val = carrier(key)
    if kind == 0:
        return "application/json", json.dumps({"headers": [{"name": rng.choice(NAMES), "value": val}, {"name": "Accept", "value": "x"}]}, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")
    if kind == 1:
        return "application/json", json.dumps({"headers": {rng.choice(NAMES): val, "Host": "h"}, "v": 1}).encode()
    if kind == 2:
        return "application/json", json.dumps([[rng.choice(NAMES), val], ["a", "b"]]).encode()
    if kind == 3:
        return "application/x-www-form-urlencoded", urllib.parse.urlencode({"headers[0][name]": rng.choice(NAMES), "headers[0][value]": val, "q": carrier(key)}, errors="surrogateescape").encode()
    if kind == 4:
        return "text/plain", (val + " and " + carrier(key)).encode("utf-8", "surrogateescape")
    if kind == 5:
        raw = json.dumps({"Name": rng.choice(NAMES), "Value": val, "extra": carrier(key)}).encode()
        return "application/json", raw[: rng.randrange(len(raw) + 1)]  # maybe cut
    if kind == 6:
        return "application/json", json.dumps({"id": 12345, "name": "widget", "tags": ["a", "b"], "ok": True}).encode()
    if kind == 7:
        b = b"--B\r\nContent-Disposition: form-data; name=\"authorization\"\r\n\r\n" + val.encode("utf-8", "surrogateescape") + b"\r\n--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\r\n" + carrier(key).encode("utf-8", "surrogateescape") + b"\r\n--B--\r\n"
        return "multipart/form-data; boundary=B", b
    return None, b""

PADS = ["lorem ipsum dolor sit amet ", "abcdefghijklmnopqrstuvwxyz0123456789+/=",
        "ABCDEFGHIJKLMNOPQRSTUVWYZ", "0123456789", "bcdfgklmnpqrstuvwxyz{}[]:,\" ",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"]


def exchange(i):
    key = rng.choice(KEYS)
    headers = [("Host", "api.example.com")]
    for _ in range(rng.randrange(8)):
        headers.append((rng.choice(NAMES), carrier(key)))
    if rng.random() < 0.5:
        headers.append(("Cookie", "; ".join(f"c{j}={carrier(key)}" for j in range(rng.randrange(1, 4)))
                        # a cookie named by the key (cpu29: request_cookies' gate)
                        + (f"; {carrier(key)}=v" if rng.random() < 0.3 else "")))
    req_type, req_body = body_for(key, "req") if rng.random() < 0.6 else (None, b"")
    if req_type: headers.append(("Content-Type", req_type))
    res_type, res_body = body_for(key, "res")
    if rng.random() < 0.3:  # past PROBED_TEXT: the probes' branch (cpu28)
        pad = "".join(rng.choice(rng.choice(PADS)) for _ in range(rng.randrange(1000, 3000)))
        cut = rng.randrange(len(pad) + 1)
        res_body = res_body + (pad[:cut] + (carrier(key) if rng.random() < 0.5 else "") + pad[cut:]).encode(
            "utf-8", "surrogateescape")
    res_headers = [("Content-Type", res_type or "application/octet-stream")]
    for _ in range(rng.randrange(4)):
        res_headers.append((rng.choice(["Location", "Set-Cookie", "X-Echo", "Link", "Content-Location"]),
                            carrier(key) if rng.random() < 0.7 else f"s={carrier(key)}; Path=/; HttpOnly"))
    path = rng.choice(["/v1/widgets/12345", f"/p/{urllib.parse.quote(carrier(key), safe='', errors='surrogateescape')}", "/"])
    query = rng.choice(["", "expand=owner&limit=10", f"t={urllib.parse.quote(carrier(key), safe='', errors='surrogateescape')}", f"k={urllib.parse.quote(key, safe='', errors='surrogateescape')}"])
    url = f"https://api.example.com{path}" + (f"?{query}" if query else "")
    if rng.random() < 0.2:  # a URL header with a userinfo, or an "@" elsewhere (cpu29)
        headers.append((rng.choice(["Referer", "Origin", "Location"]), rng.choice([
            f"https://user:{carrier(key)}@h.example/p", "https://h.example/@me", "mailto:a@b"])))
    req_size = rng.choice([len(req_body)] * 4 + [-1, -2, len(req_body) + 5, max(len(req_body) - 1, 0)])
    res_size = rng.choice([len(res_body)] * 4 + [-1, -2, len(res_body) + 5, max(len(res_body) - 1, 0)])
    client_ip = rng.choice(["10.0.0.1", "203.0.113.7", key, f"1.2.3.4, {key}", carrier(key), ""])
    return Exchange(id=f"00000000-0000-4000-8000-{i:012d}", started=1795257103.123456, method=rng.choice(["GET", "POST", "PUT"]),
                    url=url, http_version="HTTP/1.1", request_headers=headers, client_ip=client_ip,
                    group=Group(key, "Owl", "owl@example.com"), status=rng.choice([200, 302, 401]),
                    status_text=rng.choice(["OK", "Found", "Unauthorized " + carrier(key)]),
                    response_headers=res_headers, response_body=res_body, response_body_size=res_size,
                    request_body=req_body, request_body_size=req_size, wait=0.01, duration=0.02)

LISTS = [None, None, None, Redactor(["password", "token"], None), Redactor(None, ["Host", "accept"]), Redactor(["headers"], None)]
total = hashlib.sha256()
masked = 0
f = open(out, "w")
for i in range(count):
    ex = exchange(i)
    redactor = rng.choice(LISTS)
    try:
        log = build_log(ex, redactor=redactor, max_body_bytes=rng.choice([100000, 100000, 40]))
    except Exception as e:
        d = "raised " + type(e).__name__
    else:
        parts = [encode.stdlib_dumps(log)]
        if encode.orjson is not None:
            parts.append(encode._orjson_dumps(log))
        d = hashlib.sha256(b"\0".join(parts)).hexdigest()
        masked += b"sha512-" in parts[0]
    total.update(d.encode())
    f.write(d + "\n")
print(f"seed {seed} logs {count} encoder {encode.ENCODER} masked-in {masked} sha256 {total.hexdigest()}")

# -- captured responses: Pending.to_exchange -------------------------------------------------
from readme_metrics import MetricsApiConfig, MetricsMiddleware

LENGTH_NAMES = ["Content-Length", "content-length", "CONTENT-LENGTH", "Content-length",
                "Accept-Charset", "Content-Lengthx", "X-Length-Hint!"]


def length_value(size):
    return rng.choice([str(size), str(size + rng.randrange(1, 50)), str(max(size - 1, 0)),
                       "0", "abc", "", " 12", "+5", "1_0", "\u0661\u0662", str(size) + " "])


def answer(i):
    chunks = [bytes([65 + (i + j) % 26]) * rng.randrange(0, 40) for j in range(rng.randrange(0, 4))]
    size = sum(map(len, chunks))
    headers = [("Content-Type", rng.choice(["application/json", "text/plain"]))]
    for _ in range(rng.choice([0, 1, 1, 1, 2, 3])):
        headers.insert(rng.randrange(len(headers) + 1), (rng.choice(LENGTH_NAMES), length_value(size)))
    if rng.random() < 0.1:
        headers.append(("X-Other", "v"))
    return rng.choice(["200 OK", "404 Not Found", "204 No Content"]), headers, chunks


records = []
config = MetricsApiConfig(api_key="rdme_differential_key_0000", grouping_function=lambda r: {
    "api_key": "k", "label": "L", "email": "e@example.com"}, metrics_api="http://127.0.0.1:9/",
    background_worker_mode=False)
middleware = MetricsMiddleware(lambda e, s: [], config)
middleware.pipeline.submit = lambda item, send=True: records.append(item) or True
middleware.pipeline.flush = lambda *a, **k: True
# Behind a trusted proxy (the client IP from X-Forwarded-For), the same records (cpu29).
proxied = MetricsMiddleware(lambda e, s: [], MetricsApiConfig(
    api_key="rdme_differential_key_0000", grouping_function=config.grouping_function,
    metrics_api="http://127.0.0.1:9/", background_worker_mode=False, trusted_proxies=1))
proxied.pipeline.submit = middleware.pipeline.submit
proxied.pipeline.flush = middleware.pipeline.flush
rtotal = hashlib.sha256()
for i in range(count):
    status, headers, chunks = answer(i)
    kind = rng.randrange(3)

    def app(environ, start_response, status=status, headers=headers, chunks=chunks, kind=kind):
        start_response(status, list(headers))
        if kind == 0:
            return list(chunks)
        if kind == 1:
            return iter(chunks)
        return tuple(chunks)

    wrapper = proxied if rng.random() < 0.3 else middleware
    wrapper.app = app
    environ = {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": f"/r/{i}", "QUERY_STRING": "",
               "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
               "wsgi.url_scheme": "http", "wsgi.input": __import__("io").BytesIO(b""),
               "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": False,
               "wsgi.run_once": False, "wsgi.version": (1, 0)}
    if rng.random() < 0.3:
        environ["SERVER_SOFTWARE"] = rng.choice(["gunicorn/21.2.0", "waitress", "WSGIServer/0.2"])
    # The CGI variables environ_head adds as headers, and a forwarded client (cpu29).
    for name, values in (("CONTENT_TYPE", ["", "text/plain", "application/json"]),
                         ("CONTENT_LENGTH", ["", "0", "7"]),
                         ("HTTP_X_FORWARDED_FOR", ["203.0.113.9", "a, b", ""])):
        if rng.random() < 0.4:
            environ[name] = rng.choice(values)
    try:
        result = wrapper(environ, lambda s, h, e=None: None)
        for _ in result:
            pass
        if hasattr(result, "close"):
            result.close()
    except Exception as e:
        rtotal.update(("raised " + type(e).__name__).encode())
    for item in records:
        ex = item.to_exchange()
        fields = {k: v for k, v in vars(ex).items() if k not in ("id", "started", "wait", "duration")} \
            if hasattr(ex, "__dict__") else {k: getattr(ex, k) for k in ex._fields if k not in ("id", "started", "wait", "duration")}
        d = hashlib.sha256(repr(sorted(fields.items(), key=lambda kv: kv[0])).encode("utf-8", "surrogatepass")).hexdigest()
        rtotal.update(d.encode())
        f.write("r " + d + "\n")
    records.clear()
f.close()
print(f"records {count} sha256 {rtotal.hexdigest()}")
