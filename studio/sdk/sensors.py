"""Sensors: ``BaseSensorOperator`` (poke loop, timeout, soft_fail, exponential_backoff, reschedule
mode), ``PokeReturnValue``, ``FileSensor`` and ``PythonSensor``. Time comes from ``CLOCK`` so tests
can drive a sensor without sleeping."""

from __future__ import annotations

import datetime as dt
import glob
import hashlib
import os
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

from studio.sdk.baseoperator import BaseOperator
from studio.sdk.connections import BaseHook
from studio.sdk.exceptions import (
    AirflowFailException,
    AirflowRescheduleException,
    AirflowSensorTimeout,
    AirflowSkipException,
    AirflowTaskTimeout,
)
from studio.sdk.operators import determine_kwargs

DEFAULT_SENSOR_TIMEOUT = 60 * 60 * 24 * 7


class Clock:
    """Wall and monotonic time plus sleep; replace ``CLOCK`` in tests."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))

    def utcnow(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


CLOCK = Clock()


class PokeReturnValue:
    """What ``poke`` may return: done or not, plus an XCom value for when it is done."""

    def __init__(self, is_done: bool, xcom_value: Any | None = None) -> None:
        self.xcom_value = xcom_value
        self.is_done = is_done

    def __bool__(self) -> bool:
        return self.is_done


def _seconds(value: float | dt.timedelta | None, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (int, float)) and value >= 0:
        return float(value)
    raise ValueError(f"Operator arg `{name}` must be timedelta object or a non-negative number")


class BaseSensorOperator(BaseOperator):
    """Pokes until ``poke(context)`` is truthy, for at most ``timeout`` seconds."""

    ui_color = "#e6f1f2"
    valid_modes: Collection[str] = ("poke", "reschedule")

    def __init__(
        self,
        *,
        poke_interval: dt.timedelta | float = 60,
        timeout: dt.timedelta | float | None = None,
        soft_fail: bool = False,
        mode: str = "poke",
        exponential_backoff: bool = False,
        max_wait: dt.timedelta | float | None = None,
        silent_fail: bool = False,
        never_fail: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.poke_interval = _seconds(poke_interval, "poke_interval") or 0.0
        self.timeout = _seconds(DEFAULT_SENSOR_TIMEOUT if timeout is None else timeout, "timeout") or 0.0
        self.soft_fail = soft_fail
        self.mode = mode
        self.exponential_backoff = exponential_backoff
        max_wait_s = _seconds(max_wait, "max_wait")
        self.max_wait = dt.timedelta(seconds=max_wait_s) if max_wait_s is not None else None
        if soft_fail and never_fail:
            raise ValueError("soft_fail and never_fail are mutually exclusive, you can not provide both.")
        self.silent_fail, self.never_fail = silent_fail, never_fail
        if mode not in self.valid_modes:
            raise ValueError(f"The mode must be one of {self.valid_modes},'.{self.task_id}'; received '{mode}'.")

    @property
    def reschedule(self) -> bool:
        return self.mode == "reschedule"

    def poke(self, context: Any) -> bool | PokeReturnValue:
        raise NotImplementedError("Override me.")

    def execute(self, context: Any) -> Any:
        if self.reschedule:
            first = context["ti"].first_reschedule_date
            started_at: Any = first or CLOCK.utcnow()
            start_wall = started_at

            def run_duration() -> float:
                return (CLOCK.utcnow() - start_wall).total_seconds()
        else:
            started_at = start_mono = CLOCK.monotonic()

            def run_duration() -> float:
                return CLOCK.monotonic() - start_mono

        poke_count = 1
        while True:
            result = self._poke_once(context)
            if result:
                return result.xcom_value if isinstance(result, PokeReturnValue) else None
            if run_duration() > self.timeout:
                message = (
                    f"Sensor has timed out; run duration of {run_duration()} seconds exceeds "
                    f"the specified timeout of {self.timeout}."
                )
                if self.soft_fail:
                    raise AirflowSkipException(message)
                raise AirflowSensorTimeout(message)
            interval = self._next_poke_interval(started_at, run_duration, poke_count)
            if self.reschedule:
                raise AirflowRescheduleException(CLOCK.utcnow() + dt.timedelta(seconds=interval))
            CLOCK.sleep(interval)
            poke_count += 1

    def _poke_once(self, context: Any) -> Any:
        try:
            return self.poke(context)
        except (AirflowSensorTimeout, AirflowTaskTimeout, AirflowFailException) as err:
            if self.soft_fail or self.never_fail:
                reason = "soft_fail" if self.soft_fail else "never_fail"
                raise AirflowSkipException(f"Skipping due to {reason} is set to True.") from err
            raise
        except AirflowSkipException:
            raise
        except Exception as err:
            if self.silent_fail:
                print(f"Sensor poke failed: {err!r}", flush=True)
                return False
            if self.never_fail:
                raise AirflowSkipException("Skipping due to never_fail is set to True.") from err
            raise

    def _backoff(self, started_at: Any, poke_count: int) -> float:
        min_backoff = max(int(self.poke_interval * (2 ** (poke_count - 2))), 1)
        seed = f"{self.dag.dag_id if self.dag else ''}#{self.task_id}#{started_at}#{poke_count}"
        run_hash = int(hashlib.sha1(seed.encode(), usedforsecurity=False).hexdigest(), 16)
        return min(min_backoff + run_hash % min_backoff, dt.timedelta.max.total_seconds() - 1)

    def _next_poke_interval(self, started_at: Any, run_duration: Callable[[], float], poke_count: int) -> float:
        """Airflow's interval: ``poke_interval``, or a hash-jittered exponential backoff."""
        if not self.exponential_backoff:
            return self.poke_interval
        if self.reschedule:
            elapsed, total, estimated = run_duration(), 0.0, 0
            while total <= elapsed:
                estimated += 1
                total += self._backoff(started_at, estimated)
            poke_count = estimated or poke_count
        interval = min(self.timeout - int(run_duration()), self._backoff(started_at, poke_count))
        if self.max_wait:
            interval = min(self.max_wait.total_seconds(), interval)
        return interval


