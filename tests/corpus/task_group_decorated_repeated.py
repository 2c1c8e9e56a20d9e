"""A @task_group function called several times: group ids g, g__1, g__2, like Airflow."""

import pendulum

from airflow.sdk import dag, task, task_group


@task
def fetch(source: str) -> list:
    return [source] * 3


@task
def clean(rows: list) -> list:
    return [r.strip() for r in rows]


@task
def store(rows: list, table: str) -> None:
    print(table, len(rows))


@task_group(tooltip="fetch, clean and store one source")
def ingest(source: str):
    rows = fetch(source)
    store(clean(rows), table=f"raw_{source}")


@task
def summary():
    return "done"


@dag(dag_id="corpus_task_group_repeated", start_date=pendulum.datetime(2024, 2, 1), schedule="@daily", catchup=False)
def repeated():
    groups = [ingest(name) for name in ("crm", "shop", "web")]
    groups >> summary()


repeated()
