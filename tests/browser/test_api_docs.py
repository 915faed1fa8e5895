"""The API docs, Swagger UI at /docs and ReDoc at /redoc, render in Chromium with every
request outside this server refused, as on a machine with no internet."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Browser, Locator, Page, Route, expect

from tests.browser.conftest import screenshot_path

REFUND = "/v1/orders/{order_id}/refund"


def swagger_ui(page: Page) -> Locator:
    expect(page.locator(".opblock").first).to_be_visible(timeout=15_000)
    return page.get_by_text(REFUND).first


def redoc(page: Page) -> Locator:
    # ReDoc gives each operation a section; its request panel names the path.
    expect(page.locator("[data-section-id^='operation/']").first).to_be_attached(timeout=15_000)
    return page.locator("[data-section-id^='operation/']").get_by_text(REFUND).first


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
    for path, rendered in (("/docs", swagger_ui), ("/redoc", redoc)):
        page.goto(f"{server}{path}")
        expect(rendered(page)).to_be_visible(timeout=15_000)
        page.screenshot(path=screenshot_path(f"api-docs-offline{path.replace('/', '-')}"))
    assert refused == []
    page.close()
