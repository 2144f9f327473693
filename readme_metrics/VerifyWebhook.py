"""Alias module: ``from readme_metrics.VerifyWebhook import VerifyWebhook`` keeps working.

The official package's CamelCase module name survives only here, for compatibility; the
code lives in :mod:`readme_metrics.webhooks`.
"""

from readme_metrics.webhooks import VerificationError, VerifyWebhook

__all__ = ["VerificationError", "VerifyWebhook"]
