"""Delivery decisions as pure functions: verdicts, backoff, Retry-After, POST size, drops.

Nothing here does I/O, keeps state or reads a clock it was not given, so every rule of
SPEC section 7 about *what to do* can be tested with a table; the parts that *do* it
(queue, worker, sender) only apply these answers, as sentry-python's transport keeps its
decisions apart from the I/O that sends.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Callable, Optional
from urllib.parse import urlsplit

import requests

from readme_metrics._random import uniform01
from readme_metrics.delivery.errors import chain, described

#: Failed attempts at the longest backoff (its ceiling at ``BACKOFF_CAP``) after which a
#: batch is dropped. The attempts while the batch's own backoff still climbs to the cap
#: (0.5, 1, 2, 4, 8 and 16 s: 6 with the defaults) do not count: a batch is tried at most
#: 11 times, over 75 s of its own backoffs on average, so an outage of tens of seconds
#: loses nothing, and a batch that draws a few failures in a row by chance (a load
#: balancer shedding a third of the POSTs) is not dropped for it. Counted by the batch's
#: own attempts only (:func:`spends_attempt`), and none made while the API is taken for
#: down (``ApiHealth.exhausted``: those count against ``MAX_DOWN_ATTEMPTS``).
MAX_ATTEMPTS = 5
#: Failed attempts at the longest backoff made while the API is taken for down (the
#: probes) after which a batch is dropped. A probe's failure says the API is still down,
#: nothing of its logs: counting it against ``MAX_ATTEMPTS`` dropped the oldest batch of
#: an outage 48 to 110 s in, the queue far from full. 120 at the 30 s cap: an outage of
#: about half an hour (up to an hour) drops no batch for its attempts, only new logs at
#: the queue's bounds (``dropped_queue_full``); retries stay bounded all the same (SPEC 7).
MAX_DOWN_ATTEMPTS = 120
#: First backoff ceiling in seconds; it doubles per consecutive failure (full jitter) up
#: to the cap.
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
#: Consecutive failed attempts (no POST delivered between them, whichever batches they
#: carried) after which the Metrics API is taken for down: every sender then holds for
#: one backoff and one POST at a time probes it (no retry storm). Fewer failures are a
#: mostly healthy API's (a load balancer shedding a share of the POSTs, a flaky proxy):
#: only the failed batch waits its backoff, the other senders go on.
DOWN_AFTER = 3
#: The longest hold between two probes of an API taken for down (the hold grows from
#: ``BACKOFF_BASE`` with the failures in a row, full jitter, as a backoff does). Lower
#: than ``BACKOFF_CAP``: the first probe after the API is back comes within 5 s (1.7 s on
#: average), not 30 (10 s on average), and its success releases every batch held
#: (:meth:`~readme_metrics.delivery.batcher.Batcher.settle`). A dead API sees one POST
#: every 2.5 s on average from a process, one at a time; each batch still waits its own
#: backoff (up to ``BACKOFF_CAP``) between its own attempts, so the probes are the
#: batches whose backoff is over, or the logs that came meanwhile.
PROBE_CAP = 5.0
#: The longest a probe of an API taken for down waits for the one in flight before it
#: goes too (``timeout`` at first, doubling with each probe let go so while none was
#: answered: ``pacing.probe_wait``). A black-holed API (it takes the POSTs and
#: never answers) saw one more POST every ``timeout`` plus the hold: 13.6 a minute from
#: each process with the defaults, up to 10 held open at once; now 5.4 a minute, 3 open
#: (benchmarks/blackhole.py, a fake clock). Not 30 s (1.8 a minute): the first log
#: queued after a 60 s black hole was delivered 27.5 s after it (median), 9.0 s at 10.
PROBE_OVERLAP_CAP = 10.0
#: While the API is taken for down and a POST has waited this long for its answer (a
#: black hole: an API that takes the POSTs and never answers), a request that carries no
#: logs (``GET`` of the POSTs' path, no key: ``DirectPoster.answers``) asks whether its
#: host answers, one at a time, each bounded by this many seconds (or ``timeout`` if
#: less), ``CHECK_GAP`` apart. One answered after one went unanswered lets the next probe
#: go at once (once per outage: ``ApiHealth.checked_locked``), not up to
#: ``PROBE_OVERLAP_CAP`` after the probe before, held on a dead connection: the queue
#: stayed full 5 to 5.5 s after a 20 s black hole (delivery22). No POST more.
CHECK_BOUND = 1.0
CHECK_GAP = 1.0
#: Retry-After is honoured: no retry comes earlier than the server asked. Only an absurd
#: value (a date far in the future) is cut to this, so a mistake there cannot stall
#: delivery for days; meanwhile the queue stays bounded and new logs are counted as drops.
RETRY_AFTER_CAP = 3600.0
#: The longest every sender holds for one Retry-After: the batch it answered waits all
#: of it (up to ``RETRY_AFTER_CAP``), the others one probe at a time after this. A
#: Retry-After of an hour (a proxy's mistake, a date misread) held every sender an hour
#: while the queue filled and every log after it was dropped; now the API that means it
#: sees one POST a minute (each answered so waits its own hour), as after a 401/403.
RETRY_AFTER_HOLD = 60.0
#: The longest a POST waits for the Metrics API's answer once POSTs timed out: an attempt
#: that got no answer within its bound (``timeout``, 3 s by default) is tried again with
#: twice that bound, up to this (3, 6, 12, 24, 48, 60 s), and once an answer came later
#: than ``timeout`` every POST waits as long as that answer needed (:func:`next_timeout`).
#: Without it, an API answering in 4 s had every POST cut at 3 s and retried until it
#: was dropped: nothing delivered, each log sent 11 times. A ``timeout`` above it is
#: kept as it is. At exit, ``shutdown_timeout`` still bounds every POST (and a close
#: the POSTs in flight as it begins). 30 s before delivery29: an API answering in 40 s
#: had every POST cut at 30 s and sent again, none counted as sent (200 logs/s for
#: 10 s: 0 of 2,000, 1,870 ``dropped_shutdown``, the API had read them all); 60 s is
#: the idle timeout of the usual load balancers and proxies, past which an answer is
#: cut on the way anyway.
TIMEOUT_CAP = 60.0

#: The longest a POST taken for lost (a POST begun after it was answered fast) is waited
#: before it is cut (``Stretch.lost_wait``, ``Attempt._lost_after``), or ``timeout`` if
#: above it: the longest bound before delivery29 (twice an average of 25 s held such a
#: POST 50 s, delivery28), kept when ``TIMEOUT_CAP`` went to 60 s: it is most likely a
#: dead connection, whose logs count against ``max_queue_size`` while it is waited.
LOST_CAP = 30.0

#: The share of ``max_queue_size`` (and ``max_queue_bytes``) below which a POST taken for
#: lost is held past its bound (``watchdog.cut_lost``, or spared), the API maybe only
#: late: at or above it, the held ones get their own deadline back (``watchdog.release``)
#: before the queue refuses new logs. Not lower: as an API slow for a while (8 s, 1,000
#: logs/s) turns fast, the POSTs it still works on fill 95 % of the default 10,000,
#: about to be answered.
HOLD_SHARE = 0.98
#: How long a 401/403 stops delivery; a wrong key does not fix itself within seconds.
AUTH_PAUSE = 60.0
#: At most one warning of each kind per this many seconds.
WARN_INTERVAL = 60.0

#: Most logs one POST carries. A POST goes as soon as buffer_length logs wait; when more
#: wait (the API is slower than the traffic), one POST takes up to this many, so the
#: delivery rate grows with the backlog instead of being buffer_length per round trip.
MAX_POST_LOGS = 500
#: Most bytes of JSON one POST carries; a single log above it goes alone. A batch is cut
#: by captured bytes (at most this many) and encoded up to this many bytes of JSON, the
#: logs past it left for the next POST (held.py): a log's JSON is about 2.8 times its
#: captured bytes for a small GET (925 -> 2,599), 6 times for a body of control
#: characters (each a ``\u00XX``), up to about 19 times for a Cookie header of many tiny
#: cookies (each value sent as its 100-character mask: 8,856 -> 171,559). Counted by
#: captured bytes until delivery48, a POST at this cap was up to about 40 MB. A 413
#: splits it (docs/DELIVERY.md, Batches).
MAX_POST_BYTES = 2 * 1024 * 1024
#: After a 413 lowered the bytes a POST carries (``split``), this many POSTs delivered
#: double it again, up to ``MAX_POST_BYTES``: a 413 that was the API's passing state (or
#: a proxy since reconfigured) does not leave POSTs of a few logs for the life of the
#: process (a 413 to a batch of two small logs capped every later POST at one log, and
#: 2,000 logs/s then filled the queue). A limit that stays costs one 413 per that many
#: POSTs at most, its POST sent again in halves: nothing is lost.
RAISE_POST_BYTES_AFTER = 100
#: Most sender threads per Delivery, hence most POSTs in flight at once. One thread runs
#: while one POST at a time keeps up; another starts only while every sender is busy and
#: the backlog outgrows them, and only while a POST's wait on the API is longer than
#: what the other busy senders spend encoding (Staffing.claim_sender_locked: past that,
#: the CPU is the bottleneck and more threads only share it). The POSTs of new logs are
#: spread over the API's round trip (pacing.post_wait), each its share of the
#: traffic. 32, not 16 (delivery19): 16 x 500 logs per round trip was exactly 2,000
#: logs/s against an API that takes 4 s, and with the POSTs spread, 718 of 20,000 were
#: still dropped there (16 POSTs of 500 in flight, the backlog never drained); 32 had
#: none dropped. The logs in flight count against max_queue_size and bytes, which at
#: their defaults come first past that: rate x answer time must fit in them (10,000
#: logs: 2,000/s to an API answering in 8 s needs max_queue_size 16,000 to 20,000;
#: docs/DELIVERY.md "Threads"). Threads cost little memory (the logs they hold are
#: counted); each keeps a connection to the API. Those a burst started end once a
#: minute passes with fewer POSTs in flight (Staffing.surplus_locked).
MAX_SENDERS = 32

# Verdicts on one POST attempt.
SENT = "sent"
RETRY = "retry"
PAUSE = "pause"
REJECT = "reject"
#: No answer, and no retry can get one: the batch is dropped at once, counted as
#: ``dropped_<reason>`` of the outcome (``tls``: :data:`UNHEALING_TLS`; ``proxy``: a
#: proxy requests cannot use, :data:`UNUSABLE_PROXY`).
FAIL = "fail"
#: 413 Content Too Large: the POST was too big for the Metrics API, not its logs wrong.
#: A batch of several logs is sent again as two halves (and no later POST is larger
#: than each half); a single log is rejected as any other 4xx drops it.
SPLIT = "split"

#: TLS failures no retry heals, by OpenSSL's reason (in the error's text on both routes),
#: and what each means for the user.
UNHEALING_TLS = {
    "CERTIFICATE_VERIFY_FAILED": "the server's TLS certificate does not verify (a private "
                                 "CA or a TLS-inspecting proxy: REQUESTS_CA_BUNDLE names "
                                 "the CAs trusted)",
    "WRONG_VERSION_NUMBER": "the server does not speak TLS (an https:// URL for a "
                            "plain-HTTP server)",
}
# urllib3 1.x (the requests route) checks the host name itself: its error names no reason.
# It raises ssl's SSLCertVerificationError, or on Python 3.12+ (no ssl.match_hostname) its
# own CertificateError.
UNHEALING_TLS["SSLCertVerificationError"] = UNHEALING_TLS["CERTIFICATE_VERIFY_FAILED"]
UNHEALING_TLS["CertificateError("] = UNHEALING_TLS["CERTIFICATE_VERIFY_FAILED"]

#: What requests raises, before any I/O, for a proxy it cannot use: its URL does not
#: parse (``http://[::1:3128``, ``http://proxy:99999``), has no host (``http://``), or
#: has a scheme requests cannot use (``ftp://``; ``socks5://`` without PySocks). The
#: transport reads the proxy once (its metrics_api URL was prepared then too), so every
#: POST would fail alike until the app is restarted with another environment.
UNUSABLE_PROXY = (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema)
#: The proxy's own refusal of the CONNECT of an https tunnel (http.client's message): 407,
#: it wants credentials the proxy variable does not give; 403, it does not let that host
#: through. A CONNECT is answered by the proxy alone, so it is never the API's verdict
#: (unlike a 401/403 to a POST through a plain-HTTP proxy, which may be either).
_TUNNEL_REFUSED = re.compile(r"Tunnel connection failed: 40[37]\b")

#: Drop reasons, each counted as ``dropped_<reason>`` in the stats: ``rejected`` when the
#: Metrics API answered a 4xx that drops the batch, ``tls`` when its TLS failed in a way
#: no retry heals (no answer at all: a certificate that does not verify, or no TLS),
#: ``proxy`` when the proxy the environment names is one requests cannot use, or refuses
#: the POSTs itself (a 407, or a 403 to the CONNECT of an https tunnel).
DROP_REASONS = ("queue_full", "auth", "rejected", "retries_exhausted", "build_error",
                "shutdown", "error", "tls", "proxy")


@dataclass(frozen=True)
class Outcome:
    """What one POST attempt came to: a verdict, a cause for the logs, retry hints."""

    verdict: str
    cause: str
    retry_after: Optional[float] = None
    #: The response body of a rejected batch (logged at debug), scrubbed by the sender.
    detail: str = ""
    #: For FAIL: the drop reason (:data:`DROP_REASONS`) the batch is counted under.
    reason: str = ""
    #: No answer within the POST's bound (not a connect timeout): the API may be slower
    #: than ``timeout``, and may have read the POST.
    timed_out: bool = False
    #: The API (or a proxy) answered, whatever the status: its time says how long the
    #: API takes to answer a POST (delivery.stretch).
    answered: bool = False
    #: Seconds to that answer's status line and headers, when its body was cut at the
    #: POST's bound (None: the POST's own time is the answer's).
    waited: Optional[float] = None


def classify(status: int) -> str:
    """What to do after the Metrics API answered ``status`` (SPEC section 7)."""
    if 200 <= status < 300:
        return SENT
    if status in (408, 429) or status >= 500:
        return RETRY
    if status in (401, 403):
        return PAUSE
    return REJECT


def parse_retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date).

    Returns None when absent or unparsable, never a negative number.
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when is None:  # pragma: no cover - older Pythons returned None
            return None
        try:
            seconds = when.timestamp() - (time.time() if now is None else now)
        except (OverflowError, OSError, ValueError):
            return None
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)


def backoff_delay(attempt: int, retry_after: Optional[float] = None,
                  base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP,
                  rand: Callable[[], float] = uniform01) -> float:
    """Wait before the next attempt: exponential backoff with full jitter.

    ``attempt`` counts the failures so far (>= 1). A server's Retry-After is a floor.
    """
    delay = backoff_ceiling(attempt, base, cap) * rand()
    if retry_after is not None:
        delay = max(delay, min(retry_after, RETRY_AFTER_CAP))
    return delay


def backoff_ceiling(attempt: int, base: float = BACKOFF_BASE,
                    cap: float = BACKOFF_CAP) -> float:
    """The longest wait after ``attempt`` failures (>= 1): ``base`` doubling, at most ``cap``."""
    return min(cap, base * (2 ** min(attempt - 1, 32)))


def spends_attempt(attempts: int, base: float = BACKOFF_BASE,
                   cap: float = BACKOFF_CAP) -> bool:
    """True if a batch's failed attempt, its ``attempts``-th, counts against
    ``max_attempts``: the backoff that follows it (:func:`backoff_delay` of ``attempts``)
    has its ceiling at ``cap``. The one rule of a batch's retry budget."""
    return backoff_ceiling(attempts, base, cap) >= cap


