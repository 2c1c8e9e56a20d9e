"""Fast trigger rules inside a mapped task group over an XCom: one_success after a per-index branch
of a failure and a success; a classic operator inside the group mapped via the group's argument.

pick returns [0, 1]; group(n): maybe_fail fails when n == 1, ok always succeeds; either (one_success)
runs at both indexes; bash echoes the argument through a template.
Expected: pick success/1; group.maybe_fail[0] success/1, [1] failed/1; group.ok[0,1] success/1;
group.either[0,1] success/1; group.echo[0,1] success/1; run success (maybe_fail[1] is not a leaf).
"""

from datetime import datetime

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, task, task_group

EXPECTED_RUN_STATE = "success"
EXPECTED = {
    "pick": ("success", 1),
    "group.maybe_fail[0]": ("success", 1),
    "group.maybe_fail[1]": ("failed", 1),
    "group.ok[0]": ("success", 1),
    "group.ok[1]": ("success", 1),
    "group.either[0]": ("success", 1),
    "group.either[1]": ("success", 1),
    "group.echo[0]": ("success", 1),
    "group.echo[1]": ("success", 1),
}

with DAG("mapgroup_one_success_classic", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):

    @task
    def pick() -> list[int]:
        return [0, 1]

    @task
    def maybe_fail(n: int) -> None:
        if n == 1:
            raise ValueError("one")

    @task
    def ok() -> None:
        pass

    @task(trigger_rule="one_success")
    def either() -> None:
        pass

    @task_group
    def group(n: int):
        [maybe_fail(n), ok()] >> either() >> BashOperator(task_id="echo", bash_command="echo {{ ti.map_index }}")

    group.expand(n=pick())
