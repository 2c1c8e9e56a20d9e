"""The TaskFlow ETL tutorial with Airflow 3's airflow.sdk."""

import json

import pendulum

from airflow.sdk import dag, task


@dag(
    schedule=None,
    start_date=pendulum.datetime(2021, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example"],
)
def corpus_taskflow_etl():
    """
    ### TaskFlow API Tutorial Documentation
    A simple data pipeline: extract, transform, load.
    """

    @task()
    def extract():
        data_string = '{"1001": 301.27, "1002": 433.21, "1003": 502.22}'
        order_data_dict = json.loads(data_string)
        return order_data_dict

    @task(multiple_outputs=True)
    def transform(order_data_dict: dict):
        total_order_value = 0
        for value in order_data_dict.values():
            total_order_value += value
        return {"total_order_value": total_order_value, "count": len(order_data_dict)}

    @task()
    def load(total_order_value: float, count: int):
        print(f"Total order value is: {total_order_value:.2f} over {count} orders")

    order_data = extract()
    order_summary = transform(order_data)
    load(order_summary["total_order_value"], count=order_summary["count"])


corpus_taskflow_etl()