def next_timeout(used: float, timeout: float, cap: float = TIMEOUT_CAP) -> float:
    """The bound of the next attempt of a batch whose attempt bounded to ``used`` seconds
    timed out: twice that, at most ``cap`` (never less than ``timeout``, the option,
    which stays as it is when above ``cap``)."""
    return max(timeout, min(cap, 2 * used))


def hold_step(failures: int) -> int:
    """The exponent of the hold of every sender (``backoff_delay``'s ``attempt``) after
    ``failures`` in a row, the API taken for down (>= ``DOWN_AFTER``): 1 at the
    ``DOWN_AFTER``-th, growing by one with each failed probe."""
    return failures - DOWN_AFTER + 1


def post_size(sizes: Iterable[int], max_logs: int = MAX_POST_LOGS,
              max_bytes: int = MAX_POST_BYTES) -> int:
    """How many of the waiting logs (their captured sizes, oldest first) the next POST takes.

    As many as fit under both caps, and always at least one: a log larger than
    ``max_bytes`` goes alone rather than never.
    """
    count = 0
    total = 0
    for size in sizes:
        if count >= max_logs or (count and total + size > max_bytes):
            break
        count += 1
        total += size
    return count


#: The outcomes of the 2xx answers met (an Outcome never changes): one per POST is made
#: once, not each time. A server with many reasons stops adding at the bound.
_SENT_OUTCOMES: dict[tuple[int, str], Outcome] = {}
_SENT_OUTCOMES_MAX = 32


