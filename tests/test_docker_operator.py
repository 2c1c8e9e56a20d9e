"""DockerOperator end to end against a real, private dockerd (tests/docker_daemon.py) through the engine.

Each test runs a DAG of one DAG file with ``LocalRun`` (real fork server, real store) and looks at what a
user sees: task states, XCom, the try's log — while the container still runs for the streaming test —
and the daemon's containers (found by a per-test label) afterwards. No registry is reachable: the image
is ``local/busybox:1``, imported from Debian's static busybox.
"""

from __future__ import annotations

import datetime as dt
import pickle
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from studio.runtime.engine import LocalRun
from studio.store import Store
from studio.store.records import TIKey
from tests.docker_daemon import DockerDaemon

LOGICAL_DATE = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
DEADLINE = 60.0

DAGS = textwrap.dedent(
    """
    import datetime as dt

    import pendulum
    from docker.types import Mount

    from airflow.providers.docker.operators.docker import DockerOperator
    from airflow.sdk import DAG

    URL, IMAGE, DATA, TOKEN = "__URL__", "__IMAGE__", "__DATA__", "__TOKEN__"


    def dag(dag_id):
        return DAG(dag_id, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None)


    def docker(task_id, **kwargs):
        kwargs.setdefault("docker_url", URL)
        kwargs.setdefault("image", IMAGE)
        return DockerOperator(task_id=task_id, labels={"dagstudio.test": TOKEN}, **kwargs)


    with dag("docker_ok"):
        docker(
            "hello",
            command=["sh", "-c", 'echo "greeting=$GREETING"; echo "token=$TOKEN"; '
                     'echo probe > "$AIRFLOW_TMP_DIR/probe" && echo "tmp=$AIRFLOW_TMP_DIR"; echo "last {{ ds }}"'],
            environment={"GREETING": "hello {{ dag.dag_id }}"},
            private_environment={"TOKEN": "t0ken-value"},
        )

    with dag("docker_lines"):
        docker("who", command="sh -c 'id -u; pwd'", user="nobody", working_dir="/tmp", xcom_all=True,
               auto_remove="success")

        for mode in ("none", "host"):
            docker(f"net_{mode}", network_mode=mode, xcom_all=True, auto_remove="force",
                   command=["sh", "-c", "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"])

    with dag("docker_fail"):
        docker("fail", command="sh -c 'echo about to fail; exit 3'", auto_remove="force")
        docker("skip", command="sh -c 'exit 3'", skip_on_exit_code=3, auto_remove="force")

    with dag("docker_stream"):
        docker("stream", command="sh -c 'echo first; until [ -e /data/go ]; do sleep 0.05; done; echo second'",
               mounts=[Mount(target="/data", source=DATA, type="bind")], auto_remove="force")

    with dag("docker_timeout"):
        docker("slow", command="sh -c 'echo waiting; sleep 120'", execution_timeout=dt.timedelta(seconds=3))

    with dag("docker_cancel"):
        docker("long", command="sh -c 'echo started; sleep 120'")

    with dag("docker_mount"):
        docker("bind", command="sh -c 'cat /data/in.txt; echo written > /data/out.txt; echo tmp=${AIRFLOW_TMP_DIR:-unset}'",
               mounts=[Mount(target="/data", source=DATA, type="bind")], mount_tmp_dir=False, auto_remove="force")
        docker("as_dict", command="cat /data/in.txt", mounts=[{"target": "/data", "source": DATA, "type": "bind",
               "read_only": True}], auto_remove="force")
        docker("retrieve", command="cp /data/result.pickle /tmp/result.pickle", retrieve_output=True,
               retrieve_output_path="/tmp/result.pickle", mounts=[Mount(target="/data", source=DATA, type="bind")],
               auto_remove="force")

    with dag("docker_default_url"):
        DockerOperator(task_id="env_host", image=IMAGE, command="echo via DOCKER_HOST", auto_remove="force")

    with dag("docker_mapped"):
        DockerOperator.partial(task_id="each", image=IMAGE, docker_url=URL, auto_remove="force").expand(
            command=["echo alpha", "sh -c 'echo {{ ti.map_index }}'"]
        )

    with dag("docker_missing_image"):
        docker("absent", image="local/absent:1")

    with dag("docker_no_daemon"):
        docker("nowhere", docker_url="unix:///nonexistent-dir/docker.sock")
    """
)

