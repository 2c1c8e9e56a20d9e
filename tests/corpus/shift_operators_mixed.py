"""<< and >> with lists on either side, in one expression."""

import pendulum

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG("corpus_shift_mixed", start_date=pendulum.datetime(2024, 1, 1), schedule=None) as dag:
    a, b, c, d, e, f = [EmptyOperator(task_id=name) for name in "abcdef"]
    [a, b] >> c << d
    e << c
    f << [a, e]
    c.set_downstream([f])
    d.set_upstream(a)
