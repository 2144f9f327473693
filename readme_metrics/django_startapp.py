"""What to do when ``manage.py startapp`` stops at the grouping function's path.

Every ``manage.py`` command reads ``settings.py``, where README's Django quick start makes
the configuration with ``grouping_function="myapp.metrics.grouping"``; the module it names
is then made by ``manage.py startapp myapp``. Run with ``README_API_KEY`` set (the shell
of README's "See it locally") and without the ``README_METRICS_ENABLED=false`` README writes
before it, that command stopped with "No module named 'myapp': ... start the app from the
folder that holds myapp", for the app it was about to make (newcomer45).
"""

from __future__ import annotations

import sys

__all__ = ["before_startapp"]


def before_startapp(said: str) -> str:
    """``"; `manage.py startapp myapp` reads settings.py ..."`` for the grouping function's
    error ``said`` of a missing module, made while Django's ``startapp`` command reads the
    settings; else ``""``."""
    try:
        if sys.argv[1:2] != ["startapp"] or "No module named" not in said:
            return ""
        name = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2].isidentifier() else "..."
        return (f"; `manage.py startapp {name}` reads settings.py, before the app it makes "
                f"is there: run it as README_METRICS_ENABLED=false python manage.py "
                f"startapp {name}")
    except Exception:  # noqa: BLE001 - nothing to add to the error
        return ""
