"""A TaskGroup without a DAG."""

from airflow.sdk import TaskGroup

group = TaskGroup("lonely")
