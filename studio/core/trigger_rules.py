"""Airflow 3's trigger rules (``airflow.task.trigger_rule.TriggerRule``), in Airflow's order."""

from __future__ import annotations

TRIGGER_RULES: tuple[str, ...] = (
    "all_success",
    "all_failed",
    "all_done",
    "all_done_min_one_success",
    "all_done_setup_success",
    "one_success",
    "one_failed",
    "one_done",
    "none_failed",
    "none_skipped",
    "always",
    "none_failed_min_one_success",
    "all_skipped",
)

DEFAULT_TRIGGER_RULE = "all_success"

# Airflow 2 names that Airflow 3 dropped, and what they mean now.
RENAMED: dict[str, str] = {
    "none_failed_or_skipped": "none_failed_min_one_success",
    "dummy": "always",
}


def is_trigger_rule(value: str) -> bool:
    """True for one of the 13 trigger rules of Airflow 3."""
    return value in TRIGGER_RULES
