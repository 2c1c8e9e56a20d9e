"""Task ids and edges of tricky constructs, by hand, checked against the importer and against Airflow.

Each case is a small DAG file with the structure worked out from Airflow's rules (TaskFlow's
``get_unique_task_id``, ``@task_group`` suffixes, a group's leaves/roots at the moment ``>>`` runs,
``chain`` with lists, XComArgs in templated fields only, a task without DAG joining its neighbour's).
The same expectation must hold for the AST importer and, in the ``airflow`` test, for Airflow's DagBag.
"""

from __future__ import annotations

import textwrap

import pytest

from studio.codegen.importer import import_source
from studio.core.values import XComRef

HEAD = """\
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Label, TaskGroup, XComArg, chain, chain_linear, cross_downstream, task, task_group
"""

CASES: dict[str, tuple[str, list[str], list[tuple[str, str]]]] = {
    "case_repeated_taskflow": (
        """
        @task
        def f(x=None):
            return x

        with DAG("case_repeated_taskflow") as dag:
            a = f()
            b = f(a)
            c = f.override(task_id="named")(b)
            d = f.override(task_id="named")(c)
            with TaskGroup("g"):
                e = f(d)
                f(e)
            f.override(task_id="f__7")()
            f()
        """,
        ["f", "f__1", "named", "named__1", "g.f", "g.f__1", "f__7", "f__8"],
        [("f", "f__1"), ("f__1", "named"), ("named", "named__1"), ("named__1", "g.f"), ("g.f", "g.f__1")],
    ),
    "case_task_group_suffixes": (
        """
        @task_group
        def g():
            EmptyOperator(task_id="x")

        with DAG("case_task_group_suffixes") as dag:
            first = g()
            second = g()
            third = g.override(group_id="other")()
            fourth = g()
            first >> second >> third >> fourth
        """,
        ["g.x", "g__1.x", "other.x", "g__2.x"],
        [("g.x", "g__1.x"), ("g__1.x", "other.x"), ("other.x", "g__2.x")],
    ),
    "case_leaves_at_that_moment": (
        """
        with DAG("case_leaves_at_that_moment") as dag:
            with TaskGroup("grp") as grp:
                a = EmptyOperator(task_id="a")
                b = EmptyOperator(task_id="b")
            start = EmptyOperator(task_id="start")
            end = EmptyOperator(task_id="end")
            grp >> end
            a >> b
            start >> grp
        """,
        ["grp.a", "grp.b", "start", "end"],
        [("grp.a", "end"), ("grp.b", "end"), ("grp.a", "grp.b"), ("start", "grp.a")],
    ),
    "case_chains": (
        """
        with DAG("case_chains") as dag:
            a, b, c, d, e, f = [EmptyOperator(task_id=n) for n in "abcdef"]
            chain(a, [b, c], [d, e], f)
            p, q, r = [EmptyOperator(task_id=n) for n in "pqr"]
            chain_linear(f, [p, q], r)
            cross_downstream([p, q], [EmptyOperator(task_id="y"), EmptyOperator(task_id="z")])
        """,
        ["a", "b", "c", "d", "e", "f", "p", "q", "r", "y", "z"],
        [
            *[("a", "b"), ("a", "c"), ("b", "d"), ("c", "e"), ("d", "f"), ("e", "f")],
            *[("f", "p"), ("f", "q"), ("p", "r"), ("q", "r")],
            *[("p", "y"), ("p", "z"), ("q", "y"), ("q", "z")],
        ],
    ),
    "case_xcom_edges": (
        """
        def produce():
            return {"k": 1}

        with DAG("case_xcom_edges") as dag:
            source = PythonOperator(task_id="source", python_callable=produce)
            other = PythonOperator(task_id="other", python_callable=produce)
            keyed = PythonOperator(task_id="keyed", python_callable=produce, op_kwargs={"v": source.output["k"]})
            env = BashOperator(task_id="env", bash_command="echo", env={"A": XComArg(other)})
            untemplated = BashOperator(task_id="untemplated", bash_command="echo", append_env=source.output)
        """,
        ["source", "other", "keyed", "env", "untemplated"],
        [("source", "keyed"), ("other", "env")],
    ),
    "case_task_joins_dag_by_dependency": (
        """
        dag = DAG("case_task_joins_dag_by_dependency")
        a = EmptyOperator(task_id="a", dag=dag)
        b = EmptyOperator(task_id="b")
        c = EmptyOperator(task_id="c")
        a >> b
        c << b
        """,
        ["a", "b", "c"],
        [("a", "b"), ("b", "c")],
    ),
    "case_labels_and_groups": (
        """
        with DAG("case_labels_and_groups") as dag:
            with TaskGroup("left") as left:
                l1 = EmptyOperator(task_id="l1")
                l2 = EmptyOperator(task_id="l2")
            with TaskGroup("right") as right:
                r1 = EmptyOperator(task_id="r1")
            l1 >> Label("same group") >> l2
            l1 >> Label("across") >> r1
        """,
        ["left.l1", "left.l2", "right.r1"],
        [("left.l1", "left.l2"), ("left.l2", "right.r1")],
    ),
}


