"""Airflow's task context for a run: ``ds``/``ts``/``logical_date``/data interval, ``params`` (defaults +
conf, validated), ``ti`` with ``xcom_push``/``xcom_pull``, ``macros``, ``var``/``conn`` (``{{ var.value.x }}``, ``{{ var.json.x }}``,
``{{ conn.x.host }}``: the environment first, then the home's store; see ``studio.sdk.connections``), and
``get_current_context()``."""

from __future__ import annotations

import copy
import datetime as dt
import decimal
import json
import os
import random
import sys
import time
import types
import uuid
from collections.abc import Iterable
from typing import Any

from studio.sdk.connections import Connection, Variable
from studio.sdk.params import NOTSET, ParamsDict

try:  # Airflow's macros offer dateutil when it is installed
    import dateutil
    import dateutil.relativedelta
except ImportError:  # pragma: no cover - depends on the environment
    dateutil = None  # type: ignore[assignment]
from studio.sdk.xcom_arg import MISSING, XCOM_RETURN_KEY

_CURRENT: list[dict[str, Any]] = []
__all__ = ["Connection", "Context", "Variable", "build_context", "get_current_context"]


Context = dict[str, Any]
"""The type of a task's context (``from airflow.sdk import Context`` in type hints)."""


class ParsingContext:
    """``get_parsing_context()``: which DAG/task the file is parsed for; the local engine parses whole files."""

    dag_id: str | None = None
    task_id: str | None = None


def get_parsing_context() -> ParsingContext:
    return ParsingContext()


def get_current_context() -> dict[str, Any]:
    """The context of the task running in this process (only valid inside ``execute``)."""
    if not _CURRENT:
        raise RuntimeError("Current context was requested but no context was found! Are you running within a task?")
    return _CURRENT[-1]


