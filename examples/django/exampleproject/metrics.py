"""The grouping function: who made this call, for ReadMe's API Metrics."""

from __future__ import annotations

from typing import Any, Optional


def grouping(request: Any) -> Optional[dict[str, str]]:
    """``request`` is Django's HttpRequest. Return None to leave the call out."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        # not str(user.pk) alone: the caller's key is masked wherever a value equals it,
        # so user 1's logs would show the mask for every 1 (ids, counts, page numbers)
        return {"api_key": f"user-{user.pk}", "label": user.get_username(),
                "email": user.email}
    api_key = request.headers.get("X-Api-Key")
    if not api_key:
        return None
    return {"api_key": api_key, "label": f"key ending {api_key[-4:]}"}
