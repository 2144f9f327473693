"""Whether this process is a development server's reloader, which only watches the
files: its start-up warnings are said by the child that serves instead, not twice.

(Moved out of ``_logging``, which still hands :func:`reloader_parent` out: house39.)
"""

from __future__ import annotations

import os
import sys
from typing import Optional

from readme_metrics.frames import frames

__all__ = ["reloader_parent"]


def reloader_parent() -> bool:
    """True in the process of a development server's reloader, which only watches the
    files and runs the app again in a child that serves it: ``manage.py runserver``
    (without ``--noreload``), ``flask run --debug`` or ``--reload`` (without
    ``--no-reload``), ``hypercorn --reload``. Both processes make the app and its
    configuration, so each start-up warning was said twice; the child says it, as
    Django's own checks are said there only. (``app.run(debug=True)`` cannot be told
    from a plain ``python app.py`` when the configuration is made: said twice there
    still.)"""
    if _in_hypercorns_reloader():
        return True
    argv = sys.argv
    if argv[1:2] == ["runserver"] and "django" in sys.modules:
        # (argparse takes a long option's unambiguous prefix: --norel is --noreload.)
        return os.environ.get("RUN_MAIN") != "true" and not any(
            len(arg) >= 5 and "--noreload".startswith(arg) for arg in argv[2:])
    if "run" in argv[1:] and _in_flask_run():
        if os.environ.get("WERKZEUG_RUN_MAIN") == "true":
            return False
        # As flask's run reads them: the last flag given, else FLASK_RUN_RELOAD (click's
        # variable), else the debug mode (--debug/--no-debug, else FLASK_DEBUG).
        debug = _flag(argv, "--debug", "--no-debug")
        if debug is None:
            debug = os.environ.get("FLASK_DEBUG", "").lower() not in ("", "0", "false", "no")
        reload = _flag(argv, "--reload", "--no-reload", "FLASK_RUN_RELOAD")
        return debug if reload is None else reload
    return False


def _in_hypercorns_reloader() -> bool:
    """True while ``hypercorn --reload``'s main process imports the app: its ``run``
    loads it to know the files to watch, then spawns the workers that serve (each loads
    it again, in a process of its own: ``run`` is not on their stack). Not with
    ``--workers 0``, where ``run`` serves in its own process, nor without ``--reload``."""
    run = getattr(sys.modules.get("hypercorn.run"), "run", None)
    code = getattr(run, "__code__", None)
    if code is None:
        return False
    try:
        for frame in frames(sys._getframe(1)):
            if frame.f_code is code:
                config = frame.f_locals.get("config")
                return bool(getattr(config, "use_reloader", False)
                            and getattr(config, "workers", 0))
    except Exception:  # a Python without frames: said twice, as before
        pass
    return False


def _in_flask_run() -> bool:
    """True inside flask's own ``run`` command (it loads the app there), not in another
    process that has flask imported and a bare ``run`` among its arguments (``python
    serve.py run`` under waitress, ``pytest -k run``), which serves in one process.
    (A FlaskGroup script that makes the app at its import, before its command runs,
    cannot be told from those then: said twice there, as ``app.run(debug=True)``.)"""
    cli, click = sys.modules.get("flask.cli"), sys.modules.get("click")
    if cli is None or click is None:
        return False
    try:
        context = click.get_current_context(silent=True)
        return context is not None and context.command is getattr(cli, "run_command", None)
    except Exception:
        return False


def _flag(argv: list[str], on: str, off: str, variable: str = "") -> Optional[bool]:
    """A click boolean flag's value: the last of ``on``/``off`` in ``argv``, else
    ``variable`` as click reads it, else None."""
    for arg in reversed(argv):
        if arg in (on, off):
            return arg == on
    value = os.environ.get(variable, "").strip().lower() if variable else ""
    if value in ("1", "true", "t", "yes", "y", "on"):
        return True
    if value in ("0", "false", "f", "no", "n", "off"):
        return False
    return None
