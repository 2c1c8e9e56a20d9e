"""The S3 operators and S3Hook against a real moto S3 server (its own process, see tests/moto_s3.py):
each task runs in-process as a worker runs it (``run_task``), and what it did is checked with a boto3
client of the test's own. The connection is Airflow's ``aws_default`` from ``AIRFLOW_CONN_AWS_DEFAULT``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.moto_s3 import (
    KEY_ID,
    REGION,
    SECRET,
    aws_connection,
    aws_default,
    body,
    keys,
    make_bucket,
    s3_client,
    s3_endpoint,
)
from tests.test_sdk_helpers import Runner

__all__ = ["aws_default", "s3_client", "s3_endpoint"]  # fixtures

HEADER = """
import pendulum
from airflow.sdk import DAG
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.operators.s3 import (
    S3CopyObjectOperator, S3CreateBucketOperator, S3CreateObjectOperator, S3DeleteObjectsOperator,
    S3FileTransformOperator, S3ListOperator,
)
from airflow.providers.standard.operators.python import PythonOperator
"""


def runner(tmp_path: Path, body_: str) -> Runner:
    lines = "\n".join("    " + line for line in textwrap.dedent(body_).strip("\n").splitlines())
    source = f'{HEADER}\nwith DAG("s3_ops", start_date=pendulum.datetime(2024, 1, 1), schedule=None) as dag:\n{lines}\n'
    return Runner(tmp_path, source)


def ok(result: dict) -> dict:
    assert result["state"] == "success", result["error"]
    return result


def test_create_bucket_in_the_connections_region_and_twice_is_fine(tmp_path, aws_default, s3_client):
    run = runner(tmp_path, """
S3CreateBucketOperator(task_id="create", bucket_name="lake-{{ ds_nodash }}")
S3CreateBucketOperator(task_id="create_us", bucket_name="lake-us", region_name="us-east-1")
""")  # fmt: skip
    ok(run.run("create"))
    assert s3_client.get_bucket_location(Bucket="lake-20240305")["LocationConstraint"] == REGION
    ok(run.run("create"))  # already exists: logged, not an error
    ok(run.run("create_us"))
    assert s3_client.get_bucket_location(Bucket="lake-us")["LocationConstraint"] is None  # us-east-1


def test_create_object_str_bytes_url_replace_and_gzip(tmp_path, aws_default, s3_client):
    make_bucket(s3_client, "lake")
    run = runner(tmp_path, """
S3CreateObjectOperator(task_id="text", s3_bucket="lake", s3_key="raw/{{ ds }}.txt", data="run={{ run_id }}")
S3CreateObjectOperator(task_id="bytes", s3_key="s3://lake/raw/blob.bin", data=b"\\x00\\x01binary")
S3CreateObjectOperator(task_id="again", s3_bucket="lake", s3_key="raw/{{ ds }}.txt", data="second")
S3CreateObjectOperator(task_id="replace", s3_bucket="lake", s3_key="raw/{{ ds }}.txt", data="third", replace=True)
S3CreateObjectOperator(task_id="gz", s3_bucket="lake", s3_key="raw/z.gz", data="zipped", compression="gzip")
S3CreateObjectOperator(task_id="mixed", s3_bucket="lake", s3_key="s3://lake/x", data="x")
""")  # fmt: skip
    result = ok(run.run("text"))
    assert result["rendered_fields"]["s3_key"] == "raw/2024-03-05.txt"
    assert body(s3_client, "lake", "raw/2024-03-05.txt") == b"run=manual__2024-03-05T06:07:08+00:00"
    ok(run.run("bytes"))
    assert body(s3_client, "lake", "raw/blob.bin") == b"\x00\x01binary"
    again = run.run("again")
    assert again["state"] == "failed" and again["error"] == "ValueError: The key raw/2024-03-05.txt already exists."
    ok(run.run("replace"))
    assert body(s3_client, "lake", "raw/2024-03-05.txt") == b"third"
    ok(run.run("gz"))
    import gzip

    assert gzip.decompress(body(s3_client, "lake", "raw/z.gz")) == b"zipped"
    mixed = run.run("mixed")
    assert mixed["state"] == "failed" and mixed["error"].startswith("TypeError: If `dest_bucket` is provided")


def test_copy_list_and_delete(tmp_path, aws_default, s3_client):
    make_bucket(s3_client, "src")
    make_bucket(s3_client, "dst")
    for key in ("in/a.csv", "in/b.csv", "in/sub/c.csv", "other/d.csv"):
        s3_client.put_object(Bucket="src", Key=key, Body=key.encode())
    run = runner(tmp_path, """
