"""Scheduler state: paused DAGs, the engine jobs with their heartbeat, import errors, the run's job.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

Frozen copy of the changes at this revision. ``dag.is_paused`` (Airflow's ``DagModel.is_paused``), the
``job`` table (Airflow's ``Job``: one row per scheduler / ``dagstudio run`` process, ``latest_heartbeat``
updated while it lives), ``dag_run.creating_job_id`` (the job that drives the run: a run whose job is
gone was orphaned by a crash) and ``import_error`` (Airflow's ``ParseImportError``: the last failure to
load a DAG file, with its line).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TS = sa.String(32)


def upgrade() -> None:
    with op.batch_alter_table("dag") as batch:
        batch.add_column(sa.Column("is_paused", sa.Boolean, nullable=False, server_default="0"))
    op.create_table(
        "job",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job_type", sa.String(30), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("hostname", sa.String(500)),
        sa.Column("pid", sa.Integer),
        sa.Column("start_date", _TS),
        sa.Column("end_date", _TS),
        sa.Column("latest_heartbeat", _TS),
    )
    op.create_index("idx_job_state_heartbeat", "job", ["state", "latest_heartbeat"])
    with op.batch_alter_table("dag_run") as batch:
        batch.add_column(sa.Column("creating_job_id", sa.Integer))
    op.create_table(
        "import_error",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("line", sa.Integer),
        sa.Column("stacktrace", sa.Text, nullable=False),
        sa.Column("timestamp", _TS, nullable=False),
        sa.UniqueConstraint("filename", name="import_error_filename_uq"),
    )


def downgrade() -> None:
    op.drop_table("import_error")
    with op.batch_alter_table("dag_run") as batch:
        batch.drop_column("creating_job_id")
    op.drop_index("idx_job_state_heartbeat", "job")
    op.drop_table("job")
    with op.batch_alter_table("dag") as batch:
        batch.drop_column("is_paused")
