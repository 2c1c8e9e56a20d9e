"""Dynamic task mapping: classic .partial().expand(), TaskFlow .expand(), expand_kwargs, partial+expand."""

import pendulum

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, task

with DAG("corpus_mapping", start_date=pendulum.datetime(2024, 1, 1), schedule=None, catchup=False) as dag:

    @task
    def make_list() -> list:
        return [1, 2, 3]

    @task
    def add(x: int, y: int) -> int:
        return x + y

    @task
    def collect(values: list) -> int:
        return sum(values)

    numbers = make_list()
    added = add.partial(y=10).expand(x=numbers)
    total = collect(added)

    echo = BashOperator.partial(task_id="echo", retries=1).expand(
        bash_command=["echo one", "echo two", "echo three"]
    )
    echo_env = BashOperator.partial(task_id="echo_env", bash_command="echo $VALUE").expand_kwargs(
        [{"env": {"VALUE": "a"}}, {"env": {"VALUE": "b"}}]
    )
    literal = add.expand(x=[1, 2], y=[3, 4])
    total >> echo >> echo_env
    literal >> echo_env
