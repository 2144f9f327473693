"""Moved: the payload-contract check is :mod:`readme_metrics.cli.collector.validation`.

This name is kept for code that imports ``readme_metrics.validation``.
"""

from readme_metrics.cli.collector.validation import validate_batch, validate_log

__all__ = ["validate_batch", "validate_log"]
