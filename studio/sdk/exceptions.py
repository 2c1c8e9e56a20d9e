"""Airflow's task exceptions (``airflow.exceptions`` / ``airflow.sdk.exceptions``) and the sdk's own errors."""

from __future__ import annotations


class AirflowException(Exception):
    """Base class of Airflow's exceptions; raised in a task it fails the try (retries apply)."""


class AirflowFailException(AirflowException):
    """Fail the task immediately, without retrying."""


class AirflowSkipException(AirflowException):
    """Mark the task instance as skipped."""


class AirflowSensorTimeout(AirflowException):
    """A sensor ran past its timeout (no retry, like Airflow)."""


class AirflowTaskTimeout(AirflowException):
    """A task ran past its execution_timeout."""


class AirflowRescheduleException(AirflowException):
    """A reschedule-mode sensor asks to be run again at ``reschedule_date``."""

    def __init__(self, reschedule_date: object) -> None:
        super().__init__()
        self.reschedule_date = reschedule_date


class DuplicateTaskIdFound(AirflowException):
    """Two tasks (or groups) of one DAG got the same id."""


class TaskAlreadyInTaskGroup(AirflowException):
    """A task was added to a second TaskGroup."""


class ParamValidationError(AirflowException):
    """A Param's value does not satisfy its schema."""


class AirflowDagCycleException(AirflowException):
    """The DAG's dependencies form a cycle."""


class DagFileError(Exception):
    """A DAG file could not be loaded; ``str()`` names the file and line."""

    def __init__(self, message: str, path: str = "", lineno: int | None = None) -> None:
        where = f"{path}:{lineno}" if lineno else path
        super().__init__(f"{where}: {message}" if where else message)
        self.path = path
        self.lineno = lineno
        self.message = message


__all__ = [
    "AirflowDagCycleException",
    "AirflowException",
    "AirflowFailException",
    "AirflowRescheduleException",
    "AirflowSensorTimeout",
    "AirflowSkipException",
    "AirflowTaskTimeout",
    "DagFileError",
    "DuplicateTaskIdFound",
    "ParamValidationError",
    "TaskAlreadyInTaskGroup",
]
