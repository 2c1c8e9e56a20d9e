"""``--conf`` merged over the DAG's params and validated like Airflow's ``Param`` before a run is
created: the validator's cases, the same cases against real Airflow 3.3's ``Param.resolve`` (-m airflow),
and ``dagstudio run`` exiting 2 with nothing written."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from studio.runtime.params import ParamError, resolve_params

# (value, schema, valid in Airflow 3.3.2)
CASES: list[tuple[object, dict, bool]] = [
    (3, {"type": "integer"}, True),
    (3.0, {"type": "integer"}, True),
    (3.5, {"type": "integer"}, False),
    (True, {"type": "integer"}, False),
    ("3", {"type": "integer"}, False),
    (2.5, {"type": "number"}, True),
    (None, {"type": ["null", "string"]}, True),
    (1, {"type": ["null", "string"]}, False),
    ("b", {"type": "string", "enum": ["a", "b"]}, True),
    ("c", {"type": "string", "enum": ["a", "b"]}, False),
    (1, {"enum": [1.0]}, True),
    (True, {"enum": [1]}, False),
    (0, {"type": "integer", "minimum": 1}, False),
    (1, {"type": "integer", "minimum": 1}, True),
    (10, {"type": "integer", "maximum": 9}, False),
    (5, {"type": "integer", "exclusiveMaximum": 5}, False),
    (5, {"type": "integer", "exclusiveMinimum": 5}, False),
    (6, {"type": "integer", "exclusiveMinimum": 5}, True),
    ("ab", {"type": "string", "minLength": 3}, False),
    ("abcd", {"type": "string", "maxLength": 3}, False),
    ("abc", {"type": "string", "minLength": 3, "maxLength": 3}, True),
    ("ab", {"type": "string", "pattern": "^a$"}, False),
    ("xaz", {"type": "string", "pattern": "a"}, True),
    ("2024-01-05", {"type": "string", "format": "date"}, True),
    ("2024-1-5", {"type": "string", "format": "date"}, False),
    ("20240105", {"type": "string", "format": "date"}, False),
    ("not a time", {"type": "string", "format": "date-time"}, True),  # unchecked without rfc3339-validator
    ("me@example.com", {"type": "string", "format": "email"}, True),
    ("nope", {"type": "string", "format": "email"}, False),
    ([1, 2], {"type": "array", "items": {"type": "integer"}}, True),
    ([1, "a"], {"type": "array", "items": {"type": "integer"}}, False),
    ([], {"type": "array", "minItems": 1}, False),
    ({"k": 1}, {"type": "object", "required": ["k"]}, True),
    ({}, {"type": "object", "required": ["k"]}, False),
    ({"k": "x"}, {"type": "object", "properties": {"k": {"type": "integer"}}}, False),
    ("anything", {}, True),
]


@pytest.mark.parametrize(("value", "schema", "valid"), CASES)
def test_validator_cases(value, schema, valid) -> None:
    params = {"p": {"default": None, "schema": schema}}
    if valid:
        assert resolve_params(params, {"p": value})["p"] == value
    else:
        with pytest.raises(ParamError) as caught:
            resolve_params(params, {"p": value})
        assert caught.value.name == "p" and "invalid param 'p'" in str(caught.value)


def test_conf_overrides_defaults_and_extra_keys_pass() -> None:
    params = {"n": {"default": 3, "schema": {"type": "integer"}}, "s": {"default": "x", "schema": {}}}
    assert resolve_params(params, {"n": 4, "extra": [1]}) == {"n": 4, "s": "x", "extra": [1]}
    with pytest.raises(ParamError, match=r"invalid param 'n': .* not of type 'integer'"):
        resolve_params(params, {"n": "four"})


def test_a_param_without_default_is_required() -> None:
    params = {"day": {"default": None, "schema": {"type": "string"}}}
    with pytest.raises(ParamError, match="no value passed and the param has no default value"):
        resolve_params(params, {})
    assert resolve_params(params, {"day": "mon"}) == {"day": "mon"}
    assert resolve_params({"o": {"default": None, "schema": {"type": ["null", "string"]}}}, {}) == {"o": None}


ORACLE = textwrap.dedent(
    """
    import json, sys
    from airflow.sdk import Param
    out = []
    for value, schema in json.load(sys.stdin):
        try:
            Param(value, **schema).resolve()
            out.append(True)
        except Exception:
            out.append(False)
    print(json.dumps(out))
    """
)


@pytest.mark.airflow
def test_cases_match_real_airflow_param() -> None:
    from tests.oracle.airflow_env import airflow_python

    cases = [[value, schema] for value, schema, _ in CASES]
    proc = subprocess.run(
        [str(airflow_python()), "-c", ORACLE], input=json.dumps(cases), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [valid for _, _, valid in CASES]


DAG_FILE = textwrap.dedent(
    """
    import pendulum
    from airflow.sdk import DAG, Param
    from airflow.providers.standard.operators.empty import EmptyOperator

    with DAG("params", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None,
             params={"n": Param(3, type="integer", minimum=1), "mode": Param("fast", enum=["fast", "slow"]),
                     "day": Param(type="string", format="date")}) as dag:
        EmptyOperator(task_id="t")
    """
)


def dagstudio(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "studio", *args, "--home", str(home)], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"n": 0, "day": "2024-01-01"}, "invalid param 'n': 0 is less than the minimum of 1"),
        ({"n": "x", "day": "2024-01-01"}, "invalid param 'n'"),
        ({"mode": "medium", "day": "2024-01-01"}, "invalid param 'mode'"),
        ({}, "invalid param 'day': no value passed"),
        ({"day": "Jan 1"}, "invalid param 'day'"),
    ],
)
def test_invalid_conf_exits_2_and_writes_nothing(tmp_path: Path, conf: dict, message: str) -> None:
    path = tmp_path / "params.py"
    path.write_text(DAG_FILE)
    home = tmp_path / "home"
    proc = dagstudio("run", str(path), "--conf", json.dumps(conf), home=home)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    history = dagstudio("runs", str(path), "--json", home=home)
    assert history.returncode == 0 and json.loads(history.stdout)["runs"] == []


def test_valid_conf_runs(tmp_path: Path) -> None:
    path = tmp_path / "params.py"
    path.write_text(DAG_FILE)
    proc = dagstudio("run", str(path), "--conf", '{"day": "2024-01-01", "n": 2}', "--json", home=tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["state"] == "success"
