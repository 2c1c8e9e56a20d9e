"""Airflow 3.3's ``TriggerRuleDep`` as pure functions of the upstream task instance states.

The scheduler asks, for a task instance whose state is still none: given the states of the task
instances of its direct upstream tasks (every map index counts), of its indirect upstream setup tasks
and, for a teardown, of the tasks in its setup's scope, may it run now, must it wait, or is its fate
already decided (``skipped``, ``upstream_failed``, ``removed``)? These functions reproduce
``airflow/ti_deps/deps/trigger_rule_dep.py`` with ``flag_upstream_failed=True`` (what the scheduler
passes) including its early decisions (``one_success`` runs on the first success, ``one_failed`` on
the first failure, ``none_failed_min_one_success`` skips when every upstream was skipped).
``tests/test_runtime_trigger_airflow.py`` checks them against Airflow's own class.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from studio.core import states as S

RUN = "run"
WAIT = "wait"
DECISIONS: tuple[str, ...] = (RUN, WAIT, S.SKIPPED, S.UPSTREAM_FAILED, S.REMOVED)


@dataclass(frozen=True)
class UpstreamStates:
    """Counts of the finished upstream task instances (Airflow's ``_UpstreamTIStates``).

    ``upstream`` and ``upstream_setup`` count every relevant upstream task instance, finished or not.
    """

    success: int = 0
    skipped: int = 0
    failed: int = 0
    upstream_failed: int = 0
    removed: int = 0
    done: int = 0
    success_setup: int = 0
    skipped_setup: int = 0
    upstream: int = 0
    upstream_setup: int = 0

    @classmethod
    def count(cls, tis: Iterable[tuple[str | None, bool]]) -> UpstreamStates:
        """Count ``(state, is_setup)`` pairs, one per upstream task instance."""
        counts = dict.fromkeys(("success", "skipped", "failed", "upstream_failed", "removed"), 0)
        done = success_setup = skipped_setup = upstream = upstream_setup = 0
        for state, is_setup in tis:
            upstream += 1
            upstream_setup += bool(is_setup)
            if state not in S.FINISHED:
                continue
            done += 1
            counts[state] += 1
            if is_setup:
                success_setup += state == S.SUCCESS
                skipped_setup += state == S.SKIPPED
        return cls(
            **counts,
            done=done,
            success_setup=success_setup,
            skipped_setup=skipped_setup,
            upstream=upstream,
            upstream_setup=upstream_setup,
        )


def _new_state(rule: str, u: UpstreamStates, map_index: int) -> str | None:
    """The state Airflow writes right away for ``rule`` (its ``flag_upstream_failed`` branch)."""
    upstream_done = u.done >= u.upstream
    failures = u.failed or u.upstream_failed
    if rule == "all_success":
        if failures:
            return S.UPSTREAM_FAILED
        if u.skipped:
            return S.SKIPPED
        if u.removed and u.success and map_index > -1 and map_index >= u.success:
            return S.REMOVED
    elif rule == "all_failed":
        if u.success or u.skipped:
            return S.SKIPPED
    elif rule == "one_success":
        if upstream_done and u.done == u.skipped:
            return S.SKIPPED
        if upstream_done and u.success <= 0:
            return S.UPSTREAM_FAILED
    elif rule == "one_failed":
        if upstream_done and not failures:
            return S.SKIPPED
    elif rule == "one_done":
        if upstream_done and not (u.failed or u.success):
            return S.SKIPPED
    elif rule == "none_failed":
        if failures:
            return S.UPSTREAM_FAILED
    elif rule == "none_failed_min_one_success":
        if failures:
            return S.UPSTREAM_FAILED
        if u.skipped == u.upstream:
            return S.SKIPPED
        if upstream_done and u.success == 0:
            return S.UPSTREAM_FAILED
    elif rule == "none_skipped":
        if u.skipped:
            return S.SKIPPED
    elif rule == "all_skipped":
        if u.success or failures:
            return S.SKIPPED
    elif rule == "all_done_min_one_success":
        if u.skipped > 0:
            return S.SKIPPED
        non_skipped_done = u.success + u.failed + u.upstream_failed + u.removed
        if non_skipped_done >= u.upstream - u.skipped and u.success == 0:
            return S.UPSTREAM_FAILED
    elif rule == "all_done_setup_success" and upstream_done and u.upstream_setup:
        if u.skipped_setup >= u.upstream_setup:
            return S.SKIPPED
        if u.success_setup == 0:
            return S.UPSTREAM_FAILED
    return None


def _met(rule: str, u: UpstreamStates) -> bool:
    """Whether ``rule`` lets the task run (Airflow's passing/failing status)."""
    upstream_done = u.done >= u.upstream
    if rule == "one_success":
        return u.success > 0
    if rule == "one_failed":
        return bool(u.failed or u.upstream_failed)
    if rule == "one_done":
        return u.success + u.failed > 0
    if rule == "all_success":
        return u.upstream - u.success - u.removed <= 0
    if rule == "all_failed":
        return u.upstream - u.failed - u.upstream_failed - u.removed <= 0
    if rule == "all_done":
        return upstream_done
    if rule == "none_failed":
        return u.upstream - u.success - u.skipped - u.removed <= 0
    if rule == "none_failed_min_one_success":
        return u.upstream - u.success - u.skipped - u.removed <= 0 and u.success > 0
    if rule == "none_skipped":
        return upstream_done and u.skipped == 0
    if rule == "all_skipped":
        return u.upstream - u.skipped <= 0
    if rule == "all_done_setup_success":
        return upstream_done and not (u.upstream_setup and not u.success_setup)
    if rule == "all_done_min_one_success":
        non_skipped_done = u.success + u.failed + u.upstream_failed
        return u.skipped == 0 and non_skipped_done >= u.upstream - u.skipped - u.removed and u.success > 0
    if rule == "always":
        return True
    raise ValueError(f"unknown trigger rule {rule!r}")


def direct_decision(rule: str, upstream: UpstreamStates, map_index: int = -1) -> str:
    """Decide on the direct upstream task instances alone (``_evaluate_direct_relatives``)."""
    new_state = _new_state(rule, upstream, map_index)
    if new_state is not None:
        return new_state
    return RUN if _met(rule, upstream) else WAIT


def setup_decision(setups: UpstreamStates, map_index: int = -1) -> str:
    """The constraint of indirect upstream setups (``_evaluate_setup_constraint``): any failure makes
    the task upstream_failed, any skip skips it, and it waits until every one of them succeeded."""
    if setups.upstream == 0:
        return RUN
    if setups.failed or setups.upstream_failed:
        return S.UPSTREAM_FAILED
    if setups.skipped:
        return S.SKIPPED
    if setups.removed and setups.success and map_index > -1 and map_index >= setups.success:
        return S.REMOVED
    non_successes = setups.upstream - setups.success
    if map_index > -1:
        non_successes -= setups.removed
    return WAIT if non_successes > 0 else RUN


def evaluate(
    rule: str,
    direct: UpstreamStates,
    *,
    is_teardown: bool = False,
    indirect_setups: UpstreamStates | None = None,
    teardown_scope: UpstreamStates | None = None,
    map_index: int = -1,
) -> str:
    """The whole ``TriggerRuleDep`` for one task instance: ``run``, ``wait`` or the state to set.

    ``direct``: the task instances of the direct upstream tasks; ``indirect_setups``: those of the
    relevant setups that are not direct upstreams (ignored for a teardown); ``teardown_scope``: for a
    teardown, the tasks between its setups and itself, which must all be done before it runs.
    """
    if direct.upstream == 0 or rule == "always":
        return RUN
    if is_teardown:
        decision = direct_decision(rule, direct, map_index)
        if decision == RUN and teardown_scope is not None and teardown_scope.done < teardown_scope.upstream:
            return WAIT
        return decision
    setup = setup_decision(indirect_setups, map_index) if indirect_setups is not None else RUN
    if setup not in (RUN, WAIT):
        return setup
    decision = direct_decision(rule, direct, map_index)
    if decision == RUN and setup == WAIT:
        return WAIT
    return decision
