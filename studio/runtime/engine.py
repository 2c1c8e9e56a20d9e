"""The local engine: one DAG run of one DAG file, driven by events from the fork server.

``LocalRun(path, home)`` forks the fork server first (``prepare``: it imports the DAG file and sends
the DAG descriptions) and only then opens the store, so the fork server — and every worker forked from
it — never carries SQLAlchemy. ``execute`` then runs the state machine (``dagrun.DagRunMachine``):
launches go to the fork server, its Started/Finished events go back to the machine, and every state
change is written to the store (one transaction each) before it is announced to ``on_change``.
No polling: the loop blocks on the fork server's socket until an event arrives or the next retry /
reschedule / timeout is due.

Hot path (a 200-task chain, see bench/run_chain_200.py): the fork server's ``worker.prepare`` also
imports and warms what a try needs, so no forked worker pays for it again; the server keeps a spare
worker forked ahead of need and reports a try as soon as its result and log are complete
(``forkserver_loop``). The engine imports SQLAlchemy while the fork server prepares. A launched try is
not written on its own: its ``scheduled``/``queued`` changes are held (neither written nor announced),
and so is ``running`` for up to ``START_WRITE_DELAY``: a try that ends within it is recorded — queued,
running and its end — in ONE transaction (``store.batch()``), a longer one gets its start written (and
announced) when the delay is up and its end later. Changes already covered by the try records are never
written twice, and nothing is announced before it is durable. A try's end is committed before the next
launch: the next worker may read its XCom from the store.

depends_on_past / wait_for_downstream: before the run is created the engine reads the DAG's previous
run (by logical date) from the store and hands its TI states to the machine, which keeps a task that
Airflow's ``PrevDagrunDep`` would not pass with no status. Airflow never ends such a run by itself:
``DagRun.update_state`` skips its deadlock check while an unfinished TI has ``depends_on_past``, so the
scheduler (and ``dag.test()``, which logs "No tasks to run" and loops) keeps the run running until the
previous run changes. A local run has no scheduler to come back, so it ends when nothing else can
run: the run is recorded failed, the blocked TIs keep no status (so a later run that depends on them
waits too, as in Airflow), and the result's ``waiting_on_past`` says which tasks waited and why.
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from studio.core import states as S
from studio.core.diagnostics import StudioError, error
from studio.runtime.dagrun import DagRunMachine
from studio.runtime.dagrun_state import Launch, StateChange
from studio.runtime.forkserver import Finished, ForkServer, Started
from studio.runtime.params import resolve_params

TIMEOUT_GRACE = 5.0  # seconds past execution_timeout before the fork server kills a worker itself
START_WRITE_DELAY = 0.05  # a try's start waits this long for its end, so a short try costs one commit
_TI_COLUMNS = frozenset({"start_date", "end_date"})
_HELD = frozenset({S.SCHEDULED, S.QUEUED})  # a launched try's changes that start_try / finish_try write
_TRY_WRITTEN = frozenset({S.RUNNING, S.SUCCESS, S.FAILED, S.SKIPPED})


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class LocalRun:
    """Runs DAGs of one DAG file locally. Use as a context manager; ``close()`` stops every process."""

    def __init__(self, path: Path, home: Path, *, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.path = Path(path)
        self.home = Path(home)
        self.clock = clock
        self.server = ForkServer(
            "studio.runtime.worker:prepare", "studio.runtime.worker:run", warm="studio.runtime.worker:warm_spare"
        )
        self.server.begin({"path": str(self.path)})
        try:
            from studio.store import Store  # after the fork (workers never import SQLAlchemy), during prepare
        except BaseException:
            self.server.close()
            raise
        prepared = self.server.wait_ready()
        if "error" in prepared:
            problem = prepared["error"]
            self.server.close()
            raise StudioError(error(problem["message"], problem.get("file") or str(path), problem.get("line")))
        self.dags: dict[str, dict[str, Any]] = prepared["dags"]
        try:
            self.store = Store.open(self.home)
        except BaseException:
            self.server.close()
            raise
        self.hostname = socket.gethostname()

    def __enter__(self) -> LocalRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.server.close()
        self.store.close()

    # ------------------------------------------------------------------------------------------------
    def execute(
        self,
        dag_id: str,
        *,
        conf: dict[str, Any] | None = None,
        logical_date: dt.datetime | None = None,
        on_change: Callable[[StateChange], None] | None = None,
    ) -> dict[str, Any]:
        """Run ``dag_id`` to the end; returns the run in ``dagstudio run --json``'s shape.

        ``conf`` is first merged over the DAG's params and validated (``params.resolve_params``): an
        invalid value raises ``ParamError`` (a ``StudioError``) before anything is written."""
        resolve_params(self.dags[dag_id].get("params") or {}, conf or {})
        return _Run(self, dag_id, conf or {}, logical_date, on_change).execute()


class _Run:
    """One DAG run in progress (the event loop and its store writes)."""

    def __init__(
        self,
        owner: LocalRun,
        dag_id: str,
        conf: dict[str, Any],
        logical_date: dt.datetime | None,
        on_change: Callable[[StateChange], None] | None,
    ) -> None:
        from studio.store import TIKey

        self.owner, self.store, self.server, self.clock = owner, owner.store, owner.server, owner.clock
        self.TIKey = TIKey
        self.description = owner.dags[dag_id]
        self.dag_id = dag_id
        self.conf = conf
        now = self.clock()
        self.logical_date = logical_date or now
        self.run_id = f"manual__{self.logical_date.isoformat()}"
        self.on_change = on_change
        previous, prior = self.past_states()
        self.machine = DagRunMachine(
            self.description, clock=self.clock, run_conf=conf, logical_date=self.logical_date,
            previous=previous, prior_tis=prior,
        )  # fmt: skip
        self.tasks = {t["task_id"]: t for t in self.description["tasks"]}
        self.run_info = {
            "run_id": self.run_id,
            "logical_date": self.logical_date.isoformat(),
            "data_interval_start": self.logical_date.isoformat(),
            "data_interval_end": self.logical_date.isoformat(),
            "start_date": now.isoformat(),
            "conf": conf,
            "run_type": "manual",
        }
        self.tries: dict[str, int] = {}
        self.queued_at: dict[str, dt.datetime] = {}  # launched, not yet started: queued time (unwritten)
        self.held: dict[str, list[StateChange]] = {}  # their changes, announced once written
        self.starts: dict[str, tuple[Started, dt.datetime]] = {}  # started, start not yet written
        self.deferred: list[StateChange] | None = None  # inside `batch()`: announced after the commit

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

    # ------------------------------------------------------------------------------------------------
    def execute(self) -> dict[str, Any]:
        now = self.clock()
        rows = [
            {"task_id": ti.task_id, "map_index": ti.map_index, "state": ti.state, "try_number": ti.try_number,
             "max_tries": ti.max_tries, "operator": self.tasks[ti.task_id]["operator"],
             "priority_weight": self.tasks[ti.task_id]["priority_weight"], "pool": self.tasks[ti.task_id]["pool"]}
            for ti in self.machine.tis()
        ]  # fmt: skip
        self.store.create_dag_run(
            self.dag_id, self.run_id, logical_date=self.logical_date, state=S.RUN_RUNNING, conf=self.conf,
            data_interval_start=self.logical_date, data_interval_end=self.logical_date, start_date=now,
            fileloc=str(self.owner.path), task_instances=rows,
        )  # fmt: skip
        try:
            self.launch(self.machine.start())
            while self.machine.state == S.RUN_RUNNING or self.server.running:
                self.step()
        except BaseException:
            for key in list(self.server.running):
                self.server.cancel(key)
            self.cancel_remaining()
            raise
        self.finish_run()
        result = self.store.run(self.dag_id, self.run_id)
        assert result is not None
        result.pop("logical_date", None)
        waiting = {ti.task_id for ti in self.machine.tis() if ti.state is None} & set(self.machine.past_blocked)
        if waiting:  # left with no status (see the module doc, "depends_on_past")
            result["waiting_on_past"] = {t: self.machine.past_blocked[t] for t in sorted(waiting)}
        return result

    def step(self) -> None:
        """Wait for events (or the next timer), handle them in ONE transaction, then launch what they
        made ready — after the commit, since the new workers may read the XCom just written."""
        wakeups = [w for w in (self.machine.next_wakeup(), self.start_write_due()) if w is not None]
        timeout = max(0.0, (min(wakeups) - self.clock()).total_seconds()) if wakeups else None
        events = self.server.events(timeout)
        launches: list[Launch] = []
        with self.batch():
            for event in events:
                if isinstance(event, Started):
                    self.started(event)
                elif isinstance(event, Finished):
                    launches += self.finished(event)
            now = self.clock()
            due = [k for k, (_, at) in self.starts.items() if (now - at).total_seconds() >= START_WRITE_DELAY]
            self.write_starts(due)
            launches += self.machine.due(now)
            self.hold(launches)
            self.persist()
        self.launch(launches)
        for key in self.machine.stops():
            self.server.cancel(key)
        self.persist()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """The store writes inside are one transaction; the changes they record are announced once it
        has committed (and not at all if it fails)."""
        self.deferred = []
        try:
            with self.store.batch():
                yield
            deferred, self.deferred = self.deferred, None
            for change in deferred:
                self.announce(change)
        finally:
            self.deferred = None

    def announce(self, change: StateChange) -> None:
        if self.deferred is not None:
            self.deferred.append(change)
        elif self.on_change is not None:
            self.on_change(change)

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
            request = {
                "op": "task", "dag_id": self.dag_id, "task_id": order.task_id, "map_index": order.map_index,
                "try_number": order.try_number, "run": self.run_info, "db_path": str(self.store.db_path),
            }  # fmt: skip
            timeout = task.get("execution_timeout")
            log = self.log_path(order.task_id, order.map_index, order.try_number)
            self.server.launch(order.key, request, log, timeout=timeout + TIMEOUT_GRACE if timeout else None)

    def log_path(self, task_id: str, map_index: int, try_number: int) -> Path:
        from studio.store import log_path

        return log_path(self.owner.home, self.dag_id, self.run_id, task_id, map_index, try_number)

    def started(self, event: Started) -> None:
        """The worker runs: the machine knows at once; the store (and so every observer) learns it with the
        try's end if that comes within ``START_WRITE_DELAY``, else then (``write_starts``)."""
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

    def cancel_remaining(self) -> None:
        self.write_starts(list(self.starts))
        self.machine.cancel()
        self.persist()
        self.store.set_dag_run_state(self.dag_id, self.run_id, S.RUN_FAILED, end_date=self.clock())

    def finish_run(self) -> None:
        self.write_starts(list(self.starts))
        self.persist()
        state = self.machine.state
        self.store.set_dag_run_state(self.dag_id, self.run_id, state, end_date=self.clock())
        kind = "success" if state == S.RUN_SUCCESS else "failure"
        if self.description.get("has_callbacks", {}).get(f"on_{kind}"):
            self.dag_callback(kind)

    def dag_callback(self, kind: str) -> None:
        request = {"op": "dag_callback", "dag_id": self.dag_id, "kind": kind, "run": self.run_info}
        log = self.log_path("__dag_callbacks__", -1, 1)
        self.server.launch(f"__dag_{kind}__", request, log, timeout=300)
        while self.server.running:
            self.server.events(None)