S3CopyObjectOperator(task_id="copy_url", source_bucket_key="s3://src/in/a.csv", dest_bucket_key="s3://dst/{{ ds }}/a.csv")
S3CopyObjectOperator(task_id="copy_names", source_bucket_name="src", source_bucket_key="in/b.csv",
                     dest_bucket_name="dst", dest_bucket_key="b.csv")
S3ListOperator(task_id="list_all", bucket="src")
S3ListOperator(task_id="list_flat", bucket="src", prefix="in/", delimiter="/")
S3ListOperator(task_id="list_wild", bucket="src", prefix="in/*.csv", apply_wildcard=True)
S3DeleteObjectsOperator(task_id="delete_keys", bucket="src", keys=["in/a.csv", "other/d.csv"])
S3DeleteObjectsOperator(task_id="delete_prefix", bucket="src", prefix="in/")
S3DeleteObjectsOperator(task_id="delete_none", bucket="src", keys=[])
""")  # fmt: skip
    ok(run.run("copy_url"))
    ok(run.run("copy_names"))
    assert keys(s3_client, "dst") == ["2024-03-05/a.csv", "b.csv"]
    assert body(s3_client, "dst", "2024-03-05/a.csv") == b"in/a.csv"
    ok(run.run("list_all"))
    assert run.value("list_all") == ["in/a.csv", "in/b.csv", "in/sub/c.csv", "other/d.csv"]
    ok(run.run("list_flat"))
    assert run.value("list_flat") == ["in/a.csv", "in/b.csv"]
    ok(run.run("list_wild"))
    assert run.value("list_wild") == ["in/a.csv", "in/b.csv", "in/sub/c.csv"]  # fnmatch's * crosses "/"
    ok(run.run("delete_keys"))
    assert keys(s3_client, "src") == ["in/b.csv", "in/sub/c.csv"]
    ok(run.run("delete_prefix"))
    assert keys(s3_client, "src") == []
    ok(run.run("delete_none"))


def test_delete_objects_needs_keys_or_a_scan(tmp_path):
    path = tmp_path / "bad.py"
    path.write_text(HEADER + 'S3DeleteObjectsOperator(task_id="d", bucket="b", keys=["k"], prefix="p")\n')
    from studio.sdk.exceptions import DagFileError
    from studio.sdk.loader import load_dag_file

    with pytest.raises(DagFileError, match="Either keys or at least one of prefix"):
        load_dag_file(path)


def test_delete_objects_by_modification_time(tmp_path, aws_default, s3_client):
    make_bucket(s3_client, "bkt")
    s3_client.put_object(Bucket="bkt", Key="old", Body=b"1")
    run = runner(tmp_path, """
S3DeleteObjectsOperator(task_id="before_2000", bucket="bkt", to_datetime="2000-01-01T00:00:00")
S3DeleteObjectsOperator(task_id="since_2000", bucket="bkt", from_datetime="{{ macros.ds_add(ds, -9000) }}")
""")  # fmt: skip
    ok(run.run("before_2000"))
    assert keys(s3_client, "bkt") == ["old"]
    ok(run.run("since_2000"))
    assert keys(s3_client, "bkt") == []


def test_file_transform_runs_the_script_and_uploads_its_output(tmp_path, aws_default, s3_client, capfd):
    make_bucket(s3_client, "lake")
    s3_client.put_object(Bucket="lake", Key="in/orders.csv", Body=b"id,amount\n1,2.5\n2,4\n")
    script = tmp_path / "upper.sh"
    script.write_text('#!/bin/sh\necho "args: $3 $4"\ntr a-z A-Z < "$1" > "$2"\necho "lines: $(wc -l < "$2")"\n')
    script.chmod(0o755)
    failing = tmp_path / "fail.sh"
    failing.write_text("#!/bin/sh\necho broken >&2\nexit 3\n")
    failing.chmod(0o755)
    run = runner(tmp_path, f"""
