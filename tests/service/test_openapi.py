"""The API documents itself: /openapi.json from the schemas, and a docs page with no CDN."""

import re

from flask.testing import FlaskClient


def test_openapi_lists_every_endpoint_with_bearer_auth(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/v1/items", "/api/v1/items/{item_id}/transitions", "/api/v1/documents",
            "/api/v1/units", "/api/v1/audit", "/api/v1/tokens"} <= set(spec["paths"])
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    problem = spec["components"]["responses"]["DEFAULT_ERROR"]["content"]
    assert "application/problem+json" in problem


def test_docs_page_loads_only_local_assets(client: FlaskClient) -> None:
    page = client.get("/docs/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert not re.search(r"""(src|href)=["']https?://""", html)
    for asset in re.findall(r"""(?:src|href)=["']([^"']+\.(?:js|css))["']""", html):
        url = asset if asset.startswith("/") else f"/docs/{asset.lstrip('./')}"
        assert client.get(url).status_code == 200, url