AIRFLOW2_DAG = textwrap.dedent(
    """
    from datetime import datetime

    from airflow import DAG
    from airflow.operators.docker_operator import DockerOperator

    with DAG("docker_airflow2", start_date=datetime(2024, 1, 1), schedule_interval=None):
        DockerOperator(task_id="legacy", image="__IMAGE__", docker_url="__URL__", command="echo from airflow 2",
                       auto_remove="force")
    """
)


@pytest.fixture
def token(tmp_path: Path) -> str:
    return f"t-{tmp_path.name}"


def write_dags(tmp_path: Path, daemon_url: str, image: str, token: str, source: str = DAGS) -> Path:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    path = tmp_path / "dags.py"
    for key, value in {"__URL__": daemon_url, "__IMAGE__": image, "__DATA__": str(data), "__TOKEN__": token}.items():
        source = source.replace(key, value)
    path.write_text(source)
    return path


@contextmanager
def engine(path: Path) -> Iterator[LocalRun]:
    with LocalRun(path, path.parent / "home") as local:
        yield local


def until(condition: Callable[[], Any], what: str, timeout: float = DEADLINE) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def finish(local: LocalRun, run: Any) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE
    while not run.done:
        assert time.monotonic() < deadline, "the run did not end"
        local.step(0.5)
    return run.result()


def run_dag(path: Path, dag_id: str) -> tuple[dict[str, Any], Store]:
    with engine(path) as local:
        run = local.begin(dag_id, logical_date=LOGICAL_DATE)
        result = finish(local, run)
    return result, Store.open(path.parent / "home")


def log_text(store: Store, result: dict[str, Any], task_id: str) -> str:
    log = store.log_path(TIKey(result["dag_id"], result["run_id"], task_id, -1))
    assert log is not None
    return log.read_text()


def xcom(store: Store, result: dict[str, Any], task_id: str) -> Any:
    return store.xcoms(TIKey(result["dag_id"], result["run_id"], task_id, -1)).get("return_value")


def states(result: dict[str, Any]) -> dict[str, str]:
    return {task: ti["state"] for task, ti in result["tasks"].items()}


@pytest.mark.docker
def test_success_streams_output_and_pushes_the_last_line(docker_daemon: DockerDaemon, tmp_path, token) -> None:
    path = write_dags(tmp_path, docker_daemon.url, docker_daemon.image, token)
    result, store = run_dag(path, "docker_ok")
    with store:
        assert states(result) == {"hello": "success"}
        assert xcom(store, result, "hello") == "last 2024-03-01"
        log = log_text(store, result, "hello")
        rendered = store.rendered_fields(TIKey("docker_ok", result["run_id"], "hello", -1))
    assert "greeting=hello docker_ok" in log  # templated environment
    assert "token=***" in log  # private_environment reaches the container, masked in the log...
    assert "t0ken-value" not in log
    assert "t0ken-value" not in repr(rendered)  # ...and is not a template field: not in the rendered view
    assert rendered is not None and rendered["environment"]["GREETING"] == "hello docker_ok"
    assert "tmp=/tmp/airflow" in log  # the temporary host directory, writable at AIRFLOW_TMP_DIR
    # auto_remove="never" (the default) keeps the exited container, like Airflow
    containers = docker_daemon.containers(f"dagstudio.test={token}")
    assert [(c["State"], c["Image"]) for c in containers] == [("exited", docker_daemon.image)]
    with docker_daemon.client() as client:
        assert client.inspect_container(containers[0]["Id"])["State"]["ExitCode"] == 0
        client.remove_container(containers[0]["Id"])


