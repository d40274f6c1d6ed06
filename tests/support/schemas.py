"""PostgreSQL schemas where pgvector's ``vector`` type is not visible: the exact-search path."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from chatapp.services.knowledge import vector_schema


def schema_url(url: str, schema: str) -> str:
    """``url`` with a fresh, empty ``schema`` alone on its search path.

    The extension is created in ``public`` first (when it can be), so that creating the
    app's tables in ``schema`` never installs it there: ``vector`` stays invisible.
    """
    admin = create_engine(url)
    with admin.begin() as connection:
        vector_schema.try_create_extension(connection)
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


def drop_schema(url: str, schema: str) -> None:
    """Remove a schema made by :func:`schema_url`."""
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()
