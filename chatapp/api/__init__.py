"""The JSON API: ``/api`` blueprints, and seed 001's paths at the root."""

from . import chat, insights, knowledge, knowledge_search, legacy, personalities
from .views import bp, health_bp

bp.register_api(chat.bp)
bp.register_api(insights.bp)
bp.register_api(knowledge.bp)
bp.register_api(personalities.bp)
bp.register_api(knowledge_search.bp)
blueprints = (bp, health_bp, legacy.bp)

__all__ = ["blueprints", "bp"]