@pytest.mark.docker
def test_user_working_dir_network_mode_xcom_all_and_auto_remove_success(
    docker_daemon: DockerDaemon, tmp_path, token
) -> None:
    path = write_dags(tmp_path, docker_daemon.url, docker_daemon.image, token)
    result, store = run_dag(path, "docker_lines")
    with store:
        assert states(result) == {"who": "success", "net_none": "success", "net_host": "success"}
        assert xcom(store, result, "who") == ["65534", "/tmp"]
        assert xcom(store, result, "net_none") == ["lo"]
        host_interfaces = [line.split(":")[0].strip() for line in Path("/proc/net/dev").read_text().splitlines()[2:]]
        assert sorted(xcom(store, result, "net_host")) == sorted(host_interfaces)
    assert docker_daemon.containers(f"dagstudio.test={token}") == []


@pytest.mark.docker
def test_non_zero_exit_fails_with_the_exit_code_and_skip_code_skips(
    docker_daemon: DockerDaemon,
    tmp_path,
    token,
) -> None:
    path = write_dags(tmp_path, docker_daemon.url, docker_daemon.image, token)
    result, store = run_dag(path, "docker_fail")
    with store:
        assert result["state"] == "failed"
        assert states(result) == {"fail": "failed", "skip": "skipped"}
        log = log_text(store, result, "fail")
        skipped = log_text(store, result, "skip")
    assert "about to fail" in log
    assert "DockerContainerFailedException: Docker container failed: {" in log
    assert "'StatusCode': 3" in log
    assert "Docker container returned exit code [3]. Skipping." in skipped
    assert docker_daemon.containers(f"dagstudio.test={token}") == []  # auto_remove="force"


@pytest.mark.docker
def test_output_reaches_the_log_while_the_container_runs(docker_daemon: DockerDaemon, tmp_path, token) -> None:
    path = write_dags(tmp_path, docker_daemon.url, docker_daemon.image, token)
    with engine(path) as local:
        run = local.begin("docker_stream", logical_date=LOGICAL_DATE)
        log = run.log_path("stream", -1, 1)

        def first_line_logged() -> bool:
            local.step(0.05)
            return log.exists() and "first" in log.read_text()

        until(first_line_logged, "the first line in the task log")
        assert "second" not in log.read_text()
        running = docker_daemon.containers(f"dagstudio.test={token}")
        assert [c["State"] for c in running] == ["running"]
        (tmp_path / "data" / "go").touch()  # now the container prints its second line and ends
        result = finish(local, run)
    with Store.open(tmp_path / "home") as store:
        assert states(result) == {"stream": "success"}
        assert xcom(store, result, "stream") == "second"
        text = log_text(store, result, "stream")
    assert text.index("first") < text.index("second")


@pytest.mark.docker
def test_execution_timeout_stops_and_removes_the_container(docker_daemon: DockerDaemon, tmp_path, token) -> None:
    path = write_dags(tmp_path, docker_daemon.url, docker_daemon.image, token)
    started = time.monotonic()
    result, store = run_dag(path, "docker_timeout")
    with store:
        assert states(result) == {"slow": "failed"}
        log = log_text(store, result, "slow")
    assert time.monotonic() - started < 30  # not the container's 120 s
    assert "waiting" in log and "AirflowTaskTimeout" in log
    assert "Stopping docker container" in log
    assert docker_daemon.containers(f"dagstudio.test={token}") == []  # gone, though auto_remove="never"


