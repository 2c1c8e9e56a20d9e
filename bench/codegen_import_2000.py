"""Benchmark: generate Airflow code for a 2,000-task DAG and AST-import it back (not a test; prints numbers).

The DAG is built in memory the way a large real pipeline looks: 40 layers of 50 tasks, a third each
BashOperator, PythonOperator and TaskFlow ``@task`` (ten shared functions, so the generator writes
``f.override(task_id=...)`` calls; a TaskFlow task with a TaskFlow upstream takes that one's XCom),
8 stage TaskGroups each holding 5 nested layer groups, and 3,900 edges: every task after the first
layer has two upstreams in the layer before (fan-in 2, fan-out about 2).

Measured side by side in one run, best of N with ``time.perf_counter``:

* ``generate_dag``            model -> Airflow 3 source              (target <= 0.3 s)
* ``import_source``           that source -> model, AST only         (target <= 0.5 s)
* ``compile()``               CPython compiling the same file         (for comparison)
* ``ast.parse``               the floor of any AST importer
* Airflow's ``DagBag``        parsing the same file in Apache Airflow (if ``.venv-airflow`` exists)

Usage: ``python bench/codegen_import_2000.py [--repeat N] [--profile] [--no-airflow]``.
``--profile`` adds cProfile listings of the generator and the importer (the hot spots by own time).
"""

from __future__ import annotations

import argparse
import ast
import cProfile
import datetime as dt
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from studio.codegen.generator import generate_dag  # noqa: E402
from studio.codegen.importer import import_source  # noqa: E402
from studio.codegen.pysource import canonical_module_code  # noqa: E402
from studio.core.model import Dag, Edge, Task, TaskGroup  # noqa: E402
from studio.core.values import CallableRef, DateTime, XComRef  # noqa: E402

LAYERS, WIDTH, LAYERS_PER_STAGE, FUNCTIONS = 40, 50, 5, 10
TARGET_GENERATE, TARGET_IMPORT = 0.3, 0.5
FILE_NAME = "bench_2000.py"

MODULE_CODE = "import json\nimport math\n\n\n" + "\n\n\n".join(
    [
        f'def work_{k}(n: int) -> int:\n    """PythonOperator callable number {k}."""\n'
        f"    return int(math.sqrt(n * {k + 1})) + len(json.dumps([n]))"
        for k in range(FUNCTIONS)
    ]
    + [
        f'def step_{k}(upstream=None, n: int = 0) -> dict:\n    """TaskFlow function number {k}."""\n'
        f'    return {{"n": n, "k": {k}, "upstream": upstream}}'
        for k in range(FUNCTIONS)
    ]
)


def build_dag() -> Dag:
    """The 2,000-task DAG described in the module docstring, in model order (layer by layer)."""
    dag = Dag(
        "bench_2000",
        args={
            "description": "2,000 tasks in 40 layers",
            "schedule": "@daily",
            "start_date": DateTime(dt.datetime(2024, 1, 1), "Europe/Amsterdam"),
            "catchup": False,
            "tags": ["bench"],
            "default_args": {"owner": "bench", "retries": 1, "retry_delay": dt.timedelta(minutes=1)},
        },
        module_code=canonical_module_code(MODULE_CODE + "\n"),
    )
    layer_ids: list[list[str]] = []
    kinds: dict[str, str] = {}
    for layer in range(LAYERS):
        stage = f"stage_{layer // LAYERS_PER_STAGE}"
        group = f"{stage}.layer_{layer:02d}"
        if layer % LAYERS_PER_STAGE == 0:
            dag.groups.append(TaskGroup(stage, None, {"tooltip": f"layers {layer} to {layer + LAYERS_PER_STAGE - 1}"}))
        dag.groups.append(TaskGroup(group, stage))
        ids = []
        for j in range(WIDTH):
            i = layer * WIDTH + j
            uppers = _upstreams(layer_ids, j)
            task = _task(i, f"{group}.", uppers, kinds)
            task.group_id = group
            dag.tasks.append(task)
            kinds[task.task_id] = task.operator
            ids.append(task.task_id)
            dag.edges.extend(Edge(up, task.task_id) for up in uppers)
        layer_ids.append(ids)
    return dag


