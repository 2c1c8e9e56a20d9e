"""Secrets end to end, in real ``dagstudio`` processes: connections and variables added with the CLI are
read by tasks (the environment first), their secrets show as ``***`` in task logs and in the stored
rendered template fields, the store file never holds them in clear text, exported and project files never
hold them, the key falls back to a 0600 file with a notice when there is no OS keyring (and goes to the
keyring when there is one), and bad input exits 2 writing nothing."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "Pa55-w0rd-of-db"
EXTRA_KEY = "extra-api-key-77"
VAR_SECRET = "var-token-31337"
SECRETS = (PASSWORD, EXTRA_KEY, VAR_SECRET)

DAG = textwrap.dedent(
    """
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.providers.standard.sensors.filesystem import FileSensor
    from airflow.sdk import DAG, BaseHook, Variable

    TOP_LEVEL_REGION = Variable.get("region")  # read while the file is parsed, as Airflow's DAG processor can


    def show():
        conn = BaseHook.get_connection("my_db")
        print("password:", conn.password)
        print("extra:", conn.extra_dejson)
        print("token:", Variable.get("api_token"))
        print("region:", Variable.get("region"))
        print("override host:", BaseHook.get_connection("override").host)
        print("top-level region:", TOP_LEVEL_REGION)
        return {"host": conn.host, "port": conn.port, "login": conn.login, "schema": conn.schema}


    def leak():
        raise RuntimeError("cannot connect with " + BaseHook.get_connection("my_db").password)


    with DAG("secrets", schedule=None) as dag:
        PythonOperator(task_id="show", python_callable=show)
        BashOperator(
            task_id="bash",
            bash_command="echo pw={{ conn.my_db.password }} token={{ var.value.api_token }} host={{ conn.my_db.host }}",
            do_xcom_push=False,  # an XCom is stored as pushed, as in Airflow: a task that returns a secret stores it
        )
        PythonOperator(task_id="leak", python_callable=leak)
        FileSensor(task_id="file", fs_conn_id="data_fs", filepath="in/*.csv", poke_interval=1, timeout=5)
    """
)

KEYRING_BACKEND = textwrap.dedent(
    """
    import json
    import os

    from keyring.backend import KeyringBackend


    class FileKeyring(KeyringBackend):
        '''A keyring kept in a JSON file (the test's stand-in for the OS keyring, loaded by keyring itself).'''

        priority = 10
        path = os.environ["TEST_KEYRING_FILE"]

        def _load(self):
            return json.load(open(self.path)) if os.path.exists(self.path) else {}

        def get_password(self, service, username):
            return self._load().get(f"{service}/{username}")

        def set_password(self, service, username, password):
            data = self._load()
            data[f"{service}/{username}"] = password
            json.dump(data, open(self.path, "w"))

        def delete_password(self, service, username):
            data = self._load()
            data.pop(f"{service}/{username}")
            json.dump(data, open(self.path, "w"))
    """
)


def dagstudio(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_"))}
    base.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")  # never the developer's keyring
    return subprocess.run(
        [sys.executable, "-m", "studio", *args, "--home", str(home)], capture_output=True, text=True,
        timeout=180, cwd=REPO, env={**base, **(env or {})},
    )  # fmt: skip


Runner = Callable[..., subprocess.CompletedProcess[str]]


def in_subprocess(home: Path) -> Runner:
    return lambda *args, env=None: dagstudio(home, *args, env=env)


def add_secrets(run: Runner, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    uri = f"postgresql://bob:{PASSWORD}@db.example.com:5432/sales?sslmode=require&api_key={EXTRA_KEY}"
    added = run("connections", "add", "my_db", "--conn-uri", uri, env=env)
    assert added.returncode == 0, added.stderr
    for key, value in (("api_token", VAR_SECRET), ("region", "eu-west-9")):
        done = run("variables", "set", key, value, env=env)
        assert done.returncode == 0, done.stderr
    return added


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Runner]:
    """``dagstudio … --home <tmp>/home`` in this process (fast), with no OS keyring."""
    import keyring
    import keyring.backends.fail

    from studio.cli import main

    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    for name in [n for n in os.environ if n.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_"))]:
        monkeypatch.delenv(name)
    home = tmp_path / "home"

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        with monkeypatch.context() as patch:
            for name, value in (env or {}).items():
                patch.setenv(name, value)
            code = main([*args, "--home", str(home)])
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(list(args), code, out, err)

    yield run
    keyring.set_keyring(previous)


def store_bytes(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(home.glob("dagstudio.db*")))


@pytest.mark.parametrize("executor", ["fork", "spawn"])
def test_a_run_reads_the_store_masks_secrets_and_keeps_them_out_of_files(tmp_path: Path, executor: str) -> None:
    home = tmp_path / "home"
    added = add_secrets(in_subprocess(home))
    assert "notice:" in added.stderr and "fernet.key" in added.stderr  # no OS keyring here: the key file
    key_file = home / "fernet.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    dag_file = tmp_path / "dags" / "secrets_dag.py"
    dag_file.parent.mkdir()
    dag_file.write_text(DAG)
    (tmp_path / "data" / "in").mkdir(parents=True)
    (tmp_path / "data" / "in" / "x.csv").write_text("a,b\n")
    fs = dagstudio(
        home,
        "connections",
        "add",
        "data_fs",
        "--conn-type",
        "fs",
        "--conn-extra",
        json.dumps({"path": str(tmp_path / "data")}),
    )
    assert fs.returncode == 0, fs.stderr

    run = dagstudio(
        home,
        "run",
        str(dag_file),
        "--json",
        env={"AIRFLOW_CONN_OVERRIDE": "http://from-env-host:8080", "DAGSTUDIO_EXECUTOR": executor},
    )
    assert run.returncode == 1, run.stderr  # `leak` fails the run
    result = json.loads(run.stdout)
    states = {task: info["state"] for task, info in result["tasks"].items()}
    assert states == {"show": "success", "bash": "success", "leak": "failed", "file": "success"}

    logs = {t: dagstudio(home, "logs", str(dag_file), "secrets", result["run_id"], t).stdout for t in states}
    assert "password: ***" in logs["show"]
    assert "'api_key': '***'" in logs["show"] and "'sslmode': 'require'" in logs["show"]
    assert "token: ***" in logs["show"] and "region: eu-west-9" in logs["show"]
    assert "override host: from-env-host" in logs["show"]  # the environment beats the store
    assert "top-level region: eu-west-9" in logs["show"]
    assert f"Poking for file {tmp_path / 'data' / 'in/*.csv'}" in logs["file"]  # below the fs connection's path
    assert "pw=*** token=*** host=db.example.com" in logs["bash"]
    assert "cannot connect with ***" in logs["leak"]
    for text in logs.values():
        assert not any(secret in text for secret in SECRETS)

    with sqlite3.connect(home / "dagstudio.db") as db:
        rendered = db.execute(
            "SELECT rendered_fields FROM rendered_task_instance_fields WHERE task_id = 'bash'"
        ).fetchone()
        value = db.execute("SELECT value FROM xcom WHERE task_id = 'show' AND key = 'return_value'").fetchone()
        error = db.execute("SELECT error FROM task_try WHERE task_id = 'leak'").fetchone()
    assert "pw=*** token=***" in json.loads(rendered[0])["bash_command"]
    assert json.loads(value[0]) == {"host": "db.example.com", "port": 5432, "login": "bob", "schema": "sales"}
    assert "***" in error[0] and PASSWORD not in error[0]
    stored = store_bytes(home)
    assert not any(secret.encode() in stored for secret in SECRETS)  # encrypted, and masked where shown

    project = tmp_path / "project"
    imported = dagstudio(home, "import", str(dag_file), "-o", str(project))
    assert imported.returncode == 0, imported.stderr
    exported = dagstudio(home, "export", str(project), "-o", str(tmp_path / "out"))
    assert exported.returncode == 0, exported.stderr
    written = [p for folder in (project, tmp_path / "out") for p in folder.rglob("*") if p.is_file()]
    assert any(p.suffix == ".py" for p in written) and any(p.suffix == ".json" for p in written)
    for path in written:
        assert not any(secret.encode() in path.read_bytes() for secret in SECRETS), path


def test_without_its_key_the_store_does_not_give_the_secrets(tmp_path: Path) -> None:
    home = tmp_path / "home"
    add_secrets(in_subprocess(home))
    (home / "fernet.key").unlink()
    got = dagstudio(home, "variables", "get", "api_token")
    assert got.returncode == 2 and VAR_SECRET not in got.stdout + got.stderr
    assert "key" in got.stderr and "missing" in got.stderr


def test_the_key_goes_to_the_os_keyring_when_there_is_one(tmp_path: Path) -> None:
    backend_dir = tmp_path / "backend"
    backend_dir.mkdir()
    (backend_dir / "file_keyring.py").write_text(KEYRING_BACKEND)
    env = {
        "PYTHON_KEYRING_BACKEND": "file_keyring.FileKeyring", "TEST_KEYRING_FILE": str(tmp_path / "keyring.json"),
        "PYTHONPATH": os.pathsep.join([str(backend_dir), str(REPO)]),
    }  # fmt: skip
    home = tmp_path / "home"
    added = add_secrets(in_subprocess(home), env)
    assert "notice:" not in added.stderr and not (home / "fernet.key").exists()
    kept = json.loads((tmp_path / "keyring.json").read_text())
    assert list(kept) == [f"dagstudio/store-key:{home.resolve()}"]
    got = dagstudio(home, "variables", "get", "api_token", env=env)
    assert got.returncode == 0 and got.stdout.strip() == VAR_SECRET
    assert VAR_SECRET.encode() not in store_bytes(home)


def test_cli_round_trips_and_refusals(cli: Runner, tmp_path: Path) -> None:
    home = tmp_path / "home"
    add_secrets(cli)
    listed = json.loads(cli("connections", "list", "--json").stdout)["connections"]
    by_id = {c["conn_id"]: c for c in listed}
    assert {"fs_default", "aws_default", "my_db"} <= set(by_id)
    assert by_id["fs_default"]["extra"] == {"path": "/"}
    mine = by_id["my_db"]
    assert (mine["conn_type"], mine["host"], mine["port"], mine["login"], mine["schema"], mine["password"]) == (
        "postgres", "db.example.com", 5432, "bob", "sales", "***",
    )  # fmt: skip
    assert mine["extra"] == {"sslmode": "require", "api_key": "***"}
    as_json = '{"conn_type": "aws", "login": "AKID", "password": "pw-json-9", "extra": {"region_name": "eu-west-1"}}'
    assert cli("connections", "add", "by_json", "--conn-json", as_json).returncode == 0
    parts = [
        "--conn-type",
        "http",
        "--conn-host",
        "api.example.com",
        "--conn-port",
        "8443",
        "--conn-password",
        "pw-parts-9",
    ]
    assert cli("connections", "add", "by_parts", *parts).returncode == 0
    listed = {c["conn_id"]: c for c in json.loads(cli("connections", "list", "--json").stdout)["connections"]}
    assert listed["by_json"]["extra"] == {"region_name": "eu-west-1"} and listed["by_json"]["password"] == "***"
    assert (listed["by_parts"]["host"], listed["by_parts"]["port"]) == ("api.example.com", 8443)
    assert cli("connections", "delete", "by_parts").returncode == 0
    assert "by_parts" not in cli("connections", "list").stdout

    assert cli("variables", "get", "region").stdout == "eu-west-9\n"
    assert cli("variables", "set", "cfg", '{"a": [1, 2]}').returncode == 0
    assert json.loads(cli("variables", "get", "cfg", "--json").stdout) == {"a": [1, 2]}
    assert cli("variables", "list").stdout.split() == ["api_token", "cfg", "region"]
    assert cli("variables", "get", "region", env={"AIRFLOW_VAR_REGION": "env-wins"}).stdout == "env-wins\n"
    assert cli("variables", "delete", "cfg").returncode == 0
    assert cli("variables", "get", "cfg", "--default", "gone").stdout == "gone\n"

    before = store_bytes(home)
    refusals = {
        ("connections", "add", "my_db", "--conn-type", "http"): "already exists",
        ("connections", "add", "x", "--conn-uri", "no-scheme"): "is invalid",
        ("connections", "add", "x"): "Must supply either conn-uri or conn-json",
        ("connections", "add", "x", "--conn-uri", "http://h", "--conn-json", "{}"): "Cannot supply both",
        ("connections", "add", "x", "--conn-uri", "http://h", "--conn-host", "h"): "not compatible",
        ("connections", "add", "x", "--conn-json", '{"host": "h"}'): "must supply conn-type",
        ("connections", "add", "x", "--conn-json", "{nope"): "connection x",
        ("connections", "add", "bad id!", "--conn-type", "http"): "alphanumeric",
        ("connections", "add", "x", "--conn-type", "http", "--conn-extra", "{bad"): "not valid JSON",
        ("connections", "add", "x", "--conn-type", "http", "--conn-port", "eighty"): "invalid int",
        ("connections", "delete", "nowhere"): "Did not find a connection",
        ("variables", "get", "nowhere"): "does not exist",
        ("variables", "delete", "nowhere"): "does not exist",
        ("variables", "set", "a..b", "v"): "consecutive dots",
        ("variables", "get", "region", "--json"): "not valid JSON",
    }
    for args, message in refusals.items():
        done = cli(*args)
        assert done.returncode == 2 and message in done.stderr, (args, done.stderr)
    assert store_bytes(home) == before


@pytest.mark.parametrize("mode", [0o644, 0o640])
def test_a_key_file_open_to_others_is_refused(tmp_path: Path, mode: int) -> None:
    home = tmp_path / "home"
    add_secrets(in_subprocess(home))
    os.chmod(home / "fernet.key", mode)
    got = dagstudio(home, "variables", "get", "api_token")
    assert got.returncode == 2 and "chmod 600" in got.stderr and VAR_SECRET not in got.stdout


def test_validate_warns_about_a_secret_written_as_a_literal(cli: Runner, tmp_path: Path) -> None:
    dag_file = tmp_path / "literal.py"
    dag_file.write_text(
        textwrap.dedent(
            """
            from airflow.providers.docker.operators.docker import DockerOperator
            from airflow.sdk import DAG

            with DAG("literal", schedule=None) as dag:
                DockerOperator(task_id="plain", image="busybox", private_environment={"PW": "in-clear"})
                DockerOperator(task_id="templated", image="busybox", private_environment={"PW": "{{ conn.db.password }}"})
            """
        )
    )
    done = cli("validate", str(dag_file))
    warnings = [line for line in done.stderr.splitlines() if "a secret written as a literal" in line]
    assert done.returncode == 0 and len(warnings) == 1 and f"{dag_file.name}:6:" in warnings[0]
