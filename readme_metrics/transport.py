"""Compatibility alias: the transport lives in :mod:`readme_metrics.delivery.transport`."""

from readme_metrics.delivery.transport import USER_AGENT, Transport, basic_token

__all__ = ["USER_AGENT", "Transport", "basic_token"]
