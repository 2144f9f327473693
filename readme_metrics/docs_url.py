"""The base of the ``x-documentation-url`` response header (SPEC section 7).

Each logged response can point at its log on the project's docs site:
``{base}/logs/{_id}``. The base is ``base_log_url`` when configured; otherwise it is the
project's ``baseUrl`` from ``GET {readme_api_url}/v1`` (Basic auth with the API key).

That lookup is network I/O, so it never happens on the request path (and its answer is
read up to ``MAX_CONTENT`` bytes, as delivery reads the Metrics API's answers): :meth:`DocsUrl.base`
only reads a process-wide cache and, when the base is not known yet, starts one lookup
on a daemon thread and answers None (the response simply goes out without the header).
The cache is shared by every middleware with the same API key, so a process looks a key
up once. A failed lookup is logged (without the key) and retried on a later request, no
sooner than ``RETRY_AFTER`` seconds and backing off exponentially, so a wrong key or an
unreachable ReadMe is neither cached forever nor hammered.

The lookup carries the API key, so it follows at most ``MAX_REDIRECTS`` redirects, and
only to the host of ``readme_api_url`` itself, never from https to http: a redirect
elsewhere (another host, a downgrade to plain HTTP) fails the lookup, logged with the
host it pointed to, as any failure is. (requests alone would follow 30, to any host,
dropping the key only when the host or scheme changes.)
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional
from urllib.parse import urljoin

import requests
from urllib3.util import Url, parse_url

from readme_metrics._http import shown_url, without_userinfo
from readme_metrics._logging import QuietLogger
from readme_metrics._loopback import is_loopback_url
from readme_metrics.config import MetricsApiConfig
from readme_metrics.delivery import process
from readme_metrics.delivery.answer import MAX_CONTENT
from readme_metrics.delivery.errors import described
from readme_metrics.delivery.session import BasicToken, basic_token
from readme_metrics.delivery.transport import USER_AGENT
from readme_metrics.docs_url_fixes import KEY_REFUSED as KEY_REFUSED
from readme_metrics.docs_url_fixes import SKIP_LOOKUP
from readme_metrics.docs_url_fixes import fix_for as _fix_for
from readme_metrics.docs_url_fixes import key_refused as _key_refused
from readme_metrics.docs_url_fixes import nothing_there as _nothing_there
from readme_metrics.docs_url_fixes import unreached_fix as _unreached_fix
from readme_metrics.nothing_listens import NothingListens
from readme_metrics.options import BY_NAME
from readme_metrics.threads import start_thread
from readme_metrics.url_checks import http_url

__all__ = ["DocsUrl", "MAX_REDIRECTS", "MAX_RETRY_AFTER", "RETRY_AFTER"]

# First wait after a failure; doubled per consecutive failure up to MAX_RETRY_AFTER. A
# minute keeps a misconfigured fleet from flooding ReadMe while recovering soon enough.
RETRY_AFTER = 60.0
MAX_RETRY_AFTER = 3600.0
#: Redirects the lookup follows (same host, never https to http; see the docstring):
#: enough for a moved path or an added slash, not for a loop.
MAX_REDIRECTS = 3

# Indirection so tests can move time forward instead of sleeping through the back-off.
_clock: Callable[[], float] = time.monotonic


@dataclass
class _State:
    """What this process knows about one (API URL, API key) pair."""

    base: Optional[str] = None
    running: bool = False
    failures: int = 0
    retry_at: float = 0.0


_states: dict[tuple[str, str], _State] = {}
_lock = threading.Lock()


def _after_fork_in_child() -> None:
    # A lookup thread running in the parent does not exist in the child; without this
    # reset its "running" flag would block every later lookup there. The lock may have
    # been held by a parent thread at fork time, so the child gets a fresh one.
    global _lock
    _lock = threading.Lock()
    for state in _states.values():
        state.running = False



def _cache_key(config: MetricsApiConfig) -> tuple[str, str]:
    # A digest, not the key itself, so the cache never holds the secret in clear.
    digest = hashlib.sha256(config.api_key.encode("utf-8", "surrogateescape")).hexdigest()
    return (config.readme_api_url, digest)


def _sent_to(url: str) -> str:
    """``url`` as requests sends it: prepared (quoted, IDNA) by requests' own rules, so
    that the URL checked is the URL requested."""
    prepared = requests.models.PreparedRequest()
    prepared.prepare_url(url, None)
    return prepared.url or url


def _port(url: Url) -> Optional[int]:
    """The port of ``url``, its scheme's default when it names none."""
    return url.port if url.port is not None else {"http": 80, "https": 443}.get(
        url.scheme or "")


