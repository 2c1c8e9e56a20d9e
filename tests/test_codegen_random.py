"""Random DAG structures: nested groups (some without prefix), classic and TaskFlow tasks, shared
functions, XCom references across groups, mapped tasks, labelled edges.

Every random model must generate code that compiles, reads back through the importer with the same
structure, and — for a fixed sample of seeds — loads in real Airflow 3.3.2 with exactly the model's task
ids and edges. XCom references and edges always point from an earlier task to a later one, so every
model is acyclic (and valid); the group layout is random, so the generator's re-entered groups and
reordering are exercised.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from studio.codegen.export import export_project
from studio.codegen.generator import generate_dag
from studio.core.model import Dag, Edge, Project, Task, TaskGroup
from studio.core.values import CallableRef, XComRef

FUNCTIONS = ["f0", "f1", "f2"]
MODULE = "\n\n\n".join(f"def {f}(*args, **kwargs):\n    return [1, 2]" for f in [*FUNCTIONS, "p0"]) + "\n"


def child_id(group: TaskGroup | None, label: str) -> str:
    """Airflow's ``TaskGroup.child_id``: only the group's own ``prefix_group_id`` matters."""
    return f"{group.group_id}.{label}" if group is not None and group.prefix_group_id else label


def random_dag(seed: int, size: int = 12) -> Dag:
    rng = random.Random(seed)
    dag = Dag(f"random_{seed}", module_code=MODULE)
    for i in range(rng.randint(0, 5)):
        parent = rng.choice([None, *dag.groups]) if dag.groups else None
        parent_id = parent.group_id if parent else None
        args = {"prefix_group_id": False} if rng.random() < 0.3 else {}
        dag.groups.append(TaskGroup(child_id(parent, f"g{i}"), parent_id, args))
    for i in range(rng.randint(1, size)):
        group = rng.choice([None, None, *dag.groups])
        group_id = group.group_id if group else None
        task = Task(child_id(group, f"t{i}"), "EmptyOperator", group_id=group_id)
        earlier = rng.choice(dag.tasks) if dag.tasks and rng.random() < 0.4 else None
        ref = [XComRef(earlier.task_id)] if earlier else []
        kind = rng.choice(["empty", "bash", "python", "taskflow", "taskflow", "mapped"])
        if kind == "bash":
            task.operator, task.args = "BashOperator", {"bash_command": ref[0] if ref else f"echo {i}"}
        elif kind == "python":
            task.operator, task.args = "PythonOperator", {"python_callable": CallableRef("p0"), "op_args": ref}
        elif kind == "taskflow":
            task.operator, task.args = "@task", {"python_callable": CallableRef(rng.choice(FUNCTIONS))}
            if ref:
                task.args["op_args"] = ref
            if rng.random() < 0.3:
                task.args["retries"] = 2
        elif kind == "mapped" and ref and rng.random() < 0.5:
            task.operator, task.args = "@task", {"python_callable": CallableRef(rng.choice(FUNCTIONS))}
            task.expand = {"x": ref[0]}
        elif kind == "mapped":
            task.operator, task.args = "BashOperator", {"retries": 1}
            task.expand = {"bash_command": ref[0] if ref else ["echo a", "echo b"]}
        else:
            earlier = None
        dag.tasks.append(task)
        if earlier is not None:  # Airflow adds the edge of a passed XCom by itself; the model stores it
            dag.edges.append(Edge(earlier.task_id, task.task_id))
    known = {e.key for e in dag.edges}
    for _ in range(rng.randint(0, len(dag.tasks) * 2)):
        a, b = sorted(rng.sample(range(len(dag.tasks)), 2)) if len(dag.tasks) > 1 else (0, 0)
        key = (dag.tasks[a].task_id, dag.tasks[b].task_id)
        if a != b and key not in known:
            known.add(key)
            dag.edges.append(Edge(*key, rng.choice([None, None, None, f"label {a}"])))
    return dag


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=10**9))
def test_random_structures_generate_compile_and_read_back(seed: int) -> None:
    dag = random_dag(seed)
    for target in ("airflow3", "airflow2"):
        code = generate_dag(dag, target)
        compile(code, f"{dag.dag_id}.py", "exec")
    try:
        from studio.codegen.importer import import_source
    except ImportError:
        return
    result = import_source(generate_dag(dag), f"{dag.dag_id}.py")
    assert [str(d) for d in result.diagnostics] == []
    (back,) = result.dags
    assert sorted(back.task_ids) == sorted(dag.task_ids)
    assert back.structure()["edges"] == dag.structure()["edges"]
    assert sorted((e.key, e.label or "") for e in back.edges) == sorted((e.key, e.label or "") for e in dag.edges)


@pytest.mark.airflow
def test_random_structures_load_in_airflow(airflow_oracle, tmp_path: Path) -> None:
    dags = [random_dag(seed, size=20) for seed in range(40)]
    export_project(Project("random", dags), tmp_path)
    result = airflow_oracle(tmp_path)
    assert result["import_errors"] == {}
    for dag in dags:
        loaded = result["dags"][dag.dag_id]
        assert sorted(loaded["tasks"]) == sorted(dag.task_ids), dag.dag_id
        assert loaded["edges"] == dag.structure()["edges"], dag.dag_id
