"""When a failed try may be retried and when: Airflow 3.3's ``TaskInstance.next_retry_datetime``.

Without backoff the retry is due ``retry_delay`` after the try ended. With
``retry_exponential_backoff`` (``True`` means a multiplier of 2.0, a number is the multiplier, 0 or
``False`` is off, 1.0 behaves as off) the delay is Airflow's deterministic jitter: with
``min_backoff = max(1, ceil(retry_delay * multiplier ** (try_number - 1)))`` the delay is
``min_backoff + sha1("dag_id#task_id#logical_date#try_number") % min_backoff`` seconds, capped at
``MAX_RETRY_DELAY`` (Airflow's ``[core] max_task_retry_delay`` default, one day) and at
``max_retry_delay``. ``logical_date`` enters the hash as ``str(datetime)`` — Airflow's form for an
aware UTC datetime, e.g. ``2024-01-01 00:00:00+00:00``; a run without a logical date hashes ``None``.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta
from typing import Any

MAX_RETRY_DELAY = 24 * 60 * 60


def backoff_multiplier(value: bool | float | None) -> float:
    """The multiplier Airflow derives from ``retry_exponential_backoff`` (0 means off)."""
    if value is True:
        return 2.0
    if value is False or value is None:
        return 0.0
    return float(value)


def is_eligible_to_retry(task: dict[str, Any], try_number: int) -> bool:
    """Airflow's rule: the task has retries and this try is not past ``max_tries`` (= retries)."""
    retries = int(task.get("retries") or 0)
    return retries > 0 and try_number <= retries


def retry_delay(task: dict[str, Any], *, dag_id: str, try_number: int, logical_date: datetime | None) -> timedelta:
    """How long after the failed try ``try_number`` ended the next try is due."""
    delay = timedelta(seconds=float(task.get("retry_delay") or 0))
    multiplier = backoff_multiplier(task.get("retry_exponential_backoff"))
    if multiplier == 0:
        multiplier = 1.0
    if multiplier == 1.0 or multiplier <= 0:
        return delay
    try:
        min_backoff = math.ceil(delay.total_seconds() * (multiplier ** (try_number - 1)))
    except OverflowError:
        min_backoff = MAX_RETRY_DELAY
    min_backoff = max(min_backoff, 1)
    seed = f"{dag_id}#{task['task_id']}#{logical_date}#{try_number}".encode()
    ti_hash = int(hashlib.sha1(seed, usedforsecurity=False).hexdigest(), 16)
    seconds = min(min_backoff + ti_hash % min_backoff, MAX_RETRY_DELAY)
    result = timedelta(seconds=seconds)
    max_delay = task.get("max_retry_delay")
    if max_delay:
        result = min(timedelta(seconds=float(max_delay)), result)
    return result
