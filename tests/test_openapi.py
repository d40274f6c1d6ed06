"""The OpenAPI document covers every /api/v1 route, and its page works offline."""

import re
from urllib.parse import urljoin

from flask import Flask
from flask.testing import FlaskClient

DOC_ENDPOINTS = ("openapi.", "swagger.")


def api_routes(app: Flask) -> set[tuple[str, str]]:
    """Return (path, method) for every /api route the app serves, in OpenAPI syntax."""
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.endpoint.startswith(DOC_ENDPOINTS):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((path, method.lower()))
    return routes


def test_every_route_is_documented(app: Flask, client: FlaskClient) -> None:
    """Each /api route appears in /api/v1/openapi.json with its method."""
    spec = client.get("/api/v1/openapi.json").json
    documented = {(path, method) for path, item in spec["paths"].items() for method in item}
    missing = api_routes(app) - documented
    assert not missing, f"routes missing from the OpenAPI document: {sorted(missing)}"


def test_document_declares_auth_and_errors(client: FlaskClient) -> None:
    """Protected routes declare Bearer/cookie auth and the error shape; health is public."""
    spec = client.get("/api/v1/openapi.json").json
    me = spec["paths"]["/api/v1/me"]["get"]
    assert {"bearerAuth": []} in me["security"]
    assert "401" in me["responses"]
    assert "security" not in spec["paths"]["/api/v1/health"]["get"]
    token = spec["paths"]["/api/v1/auth/tokens"]["post"]
    assert {} in token["security"]  # a password in the body also works
    assert "ErrorBody" in spec["components"]["schemas"]


def test_docs_page_serves_its_own_assets(client: FlaskClient) -> None:
    """The browsable page loads nothing from a CDN."""
    page = client.get("/api/v1/swagger").get_data(as_text=True)
    assert "swagger-ui" in page
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets
    assert all(not asset.startswith(("http:", "https:", "//")) for asset in assets), assets
    for asset in assets:
        if asset.endswith((".js", ".css")):
            response = client.get(urljoin("/api/v1/swagger", asset))
            response.close()
            assert response.status_code == 200, asset