def redirected_to(location: Optional[str]) -> str:
    """``scheme://host[:port]`` of a redirect's ``Location`` for a message ("" if it has
    none): never its path or query (a token may be there), nor a user and password."""
    if not location:
        return ""
    try:
        parts = urlsplit(location.strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not host:
        return ""
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}" + ("" if port is None else f":{port}")


def outcome_of_status(status: int, reason: str, retry_after: Optional[str],
                      text: str, proxied: bool = False,
                      location: Optional[str] = None) -> Outcome:
    """The outcome of an answered POST (``retry_after``: the header's raw value).

    ``proxied``: the POST went through a proxy, whose own 407 (Proxy Authentication
    Required: only a proxy asks it) fails at once, counted as ``dropped_proxy``.
    ``location``: a redirect's Location header, named (its host) in the cause: a redirect
    is never followed, and the API key goes to no other host."""
    if 200 <= status < 300:
        outcome = _SENT_OUTCOMES.get((status, reason))
        if outcome is None:
            outcome = Outcome(SENT, f"HTTP {status} {reason or ''}".rstrip(), answered=True)
            if len(_SENT_OUTCOMES) < _SENT_OUTCOMES_MAX:
                _SENT_OUTCOMES[status, reason] = outcome
        return outcome
    verdict = classify(status)
    cause = f"HTTP {status} {reason or ''}".rstrip()
    if 300 <= status < 400 and (target := redirected_to(location)):
        cause = f"{cause}, to {target}"
    if status == 407 and proxied:
        return Outcome(FAIL, cause, detail=text[:2000], reason="proxy", answered=True)
    if status == 413:
        return Outcome(SPLIT, cause, detail=text[:2000], answered=True)
    if verdict == RETRY:
        return Outcome(verdict, cause, parse_retry_after(retry_after), answered=True)
    if verdict == REJECT:
        return Outcome(verdict, cause, detail=text[:2000], answered=True)
    return Outcome(verdict, cause, answered=True)


