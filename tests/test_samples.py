"""The sample projects: they load, validate, are stored exactly as DAG Studio writes them, and teach what they claim.

Every project under ``sample_projects/`` is checked the same way; adding a sample adds its checks. The
feature checks at the end make sure the samples keep showing what the README and the issue promise
(branching, sensors, S3, Docker, TaskFlow, nested groups, mapping, labels, callbacks, typed params).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import networkx as nx
import pytest

from studio.codegen.pysource import canonical_module_code
from studio.core.catalog import get_spec
from studio.core.model import Dag, Project, iter_xcom_refs, xcom_upstreams
from studio.core.serialization import PROJECT_FILE, project_files, read_project
from studio.core.validation import validate_project
from studio.core.values import CallableRef, DateTime, ParamValue
from tests.conftest import SAMPLES

PROJECT_DIRS = sorted(p.parent for p in SAMPLES.glob(f"*/{PROJECT_FILE}"))
PROJECT_IDS = [p.name for p in PROJECT_DIRS]


def load(folder: Path) -> Project:
    return read_project(folder, display_root=SAMPLES)


def all_dags() -> list[Dag]:
    return [dag for folder in PROJECT_DIRS for dag in load(folder).dags]


@pytest.fixture(params=PROJECT_DIRS, ids=PROJECT_IDS)
def sample(request: pytest.FixtureRequest) -> tuple[Path, Project]:
    return request.param, load(request.param)


def test_there_are_at_least_three_projects_and_five_dags():
    assert {"ml_pipeline", "etl_hourly", "showcase"} <= set(PROJECT_IDS)
    assert len(all_dags()) >= 5


def test_sample_loads_with_module_code_for_every_dag(sample):
    folder, project = sample
    assert project.name == folder.name
    assert project.target == "airflow3"
    assert project.dags, f"{folder.name} has no DAGs"
    for dag in project.dags:
        assert (folder / "dags" / f"{dag.dag_id}.json").is_file()
        assert dag.module_code.strip(), f"{dag.dag_id} has no module code"
        assert dag.source is not None and dag.source.module_file == f"{folder.name}/dags/{dag.dag_id}.py"


def test_sample_has_no_validation_problems(sample):
    _, project = sample
    problems = validate_project(project)
    assert [str(d) for d in problems] == []


def test_sample_files_are_byte_identical_to_what_write_project_writes(sample):
    folder, project = sample
    expected = project_files(project)
    on_disk = {
        str(p.relative_to(folder)): p.read_text(encoding="utf-8")
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.suffix in (".json", ".py", ".toml")
    }
    assert sorted(on_disk) == sorted(expected)
    for rel, text in expected.items():
        assert on_disk[rel] == text, f"{folder.name}/{rel} is not in the form DAG Studio writes"


def test_module_code_is_canonical_and_defines_every_callable(sample):
    _, project = sample
    for dag in project.dags:
        assert canonical_module_code(dag.module_code) == dag.module_code, dag.dag_id
        namespace: dict[str, object] = {}
        exec(compile(dag.module_code, f"{dag.dag_id}.py", "exec"), namespace)
        for name in sorted(callable_names(dag)):
            assert callable(namespace.get(name)), f"{dag.dag_id}: module code does not define {name}()"


def callable_names(dag: Dag) -> set[str]:
    values = list(dag.args.values()) + [v for t in dag.tasks for v in t.args.values()]
    names: set[str] = set()
    while values:
        value = values.pop()
        if isinstance(value, CallableRef):
            names.add(value.name)
        elif isinstance(value, dict):
            values.extend(value.values())
        elif isinstance(value, list):
            values.extend(value)
    return names


def test_every_xcom_edge_is_stored_and_points_at_an_existing_task(sample):
    _, project = sample
    for dag in project.dags:
        edges = {e.key for e in dag.edges}
        for task in dag.tasks:
            for up in xcom_upstreams(task):
                assert dag.task(up) is not None, f"{dag.dag_id}.{task.task_id} pulls from unknown {up}"
                assert (up, task.task_id) in edges, f"{dag.dag_id}: XCom edge {up} -> {task.task_id} missing"


def test_tasks_are_laid_out_left_to_right_by_rank(sample):
    _, project = sample
    for dag in project.dags:
        positions = {t.task_id: t.position for t in dag.tasks}
        assert None not in positions.values(), f"{dag.dag_id}: a task has no position"
        assert len(set(positions.values())) == len(positions), f"{dag.dag_id}: tasks on top of each other"
        graph = nx.DiGraph([e.key for e in dag.edges])
        graph.add_nodes_from(positions)
        assert nx.is_directed_acyclic_graph(graph)
        for up, down in graph.edges:
            assert positions[up][0] < positions[down][0], f"{dag.dag_id}: {up} is not left of {down}"
        sources = [n for n in graph if not graph.pred[n]]
        assert {positions[n][0] for n in sources} == {40}, f"{dag.dag_id}: sources not in the first column"


def test_group_members_are_contiguous_in_model_order(sample):
    """The generator writes one ``with TaskGroup`` block per group: members must not be interleaved."""
    _, project = sample
    for dag in project.dags:
        for group in dag.groups:
            inside = [i for i, t in enumerate(dag.tasks) if t.group_id and t.group_id.startswith(group.group_id)]
            assert inside == list(range(inside[0], inside[-1] + 1)), f"{dag.dag_id}: {group.group_id} interleaved"


# --- what the samples teach ------------------------------------------------------------------------
def by_id() -> dict[str, Dag]:
    return {dag.dag_id: dag for dag in all_dags()}


def test_every_dag_documents_itself_and_has_a_zoned_start_date():
    for dag in all_dags():
        assert dag.args.get("doc_md", "").startswith("# "), f"{dag.dag_id} has no doc_md"
        assert dag.args.get("description"), dag.dag_id
        assert isinstance(dag.args.get("start_date"), DateTime), dag.dag_id
        assert "sample" in dag.args.get("tags", []), dag.dag_id


def test_samples_use_every_operator_the_issue_lists():
    used = {t.operator for dag in all_dags() for t in dag.tasks}
    wanted = {
        "PythonOperator",
        "BranchPythonOperator",
        "ShortCircuitOperator",
        "BashOperator",
        "EmptyOperator",
        "EmailOperator",
        "DockerOperator",
        "S3CreateObjectOperator",
        "S3CopyObjectOperator",
        "S3ListOperator",
        "S3DeleteObjectsOperator",
        "FileSensor",
        "S3KeySensor",
        "PythonSensor",
        "@task",
        "@task.branch",
    }
    assert wanted <= used, f"missing: {sorted(wanted - used)}"
    assert all(get_spec(op) is not None for op in used)


def test_ml_pipeline_is_the_classic_daily_pipeline_with_branch_and_join():
    dag = by_id()["ml_daily_training"]
    assert dag.args["schedule"] == "@daily"
    assert dag.args["start_date"].tz == "Europe/Amsterdam"
    defaults = dag.args["default_args"]
    assert defaults["retries"] >= 1 and defaults["retry_delay"].total_seconds() > 0
    assert defaults["email_on_failure"] is True and defaults["email"]
    chain = ["prepare_data", "engineer_features", "train_model", "evaluate_model", "check_quality"]
    assert all((a, b) in {e.key for e in dag.edges} for a, b in itertools.pairwise(chain))
    branch = dag.task("check_quality")
    assert branch.operator == "BranchPythonOperator"
    assert set(dag.downstream_ids("check_quality")) == {"deploy_model", "notify_team"}
    assert dag.task("notify_team").operator == "EmailOperator"
    (join,) = {t for t in dag.downstream_ids("deploy_model")} & set(dag.downstream_ids("notify_team"))
    assert dag.task(join).args["trigger_rule"] == "none_failed_min_one_success"


def test_weekly_retraining_runs_in_docker_and_branches():
    dag = by_id()["ml_retrain_weekly"]
    assert dag.args["schedule"] == "@weekly"
    docker = [t for t in dag.tasks if t.operator == "DockerOperator"]
    assert len(docker) >= 2
    for task in docker:
        assert {"image", "command", "environment", "auto_remove"} <= set(task.args), task.task_id
    branches = [t for t in dag.tasks if t.operator == "BranchPythonOperator"]
    assert branches and len(dag.downstream_ids(branches[0].task_id)) == 2


def test_hourly_etl_has_sensors_s3_jinja_and_a_load_group():
    dag = by_id()["etl_hourly_orders"]
    args = dag.args
    assert args["schedule"] == "@hourly" and args["catchup"] is True and args["max_active_runs"] == 1
    assert args["dagrun_timeout"].total_seconds() < 3600
    assert all(isinstance(p, ParamValue) for p in args["params"].values())
    sensor = next(t for t in dag.tasks if t.operator == "FileSensor")
    assert sensor.args["mode"] == "reschedule"
    bash = next(t for t in dag.tasks if t.operator == "BashOperator")
    assert "{{ ds" in bash.args["bash_command"] and "{{ data_interval_start" in bash.args["bash_command"]
    assert [g.group_id for g in dag.groups] == ["load"]
    assert len(dag.child_tasks("load")) >= 2


def test_showcase_covers_taskflow_groups_mapping_branch_labels_callbacks_params():
    dags = by_id()
    flow, mapping = dags["taskflow_showcase"], dags["dynamic_mapping_showcase"]
    assert any(t.args.get("multiple_outputs") for t in flow.tasks)
    assert any(ref.key != "return_value" for t in flow.tasks for ref in iter_xcom_refs(t.args))
    assert any(g.parent_id for g in flow.groups), "no nested TaskGroup"
    assert any(t.operator == "@task.branch" for t in flow.tasks)
    assert any(e.label for e in flow.edges), "no edge labels"
    assert isinstance(flow.args["default_args"]["on_failure_callback"], CallableRef)
    mapped = {t.operator for t in mapping.tasks if t.is_mapped}
    assert {"@task", "BashOperator"} <= mapped
    assert any(t.operator == "BashOperator" and t.is_mapped and t.args for t in mapping.tasks), "no .partial()"
    assert any(t.operator == "PythonSensor" for t in mapping.tasks)
    types = {p.schema.get("type") for d in (flow, mapping) for p in d.args["params"].values()}
    assert {"integer", "string", "boolean"} <= types
