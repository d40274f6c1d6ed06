"""Browser pages: the chat page, weekly insights, settings, and the stylesheet for highlighted code.

The pages are shells: their JavaScript (``static/js``) reads and writes everything through
the same JSON API that scripts use.
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template
from flask_login import current_user, login_required

from chatapp.errors import NotFound
from chatapp.gemini import get_model
from chatapp.rendering import highlight_css
from chatapp.services.chat import conversations

from .headers import add_security_headers

bp = Blueprint("web", __name__)
bp.after_app_request(add_security_headers)


@bp.get("/")
@login_required
def index() -> str:
    """The chat page with no conversation open: the composer starts a new one."""
    return _chat_page(None)


@bp.get("/chat/<session_id>")
@login_required
def chat(session_id: str) -> str | tuple[str, int]:
    """The chat page with one of the user's conversations open; 404 for any other id."""
    try:
        session = conversations.get_session(current_user, session_id)
    except NotFound:
        return render_template("web/not_found.html"), 404
    return _chat_page(str(session.id))


def _chat_page(session_id: str | None) -> str:
    """Render the chat page shell, naming the conversation to open."""
    offline = get_model().offline
    return render_template("web/chat.html", session_id=session_id, offline=offline)


@bp.get("/insights")
@login_required
def weekly_insights() -> str:
    """This week's insight (generated and regenerated while streaming in) and past weeks'."""
    return render_template("web/insights.html")


@bp.get("/knowledge")
@login_required
def knowledge() -> str:
    """Knowledge collections: create them, upload documents, watch them being indexed."""
    return render_template("web/knowledge.html")


@bp.get("/settings")
@login_required
def settings() -> str:
    """Account details and API tokens."""
    return render_template("web/settings.html")


@bp.get("/highlight.css")
def highlight_stylesheet() -> Response:
    """Pygments' CSS for highlighted code, light and dark."""
    response = Response(highlight_css(), mimetype="text/css")
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response
