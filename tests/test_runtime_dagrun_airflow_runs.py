"""Whole runs against real Airflow 3.3.2: random small DAGs with scripted outcomes per try (success,
failure, AirflowFailException, skip), branching, short circuit, every trigger rule, retries, setups and
teardowns, mapped tasks (over a literal list or an upstream's returned list, zero length included),
run through Airflow's ``dag.test()`` (tests/oracle/dagrun_oracle.py, a temporary AIRFLOW_HOME with
``airflow db migrate``) and through ``DagRunMachine``; final run state, TI states and try numbers
must be equal. ``dag.test()`` runs the TIs scheduled in a round in set order, and a decision made in
one round reaches the next task only in the next round (ours propagates at once), so only DAGs whose
outcome does not depend on the order tasks and retries run in (checked by running ours in a dozen
random orders) are compared. The DAG-level ``fail_fast`` is left out for the same reason (test_runtime_dagrun.py has it).
"""

from __future__ import annotations

import json
import random
import subprocess
import tempfile
from pathlib import Path

import pytest

from studio.core.trigger_rules import TRIGGER_RULES
from studio.runtime.dagrun import DagRunMachine
from tests.oracle.airflow_env import airflow_env, airflow_python
from tests.test_runtime_dagrun_helpers import FakeClock, dag, result, task

pytestmark = pytest.mark.airflow

ORACLE = Path(__file__).parent / "oracle" / "dagrun_oracle.py"
SEED = 20241125
N_DAGS = 40


def random_spec(rng: random.Random, number: int) -> dict:
    tasks = []
    for i in range(rng.randint(2, 7)):
        upstream = sorted(rng.sample([t["task_id"] for t in tasks], k=min(len(tasks), rng.randint(0, 3))))
        spec = {
            "task_id": f"t{i}",
            "upstream": upstream,
            "trigger_rule": rng.choice(TRIGGER_RULES),
            "retries": rng.choice([0, 0, 1, 2]),
            "outcomes": rng.choices(["success", "success", "failed", "fail_fast", "skipped"], k=3),
            "branch": None,
        }
        setups = [u for u in upstream if next(t for t in tasks if t["task_id"] == u).get("is_setup")]
        if not upstream and rng.random() < 0.25:
            spec["is_setup"] = True
        elif setups and rng.random() < 0.5:
            spec.update(is_teardown=True, trigger_rule="all_done_setup_success")
        elif setups:
            spec["trigger_rule"] = "all_success"  # Airflow's rule for work right after a setup
        tasks.append(spec)
    by_id = {t["task_id"]: t for t in tasks}
    for spec in tasks:  # branches follow a random subset of their direct downstream tasks
        downstream = [t["task_id"] for t in tasks if spec["task_id"] in t["upstream"]]
        if downstream and not spec.get("is_setup") and rng.random() < 0.2:
            spec["branch"] = rng.sample(downstream, k=rng.randint(0, len(downstream)))
        elif downstream and not spec.get("is_setup") and not spec.get("is_teardown") and rng.random() < 0.15:
            spec["short_circuit"] = {"condition": rng.random() < 0.3, "ignore": rng.random() < 0.5}
    for spec in tasks:  # mapped tasks: over a literal list, or over an upstream's returned list
        if spec.get("is_setup") or spec.get("is_teardown") or spec["branch"] is not None:
            continue
        sources = [u for u in spec["upstream"] if _plain(by_id[u])]
        if rng.random() < 0.15:
            spec["map_length"] = rng.randint(0, 3)
        elif sources and rng.random() < 0.3:
            spec["map_from"] = rng.choice(sources)
            if spec["trigger_rule"] == "all_skipped":  # Airflow is nondeterministic there (dagrun.py)
                spec["trigger_rule"] = "all_done"
            by_id[spec["map_from"]].setdefault("returns_length", rng.randint(0, 3))
    return {"dag_id": f"rand_{number}", "tasks": tasks}


def _plain(spec: dict) -> bool:
    """Can feed a mapped task: not a setup, teardown, branch or mapped task itself."""
    mapped = spec.get("map_length") is not None or spec.get("map_from") is not None
    special = spec["branch"] is not None or spec.get("short_circuit") or spec.get("is_setup") or spec.get("is_teardown")
    return not mapped and not special


