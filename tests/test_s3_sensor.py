"""S3KeySensor against a real moto S3 server: poke mode (a fake clock whose sleeps let the test put the
awaited object), reschedule mode (the try ends up_for_reschedule, the next one finds the key), timeouts
in both modes, ``s3://`` URLs and ``bucket_name``, several keys, wildcards, regex and ``check_fn``."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from studio.sdk import sensors
from tests.moto_s3 import aws_default, make_bucket, s3_client, s3_endpoint
from tests.test_sdk_helpers import FakeClock, Runner

__all__ = ["aws_default", "s3_client", "s3_endpoint"]  # fixtures

HEADER = """
import pendulum
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
SEEN = []
"""


class ActingClock(FakeClock):
    """A fake clock that runs ``actions[n]`` during the n-th sleep (the world changes while a sensor waits)."""

    def __init__(self) -> None:
        super().__init__()
        self.actions: dict[int, Callable[[], None]] = {}

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        action = self.actions.get(len(self.sleeps))
        if action is not None:
            action()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> ActingClock:
    fake = ActingClock()
    monkeypatch.setattr(sensors, "CLOCK", fake)
    return fake


def runner(tmp_path: Path, body: str) -> Runner:
    lines = "\n".join("    " + line for line in textwrap.dedent(body).strip("\n").splitlines())
    source = (
        f'{HEADER}\nwith DAG("s3_wait", start_date=pendulum.datetime(2024, 1, 1), schedule=None) as dag:\n{lines}\n'
    )
    return Runner(tmp_path, source)


def test_poke_mode_waits_until_the_key_exists(tmp_path, aws_default, s3_client, clock):
    make_bucket(s3_client, "lake")
    run = runner(tmp_path, """
S3KeySensor(task_id="url", bucket_key="s3://lake/in/{{ ds }}.csv", poke_interval=30, timeout=600)
S3KeySensor(task_id="named", bucket_name="lake", bucket_key="in/{{ ds }}.csv", poke_interval=30, timeout=600)
""")  # fmt: skip
    clock.actions[3] = lambda: s3_client.put_object(Bucket="lake", Key="in/2024-03-05.csv", Body=b"x")
    result = run.run("url")
    assert result["state"] == "success", result["error"]
    assert result["rendered_fields"]["bucket_key"] == "s3://lake/in/2024-03-05.csv"
    assert clock.sleeps == [30, 30, 30]  # found on the fourth poke, after the third sleep put it
    clock.sleeps.clear()
    assert run.run("named")["state"] == "success" and clock.sleeps == []


def test_poke_mode_times_out(tmp_path, aws_default, s3_client, clock):
    make_bucket(s3_client, "lake")
    run = runner(tmp_path, """
S3KeySensor(task_id="never", bucket_key="s3://lake/never.csv", poke_interval=10, timeout=25)
S3KeySensor(task_id="soft", bucket_key="s3://lake/never.csv", poke_interval=10, timeout=25, soft_fail=True)
S3KeySensor(task_id="no_bucket", bucket_key="s3://missing-bucket/k", poke_interval=10, timeout=5)
""")  # fmt: skip
    result = run.run("never")
    assert result["state"] == "failed" and result["fail_fast"]
    assert result["error"].startswith("AirflowSensorTimeout: Sensor has timed out")
    assert clock.sleeps == [10, 10, 10]
    assert run.run("soft")["state"] == "skipped"
    assert run.run("no_bucket")["error"].startswith("AirflowSensorTimeout")


def test_reschedule_mode_frees_the_worker_between_pokes(tmp_path, aws_default, s3_client, clock):
    make_bucket(s3_client, "lake")
    run = runner(tmp_path, """