def _upstreams(layer_ids: list[list[str]], j: int) -> list[str]:
    if not layer_ids:
        return []
    prev = layer_ids[-1]
    other = (j * 7 + 3) % WIDTH
    if other == j:
        other = (j + 1) % WIDTH
    return [prev[j], prev[other]]


def _task(i: int, prefix: str, uppers: list[str], kinds: dict[str, str]) -> Task:
    k = i % FUNCTIONS
    if i % 3 == 0:
        args: dict[str, Any] = {"bash_command": f'echo "task {i} of {{{{ ds }}}}" && sleep 0'}
        if i % 9 == 0:
            args["retries"] = 3
        return Task(f"{prefix}bash_{i:04d}", "BashOperator", args)
    if i % 3 == 1:
        args = {"python_callable": CallableRef(f"work_{k}"), "op_kwargs": {"n": i}}
        if i % 7 == 0:
            args["trigger_rule"] = "all_done"
        return Task(f"{prefix}python_{i:04d}", "PythonOperator", args)
    args = {"python_callable": CallableRef(f"step_{k}"), "op_kwargs": {"n": i}}
    source = next((up for up in uppers if kinds.get(up) == "@task"), None)
    if source is not None:
        args["op_args"] = [XComRef(source)]
    return Task(f"{prefix}step_{i:04d}", "@task", args)


# --- measuring -------------------------------------------------------------------------------------
def best_of(repeat: int, func: Callable[[], Any]) -> tuple[float, float, Any]:
    """(best, median) seconds of ``repeat`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), result


AIRFLOW_SCRIPT = """
import json, sys, time
t0 = time.perf_counter()
from airflow.dag_processing.dagbag import DagBag
t1 = time.perf_counter()
times = []
for _ in range(int(sys.argv[2])):
    start = time.perf_counter()
    bag = DagBag(sys.argv[1])
    times.append(time.perf_counter() - start)
dag = next(iter(bag.dags.values()), None)
edges = sum(len(t.upstream_task_ids) for t in dag.tasks) if dag else 0
print(json.dumps({"import_airflow": t1 - t0, "times": times, "errors": {k: v[-300:] for k, v in bag.import_errors.items()},
                  "tasks": len(dag.tasks) if dag else 0, "edges": edges}))
