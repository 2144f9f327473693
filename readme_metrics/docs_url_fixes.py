"""The end of the warning of a failed docs-URL lookup: what to do about it.

:class:`~readme_metrics.docs_url.DocsUrl` looks the project's ``baseUrl`` up; when that
fails, its warning ends with the fix that fits: the key refused (the POSTs of logs carry
the same one), a proxy in the way of a collector on this machine, TLS against a
plain-HTTP one, nothing listening there, a host not reached; else how to skip the lookup.
Pure wording: no I/O, no state. (Moved out of ``docs_url``: house39.)
"""

from __future__ import annotations

import requests
from urllib3.util import parse_url

from readme_metrics._loopback import is_loopback_url
from readme_metrics.config import MetricsApiConfig
from readme_metrics.delivery.errors import described
from readme_metrics.delivery.failure_hints import unreached_hint
from readme_metrics.delivery.outcome import UNHEALING_TLS, unhealing_tls
from readme_metrics.delivery.transport import proxy_variables
from readme_metrics.key_checks import KEY_SAID
from readme_metrics.nothing_listens import NothingListens

__all__ = ["KEY_REFUSED", "SKIP_LOOKUP", "fix_for", "key_refused", "nothing_there",
           "unreached_fix"]

#: The end of the warning of a failed lookup: how to do without it.
SKIP_LOOKUP = "Set base_log_url (README_BASE_LOG_URL) to skip this lookup."
#: The end of the warning of a lookup refused for its key (401, 403): the POSTs of logs
#: carry the same key. It said SKIP_LOOKUP, which silenced the warning and left every
#: POST refused (newcomer28).
KEY_REFUSED = ("{key} is wrong or revoked, and the logs, posted "
               "with the same key, are refused too: use your project's API key from the "
               "ReadMe dashboard (against `readme-metrics collect --api-key KEY`, that KEY); "
               "base_log_url (README_BASE_LOG_URL) would only skip this lookup.")


def key_refused(config: MetricsApiConfig) -> str:
    """KEY_REFUSED, naming where the key came from (newcomer33)."""
    said = getattr(config, "api_key_said", KEY_SAID)
    return KEY_REFUSED.format(key=said[:1].upper() + said[1:])


def nothing_there(url: str, exc: requests.RequestException) -> bool:
    """Whether the lookup at ``url`` met nothing listening on this machine (not a proxy
    in the way, not a time-out): the collector not started, or on another port."""
    return (is_loopback_url(url) and isinstance(exc, requests.ConnectionError)
            and not isinstance(exc, (requests.Timeout, requests.exceptions.ProxyError,
                                     requests.exceptions.SSLError)))


def fix_for(url: str, exc: requests.RequestException, metrics_api: str = "") -> str:
    """The end of the warning of a lookup at ``url`` that raised ``exc``: for one on this
    machine (``README_API_URL`` as ``readme-metrics collect`` prints it) that a proxy
    failed, or that reached nothing, what to do about that, which the POSTs of logs to
    the same collector meet too. Said first, at the first request, the warning had only
    "Set base_log_url", which leaves those POSTs failing (newcomer23). An https:// URL
    for a plain-HTTP server there is told so, not that nothing listens (newcomer34)."""
    if not is_loopback_url(url):
        return SKIP_LOOKUP
    host = parse_url(url).host
    if isinstance(exc, (requests.exceptions.ProxyError, requests.exceptions.InvalidSchema,
                        requests.exceptions.InvalidURL)):
        # InvalidSchema: socks:// without PySocks; InvalidURL: a proxy URL that does not
        # parse (newcomer34). readme_api_url is checked: only a proxy brings either here.
        return (f"The proxy that {proxy_variables(url)} names is in its way: start the app with "
                f"NO_PROXY={host} set (keeping what it holds, comma-separated), for it and the "
                f"POSTs of logs to go straight to {host}; or {_lowered(SKIP_LOOKUP)}")
    meaning = unhealing_tls(exc)
    if meaning:
        where = ("readme_api_url (README_API_URL) and metrics_api (README_METRICS_SERVER)"
                 if NothingListens.same_place(url, metrics_api)
                 else "readme_api_url (README_API_URL)")
        plain = meaning == UNHEALING_TLS["WRONG_VERSION_NUMBER"]
        return (f"{meaning[:1].upper()}{meaning[1:]}"
                + (f": `readme-metrics collect` is http://, write {where} with http://"
                   if plain else "") + f"; or {_lowered(SKIP_LOOKUP)}")
    if nothing_there(url, exc):
        # The POSTs of logs to the same port fail alike: their warnings point here.
        where = ("readme_api_url and metrics_api (README_API_URL and README_METRICS_SERVER, "
                 "where the logs go)" if NothingListens.same_place(url, metrics_api)
                 else "readme_api_url (README_API_URL)")
        return ("Nothing listens there: start `readme-metrics collect` (it prints the URLs to "
                "give README_API_URL and README_METRICS_SERVER), or correct the port in "
                f"{where}; or {_lowered(SKIP_LOOKUP)}")
    return SKIP_LOOKUP


def unreached_fix(url: str, exc: requests.RequestException) -> str:
    """The end of the warning of a lookup at ``url``, on another host, that did not reach
    it (a name that does not resolve, a connection refused or dropped, no answer in
    time): the POSTs' own hint (:func:`unreached_hint`), where the warning said only
    "ConnectionError" (newcomer26, ``README_API_URL=http://nowhere.invalid``), and the
    option to correct for a mistyped host."""
    hint = unreached_hint(url, described(exc))
    if not hint:
        return SKIP_LOOKUP
    return (f"{hint[2:3].upper()}{hint[3:]}; or correct readme_api_url (README_API_URL), "
            f"if its host is mistyped. {SKIP_LOOKUP}")


def _lowered(sentence: str) -> str:
    """``sentence`` as the end of another: its first letter lower-cased."""
    return sentence[:1].lower() + sentence[1:]
