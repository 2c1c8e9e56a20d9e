"""Airflow 2 files: recognise them and make Airflow 2's DAG defaults explicit in the model.

The model means Airflow 3's defaults (``schedule=None``, ``catchup=False``). An Airflow 2 file that
leaves them out ran daily with catchup (``schedule_interval`` defaulted to ``timedelta(days=1)``,
``[scheduler] catchup_by_default`` to True), so importing it writes those values into the model — the
DAG then behaves the same once exported for Airflow 3 — and says so in a warning.
"""

from __future__ import annotations

import ast
import datetime as dt

from studio.core.diagnostics import Diagnostic, warning
from studio.core.model import Dag

# Modules that only Airflow 2 serves (Airflow 3 moved them to airflow.sdk and the providers).
AIRFLOW2_MODULES = (
    "airflow.operators",
    "airflow.sensors",
    "airflow.decorators",
    "airflow.utils.task_group",
    "airflow.utils.dates",
    "airflow.utils.edgemodifier",
    "airflow.models.dag",
    "airflow.models.baseoperator",
    "airflow.models.param",
    "airflow.contrib",
)

AIRFLOW2_DEFAULTS = {"schedule": dt.timedelta(days=1), "catchup": True}
AIRFLOW2_DEFAULTS_NOTE = "is an Airflow 2 DAG without"  # in the text of the warnings below


def is_airflow2_file(tree: ast.Module) -> bool:
    """True when the file imports a module only Airflow 2 has, or passes ``schedule_interval=``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if node.module.startswith(AIRFLOW2_MODULES):
                return True
        elif isinstance(node, ast.Import):
            if any(alias.name.startswith(AIRFLOW2_MODULES) for alias in node.names):
                return True
        elif isinstance(node, ast.keyword) and node.arg == "schedule_interval":
            return True
    return False


def apply_airflow2_defaults(dag: Dag, file: str) -> list[Diagnostic]:
    """Set the Airflow 2 defaults the DAG leaves out; one warning per value set."""
    line = dag.source.lines.get("dag") if dag.source else None
    out = []
    for name, value in AIRFLOW2_DEFAULTS.items():
        if name in dag.args:
            continue
        dag.args[name] = value
        shown = "timedelta(days=1)" if name == "schedule" else repr(value)
        out.append(
            warning(
                f"DAG {dag.dag_id!r} {AIRFLOW2_DEFAULTS_NOTE} {name}=: Airflow 2 used {name}={shown}, "
                f"Airflow 3 does not; DAG Studio sets {name}={shown} so it behaves the same",
                file,
                line,
                dag_id=dag.dag_id,
            )
        )
    return out
