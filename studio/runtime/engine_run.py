"""One DAG run in progress inside a ``LocalRun``: its state machine, its store writes, its announcements.

``DagRunExecution`` is driven by the engine loop (``engine.LocalRun.step``): it never waits itself. The
loop hands it its workers' events (``started``/``finished``, keys local to the run) and the clock
(``tick``), launches what those return, and asks ``done``. Several executions share one fork server and
one store, so a scheduler runs several runs (of several DAGs of the file) at once.

Store writes (see the module doc of ``engine``): a launched try's ``scheduled``/``queued`` changes are
held and written with its start; its start (``running``) is held up to ``START_WRITE_DELAY`` so that a
short try is written with its end in the same transaction; the loop wraps each wake-up in one transaction
(``LocalRun.batch``) and announces after the commit. Nothing is announced before it is durable.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.core import states as S
from studio.runtime.dagrun import DagRunMachine
from studio.runtime.dagrun_state import Launch, StateChange
from studio.runtime.protocol import Finished, Started

if TYPE_CHECKING:
    from studio.runtime.engine import LocalRun

TIMEOUT_GRACE = 5.0  # seconds past execution_timeout before the fork server kills a worker itself
START_WRITE_DELAY = 0.05  # a try's start waits this long for its end, so a short try costs one commit
DAG_CALLBACK_TIMEOUT = 300.0
_TI_COLUMNS = frozenset({"start_date", "end_date"})
_HELD = frozenset({S.SCHEDULED, S.QUEUED})  # a launched try's changes that start_try / finish_try write
_TRY_WRITTEN = frozenset({S.RUNNING, S.SUCCESS, S.FAILED, S.SKIPPED})


class DagRunExecution:
    """One DAG run: created in the store by ``start()``, advanced by the engine loop until ``done``."""

    def __init__(
        self,
        owner: LocalRun,
        dag_id: str,
        conf: dict[str, Any],
        *,
        logical_date: dt.datetime | None,
        run_id: str | None = None,
        run_type: str = "manual",
        data_interval: tuple[dt.datetime, dt.datetime] | None = None,
        run_after: dt.datetime | None = None,
        on_change: Any = None,
    ) -> None:
        from studio.store import TIKey

        self.owner, self.store, self.clock = owner, owner.store, owner.clock
        self.number = ""  # given by the engine: the prefix of this run's worker keys
        self.TIKey = TIKey
        self.description = owner.dags[dag_id]
        self.dag_id = dag_id
        self.conf = conf
        now = self.clock()
        self.logical_date = logical_date or now
        self.run_type = run_type
        self.run_id = run_id or f"{run_type}__{self.logical_date.isoformat()}"
        self.data_interval = data_interval or (self.logical_date, self.logical_date)
        self.run_after = run_after or self.logical_date
        self.on_change = on_change
        owner.budget.claim(dag_id, self.run_id)  # its TIs hold slots through the machine, not as "external"
        previous, prior = self.past_states()
        self.machine = DagRunMachine(
            self.description, clock=self.clock, run_conf=conf, logical_date=self.logical_date,
            previous=previous, prior_tis=prior, budget=owner.budget,
        )  # fmt: skip
        self.tasks = {t["task_id"]: t for t in self.description["tasks"]}
        self.run_info = {
            "run_id": self.run_id,
            "logical_date": self.logical_date.isoformat(),
            "data_interval_start": self.data_interval[0].isoformat(),
            "data_interval_end": self.data_interval[1].isoformat(),
            "start_date": now.isoformat(),
            "conf": conf,
            "run_type": run_type,
        }
        self.tries: dict[str, int] = {}
        self.active: set[str] = set()  # launched keys not yet finished
        self.queued_at: dict[str, dt.datetime] = {}  # launched, not yet started: queued time (unwritten)
        self.held: dict[str, list[StateChange]] = {}  # their changes, announced once written
        self.starts: dict[str, tuple[Started, dt.datetime]] = {}  # started, start not yet written
        self.ended = False  # the run's final state is written
        self.callback: str | None = None  # the DAG-level callback's key while it runs

    def past_states(self) -> tuple[dict[str, list[str | None]] | None, set[str]]:
        """What ``depends_on_past``/``wait_for_downstream`` read (Airflow's ``PrevDagrunDep``): the TI
        states per task of the DAG's previous run by logical date (with ``catchup``, the previous
        non-manual run), and the tasks with ``ignore_first_depends_on_past`` that ran before."""
        past = [t for t in self.description["tasks"] if t.get("depends_on_past") or t.get("wait_for_downstream")]
        if not past:
            return None, set()
        found = self.store.previous_run(
            self.dag_id, self.logical_date, exclude_manual=bool(self.description.get("catchup"))
        )
        if found is None:
            return None, set()
        previous: dict[str, list[str | None]] = {}
        for (task_id, _), state in sorted(found.ti_states.items()):
            previous.setdefault(task_id, []).append(state)
        prior = {
            t["task_id"] for t in past
            if t.get("ignore_first_depends_on_past") and t["task_id"] not in previous
            and self.store.has_prior_ti(self.dag_id, t["task_id"], self.logical_date)
        }  # fmt: skip
        return previous, prior

    def key(self, task_id: str, map_index: int) -> Any:
        return self.TIKey(self.dag_id, self.run_id, task_id, map_index)

    # -- life cycle ------------------------------------------------------------------------------------
    def start(self) -> None:
        """Create the run and its task instances in the store, then launch the first tries."""
        rows = [
            {"task_id": ti.task_id, "map_index": ti.map_index, "state": ti.state, "try_number": ti.try_number,
             "max_tries": ti.max_tries, "operator": self.tasks[ti.task_id]["operator"],
             "priority_weight": self.tasks[ti.task_id]["priority_weight"], "pool": self.tasks[ti.task_id]["pool"],
             "pool_slots": self.tasks[ti.task_id].get("pool_slots") or 1}
            for ti in self.machine.tis()
        ]  # fmt: skip
        self.store.create_dag_run(
            self.dag_id, self.run_id, logical_date=self.logical_date, state=S.RUN_RUNNING, conf=self.conf,
            run_type=self.run_type, data_interval_start=self.data_interval[0],
            data_interval_end=self.data_interval[1], start_date=self.clock(), fileloc=str(self.owner.path),
            task_instances=rows, run_after=self.run_after, creating_job_id=self.owner.job_id,
        )  # fmt: skip
        self.launch(self.machine.start())

    def resume(self, record: Any, orphan_error: str) -> None:
        """Continue the stored run ``record`` (crash recovery, ``dagrun_resume``): the tries its dead
        process left queued/running end failed (task_try state failed, end date, ``orphan_error``) in ONE
        transaction with what that decides, then the next tries are launched (try numbers continue)."""
        stored = self.store.task_instances(self.dag_id, self.run_id)
        lengths, pushes = self.stored_map_outputs(stored)
        start = record.start_date or self.clock()
        self.run_info["start_date"] = start.isoformat()
        launches = self.machine.resume(
            stored, start_date=start, orphan_error=orphan_error, map_lengths=lengths, pushes=pushes
        )  # fmt: skip
        orphans = {ti.key for ti in stored if ti.state in (S.QUEUED, S.RUNNING)}
        with self.owner.batch():
            for key in orphans:
                if key.task_id not in self.tasks:
                    continue
                ti = self.machine.ti(key.label)
                self.store.finish_try(key, ti.try_number, state=ti.state or S.FAILED, end_date=ti.end_date or start,
                                      try_state=S.FAILED, error=orphan_error)  # fmt: skip
            self.drain(skip_keys={key.label for key in orphans})
            self.store.set_dag_run_state(
                self.dag_id, self.run_id, S.RUN_RUNNING, start_date=start, creating_job_id=self.owner.job_id
            )  # fmt: skip
        self.launch(launches)

    def stored_map_outputs(self, stored: list[Any]) -> tuple[dict[str, int], dict[str, int]]:
        """What mapped tasks expand from, read back from the XCom of the TIs that succeeded: the length
        of an unmapped map source's return value, and per mapped task its TIs that pushed one."""
        from studio.runtime.dagrun_deps import all_map_sources, needs_expansion

        mapped = [t for t in self.description["tasks"] if needs_expansion(t)]
        sources = {up for t in mapped for up in t.get("upstream") or ()}
        sources |= {s for t in mapped for s in all_map_sources(t) if isinstance(s, str)}
        lengths: dict[str, int] = {}
        pushes: dict[str, int] = {}
        for ti in stored:
            if ti.state != S.SUCCESS or ti.task_id not in sources:
                continue
            value = self.store.xcoms(ti.key).get("return_value")
            if ti.map_index >= 0:
                pushes[ti.task_id] = pushes.get(ti.task_id, 0) + (value is not None)
            elif isinstance(value, (list, dict)):
                lengths[ti.task_id] = len(value)
        return lengths, pushes

    @property
    def done(self) -> bool:
        """The run is over: its state is written and its DAG-level callback (if any) has run."""
        return self.ended and self.callback is None

    def next_wakeup(self) -> dt.datetime | None:
        """When ``tick`` has work: the machine's next retry/reschedule/timeout, or a start to write."""
        times = [t for t in (self.machine.next_wakeup(), self.start_write_due()) if t is not None]
        return min(times) if times else None

    def tick(self, now: dt.datetime) -> list[Launch]:
        """Timers: write the starts that waited long enough; return the tries now due (held, not launched)."""
        due = [k for k, (_, at) in self.starts.items() if (now - at).total_seconds() >= START_WRITE_DELAY]
        self.write_starts(due)
        launches = self.machine.due(now)
        if len(self.owner.runs) > 1:  # another run may have freed pool/parallelism slots this one waits for
            launches += [order for order in self.machine.launch_ready() if order not in launches]
        self.hold(launches)
        self.persist()
        return launches

    def after_step(self) -> None:
        """Stop what the machine wants stopped; end the run once nothing of it is left running."""
        for key in self.machine.stops():
            self.owner.cancel(self, key)
        self.persist()
        if not self.ended and self.machine.state != S.RUN_RUNNING and not self.active:
            self.finish_run()

    def result(self) -> dict[str, Any]:
        """The run in ``dagstudio run --json``'s shape (read back from the store)."""
        result = self.store.run(self.dag_id, self.run_id)
        assert result is not None
        result.pop("logical_date", None)
        waiting = {ti.task_id for ti in self.machine.tis() if ti.state is None} & set(self.machine.past_blocked)
        if waiting:  # left with no status (see engine's module doc, "depends_on_past")
            result["waiting_on_past"] = {t: self.machine.past_blocked[t] for t in sorted(waiting)}
        if self.machine.waiting_on_pool():  # left scheduled: no such pool, or pool_slots > its size
            result["waiting_on_pool"] = self.machine.waiting_on_pool()
        return result

    # -- launches and events -----------------------------------------------------------------------------
    def hold(self, launches: list[Launch]) -> None:
        """Mark tries about to be launched: their scheduled/queued changes wait for ``start_try``."""
        now = self.clock()
        for order in launches:
            if order.key not in self.queued_at:
                self.queued_at[order.key] = now
                self.held.setdefault(order.key, [])

    def launch(self, launches: list[Launch]) -> None:
        self.hold(launches)
        self.persist()
        for order in launches:
            task = self.tasks[order.task_id]
            self.tries[order.key] = order.try_number
            run = self.run_info
            first_poke = self.machine.first_reschedule_date(order.key)
            if first_poke is not None:  # a sensor's timeout counts from its first poke (docs/ENGINE.md)
                run = {**run, "first_reschedule_date": first_poke.isoformat()}
            max_tries = self.machine.ti(order.key).max_tries
            if max_tries != int(task.get("retries") or 0):  # e.g. after a clear: ti.max_tries as stored
                run = {**run, "max_tries": max_tries}
            request = {
                "op": "task", "dag_id": self.dag_id, "task_id": order.task_id, "map_index": order.map_index,
                "try_number": order.try_number, "run": run, "db_path": str(self.store.db_path),
            }  # fmt: skip
            timeout = task.get("execution_timeout")
            log = self.log_path(order.task_id, order.map_index, order.try_number)
            self.active.add(order.key)
            self.owner.launch(self, order.key, request, log, timeout + TIMEOUT_GRACE if timeout else None)

    def log_path(self, task_id: str, map_index: int, try_number: int) -> Path:
        from studio.store import log_path

        return log_path(self.owner.home, self.dag_id, self.run_id, task_id, map_index, try_number)

    def started(self, event: Started) -> None:
        """The worker runs: the machine knows at once; the store (and so every observer) learns it with the
        try's end if that comes within ``START_WRITE_DELAY``, else then (``write_starts``)."""
        if event.key == self.callback:
            return
        self.machine.on_started(event.key, self.clock())
        self.starts[event.key] = (event, self.clock())

    def start_write_due(self) -> dt.datetime | None:
        if not self.starts:
            return None
        return min(at for _, at in self.starts.values()) + dt.timedelta(seconds=START_WRITE_DELAY)

    def write_starts(self, task_keys: list[str]) -> None:
        """Write (one transaction) and then announce the running state of started tries."""
        if not task_keys:
            return
        with self.store.batch():
            for task_key in task_keys:
                self.write_start(task_key)
        for task_key in task_keys:
            self.release(task_key)

    def write_start(self, task_key: str) -> None:
        event, at = self.starts.pop(task_key)
        ti = self.machine.ti(task_key)
        key = self.key(ti.task_id, ti.map_index)
        self.store.start_try(
            key, self.tries[task_key], start_date=ti.start_date or at, pid=event.pid, hostname=self.owner.hostname,
            log_path=self.log_path(ti.task_id, ti.map_index, self.tries[task_key]),
            queued_dttm=self.queued_at.pop(task_key, None),
        )  # fmt: skip

    def finished(self, event: Finished) -> list[Launch]:
        """Record the try's end; returns the tries it made ready (the caller launches them)."""
        if event.key == self.callback:
            self.callback = None
            return []
        self.active.discard(event.key)
        result = event.result
        launches = self.machine.on_finished(event.key, result, event.exit_code, event.timed_out)
        ti = self.machine.ti(event.key)
        key = self.key(ti.task_id, ti.map_index)
        xcom = [(x["key"], x["value"]) for x in (result or {}).get("xcom") or []]
        with self.store.batch():  # the try's start (if not written yet) and its end: one transaction
            if event.key in self.starts:
                self.write_start(event.key)
            queued = self.queued_at.pop(event.key, None)  # finished without a start: the fork failed
            if queued is not None:
                self.store.record_try(key, self.tries[event.key], state=S.QUEUED, queued_dttm=queued)
            self.store.finish_try(
                key, self.tries[event.key], state=ti.state or S.FAILED, end_date=ti.end_date or self.clock(),
                try_state=(result or {}).get("state") or S.FAILED, exit_code=event.exit_code,
                error=ti.error, xcom=xcom, rendered_fields=(result or {}).get("rendered_fields"),
                ti_fields={"queued_dttm": queued, "try_number": self.tries[event.key]} if queued else None,
            )  # fmt: skip
        self.release(event.key)
        self.hold(launches)
        self.drain(skip_keys={event.key})
        return launches

    # -- writing state changes ---------------------------------------------------------------------------
    def persist(self) -> None:
        self.drain(skip_keys=set())

    def drain(self, skip_keys: set[str]) -> None:
        """Write the machine's state changes (those not already written by the try records — ``running`` is
        always written by ``start_try``), then announce.

        A launched try's ``scheduled``/``queued`` changes are held for ``start_try`` (see the module doc);
        any other change of that TI first writes what was held, so the store never skips a state."""
        for change in self.machine.changes():
            key = self.key(change.task_id, change.map_index)
            if change.key in self.starts:  # started, start not written yet: hold `running`, else write it
                if change.new == S.RUNNING:
                    self.held.setdefault(change.key, []).append(change)
                    continue
                self.write_starts([change.key])
            held = self.held.get(change.key)
            if held is not None:
                if change.new in _HELD and change.key in self.queued_at:
                    held.append(change)
                    continue
                self.flush_held(change.key)
            expanded = change.fields.get("expanded_to") if change.fields else None
            if expanded is not None:
                if int(expanded) > 0:
                    self.store.expand_mapped_task(self.dag_id, self.run_id, change.task_id, int(expanded))
            elif change.new != S.RUNNING and (change.key not in skip_keys or change.new not in _TRY_WRITTEN):
                fields = {k: v for k, v in (change.fields or {}).items() if k in _TI_COLUMNS}
                self.store.update_ti(key, state=change.new, try_number=change.try_number, **fields)
            self.announce(change)

    def announce(self, change: StateChange) -> None:
        self.owner.announce(self.on_change, change)

    def release(self, task_key: str) -> None:
        """Announce the held changes of a try that the store now records (start_try or finish_try)."""
        for change in self.held.pop(task_key, []):
            self.announce(change)

    def flush_held(self, task_key: str) -> None:
        """Write and announce the held changes of a try that ends without a start (e.g. cancelled)."""
        queued = self.queued_at.pop(task_key, None)
        changes = self.held.pop(task_key, [])
        if changes:
            last = changes[-1]
            key = self.key(last.task_id, last.map_index)
            if last.new == S.QUEUED and queued is not None:
                self.store.update_ti(key, state=last.new, try_number=last.try_number, queued_dttm=queued)
                self.store.record_try(key, last.try_number, state=S.QUEUED, queued_dttm=queued)
            else:
                self.store.update_ti(key, state=last.new, try_number=last.try_number)
        for change in changes:
            self.announce(change)

    # -- the end -----------------------------------------------------------------------------------------
    def cancel_remaining(self) -> None:
        """Mark the run failed: running TIs failed, the rest skipped (its workers are being cancelled)."""
        self.write_starts(list(self.starts))
        self.machine.cancel()
        self.persist()
        self.store.set_dag_run_state(self.dag_id, self.run_id, S.RUN_FAILED, end_date=self.clock())
        self.ended = True

    def finish_run(self) -> None:
        """Write the run's final state, then launch its DAG-level callback (if it has one)."""
        self.write_starts(list(self.starts))
        self.persist()
        state = self.machine.state
        self.store.set_dag_run_state(self.dag_id, self.run_id, state, end_date=self.clock())
        self.ended = True
        kind = "success" if state == S.RUN_SUCCESS else "failure"
        if self.description.get("has_callbacks", {}).get(f"on_{kind}"):
            reason = "success" if kind == "success" else ("timed_out" if self.machine.timed_out else "task_failure")
            request = {"op": "dag_callback", "dag_id": self.dag_id, "kind": kind, "run": self.run_info,
                       "reason": reason}  # fmt: skip
            self.callback = f"__dag_{kind}__"
            log = self.log_path("__dag_callbacks__", -1, 1)
            self.owner.launch(self, self.callback, request, log, DAG_CALLBACK_TIMEOUT)
