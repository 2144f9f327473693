"""The package version, kept in one place (setup.py reads it without importing)."""

__version__ = "4.0.0"