S3KeySensor(task_id="wait", bucket_key="s3://lake/ready.flag", poke_interval=45, timeout=300, mode="reschedule")
""")  # fmt: skip
    first = run.run("wait")
    assert first["state"] == "up_for_reschedule"
    assert first["reschedule_at"] == "2024-03-05T07:00:45+00:00"  # the fake clock's now + poke_interval
    assert clock.sleeps == []  # reschedule mode never sleeps in the worker
    run.run_info["first_reschedule_date"] = "2024-03-05T06:59:00+00:00"
    assert run.run("wait")["state"] == "up_for_reschedule"
    s3_client.put_object(Bucket="lake", Key="ready.flag", Body=b"")
    assert run.run("wait")["state"] == "success"


def test_reschedule_mode_times_out_from_the_first_poke(tmp_path, aws_default, s3_client, clock):
    make_bucket(s3_client, "lake")
    run = runner(tmp_path, """
S3KeySensor(task_id="wait", bucket_key="s3://lake/ready.flag", poke_interval=45, timeout=300, mode="reschedule")
""")  # fmt: skip
    run.run_info["first_reschedule_date"] = "2024-03-05T06:54:59+00:00"  # 301 s before the clock's now
    result = run.run("wait")
    assert result["state"] == "failed" and result["fail_fast"] and "AirflowSensorTimeout" in result["error"]


def test_several_keys_wildcards_regex_and_check_fn(tmp_path, aws_default, s3_client, clock):
    make_bucket(s3_client, "lake")
    for key, size in (("raw/2024-03-05/part-1.parquet", 10), ("raw/2024-03-05/part-2.parquet", 2000)):
        s3_client.put_object(Bucket="lake", Key=key, Body=b"x" * size)
    run = runner(tmp_path, """
common = dict(poke_interval=5, timeout=12)
S3KeySensor(task_id="both", bucket_key=["s3://lake/raw/{{ ds }}/part-1.parquet", "s3://lake/raw/{{ ds }}/part-2.parquet"], **common)
S3KeySensor(task_id="one_missing", bucket_name="lake", bucket_key=["raw/{{ ds }}/part-1.parquet", "raw/x"], **common)
S3KeySensor(task_id="wild", bucket_key="s3://lake/raw/{{ ds }}/part-[12].parquet", wildcard_match=True, **common)
S3KeySensor(task_id="wild_q", bucket_name="lake", bucket_key="raw/*/part-?.parquet", wildcard_match=True, **common)
S3KeySensor(task_id="wild_none", bucket_key="s3://lake/raw/*.csv", wildcard_match=True, **common)
S3KeySensor(task_id="regex", bucket_name="lake", bucket_key=r"raw/\\d{4}-\\d\\d-\\d\\d/part-2", use_regex=True, **common)
def big(files):
    SEEN.append(sorted((f["Key"], f["Size"]) for f in files))
    return any(f["Size"] > 1000 for f in files)
def huge(files, **context):
    SEEN.append(context["ds"])
    return all(f["Size"] > 1000 for f in files)
S3KeySensor(task_id="check_big", bucket_key="s3://lake/raw/{{ ds }}/*.parquet", wildcard_match=True, check_fn=big, **common)
S3KeySensor(task_id="check_huge", bucket_key="s3://lake/raw/{{ ds }}/part-1.parquet", check_fn=huge, **common)
""")  # fmt: skip
    assert run.run("both")["state"] == "success"
    assert run.run("one_missing")["state"] == "failed"
    assert run.run("wild")["state"] == "success"
    assert run.run("wild_q")["state"] == "success"  # in an s3:// URL a "?" would start the query, as in Airflow
    assert run.run("wild_none")["state"] == "failed"
    assert run.run("regex")["state"] == "success"
    assert run.run("check_big")["state"] == "success"
    assert run.module.SEEN == [
        [("raw/2024-03-05/part-1.parquet", 10), ("raw/2024-03-05/part-2.parquet", 2000)],
    ]
    assert run.run("check_huge")["state"] == "failed"  # part-1 is 10 bytes: never accepted
    assert run.module.SEEN[1:] == ["2024-03-05"] * 4  # one call per poke: at 0, 5, 10 and 15 s


def test_bucket_name_with_a_url_key_is_an_error(tmp_path, aws_default, s3_client, clock):
    run = runner(tmp_path, 'S3KeySensor(task_id="bad", bucket_name="lake", bucket_key="s3://lake/k")')
    result = run.run("bad")
    assert result["state"] == "failed" and result["error"].startswith("TypeError: If `bucket_name` is provided")
