"""review81: an adversarial read of this session's first landings (newcomer16, review79,
review80).

* (a) capture/request._origin_form: an absolute-form target's authority ends at a "#"
  too. ``GET http://h#a/b`` was logged ``/b`` (the "#a" read as the host's), and
  ``GET http://h#frag`` as ``/``, where ``GET /#frag`` keeps its ``%23frag``.
"""

from __future__ import annotations

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from tests.support.contract import API_KEY, inline_options
from tests.support.fake_api import Collector
from tests.support.wsgi_servers import served
from tests.test_spec29_acceptance import logged_url, plain_app, send_raw

# -- (a) an absolute-form target with a "#" in its authority's place -----------------------

FRAGMENT = [
    ("http://h#frag", "/%23frag"),
    ("http://h#a/b", "/%23a/b"),
    ("http://h/#frag", "/%23frag"),
    ("http://h?a#b/c", "/?a%23b/c"),
]


# (werkzeug takes the host from the target; wsgiref gives no raw target, and its decoded
# PATH_INFO cannot tell a "#" sent from a %23: left as it was.)
@pytest.mark.parametrize(("server", "host"), [("werkzeug", "h"), ("waitress", "api.example")])
def test_an_absolute_form_targets_fragment_is_not_read_as_its_host(
        collector: Collector, server: str, host: str) -> None:
    middleware = MetricsMiddleware(plain_app, MetricsApiConfig(
        api_key=API_KEY, metrics_api=collector.url, **inline_options({})))
    try:
        with served(server, middleware) as port:
            for count, (target, path) in enumerate(FRAGMENT):
                send_raw(port, f"GET {target} HTTP/1.1\r\nHost: api.example\r\n"
                               "Connection: close\r\n\r\n".encode())
                assert logged_url(collector, count) == f"http://{host}{path}", target
    finally:
        middleware.close()
