"""Wording of the command's output (``counted`` is shared with the library's log lines)."""

from __future__ import annotations

from readme_metrics._wording import counted

__all__ = ["counted"]
