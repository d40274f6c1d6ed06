"""chatapp: a self-hosted chat server for Google Gemini."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask_openapi3 import Info, OpenAPI

from chatapp import (
    api,
    auth,
    cli,
    config,
    cors,
    database,
    errors,
    gemini,
    inputs,
    openapi,
    ratelimits,
    web,
)
from chatapp.extensions import csrf, login_manager
from chatapp.openapi import ChatOpenAPI
from chatapp.services import files, jobs
from chatapp.services.chat import stops

ROOT = Path(__file__).resolve().parent.parent
SECURITY_SCHEMES = {
    "bearerAuth": {"type": "http", "scheme": "bearer", "description": "A personal API token"},
    "cookieAuth": {
        "type": "apiKey",
        "in": "cookie",
        "name": "session",
        "description": "The browser's login; writes also need the X-CSRFToken header",
    },
}


def create_app(test_config: dict[str, Any] | None = None) -> OpenAPI:
    """Build and configure a new application instance."""
    app = ChatOpenAPI(
        __name__,
        info=Info(title="chatapp API", version="1", description=openapi.DESCRIPTION),
        security_schemes=SECURITY_SCHEMES,
        doc_prefix="/api/v1",
        doc_url="/openapi.json",
        validation_error_status=400,
        validation_error_callback=errors.validation_error_response,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    config.load(app, test_config)
    database.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    csrf.init_app(app)
    ratelimits.init_app(app)
    cors.init_app(app)
    errors.init_app(app)
    inputs.init_app(app)
    gemini.init_app(app)
    stops.init_app(app)
    jobs.init_app(app)
    files.init_app(app)
    cli.init_app(app)
    _register_blueprints(app)
    return app


def _register_blueprints(app: OpenAPI) -> None:
    """Attach the API, account and page blueprints."""
    app.url_map.converters.update(api.converters)
    for blueprint in api.blueprints:
        app.register_api(blueprint)
    for name, blueprint in app.blueprints.items():
        if name.split(".")[0] in ("api", "legacy"):
            csrf.exempt(blueprint)  # the API checks CSRF itself, only for cookie logins
    app.register_blueprint(auth.bp)
    app.register_blueprint(web.bp)
