"""Where a variable's value was read, for the messages that quote it: the environment,
the working directory's ``.env`` (read by :mod:`readme_metrics.env_source`), or the
environment holding the file's value, put there by Flask or a container's env file.
Importable from :mod:`readme_metrics._env`, as before.
"""

from __future__ import annotations

import os
import sys
from typing import Optional

from readme_metrics.env_source import dotenv_read, file_value

__all__ = ["from_dotenv", "origin"]


def origin(variable: Optional[str]) -> str:
    """Where ``variable``'s value was read, for error messages: "the environment", or
    the ``.env`` file (the real environment wins over the file).

    A value in the environment that the ``.env`` file gives too came from the file, put
    there by something else that read it: under Flask's command line (``flask run``),
    Flask itself, which loads ``.env`` into ``os.environ`` ("the environment" alone sent a
    newcomer to a shell that has no such variable); elsewhere whatever started the
    process, most often docker's ``--env-file`` or compose's ``env_file``, or the same
    value was set twice. Flask is named only when it ran: the container's case is said
    as both possibilities."""
    dotenv = dotenv_read()
    if variable is None or dotenv is None:
        return "the environment"
    if variable not in os.environ:
        return dotenv
    if file_value(variable) != os.environ[variable]:
        return "the environment"
    dotenv = dotenv_read()  # (read again if it had changed)
    if _flask_loaded_dotenv():
        return (f"the environment; {dotenv} sets the same value, which "
                "Flask (`flask run`, `app.run()`) loads there")
    return (f"the environment; {dotenv} sets the same value (put there "
            "from the file by docker's --env-file or compose's env_file, or set in both)")


def from_dotenv(variable: Optional[str]) -> bool:
    """True when ``variable``'s value is the ``.env`` file's, read by the library (which
    removes quotes and comments, but keeps what stands inside quotes)."""
    return variable is not None and dotenv_read() is not None and variable not in os.environ


def _flask_loaded_dotenv() -> bool:
    """Whether Flask loaded ``.env`` into ``os.environ`` for this process: its command
    line (``flask run``, ``flask routes``) sets FLASK_RUN_FROM_CLI before it loads the
    file, and ``app.run(debug=True)`` loads it before it starts the reloader's child
    (WERKZEUG_RUN_MAIN), which inherits it; FLASK_SKIP_DOTENV turns both off (Flask's
    own reading of it, ``flask.helpers.get_load_dotenv``)."""
    if "flask" not in sys.modules or not (os.environ.get("FLASK_RUN_FROM_CLI") == "true"
                                          or os.environ.get("WERKZEUG_RUN_MAIN") == "true"):
        return False
    skip = os.environ.get("FLASK_SKIP_DOTENV")
    return not skip or skip.lower() in ("0", "false", "no")
