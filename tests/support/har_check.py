"""The HAR log checker: one log object exactly as SPEC section 4 describes it."""

from __future__ import annotations

import base64
import json
import math
import platform
import re
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

_HAR_SCHEMA_PATH = Path(__file__).resolve().parent.parent / "har-1.2.schema.json"
_har_validator: Any = None

# "sha512-" + base64 of the 64-byte digest (88 characters, "==" padded) + "?" + last 4.
_MASK_SHAPE = re.compile(r"sha512-[A-Za-z0-9+/]{86}==\?.{0,4}", re.S)
_REDACTED_SHAPE = re.compile(r"\[REDACTED( \d+)?\]")
_STARTED_SHAPE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
_MASKED_HEADERS = {"authorization", "proxy-authorization", "cookie", "set-cookie"}


def har_validator() -> Any:
    """The jsonschema validator of tests/har-1.2.schema.json (built once)."""
    global _har_validator
    if _har_validator is None:
        import jsonschema

        schema = json.loads(_HAR_SCHEMA_PATH.read_text(encoding="utf-8"))
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        _har_validator = cls(schema)
    return _har_validator


def _is_secret_shape(value: Any) -> bool:
    return isinstance(value, str) and bool(
        _MASK_SHAPE.fullmatch(value) or _REDACTED_SHAPE.fullmatch(value)
    )


def _repeats(field: str, header: str) -> bool:
    """A HAR field repeating a header agrees with it: the same value, or any when the
    header is redacted (SPEC 6's lists match headers, not the HAR's own fields)."""
    return field == header or bool(_REDACTED_SHAPE.fullmatch(header))