"""


def airflow_dagbag(code: str, repeat: int) -> dict[str, Any] | None:
    python = REPO / ".venv-airflow" / "bin" / "python"
    if not python.exists():
        return None
    with tempfile.TemporaryDirectory(prefix="bench-dagbag-") as tmp:
        folder, home = Path(tmp) / "dags", Path(tmp) / "home"
        folder.mkdir()
        (folder / FILE_NAME).write_text(code, encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTHON"))}
        env.update(
            AIRFLOW_HOME=str(home),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__UNIT_TEST_MODE="True",
            AIRFLOW__LOGGING__LOGGING_LEVEL="ERROR",
        )
        start = time.perf_counter()
        proc = subprocess.run(
            [str(python), "-c", AIRFLOW_SCRIPT, str(folder), str(repeat)],
            capture_output=True,
            text=True,
            env=env,
            timeout=900,
        )
        wall = time.perf_counter() - start
    if proc.returncode != 0:
        print(f"Airflow DagBag failed ({proc.returncode}):\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall"] = wall
    return result


def profile(label: str, func: Callable[[], Any], limit: int = 18) -> None:
    prof = cProfile.Profile()
    prof.enable()
    func()
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out).strip_dirs().sort_stats("tottime")
    stats.print_stats(limit)
    print(f"\n--- cProfile: {label} (sorted by own time) ---")
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:6000])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs per measurement (best is reported)")
    parser.add_argument("--profile", action="store_true", help="print cProfile hot spots of generator and importer")
    parser.add_argument("--no-airflow", action="store_true", help="skip Airflow's DagBag for comparison")
    opts = parser.parse_args(argv)
    n = max(1, opts.repeat)

    start = time.perf_counter()
    dag = build_dag()
    built = time.perf_counter() - start
    xcom_edges = sum(1 for t in dag.tasks for a in t.args.get("op_args", []) if isinstance(a, XComRef))
    print(
        f"DAG: {len(dag.tasks)} tasks ({_mix(dag)}), {len(dag.groups)} TaskGroups, {len(dag.edges)} edges "
        f"({xcom_edges} of them by XCom); built in {built * 1000:.0f} ms"
    )

    gen_best, gen_med, code = best_of(n, lambda: generate_dag(dag))
    print(f"generated file: {len(code.splitlines())} lines, {len(code) / 1024:.0f} KiB")
    imp_best, imp_med, result = best_of(n, lambda: import_source(code, FILE_NAME))
    comp_best, comp_med, _ = best_of(n, lambda: compile(code, FILE_NAME, "exec"))
    parse_best, parse_med, _ = best_of(n, lambda: ast.parse(code, FILE_NAME))

    imported = result.dags[0] if result.dags else None
    same = imported is not None and imported.structure() == dag.structure()
    problems = len(result.diagnostics)
    tasks, edges = (len(imported.tasks), len(imported.edges)) if imported else (0, 0)
    verdict = "identical to" if same else "DIFFERENT from"
    print(f"import: {tasks} tasks, {edges} edges, structure {verdict} the model; {problems} diagnostics")

    rows = [
        ("generate_dag (model -> code)", gen_best, gen_med, TARGET_GENERATE),
        ("import_source (code -> model)", imp_best, imp_med, TARGET_IMPORT),
        ("compile() of the file", comp_best, comp_med, None),
        ("ast.parse of the file (floor)", parse_best, parse_med, None),
    ]
    airflow = None if opts.no_airflow else airflow_dagbag(code, max(2, min(n, 3)))
    if airflow is not None:
        times = airflow["times"]
        rows.append(("Airflow 3.3.2 DagBag (same file)", min(times), statistics.median(times), None))
        rows.append(("  its first, cold DagBag", times[0], times[0], None))

    print(f"\nbest of {n} runs (Airflow: {len(airflow['times']) if airflow else 0}), time.perf_counter")
    print(f"{'step':<34}{'best s':>9}{'median s':>10}{'target s':>10}  verdict")
    for name, best, med, target in rows:
        verdict = "" if target is None else ("ok" if best <= target else "MISSED")
        shown = f"{target:.2f}" if target is not None else "-"
        print(f"{name:<34}{best:>9.4f}{med:>10.4f}{shown:>10}  {verdict}")

    print("\nratios (best vs best)")
    print(f"  import_source / ast.parse            {imp_best / parse_best:8.1f}x")
    print(f"  import_source / compile()            {imp_best / comp_best:8.1f}x")
    print(f"  generate_dag  / compile()            {gen_best / comp_best:8.1f}x")
    if airflow is not None:
        dagbag = min(airflow["times"])
        print(f"  Airflow DagBag / import_source       {dagbag / imp_best:8.1f}x")
        print(
            f"  (Airflow: importing airflow took {airflow['import_airflow']:.2f} s, the subprocess "
            f"{airflow['wall']:.2f} s in all; DagBag saw {airflow['tasks']} tasks, {airflow['edges']} edges, "
            f"{len(airflow['errors'])} import errors)"
        )
        for file, message in airflow["errors"].items():
            print(f"  Airflow import error in {file}: {message}")

    if opts.profile:
        profile("generate_dag", lambda: generate_dag(dag))
        profile("import_source", lambda: import_source(code, FILE_NAME))
    return 0


def _mix(dag: Dag) -> str:
    counts: dict[str, int] = {}
    for task in dag.tasks:
        counts[task.operator] = counts.get(task.operator, 0) + 1
    return ", ".join(f"{n} {op}" for op, n in sorted(counts.items()))


if __name__ == "__main__":
    raise SystemExit(main())
