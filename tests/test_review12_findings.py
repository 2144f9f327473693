"""review12's findings: each test failed on main at 7d9cc46 and passes with its fix."""

from __future__ import annotations

from tests.support.fake_api import Collector, Reply, basic_auth
from tests.support.polling import wait_until
from tests.test_docs_url import Records, make_config, records  # noqa: F401 - a fixture


def test_docs_lookup_redirect_check_reads_the_location_as_requests_does(
        collector: Collector, records: Records) -> None:  # noqa: F811
    """docs_url._redirect_refused read the redirect target with urllib.parse, requests
    connects where urllib3 reads it: ``http://localhost:<b>\\@127.0.0.1:<a>/v1`` is
    127.0.0.1:<a> to urlsplit (all before the "@" is userinfo) and localhost:<b> to
    urllib3 (a backslash ends the authority), so the lookup sent the API key to the
    other host, which the same-host rule (def4b0c) is there to prevent."""
    from readme_metrics.docs_url import DocsUrl

    elsewhere = Collector().start()
    try:
        elsewhere.get_v1 = lambda received: Reply(200, b'{"baseUrl": "https://x.test/"}')
        target = f"http://localhost:{elsewhere.port}\\@127.0.0.1:{collector.port}/v1"
        collector.get_v1 = lambda received: Reply(302, headers={"Location": target})
        config = make_config(collector.url, records)
        docs = DocsUrl(config)
        docs.base()
        wait_until(lambda: bool(records.records or elsewhere.gets), timeout=10.0)
        sent = [g.headers.get("Authorization") for g in elsewhere.gets]
    finally:
        elsewhere.stop()
    assert basic_auth(config.api_key) not in sent, "the API key went to another host"
    assert elsewhere.gets == [] and docs.base() is None
    assert "redirected to another host (http://localhost)" in records.text()
    assert config.api_key not in records.text()
