"""The JSON API: ``/api`` blueprints, and seed 001's paths at the root."""

from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from chatapp.schemas.common import MAX_ID

from . import (
    chat,
    files,
    insights,
    knowledge,
    knowledge_search,
    legacy,
    personalities,
    seeds,
    transfer,
)
from .views import bp, health_bp


class IdConverter(IntegerConverter):
    """``<id:name>``: a row id that can exist (1..2^31-1); any other number is a 404."""

    def to_python(self, value: str) -> int:
        """Return the id, or answer 404 (not werkzeug's 405 from a sibling rule's method)."""
        number = int(value)
        if not 1 <= number <= MAX_ID:
            raise NotFound()
        return number


bp.register_api(chat.bp)
bp.register_api(insights.bp)
bp.register_api(knowledge.bp)
bp.register_api(personalities.bp)
bp.register_api(knowledge_search.bp)
bp.register_api(seeds.bp)
bp.register_api(transfer.bp)
bp.register_api(files.bp)
blueprints = (bp, health_bp, legacy.bp)
converters = {"id": IdConverter}

__all__ = ["blueprints", "bp", "converters"]
