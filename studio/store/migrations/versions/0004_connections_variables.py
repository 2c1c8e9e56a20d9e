"""Connections and Variables: Airflow's ``connection`` and ``variable`` tables, with the default connections.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

Frozen copy of the tables at this revision (Airflow's columns without ``team_name``). ``password``,
``extra`` and ``val`` hold Fernet tokens when ``is_encrypted`` / ``is_extra_encrypted`` are true (written by
studio/store/secrets.py with the home's key). Airflow's default connections (``fs_default``,
``aws_default``, ...) are inserted unencrypted, as ``airflow connections create-default-connections`` does
without a Fernet key: they are public placeholders, and seeding needs no key.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from studio.store.default_connections import default_connection_rows

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    connection = op.create_table(
        "connection",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("conn_id", sa.String(250), nullable=False),
        sa.Column("conn_type", sa.String(500), nullable=False),
        sa.Column("description", sa.String(5000)),
        sa.Column("host", sa.String(500)),
        sa.Column("schema", sa.String(500)),
        sa.Column("login", sa.Text),
        sa.Column("password", sa.Text),
        sa.Column("port", sa.Integer),
        sa.Column("is_encrypted", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("is_extra_encrypted", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("extra", sa.Text),
        sa.UniqueConstraint("conn_id", name="connection_conn_id_uq"),
    )
    op.create_table(
        "variable",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("val", sa.Text),
        sa.Column("description", sa.Text),
        sa.Column("is_encrypted", sa.Boolean, nullable=False, server_default="0"),
        sa.UniqueConstraint("key", name="variable_key_uq"),
    )
    op.bulk_insert(connection, default_connection_rows())


def downgrade() -> None:
    op.drop_table("variable")
    op.drop_table("connection")
