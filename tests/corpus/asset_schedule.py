"""A DAG scheduled on Assets (kept as code) producing an Asset from a task."""

import pendulum

from airflow.sdk import DAG, Asset, task

ORDERS = Asset("s3://lake/orders.parquet")
CUSTOMERS = Asset("s3://lake/customers.parquet")

with DAG("corpus_asset_schedule", start_date=pendulum.datetime(2024, 1, 1), schedule=[ORDERS, CUSTOMERS]) as dag:

    @task(outlets=[Asset("s3://lake/report.parquet")])
    def build_report():
        return "built"

    build_report()
