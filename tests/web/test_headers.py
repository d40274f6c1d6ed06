"""Every HTML response carries a Content-Security-Policy; the API's Swagger pages get one
that allows exactly their own inline parts (by hash) and nothing else inline."""

from __future__ import annotations

import hashlib
from base64 import b64encode
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from chatapp.web.headers import EVENT_HANDLER, INLINE_SCRIPT
from tests.support.clients import AuthActions
from tests.support.live_server import LiveServer

CHROMIUM = Path("/usr/bin/chromium")

DOCS = ["/api/v1/swagger", "/api/v1/", "/api/v1/oauth2-redirect.html"]


def _policy(header: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


def _sha(text: str) -> str:
    return "'sha256-" + b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _html_get_routes(app: Flask) -> list[str]:
    """Every GET route without path arguments, plus the pages with one."""
    paths = [r.rule for r in app.url_map.iter_rules() if "GET" in r.methods and not r.arguments]
    return [*paths, "/chat/nope", "/no-such-page"]


def test_every_html_response_has_a_policy(
    app: Flask, auth: AuthActions, client: FlaskClient
) -> None:
    """Logged in or not, every route answering HTML sends a CSP without unsafe-inline."""
    seen = []
    for logged_in in (False, True):
        if logged_in:
            auth.login()
        for path in _html_get_routes(app):
            response = client.get(path)
            if response.mimetype != "text/html":
                continue
            seen.append(path)
            header = response.headers.get("Content-Security-Policy")
            assert header, path
            policy = _policy(header)
            assert "unsafe-eval" not in header, path
            assert "unsafe-inline" not in policy["script-src"], path
            if path not in DOCS:  # Swagger UI's script adds <style> elements as it runs
                assert "unsafe-inline" not in header, path
            assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
            # blob: only for the chat composer's thumbnails of picked images
            assert policy["img-src"] == "'self' data: blob:", path
            assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert set(DOCS) <= set(seen)
    assert {"/", "/settings", "/auth/login"} <= set(seen)


def test_docs_pages_allow_exactly_their_inline_scripts(client: FlaskClient) -> None:
    """Each inline script and handler of a docs page is allowed by its hash, no other."""
    for path in DOCS:
        response = client.get(path)
        page = response.get_data(as_text=True)
        policy = _policy(response.headers["Content-Security-Policy"])
        script_hashes = set(policy["script-src"].split()) - {"'self'", "'unsafe-hashes'"}
        scripts = {_sha(s) for s in INLINE_SCRIPT.findall(page)}
        handlers = {_sha(h) for h in EVENT_HANDLER.findall(page)}
        assert script_hashes == scripts | handlers, path
        assert ("'unsafe-hashes'" in policy["script-src"]) == bool(handlers)
        assert scripts or handlers  # each docs page has inline script


@pytest.mark.browser
def test_swagger_ui_runs_under_its_policy(tmp_path) -> None:
    """In a real Chromium the Swagger UI renders the API with no CSP violation."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium package")
    errors: list[str] = []
    with LiveServer(tmp_path / "docs.db") as live, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(live.url + "/api/v1/swagger")
        sync_api.expect(page.locator(".swagger-ui .info .title")).to_contain_text("chatapp API")
        page.goto(live.url + "/api/v1/")
        page.locator(".box").first.click()
        page.wait_for_url("**/api/v1/swagger")
        browser.close()
    assert not [e for e in errors if "Content Security Policy" in e], errors
