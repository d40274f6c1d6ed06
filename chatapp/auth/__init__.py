"""Browser account pages (``/auth``)."""

from .views import bp

__all__ = ["bp"]
