"""The JSON API: ``/api`` blueprints, and seed 001's paths at the root."""

from . import chat, legacy
from .views import bp, health_bp

bp.register_api(chat.bp)
blueprints = (bp, health_bp, legacy.bp)

__all__ = ["blueprints", "bp"]
