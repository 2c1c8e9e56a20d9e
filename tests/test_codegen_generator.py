"""Behaviour of ``generate_dag``: imports, names, TaskFlow forms, order, dependencies, errors."""

from __future__ import annotations

import ast
import datetime as dt

import pytest

from studio.codegen.generator import generate_dag
from studio.core.diagnostics import StudioError
from studio.core.model import Dag, Edge, SourceMap, Task, TaskGroup
from studio.core.values import CallableRef, CodeExpr, XComRef


def bash(task_id: str, group: str | None = None, **args: object) -> Task:
    return Task(task_id, "BashOperator", {"bash_command": f"echo {task_id}", **args}, group_id=group)


def tf(task_id: str, fn: str, operator: str = "@task", **args: object) -> Task:
    return Task(task_id, operator, {"python_callable": CallableRef(fn), **args})


def assigned(code: str) -> dict[str, str]:
    """Variable → source of the value assigned to it, for every assignment in the file."""
    tree = ast.parse(code)
    return {
        node.targets[0].id: ast.unparse(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
    }


def import_lines(code: str) -> list[str]:
    return [ast.unparse(n) for n in ast.parse(code).body if isinstance(n, (ast.Import, ast.ImportFrom))]


def test_imports_are_merged_with_the_module_code_and_not_repeated() -> None:
    dag = Dag(
        "d",
        args={"dagrun_timeout": dt.timedelta(hours=1)},
        module_code="import json\nfrom datetime import timedelta\n\n\nLIMIT = timedelta(minutes=1)\n",
        tasks=[bash("a", execution_timeout=dt.timedelta(minutes=5))],
    )
    code = generate_dag(dag)
    assert import_lines(code) == [
        "import json",
        "from datetime import timedelta",
        "from airflow.providers.standard.operators.bash import BashOperator",
        "from airflow.sdk import DAG",
    ]
    assert "LIMIT = timedelta(minutes=1)" in code


def test_a_name_the_module_code_uses_otherwise_is_imported_under_an_alias() -> None:
    dag = Dag(
        "d",
        module_code='Label = "mine"\n\n\nclass BashOperator:\n    pass\n',
        tasks=[bash("a"), bash("b")],
        edges=[Edge("a", "b", "next")],
    )
    code = generate_dag(dag)
    assert "from airflow.sdk import DAG, Label as Label_" in code
    assert "from airflow.providers.standard.operators.bash import BashOperator as BashOperator_" in code
    assert assigned(code)["a"].startswith("BashOperator_(")
    assert "a >> Label_('next') >> b" in ast.unparse(ast.parse(code))


def test_task_variables_avoid_module_names_builtins_keywords_and_each_other() -> None:
    dag = Dag(
        "d",
        module_code="def extract():\n    return 1\n",
        tasks=[tf("extract", "extract"), bash("print"), bash("class"), bash("ﬁ"), bash("fi"), bash("a.b"), bash("a-b")],
        edges=[Edge("extract", "print"), Edge("print", "class"), Edge("class", "ﬁ"), Edge("ﬁ", "fi")],
        tail_code="if __name__ == '__main__':\n    a_b = 1\n",
    )
    code = generate_dag(dag)
    names = assigned(code)
    assert {"extract_task", "print_task", "class_task", "fi", "fi_task", "a_b_task", "a_b_task_2"} <= set(names)
    assert "extract" not in names and "print" not in names
    assert names["a_b"] == "1"  # only the tail code's own variable has that name
    assert "extract_task >> print_task >> class_task >> fi >> fi_task" in code


def test_taskflow_single_use_puts_arguments_in_the_decorator() -> None:
    dag = Dag(
        "d",
        module_code="def load(rows):\n    return rows\n",
        tasks=[tf("load_rows", "load", retries=2, op_args=[1], op_kwargs={"x": "y"})],
    )
    code = generate_dag(dag)
    assert '@task(task_id="load_rows", retries=2)\ndef load(rows):' in code
    assert '    load(1, x="y")\n' in code  # not referenced by anything: no variable


def test_taskflow_shared_function_uses_override_per_call() -> None:
    dag = Dag(
        "d",
        module_code="def step(n):\n    return n\n",
        tasks=[tf("step", "step", op_args=[1]), tf("step_2", "step", op_args=[XComRef("step")], retries=1)],
    )
    code = generate_dag(dag)
    assert "@task\ndef step(n):" in code
    assert assigned(code)["step_task"] == "step(1)"  # the task id is the function's name: a plain call
    assert "\n    step.override(task_id='step_2', retries=1)(step_task)" in ast.unparse(ast.parse(code))


def test_taskflow_functions_that_cannot_carry_the_decorator_are_wrapped_per_call() -> None:
    dag = Dag(
        "d",
        module_code="from helpers import pick\n\n\ndef work():\n    return 1\n",
        tasks=[
            Task("plain", "PythonOperator", {"python_callable": CallableRef("work")}),
            tf("flow", "work"),
            tf("pick", "pick", "@task.branch"),
            Task("anon", "@task", {"python_callable": CodeExpr("lambda: 42")}),
        ],
    )
    code = generate_dag(dag)
    assert "@task" not in code  # work is also a plain python_callable; pick is imported
    assert "task(python_callable=work, task_id='flow')()" in ast.unparse(ast.parse(code))
    assert "task.branch(pick)()" in code
    assert "task(python_callable=lambda: 42, task_id='anon')()" in ast.unparse(ast.parse(code))


def test_decorator_arguments_that_need_later_names_or_xcoms_move_to_the_call() -> None:
    dag = Dag(
        "d",
        module_code="def first():\n    return 1\n\n\ndef second():\n    return 2\n\n\ndef alert(context):\n    pass\n",
        tasks=[
            tf("first", "first", on_failure_callback=CallableRef("alert")),  # alert is defined below first
            tf("second", "second", templates_dict={"x": XComRef("first")}),  # tasks exist only in the DAG
        ],
    )
    code = generate_dag(dag)
    assert "@task\ndef first():" in code and "@task\ndef second():" in code
    text = ast.unparse(ast.parse(code))
    assert "first.override(task_id='first', on_failure_callback=alert)()" in text
    assert "second.override(task_id='second', templates_dict={'x': first_task})()" in text


def test_decorator_arguments_may_use_names_bound_above_the_function() -> None:
    dag = Dag(
        "d",
        module_code="def alert(context):\n    pass\n\n\ndef work():\n    return 1\n",
        tasks=[tf("work", "work", on_failure_callback=CallableRef("alert"), retries=1)],
    )
    assert "@task(retries=1, on_failure_callback=alert)\ndef work():" in generate_dag(dag)


def test_function_already_decorated_in_module_code_is_called_with_override() -> None:
    dag = Dag(
        "d",
        module_code="from airflow.sdk import task\n\n\n@task\ndef work():\n    return 1\n",
        tasks=[tf("w", "work", retries=3)],
    )
    code = generate_dag(dag)
    assert code.count("@task") == 1
    assert 'work.override(task_id="w", retries=3)()' in code


def test_xcom_references_are_written_after_their_producer_and_not_repeated_as_dependencies() -> None:
    dag = Dag(
        "d",
        tasks=[
            bash("consume", bash_command=XComRef("produce"), env={"K": XComRef("produce", "key")}),
            bash("produce"),
        ],
        edges=[Edge("produce", "consume")],
    )
    code = generate_dag(dag)
    assert code.index("produce = ") < code.index("consume = ")
    assert "bash_command=produce.output" in code and "produce.output['key']" in ast.unparse(ast.parse(code))
    assert ">>" not in code


def test_labelled_xcom_edge_is_still_written() -> None:
    dag = Dag("d", tasks=[bash("a"), bash("b", bash_command=XComRef("a"))], edges=[Edge("a", "b", "data")])
    assert 'a >> Label("data") >> b' in generate_dag(dag)


def test_a_label_between_tasks_of_different_groups_labels_only_that_edge() -> None:
    dag = Dag(
        "d",
        groups=[TaskGroup("g")],
        tasks=[bash("a"), bash("g.b", "g"), bash("c")],
        edges=[Edge("a", "g.b", "in"), Edge("a", "c", "same group")],
    )
    code = generate_dag(dag)
    assert '    a.set_downstream(g_b, edge_modifier=Label("in"))\n' in code  # ">> Label >>" would join groups
    assert '    a >> Label("same group") >> c\n' in code


def test_a_group_that_cannot_be_one_block_is_entered_again() -> None:
    dag = Dag(
        "d",
        groups=[TaskGroup("g")],
        tasks=[
            bash("g.first", "g"),
            bash("middle", bash_command=XComRef("g.first")),
            bash("g.last", "g", env={"X": XComRef("middle")}),
        ],
        edges=[Edge("g.first", "middle"), Edge("middle", "g.last")],
    )
    code = generate_dag(dag)
    assert 'with TaskGroup(group_id="g") as g:\n        g_first = ' in code
    assert "\n    with g:\n        g_last = " in code
    assert code.index("g_first =") < code.index("middle =") < code.index("g_last =")


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ([("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")], ["a >> [b, c] >> d"]),
        ([("a", "b"), ("b", "c"), ("c", "d")], ["a >> b >> c >> d"]),
        ([("a", "d"), ("b", "d"), ("c", "d")], ["[a, b, c] >> d"]),
        ([("c", "d"), ("a", "b")], ["a >> b", "c >> d"]),  # topological order, not model order
        ([("a", "b"), ("a", "b")], ["a >> b"]),
    ],
)
def test_dependencies_are_grouped_and_chained(edges: list[tuple[str, str]], expected: list[str]) -> None:
    dag = Dag("d", tasks=[bash(t) for t in "abcd"], edges=[Edge(u, v) for u, v in edges])
    code = generate_dag(dag)
    assert code.rstrip().split("\n\n")[-1].split("\n") == ["    " + line for line in expected]


