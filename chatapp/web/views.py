"""Browser pages (``/``)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask_login import current_user, login_required

bp = Blueprint("web", __name__)


@bp.get("/")
@login_required
def index() -> str:
    """The logged-in landing page."""
    offline = not current_app.config["GEMINI_API_KEY"]
    return render_template("web/index.html", user=current_user, offline=offline)
