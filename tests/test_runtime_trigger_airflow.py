"""Trigger rules against real Airflow 3.3.2: every rule × every mix of 1–3 upstream states.

The expected decisions come live from Airflow's own ``TriggerRuleDep`` (tests/oracle/
trigger_rule_oracle.py, run in the Airflow virtualenv on in-memory task instances, no database);
ours come from ``studio.runtime.dagrun.decide`` on the same small DAGs. Cases:
plain upstreams, a direct upstream setup, an indirect setup (setup → work → task), and teardowns
with a setup, further upstreams and an in-scope task.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import tempfile
from pathlib import Path

import pytest

from studio.core.trigger_rules import TRIGGER_RULES
from studio.runtime.dagrun_deps import decide
from studio.runtime.dagrun_graph import TaskGraph
from tests.oracle.airflow_env import airflow_env, airflow_python

pytestmark = pytest.mark.airflow

ORACLE = Path(__file__).parent / "oracle" / "trigger_rule_oracle.py"
STATES = ["success", "failed", "skipped", "upstream_failed", "removed", None, "running"]
SETUP_STATES = ["success", "failed", "skipped", "upstream_failed", None]


def _task(task_id, upstream=(), rule="all_success", state=None, setup=False, teardown=False):
    return {
        "task_id": task_id,
        "upstream": list(upstream),
        "trigger_rule": rule,
        "state": state,
        "is_setup": setup,
        "is_teardown": teardown,
    }


def plain_cases() -> list[dict]:
    """Every rule × every multiset of 1–3 upstream states, optionally the first upstream a setup."""
    cases = []
    for rule in TRIGGER_RULES:
        for n in (1, 2, 3):
            for mix in itertools.combinations_with_replacement(STATES, n):
                for first_is_setup in (False, True):
                    ups = [_task(f"u{i}", state=s, setup=first_is_setup and i == 0) for i, s in enumerate(mix)]
                    tasks = [*ups, _task("t", [u["task_id"] for u in ups], rule)]
                    cases.append({"tasks": tasks, "target": "t"})
    return cases


def setup_cases() -> list[dict]:
    """Indirect setups (s → w → t, plus another direct upstream) and teardowns (s → w → td,
    s → td, x → td) with every combination of states."""
    cases = []
    for rule in TRIGGER_RULES:
        for s, w, x in itertools.product(SETUP_STATES, STATES, ["success", "failed", "skipped", None]):
            tasks = [
                _task("s", state=s, setup=True),
                _task("w", ["s"], state=w),
                _task("x", state=x),
                _task("t", ["w", "x"], rule),
            ]
            cases.append({"tasks": tasks, "target": "t"})
    for s, w, x in itertools.product(SETUP_STATES, STATES, ["success", "failed", None]):
        for rule in ("all_done_setup_success", "all_done", "all_success"):
            tasks = [
                _task("s", state=s, setup=True),
                _task("w", ["s"], state=w),
                _task("x", state=x),
                _task("td", ["s", "x"], rule, teardown=True),
            ]
            cases.append({"tasks": tasks, "target": "td"})
            chained = [*tasks[:3], _task("td", ["w", "s"], rule, teardown=True)]
            cases.append({"tasks": chained, "target": "td"})
    return cases


def airflow_decisions(cases: list[dict]) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="airflow-home-") as home:
        proc = subprocess.run(
            [str(airflow_python()), str(ORACLE)],
            input=json.dumps(cases),
            capture_output=True,
            text=True,
            env=airflow_env(Path(home)),
            timeout=900,
        )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout)


def our_decision(case: dict) -> str:
    graph = TaskGraph({"dag_id": "case", "tasks": case["tasks"]})
    states = {t["task_id"]: t["state"] for t in case["tasks"]}
    return decide(graph, case["target"], lambda tid: [states[tid]])


def _describe(case: dict) -> str:
    return ", ".join(
        f"{t['task_id']}{'(setup)' if t['is_setup'] else ''}{'(teardown)' if t['is_teardown'] else ''}"
        f"<-{t['upstream']}={t['state']}/{t['trigger_rule']}"
        for t in case["tasks"]
    )


def test_every_rule_and_upstream_mix_matches_airflow(airflow_oracle):
    cases = plain_cases() + setup_cases()
    expected = airflow_decisions(cases)
    assert len(expected) == len(cases)
    mismatches = [
        f"{_describe(c)} -> airflow {e!r}, ours {our_decision(c)!r}"
        for c, e in zip(cases, expected, strict=True)
        if our_decision(c) != e
    ]
    assert not mismatches, f"{len(mismatches)} of {len(cases)} differ:\n" + "\n".join(mismatches[:40])
    # the table covers every decision the scheduler can take
    assert {"run", "wait", "skipped", "upstream_failed"} <= set(expected)
