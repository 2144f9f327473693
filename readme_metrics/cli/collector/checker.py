"""The walker that checks a log's shape and collects every problem as one line.

Used by :mod:`readme_metrics.cli.collector.har_checks` and
:mod:`readme_metrics.cli.collector.validation`: each check reports a problem with the JSON
path of the offending value and never raises, so one pass names everything that is wrong.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any, Callable, Optional

from readme_metrics.masking import is_masked

__all__ = ["HAR_DATE", "Checker", "header_value", "is_date", "kind", "secret_shape"]

HAR_DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)")


def is_date(text: str) -> bool:
    """True when ``text``, shaped as :data:`HAR_DATE` (checked by the caller), names a
    real moment: month 13, February 30th or 25 o'clock have the shape of a date only.
    A leap second (``:60``) is ISO 8601's, so it is let through."""
    try:
        datetime(int(text[0:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]),
                 int(text[14:16]), min(int(text[17:19]), 59))
    except ValueError:
        return False
    return True
_REDACTED = re.compile(r"\[REDACTED( \d+)?\]")
# HAR allows 'comment' everywhere and custom members only when '_'-prefixed.
_RECORD_KEYS = frozenset({"name", "value", "comment"})

class Checker:
    """Collects problems while walking one log; each check reports and never raises."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def obj(self, value: Any, path: str) -> Optional[dict[str, Any]]:
        if not isinstance(value, dict):
            self.add(path, f"must be an object, got {kind(value)}")
            return None
        return value

    def field(self, parent: dict[str, Any], key: str, path: str,
              check: Callable[[Any, str], Any], required: bool = True) -> Any:
        """Run ``check`` on ``parent[key]``; report a missing required member."""
        child = f"{path}.{key}" if path else key
        if key not in parent:
            if required:
                self.add(child, "missing")
            return None
        return check(parent[key], child)

    def string(self, value: Any, path: str) -> Optional[str]:
        if not isinstance(value, str):
            self.add(path, f"must be a string, got {kind(value)}")
            return None
        return value

    def boolean(self, value: Any, path: str) -> Optional[bool]:
        if not isinstance(value, bool):
            self.add(path, f"must be true or false, got {kind(value)}")
            return None
        return value

    def integer(self, value: Any, path: str, minimum: int = -1) -> Optional[int]:
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(path, f"must be an integer, got {kind(value)}")
            return None
        if value < minimum:
            self.add(path, f"must be >= {minimum}, got {value}")
            return None
        return value

    def number(self, value: Any, path: str, minimum: float = 0) -> Optional[float]:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.add(path, f"must be a number, got {kind(value)}")
            return None
        if not math.isfinite(value) or value < minimum:
            self.add(path, f"must be a finite number >= {minimum:g}, got {value!r}")
            return None
        return float(value)

    def members(self, value: dict[str, Any], path: str, allowed: frozenset[str]) -> None:
        """Only HAR members (and ``_``-prefixed custom ones); ``comment`` is a string."""
        for key in value:
            if key not in allowed and not str(key).startswith("_"):
                self.add(f"{path}.{key}", "is not a HAR 1.2 member (custom ones start with _)")
        if "comment" in allowed and "comment" in value:
            self.string(value["comment"], f"{path}.comment")

    def records(self, value: Any, path: str, allowed: frozenset[str] = _RECORD_KEYS,
                value_required: bool = True) -> list[dict[str, Any]]:
        """A HAR list of ``{name, value}`` objects (headers, query, cookies, params)."""
        if not isinstance(value, list):
            self.add(path, f"must be an array, got {kind(value)}")
            return []
        good = []
        for index, item in enumerate(value):
            item_path = f"{path}[{index}]"
            record = self.obj(item, item_path)
            if record is None:
                continue
            self.members(record, item_path, allowed)
            name = self.field(record, "name", item_path, self.string)
            self.field(record, "value", item_path, self.string, required=value_required)
            for key in ("path", "domain", "fileName", "contentType"):
                if key in allowed:
                    self.field(record, key, item_path, self.string, required=False)
            for key in ("httpOnly", "secure"):
                if key in allowed:
                    self.field(record, key, item_path, self.boolean, required=False)
            expires = record.get("expires") if "expires" in allowed else None
            if "expires" in record and "expires" in allowed and not (
                isinstance(expires, str) and HAR_DATE.fullmatch(expires) and is_date(expires)
            ):
                self.add(f"{item_path}.expires", f"must be an ISO 8601 date, got {kind(expires)}")
            if name is not None:
                good.append(record)
        return good


def kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {shown!r}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def header_value(headers: list[dict[str, Any]], name: str) -> Optional[str]:
    for header in headers:
        if str(header.get("name", "")).lower() == name and isinstance(header.get("value"), str):
            return str(header["value"])
    return None


def repeats(field: str, header: str) -> bool:
    """Whether a HAR field repeating a header (mimeType, redirectURL) agrees with it: the
    same value, or any value when the header is redacted (an allowlist that does not list
    the header hides it, not the HAR's own field; a denylist naming it hides both)."""
    return field == header or bool(_REDACTED.fullmatch(header))


def secret_shape(value: Any) -> bool:
    return isinstance(value, str) and (is_masked(value) or bool(_REDACTED.fullmatch(value)))

