"""What :class:`~readme_metrics.config.MetricsApiConfig` says when it refuses an option's
value: the check's own message (:mod:`readme_metrics.config_values`), with what the
setting around it makes likely (a dotted path given as the key, a Django settings module
still being read, an app startapp has not made yet), and never the API key.
"""

from __future__ import annotations

import sys
from typing import Any, Mapping

from readme_metrics._logging import hidden
from readme_metrics.key_checks import PATH_FIRST, is_a_dotted_path

__all__ = ["refusal"]


def refusal(error: ValueError, name: str, given: Mapping[str, Any],
            secrets: tuple[str, ...]) -> str:
    """The message that refuses option ``name`` for ``error`` (the check's), the
    arguments being ``given``; ``secrets`` (the key, once known) are hidden. The same
    text as ``str(error)`` when there is nothing to add (the error is raised as it is)."""
    said = str(error)
    if name == "grouping_function" and name not in given and (
            is_a_dotted_path(given.get("api_key"))):
        said = f"{said}: {PATH_FIRST}"
    if name not in given and "django.conf" in sys.modules:
        from readme_metrics.django_settings_names import in_settings_being_read

        said += in_settings_being_read()  # GROUPING_FUNCTION = ... above it
    if name == "grouping_function" and "django.conf" in sys.modules:
        from readme_metrics.django_startapp import before_startapp

        said += before_startapp(said)  # the module startapp is to make
    # A refusal quotes the value, and the key may be in it (a URL's query:
    # '?apiKey=rdme_...', as some APIs take it).
    return hidden(said, secrets)
