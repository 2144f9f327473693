"""Valid logs for the local collector's tests, made by the real HAR builder."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from readme_metrics.exchange import Exchange, Group
from readme_metrics.har import build_log


def valid_log(label: str = "alice") -> dict[str, Any]:
    """One log of SPEC section 4 (``GET http://api.example.com/items``, caller ``label``)."""
    exchange = Exchange(
        id=str(uuid.uuid4()), started=time.time(), method="GET",
        url="http://api.example.com/items", http_version="HTTP/1.1",
        request_headers=[("Host", "api.example.com")], client_ip="127.0.0.1",
        group=Group(f"key-{label}", label, None), status=200, status_text="OK",
        response_headers=[("Content-Type", "application/json")], response_body=b"[]",
        response_body_size=2, wait=0.001, duration=0.002,
    )
    return build_log(exchange)


def entry_count(har: Path) -> int:
    """How many entries the HAR file at ``har`` holds."""
    return len(json.loads(har.read_text())["log"]["entries"])
