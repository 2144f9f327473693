"""Compatibility alias: the Redactor lives in :mod:`readme_metrics.har.redaction`."""

from readme_metrics.har.redaction import Redactor, decode_component, redacted

__all__ = ["Redactor", "decode_component", "redacted"]
