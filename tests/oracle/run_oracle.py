"""Real Airflow's ``dag.test()`` as the oracle for runs, and the run corpus's declared outcomes.

``airflow_run(dag_file, dag_id, logical_date, conf)``: one subprocess in the Airflow virtualenv
(tests/oracle/airflow_env.py) running ``dag_test_run.py`` on one DAG (≈8 s, mostly Airflow's start-up).
``airflow_run_many(cases)``: many corpus DAGs in one such process (≈0.5 s per DAG after a ≈5 s start);
``oracle_result(case, prefetch)`` caches those per test session, a few batches in parallel.

``dag.test()`` needs a metadata database: ``airflow db migrate`` (≈3 s) runs once per process into a
template ``AIRFLOW_HOME``; every call copies that SQLite file into a fresh home, so calls never see each
other's state. ``fs_default`` (FileSensor's connection) comes from the environment, as in a default
Airflow install: type fs, path "/". Each DAG's bundle folder holds only a symlink to its file, so the
bundle sync inside ``dag.test()`` parses one file, while the DAG itself is loaded from its real path
(its template files resolve next to it).

``corpus_cases()`` reads every file of tests/run_corpus/ without importing it: the DAG id is the file's
stem; EXPECTED, EXPECTED_RUN_STATE and the optional CONF, EXPECTED_MARKERS, LOGICAL_DATE are literals.
"""

from __future__ import annotations

import ast
import atexit
import json
import os
import shutil
import subprocess
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tests.oracle.airflow_env import airflow_env, airflow_python

SCRIPT = Path(__file__).with_name("dag_test_run.py")
CORPUS_DIR = Path(__file__).resolve().parents[1] / "run_corpus"
LOGICAL_DATE = "2024-01-01T00:00:00+00:00"
WORKERS = max(2, min(4, os.cpu_count() or 2))
FS_DEFAULT = json.dumps({"conn_type": "fs", "extra": {"path": "/"}})
_template: Path | None = None
_template_lock = threading.Lock()


def template_home() -> Path:
    """An ``AIRFLOW_HOME`` with a migrated database, made once per process and removed at exit."""
    global _template
    with _template_lock:
        if _template is None:
            home = Path(tempfile.mkdtemp(prefix="airflow-template-home-"))
            atexit.register(shutil.rmtree, home, True)
            python = str(airflow_python())
            env = airflow_env(home)
            proc = subprocess.run(
                [python, "-m", "airflow", "db", "migrate"], capture_output=True, text=True, env=env, timeout=600
            )
            if proc.returncode != 0:
                raise RuntimeError(f"airflow db migrate failed:\n{proc.stderr[-4000:]}")
            _template = home
        return _template


def airflow_env_for_run(home: Path, dags_folder: Path, corpus_tmp: Path) -> dict[str, str]:
    """The environment of one oracle run (Airflow's, plus where the DAG may write its markers)."""
    env = airflow_env(home)
    env.update(
        AIRFLOW__CORE__DAGS_FOLDER=str(dags_folder),
        AIRFLOW_CONN_FS_DEFAULT=FS_DEFAULT,
        RUN_CORPUS_TMP=str(corpus_tmp),
    )
    return env


def _fresh_home(scratch: Path) -> Path:
    home = scratch / "home"
    home.mkdir()
    template = template_home()
    for name in ("airflow.db", "airflow.cfg"):
        if (template / name).exists():
            shutil.copyfile(template / name, home / name)
    return home


def airflow_run(
    dag_file: Path | str,
    dag_id: str,
    logical_date: str,
    conf: dict | None = None,
    corpus_tmp: Path | None = None,
) -> dict:
    """``dag.test()`` of ``dag_id`` in ``dag_file`` by real Airflow, in ``dagstudio run --json``'s shape.

    The result also has ``"markers"``: the files under ``corpus_tmp`` (a fresh temporary folder unless
    given; it is the DAG's ``RUN_CORPUS_TMP``) after the run, relative and sorted.
    """
    dag_file = Path(dag_file).resolve()
    with tempfile.TemporaryDirectory(prefix="airflow-run-") as scratch:
        home = _fresh_home(Path(scratch))
        dags = Path(scratch) / "dags"
        dags.mkdir()
        (dags / dag_file.name).symlink_to(dag_file)
        markers_dir = corpus_tmp if corpus_tmp is not None else Path(scratch) / "corpus_tmp"
        markers_dir.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [str(airflow_python()), str(SCRIPT), str(dag_file), dag_id, logical_date, json.dumps(conf or {})],
            capture_output=True,
            text=True,
            env=airflow_env_for_run(home, dags, markers_dir),
            cwd=scratch,
            timeout=600,
        )
    if proc.returncode != 0:
        raise RuntimeError(f"dag.test() of {dag_file.name} failed ({proc.returncode}):\n{proc.stderr[-6000:]}")
    return json.loads(proc.stdout)