def test_long_dependency_statements_stay_within_the_line_length() -> None:
    ids = [f"a_rather_long_task_name_number_{i}" for i in range(6)]
    dag = Dag("d", tasks=[bash(t) for t in ids], edges=[Edge(ids[i], ids[i + 1]) for i in range(5)])
    dag.edges.append(Edge(ids[0], ids[5], "a label"))
    code = generate_dag(dag)
    assert all(len(line) <= 100 for line in code.splitlines())
    assert f"    (\n        {ids[0]}\n        >> {ids[1]}\n" in code
    compile(code, "d.py", "exec")


def test_tail_code_unparsed_code_and_empty_groups_are_kept() -> None:
    dag = Dag(
        "d",
        groups=[TaskGroup("empty", args={"tooltip": "later"})],
        tail_code='if __name__ == "__main__":\n    dag.test()\n',
        unparsed=["dag.doc_md = make_doc()"],
    )
    code = generate_dag(dag)
    assert code.endswith(
        'if __name__ == "__main__":\n    dag.test()\n\n\n# Kept from the imported file; DAG Studio could not represent it:\n# dag.doc_md = make_doc()\n'
    )
    assert 'with TaskGroup(group_id="empty", tooltip="later") as empty:\n        pass\n' in code


def test_default_args_is_inlined_when_the_module_code_uses_the_name() -> None:
    dag = Dag("d", args={"default_args": {"retries": 1}}, module_code="default_args = {}\n")
    code = generate_dag(dag)
    assert 'default_args={"retries": 1}' in code


