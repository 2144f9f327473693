"""Moved: the local collector is :mod:`readme_metrics.cli.collector` (this name is kept)."""

from readme_metrics.cli.collector import (
    HarFile,
    LocalCollector,
    LogStore,
    endpoint_of,
    format_line,
    summary_line,
)

__all__ = ["HarFile", "LocalCollector", "LogStore", "endpoint_of", "format_line",
           "summary_line"]
