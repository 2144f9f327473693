"""What ``readme-metrics demo --requests N`` shows of one log, at its end.

The call list says who called what; what a log holds (the masked key, the redacted
password, the bodies as sent) was only in the HAR file, whose advice, "open it in your
browser's devtools", a newcomer on a server cannot follow. So the demo's login call,
read back from the HAR file, is shown in a few lines: the parts the middleware changed,
and a body it sent as the app wrote it."""

from __future__ import annotations

import json
from typing import Any, Optional
from urllib.parse import urlsplit

__all__ = ["sample_lines"]

#: The demo's call whose log shows masking, the denylist and a body sent as written.
SAMPLE_PATH = "/api/login"
#: Longest value shown on one line.
WIDTH = 60


def _short(value: Any) -> str:
    """``value`` on one line: a long one keeps its start and its end (a mask's last four)."""
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= WIDTH else text[:WIDTH - 15] + "..." + text[-12:]


def _login_entry(har_path: str) -> Optional[dict[str, Any]]:
    try:
        with open(har_path, encoding="utf-8") as file:
            entries = json.load(file)["log"]["entries"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    for entry in entries:
        request = entry.get("request", {})
        if request.get("method") == "POST" and urlsplit(request.get("url", "")).path == SAMPLE_PATH:
            return entry
    return None


def sample_lines(har_path: str) -> list[str]:
    """A few lines showing one log of the HAR file as sent, or none without a login call."""
    entry = _login_entry(har_path)
    if entry is None:
        return []
    request, response = entry["request"], entry["response"]
    group = entry.get("_readme", {}).get("group", {})
    key = next((h["value"] for h in request.get("headers", [])
                if h.get("name", "").lower() == "x-api-key"), None)
    params = request.get("postData", {}).get("params", [])
    lines = [f"one log, as sent: POST {SAMPLE_PATH} (the HAR file has each log whole)",
             f"  caller:          {group.get('label')} <{group.get('email')}>, "
             f"id {_short(group.get('id'))}"]
    if key is not None:
        lines.append(f"  X-Api-Key:       {_short(key)} (the caller's key, masked)")
    if params:
        form = ", ".join(f"{p.get('name')}={p.get('value')}" for p in params)
        lines.append(f"  request form:    {_short(form)} (password: in the demo's denylist)")
    text = response.get("content", {}).get("text")
    if text is not None:
        lines.append(f"  response body:   {_short(text)} (as the app wrote it: no "
                     "denylist names its keys)")
    return lines
