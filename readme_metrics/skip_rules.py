"""Which exchanges are logged: the skip rules of SPEC section 3, decided on the request thread.

A request is not logged when its method is in ``skip_methods``, its Host (behind
``trusted_proxies``, the one they forwarded) is not in ``allowed_http_hosts``, or it is
this library's own POST of logs arriving at the app (README_METRICS_SERVER pointing at
it: logging it would post it again at the next flush, for ever). Each rule is a set
lookup prepared once; a request left out is said once at DEBUG (a Host) or WARNING (the
library's own POST), never per request.

.. code-block:: python

    rules = SkipRules(config, logger)
    if rules.wants_environ(environ):
        ...  # capture and log it
"""

from __future__ import annotations

import logging
from typing import Any, Mapping, Optional

from readme_metrics._logging import LogLimiter, QuietLogger
from readme_metrics.capture.forwarded import forwarded
from readme_metrics.config import MetricsApiConfig
from readme_metrics.delivery.transport import USER_AGENT

__all__ = ["OWN_AGENT", "SkipRules"]

#: The sender's User-Agent up to its version: a POST with it to the Metrics API's path is
#: the library's own delivery, arriving at this app when README_METRICS_SERVER points here.
OWN_AGENT = USER_AGENT.partition("@")[0] + "@"

_METRICS_PATH = "/v1/request"
_SELF_POST = (
    "readme_metrics: README_METRICS_SERVER points at this app: this library's own POST "
    "to {} arrived here (that POST is not logged), and the app's answer to it is taken "
    "as the Metrics API's: a 2xx counts the logs as delivered, a 404 (no such route) as "
    "rejected and dropped, a 5xx as a failure to retry; they are lost either way; point "
    "it at the Metrics API or at `readme-metrics collect` (http://127.0.0.1:8001)")


def _without_root_dot(host: str) -> str:
    """``host`` without a fully qualified name's root dot ("api.example.com." and
    "api.example.com.:8080" name api.example.com, as Django's ALLOWED_HOSTS reads them)."""
    name, colon, port = host.rpartition(":")
    if colon and port.isdigit():
        return name.removesuffix(".") + colon + port
    return host.removesuffix(".")


class SkipRules:
    """The skip rules of one middleware's config: :meth:`wants` a request logged?"""

    def __init__(self, config: MetricsApiConfig, logger: QuietLogger) -> None:
        self._skip_methods = frozenset(config.skip_methods)
        # An entry written with the root dot names the same host (_without_root_dot).
        self._hosts = frozenset(_without_root_dot(host) for host in config.allowed_http_hosts)
        #: True when every Host is logged (no ``allowed_http_hosts``): an adapter may then
        #: tell most requests wanted without calling :meth:`wants_environ`: a method not
        #: in ``skip_methods`` and a User-Agent that does not start with
        #: :data:`OWN_AGENT` (the WSGI middleware's ``__call__`` writes that out).
        self.any_host = not self._hosts
        self.skip_methods = self._skip_methods
        #: True when ``wants`` needs the X-Forwarded-Host header: behind trusted proxies
        #: the Host that counts is the one they forwarded (as in the url, as ProxyFix).
        self.forwarded_hosts = bool(self._hosts) and config.trusted_proxies > 0
        self.config = config
        self.logger = logger
        self._said = LogLimiter(logger, interval=None)
        self._hosts_said = LogLimiter(logger, interval=None, max_keys=16)

    def wants(self, method: str, host: str, forwarded_host: Optional[str] = None,
              user_agent: Optional[str] = None, path: str = "") -> bool:
        """False for a skipped method, a Host outside ``allowed_http_hosts``, or the
        library's own POST of logs (``user_agent`` and ``path``: the request's).

        ``forwarded_host``: the raw X-Forwarded-Host header, which counts only through
        ``trusted_proxies`` (see ``forwarded_hosts``).
        """
        if method in self._skip_methods:
            return False
        if user_agent is not None and user_agent.startswith(OWN_AGENT) and (
                self._own_post(method, path)):
            return False
        return not self._hosts or self._host_allowed(host, forwarded_host)

    def wants_environ(self, environ: Mapping[str, Any]) -> bool:
        """:meth:`wants` of a WSGI environ, reading only the variables it needs: the
        Host and the path only when allowed_http_hosts is set or the agent is ours."""
        method = environ.get("REQUEST_METHOD", "GET")
        if method in self._skip_methods:
            return False
        agent = environ.get("HTTP_USER_AGENT")
        if agent is not None and agent.startswith(OWN_AGENT) and (
                self._own_post(method, environ.get("PATH_INFO", ""))):
            return False
        return not self._hosts or self._host_allowed(
            environ.get("HTTP_HOST") or environ.get("SERVER_NAME", ""),
            environ.get("HTTP_X_FORWARDED_HOST"))

    def _host_allowed(self, host: str, forwarded_host: Optional[str]) -> bool:
        if self.forwarded_hosts:
            host = forwarded(forwarded_host, self.config.trusted_proxies) or host
        host = host.lower()
        if self._listed(_without_root_dot(host)):
            return True
        if self.logger.isEnabledFor(logging.DEBUG):
            self._host_not_allowed(host)
        return False

    def _listed(self, host: str) -> bool:
        return host in self._hosts or host.rpartition(":")[0] in self._hosts

    def _host_not_allowed(self, host: str) -> None:
        """At DEBUG, once per Host (16 at most): why a request was left out. Under Django
        and FastAPI, which give no ``stats``, a newcomer's allowed_http_hosts naming the
        public host, tried with `curl localhost:8000`, left nothing anywhere, even in
        the debug log README points them to."""
        shown = host.rpartition("@")[2][:100]  # a client may send user:password@ there
        self._hosts_said.log(
            logging.DEBUG, shown, "readme_metrics: not logging requests with Host %r: "
            "allowed_http_hosts (README_ALLOWED_HTTP_HOSTS) lists %s", shown,
            ", ".join(sorted(self._hosts)))

    def _own_post(self, method: str, path: str) -> bool:
        """True for the library's POST of logs (its User-Agent seen): logging it would
        post it again at the next flush, and that one too, for ever."""
        if method != "POST" or not path.rstrip("/").endswith(_METRICS_PATH):
            return False
        self.logger.debug("readme_metrics: not logging this library's own POST %s", path)
        self._said.log(logging.WARNING, "self-post", "%s", _SELF_POST.format(path))
        return True
