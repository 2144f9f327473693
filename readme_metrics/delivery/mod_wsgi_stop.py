"""The time a mod_wsgi daemon process has to close in.

Apache starts mod_wsgi's daemon processes as subprocesses of its configuration's pool
(``apr_pool_note_subprocess(..., APR_KILL_AFTER_TIMEOUT)``): when Apache stops or
restarts (SIGTERM, ``apachectl stop``; SIGHUP, ``apachectl restart``; SIGUSR1,
``apachectl graceful``) the pool's cleanup sends them SIGTERM and SIGKILLs any still
there 3 s later, whatever mod_wsgi's ``--shutdown-timeout``: mod_wsgi's notice says
``shutdown_signal`` (Apache 2.4.71, its event, worker and prefork MPMs alike: a graceful
restart sends SIGUSR1 to its own children only, never to the daemon processes). A
daemon process that ends by itself (``--maximum-requests``, ``--inactivity-timeout``,
``--request-timeout``, ``--restart-interval``), or at a SIGUSR1 sent to it alone
(``kill -USR1 <daemon pid>``, mod_wsgi's restart of one daemon process: the notice's
``graceful_signal``, ``eviction_signal``), has mod_wsgi's own reaper instead: ``exit()``
after ``--shutdown-timeout`` (5 s by default). mod_wsgi's Python API does not give it
(``mod_wsgi.*``, the ``mod_wsgi.*`` environ keys, ``server_metrics()``); under
``mod_wsgi-express`` it is read from the configuration Apache runs, the
``WSGIDaemonProcess`` of this process group in ``$MOD_WSGI_SERVER_ROOT/httpd.conf``
(:func:`configured_shutdown`, delivery47: with ``--shutdown-timeout 2`` the reaper ended
the process at 2 s, the close counting on 5 s: 40 logs lost unsaid; with ``10`` the
close gave up at 4 s on an API answering in 6 s). Elsewhere (Apache configured by hand)
the default is taken. The reaper runs at Apache's stop too: a ``--shutdown-timeout``
under 3 s ends the process before Apache's kill. Before delivery44 ``graceful_signal``
was taken for Apache's restart: the close gave up 2.4 s after such a SIGUSR1, said
"Apache's stop or restart, 3s after its signal", where the daemon process had 5 s.
The library's close at exit (``atexit``, which mod_wsgi runs as it ends the
interpreter) waited ``shutdown_timeout`` (5 s by default) for a slow API: killed before
its end, it said nothing (blackbox15: Apache 2.4.71, mod_wsgi 6.1.1, API answering in
8 s, SIGTERM to Apache: 300 logs held, the daemon processes gone 3.1 s after the
signal, no line).

mod_wsgi tells the stop as it comes (``mod_wsgi.subscribe_shutdown``, its reason:
``shutdown_signal``, ``graceful_signal``, ``maximum_requests``, ...): noted here, the
close ends before the kill counted from then (as in a gunicorn worker:
:mod:`.gunicorn_stop`), its line saying what it gave up on coming before the kill; no
line ahead, since every stop is so bounded. Embedded mode (no daemon process, Apache's
own children) and anywhere else: nothing.

In a sub-interpreter (an application group other than ``%{GLOBAL}``: mod_wsgi-express's
``--application-group``, ``WSGIApplicationGroup``, and plain Apache's
``WSGIScriptAlias`` default, one per virtual host and path), mod_wsgi tears the
interpreter down by clearing and deleting every thread state in it, the library's
running sender and watchdog threads' included, before ``Py_EndInterpreter`` runs its
``atexit``: the first of those threads to wake crashed the process (blackbox16: a
segfault at every stop and recycle, API at 0.25 s: 41 of 100 logs delivered, none
said; a slow API: 0 of 40 said). There the close runs in mod_wsgi's shutdown notice
instead, daemon or embedded mode alike, which comes while the interpreter is whole:
after the requests then in flight end (a share of the bound at most), then the close
within its bound, then its threads waited for (the watchdog told to end: idle, it
never did, and the wait ran past Apache's kill; mod_wsgi tells a process's
interpreters one after the other, and the next was never told: flaky42). The bound and
that wait count from the first notice of the process, not the interpreter's own
(:mod:`.mod_wsgi_shared`): the next one told then says what it holds before the kill
(delivery67: it counted 2.4 s from its own notice, killed midway, its logs unsaid).

A daemon process's main interpreter (``%{GLOBAL}``) beside a sub-interpreter closes at
its notice too: its ``atexit`` comes only once mod_wsgi tore every sub-interpreter down
(their own exit hooks run), which a close that took the bound left 0.6 s for before
Apache's kill, the teardown alone 0.3 to 0.5 s under load: the main interpreter's logs
were lost unsaid (delivery68: 3 of 40 in a loaded CI run; a sub-interpreter's app with
a 1 s exit hook, 21 of 47 said every time). Its threads are not waited for (mod_wsgi leaves
them whole); a process with the main interpreter alone closes at ``atexit`` as before,
once its requests in flight ended.
"""

