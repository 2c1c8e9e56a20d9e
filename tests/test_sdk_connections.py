"""Connections, Variables and the secrets masker of ``studio.sdk``: the URI / JSON forms and the masking rules
compared with Airflow 3.3.2's task SDK (differential), the seeded default connections compared with
Airflow's list, and the lookup order (environment first, then the store)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from studio.sdk import connections
from studio.sdk.connections import AirflowNotFoundException, BaseHook, Connection, Variable, use_store
from studio.sdk.masking import MaskingStream, mask_secret, redact, reset_secrets_masker, secrets_masker
from studio.store.default_connections import DEFAULT_CONNECTIONS
from tests.oracle.airflow_env import airflow_env, airflow_python

URIS = [
    "postgresql://bob:s3cr%40t@db.example.com:5432/sales?sslmode=require",
    "mysql://user:pass@host:3306/schema",
    "aws://AKIDEXAMPLE:wJalrXUtnFEMI%2FK7MDENG@/?region_name=eu-west-1&endpoint_url=http%3A%2F%2Flocalhost%3A9000",
    "smtp://mailer:pw123456@smtp.example.com:587/?disable_tls=false&from_email=a%40b.c",
    "fs://?path=%2Fdata%2Fin",
    "http://https%3A%2F%2Fapi.example.com%2Fv1",
    "google-cloud-platform://?__extra__=%7B%22project%22%3A+%22p%22%2C+%22num%22%3A+3%7D",
    "my-conn-type://login@host",
    "docker://:secret_pw@registry.example.com:5000",
    "spark://spark-master:7077/?deploy-mode=cluster&queue=root.default",
    "sqlite:////tmp/some%20path/db.sqlite",
    "a://b://c://d",
    "ftp://user:p%3Aw%2Fd@Host.Example.COM:21",
    "http://host:notaport",
    "s3://bucket-name/key/prefix?a=1&a=2",
    "redis://:@localhost:6379/0",
]
JSONS = [
    '{"conn_type": "postgresql", "host": "h", "login": "u", "password": "p", "port": "5432", "schema": "s"}',
    '{"conn_type": "aws", "extra": {"region_name": "eu-west-1", "aws_secret_access_key": "xyzxyz"}}',
    '{"conn_type": "http", "host": "h", "extra": "{\\"timeout\\": 3}"}',
    '{"conn_type": "smtp-x", "port": "nope"}',
    '{"host": "only-host", "description": "d"}',
]
PARTS: list[dict[str, Any]] = [
    {"conn_type": "postgres", "host": "h", "login": "u s", "password": "p@ss/w:rd", "schema": "db/x", "port": 5432},
    {"conn_type": "aws", "extra": json.dumps({"region_name": "r", "nested": {"a": 1}})},
    {"conn_type": "fs", "extra": json.dumps({"path": "/data"})},
    {"conn_type": "http", "host": "https://api.example.com", "port": 443},
    {"conn_type": "generic", "port": 99},
    {"conn_type": "smtp", "login": "me", "extra": json.dumps({"list": [1, 2]})},
]
MASKING: list[dict[str, Any]] = [
    {"masks": [["hunter2hunter2", None]], "value": "login with hunter2hunter2 now", "name": None},
    {"masks": [["abc", None]], "value": "abc is short", "name": None},
    {"masks": [["airflow", None]], "value": "airflow stays", "name": None},
    {"masks": [["v4lue-of-a-key", "api_key"], ["v4lue-public", "region"]], "value": "v4lue-of-a-key v4lue-public", "name": None},
    {"masks": [[{"password": "pw-in-dict", "host": "some-host-name"}, None]], "value": "pw-in-dict some-host-name", "name": None},
    {"masks": [], "value": {"password": "x", "Secret-Token": "y", "nested": {"AWS_SECRET_ACCESS_KEY": ["a", "b"]}, "ok": "z"}, "name": None},
    {"masks": [], "value": ["a", {"passwd": 3, "deep": [{"private_key": "k"}]}], "name": "harmless"},
    {"masks": [], "value": {"a": "b"}, "name": "my_password"},
    {"masks": [["longsecret", None]], "value": {"text": "x longsecret y", "n": 5, "l": ["longsecret"]}, "name": None},
]  # fmt: skip


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in ("AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES", "AIRFLOW__CORE__HIDE_SENSITIVE_VAR_CONN_FIELDS"):
        monkeypatch.delenv(name, raising=False)
    reset_secrets_masker()
    use_store(None)
    yield
    reset_secrets_masker()
    use_store(None)


def ours() -> dict[str, Any]:
    def attempt(function: Any) -> dict[str, Any]:
        try:
            return {"ok": function()}
        except Exception as exc:
            return {"error": type(exc).__name__}

    def describe(conn: Connection) -> dict[str, Any]:
        return {k: getattr(conn, k) for k in ("conn_type", "host", "schema", "login", "password", "port", "extra")}

    def parse(uri: str) -> dict[str, Any]:
        conn = Connection.from_uri(uri, conn_id="c")
        return {**describe(conn), "get_uri": conn.get_uri()}

    def build(parts: dict[str, Any]) -> dict[str, Any]:
        conn = Connection(conn_id="c", **parts)
        return {"get_uri": conn.get_uri(), "as_json": json.loads(conn.as_json())}

    masking = []
    for case in MASKING:
        reset_secrets_masker()
        for secret, name in case["masks"]:
            mask_secret(secret, name)
        masking.append(json.loads(json.dumps(redact(case["value"], case["name"]))))
    return {
        "uris": [attempt(lambda u=u: parse(u)) for u in URIS],
        "jsons": [attempt(lambda t=t: describe(Connection.from_json(t, conn_id="c"))) for t in JSONS],
        "parts": [attempt(lambda p=p: build(p)) for p in PARTS],
        "masking": masking,
        "defaults": [list(row) for row in DEFAULT_CONNECTIONS],
    }


@pytest.mark.airflow
def test_parsing_masking_and_defaults_are_airflows(tmp_path: Path) -> None:
    cases = {"uris": URIS, "jsons": JSONS, "parts": PARTS, "masking": MASKING}
    oracle = Path(__file__).resolve().parent / "oracle" / "connections_oracle.py"
    proc = subprocess.run(
        [str(airflow_python()), str(oracle)], input=json.dumps(cases), capture_output=True, text=True,
        env=airflow_env(tmp_path), timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    airflow = json.loads(proc.stdout)
    mine = ours()
    for kind in ("uris", "jsons", "parts"):
        for case, theirs, got in zip(cases[kind], airflow[kind], mine[kind], strict=True):
            assert got == theirs, (kind, case)
    for case, theirs, got in zip(MASKING, airflow["masking"], mine["masking"], strict=True):
        assert got == theirs, case
    assert mine["defaults"] == airflow["defaults"]


def test_environment_first_then_the_store(monkeypatch: pytest.MonkeyPatch) -> None:
    class Store:
        def connection(self, conn_id: str) -> dict[str, Any] | None:
            rows = {"both": {"conn_type": "http", "host": "store-host", "password": "store-pass-1"},
                    "only_store": {"conn_type": "fs", "extra": '{"path": "/srv"}'}}  # fmt: skip
            return rows.get(conn_id)

        def variable(self, key: str) -> str | None:
            return {"both": "from-store", "only_store": '{"a": [1]}'}.get(key)

    use_store(Store())
    monkeypatch.setenv("AIRFLOW_CONN_BOTH", "http://env-host:80")
    monkeypatch.setenv("AIRFLOW_VAR_BOTH", "from-env")
    assert Connection.get("both").host == "env-host"
    assert BaseHook.get_connection("only_store").extra_dejson == {"path": "/srv"}
    assert Variable.get("both") == "from-env"
    assert Variable.get("only_store", deserialize_json=True) == {"a": [1]}
    assert Variable.get("missing", default="d") == "d"
    with pytest.raises(KeyError):
        Variable.get("missing")
    with pytest.raises(AirflowNotFoundException, match="The conn_id `nowhere` isn't defined"):
        Connection.get("nowhere")
    monkeypatch.delenv("AIRFLOW_CONN_BOTH")
    assert Connection.get("both").host == "store-host"
    assert redact("pw store-pass-1") == "pw ***"  # reading a connection registered its password


def test_fs_default_without_a_store_is_the_seeded_default() -> None:
    assert connections._BACKENDS == []
    assert Connection.get("fs_default").extra_dejson == {"path": "/"}


def test_sensitive_variable_and_extra_values_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_VAR_MY_API_KEY", "key-123456")
    monkeypatch.setenv("AIRFLOW_VAR_REGION", "eu-west-1x")
    monkeypatch.setenv(
        "AIRFLOW_CONN_SVC", json.dumps({"conn_type": "http", "extra": {"token": "tok-abcdef", "x": "plainval"}})
    )
    Variable.get("my_api_key")
    Variable.get("region")
    assert Connection.get("svc").extra_dejson["x"] == "plainval"
    assert redact("key-123456 eu-west-1x tok-abcdef plainval") == "*** eu-west-1x *** plainval"
    monkeypatch.setenv("AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES", "region")
    reset_secrets_masker()
    assert secrets_masker().should_hide_value_for_key("REGION")


def test_masking_stream_holds_a_line_until_it_is_complete(tmp_path: Path) -> None:
    mask_secret("p4ssw0rd!")
    target = (tmp_path / "log").open("w", encoding="utf-8")
    stream = MaskingStream(target)  # type: ignore[arg-type]
    stream.write("the p4ss")
    stream.write("w0rd! and\nnext p4ssw0rd! ")
    stream.flush()
    stream.write("tail")
    stream.close()
    target.close()
    assert (tmp_path / "log").read_text() == "the *** and\nnext *** tail"


def test_airflow_module_paths_serve_them() -> None:
    import importlib

    from studio.sdk import hook, sensors

    hook.install()
    try:
        served = {
            "airflow.sdk": ["BaseHook", "Connection", "Variable"],
            "airflow.hooks.base": ["BaseHook"],
            "airflow.sdk.bases.hook": ["BaseHook"],
            "airflow.models": ["Connection", "Variable"],
            "airflow.models.connection": ["Connection"],
            "airflow.models.variable": ["Variable"],
            "airflow.sdk.definitions.connection": ["Connection"],
            "airflow.sdk.definitions.variable": ["Variable"],
            "airflow.exceptions": ["AirflowNotFoundException"],
            "airflow.sdk.log": ["mask_secret"],
            "airflow.utils.log.secrets_masker": ["mask_secret", "redact"],
            "airflow.providers.standard.hooks.filesystem": ["FSHook"],
        }
        ours_by_name = {"BaseHook": BaseHook, "Connection": Connection, "Variable": Variable, "mask_secret": mask_secret,
                        "redact": redact, "AirflowNotFoundException": AirflowNotFoundException, "FSHook": sensors.FSHook}  # fmt: skip
        for module, names in served.items():
            for name in names:
                assert getattr(importlib.import_module(module), name) is ours_by_name[name], (module, name)
    finally:
        hook.uninstall()