def _redirect_refused(start: str, target: str) -> Optional[str]:
    """Why the lookup of ``start`` must not follow a redirect to ``target`` (as
    :func:`_sent_to` gives it); None if it may: the same host and port, and never from
    https to http (an upgrade from http to https on the default ports is followed).

    Both are read by urllib3, as the request is sent: urllib.parse reads some URLs
    otherwise (``http://other\\@api.host/`` is api.host to urlsplit, other to urllib3)."""
    try:
        first, then = parse_url(_sent_to(start)), parse_url(target)
    except Exception:  # noqa: BLE001 - not a URL requests could send: not followed
        return "redirected to a URL that cannot be read"
    host = (then.host or "").lower()
    if then.scheme not in ("http", "https") or host != (first.host or "").lower():
        return f"redirected to another host ({then.scheme}://{host})"
    if first.scheme == "https" and then.scheme != "https":
        return f"redirected from https to {then.scheme}"
    upgrade = (first.scheme, _port(first), then.scheme, _port(then)) == ("http", 80, "https", 443)
    if _port(then) != _port(first) and not upgrade:  # another service of the host
        return f"redirected to another port ({then.scheme}://{host}:{_port(then)})"
    return None


def _valid_base(value: Any) -> Optional[str]:
    """The looked-up ``baseUrl`` if it is one ``base_log_url`` could be (the same check:
    http(s), a host, no control character, query or fragment), else None. It goes into
    a response header: a line break in it split the header (wsgiref and werkzeug sent
    the rest as headers of the app's response, waitress answered 500 instead)."""
    if not isinstance(value, str):
        return None
    try:
        base = http_url(BY_NAME["base_log_url"], value)
    except ValueError:
        return None
    # As base_log_url's (DocsUrl)
    return None if base is None else _in_a_header(without_userinfo(base))


def _in_a_header(base: str) -> Optional[str]:
    """``base`` as a response header can carry it: ASCII, its host IDNA-encoded and the
    rest percent-encoded as a browser sends it (requests' rules: :func:`_sent_to`); None
    when it cannot be. Servers write a header's value as Latin-1: a base naming
    "https://docs.例え.jp" broke every logged WSGI response (wsgiref sent the status
    line only, waitress answered 500 instead of the app's answer)."""
    if base.isascii():
        return base
    try:
        sent = _sent_to(base).rstrip("/")  # (prepared, "https://host" ends with "/")
    except Exception:  # noqa: BLE001 - requests' InvalidURL, idna's errors: no header
        return None
    return sent if sent.isascii() else None


