"""The S3 operators of the amazon provider, in a daily lake maintenance DAG."""

import pendulum

from airflow.providers.amazon.aws.operators.s3 import (
    S3CopyObjectOperator,
    S3CreateBucketOperator,
    S3CreateObjectOperator,
    S3DeleteObjectsOperator,
    S3ListOperator,
)
from airflow.sdk import DAG

BUCKET = "corpus-lake"
CONN = "aws_lake"

with DAG(
    dag_id="corpus_s3",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    schedule="@daily",
    catchup=False,
    default_args={"aws_conn_id": CONN},
) as dag:
    create = S3CreateBucketOperator(task_id="create_bucket", bucket_name=BUCKET)
    write = S3CreateObjectOperator(
        task_id="write_marker", s3_bucket=BUCKET, s3_key="markers/{{ ds }}.txt", data="{{ run_id }}", replace=True
    )
    copy = S3CopyObjectOperator(
        task_id="copy_marker",
        source_bucket_name=BUCKET,
        source_bucket_key="markers/{{ ds }}.txt",
        dest_bucket_name=BUCKET,
        dest_bucket_key="archive/{{ ds }}.txt",
    )
    listing = S3ListOperator(task_id="list_archive", bucket=BUCKET, prefix="archive/", delimiter="/")
    delete = S3DeleteObjectsOperator(task_id="delete_markers", bucket=BUCKET, prefix="markers/")
    create >> write >> copy >> [listing, delete]
