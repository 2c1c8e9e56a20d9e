"""Airflow 2 import paths that Airflow 3 still serves: airflow.models.DAG, airflow.models.baseoperator."""

from datetime import datetime, timedelta

from airflow.models import DAG
from airflow.models.baseoperator import chain
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import PythonOperator
from airflow.utils.trigger_rule import TriggerRule


def work(**context):
    print(context["ds"])


args = {"owner": "ops", "retries": 2, "retry_delay": timedelta(minutes=1)}

dag = DAG(dag_id="corpus_af2_models", default_args=args, start_date=datetime(2022, 6, 1), schedule="0 0 * * 1-5", catchup=False)

start = EmptyOperator(task_id="start", dag=dag)
jobs = [PythonOperator(task_id=f"job_{i}", python_callable=work, dag=dag) for i in range(3)]
end = EmptyOperator(task_id="end", trigger_rule=TriggerRule.ALL_DONE, dag=dag)
chain(start, jobs, end)
