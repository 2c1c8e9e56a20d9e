"""Alembic environment of the store: migrations always run on the connection the store hands over.

``studio.store.migrate`` puts an open SQLAlchemy connection into ``config.attributes["connection"]``;
there is no ``alembic.ini`` and no URL: the store is the only way in.
"""

from __future__ import annotations

from alembic import context

from studio.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run DAG Studio's store migrations through studio.store.migrate, not the alembic CLI")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
