"""Mapped task groups in the sdk: ``@task_group`` ``.expand``/``.partial``/``.expand_kwargs``, how
their tasks are described (``map_groups``), and how they run in-process (each map index resolves the
group's arguments and the XCom of its own map index; a reader outside gets every map index).

Expected values follow Airflow 3.3 (``MappedTaskGroup``, ``MappedArgument.resolve``,
``PlainXComArg.resolve``); tests/run_corpus/mapgroup_*.py run the same shapes against real Airflow.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.sdk.describe import describe_dag
from studio.sdk.execution import map_length
from studio.sdk.loader import DagFileError
from tests.test_sdk_execution import dag_source
from tests.test_sdk_helpers import Runner

GROUP_DAG = """
from airflow.sdk import task_group
@task
def src():
    return [1, 2, 3]
@task
def double(x):
    return x * 2
@task
def show(y, z):
    return f"{y}-{z}"
@task_group
def g(x, z):
    return show(double(x), z)
@task
def total(values):
    return values
total(g.partial(z=7).expand(x=src()))
@task
def lone(v):
    return v
lone(g.override(group_id="single").partial(z=0).expand(x=[5]))
@task_group
def kw(a, b):
    show.override(task_id="pair")(a, b)
kw.expand_kwargs([{"a": 1, "b": 2}, {"a": 3, "b": 4}])
"""


def test_mapped_group_tasks_are_described_with_their_group_and_sources(tmp_path: Path):
    tasks = {t["task_id"]: t for t in describe_dag(Runner(tmp_path, dag_source(GROUP_DAG)).dag)["tasks"]}
    assert tasks["g.double"]["map_groups"] == [{"group_id": "g", "map_sources": ["src"]}]
    assert tasks["g.double"]["upstream"] == ["src"]  # the group's input task is upstream of its roots
    assert tasks["g.show"]["upstream"] == ["g.double"]
    assert tasks["total"]["upstream"] == ["g.show"] and tasks["total"]["map_groups"] == []
    assert tasks["single.double"]["map_groups"] == [{"group_id": "single", "map_sources": [1]}]
    assert tasks["kw.pair"]["map_groups"] == [{"group_id": "kw", "map_sources": [2]}]
    assert not tasks["g.double"]["is_mapped"]


def test_each_map_index_reads_its_own_argument_and_xcom(tmp_path: Path):
    runner = Runner(tmp_path, dag_source(GROUP_DAG))
    assert runner.run("src")["map_length"] == 3  # a mapped task group expands over it
    for i in range(3):
        assert runner.run("g.double", i)["state"] == "success"
        assert runner.run("g.show", i)["state"] == "success"
    assert [runner.value("g.show", map_index=i) for i in range(3)] == ["2-7", "4-7", "6-7"]
    assert runner.run("total")["state"] == "success"
    assert runner.value("total") == ["2-7", "4-7", "6-7"]  # outside the group: every map index


def test_a_single_map_index_is_pulled_unwrapped_outside_the_group(tmp_path: Path):
    runner = Runner(tmp_path, dag_source(GROUP_DAG))
    runner.run("single.double", 0)
    runner.run("single.show", 0)
    runner.run("lone")
    assert runner.value("lone") == "10-0"  # Airflow's xcom_pull: one value is not put in a list


def test_expand_kwargs_group_gets_each_dict(tmp_path: Path):
    runner = Runner(tmp_path, dag_source(GROUP_DAG))
    assert [runner.run("kw.pair", i)["state"] for i in range(2)] == ["success", "success"]
    assert [runner.value("kw.pair", map_index=i) for i in range(2)] == ["1-2", "3-4"]


def test_an_unexpanded_map_index_cannot_resolve_the_group_argument(tmp_path: Path):
    runner = Runner(tmp_path, dag_source(GROUP_DAG))
    runner.run("src")
    result = runner.run("g.double", -1)
    assert result["state"] == "failed" and "without expanding" in result["error"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "from airflow.sdk import task_group\n@task\ndef a(x):\n    return x\n@task\ndef b():\n    pass\n"
            "@task_group\ndef g(x):\n    a(x) >> b.override(trigger_rule='always')()\n"
            "g.expand(x=[1]) >> b.override(task_id='after')()",
            "not allowed with trigger rule 'always'",
        ),
        (
            "from airflow.sdk import task_group\n@task\ndef a(x, y):\n    return x\n"
            "@task_group\ndef g(x):\n    a.partial(x=x).expand(y=[1, 2])\ng.expand(x=[1])",
            "operator expansion in an expanded task group is not yet supported",
        ),
        ("from airflow.sdk import task_group\n@task_group\ndef g(x):\n    pass\ng.expand()", "no arguments"),
        (
            "from airflow.sdk import task_group\n@task_group\ndef g(x, y):\n    pass\ng.partial(x=1).expand(x=[2])",
            "mapping already partial",
        ),
        ("from airflow.sdk import task_group\n@task_group\ndef g(x):\n    pass\ng.expand(x=3)", "Cannot map over"),
    ],
)
def test_invalid_mapped_groups_are_refused(tmp_path: Path, body: str, message: str):
    with pytest.raises(DagFileError, match=message):
        Runner(tmp_path, dag_source(body))


def test_map_length_of_a_task_in_a_mapped_group(tmp_path: Path):
    runner = Runner(tmp_path, dag_source(GROUP_DAG))
    runner.run("src")
    assert map_length(runner.dag, "g.show", runner.run_info, runner.xcom) == 3
    assert map_length(runner.dag, "kw.pair", runner.run_info, runner.xcom) == 2
    with pytest.raises(ValueError, match="not a mapped task"):
        map_length(runner.dag, "total", runner.run_info, runner.xcom)