def test_an_empty_dag_is_valid_python() -> None:
    code = generate_dag(Dag("empty"))
    assert code.endswith('with DAG(dag_id="empty") as dag:\n    pass\n')
    compile(code, "empty.py", "exec")


def test_airflow2_imports() -> None:
    dag = Dag(
        "d",
        module_code="def f():\n    return 1\n",
        groups=[TaskGroup("g")],
        tasks=[tf("f", "f"), bash("g.b", "g")],
        edges=[Edge("f", "g.b", "then")],
        args={"params": {"p": 1}},
    )
    assert import_lines(generate_dag(dag, "airflow2")) == [
        "from airflow import DAG",
        "from airflow.decorators import task",
        "from airflow.operators.bash import BashOperator",
        "from airflow.utils.edgemodifier import Label",
        "from airflow.utils.task_group import TaskGroup",
    ]


def located(dag: Dag) -> Dag:
    dag.source = SourceMap(file="dags/d.json", lines={"dag": 2, "task:bad": 7}, json_paths={"task:bad": "$.tasks[0]"})
    return dag


@pytest.mark.parametrize(
    ("dag", "message"),
    [
        (Dag("d", tasks=[Task("bad", "NoSuchOperator")]), "task 'bad': unknown operator 'NoSuchOperator'"),
        (Dag("d", tasks=[bash("bad", env=CodeExpr("1 +"))]), "task 'bad': not a Python expression: '1 +'"),
        (Dag("d", tasks=[bash("bad", bash_command=XComRef("ghost"))]), "uses the XCom of task 'ghost'"),
        (Dag("d", tasks=[Task("bad", "custom")]), "a custom operator needs its class"),
        (
            Dag("d", tasks=[bash("bad", env=XComRef("b")), bash("b", env=XComRef("bad"))]),
            "tasks pass each other's XCom in a cycle: bad, b",
        ),
        (
            Dag(
                "d",
                tasks=[Task("bad", "@task", {"python_callable": CallableRef("f"), "op_args": [1]}, expand={"x": [1]})],
            ),
            "op_args",
        ),
    ],
)
def test_models_that_cannot_be_generated_raise_a_located_studio_error(dag: Dag, message: str) -> None:
    with pytest.raises(StudioError) as info:
        generate_dag(located(dag))
    diagnostic = info.value.diagnostics[0]
    assert message in diagnostic.message
    assert (diagnostic.file, diagnostic.line) == ("dags/d.json", 7)


