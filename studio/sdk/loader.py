"""``load_dag_file(path)``: execute a DAG file as a module like Airflow's DagBag does (with the
``airflow.*`` hook installed) and collect its DAGs: ``with DAG`` blocks, ``@dag`` calls and DAG objects
at module level. Any error becomes a ``DagFileError`` naming the file and line."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from studio.sdk import hook
from studio.sdk.dag import DAG
from studio.sdk.exceptions import DagFileError
from studio.sdk.node import DagContext, TaskGroupContext


def module_name(path: str) -> str:
    """Airflow's unusual module name for a DAG file (so ``__name__ != "__main__"``)."""
    digest = hashlib.sha1(path.encode("utf-8"), usedforsecurity=False).hexdigest()
    stem = os.path.splitext(os.path.basename(path))[0]
    return f"unusual_prefix_{digest}_{stem}"


def _error_line(err: BaseException, path: str) -> int | None:
    if isinstance(err, SyntaxError) and err.filename == path:
        return err.lineno
    line = None
    for frame in traceback.extract_tb(err.__traceback__):
        if frame.filename == path:
            line = frame.lineno
    return line


def load_dag_file(path: str | os.PathLike[str]) -> dict[str, DAG]:
    """The DAGs defined by the file at ``path``, by dag_id (in the order they were created)."""
    full = str(Path(path).resolve())
    if not os.path.isfile(full):
        raise DagFileError("no such file", full)
    hook.install()
    DagContext.autoregistered.clear()
    DagContext._stack.clear()
    TaskGroupContext._stack.clear()
    name = module_name(full)
    spec = importlib.util.spec_from_file_location(name, full)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    folder = os.path.dirname(full)
    added_path = folder not in sys.path
    if added_path:
        sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except Exception as err:
        sys.modules.pop(name, None)
        message = f"{type(err).__name__}: {err}"
        raise DagFileError(message, full, _error_line(err, full)) from err
    finally:
        DagContext._stack.clear()
        TaskGroupContext._stack.clear()
    found: list[DAG] = list(DagContext.autoregistered)
    DagContext.autoregistered.clear()
    found.extend(value for value in vars(module).values() if isinstance(value, DAG))
    dags: dict[str, DAG] = {}
    for dag in found:
        if dag.dag_id in dags and dags[dag.dag_id] is not dag:
            raise DagFileError(f"DAG id {dag.dag_id!r} is defined more than once", full)
        dags[dag.dag_id] = dag
    for dag in dags.values():
        dag.fileloc = full
        _check(dag, full)
    return dags


def _check(dag: DAG, path: str) -> None:
    try:
        dag.check_cycle()
    except Exception as err:
        raise DagFileError(f"{type(err).__name__}: {err}", path) from err


def load_dag(path: str | os.PathLike[str], dag_id: str | None = None) -> DAG:
    """The one DAG of the file, or the one named ``dag_id``."""
    dags = load_dag_file(path)
    if dag_id is None:
        if len(dags) != 1:
            raise DagFileError(
                f"the file defines {len(dags)} DAGs ({', '.join(dags) or 'none'}); choose one", str(path)
            )
        return next(iter(dags.values()))
    if dag_id not in dags:
        raise DagFileError(f"no DAG {dag_id!r} in the file (found: {', '.join(dags) or 'none'})", str(path))
    return dags[dag_id]


def loaded_module(path: str) -> Any:
    return sys.modules.get(module_name(str(Path(path).resolve())))
