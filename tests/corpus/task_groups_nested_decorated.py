"""@task_group functions nested inside each other, returning a task so >> binds to it."""

import pendulum

from airflow.sdk import dag, task, task_group


@dag(start_date=pendulum.datetime(2024, 1, 1), schedule=None, catchup=False)
def corpus_nested_decorated_groups():
    @task
    def start():
        return 1

    @task
    def inc(x):
        return x + 1

    @task_group(group_id="inner_work")
    def inner(x):
        return inc(inc(x))

    @task_group
    def outer(x):
        first = inner(x)
        second = inner(first)
        return second

    @task
    def finish(x):
        print(x)

    finish(outer(start()))


corpus_nested_decorated_groups()
