"""Alembic environment and revisions of the store's schema (``versions/``: 0001 creates it)."""