def outcome_of_error(exc: BaseException, proxied: bool = False) -> Outcome:
    """A POST that got no answer (connection error, timeout) is retried, unless it failed
    on TLS in a way retrying cannot heal (:data:`UNHEALING_TLS`), or (``proxied``: it
    went through a proxy) could not be made through the proxy at all
    (:data:`UNUSABLE_PROXY`), or the proxy refused the tunnel itself (a 403 or 407 to its
    CONNECT): those fail at once."""
    layers = chain(exc)
    cause = described(exc, layers)
    if proxied and (isinstance(exc, UNUSABLE_PROXY) or (
            isinstance(exc, requests.exceptions.ProxyError) and _TUNNEL_REFUSED.search(cause))):
        return Outcome(FAIL, cause, reason="proxy")
    meaning = unhealing_tls(exc)
    if meaning:
        return Outcome(FAIL, f"{meaning}; {cause}", reason="tls")
    timed_out = (isinstance(exc, requests.Timeout)
                 and not isinstance(exc, requests.ConnectTimeout))
    return Outcome(RETRY, cause, timed_out=timed_out)


def unhealing_tls(exc: BaseException) -> Optional[str]:
    """What a TLS failure no retry heals means (:data:`UNHEALING_TLS`), else None; the
    documentation-URL lookup says it too (newcomer34)."""
    if type(exc).__name__ != "SSLError":  # requests' SSLError, on either route
        return None
    # OpenSSL's reason is in a message, a host name check's error is named by its type
    # (urllib3 1.x), and str() of the outermost shows every layer as repr.
    said = " ".join([f"{type(exc).__name__}: {exc}"]
                    + [f"{type(e).__name__}({e}" for e in chain(exc)])
    return next((meaning for reason, meaning in UNHEALING_TLS.items() if reason in said), None)
