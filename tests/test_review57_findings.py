"""review57: newcomer9's and spec25's landings reviewed, then the credential header list.

Each test is one defect found, with the library's real parts (a real server, a real
collector, the collector's own checks); each failed before its fix.
"""

from __future__ import annotations

from typing import Any

import pytest

from readme_metrics import MetricsApiConfig
from tests.support.contract import API_KEY, caller
from tests.support.fake_api import Collector


def _entry(log: dict[str, Any]) -> dict[str, Any]:
    return log["request"]["log"]["entries"][0]


# -- 3e05793: the options check of the middlewares' __new__ ------------------------------

def _hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


def test_a_subclass_whose_own_init_takes_option_keywords_is_made_as_before(
        collector: Collector) -> None:
    """A user's subclass whose ``__init__`` takes ``api_key=...`` and builds the config
    itself (as an app wraps the middleware with its own defaults) was refused with the
    TypeError meant for ``MetricsMiddleware(app, api_key=...)``: the check in the base's
    ``__new__`` looked at the keywords only, not at whether the class takes them. Made
    directly, and lazily by Starlette's ``add_middleware`` (FastAPI's middleware)."""
    import requests
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from readme_metrics import MetricsMiddleware
    from readme_metrics.fastapi import ReadMeMetricsMiddleware
    from tests.support.wsgi import ThreadedWSGIServer

    class Ours(MetricsMiddleware):
        def __init__(self, app: Any, api_key: str, metrics_api: str,
                     development_mode: bool = True) -> None:
            super().__init__(app, MetricsApiConfig(
                api_key=api_key, grouping_function=caller, metrics_api=metrics_api,
                development_mode=development_mode))

    class OursFast(ReadMeMetricsMiddleware):
        def __init__(self, app: Any, api_key: str, metrics_api: str) -> None:
            super().__init__(app, MetricsApiConfig(
                api_key=api_key, grouping_function=caller, metrics_api=metrics_api))

    middleware = Ours(_hello, api_key=API_KEY, metrics_api=collector.url)
    try:
        with ThreadedWSGIServer(middleware) as server:
            assert requests.get(server.url + "/wsgi", headers={"X-Api-Key": "owlbert"},
                                timeout=30).text == "hello"
        assert middleware.flush(10) is True
    finally:
        middleware.close()
    fast = FastAPI()

    @fast.get("/asgi")
    def answer() -> dict[str, str]:
        return {"ok": "yes"}

    fast.add_middleware(OursFast, api_key=API_KEY, metrics_api=collector.url)
    with TestClient(fast) as client:
        assert client.get("/asgi", headers={"X-Api-Key": "owlbert"}).json() == {"ok": "yes"}
    logs = collector.wait_for_logs(2)
    assert sorted(_entry(log)["request"]["url"].rpartition("/")[2] for log in logs) == [
        "asgi", "wsgi"]
    assert [log["development"] for log in logs if _entry(log)["request"]["url"].endswith(
        "/wsgi")] == [True]
    # and the library's own classes still say where options go
    with pytest.raises(TypeError, match=r"api_key=\.\.\. is an option of MetricsApiConfig"):
        MetricsMiddleware(_hello, api_key=API_KEY)
