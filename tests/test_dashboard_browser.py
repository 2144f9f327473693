"""The collector's dashboard in a real headless Chromium (Debian's ``chromium`` package).

``readme-metrics collect`` runs as a subprocess and receives logs from a real
MetricsMiddleware; the page must list them newest first, refresh live, filter, open one
call with its pretty-printed JSON bodies, follow an x-documentation-url, and fetch
nothing from anywhere but the collector. A screenshot is saved under the test's tmp dir.
Without Playwright or Chromium the test is skipped with the reason, never passed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from tests.utils import CommandProcess, ThreadedWSGIServer

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
CALLERS = {"k-alice": "Alice", "k-bob": "Bob", "k-carol": "Carol"}
ORDER = {"order": {"sku": "ACME-ROCKET-42", "qty": 3, "gift": True}}


def shop(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """A small API: orders echo their body, /broken fails."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    path = environ["PATH_INFO"]
    if path == "/broken":
        status, answer = "500 Internal Server Error", {"error": "kaput"}
    elif path == "/orders" and environ["REQUEST_METHOD"] == "POST":
        status, answer = "201 Created", {"accepted": json.loads(body), "id": "o-1"}
    else:
        status, answer = "200 OK", {"path": path}
    start_response(status, [("Content-Type", "application/json")])
    return [json.dumps(answer).encode()]


def grouping(request: Any) -> dict[str, str]:
    key = request.headers.get("X-Api-Key", "k-alice")
    return {"api_key": key, "label": CALLERS[key], "email": f"{CALLERS[key].lower()}@shop.test"}


@pytest.fixture
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install playwright)")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} "
                    "(apt-get install -y chromium)")
    with sync_playwright() as playwright:
        # Installed but not starting is a real failure, not a reason to skip.
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[str]:
    with CommandProcess("collect", "--port", "0", "--har", str(tmp_path / "b.har"),
                        cwd=tmp_path) as proc:
        yield proc.wait_for(r"listening on (http://127\.0\.0\.1:\d+)").group(1)


def test_dashboard_lists_filters_and_opens_calls(browser: Any, collector: str,
                                                 tmp_path: Path) -> None:
    from playwright.sync_api import expect

    middleware = MetricsMiddleware(shop, MetricsApiConfig(
        api_key="rdme_browser_test", grouping_function=grouping, metrics_api=collector,
        base_log_url=collector, background_worker_mode=False, buffer_length=1, timeout=10,
    ))
    calls = [
        ("GET", "/catalog", "k-alice", None),
        ("POST", "/orders", "k-bob", ORDER),
        ("GET", "/broken", "k-carol", None),
        ("GET", "/catalog/7", "k-carol", None),
    ]
    with ThreadedWSGIServer(middleware) as api:
        docs_urls = {}
        for method, path, key, body in calls:
            response = requests.request(method, api.url + path, json=body, timeout=10,
                                        headers={"X-Api-Key": key})
            docs_urls[path] = response.headers["x-documentation-url"]
        assert middleware.flush(timeout=10)

        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        fetched: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("request", lambda req: fetched.append(req.url))
        page.goto(collector + "/")
        rows = page.locator("#logs tbody tr")
        expect(rows).to_have_count(4)
        # Newest first, with method, path, coloured status and caller.
        expect(rows.nth(0)).to_contain_text("/catalog/7")
        expect(rows.nth(3)).to_contain_text("/catalog")
        expect(rows.filter(has_text="/broken").locator(".badge.s5")).to_have_text("500")
        expect(rows.filter(has_text="/orders")).to_contain_text("Bob")
        expect(page.locator("#sum-calls")).to_have_text("4")
        expect(page.locator('#chart g[data-endpoint="POST /orders"]')).to_have_count(1)

        # Live refresh: a new call shows up at the top without a reload.
        requests.get(api.url + "/live", headers={"X-Api-Key": "k-alice"}, timeout=10)
        assert middleware.flush(timeout=10)
        expect(rows).to_have_count(5)
        expect(rows.nth(0)).to_contain_text("/live")

        # Filters: path, status, caller.
        page.fill("#filter-path", "catalog")
        expect(rows).to_have_count(2)
        page.fill("#filter-path", "")
        page.select_option("#filter-status", "5")
        expect(rows).to_have_count(1)
        expect(rows.nth(0)).to_contain_text("/broken")
        page.select_option("#filter-status", "err")
        expect(rows).to_have_count(1)
        page.select_option("#filter-status", "")
        page.fill("#filter-caller", "carol")
        expect(rows).to_have_count(2)
        page.fill("#filter-caller", "")
        expect(rows).to_have_count(5)

        # Open one call: headers and pretty-printed JSON bodies.
        rows.filter(has_text="/orders").click()
        detail = page.locator("#detail")
        expect(detail).to_be_visible()
        expect(page.locator("#detail-title")).to_contain_text("POST " + api.url + "/orders")
        request_body = page.locator("#detail-request-body")
        expect(request_body).to_contain_text('"sku": "ACME-ROCKET-42"')
        assert request_body.text_content() == json.dumps(ORDER, indent=2)
        expect(page.locator("#detail-response-body")).to_contain_text('"id": "o-1"')
        expect(page.locator("#detail-request-headers")).to_contain_text("X-Api-Key")
        expect(page.locator("#detail-meta")).to_contain_text("bob@shop.test")
        assert page.url.endswith("/logs/" + docs_urls["/orders"].rsplit("/", 1)[1])
        page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

        # x-documentation-url opens the dashboard focused on that call.
        page.goto(docs_urls["/broken"])
        expect(page.locator("#detail-title")).to_contain_text("/broken")
        expect(page.locator("#detail-response-body")).to_contain_text('"error": "kaput"')
        page.keyboard.press("Escape")
        expect(detail).to_be_hidden()

    middleware.close()
    assert errors == []
    assert fetched and all(url.startswith(collector + "/") for url in fetched), fetched
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000
