"""chain() with lists of equal length, chain_linear(), cross_downstream()."""

from airflow.models.baseoperator import chain, chain_linear, cross_downstream
from airflow.operators.empty import EmptyOperator
from airflow.sdk import DAG
import pendulum

with DAG("corpus_chain_lists", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
    t1, t2, t3, t4, t5, t6 = (EmptyOperator(task_id=f"t{i}") for i in range(1, 7))
    chain(t1, [t2, t3], [t4, t5], t6)

    l1, l2, l3, l4, l5, l6, l7 = [EmptyOperator(task_id=f"lin{i}") for i in range(1, 8)]
    chain_linear(l1, [l2, l3], [l4, l5, l6], l7)

    x = [EmptyOperator(task_id=f"x{i}") for i in range(3)]
    y = [EmptyOperator(task_id=f"y{i}") for i in range(2)]
    cross_downstream(x, y)
    cross_downstream(from_tasks=y, to_tasks=t1)