from __future__ import annotations

import importlib
import os
import shlex
import sys
import threading
import time
from typing import Any, Callable, Optional

from readme_metrics.delivery import mod_wsgi_shared
from readme_metrics.delivery.gunicorn_stop import Limit

#: APR's wait between the SIGTERM and the SIGKILL of a pool's subprocesses.
APACHE_KILL = 3.0
#: mod_wsgi's ``--shutdown-timeout`` by default (``shutdown-timeout`` of
#: ``WSGIDaemonProcess``).
MOD_WSGI_SHUTDOWN = 5.0
#: The reasons that come from Apache's stop or restart (its pool's 3 s kill follows):
#: its SIGTERM; a SIGUSR1 (``graceful_signal``) reaches a daemon process only when sent
#: to it (mod_wsgi's reaper alone then).
APACHE_STOPS = frozenset({"shutdown_signal"})
#: How the lines name a stop of mod_wsgi's own, by the notice's reason (else its words).
_REASONS = {"graceful_signal": "a SIGUSR1 sent to it",
            "eviction_signal": "a SIGUSR1 sent to it"}

#: The library's threads' names begin so (the close waits for them in a sub-interpreter).
THREAD_PREFIX = "readme-metrics-"
#: The share of the close's bound the requests in flight at the notice may take.
REQUESTS_SHARE = 0.5

#: (time.monotonic() when the stop was told, its reason), once told.
_stopped: Optional[tuple[float, str]] = None
_watching = False
#: This daemon process's ``shutdown-timeout`` as mod_wsgi-express configured it (None:
#: not read, the default then), read as the stop is watched.
_configured: Optional[float] = None


class ApacheLimit(Limit):
    """Apache's kill of a mod_wsgi daemon process, as the close's lines say it."""

    #: Every stop of Apache's is bounded so (shutdown_timeout of 5 s by default): a
    #: line ahead at each would be noise; its give-up line comes 0.6 s before the kill.
    said_ahead = False
    #: The ``--shutdown-timeout`` read from mod_wsgi-express's configuration (else its
    #: default).
    configured = False

    def kills(self) -> str:
        if self.option == "--shutdown-timeout":
            return "ends it after that"
        return "has Apache SIGKILL this daemon process after that"

    def said(self) -> str:
        if self.option == "--shutdown-timeout":
            given = "as mod_wsgi-express set it" if self.configured else "by default"
            return (f"mod_wsgi's --shutdown-timeout ({float(self):g}s {given}), this "
                    f"daemon process ending ({self.server}),")
        return f"Apache's stop or restart, {float(self):g}s after its signal,"

    def advice(self) -> str:
        if self.option == "--shutdown-timeout":
            return ("set --shutdown-timeout (shutdown-timeout= of WSGIDaemonProcess) "
                    "above shutdown_timeout to give the close its whole time")
        return ("no option lengthens it: a shutdown_timeout of 2 or less is sent "
                "whole")


def _told(event: Any = None, **details: Any) -> None:
    """mod_wsgi's shutdown callback (``event``: its dict; keywords in other versions)."""
    global _stopped
    try:
        found = event if isinstance(event, dict) else details
        reason = found.get("shutdown_reason", "")
        if _stopped is None and in_daemon_process():
            # (the process's first notice: its interpreters are told one by one)
            _stopped = (mod_wsgi_shared.first_notice(time.monotonic()), str(reason))
        if in_sub_interpreter():
            _close_before_teardown()
        elif beside_sub_interpreters():
            _close_before_teardown(threads=False)
    except Exception:  # never raises into mod_wsgi
        pass


def in_sub_interpreter() -> bool:
    """This is a mod_wsgi sub-interpreter (an application group other than
    ``%{GLOBAL}``, whose name is empty)."""
    module = sys.modules.get("mod_wsgi")
    return bool(getattr(module, "application_group", ""))


def beside_sub_interpreters() -> bool:
    """This process has an interpreter besides this one (mod_wsgi's application groups:
    CPython's ``_xxsubinterpreters``, ``_interpreters`` from 3.13); False where that
    cannot be told. Never raises."""
    for name in ("_interpreters", "_xxsubinterpreters"):
        try:
            module = importlib.import_module(name)
            return len(module.list_all()) > 1
        except Exception:  # (not in this Python: the other name, else not told)
            continue
    return False


def _close_before_teardown(threads: bool = True) -> None:
    """Close every tracked object now, before mod_wsgi's teardown: the requests in
    flight first, a share of the bound at most; then, with ``threads`` (a
    sub-interpreter, whose thread states mod_wsgi deletes next), wait for the library's
    threads to end. Never raises."""
    from readme_metrics.delivery import gunicorn_stop, process, watchdog_thread

    budget = process.exit_budget()
    if budget == float("inf"):  # nothing to close
        return
    began = time.monotonic()
    bound, _ = gunicorn_stop.close_bound(budget, began)
    _wait(lambda: not _requests_in_flight(), began + bound * REQUESTS_SHARE)
    process.close_all()
    if not threads:  # (the main interpreter's: left whole, they end as they will)
        return
    watchdog_thread.end()  # (idle, it waited for ever: this wait went past the kill)
    # (Its bound from the notice, as at exit; a thread past it is not waited for long,
    # nor past the close's own end before the kill: the interpreters told next say
    # theirs in the time left.)
    _wait(lambda: not _library_threads(),
          min(max(began + bound, time.monotonic()) + 1.0, _given_up_at()))


