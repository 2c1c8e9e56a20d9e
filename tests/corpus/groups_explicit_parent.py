"""TaskGroups built outside with-blocks: dag=, parent_group=, task_group= on operators, default_args."""

from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.utils.task_group import TaskGroup

dag = DAG("corpus_groups_explicit", start_date=datetime(2024, 1, 1), schedule=None)

section = TaskGroup("section", dag=dag, tooltip="A section", default_args={"retries": 4})
sub = TaskGroup("sub", parent_group=section, ui_color="#ffcc00")

one = BashOperator(task_id="one", bash_command="echo 1", dag=dag, task_group=section)
two = BashOperator(task_id="two", bash_command="echo 2", dag=dag, task_group=sub, retry_delay=timedelta(seconds=10))
three = BashOperator(task_id="three", bash_command="echo 3", dag=dag)

one >> two
section >> three
