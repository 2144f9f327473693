"""The grouping function: who made this call, for ReadMe's API Metrics."""

from __future__ import annotations

from typing import Any, Optional


def grouping(request: Any) -> Optional[dict[str, str]]:
    """``request`` is Django's HttpRequest. Return None to leave the call out."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return {"api_key": str(user.pk), "label": user.get_username(),
                "email": user.email}
    api_key = request.headers.get("X-Api-Key")
    if not api_key:
        return None
    return {"api_key": api_key, "label": f"key ending {api_key[-4:]}"}