@pytest.mark.docker
def test_cancel_stops_and_removes_the_container(docker_daemon: DockerDaemon, tmp_path, token) -> None:
    path = write_dags(tmp_path, docker_daemon.url, docker_daemon.image, token)
    with engine(path) as local:
        run = local.begin("docker_cancel", logical_date=LOGICAL_DATE)
        log = run.log_path("long", -1, 1)

        def started() -> bool:
            local.step(0.05)
            return log.exists() and "started" in log.read_text()

        until(started, "the container's first line")
        assert len(docker_daemon.containers(f"dagstudio.test={token}")) == 1
        local.cancel_all()  # SIGTERM to the worker: on_kill
        until(lambda: docker_daemon.containers(f"dagstudio.test={token}") == [], "the container to be removed", 15)
    assert "Stopping docker container" in log.read_text()


@pytest.mark.docker
def test_mounts_and_retrieve_output(docker_daemon: DockerDaemon, tmp_path, token) -> None:
    path = write_dags(tmp_path, docker_daemon.url, docker_daemon.image, token)
    (tmp_path / "data" / "in.txt").write_text("from the host\n")
    (tmp_path / "data" / "result.pickle").write_bytes(pickle.dumps({"rows": 3, "ok": True}))
    result, store = run_dag(path, "docker_mount")
    with store:
        assert states(result) == {"bind": "success", "as_dict": "success", "retrieve": "success"}
        assert xcom(store, result, "bind") == "tmp=unset"  # mount_tmp_dir=False: no AIRFLOW_TMP_DIR
        assert xcom(store, result, "as_dict") == "from the host"
        assert xcom(store, result, "retrieve") == {"rows": 3, "ok": True}
        assert "from the host" in log_text(store, result, "bind")
    assert (tmp_path / "data" / "out.txt").read_text() == "written\n"


@pytest.mark.docker
def test_docker_url_defaults_to_docker_host(docker_daemon: DockerDaemon, tmp_path, token, monkeypatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", docker_daemon.url)
    path = write_dags(tmp_path, "unused", docker_daemon.image, token)
    result, store = run_dag(path, "docker_default_url")
    with store:
        assert states(result) == {"env_host": "success"}
        assert xcom(store, result, "env_host") == "via DOCKER_HOST"


@pytest.mark.docker
def test_airflow2_import_path_runs(docker_daemon: DockerDaemon, tmp_path, token) -> None:
    path = write_dags(tmp_path, docker_daemon.url, docker_daemon.image, token, AIRFLOW2_DAG)
    result, store = run_dag(path, "docker_airflow2")
    with store:
        assert states(result) == {"legacy": "success"}
        assert xcom(store, result, "legacy") == "from airflow 2"


@pytest.mark.docker
def test_mapped_over_commands(docker_daemon: DockerDaemon, tmp_path, token) -> None:
    path = write_dags(tmp_path, docker_daemon.url, docker_daemon.image, token)
    result, store = run_dag(path, "docker_mapped")
    with store:
        assert result["state"] == "success"
        values = [store.xcoms(TIKey("docker_mapped", result["run_id"], "each", i))["return_value"] for i in (0, 1)]
    assert values == ["alpha", "1"]


@pytest.mark.docker
def test_missing_image_is_a_clear_task_error(docker_daemon: DockerDaemon, tmp_path, token) -> None:
    path = write_dags(tmp_path, docker_daemon.url, docker_daemon.image, token)
    result, store = run_dag(path, "docker_missing_image")
    with store:
        assert states(result) == {"absent": "failed"}
        log = log_text(store, result, "absent")
    assert "Docker image 'local/absent:1' is not on the Docker daemon at unix://" in log
    assert "pulling it failed" in log


def test_missing_daemon_is_a_clear_task_error(tmp_path) -> None:
    pytest.importorskip("docker")
    path = write_dags(tmp_path, "unused", "local/busybox:1", "none")
    result, store = run_dag(path, "docker_no_daemon")
    with store:
        assert states(result) == {"nowhere": "failed"}
        log = log_text(store, result, "nowhere")
    assert "Failed to establish connection to any given Docker hosts." in log
    assert "unix:///nonexistent-dir/docker.sock" in log
    assert "Is the Docker daemon running?" in log
