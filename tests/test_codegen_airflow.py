"""Differential test: generated DAG files load in a real Apache Airflow 3.3.2 with the model's structure.

Every representative case plus DAGs made to stress the generator (a group written as two blocks, XCom
references against model order, TaskFlow functions that cannot carry their decorator, aliased imports,
awkward ids and strings) is generated for Airflow 3 and loaded with Airflow's own ``DagBag``: no import
errors, and exactly the task ids and edges of ``Dag.structure()``. The Airflow 2 files can only be
compiled here (Airflow 2 is not installed).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.codegen.export import export_project
from studio.codegen.generator import generate_dag
from studio.core.model import Dag, Edge, Project, Task, TaskGroup
from studio.core.values import CallableRef, CodeExpr, XComRef
from tests.test_codegen_cases import CASES


def bash(task_id: str, group: str | None = None, **args: object) -> Task:
    return Task(task_id, "BashOperator", {"bash_command": f"echo {task_id}", **args}, group_id=group)


def reentered_group() -> Dag:
    return Dag(
        "reentered_group",
        groups=[TaskGroup("g"), TaskGroup("g.inner", "g")],
        tasks=[
            bash("g.first", "g"),
            bash("middle", bash_command=XComRef("g.first")),
            bash("g.inner.last", "g.inner", env={"X": XComRef("middle")}),
        ],
        edges=[Edge("g.first", "middle"), Edge("middle", "g.inner.last")],
    )


def xcom_against_model_order() -> Dag:
    return Dag(
        "xcom_against_model_order",
        module_code="def total(values):\n    return sum(values)\n\n\ndef numbers():\n    return [1, 2]\n",
        tasks=[
            Task("total", "@task", {"python_callable": CallableRef("total"), "op_args": [XComRef("numbers")]}),
            Task("report", "BashOperator", {"bash_command": XComRef("total")}),
            Task("numbers", "@task", {"python_callable": CallableRef("numbers")}),
        ],
        edges=[Edge("numbers", "total"), Edge("total", "report"), Edge("numbers", "report", "raw")],
    )


def taskflow_without_decorator() -> Dag:
    return Dag(
        "taskflow_without_decorator",
        module_code='def work():\n    return 1\n\n\ndef pick():\n    return "work_flow"\n',
        tasks=[
            Task("plain", "PythonOperator", {"python_callable": CallableRef("work")}),
            Task("work_flow", "@task", {"python_callable": CallableRef("work"), "retries": 1}),
            Task("pick", "@task.branch", {"python_callable": CallableRef("pick")}),
            Task("pick_again", "@task", {"python_callable": CallableRef("pick")}),
            Task("mapped", "@task", {"python_callable": CallableRef("work")}, expand_kwargs=[{}, {}]),
        ],
        edges=[Edge("plain", "pick"), Edge("pick", "work_flow"), Edge("work_flow", "pick_again")],
    )


def taskflow_late_names() -> Dag:
    return Dag(
        "taskflow_late_names",
        module_code="def first():\n    return 1\n\n\ndef second(templates_dict=None):\n    return 2\n\n\n"
        "def alert(context):\n    pass\n",
        tasks=[
            Task(
                "first", "@task", {"python_callable": CallableRef("first"), "on_failure_callback": CallableRef("alert")}
            ),
            Task(
                "second", "@task", {"python_callable": CallableRef("second"), "templates_dict": {"x": XComRef("first")}}
            ),
        ],
        edges=[Edge("first", "second")],
    )


def taskflow_lambda() -> Dag:
    return Dag(
        "taskflow_lambda",
        tasks=[
            Task("anon", "@task", {"python_callable": CodeExpr("lambda: 42")}),
            Task("echo", "BashOperator", {"bash_command": XComRef("anon")}),
        ],
        edges=[Edge("anon", "echo")],
    )


def aliased_names() -> Dag:
    return Dag(
        "aliased_names",
        module_code='Label = "not airflow\'s"\nDAG = None\n\n\ndef task():\n    return "mine"\n\n\ndef extract():\n    return 1\n',
        groups=[TaskGroup("load", args={"prefix_group_id": False}), TaskGroup("inner", "load")],
        tasks=[
            Task("extract", "@task", {"python_callable": CallableRef("extract")}),
            bash("print", bash_command=XComRef("extract")),
            bash("class", "load"),
            bash("inner.task", "inner"),
        ],
        edges=[Edge("extract", "print"), Edge("print", "class", "to load"), Edge("class", "inner.task")],
        tail_code='if __name__ == "__main__":\n    print(task(), Label, DAG)\n',
    )


def awkward_strings() -> Dag:
    nasty = 'quotes \' " """ backslash \\ nul \x00 tab \t cr \r sep \u2028 bom \ufeff 日本 🙂'
    return Dag(
        "awkward.strings-1",
        module_code="def show(**kwargs):\n    print(kwargs)\n",
        args={"description": nasty, "doc_md": f"# Title\n\n{nasty}\n", "tags": [nasty, "é"]},
        tasks=[
            bash("café.日本", bash_command=nasty, doc_md="two\nlines"),
            bash("1st-step", bash_command="echo '{{ ds }}' \\\n  && echo \"done\"\n"),
            Task(
                "py",
                "PythonOperator",
                {"python_callable": CallableRef("show"), "op_kwargs": {nasty: [nasty, 1.5, None]}},
            ),
        ],
        edges=[Edge("café.日本", "1st-step"), Edge("1st-step", "py")],
    )


EXTRA = [reentered_group, xcom_against_model_order, taskflow_without_decorator, aliased_names, awkward_strings]
EXTRA += [taskflow_late_names, taskflow_lambda]


def all_dags() -> list[Dag]:
    return [build() for build in CASES.values()] + [build() for build in EXTRA]


def test_extra_dags_compile_for_airflow2() -> None:
    for dag in all_dags():
        compile(generate_dag(dag, "airflow2"), f"{dag.dag_id}.py", "exec")


@pytest.mark.airflow
def test_generated_dags_load_in_airflow_with_the_models_structure(airflow_oracle, tmp_path: Path) -> None:
    dags = all_dags()
    paths = export_project(Project("check", dags), tmp_path, "airflow3")
    assert [p.name for p in paths] == [f"{d.dag_id}.py" for d in dags]
    result = airflow_oracle(tmp_path)
    assert result["import_errors"] == {}
    assert sorted(result["dags"]) == sorted(d.dag_id for d in dags)
    for dag in dags:
        loaded = result["dags"][dag.dag_id]
        expected = dag.structure()
        assert sorted(loaded["tasks"]) == sorted(expected["tasks"]), dag.dag_id
        assert loaded["edges"] == expected["edges"], dag.dag_id
        assert Path(loaded["file"]).name == f"{dag.dag_id}.py"
    for name in CASES:  # the cases are written in model order, so Airflow sees the same task order
        assert result["dags"][name]["tasks"] == CASES[name]().task_ids
