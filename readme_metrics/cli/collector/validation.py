"""Check one log object against the payload contract (SPEC section 4), stdlib only.

The local collector (``readme-metrics collect``) answers a POST with invalid logs with 400
and the reasons, like the real Metrics API would, so a user sees at once what is wrong
with what their service sends. The runtime has no jsonschema, so the HAR 1.2 rules that
matter are written out here; every problem is one human-readable line that starts with
the JSON path of the offending value::

    >>> validate_log({"_id": 7})[:2]
    ['_id: must be a string, got the number 7', 'group: missing']

An empty list means the log is valid.
"""

from __future__ import annotations

import uuid
from typing import Any

from readme_metrics.cli.collector.checker import Checker, kind
from readme_metrics.cli.collector.har_checks import check_entry, check_pages
from readme_metrics.masking import is_masked

__all__ = ["validate_batch", "validate_log"]


def _check_envelope(c: Checker, top: dict[str, Any]) -> None:
    """``_id``, ``group``, ``clientIPAddress``, ``development``: ReadMe's part of a log."""
    log_id = c.field(top, "_id", "", c.string)
    if log_id is not None:
        try:
            parsed = uuid.UUID(log_id)
        except ValueError:
            parsed = None
        if parsed is None or parsed.version != 4 or str(parsed) != log_id:
            c.add("_id", f"must be a uuid4 string, got {log_id!r}")
    group = c.field(top, "group", "", c.obj)
    if group is not None:
        for key in group:
            if key not in ("id", "label", "email"):
                c.add(f"group.{key}", "is not a group member (id, label, email)")
        group_id = c.field(group, "id", "group", c.string)
        if group_id is not None and not is_masked(group_id):
            c.add("group.id", "must be masked (sha512-...?last4), never the raw API key")
        c.field(group, "label", "group", c.string, required=False)
        c.field(group, "email", "group", c.string, required=False)
    c.field(top, "clientIPAddress", "", c.string)
    c.field(top, "development", "", c.boolean)
    for key in top:
        if key not in ("_id", "group", "clientIPAddress", "development", "request") \
                and not str(key).startswith("_"):
            c.add(str(key), "is not a log member")


def _check_har(c: Checker, har: dict[str, Any]) -> None:
    """``request.log``: a HAR 1.2 log holding exactly one entry."""
    c.members(har, "request.log",
              frozenset({"version", "creator", "browser", "pages", "entries", "comment"}))
    # A server never sends browser or pages, but HAR allows them: check their shape only.
    c.field(har, "pages", "request.log", lambda v, p: check_pages(c, v, p), required=False)
    version = c.field(har, "version", "request.log", c.string)
    if version is not None and version != "1.2":
        c.add("request.log.version", f"must be '1.2', got {version!r}")
    for key in ("creator", "browser"):
        creator = c.field(har, key, "request.log", c.obj, required=key == "creator")
        if creator is not None:
            c.members(creator, f"request.log.{key}", frozenset({"name", "version", "comment"}))
            c.field(creator, "name", f"request.log.{key}", c.string)
            c.field(creator, "version", f"request.log.{key}", c.string)
    if "entries" not in har:
        c.add("request.log.entries", "missing")
        return
    entries = har["entries"]
    if not isinstance(entries, list):
        c.add("request.log.entries", f"must be an array, got {kind(entries)}")
    elif len(entries) != 1:
        c.add("request.log.entries", f"must hold exactly one entry, got {len(entries)}")
    else:
        check_entry(c, entries[0], "request.log.entries[0]")


def validate_log(log: Any) -> list[str]:
    """Return every way ``log`` breaks SPEC section 4 (an empty list when it is valid)."""
    c = Checker()
    top = c.obj(log, "log")
    if top is None:
        return c.problems
    _check_envelope(c, top)
    request = c.field(top, "request", "", c.obj)
    if request is None:
        return c.problems
    for key in request:
        if key != "log":
            c.add(f"request.{key}", "unexpected: request holds only the HAR 'log'")
    har = c.field(request, "log", "request", c.obj)
    if har is not None:
        _check_har(c, har)
    return c.problems


def validate_batch(payload: Any) -> dict[int, list[str]]:
    """Validate a whole POST body (already parsed JSON): index -> problems, invalid only.

    A body that is not a non-empty array is reported under index -1.
    """
    if not isinstance(payload, list):
        return {-1: [f"body: must be a JSON array of logs, got {kind(payload)}"]}
    if not payload:
        return {-1: ["body: must hold at least one log, got an empty array"]}
    found = {}
    for index, log in enumerate(payload):
        problems = validate_log(log)
        if problems:
            found[index] = problems
    return found

