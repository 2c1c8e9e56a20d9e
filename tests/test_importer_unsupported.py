"""Constructs the importer does not represent: each gives a warning naming its line, and its code is kept.

Also the smaller conveniences around them: dag ids computed from ``__file__``, ``str(xcomarg)`` (a Jinja
string, no dependency), ``set_downstream(..., edge_modifier=Label(...))``, and the warning for a function
moved to module level that needs names of the DAG code.
"""

from __future__ import annotations

import textwrap

import pytest

from studio.codegen.importer import import_source

HEAD = """\
import os
import random
from pathlib import Path

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Label, XComArg, asset, task, task_group
"""
FIRST = HEAD.count("\n") + 1  # line number of the snippet's first line

# (snippet, line of the warning inside the snippet, words of the message, text kept in dag.unparsed or None)
UNSUPPORTED = {
    "runtime_if": (
        """
        with DAG("d") as dag:
            a = EmptyOperator(task_id="a")
            if random.random() > 0.5:
                a >> EmptyOperator(task_id="b")
        """,
        4,
        "condition",
        'if random.random() > 0.5:\n    a >> EmptyOperator(task_id="b")',
    ),
    "runtime_loop": (
        """
        with DAG("d") as dag:
            for name in os.listdir("/etc"):
                EmptyOperator(task_id=name)
        """,
        3,
        "for loop",
        'for name in os.listdir("/etc"):\n    EmptyOperator(task_id=name)',
    ),
    "while_loop": ("with DAG('d') as dag:\n    while False:\n        pass\n", 2, "while", "while False:\n    pass"),
    "mapped_task_group": (
        """
        @task_group
        def per_item(x):
            EmptyOperator(task_id="inner")

        with DAG("d") as dag:
            per_item.expand(x=[1, 2])
        """,
        7,
        "mapped task groups",
        "per_item.expand(x=[1, 2])",
    ),
    "setup_teardown": (
        """
        with DAG("d") as dag:
            s = EmptyOperator(task_id="s")
            s.as_setup()
        """,
        4,
        "setup/teardown",
        "s.as_setup()",
    ),
    "xcomarg_map": (
        """
        with DAG("d") as dag:
            @task
            def numbers():
                return [1, 2]

            doubled = numbers().map(lambda n: n * 2)
        """,
        7,
        "XComArg.map",
        "doubled = numbers().map(lambda n: n * 2)",
    ),
    "runtime_task_id": (
        """
        with DAG("d") as dag:
            EmptyOperator(task_id=os.environ["TASK"])
        """,
        3,
        "task_id must be a string",
        'EmptyOperator(task_id=os.environ["TASK"])',
    ),
    "duplicate_task_id": (
        """
        with DAG("d") as dag:
            EmptyOperator(task_id="same")
            EmptyOperator(task_id="same")
        """,
        4,
        "already used",
        'EmptyOperator(task_id="same")',
    ),
    "asset_decorator": (
        """
        @asset(schedule=None)
        def my_asset():
            return 1

        with DAG("d") as dag:
            EmptyOperator(task_id="a")
        """,
        2,
        "@asset",
        None,
    ),
    "task_function_needs_dag_locals": (
        """
        with DAG("d") as dag:
            for region in ["eu", "us"]:
                @task(task_id=f"load_{region}")
                def load():
                    return region

                load()
        """,
        5,
        "uses region",
        None,
    ),
}


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_unsupported_construct_is_kept_with_a_warning_at_its_line(name):
    snippet, line, words, kept = UNSUPPORTED[name]
    result = import_source(HEAD + textwrap.dedent(snippet), f"{name}.py")
    (dag,) = result.dags
    messages = [(d.line, d.message) for d in result.diagnostics if d.severity == "warning"]
    assert any(at == FIRST + line - 1 and words in message for at, message in messages), messages
    assert all(d.file == f"{name}.py" for d in result.diagnostics)
    if kept is not None:
        assert kept in dag.unparsed
    else:
        assert dag.unparsed == []


def test_asset_function_stays_in_the_module_code():
    snippet, *_ = UNSUPPORTED["asset_decorator"]
    (dag,) = import_source(HEAD + textwrap.dedent(snippet), "a.py").dags
    assert "@asset(schedule=None)\ndef my_asset():" in dag.module_code
    assert "from airflow.sdk import asset" in dag.module_code


def test_dag_id_from_the_file_name():
    code = HEAD + textwrap.dedent(
        """
        DAG_ID = os.path.basename(__file__).replace(".py", "")
        with DAG(DAG_ID) as first:
            EmptyOperator(task_id="a")
        with DAG(Path(__file__).stem + "_second") as second:
            EmptyOperator(task_id="b")
        """
    )
    result = import_source(code, "dags/daily_report.py")
    assert [d.dag_id for d in result.dags] == ["daily_report", "daily_report_second"]
    assert result.diagnostics == []


def test_str_of_an_xcomarg_is_a_template_without_dependency():
    code = HEAD + textwrap.dedent(
        """
        with DAG("tpl") as dag:
            push = BashOperator(task_id="push", bash_command="echo 1")
            pull = BashOperator(task_id="pull", bash_command=f"echo {push.output}", env={"V": str(XComArg(push))})
        """
    )
    result = import_source(code, "tpl.py")
    (dag,) = result.dags
    template = "{{ task_instance.xcom_pull(task_ids='push', dag_id='tpl', key='return_value') }}"
    assert dag.task("pull").args == {"bash_command": f"echo {template}", "env": {"V": template}}
    assert dag.edges == []
    assert result.diagnostics == []


def test_set_downstream_with_an_edge_modifier():
    code = HEAD + textwrap.dedent(
        """
        with DAG("mod") as dag:
            a = EmptyOperator(task_id="a")
            b = EmptyOperator(task_id="b")
            a.set_downstream(b, edge_modifier=Label("when ready"))
        """
    )
    result = import_source(code, "mod.py")
    (dag,) = result.dags
    assert [(e.upstream, e.downstream, e.label) for e in dag.edges] == [("a", "b", "when ready")]
