"""Pools: the ``slot_pool`` table (Airflow's), with ``default_pool`` of 128 slots.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

Frozen copy of the table at this revision. ``slots`` -1 means unlimited (as Airflow); ``default_pool`` is
created here like Airflow's ``add_default_pool_if_not_exists`` with ``[core] default_pool_task_slot_count``
(128) and cannot be deleted.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

DEFAULT_POOL_SLOTS = 128


def upgrade() -> None:
    table = op.create_table(
        "slot_pool",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("pool", sa.String(256), nullable=False),
        sa.Column("slots", sa.Integer, nullable=False, server_default="0"),
        sa.Column("description", sa.Text),
        sa.Column("include_deferred", sa.Boolean, nullable=False, server_default="0"),
        sa.UniqueConstraint("pool", name="slot_pool_pool_uq"),
    )
    default = {"pool": "default_pool", "slots": DEFAULT_POOL_SLOTS, "description": "Default pool"}
    op.bulk_insert(table, [{**default, "include_deferred": False}])


def downgrade() -> None:
    op.drop_table("slot_pool")
