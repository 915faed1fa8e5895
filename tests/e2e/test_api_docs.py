"""/docs and /redoc work with no internet: Swagger UI and ReDoc come from the package, not
a CDN (tests/browser/test_api_docs.py renders both with every other host refused)."""

from __future__ import annotations

import re

from tests.conftest import Api


def test_the_docs_page_loads_only_assets_served_here(api: Api) -> None:
    page = api.client.get("/docs")
    assert page.status_code == 200
    assert "/docs-assets/swagger-ui-bundle.js" in page.text
    assert not re.search(r"""(src|href)=["']https?://""", page.text), page.text
    assert "cdn." not in page.text
    assert '"validatorUrl": null' in page.text  # else it asks validator.swagger.io
    script = api.client.get("/docs-assets/swagger-ui-bundle.js")
    style = api.client.get("/docs-assets/swagger-ui.css")
    assert script.status_code == style.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert style.headers["content-type"].startswith("text/css")
    assert len(script.content) > 1_000_000  # the real bundle, not a placeholder


def test_the_redoc_page_loads_only_assets_served_here(api: Api) -> None:
    page = api.client.get("/redoc")
    assert page.status_code == 200
    assert '<script src="/redoc-assets/redoc.standalone.js">' in page.text
    assert '<redoc spec-url="/openapi.json">' in page.text
    assert not re.search(r"https?://", page.text), page.text  # no font, CDN or icon host
    # The bundle shows a logo from cdn.redoc.ly: the page forbids loading from elsewhere.
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "img-src 'self' data:" in policy
    script = api.client.get("/redoc-assets/redoc.standalone.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert len(script.content) > 1_000_000  # the real bundle, not a placeholder
    assert api.client.get("/redoc-assets/LICENSE").status_code == 200