def assert_valid_log(log: dict) -> None:
    """Assert that ``log`` is one log object exactly as SPEC section 4 describes.

    Checks the HAR 1.2 document in ``log["request"]`` against the strict JSON schema
    (tests/har-1.2.schema.json), then the contract on top of HAR: ``_id`` a uuid4, the
    group id masked, the creator, the startedDateTime shape, ``time`` the sum of the
    timings, non-negative timings, ``headersSize`` -1, credentials and cookies masked
    (or redacted), mimeTypes matching Content-Type, no ``postData`` without a body.
    Extra top-level keys are allowed only when ``_``-prefixed (as HAR custom fields).
    """
    from readme_metrics.version import __version__

    assert isinstance(log, dict), f"log is not an object: {type(log).__name__}"
    required = {"_id", "group", "clientIPAddress", "development", "request"}
    missing = required - set(log)
    assert not missing, f"log misses {sorted(missing)}"
    extra = [key for key in log if key not in required and not str(key).startswith("_")]
    assert not extra, f"log has unexpected keys {extra}"

    log_id = log["_id"]
    assert isinstance(log_id, str), "_id is not a string"
    parsed_id = uuid.UUID(log_id)
    assert parsed_id.version == 4 and str(parsed_id) == log_id, f"_id {log_id!r} is no uuid4"

    group = log["group"]
    assert isinstance(group, dict), "group is not an object"
    assert set(group) <= {"id", "label", "email"} and "id" in group, f"group keys {set(group)}"
    assert isinstance(group["id"], str) and _MASK_SHAPE.fullmatch(group["id"]), (
        f"group id is not masked: {group['id']!r}"
    )
    for key in ("label", "email"):
        if key in group:
            assert isinstance(group[key], str), f"group {key} is not a string"
    assert isinstance(log["clientIPAddress"], str), "clientIPAddress is not a string"
    assert isinstance(log["development"], bool), "development is not a boolean"

    har = log["request"]
    assert isinstance(har, dict) and set(har) == {"log"}, "request is not {'log': ...}"
    errors = sorted(har_validator().iter_errors(har), key=lambda e: list(e.absolute_path))
    assert not errors, "invalid HAR 1.2: " + "; ".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]
    )
    har_log = har["log"]
    assert har_log["version"] == "1.2"
    creator_comment = (
        f"{platform.machine()}-{platform.system()}{platform.release()}"
        f"/{platform.python_version()}"
    )
    assert har_log["creator"] == {
        "name": "readme-metrics (python)", "version": __version__, "comment": creator_comment,
    }, f"creator {har_log['creator']!r}"
    assert len(har_log["entries"]) == 1, "a log carries exactly one entry"
    entry = har_log["entries"][0]
    request, response = entry["request"], entry["response"]

    assert _STARTED_SHAPE.fullmatch(entry["startedDateTime"]), (
        f"startedDateTime {entry['startedDateTime']!r} is not YYYY-MM-DDTHH:MM:SS.mmmZ"
    )
    # A real moment, not only its shape (raises ValueError for month 13, 25 o'clock).
    datetime.strptime(entry["startedDateTime"], "%Y-%m-%dT%H:%M:%S.%fZ")
    timings = entry["timings"]
    for name in ("send", "wait", "receive"):
        assert timings[name] >= 0, f"timings.{name} is negative"
    total = timings["send"] + timings["wait"] + timings["receive"]
    assert math.isclose(entry["time"], total, rel_tol=0, abs_tol=1e-6), (
        f"time {entry['time']} != send+wait+receive {total}"
    )
    assert entry["cache"] == {}, "cache is not {}"
    assert entry.get("pageref") == request["url"], "pageref is not the request url"

    parts = urlsplit(request["url"])
    assert parts.scheme in ("http", "https") and parts.netloc, f"bad url {request['url']!r}"
    assert not any(c.isspace() for c in request["url"]), f"url has blanks {request['url']!r}"
    query_pairs = [chunk for chunk in parts.query.split("&") if chunk] if parts.query else []
    assert len(request["queryString"]) == len(query_pairs), (
        f"queryString has {len(request['queryString'])} pairs, url query {len(query_pairs)}"
    )
    for part in (request, response):
        assert part["headersSize"] == -1, "headersSize is not -1"
        assert isinstance(part["bodySize"], int) and part["bodySize"] >= -1
        for header in part["headers"]:
            if header["name"].lower().replace("_", "-") in _MASKED_HEADERS:
                assert _is_secret_shape(header["value"]), (
                    f"{header['name']} header is not masked: {header['value']!r}"
                )
        for cookie in part["cookies"]:
            assert _is_secret_shape(cookie["value"]), (
                f"cookie {cookie['name']!r} is not masked: {cookie['value']!r}"
            )

    post = request.get("postData")
    if post is not None:
        # (A body declared and none of it received is there, incomplete: bodySize is the
        # bytes received, SPEC 4.)
        assert request["bodySize"] != 0 or "incomplete:" in post.get("comment", ""), (
            "postData without a body")
        content_type = next(
            (h["value"] for h in request["headers"] if h["name"].lower() == "content-type"),
            None,
        )
        is_base64 = post.get("comment", "").startswith("base64")
        if "params" not in post:
            expected = content_type or "text/plain"
            assert _repeats(post["mimeType"], expected), (
                f"postData.mimeType {post['mimeType']!r} is not Content-Type {content_type!r}"
            )
        if is_base64:
            base64.b64decode(post["text"], validate=True)
    else:
        assert request["bodySize"] in (0, -1), "a request with a body has no postData"

    content = response["content"]
    content_type = next(
        (h["value"] for h in response["headers"] if h["name"].lower() == "content-type"), ""
    )
    assert _repeats(content["mimeType"], content_type), (
        f"content.mimeType {content['mimeType']!r} is not Content-Type {content_type!r}"
    )
    if "encoding" in content:
        assert content["encoding"] == "base64", f"content.encoding {content['encoding']!r}"
        base64.b64decode(content.get("text", ""), validate=True)
    location = next(
        (h["value"] for h in response["headers"] if h["name"].lower() == "location"), ""
    )
    assert _repeats(response["redirectURL"], location), "redirectURL is not the Location header"
    assert 100 <= response["status"] <= 999, f"status {response['status']}"