S3FileTransformOperator(task_id="transform", source_s3_key="s3://lake/in/orders.csv",
                        dest_s3_key="s3://lake/out/{{{{ ds }}}}.csv", transform_script="{script}",
                        script_args=["{{{{ ds }}}}", "x"])
S3FileTransformOperator(task_id="again", source_s3_key="s3://lake/in/orders.csv",
                        dest_s3_key="s3://lake/out/2024-03-05.csv", transform_script="{script}")
S3FileTransformOperator(task_id="failing", source_s3_key="s3://lake/in/orders.csv",
                        dest_s3_key="s3://lake/out/failed.csv", transform_script="{failing}")
S3FileTransformOperator(task_id="missing", source_s3_key="s3://lake/in/nothing.csv",
                        dest_s3_key="s3://lake/out/missing.csv", transform_script="{script}")
S3FileTransformOperator(task_id="neither", source_s3_key="s3://lake/in/orders.csv", dest_s3_key="s3://lake/n.csv")
""")  # fmt: skip
    capfd.readouterr()
    result = ok(run.run("transform"))
    assert result["rendered_fields"]["script_args"] == ["2024-03-05", "x"]
    assert body(s3_client, "lake", "out/2024-03-05.csv") == b"ID,AMOUNT\n1,2.5\n2,4\n"
    out = capfd.readouterr().out
    assert "args: 2024-03-05 x" in out and "lines: 3" in out
    again = run.run("again")
    assert again["state"] == "failed" and "already exists" in again["error"]
    failed = run.run("failing")
    assert failed["state"] == "failed" and failed["error"] == "AirflowException: Transform script failed: 3"
    assert "broken" in capfd.readouterr().out  # the script's stderr is in the task log
    assert keys(s3_client, "lake", "out/") == ["out/2024-03-05.csv"]
    missing = run.run("missing")
    assert missing["error"] == "AirflowException: The source key s3://lake/in/nothing.csv does not exist"
    neither = run.run("neither")
    assert neither["error"] == "AirflowException: Either transform_script or select_expression must be specified"


def test_s3_hook_in_users_python(tmp_path, aws_default, s3_client, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_MY_S3", aws_connection(aws_default))
    local = tmp_path / "local.txt"
    local.write_text("from disk")
    run = runner(tmp_path, f"""
def use_hook():
    hook = S3Hook(aws_conn_id="my_s3")
    assert not hook.check_for_bucket("mine")
    hook.create_bucket("mine")
    assert hook.check_for_bucket("mine")
    hook.load_string("hello", "s3://mine/a/hello.txt")
    hook.load_bytes(b"bytes", key="a/b.bin", bucket_name="mine")
    hook.load_file("{local}", "b/local.txt", "mine")
    hook.copy_object("s3://mine/a/hello.txt", "s3://mine/c/copy.txt")
    found = {{
        "read": hook.read_key("a/hello.txt", "mine"),
        "url": hook.read_key("s3://mine/b/local.txt"),
        "exists": [hook.check_for_key("s3://mine/a/hello.txt"), hook.check_for_key("nope", "mine")],
        "wild": [hook.check_for_wildcard_key("s3://mine/a/*.txt"), hook.check_for_wildcard_key("z*", "mine")],
        "keys": hook.list_keys("mine", prefix="a/"),
        "size": hook.get_key("c/copy.txt", "mine").content_length,
        "prefixes": hook.list_prefixes("mine", delimiter="/"),
        "download": open(hook.download_file("a/b.bin", "mine")).read(),
    }}
    hook.delete_objects("mine", ["a/hello.txt", "a/b.bin"])
    found["left"] = hook.list_keys("mine")
    return found
