"""How far the POST a thread runs has gone: its request written in full or not.

A close that gives up on a POST in flight (its deadline, a SIGTERM, a second Ctrl-C)
counts its logs by it: a POST cut before its body was written in full never reached the
Metrics API (a request shorter than its ``Content-Length`` is no request), one written
in full and cut unanswered may have (delivery79: both were said "the Metrics API may
have them", as soon as its connection was made). The batch's :meth:`Batch.begin_post
<readme_metrics.delivery.queue_batch.Batch.begin_post>` says which batch this thread's
POST carries; the writers (the direct route's send, the requests route's ``request``)
call :func:`writing` as the first byte goes and :func:`written` once the last one went.
"""

from __future__ import annotations

import threading
from typing import Any

from readme_metrics._wording import counted

__all__ = ["UNKNOWN", "WRITING", "WRITTEN", "carrying", "dropped_unknown", "may_have",
           "said", "writing", "written"]

#: How every stop's line says the logs :func:`may_have` counts (``dropped_unknown``).
UNKNOWN = "unknown (in POSTs sent in full, cut unanswered: the Metrics API may have them)"

#: ``Batch.written``: its request is being written (a cut then leaves it short, unless
#: the last byte went as the cut or a signal's raise came: not known), written in full.
WRITING = 1
WRITTEN = 2

_local = threading.local()


def carrying(batch: Any) -> int:
    """This thread's POST carries ``batch`` from now on; the thread's id."""
    _local.batch = batch
    return threading.get_ident()


def writing() -> None:
    """This thread's POST's request begins to go out (marks the batch it carries)."""
    _mark(WRITING)


def written() -> None:
    """This thread's POST's request went out in full (marks the batch it carries, then
    lets it go: its body, up to ``MAX_POST_BYTES``, is not held by an idle thread)."""
    _mark(WRITTEN)
    _local.batch = None


def may_have(batch: Any, under_way: bool = False) -> bool:
    """The one rule a stop counts by (delivery80): whether the Metrics API may have the
    logs of ``batch``, in flight, given up unanswered. Yes once one of its POSTs went in
    full with no answer (``Batch.cut_short``, set by the attempt: kept across its
    retries, a timed-out one too; a batch waiting for a retry is judged by it alone), or
    its current POST did; ``under_way``: or began to go, its sender not back to say (a
    signal's raise, a POST the close cannot see end), not known. Such logs are "unknown"
    in every stop's line (:func:`said`) and ``dropped_unknown`` in the stats, not "not
    delivered"; so are those of a batch whose retries ran out (delivery81)."""
    return bool(batch.cut_short) or (
        bool(batch.sent_at) and batch.written >= (WRITING if under_way else WRITTEN))


def said(lost: int, unknown: int) -> str:
    """The one wording of a stop's count (delivery81: the exit's bound's line had its
    own): "N logs not delivered", and ", M unknown (...)" when some may have gone."""
    return counted(lost, "log") + " not delivered" + (
        f", {unknown} {UNKNOWN}" if unknown else "")


def dropped_unknown(count: int) -> str:
    """For the line of a batch dropped (a pause, a TLS or proxy failure, retries run
    out) after a POST of it went in full unanswered (``Batch.cut_short``): ", M unknown
    (...), counted dropped_unknown", in the one wording of :func:`said` (delivery86:
    a pause's and a TLS or proxy drop's said none, the retries' their own); "" if 0."""
    return f", {count} {UNKNOWN}, counted dropped_unknown" if count else ""


def _mark(state: int) -> None:
    batch = getattr(_local, "batch", None)
    # (not a batch this thread posted before, now another's: sent again elsewhere)
    if batch is not None and batch.poster == threading.get_ident():
        batch.written = state
