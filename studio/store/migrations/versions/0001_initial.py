"""Initial store schema: dag, dag_run, task_instance, task_try, xcom, rendered_task_instance_fields.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Frozen copy of the tables as they were at this revision (later revisions alter them; this file never
changes). Timestamps are UTC ISO text (``studio.store.schema.UTCDateTime``), JSON is text.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TS = sa.String(32)
_TI = ["dag_id", "run_id", "task_id", "map_index"]


def _ti_key() -> list[sa.Column]:
    return [
        sa.Column("dag_id", sa.String(250), nullable=False),
        sa.Column("run_id", sa.String(250), nullable=False),
        sa.Column("task_id", sa.String(250), nullable=False),
        sa.Column("map_index", sa.Integer, nullable=False, server_default="-1"),
    ]


def _ti_fk(name: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(_TI, [f"task_instance.{c}" for c in _TI], name=name, ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "dag",
        sa.Column("dag_id", sa.String(250), primary_key=True),
        sa.Column("fileloc", sa.Text),
        sa.Column("last_seen", _TS),
    )
    op.create_table(
        "dag_run",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("dag_id", sa.String(250), nullable=False),
        sa.Column("run_id", sa.String(250), nullable=False),
        sa.Column("logical_date", _TS),
        sa.Column("run_after", _TS, nullable=False),
        sa.Column("data_interval_start", _TS),
        sa.Column("data_interval_end", _TS),
        sa.Column("run_type", sa.String(50), nullable=False),
        sa.Column("conf", sa.Text, nullable=False, server_default="{}"),
        sa.Column("state", sa.String(50), nullable=False),
        sa.Column("queued_at", _TS),
        sa.Column("start_date", _TS),
        sa.Column("end_date", _TS),
        sa.ForeignKeyConstraint(["dag_id"], ["dag.dag_id"], name="dag_run_dag_fkey", ondelete="CASCADE"),
        sa.UniqueConstraint("dag_id", "run_id", name="dag_run_dag_id_run_id_key"),
        sa.UniqueConstraint("dag_id", "logical_date", name="dag_run_dag_id_logical_date_key"),
    )
    op.create_index("idx_dag_run_run_after", "dag_run", ["dag_id", "run_after"])
    op.create_table(
        "task_instance",
        *_ti_key(),
        sa.Column("state", sa.String(20)),
        sa.Column("try_number", sa.Integer, nullable=False, server_default="0"),
        sa.Column("max_tries", sa.Integer, nullable=False, server_default="0"),
        sa.Column("start_date", _TS),
        sa.Column("end_date", _TS),
        sa.Column("duration", sa.Float),
        sa.Column("pid", sa.Integer),
        sa.Column("hostname", sa.String(1000)),
        sa.Column("queued_dttm", _TS),
        sa.Column("priority_weight", sa.Integer, nullable=False, server_default="1"),
        sa.Column("pool", sa.String(256), nullable=False, server_default="default_pool"),
        sa.Column("pool_slots", sa.Integer, nullable=False, server_default="1"),
        sa.Column("operator", sa.String(1000)),
        sa.Column("updated_at", _TS),
        sa.PrimaryKeyConstraint(*_TI, name="task_instance_pkey"),
        sa.ForeignKeyConstraint(
            ["dag_id", "run_id"],
            ["dag_run.dag_id", "dag_run.run_id"],
            name="task_instance_dag_run_fkey",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "task_try",
        *_ti_key(),
        sa.Column("try_number", sa.Integer, nullable=False),
        sa.Column("state", sa.String(20)),
        sa.Column("queued_dttm", _TS),
        sa.Column("start_date", _TS),
        sa.Column("end_date", _TS),
        sa.Column("duration", sa.Float),
        sa.Column("pid", sa.Integer),
        sa.Column("exit_code", sa.Integer),
        sa.Column("hostname", sa.String(1000)),
        sa.Column("log_path", sa.Text),
        sa.Column("error", sa.Text),
        sa.PrimaryKeyConstraint(*_TI, "try_number", name="task_try_pkey"),
        _ti_fk("task_try_ti_fkey"),
    )
    op.create_table(
        "xcom",
        *_ti_key(),
        sa.Column("key", sa.String(512), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("timestamp", _TS, nullable=False),
        sa.PrimaryKeyConstraint(*_TI, "key", name="xcom_pkey"),
        _ti_fk("xcom_ti_fkey"),
    )
    op.create_table(
        "rendered_task_instance_fields",
        *_ti_key(),
        sa.Column("try_number", sa.Integer, nullable=False),
        sa.Column("rendered_fields", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint(*_TI, name="rendered_task_instance_fields_pkey"),
        _ti_fk("rtif_ti_fkey"),
    )


def downgrade() -> None:
    for table in ("rendered_task_instance_fields", "xcom", "task_try", "task_instance", "dag_run", "dag"):
        op.drop_table(table)
