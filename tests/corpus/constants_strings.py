"""Module constants and string building: f-strings, .format, concatenation, %, dict/list lookups."""

from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator

ENV = "prod"
CONFIG = {"prod": {"bucket": "lake-prod", "steps": ["load", "merge"]}, "dev": {"bucket": "lake-dev", "steps": []}}
BUCKET = CONFIG[ENV]["bucket"]
STEPS = CONFIG[ENV]["steps"]
BASE_ID = "corpus_" + "constants"
TEMPLATE = "aws s3 sync {src} s3://{bucket}/{dest}"

with DAG(BASE_ID, start_date=datetime(2024, 1, 1), schedule="@daily", catchup=False, tags=[ENV, ENV.upper()]) as dag:
    first = BashOperator(
        task_id="sync_{}".format(ENV),
        bash_command=TEMPLATE.format(src="/data", bucket=BUCKET, dest="raw/{{ ds }}"),
    )
    previous = first
    for number, step in enumerate(STEPS, start=1):
        current = BashOperator(task_id="%s_%d" % (step, number), bash_command=f"run --step={step!r} --env={ENV}")
        previous >> current
        previous = current
    last = BashOperator(task_id=STEPS[-1] + "_done", bash_command="echo " + BUCKET.replace("-", "_"))
    previous >> last
