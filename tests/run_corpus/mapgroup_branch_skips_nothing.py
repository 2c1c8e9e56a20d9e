"""Branching and short-circuiting from a map index skip nothing in Airflow 3.3: SkipMixin skips only
from map index -1, and unmapped children look for the skipmixin XCom of map index -1.

Inside group.expand(x=[1, 2]): choose (@task.branch) follows even or odd, gate (@task.short_circuit)
returns x > 1 — every task downstream still runs at both map indexes. Outside any group, a mapped
branch mchoose.expand(x=[1, 2]) >> [mleft, mright] skips neither.
Expected: every task instance success/1; run success.
"""

from datetime import datetime

from airflow.sdk import DAG, task, task_group

EXPECTED_RUN_STATE = "success"
EXPECTED = {
    "group.choose[0]": ("success", 1),
    "group.choose[1]": ("success", 1),
    "group.even[0]": ("success", 1),
    "group.even[1]": ("success", 1),
    "group.odd[0]": ("success", 1),
    "group.odd[1]": ("success", 1),
    "group.join[0]": ("success", 1),
    "group.join[1]": ("success", 1),
    "group.gate[0]": ("success", 1),
    "group.gate[1]": ("success", 1),
    "group.after_gate[0]": ("success", 1),
    "group.after_gate[1]": ("success", 1),
    "mchoose[0]": ("success", 1),
    "mchoose[1]": ("success", 1),
    "mleft": ("success", 1),
    "mright": ("success", 1),
}

with DAG("mapgroup_branch_skips_nothing", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):

    @task.branch
    def choose(x: int) -> str:
        return "group.even" if x % 2 == 0 else "group.odd"

    @task
    def even() -> None:
        pass

    @task
    def odd() -> None:
        pass

    @task(trigger_rule="none_failed_min_one_success")
    def join() -> None:
        pass

    @task.short_circuit
    def gate(x: int) -> bool:
        return x > 1

    @task
    def after_gate() -> None:
        pass

    @task_group
    def group(x: int):
        choose(x) >> [even(), odd()] >> join()
        gate(x) >> after_gate()

    group.expand(x=[1, 2])

    @task.branch
    def mchoose(x: int) -> str:
        return "mleft" if x == 1 else "mright"

    @task
    def mleft() -> None:
        pass

    @task
    def mright() -> None:
        pass

    mchoose.expand(x=[1, 2]) >> [mleft(), mright()]
