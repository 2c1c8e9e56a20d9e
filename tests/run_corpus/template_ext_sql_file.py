"""template_ext on a user operator: a field listed in template_fields whose value ends in .sql is read
from the file next to the DAG and rendered with the context (here a BaseOperator subclass, no database).

template_ext_sql_file.sql holds SELECT '{{ ds }}' AS day, '{{ params.table }}' AS source; the operator
writes a marker named after the rendered day and source. Expected: render_sql success/1; marker
sql_2024-01-01_events; run success.
"""

import os
import re
from datetime import datetime

from airflow.sdk import DAG, BaseOperator

EXPECTED_RUN_STATE = "success"
EXPECTED = {"render_sql": ("success", 1)}
EXPECTED_MARKERS = ["sql_2024-01-01_events"]


class RenderSqlOperator(BaseOperator):
    """Renders its sql (template_ext .sql) and records what it rendered."""

    template_fields = ("sql",)
    template_ext = (".sql",)

    def __init__(self, sql: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.sql = sql

    def execute(self, context) -> str:
        day, source = re.findall(r"'([^']*)'", self.sql)
        open(os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), f"sql_{day}_{source}"), "w").close()
        return self.sql


with DAG(
    "template_ext_sql_file",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"table": "events"},
):
    RenderSqlOperator(task_id="render_sql", sql="template_ext_sql_file.sql")
