"""Module code, tail code, code kept for what the model cannot represent, and source lines."""

from __future__ import annotations

import datetime as dt
import textwrap

from studio.codegen.importer import import_source
from studio.codegen.pysource import canonical_module_code
from studio.core.values import CallableRef, CodeExpr
from tests.conftest import real_warnings


def load_one(code: str, file: str = "dag.py"):
    result = import_source(textwrap.dedent(code), file)
    assert len(result.dags) == 1
    return result.dags[0], result.diagnostics


TASKFLOW_FILE = '''
"""Module docstring."""
from __future__ import annotations

import functools
import json
import os
import sys
from datetime import datetime, timedelta

import pendulum
from airflow.sdk import dag, task
from airflow.sdk import Variable
from airflow.providers.standard.operators.bash import BashOperator

RETRIES = 2
BASE = "/data"
UNUSED_CONSTANT = {"a": 1}
TABLES = ["a", "b"]
default_args = {"retries": RETRIES, "retry_delay": timedelta(minutes=1)}


def log_call(fn):
    @functools.wraps(fn)
    def inner(*args, **kwargs):
        return fn(*args, **kwargs)

    return inner


# Reads the input.
@task(retries=RETRIES)
@log_call
def extract() -> dict:
    return json.loads(open(os.path.join(BASE, "in.json")).read())


@dag(schedule="@daily", start_date=pendulum.datetime(2024, 1, 1), default_args=default_args)
def module_code_dag():
    @task
    def transform(data: dict) -> int:
        return len(data)

    for table in TABLES:
        BashOperator(task_id=f"dump_{table}", bash_command="echo", env={"TOKEN": Variable.get("token", table)})
    transform(extract())


module_code_dag()
'''


def test_module_code_keeps_helpers_and_drops_dag_structure():
    dag, diagnostics = load_one(TASKFLOW_FILE)
    assert diagnostics == []
    expected = '''\
        from __future__ import annotations

        import functools
        import json
        import os
        import sys
        from datetime import datetime

        from airflow.sdk import Variable


        """Module docstring."""


        BASE = "/data"


        def log_call(fn):
            @functools.wraps(fn)
            def inner(*args, **kwargs):
                return fn(*args, **kwargs)

            return inner


        # Reads the input.
        @log_call
        def extract() -> dict:
            return json.loads(open(os.path.join(BASE, "in.json")).read())


        def transform(data: dict) -> int:
            return len(data)
        '''
    assert dag.module_code == textwrap.dedent(expected)
    assert canonical_module_code(dag.module_code) == dag.module_code


def test_values_from_loops_are_substituted_into_code_expressions():
    dag, _ = load_one(TASKFLOW_FILE)
    assert [t.args.get("env") for t in dag.tasks[:2]] == [
        {"TOKEN": CodeExpr("Variable.get('token', 'a')")},
        {"TOKEN": CodeExpr("Variable.get('token', 'b')")},
    ]
    assert dag.task("transform").args["python_callable"] == CallableRef("transform")
    assert dag.task("extract").args == {"python_callable": CallableRef("extract"), "retries": 2}


def test_module_constants_are_kept_only_when_kept_code_uses_them():
    dag, _ = load_one(
        """
        from airflow import DAG
        from airflow.operators.bash import BashOperator
        import os

        PREFIX = "job"
        SUFFIX = "_x"
        COMMAND = "echo " + PREFIX
        HOME = os.environ["HOME"]

        def name():
            return PREFIX + SUFFIX

        with DAG("consts") as dag:
            BashOperator(task_id=PREFIX, bash_command=COMMAND, cwd=HOME)
        """
    )
    assert dag.tasks[0].args == {"bash_command": "echo job", "cwd": CodeExpr("HOME")}
    code = dag.module_code
    assert 'PREFIX = "job"' in code and 'SUFFIX = "_x"' in code and 'HOME = os.environ["HOME"]' in code
    assert "COMMAND" not in code
    assert "from airflow" not in code


def test_tail_code_and_attributes_set_after_the_dag():
    dag, diagnostics = load_one(
        """
        from airflow import DAG
        from airflow.operators.empty import EmptyOperator

        with DAG("tail") as dag:
            first = EmptyOperator(task_id="first")

        dag.doc_md = "docs"
        first.retries = 3

        # Run it locally.
        if __name__ == "__main__":
            dag.test()
        """
    )
    assert real_warnings(diagnostics) == []
    assert dag.args == {"doc_md": "docs", "schedule": dt.timedelta(days=1), "catchup": True}
    assert dag.tasks[0].args == {"retries": 3}
    assert dag.tail_code == '# Run it locally.\nif __name__ == "__main__":\n    dag.test()\n'
    assert dag.module_code == ""


def test_what_cannot_be_represented_is_kept_with_a_warning_and_its_line():
    dag, diagnostics = load_one(
        """
        import random
        from airflow import DAG
        from airflow.operators.empty import EmptyOperator

        with DAG("kept") as dag:
            start = EmptyOperator(task_id="start")
            if random.random() > 0.5:
                start >> EmptyOperator(task_id="maybe")
            while False:
                pass
            print("building")
            unused = random.choice([1, 2])
            EmptyOperator(task_id="end", retries=start)
        """
    )
    assert dag.task_ids == ["start", "end"]
    assert dag.unparsed == [
        "if random.random() > 0.5:\n    start >> EmptyOperator(task_id='maybe')".replace("'", '"'),
        "while False:\n    pass",
        'print("building")',
        "unused = random.choice([1, 2])",
    ]
    assert dag.task("end").args == {"retries": CodeExpr("start")}
    lines = sorted(d.line for d in real_warnings(diagnostics))
    assert lines == [8, 10, 12, 13, 14, 14]
    assert all(d.file == "dag.py" and d.severity == "warning" for d in diagnostics)
    assert "import random" in dag.module_code


def test_source_map_names_lines_of_dag_tasks_arguments_groups_and_edges():
    dag, _ = load_one(
        """
        from airflow.sdk import DAG, TaskGroup
        from airflow.providers.standard.operators.bash import BashOperator

        with DAG(
            "lines",
            schedule="@daily",
        ) as dag:
            with TaskGroup("grp"):
                a = BashOperator(
                    task_id="a",
                    bash_command="true",
                )
            b = BashOperator(task_id="b", bash_command="false")
            a >> b
        """
    )
    assert dag.source is not None
    lines = dag.source.lines
    assert lines["dag"] == 5
    assert lines["dag.args.schedule"] == 7
    assert lines["group:grp"] == 9
    assert lines["task:grp.a"] == 10
    assert lines["task:grp.a.args.bash_command"] == 12
    assert lines["edge:grp.a>b"] == 15
    assert dag.source.locate("task:b.args.retries") == (14, None)