def _given_up_at() -> float:
    """When a close gives up before Apache's kill or mod_wsgi's reaper
    (``time.monotonic()``; inf where no such stop was told)."""
    from readme_metrics.delivery import gunicorn_stop

    found = limit()
    if found is None:
        return float("inf")
    return (time.monotonic() + float(found) - found.spent
            - min(gunicorn_stop.MARGIN, float(found) / 5))


def _requests_in_flight() -> int:
    """The requests this interpreter is serving (mod_wsgi's ``active_requests``)."""
    active = getattr(sys.modules.get("mod_wsgi"), "active_requests", None)
    try:
        return len(active) if active is not None else 0
    except TypeError:
        return 0


def _library_threads() -> list[threading.Thread]:
    """The library's threads still running (not this one)."""
    here = threading.current_thread()
    return [thread for thread in threading.enumerate() if thread is not here
            and thread.name.startswith(THREAD_PREFIX) and thread.is_alive()]


def _wait(done: Callable[[], bool], deadline: float) -> None:
    """Until ``done()`` or ``deadline`` (``time.monotonic()``), polling."""
    while not done() and time.monotonic() < deadline:
        time.sleep(0.02)


def in_daemon_process() -> bool:
    """This is a mod_wsgi daemon process (daemon mode: a process group named)."""
    module = sys.modules.get("mod_wsgi")
    return bool(getattr(module, "process_group", ""))


def watch() -> None:
    """In a mod_wsgi daemon process, note the stop as mod_wsgi tells it; in a
    sub-interpreter, close then. Once; never raises."""
    global _watching
    if _watching or not (in_daemon_process() or in_sub_interpreter()):
        return
    global _configured
    try:
        module = sys.modules["mod_wsgi"]
        module.subscribe_shutdown(_told)
        _watching = True
        _configured = configured_shutdown(str(getattr(module, "process_group", "")))
    except Exception:
        pass


#: The directive read, as Apache matches it (lower-cased).
_DIRECTIVE = "wsgidaemonprocess"
_DIRECTIVE_LENGTH = len(_DIRECTIVE)


def configured_shutdown(group: str) -> Optional[float]:
    """``shutdown-timeout=`` of the ``WSGIDaemonProcess`` (in any case, as Apache reads
    it) named ``group`` in the configuration mod_wsgi-express wrote
    (``$MOD_WSGI_SERVER_ROOT/httpd.conf``; the smaller where it is given more than
    once), in seconds; None without one, where it is 0 (no reaper), or outside
    mod_wsgi-express. Never raises."""
    root = os.environ.get("MOD_WSGI_SERVER_ROOT")
    if not root or not group:
        return None
    try:
        with open(os.path.join(root, "httpd.conf"), encoding="utf-8",
                  errors="replace") as conf:
            text = conf.read(1 << 20)
    except (OSError, ValueError):
        return None
    found: list[float] = []
    for line in text.replace("\\\n", " ").splitlines():
        # Apache's directive names are case-insensitive (``wsgidaemonprocess`` runs
        # too: delivery50); mod_wsgi's option names are not.
        if line.lstrip()[:_DIRECTIVE_LENGTH].lower() != _DIRECTIVE:
            continue
        try:
            words = shlex.split(line)
        except ValueError:
            continue
        if len(words) < 2 or words[0].lower() != _DIRECTIVE or words[1] != group:
            continue
        for word in words[2:]:
            name, _, value = word.partition("=")
            if name == "shutdown-timeout":  # (Shutdown-Timeout: Apache would not start)
                try:
                    seconds = float(value)
                except ValueError:
                    continue
                if 0 < seconds < float("inf"):
                    found.append(seconds)
    return min(found) if found else None


def limit() -> Optional[Limit]:
    """The time left to the kill of this daemon process, once mod_wsgi told its stop;
    else None."""
    if _stopped is None:
        return None
    came, reason = _stopped
    spent = max(0.0, time.monotonic() - came)
    shutdown = _configured or MOD_WSGI_SHUTDOWN
    if reason in APACHE_STOPS:
        if shutdown >= APACHE_KILL:
            return ApacheLimit(APACHE_KILL, "Apache", "stop",
                               spent=min(spent, APACHE_KILL))
        server = "Apache's stop or restart"  # (mod_wsgi's reaper comes first)
    else:
        server = _REASONS.get(reason) or reason.replace("_", " ") or "stop"
    found = ApacheLimit(shutdown, server, "--shutdown-timeout", spent=min(spent, shutdown))
    found.configured = _configured is not None
    return found