def imported(name: str):
    code, _, _ = CASES[name]
    result = import_source(HEAD + textwrap.dedent(code), f"{name}.py")
    (dag,) = result.dags
    return dag, result.diagnostics


@pytest.mark.parametrize("name", sorted(CASES))
def test_importer_gives_the_worked_out_structure(name):
    _, tasks, edges = CASES[name]
    dag, diagnostics = imported(name)
    if name != "case_labels_and_groups":
        assert [str(d) for d in diagnostics] == []
    assert dag.dag_id == name
    assert dag.task_ids == tasks
    assert sorted(e.key for e in dag.edges) == sorted(edges)


@pytest.mark.airflow
def test_airflow_gives_the_same_worked_out_structure(airflow_oracle, tmp_path):
    for name, (code, _, _) in CASES.items():
        (tmp_path / f"{name}.py").write_text(HEAD + textwrap.dedent(code))
    bag = airflow_oracle(tmp_path)
    assert bag["import_errors"] == {}
    assert sorted(bag["dags"]) == sorted(CASES)
    for name, (_, tasks, edges) in CASES.items():
        assert bag["dags"][name]["tasks"] == tasks, name
        assert bag["dags"][name]["edges"] == sorted([list(e) for e in edges]), name


def test_labels_stay_on_task_edges_and_a_label_between_groups_is_reported():
    dag, diagnostics = imported("case_labels_and_groups")
    labels = {e.key: e.label for e in dag.edges}
    # Airflow attaches a label between different groups to the groups (join ids), not to the task edge.
    assert labels == {("left.l1", "left.l2"): "same group", ("left.l2", "right.r1"): None}
    (warning,) = diagnostics
    assert warning.line == HEAD.count("\n") + 9
    assert "'across'" in warning.message


def test_xcom_arguments_are_references_with_keys():
    dag, _ = imported("case_xcom_edges")
    assert dag.task("keyed").args["op_kwargs"] == {"v": XComRef("source", "k")}
    assert dag.task("env").args["env"] == {"A": XComRef("other")}
    assert dag.task("untemplated").args["append_env"] == XComRef("source")


def test_chain_of_lists_of_different_lengths_is_kept_as_code_with_its_line():
    code = HEAD + textwrap.dedent(
        """
        with DAG("bad_chain") as dag:
            a, b, c = [EmptyOperator(task_id=n) for n in "abc"]
            chain([a, b], [c])
            a >> c
        """
    )
    result = import_source(code, "bad_chain.py")
    (dag,) = result.dags
    (warning,) = result.diagnostics
    assert warning.line == 8
    assert "different lengths" in warning.message
    assert dag.unparsed == ["chain([a, b], [c])"]
    assert [e.key for e in dag.edges] == [("a", "c")]


def test_mapped_tasks_keep_partial_and_expand_arguments():
    code = HEAD + textwrap.dedent(
        """
        with DAG("mapped") as dag:
            @task
            def numbers():
                return [1, 2]

            @task
            def add(x, y):
                return x + y

            nums = numbers()
            add.partial(y=1).expand(x=nums)
            add.expand_kwargs([{"x": 1, "y": 2}])
            BashOperator.partial(task_id="echo", retries=2).expand(bash_command=["a", "b"])
            BashOperator.partial(task_id="kw", bash_command="x").expand_kwargs(nums)
        """
    )
    result = import_source(code, "mapped.py")
    assert result.diagnostics == []
    (dag,) = result.dags
    add, add1, echo, kw = dag.tasks[1:]
    assert (add.task_id, add.args["op_kwargs"], add.expand) == ("add", {"y": 1}, {"x": XComRef("numbers")})
    assert (add1.task_id, add1.expand_kwargs, add1.expand) == ("add__1", [{"x": 1, "y": 2}], None)
    assert (echo.operator, echo.args, echo.expand) == ("BashOperator", {"retries": 2}, {"bash_command": ["a", "b"]})
    assert (kw.args, kw.expand_kwargs) == ({"bash_command": "x"}, XComRef("numbers"))
    assert sorted(e.key for e in dag.edges) == [("numbers", "add"), ("numbers", "kw")]


def test_taskflow_call_arguments_become_op_args_and_op_kwargs():
    code = HEAD + textwrap.dedent(
        """
        with DAG("calls") as dag:
            @task(multiple_outputs=True, retries=3)
            def extract():
                return {"a": 1}

            @task.branch
            def pick(value, *, threshold=1):
                return "x"

            data = extract()
            pick(data["a"], threshold=[data, 2])
        """
    )
    result = import_source(code, "calls.py")
    (dag,) = result.dags
    extract, pick = dag.tasks
    assert extract.args == {"python_callable": extract.args["python_callable"], "multiple_outputs": True, "retries": 3}
    assert pick.operator == "@task.branch"
    assert pick.args["op_args"] == [XComRef("extract", "a")]
    assert pick.args["op_kwargs"] == {"threshold": [XComRef("extract"), 2]}
    assert [e.key for e in dag.edges] == [("extract", "pick")]
