"""Differential tests: DAG Studio's DockerOperator against the docker provider's, in real Airflow 3.3.2.

The oracle (tests/oracle/docker_oracle.py) reports the provider's constructor (parameter names and
defaults), template fields and extensions, and runs the provider's own ``execute`` against the same
private dockerd as ours: the XCom values and the failure messages must be the same.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from studio.codegen.export import export_project
from studio.core.catalog import BASE_FIELDS, SPECS
from studio.core.model import Dag, Edge, Project, Task
from studio.core.values import CodeExpr, XComRef
from studio.runtime.engine import LocalRun
from studio.sdk.masking import reset_secrets_masker
from studio.sdk.providers_docker import DockerOperator
from studio.store import Store
from studio.store.records import TIKey
from tests.docker_daemon import DockerDaemon

ORACLE = Path(__file__).parent / "oracle" / "docker_oracle.py"


CONNECTIONS = {
    "AIRFLOW_CONN_DOCKER_NOLOGIN": "docker://registry.invalid:5000",
    "AIRFLOW_CONN_DOCKER_REFUSED": "docker://user:pa55word@127.0.0.1:1",
}


def oracle(tmp_path: Path, cases: dict[str, dict[str, Any]]) -> dict[str, Any]:
    from tests.oracle.airflow_env import airflow_env, airflow_python

    proc = subprocess.run(
        [str(airflow_python()), str(ORACLE), json.dumps(cases)],
        capture_output=True, text=True, env={**airflow_env(tmp_path), **CONNECTIONS}, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def ours(kwargs: dict[str, Any]) -> dict[str, Any]:
    operator = DockerOperator(task_id="ours", **kwargs)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return {"result": operator.execute({}), "error": None}
    except Exception as err:
        return {"result": None, "error": [type(err).__name__, str(err)]}
    finally:
        reset_secrets_masker()  # execute registered private_environment's values in this (pytest) process


@pytest.mark.airflow
def test_constructor_and_template_fields_match_the_provider(tmp_path: Path) -> None:
    theirs = oracle(tmp_path, {})["signature"]
    params = inspect.signature(DockerOperator.__init__).parameters
    mine = {
        name: "<required>" if p.default is inspect.Parameter.empty else repr(p.default)
        for name, p in params.items()
        if name != "self" and p.kind is inspect.Parameter.KEYWORD_ONLY
    }
    assert mine == theirs["params"]
    assert list(DockerOperator.template_fields) == theirs["template_fields"]
    assert list(DockerOperator.template_ext) == theirs["template_ext"]
    # the catalog (palette, inspector, codegen) knows which of its fields Airflow templates, with their defaults
    (spec,) = [s for s in SPECS if s.id == "DockerOperator"]
    own = {f.name for f in spec.fields} - {f.name for f in BASE_FIELDS}
    assert own <= set(theirs["params"])
    assert {f.name for f in spec.fields if f.templated and f.name in own} == own & set(theirs["template_fields"])
    for field in spec.fields:
        if field.name in own and field.has_default:
            assert repr(field.default) == theirs["params"][field.name], field.name


@pytest.mark.airflow
@pytest.mark.docker
def test_results_and_failures_match_the_provider(docker_daemon: DockerDaemon, tmp_path: Path, monkeypatch) -> None:
    base = {"image": docker_daemon.image, "docker_url": docker_daemon.url, "auto_remove": "force"}
    cases = {
        "last_line": {**base, "command": "sh -c 'echo one; echo two'"},
        "all_lines": {**base, "command": ["sh", "-c", "echo a; echo; echo c"], "xcom_all": True},
        "list_literal": {**base, "command": "['echo', 'from a literal']"},
        "no_output": {**base, "command": "true"},
        "no_push": {**base, "command": "echo x", "do_xcom_push": False},
        "env": {**base, "command": "sh -c 'echo $A-$B-$C'", "environment": {"A": "1", "B": "2"},
                "private_environment": {"B": "pr1vate-b", "C": "3"}, "env_file": "C=from-file\nD=4"},
        "entrypoint": {**base, "entrypoint": ["echo", "entry"], "command": ["point"]},
        "exit_code": {**base, "command": "sh -c 'echo bye; exit 7'"},
        "skip_code": {**base, "command": "sh -c 'exit 7'", "skip_on_exit_code": [7]},
        "no_daemon": {**base, "docker_url": "unix:///nonexistent-dir/docker.sock"},
        "no_connection": {**base, "docker_conn_id": "docker_missing"},
        "no_login": {**base, "docker_conn_id": "docker_nologin"},
        "login_refused": {**base, "docker_conn_id": "docker_refused"},
    }  # fmt: skip
    before = {c["Id"] for c in docker_daemon.containers()}
    theirs = oracle(tmp_path, cases)["cases"]
    for key, value in CONNECTIONS.items():
        monkeypatch.setenv(key, value)
    mine = {name: ours(kwargs) for name, kwargs in cases.items()}
    assert theirs["exit_code"]["error"][1].startswith("Docker container failed: {")  # the oracle ran for real
    for name in cases:
        if name == "no_daemon":  # ours says more; Airflow's sentence comes first
            assert mine[name]["error"][0] == theirs[name]["error"][0] == "AirflowException"
            assert mine[name]["error"][1].startswith(theirs[name]["error"][1])
        elif name in ("no_connection", "no_login"):  # Airflow's AirflowNotFoundException: an AirflowException
            assert (mine[name]["error"][0], theirs[name]["error"][0]) == (
                "AirflowException",
                "AirflowNotFoundException",
            )
            assert mine[name]["error"][1] == theirs[name]["error"][1]
        elif name == "login_refused":  # Airflow re-raises the SDK's APIError; ours names the registry first
            assert (mine[name]["error"][0], theirs[name]["error"][0]) == ("AirflowException", "APIError")
            assert mine[name]["error"][1].endswith(theirs[name]["error"][1])
            assert mine[name]["error"][1].startswith("Login to the Docker registry 127.0.0.1:1 failed: ")
        else:
            assert mine[name] == theirs[name], name
    assert {c["Id"] for c in docker_daemon.containers()} == before  # auto_remove="force" on both sides


@pytest.mark.airflow
@pytest.mark.docker
def test_exported_dag_loads_in_airflow_and_runs_here(docker_daemon: DockerDaemon, airflow_oracle, tmp_path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "in.txt").write_text("echo relayed\n")
    common = {"image": docker_daemon.image, "docker_url": docker_daemon.url, "auto_remove": "force"}
    mount = CodeExpr(f"Mount(target='/data', source={str(data)!r}, type='bind', read_only=True)")
    dag = Dag(
        "docker_export",
        module_code="from docker.types import Mount\n",
        tasks=[
            Task("make", "DockerOperator", {**common, "command": "cat /data/in.txt", "mounts": [mount],
                                            "environment": {"DAY": "{{ ds }}"}, "mount_tmp_dir": False}),
            Task("use", "DockerOperator", {**common, "command": XComRef("make"), "xcom_all": True}),
        ],
        edges=[Edge("make", "use")],
    )  # fmt: skip
    (path,) = export_project(Project("docker", [dag]), tmp_path / "export", "airflow3")
    loaded = airflow_oracle(tmp_path / "export")
    assert loaded["import_errors"] == {}
    assert loaded["dags"]["docker_export"]["edges"] == [["make", "use"]]
    with LocalRun(path, tmp_path / "home") as local:
        run = local.begin("docker_export")
        deadline = time.monotonic() + 60
        while not run.done:
            assert time.monotonic() < deadline, "the run did not end"
            local.step(0.5)
        result = run.result()
    assert {t: ti["state"] for t, ti in result["tasks"].items()} == {"make": "success", "use": "success"}
    with Store.open(tmp_path / "home") as store:
        xcom = store.xcoms(TIKey("docker_export", result["run_id"], "use", -1))
    assert xcom["return_value"] == ["relayed"]
