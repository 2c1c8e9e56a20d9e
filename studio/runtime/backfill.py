"""Backfill: the runs of run type ``backfill`` for every logical date a DAG's timetable gives between two
dates — Airflow 3.3's ``airflow backfill create`` (airflow/models/backfill.py), run in the foreground.

``backfill_infos`` is ``_validate_backfill_params`` + ``_get_info_list``: the timetable must be periodic,
``from`` not after ``to``, not both in the future; the runs are those of ``iter_dagrun_infos_between``
(the timetable under the restriction ``[from, to]`` with catchup — the DAG's own start_date, end_date and
catchup do not apply) whose data interval has ended before now. None to create is an error.

``Backfill.run`` creates and drives them through a ``LocalRun`` (``begin``/``step``) in logical-date order,
at most ``max_active_runs`` (the DAG's) at once. A logical date that already has a run is skipped as
Airflow's ``_get_dag_run_no_create_reason`` says: a run still queued/running is "in flight", a finished
one "already exists" — unless ``reprocess`` is ``"failed"`` and it failed: then, as Airflow's
``_handle_clear_run``, the run is cleared (``store.clear_dag_run``: every task instance back to no status,
try numbers kept, ``max_tries`` raised by the task's retries, XCom deleted, the run queued and made a
backfill run, its run id kept) and driven again with ``LocalRun.resume`` — its tries continue from the
stored try numbers. Run ids are ``backfill__<run_after ISO>`` (``DagRun.generate_run_id``).
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from studio.core.diagnostics import StudioError, error
from studio.runtime import timetables

if TYPE_CHECKING:
    from studio.runtime.engine import DagRunExecution, LocalRun

RUN_TYPE = "backfill"
REPROCESS = ("none", "failed")  # Airflow's ReprocessBehavior (``completed`` has no CLI flag here)
IN_FLIGHT, ALREADY_EXISTS = "in flight", "already exists"
_FINISHED = ("success", "failed")


def backfill_infos(desc: dict[str, Any], from_date: dt.datetime, to_date: dt.datetime, *, now: dt.datetime) -> list:
    """The ``DagRunInfo`` of every run the backfill creates, oldest first; StudioError (a clear message,
    Airflow's wording) when the range or the timetable allows none."""
    dag_id = desc.get("dag_id", "?")
    timetable = desc.get("timetable") or {}
    if not timetable.get("periodic", False) or timetable.get("kind") in ("null", "once", "continuous", "asset"):
        raise StudioError(error(f"{dag_id} has a non-periodic schedule that does not support backfills"))
    if from_date > to_date:
        raise StudioError(error(f"--from ({from_date.isoformat()}) must not be after --to ({to_date.isoformat()})"))
    if from_date >= now and to_date >= now:
        raise StudioError(error("Backfill cannot be executed for future dates."))
    restriction = timetables.TimeRestriction(timetables.to_datetime(from_date), timetables.to_datetime(to_date), True)
    infos, last = [], None
    while True:
        info = timetables.next_dagrun_info(desc, last, restriction, now=now)
        if info is None or info.data_interval is None:
            break
        infos.append(info)
        last = info.data_interval
    infos = [i for i in infos if i.data_interval.end < now]
    if not infos:
        raise StudioError(error(f"No runs to create for Dag {dag_id} in the range [{from_date}, {to_date}]"))
    return infos


def no_create_reason(state: str, reprocess: str) -> str | None:
    """Why an existing run with ``state`` is not backfilled (Airflow's ``_get_dag_run_no_create_reason``)."""
    if state not in _FINISHED:
        return IN_FLIGHT
    if reprocess == "none" or state != "failed":
        return ALREADY_EXISTS
    return None


@dataclass
class BackfillOutcome:
    """What a backfill did: the runs it created (in ``dagstudio run --json``'s shape) and the dates skipped."""

    dag_id: str
    runs: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return all(run["state"] == "success" for run in self.runs)

    def as_json(self) -> dict[str, Any]:
        return {"dag_id": self.dag_id, "runs": self.runs, "skipped": self.skipped}


class Backfill:
    """Creates and drives a DAG's backfill runs in ``local`` (whose store it uses)."""

    def __init__(
        self,
        local: LocalRun,
        dag_id: str,
        infos: list[Any],
        *,
        reprocess: str = "none",
        log: Callable[[str], None] | None = None,
        on_change: Callable[[Any], None] | None = None,
    ) -> None:
        if reprocess not in REPROCESS:
            raise ValueError(f"reprocess must be one of {REPROCESS}, not {reprocess!r}")
        self.local, self.dag_id, self.reprocess = local, dag_id, reprocess
        self.pending = deque(infos)
        self.limit = max(1, int(local.dags[dag_id].get("max_active_runs") or 16))
        self.log = log or (lambda message: None)
        self.on_change = on_change
        self.active: list[DagRunExecution] = []
        self.outcome = BackfillOutcome(dag_id)

    def run(self) -> BackfillOutcome:
        """Create the runs (at most ``max_active_runs`` active) and drive them to their end. Any
        exception (Ctrl-C) cancels the runs in progress and is raised again."""
        try:
            self._fill()
            while self.active:
                for run in self.local.step(None):
                    self._ended(run)
                self._fill()
        except BaseException:
            self.local.cancel_all()
            raise
        self.outcome.runs.sort(key=lambda run: run["logical_date"])
        return self.outcome

    def _fill(self) -> None:
        while self.pending and len(self.active) < self.limit:
            self._begin(self.pending.popleft())

    def _begin(self, info: Any) -> None:
        from studio.store import DagRunExistsError

        logical_date = _plain(info.logical_date)
        run_id = timetables.run_id(info.run_after, RUN_TYPE)
        existing = self.local.store.run_at(self.dag_id, logical_date)
        if existing is not None:
            reason = no_create_reason(existing.state, self.reprocess)
            if reason is not None:
                self._skip(logical_date, existing.run_id, reason)
            else:
                self._rerun(existing.run_id)
            return
        start, end = info.data_interval
        try:
            run = self.local.begin(
                self.dag_id, logical_date=logical_date, run_id=run_id, run_type=RUN_TYPE,
                data_interval=(_plain(start), _plain(end)), run_after=_plain(info.run_after), on_change=self.on_change,
            )  # fmt: skip
        except DagRunExistsError:  # created meanwhile (a scheduler on the same home)
            self._skip(logical_date, run_id, IN_FLIGHT)
            return
        self.active.append(run)
        self.log(f"{self.dag_id}: run {run_id} started")

    def _rerun(self, run_id: str) -> None:
        """Airflow's ``_handle_clear_run``: clear the failed run (its TIs run again, try numbers
        continuing), make it a backfill run, and drive it on (``LocalRun.resume``)."""
        tasks = self.local.dags[self.dag_id]["tasks"]
        retries = {t["task_id"]: int(t.get("retries") or 0) for t in tasks}
        self.local.store.clear_dag_run(self.dag_id, run_id, retries=retries, run_type=RUN_TYPE)
        run = self.local.resume(self.dag_id, run_id, on_change=self.on_change)
        self.active.append(run)
        self.log(f"{self.dag_id}: run {run_id} cleared and re-run")

    def _skip(self, logical_date: dt.datetime, run_id: str, reason: str) -> None:
        self.outcome.skipped.append({"logical_date": logical_date.isoformat(), "run_id": run_id, "reason": reason})
        self.log(f"{self.dag_id}: {logical_date.isoformat()} skipped: {reason} ({run_id})")

    def _ended(self, run: DagRunExecution) -> None:
        if run in self.active:
            self.active.remove(run)
        result = run.result()
        result["logical_date"] = run.logical_date.isoformat()
        self.outcome.runs.append(result)
        self.log(f"{self.dag_id}: run {run.run_id} {result['state']}")


def _plain(value: Any) -> dt.datetime:
    """A stdlib datetime (the store's type) from a pendulum one."""
    return dt.datetime.fromisoformat(value.isoformat())