class DocsUrl:
    """Answers the docs site base URL for one configuration, without ever blocking.

    .. code-block:: python

        docs = DocsUrl(config)
        base = docs.base()          # None until known; the lookup runs off-thread
        if base is not None:
            headers.append(("x-documentation-url", f"{base}/logs/{log_id}"))
    """

    def __init__(
        self, config: MetricsApiConfig, session: Optional[requests.Session] = None,
        told: Optional[NothingListens] = None,
    ) -> None:
        self.config = config
        #: Where this middleware said the fix for "nothing listens there" (its Delivery
        #: too): a lookup failing at such a place says it in short.
        self._told = told if told is not None else NothingListens()
        # Never raises (the app configures it); its tracebacks never show the API key.
        self._logger = QuietLogger(config.logger, secrets=(config.api_key,))
        self._session = session
        # A user and password in it are a credential: the header goes to every client
        # (and into the log's response headers), so it never carries them.
        self._fixed = (_in_a_header(without_userinfo(config.base_log_url))
                       if config.base_log_url else config.base_log_url)
        # A base_log_url no header can carry (_in_a_header) adds none; none looked up.
        self._no_header = bool(config.base_log_url) and self._fixed is None
        #: The base when base_log_url is given (as :meth:`base` answers it), else None:
        #: read by the pipeline without a call per request.
        self.fixed: Optional[str] = self._fixed or None
        self._key = _cache_key(config)
        if not self._fixed:
            process.on_fork_in_child(_after_fork_in_child)

    def base(self) -> Optional[str]:
        """The base URL if known; otherwise start the lookup in the background, return None."""
        if self._fixed:
            return self._fixed
        if self.config.docs_lookup_url is None or self._no_header:  # (a local metrics
            return None                                             # server: no lookup)
        try:
            state = _states.get(self._key)
            if state is not None and state.base is not None:
                return state.base  # the hot path: one dict lookup, no lock
            self._maybe_start()
        except Exception:  # never let a header cost the request
            self._logger.debug("readme_metrics: docs URL lookup not started", exc_info=True)
        return None

    def _maybe_start(self) -> None:
        with _lock:
            state = _states.setdefault(self._key, _State())
            if state.base is not None or state.running or _clock() < state.retry_at:
                return
            state.running = True
        if start_thread(self._lookup, "readme-metrics-docs-url", args=(state,)) is None:
            # e.g. interpreter shutting down: try again later
            self._failed(state, "could not start the lookup thread")

    def _lookup(self, state: _State) -> None:
        url = f"{self.config.docs_lookup_url or self.config.readme_api_url}/v1"
        shown = shown_url(url)  # for the warnings: a user and password it holds are not
        session = self._session or requests.Session()
        try:
            target = url
            for _ in range(MAX_REDIRECTS + 1):
                response = session.get(
                    target,
                    # the POSTs' own credentials: requests' auth=(key, "") encodes
                    # the key as latin-1 and raised for any other character (blackbox2)
                    auth=BasicToken(basic_token(self.config.api_key)),
                    timeout=self.config.timeout,
                    headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
                    stream=True,  # the body is read up to MAX_CONTENT, not whatever comes
                    allow_redirects=False,  # followed below, by this module's rule
                )
                try:
                    status = response.status_code
                    location = session.get_redirect_target(response)
                    content = (response.raw.read(MAX_CONTENT + 1, decode_content=True)
                               if status == 200 else b"")
                finally:
                    response.close()
                if location is None:
                    break
                try:
                    target = _sent_to(urljoin(target, location))
                except requests.RequestException:
                    self._failed(state, f"{shown} redirected to a URL that cannot be read")
                    return
                why = _redirect_refused(url, target)
                if why is not None:
                    self._failed(state, f"{shown} {why}")
                    return
            else:
                self._failed(state, f"{shown} redirected more than {MAX_REDIRECTS} times")
                return
            if status in (401, 403):
                self._failed(state, f"{shown} answered HTTP {status} (the API key was "
                             "refused)", _key_refused(self.config))
                return
            if status != 200:
                self._failed(state, f"{shown} answered HTTP {status}")
                return
            if len(content) > MAX_CONTENT:
                self._failed(state, f"{shown} answered more than {MAX_CONTENT} bytes")
                return
            try:
                base = _valid_base(json.loads(content).get("baseUrl"))
            except (ValueError, AttributeError):
                base = None
            if base is None:
                self._failed(state, f"{shown} did not answer a JSON baseUrl http(s) URL")
                return
            with _lock:
                state.base = base
                state.failures = 0
                state.running = False
        except requests.RequestException as exc:
            # The exception text carries the URL but never the key (sent in a header).
            self._unreached(state, url, shown, exc)
        except Exception as exc:  # a daemon thread must not die with a traceback
            self._failed(state, f"{shown}: unexpected {type(exc).__name__}")
        finally:
            if self._session is None:
                session.close()

    def _unreached(self, state: _State, url: str, shown: str,
                   exc: requests.RequestException) -> None:
        """The lookup at ``url`` raised ``exc``: said with the fix (:func:`_fix_for`),
        or, where nothing listens and a warning of this middleware said so already, in
        short; one that says it in full marks it said."""
        told = self._told
        if not is_loopback_url(url) and not isinstance(exc, requests.exceptions.ProxyError):
            self._failed(state, f"{shown}: {described(exc)}", _unreached_fix(url, exc))
        elif not _nothing_there(url, exc):
            self._failed(state, f"{shown}: {type(exc).__name__}",
                         _fix_for(url, exc, self.config.metrics_api))
        elif told.said(url):
            self._failed(state, f"{shown}: {told.again(url)}")
        else:
            self._failed(state, f"{shown}: {type(exc).__name__}",
                         _fix_for(url, exc, self.config.metrics_api))
            told.mark(url, self._logger)

    def _failed(self, state: _State, reason: str, fix: str = SKIP_LOOKUP) -> None:
        with _lock:
            state.failures += 1
            delay = min(RETRY_AFTER * 2 ** min(state.failures - 1, 16), MAX_RETRY_AFTER)
            state.retry_at = _clock() + delay
            state.running = False
        self._logger.warning(
            "readme_metrics: could not look up the documentation URL (%s); "
            "x-documentation-url is left out, next try in %d s at the earliest. %s",
            reason, delay, fix,
        )
