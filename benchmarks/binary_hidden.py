"""How many random binary bodies the lists hide whole (binary1): out of ``--count``
random bodies at each size, for image/png (a PNG signature, then random bytes),
application/octet-stream (random bytes) and application/pdf (``%PDF-1.7`` then random
bytes), request and response alike, with a denylist, with an allowlist and with no
list. Prints one JSON document: hidden whole per case, out of count.

.. code-block:: sh

    python benchmarks/binary_hidden.py                   # 100 bodies at 4, 64, 256 KiB
    python benchmarks/binary_hidden.py --count 20 --sizes 65536
"""

from __future__ import annotations

import argparse
import json
import random
from typing import Any, Optional

from readme_metrics.exchange import Exchange, Group
from readme_metrics.har.build import build_log
from readme_metrics.redaction import Redactor

_STARTS = {
    "image/png": b"\x89PNG\r\n\x1a\n",
    "application/octet-stream": b"",
    "application/pdf": b"%PDF-1.7\n",
}
_LISTS: dict[str, Optional[Redactor]] = {
    "denylist": Redactor(["password"]),
    "none": None,
    "allowlist": Redactor(allowlist=["id"]),
    # A name JSON may write with a short escape (``\/``): any backslash could hide it.
    "denylist escapable": Redactor(["password", "client/secret"]),
}


def _hidden(body: bytes, kind: str, redactor: Optional[Redactor]) -> tuple[bool, bool]:
    """(request hidden whole, response hidden whole) for ``body`` sent both ways."""
    headers = [("Host", "api.example.com"), ("Content-Type", kind),
               ("Content-Length", str(len(body)))]
    exchange = Exchange(
        id="0b5c6f5e-4a7e-4c1e-9a43-2f4e8f6b9d21", started=1795257103.0, method="POST",
        url="http://api.example.com/up", http_version="HTTP/1.1", request_headers=headers,
        client_ip="127.0.0.1", group=Group("", None, None), status=200, status_text="OK",
        response_headers=[("Content-Type", kind)], response_body=body,
        response_body_size=len(body), request_body=body, request_body_size=len(body),
        wait=0.0, duration=0.0)
    entry = build_log(exchange, redactor=redactor, max_body_bytes=1 << 20)[
        "request"]["log"]["entries"][0]
    post: dict[str, Any] = entry["request"]["postData"]
    content: dict[str, Any] = entry["response"]["content"]
    return (post.get("comment") != "base64", content.get("encoding") != "base64")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--sizes", default="4096,65536,262144")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    out: dict[str, Any] = {}
    for size in map(int, args.sizes.split(",")):
        for kind, start in _STARTS.items():
            draw = random.Random(f"{args.seed}-{size}-{kind}")
            bodies = [start + draw.randbytes(size - len(start)) for _ in range(args.count)]
            for name, redactor in _LISTS.items():
                requests = responses = 0
                for body in bodies:
                    request, response = _hidden(body, kind, redactor)
                    requests += request
                    responses += response
                out[f"{size} {kind} {name}"] = {"request": requests, "response": responses}
    print(json.dumps({"count": args.count, "hidden_whole": out}, indent=1))


if __name__ == "__main__":
    main()
