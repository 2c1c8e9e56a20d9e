"""A custom operator defined in the file, with template_fields that make XComArg dependencies."""

from __future__ import annotations

from typing import Any

import pendulum

from airflow.sdk import DAG, BaseOperator, task


class UploadOperator(BaseOperator):
    """Uploads a file; ``path`` is templated."""

    template_fields = ("path",)

    def __init__(self, *, path: str, bucket: str, metadata: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.bucket = bucket
        self.metadata = metadata

    def execute(self, context: Any) -> str:
        return f"s3://{self.bucket}/{self.path}"


class LoudUpload(UploadOperator):
    def execute(self, context: Any) -> str:
        print("uploading!")
        return super().execute(context)


with DAG("corpus_custom_operator", start_date=pendulum.datetime(2024, 1, 1), schedule=None) as dag:

    @task
    def make_path() -> str:
        return "out/file.csv"

    @task
    def make_meta() -> dict:
        return {"a": 1}

    path = make_path()
    meta = make_meta()
    upload = UploadOperator(task_id="upload", path=path, bucket="lake", metadata=meta)
    loud = LoudUpload(task_id="loud_upload", path="static.csv", bucket="lake")
    upload >> loud