@pytest.mark.parametrize(
    "args", [{"params": {"p": XComRef("t")}}, {"default_args": {"pool": XComRef("t")}}, {"doc_md": XComRef("t")}]
)
def test_dag_arguments_cannot_use_a_tasks_xcom(args: dict[str, object]) -> None:
    dag = Dag("d", args=args, tasks=[bash("t")])
    dag.source = SourceMap(file="dags/d.json", lines={"dag": 2})
    with pytest.raises(StudioError) as info:
        generate_dag(dag)
    assert "uses the XCom of task 't' where that task does not exist yet" in str(info.value)
    assert info.value.diagnostics[0].line == 2


def test_module_code_syntax_error_names_the_module_file_and_line() -> None:
    dag = Dag("d", module_code="def f(:\n    pass\n")
    dag.source = SourceMap(file="dags/d.json", module_file="dags/d.py")
    with pytest.raises(StudioError) as info:
        generate_dag(dag)
    assert str(info.value).startswith("error: dags/d.py:1: ")


def test_tail_code_syntax_error_names_the_dag_file_and_the_line_in_the_code() -> None:
    dag = Dag("d", tail_code="if True:\n    dag.test(\n")
    dag.source = SourceMap(file="dags/d.json", lines={"dag": 3})
    with pytest.raises(StudioError) as info:
        generate_dag(dag)
    assert str(info.value).startswith("error: dags/d.json:3: tail code, line 2: ")


def test_unknown_target() -> None:
    with pytest.raises(StudioError, match="unknown target 'airflow1'"):
        generate_dag(Dag("d"), "airflow1")
