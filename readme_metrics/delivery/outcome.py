"""What one POST attempt came to, as a pure function of the answer or the error:
its verdict (sent, retry, pause, reject, fail, split), the cause said in the logs, a
``Retry-After`` read, and the drop reasons counted in the stats (SPEC section 7).

Nothing here does I/O or keeps state (but a bounded cache of the 2xx outcomes met): the
sender and the attempt apply these answers; :mod:`.policy` decides when to try again.
"""

from __future__ import annotations

import email.utils
import re
import time
from dataclasses import dataclass
from typing import Optional
from urllib.parse import urlsplit

import requests

from readme_metrics.delivery.errors import chain, described
from readme_metrics.delivery.limits import RETRY_AFTER_CAP

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
#: the POSTs itself (a 407, or a 403 to the CONNECT of an https tunnel), ``unknown`` when
#: a stop gave up on logs in a POST sent in full and left unanswered (the API may have
#: them: post_progress.may_have; before delivery80 counted ``shutdown``).
DROP_REASONS = ("queue_full", "auth", "rejected", "retries_exhausted", "build_error",
                "shutdown", "error", "tls", "proxy", "unknown")


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
