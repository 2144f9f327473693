"""The package version, kept in one place (setup.py reads it without importing)."""

__version__ = "1.0.0"
