"""TaskFlow functions defined at module level and called inside a classic with-DAG block."""

from datetime import datetime, timedelta

from airflow import DAG
from airflow.decorators import task
from airflow.operators.bash import BashOperator


@task(retries=3, retry_delay=timedelta(seconds=5))
def get_config(env: str) -> dict:
    return {"env": env, "threads": 4}


@task
def run_with(config: dict, label: str = "default") -> str:
    return f"{config['env']}:{label}"


with DAG("corpus_taskflow_module_level", start_date=datetime(2024, 1, 1), schedule="@daily", catchup=False) as dag:
    config = get_config("prod")
    first = run_with(config, label="first")
    second = run_with(config=config)
    BashOperator(task_id="after", bash_command="echo done") << [first, second]