@dataclass(frozen=True)
class CorpusCase:
    """One file of tests/run_corpus/ and the outcome it declares (read without importing it)."""

    path: Path
    dag_id: str
    doc: str
    expected: dict[str, tuple[str, int]]
    run_state: str
    conf: dict = field(default_factory=dict)
    markers: list[str] | None = None
    logical_date: str = LOGICAL_DATE


def _literals(tree: ast.Module) -> dict[str, object]:
    found: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                found[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    return found


def corpus_case(path: Path) -> CorpusCase:
    """The case of one corpus file: DAG id = file stem; EXPECTED, EXPECTED_RUN_STATE and the optional
    CONF, EXPECTED_MARKERS, LOGICAL_DATE are module-level literals."""
    tree = ast.parse(path.read_text(), filename=str(path))
    values = _literals(tree)
    return CorpusCase(
        path=path,
        dag_id=path.stem,
        doc=ast.get_docstring(tree) or "",
        expected={k: tuple(v) for k, v in values["EXPECTED"].items()},  # type: ignore[union-attr]
        run_state=values["EXPECTED_RUN_STATE"],  # type: ignore[arg-type]
        conf=values.get("CONF", {}),  # type: ignore[arg-type]
        markers=values.get("EXPECTED_MARKERS"),  # type: ignore[arg-type]
        logical_date=values.get("LOGICAL_DATE", LOGICAL_DATE),  # type: ignore[arg-type]
    )


def corpus_cases() -> list[CorpusCase]:
    """Every DAG file of the run corpus, sorted by name."""
    return [corpus_case(p) for p in sorted(CORPUS_DIR.glob("*.py"))]


def airflow_run_many(cases: list[CorpusCase]) -> dict[str, dict]:
    """Like ``airflow_run`` for each case, in ONE Airflow process (its ≈5 s start-up paid once): each
    case gets its own DAG bundle folder and marker folder, all share one fresh database (DAG ids are
    distinct). Returns {dag_id: result}; a case that could not run raises RuntimeError."""
    with tempfile.TemporaryDirectory(prefix="airflow-batch-") as scratch_dir:
        scratch = Path(scratch_dir)
        home = _fresh_home(scratch)
        specs = []
        for case in cases:
            folder = scratch / case.dag_id
            (folder / "dags").mkdir(parents=True)
            (folder / "corpus_tmp").mkdir()
            (folder / "dags" / case.path.name).symlink_to(case.path.resolve())
            specs.append(
                {
                    "file": str(case.path.resolve()),
                    "dag_id": case.dag_id,
                    "logical_date": case.logical_date,
                    "conf": case.conf,
                    "dags_folder": str(folder / "dags"),
                    "corpus_tmp": str(folder / "corpus_tmp"),
                }
            )
        (scratch / "specs.json").write_text(json.dumps(specs))
        proc = subprocess.run(
            [str(airflow_python()), str(SCRIPT), "--batch", str(scratch / "specs.json")],
            capture_output=True,
            text=True,
            env=airflow_env_for_run(home, scratch / "unused-dags", scratch / "unused-tmp"),
            cwd=scratch,
            timeout=300 + 60 * len(cases),
        )
    lines = proc.stdout.splitlines()
    if proc.returncode != 0 or len(lines) != len(cases):
        raise RuntimeError(f"dag.test() batch failed ({proc.returncode}):\n{proc.stderr[-6000:]}")
    results = {}
    for case, line in zip(cases, lines, strict=True):
        result = json.loads(line)
        if "error" in result:
            raise RuntimeError(f"dag.test() of {case.path.name} failed:\n{result['error']}")
        results[case.dag_id] = result
    return results


_pool: ThreadPoolExecutor | None = None
_futures: dict[str, Future] = {}


def oracle_result(case: CorpusCase, prefetch: list[CorpusCase] = ()) -> dict:  # type: ignore[assignment]
    """The oracle run of ``case``, cached per process. On first use the cases of ``prefetch`` not yet
    started are split into a few batches (``airflow_run_many``) that run in parallel in the background."""
    global _pool
    with _template_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=WORKERS)
    template_home()
    with _template_lock:
        pending = [c for c in [case, *prefetch] if c.dag_id not in _futures]
        pending = list({c.dag_id: c for c in pending}.values())
        for chunk in (pending[i::WORKERS] for i in range(WORKERS)):
            if chunk:
                future = _pool.submit(airflow_run_many, chunk)
                for item in chunk:
                    _futures[item.dag_id] = future
        future = _futures[case.dag_id]
    return future.result()[case.dag_id]