def parse_datetime(value: Any) -> Any:
    """An ISO string or datetime as a timezone-aware pendulum DateTime (UTC if naive); None stays None."""
    import pendulum

    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return pendulum.parse(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return pendulum.instance(value)


def ds_add(ds: str, days: int) -> str:
    """``ds`` plus ``days`` days, as YYYY-MM-DD."""
    if not days:
        return str(ds)
    return (dt.datetime.strptime(str(ds), "%Y-%m-%d") + dt.timedelta(days=days)).strftime("%Y-%m-%d")


def ds_format(ds: str, input_format: str, output_format: str) -> str:
    """``ds`` re-formatted from ``input_format`` to ``output_format``."""
    return dt.datetime.strptime(str(ds), input_format).strftime(output_format)


def _macros() -> types.SimpleNamespace:
    namespace = types.SimpleNamespace(
        ds_add=ds_add, ds_format=ds_format, datetime=dt.datetime, timedelta=dt.timedelta,
        time=time, uuid=uuid, random=random.random, json=json,
    )  # fmt: skip
    if dateutil is not None:
        namespace.dateutil = dateutil
    return namespace


class _VariableAccessor:
    def __init__(self, deserialize_json: bool) -> None:
        self._json = deserialize_json

    def __getattr__(self, key: str) -> Any:
        return Variable.get(key, deserialize_json=self._json)

    def get(self, key: str, default: Any = NOTSET) -> Any:
        return Variable.get(key, default, deserialize_json=self._json)


class _ConnectionAccessor:
    def __getattr__(self, conn_id: str) -> Connection:
        return Connection.get(conn_id)

    def get(self, conn_id: str, default: Any = None) -> Any:
        try:
            return Connection.get(conn_id)
        except KeyError:
            return default


class DagRunInfo:
    """The parts of a DagRun a task sees (``context["dag_run"]``)."""

    def __init__(self, dag_id: str, run_info: dict[str, Any]) -> None:
        self.dag_id = dag_id
        self.run_id: str = run_info["run_id"]
        self.logical_date = parse_datetime(run_info.get("logical_date"))
        self.data_interval_start = parse_datetime(run_info.get("data_interval_start"))
        self.data_interval_end = parse_datetime(run_info.get("data_interval_end"))
        self.start_date = parse_datetime(run_info.get("start_date"))
        self.conf: dict[str, Any] = dict(run_info.get("conf") or {})
        self.run_type: str = run_info.get("run_type") or "manual"

    def __repr__(self) -> str:
        return f"<DagRun {self.dag_id} @ {self.logical_date}: {self.run_id}>"


def _reader_missing(reader: Any) -> Any:
    """The "no such XCom" sentinel of ``reader``: its ``MISSING`` attribute or its module's."""
    if hasattr(reader, "MISSING"):
        return reader.MISSING
    module = sys.modules.get(type(reader).__module__)
    return getattr(module, "MISSING", MISSING)


def to_xcom_json(value: Any, where: str = "XCom") -> Any:
    """``value`` as JSON data; raises TypeError (like Airflow's serializer) for objects it cannot store."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_xcom_json(v, where) for v in value]
    if isinstance(value, dict):
        for k in value:
            if not isinstance(k, (str, int, float, bool)) and k is not None:
                raise TypeError(f"{where}: cannot serialize a dict key of type {type(k).__name__}")
        return {str(k) if not isinstance(k, str) else k: to_xcom_json(v, where) for k, v in value.items()}
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (decimal.Decimal, os.PathLike)):
        return float(value) if isinstance(value, decimal.Decimal) else os.fspath(value)
    raise TypeError(f"{where}: cannot serialize object of type {type(value).__qualname__}")


class RuntimeTaskInstance:
    """``ti``: identity of the running try, XCom push/pull, and what the try decided to skip or follow."""

    def __init__(
        self,
        task: Any,
        dag_run: DagRunInfo,
        map_index: int,
        try_number: int,
        xcom_reader: Any,
        run_info: dict[str, Any],
    ) -> None:
        self.task = task
        self.dag_id: str = task.dag.dag_id
        self.task_id: str = task.task_id
        self.run_id = dag_run.run_id
        self.dag_run = dag_run
        self.map_index = map_index
        self.try_number = try_number
        # Airflow's ti.max_tries: the task's retries, raised when the TI is cleared (the engine sends it then)
        self.max_tries = int(run_info.get("max_tries", getattr(task, "retries", 0) or 0))
        self.logical_date = dag_run.logical_date
        self.start_date = parse_datetime(run_info.get("ti_start_date"))
        self.first_reschedule_date = parse_datetime(run_info.get("first_reschedule_date"))
        self.hostname = os.uname().nodename if hasattr(os, "uname") else ""
        self._reader = xcom_reader
        self._missing = _reader_missing(xcom_reader)
        self.pushed: dict[str, Any] = {}
        self.rendered_fields: dict[str, Any] = {}
        self.follow_branches: list[str] | None = None
        self.skip_downstream: list[str] | None = None

    def __repr__(self) -> str:
        return f"<TaskInstance: {self.dag_id}.{self.task_id} {self.run_id} map_index={self.map_index} [running]>"

    def get_dagrun(self) -> DagRunInfo:
        return self.dag_run

    def xcom_push(self, key: str, value: Any) -> None:
        """Record an XCom of this try (sent to the engine with the result) as JSON, the way Airflow's
        serializer stores it: tuples and sets as lists, dates as ISO text; other objects are refused."""
        self.pushed[key] = to_xcom_json(value, f"XCom {key!r} of {self.task_id}")

    def is_missing(self, value: Any) -> bool:
        return value is MISSING or value is self._missing

    def _get_one(self, dag_id: str, run_id: str, task_id: str, map_index: int, key: str) -> Any:
        if (dag_id, run_id, task_id, map_index) == (
            self.dag_id,
            self.run_id,
            self.task_id,
            self.map_index,
        ) and key in self.pushed:
            return self.pushed[key]
        if self._reader is None:
            return self._missing
        return self._reader.get(dag_id, run_id, task_id, map_index, key)

    def _get_all(self, dag_id: str, run_id: str, task_id: str, key: str) -> list[Any]:
        """Values of every map index of ``task_id``, ordered by map index (one for an unmapped task)."""
        if hasattr(self._reader, "get_many"):
            return [row[2] for row in self._reader.get_many(dag_id, run_id, [task_id], key)]
        value = self._get_one(dag_id, run_id, task_id, -1, key)
        if not self.is_missing(value):
            return [value]
        values, index = [], 0
        while not self.is_missing(value := self._get_one(dag_id, run_id, task_id, index, key)):
            values.append(value)
            index += 1
        return values

    def xcom_pull(
        self,
        task_ids: str | Iterable[str] | None = None,
        dag_id: str | None = None,
        key: str = XCOM_RETURN_KEY,
        include_prior_dates: bool = False,
        *,
        map_indexes: Any = NOTSET,
        default: Any = None,
        run_id: str | None = None,
    ) -> Any:
        """Airflow 3's rules: without ``map_indexes`` every map index is read; a single task with a single
        value gives the value, otherwise a list (ordered by task id then map index)."""
        dag_id, run_id = dag_id or self.dag_id, run_id or self.run_id
        single_task = isinstance(task_ids, (str, type(None)))
        single_index = isinstance(map_indexes, (int, type(None)))
        ids = [self.task_id] if task_ids is None else [task_ids] if isinstance(task_ids, str) else list(task_ids)
        if map_indexes is NOTSET:
            values: list[Any] = []
            for task_id in ids:
                found = self._get_all(dag_id, run_id, task_id, key)
                values.extend(found if found else [None])
            if single_task and len(values) == 1:
                return values[0]
            return values
        indexes = [map_indexes] if single_index else list(map_indexes)
        values = []
        for task_id in ids:
            for index in indexes:
                value = self._get_one(dag_id, run_id, task_id, -1 if index is None else index, key)
                values.append(default if self.is_missing(value) or value is None else value)
        return values[0] if single_task and single_index else values


def build_context(task: Any, ti: RuntimeTaskInstance, dag_run: DagRunInfo) -> dict[str, Any]:
    """The template/execute context of ``ti`` (Airflow 3's keys; date keys only with a logical date)."""
    dag = task.dag
    params = ParamsDict(suppress_exception=False)
    params.update(copy.deepcopy(dag.params))  # resolving conf values must not change the DAG's Params
    if task.params:
        params.update(copy.deepcopy(task.params))
    if dag_run.conf:
        params.update(dag_run.conf)
    context: dict[str, Any] = {
        "dag": dag, "task": task, "ti": ti, "task_instance": ti, "run_id": dag_run.run_id, "dag_run": dag_run,
        "params": params.validate(), "macros": _macros(), "inlets": list(getattr(task, "inlets", None) or []),
        "outlets": list(getattr(task, "outlets", None) or []), "map_index_template": getattr(task, "map_index_template", None),
        "var": {"json": _VariableAccessor(True), "value": _VariableAccessor(False)}, "conn": _ConnectionAccessor(),
        "task_instance_key_str": f"{dag.dag_id}__{task.task_id}__{dag_run.run_id}",
        "task_reschedule_count": 0, "test_mode": False, "expanded_ti_count": None, "triggering_asset_events": {},
    }  # fmt: skip
    logical_date = dag_run.logical_date
    if logical_date is not None:
        ds = logical_date.strftime("%Y-%m-%d")
        ts = logical_date.isoformat()
        context.update(
            logical_date=logical_date, ds=ds, ds_nodash=ds.replace("-", ""), ts=ts,
            ts_nodash=logical_date.strftime("%Y%m%dT%H%M%S"), ts_nodash_with_tz=ts.replace("-", "").replace(":", ""),
            task_instance_key_str=f"{dag.dag_id}__{task.task_id}__{ds.replace('-', '')}",
            data_interval_start=dag_run.data_interval_start, data_interval_end=dag_run.data_interval_end,
        )  # fmt: skip
    return context
