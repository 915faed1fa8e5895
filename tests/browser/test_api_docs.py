"""The interactive API docs render in Chromium with every request outside this server
refused, as on a machine with no internet."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Browser, Route, expect

from tests.browser.conftest import screenshot_path


def test_the_api_docs_render_offline(browser: Browser, server: str) -> None:
    page = browser.new_page()
    here = urlsplit(server).netloc
    refused: list[str] = []

    def only_here(route: Route) -> None:
        if urlsplit(route.request.url).netloc == here:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", only_here)
    page.goto(f"{server}/docs")
    expect(page.locator(".opblock").first).to_be_visible(timeout=15_000)
    expect(page.get_by_text("/v1/orders/{order_id}/refund").first).to_be_visible()
    page.screenshot(path=screenshot_path("api-docs-offline"))
    assert refused == []
    page.close()