PythonOperator(task_id="hook", python_callable=use_hook)
""")  # fmt: skip
    ok(run.run("hook"))
    assert run.value("hook") == {
        "read": "hello",
        "url": "from disk",
        "exists": [True, False],
        "wild": [True, False],
        "keys": ["a/b.bin", "a/hello.txt"],
        "size": 5,
        "prefixes": ["a/", "b/", "c/"],
        "download": "bytes",
        "left": ["b/local.txt", "c/copy.txt"],
    }
    assert s3_client.get_bucket_location(Bucket="mine")["LocationConstraint"] == REGION


def test_endpoint_region_and_credentials_come_from_the_connection(tmp_path, aws_default, s3_client, monkeypatch):
    dead = "http://127.0.0.1:9"  # discard port: nothing answers
    fast_fail = {"retries": {"max_attempts": 1}, "connect_timeout": 2}
    uri = f"aws://AKIDURI:uri%2Fsecret@/?region_name=ap-south-1&endpoint_url={aws_default.replace(':', '%3A')}"
    monkeypatch.setenv("AIRFLOW_CONN_BY_URI", uri)
    monkeypatch.setenv(
        "AIRFLOW_CONN_PER_SERVICE",
        aws_connection(dead, service_config={"s3": {"endpoint_url": aws_default, "bucket_name": "svc"}}),
    )
    monkeypatch.setenv("AIRFLOW_CONN_DEAD", aws_connection(dead, config_kwargs=fast_fail))
    run = runner(tmp_path, """
S3CreateBucketOperator(task_id="by_uri", bucket_name="uri-bucket", aws_conn_id="by_uri")
S3CreateBucketOperator(task_id="per_service", bucket_name="svc", aws_conn_id="per_service")
S3CreateObjectOperator(task_id="dead", s3_bucket="svc", s3_key="k", data="d", aws_conn_id="dead")
def default_bucket():
    hook = S3Hook(aws_conn_id="per_service")
    hook.load_string("in the service's bucket", "k")
    return hook.list_keys()
PythonOperator(task_id="default_bucket", python_callable=default_bucket)
""")  # fmt: skip
    ok(run.run("by_uri"))
    assert s3_client.get_bucket_location(Bucket="uri-bucket")["LocationConstraint"] == "ap-south-1"
    ok(run.run("per_service"))
    ok(run.run("default_bucket"))
    assert run.value("default_bucket") == ["k"]
    assert body(s3_client, "svc", "k") == b"in the service's bucket"
    dead_result = run.run("dead")
    assert dead_result["state"] == "failed" and "127.0.0.1:9" in dead_result["error"]


def test_loading_a_dag_file_does_not_import_boto3(tmp_path):
    path = tmp_path / "dag.py"
    path.write_text(HEADER + 'with DAG("d", schedule=None):\n    S3ListOperator(task_id="l", bucket="b")\n')
    code = (
        "import sys\nfrom studio.sdk.loader import load_dag_file\n"
        f"dags = load_dag_file({str(path)!r})\n"
        "print(sorted(dags), 'boto3' in sys.modules, 'botocore' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["['d']", "False", "False"]


def test_file_transform_timeout_kills_the_script(tmp_path, aws_default, s3_client):
    make_bucket(s3_client, "lake")
    s3_client.put_object(Bucket="lake", Key="in.csv", Body=b"x")
    pid_file = tmp_path / "script.pid"
    script = tmp_path / "slow.sh"
    script.write_text(f'#!/bin/sh\necho $$ > "{pid_file}"\nexec sleep 60\n')
    script.chmod(0o755)
    run = runner(tmp_path, f"""
import datetime
S3FileTransformOperator(task_id="slow", source_s3_key="s3://lake/in.csv", dest_s3_key="s3://lake/out.csv",
                        transform_script="{script}", execution_timeout=datetime.timedelta(seconds=2))
""")  # fmt: skip
    started = time.monotonic()
    result = run.run("slow")
    assert result["state"] == "failed" and result["error"].startswith("AirflowTaskTimeout")
    assert time.monotonic() - started < 30
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):  # killed and reaped, not left running
        os.kill(pid, 0)
    assert keys(s3_client, "lake") == ["in.csv"]


def test_file_transform_sigterm_stops_the_script(tmp_path, aws_default, s3_client):
    """A cancel (SIGTERM to the worker) runs ``on_kill``: the script is stopped and the try fails."""
    make_bucket(s3_client, "lake")
    s3_client.put_object(Bucket="lake", Key="in.csv", Body=b"x")
    pid_file, result_file = tmp_path / "script.pid", tmp_path / "result.json"
    script = tmp_path / "slow.sh"
    script.write_text(f'#!/bin/sh\necho $$ > "{pid_file}"\nexec sleep 60\n')
    script.chmod(0o755)
    run = runner(tmp_path, f"""
