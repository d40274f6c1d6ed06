"""The JSON API blueprint (``/api``)."""

from .views import bp, health_bp

__all__ = ["bp", "health_bp"]
