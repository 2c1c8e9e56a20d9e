"""Pools against real Airflow 3.3.2: on random cases (pools of 0..5 slots or unlimited, a missing pool,
pool_slots 1..3, slots held by another run, parallelism, max_active_tasks), the TIs our DagRun machine
queues must be the ones Airflow's scheduler queues (``SchedulerJobRunner._executable_task_instances_to_queued``
called until it queues nothing more, tests/oracle/pool_oracle.py), and Airflow's defaults must be ours."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest

from studio.runtime.dagrun import DagRunMachine
from studio.runtime.slots import DEFAULT_PARALLELISM, SlotBudget
from studio.store.pools import DEFAULT_POOL_SLOTS
from tests.oracle.airflow_env import airflow_env, airflow_python
from tests.test_runtime_dagrun_helpers import FakeClock, dag, task

pytestmark = pytest.mark.airflow

ORACLE = Path(__file__).parent / "oracle" / "pool_oracle.py"


def cases(count: int, seed: int = 4) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        pools = {"default_pool": rng.choice([128, 2, 1])}
        pools.update({f"p{i}": rng.choice([-1, 0, 1, 2, 3, 5]) for i in range(rng.randint(1, 3))})
        names = [*pools, "missing"] if rng.random() < 0.3 else list(pools)
        n = rng.randint(1, 8)
        weights = rng.sample(range(1, 50), n)
        tis = [{"task_id": f"t{i}", "pool": rng.choice(names), "pool_slots": rng.choice([1, 1, 1, 2, 3]),
                "priority_weight": weights[i]} for i in range(n)]  # fmt: skip
        occupied = [
            {"pool": rng.choice(list(pools)), "pool_slots": rng.choice([1, 2])} for _ in range(rng.randint(0, 3))
        ]
        parallelism = rng.choice([2, 3, 4, 32])
        if len(occupied) >= parallelism:
            occupied = occupied[: parallelism - 1]
        out.append({"pools": pools, "parallelism": parallelism, "max_active_tasks": rng.choice([1, 2, 3, 16]),
                    "occupied": occupied, "tis": tis})  # fmt: skip
    return out


def ours(case: dict) -> list[str]:
    used: dict[str, int] = {}
    for ti in case["occupied"]:
        used[ti["pool"]] = used.get(ti["pool"], 0) + ti["pool_slots"]
    budget = SlotBudget(
        parallelism=case["parallelism"], external=lambda _own: (case["pools"], used, len(case["occupied"]))
    )
    tasks = [task(t["task_id"], pool=t["pool"], pool_slots=t["pool_slots"], priority_weight=t["priority_weight"])
             for t in case["tis"]]  # fmt: skip
    machine = DagRunMachine(dag(*tasks, max_active_tasks=case["max_active_tasks"]), clock=FakeClock(), budget=budget)
    return sorted(launch.key for launch in machine.start())


def test_the_queued_tis_match_airflows_scheduler(tmp_path: Path) -> None:
    python = airflow_python()
    env = airflow_env(tmp_path)
    migrate = subprocess.run([str(python.with_name("airflow")), "db", "migrate"], env=env, capture_output=True)
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    batch = cases(300)
    done = subprocess.run([str(python), str(ORACLE)], input=json.dumps(batch), env=env, capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    theirs = json.loads(done.stdout)
    mismatches = [(case, theirs[i], ours(case)) for i, case in enumerate(batch) if theirs[i] != ours(case)]
    assert not mismatches, mismatches[:3]
    assert sum(1 for t in theirs if t) > 150 and any(len(t) < len(c["tis"]) for t, c in zip(theirs, batch))


def test_defaults_are_airflows(tmp_path: Path) -> None:
    code = ("from airflow.configuration import conf; "
            "print(conf.getint('core', 'parallelism'), conf.getint('core', 'default_pool_task_slot_count'))")  # fmt: skip
    done = subprocess.run(
        [str(airflow_python()), "-c", code], env=airflow_env(tmp_path), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-2:] == [str(DEFAULT_PARALLELISM), str(DEFAULT_POOL_SLOTS)]
