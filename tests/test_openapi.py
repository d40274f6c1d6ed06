"""The OpenAPI document covers every /api/v1 route, and its page works offline."""

import re
from urllib.parse import urljoin

from flask import Flask
from flask.testing import FlaskClient

from chatapp.schemas.common import NOT_BLANK

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


def _spec(client: FlaskClient) -> dict:
    return client.get("/api/v1/openapi.json").json


def _operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_every_400_is_the_error_object(client: FlaskClient) -> None:
    """A 400 is declared as ErrorBody everywhere, never flask-openapi3's validation array."""
    spec = _spec(client)
    for path, method, operation in _operations(spec):
        schema = operation["responses"]["400"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (path, method)
    assert "ValidationErrorModel" not in str(spec)


STREAMS = [
    ("/api/v1/chat/message/stream", "post"),
    ("/api/v1/chat/session/{session_id}/regenerate/stream", "post"),
    ("/api/v1/chat/session/{session_id}/edit/stream", "post"),
    ("/api/v1/chat/insights/stream", "get"),
    ("/api/v1/chat/weekly-insights/stream", "get"),
    ("/api/v1/chat/weekly-insights/regenerate", "post"),
]


def test_streams_are_declared_as_event_streams(client: FlaskClient, auth) -> None:
    """Streaming routes declare text/event-stream, and that is what they answer."""
    spec = _spec(client)
    streaming = set()
    for path, method, operation in _operations(spec):
        content = operation["responses"].get("200", {}).get("content", {})
        if "text/event-stream" in content:
            assert "application/json" not in content
            data = content["text/event-stream"]["schema"]["properties"]["data"]
            assert data["contentMediaType"] == "application/json"
            assert data["contentSchema"]["$ref"].endswith("StreamEvent")
            streaming.add((path, method))
    assert streaming == set(STREAMS)
    response = client.get("/api/v1/chat/insights/stream", headers=auth.headers())
    assert response.mimetype == "text/event-stream"
    response.close()


def test_schema_refuses_what_the_app_refuses(client: FlaskClient, auth) -> None:
    """Blank messages and null personality fields: refused by the schema and by the app."""
    schemas = _spec(client)["components"]["schemas"]
    assert schemas["MessageIn"]["properties"]["message"]["pattern"] == NOT_BLANK
    assert schemas["PromptIn"]["properties"]["prompt"]["pattern"] == NOT_BLANK
    update = schemas["PersonalityUpdate"]
    assert update["minProperties"] == 1
    for prop in update["properties"].values():
        assert prop["type"] == "string" and "anyOf" not in prop and prop["pattern"] == NOT_BLANK
    headers = auth.headers()
    body = {"name": "Mine", "system_prompt": "Be brief."}
    mine = client.post("/api/v1/personalities", json=body, headers=headers).json["id"]
    url = f"/api/v1/personalities/{mine}"
    for bad in ({"name": None}, {"name": None, "system_prompt": "x"}, {}, {"name": "  "}):
        assert client.patch(url, json=bad, headers=headers).status_code == 400, bad
    assert client.get(url, headers=headers).json["name"] == "Mine"
    blank = client.post("/api/v1/chat/message", json={"message": " \n "}, headers=headers)
    assert blank.status_code == 400


def test_time_zones_are_described(client: FlaskClient) -> None:
    """The accepted zone names are listed; week bounds and timestamps say which zone."""
    spec = _spec(client)
    schemas = spec["components"]["schemas"]
    zone = schemas["MeUpdate"]["properties"]["timezone"]
    assert "IANA" in zone["description"] and {"Europe/Berlin", "UTC"} <= set(zone["enum"])
    assert "time zone" in schemas["CurrentWeekOut"]["properties"]["weekStart"]["description"]
    assert "time zone" in schemas["WeeklyInsightOut"]["properties"]["week_start"]["description"]
    assert "UTC" in spec["info"]["description"]
