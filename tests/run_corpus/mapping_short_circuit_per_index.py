"""A mapped short circuit skips per map index — and only a classic one: Airflow 3.3 nothing skips
from a map index directly; a mapped child reads the skipmixin XCom of its own map index, and the
scheduler ignores that XCom when the mapped parent is a ``@task.short_circuit`` (its serialized
``_can_skip_downstream`` is False); an unmapped child reads map index -1, which is absent.

ShortCircuitOperator.partial(...).expand(op_args=[[0], [1]]) (x > 0) >> after_classic.expand(y=[10, 20])
and >> single (unmapped); @task.short_circuit gate.expand(x=[0, 1]) >> after_decorated.expand(...).
Expected: classic[0,1], gate[0,1] success/1; after_classic[0] skipped/0, after_classic[1] success/1;
single success/1; after_decorated[0,1] success/1; run success.
"""

from datetime import datetime

from airflow.providers.standard.operators.python import ShortCircuitOperator
from airflow.sdk import DAG, task

EXPECTED_RUN_STATE = "success"
EXPECTED = {
    "classic[0]": ("success", 1),
    "classic[1]": ("success", 1),
    "after_classic[0]": ("skipped", 0),
    "after_classic[1]": ("success", 1),
    "single": ("success", 1),
    "gate[0]": ("success", 1),
    "gate[1]": ("success", 1),
    "after_decorated[0]": ("success", 1),
    "after_decorated[1]": ("success", 1),
}


def _positive(x: int) -> bool:
    return x > 0


with DAG("mapping_short_circuit_per_index", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):

    @task
    def after(y: int) -> int:
        return y

    @task
    def single() -> None:
        pass

    classic = ShortCircuitOperator.partial(task_id="classic", python_callable=_positive).expand(op_args=[[0], [1]])
    classic >> after.override(task_id="after_classic").expand(y=[10, 20])
    classic >> single()

    @task.short_circuit
    def gate(x: int) -> bool:
        return x > 0

    gate.expand(x=[0, 1]) >> after.override(task_id="after_decorated").expand(y=[10, 20])