def airflow_runs(specs: list[dict]) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="airflow-home-") as home:
        env = airflow_env(Path(home))
        env["AIRFLOW__CORE__DAGS_FOLDER"] = str(Path(home) / "dags")
        (Path(home) / "dags").mkdir()
        airflow = Path(airflow_python()).with_name("airflow")
        migrate = subprocess.run([str(airflow), "db", "migrate"], capture_output=True, text=True, env=env, cwd=home)
        assert migrate.returncode == 0, migrate.stderr[-4000:]
        proc = subprocess.run(
            [str(airflow_python()), str(ORACLE)],
            input=json.dumps(specs),
            capture_output=True,
            text=True,
            env=env,
            cwd=home,
            timeout=1200,
        )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout)


def our_run(spec: dict, order_seed: int | None = None) -> dict:
    """Run the spec through the machine, one task at a time like ``dag.test()``; with
    ``order_seed``, the next task to run is drawn at random from the ready ones, retries included."""
    order = random.Random(order_seed) if order_seed is not None else None
    tasks = [
        task(
            t["task_id"],
            t["upstream"],
            trigger_rule=t["trigger_rule"],
            retries=t["retries"],
            retry_delay=0,
            is_setup=bool(t.get("is_setup")),
            is_teardown=bool(t.get("is_teardown")),
            branch=t["branch"] is not None,
            short_circuit=t.get("short_circuit") is not None,
            ignore_downstream_trigger_rules=(t.get("short_circuit") or {}).get("ignore", True),
            is_mapped=t.get("map_length") is not None or t.get("map_from") is not None,
            map_sources=[t["map_length"]] if t.get("map_length") is not None else [t.get("map_from")],
        )
        for t in spec["tasks"]
    ]
    by_id = {t["task_id"]: t for t in spec["tasks"]}
    clock = FakeClock()
    m = DagRunMachine(dag(*tasks, dag_id=spec["dag_id"], max_active_tasks=64), clock=clock)
    pending = m.start()
    while m.state == "running":
        if not pending:
            clock.now = m.next_wakeup()
            pending = m.due()
            continue
        launch = pending.pop(order.randrange(len(pending)) if order else 0)
        if m.ti(launch.key).state != "queued":  # skipped while waiting (a branch, a short circuit)
            continue
        t = by_id[launch.task_id]
        outcome = t["outcomes"][min(launch.try_number, len(t["outcomes"])) - 1]
        m.on_started(launch.key)
        if outcome == "success":
            res = result(follow_branches=t["branch"], map_length=t.get("returns_length"))
            if t.get("short_circuit") and not t["short_circuit"]["condition"]:
                res["skip_downstream"] = m.graph.short_circuit_skips(launch.task_id)
        elif outcome == "skipped":
            res = result("skipped")
        else:
            res = result("failed", fail_fast=outcome == "fail_fast")
        pending += m.on_finished(launch.key, res, 0)
        if order and order.random() < 0.5:  # a retry (retry_delay 0) may run before the others
            pending += m.due()
    return {"state": m.state, "tasks": {ti.key: [ti.state, ti.try_number] for ti in m.tis()}}


def order_independent(spec: dict) -> bool:
    """Whether the outcome is the same whatever order the ready tasks run in: ``dag.test()`` runs
    the scheduled TIs of each round in set order, so only such outcomes can be compared (a task with
    ``always`` next to a branch that skips it may run before or after the branch)."""
    outcomes = {json.dumps(our_run(spec, seed), sort_keys=True) for seed in range(12)}
    return len(outcomes | {json.dumps(our_run(spec), sort_keys=True)}) == 1


def test_random_runs_match_dag_test(airflow_oracle):
    rng = random.Random(SEED)
    specs = [s for s in (random_spec(rng, n) for n in range(N_DAGS * 2)) if order_independent(s)][:N_DAGS]
    assert len(specs) == N_DAGS
    expected = airflow_runs(specs)
    mismatches = []
    for spec, want in zip(specs, expected, strict=True):
        got = our_run(spec)
        if got != want:
            mismatches.append(f"{json.dumps(spec)}\n  airflow {want}\n  ours    {got}")
    assert not mismatches, f"{len(mismatches)} of {len(specs)} differ:\n" + "\n".join(mismatches[:10])