class PythonSensor(BaseSensorOperator):
    """Pokes by calling ``python_callable``; a truthy result (or a done PokeReturnValue) ends the wait."""

    template_fields = ("templates_dict", "op_args", "op_kwargs")

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: list[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        templates_dict: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.python_callable = python_callable
        self.op_args = op_args or []
        self.op_kwargs = op_kwargs or {}
        self.templates_dict = templates_dict

    def poke(self, context: Any) -> PokeReturnValue | bool:
        merged = {**context, **self.op_kwargs, "templates_dict": self.templates_dict}
        kwargs = determine_kwargs(self.python_callable, self.op_args, merged)
        result = self.python_callable(*self.op_args, **kwargs)
        return result if isinstance(result, PokeReturnValue) else PokeReturnValue(bool(result))


class FSHook(BaseHook):
    """Airflow's ``FSHook``: the base path of an ``fs`` connection (``extra`` ``{"path": ...}``)."""

    conn_name_attr = "fs_conn_id"
    default_conn_name = "fs_default"
    conn_type = "fs"
    hook_name = "File (path)"

    def __init__(self, fs_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn = self.get_connection(fs_conn_id)
        self.basepath = self.conn.extra_dejson.get("path", "")

    def get_conn(self) -> None:
        return None

    def get_path(self) -> str:
        return self.basepath


class FileSensor(BaseSensorOperator):
    """Waits for a file or folder (glob patterns allowed) below the base path of ``fs_conn_id``
    (``fs_default``: ``/``), as Airflow's: ``os.path.join(FSHook(fs_conn_id).get_path(), filepath)``."""

    template_fields = ("filepath", "fs_conn_id")
    ui_color = "#91818a"

    def __init__(
        self,
        *,
        filepath: str,
        fs_conn_id: str = "fs_default",
        recursive: bool = False,
        deferrable: bool = False,
        start_from_trigger: bool = False,
        trigger_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.filepath = filepath
        self.fs_conn_id = fs_conn_id
        self.recursive = recursive
        self.deferrable = deferrable

    @property
    def path(self) -> str:
        return os.path.join(FSHook(self.fs_conn_id).get_path(), os.fspath(self.filepath))

    def poke(self, context: Any) -> bool:
        path = self.path
        print(f"Poking for file {path}", flush=True)
        for found in glob.glob(path, recursive=self.recursive):
            if os.path.isfile(found):
                return True
            for _, _, files in os.walk(found):
                if files:
                    return True
        return False