S3FileTransformOperator(task_id="slow", source_s3_key="s3://lake/in.csv", dest_s3_key="s3://lake/out.csv",
                        transform_script="{script}")
""")  # fmt: skip
    worker = os.fork()
    if worker == 0:  # the worker: run the try, write its result, exit
        code = 1
        try:
            result_file.write_text(json.dumps(run.run("slow")))
            code = 0
        finally:
            os._exit(code)
    deadline = time.monotonic() + 30
    while not pid_file.exists() or not pid_file.read_text().strip():
        assert time.monotonic() < deadline, "the script did not start"
        time.sleep(0.05)
    os.kill(worker, signal.SIGTERM)
    _, status = os.waitpid(worker, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    result = json.loads(result_file.read_text())
    assert result["state"] == "failed" and "SIGTERM" in result["error"]
    with pytest.raises(ProcessLookupError):  # on_kill stopped the script
        os.kill(int(pid_file.read_text()), 0)
    assert keys(s3_client, "lake") == ["in.csv"]


def test_the_providers_older_module_names_load(tmp_path):
    path = tmp_path / "old.py"
    path.write_text(
        textwrap.dedent(
            """
            from airflow import DAG
            from airflow.providers.amazon.aws.operators.s3_bucket import S3CreateBucketOperator
            from airflow.providers.amazon.aws.operators.s3_list import S3ListOperator
            from airflow.providers.amazon.aws.sensors.s3_key import S3KeySensor
            with DAG("old", schedule=None):
                S3CreateBucketOperator(task_id="c", bucket_name="b") >> S3KeySensor(task_id="s", bucket_key="s3://b/k")
                S3ListOperator(task_id="l", bucket="b")
            """
        )
    )
    from studio.sdk.loader import load_dag_file

    dag = load_dag_file(path)["old"]
    assert {t.task_id: type(t).__name__ for t in dag.tasks} == {
        "c": "S3CreateBucketOperator",
        "s": "S3KeySensor",
        "l": "S3ListOperator",
    }


def test_session_token_profile_free_credentials_and_assumed_role(aws_default, s3_client, monkeypatch):
    from studio.sdk.amazon.s3_hook import S3Hook

    monkeypatch.setenv("AIRFLOW_CONN_TOKEN", aws_connection(aws_default, aws_session_token="tok-123"))
    credentials = S3Hook(aws_conn_id="token").get_session().get_credentials()
    assert (credentials.access_key, credentials.secret_key, credentials.token) == (KEY_ID, SECRET, "tok-123")
    by_extra = json.dumps(
        {"conn_type": "aws", "extra": {"aws_access_key_id": "AKIDEXTRA", "aws_secret_access_key": "s"}}
    )
    monkeypatch.setenv("AIRFLOW_CONN_BY_EXTRA", by_extra)
    assert S3Hook(aws_conn_id="by_extra").get_session().get_credentials().access_key == "AKIDEXTRA"
    role = "arn:aws:iam::123456789012:role/lake-writer"
    monkeypatch.setenv("AIRFLOW_CONN_ROLE", aws_connection(aws_default, role_arn=role))
    hook = S3Hook(aws_conn_id="role")
    assumed = hook.get_session().get_credentials()
    assert assumed.access_key != KEY_ID and assumed.token  # STS (the moto server) issued temporary ones
    hook.create_bucket("by-role")
    assert "by-role" in [b["Name"] for b in s3_client.list_buckets()["Buckets"]]


def test_a_missing_connection_falls_back_to_boto3s_chain(aws_default, s3_client, monkeypatch, capfd):
    from studio.sdk.amazon.s3_hook import S3Hook

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_default)  # boto3's own setting, not the connection's
    hook = S3Hook(aws_conn_id="not_defined")
    hook.create_bucket("from-env")
    assert "Unable to find AWS Connection ID 'not_defined', switching to empty." in capfd.readouterr().out
    assert s3_client.get_bucket_location(Bucket="from-env")["LocationConstraint"] == REGION
