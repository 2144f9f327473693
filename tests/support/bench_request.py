"""benchmarks/bench.py's small GET as the tests build it: its 13 request headers (a
browser's or an SDK's), the token its Authorization carries."""

from __future__ import annotations

__all__ = ["GET_HEADERS", "TOKEN"]

#: bench.py's TOKEN.
TOKEN = "sk_live_4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"

#: bench.py's GET_HEADERS, in order.
GET_HEADERS = [
    ("Host", "api.example.com"),
    ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) bench/1.0"),
    ("Accept", "application/json"),
    ("Accept-Encoding", "gzip, deflate, br"),
    ("Accept-Language", "en-US,en;q=0.9"),
    ("Authorization", f"Bearer {TOKEN}"),
    ("Cookie", "session=8c1f0e2d9b7a4c3e; theme=dark; _ga=GA1.2.1234567890.1700000000"),
    ("Connection", "keep-alive"),
    ("Cache-Control", "no-cache"),
    ("Referer", "https://docs.example.com/reference/get-widgets"),
    ("X-Request-Id", "0f8e2a3c-5b6d-4e7f-8a9b-0c1d2e3f4a5b"),
    ("X-Api-Version", "2024-06-01"),
    ("X-Forwarded-For", "203.0.113.7"),
]
