"""What every operator shares, mapped or not (``AbstractOperator``): identity, relatives, priority
weight, setup/teardown flags, XCom output; plus task id validation and Airflow's default_args merging."""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any, ClassVar

from studio.sdk.node import DAGNode, as_list
from studio.sdk.params import ParamsDict
from studio.sdk.trigger_rule import TriggerRule

if TYPE_CHECKING:
    from studio.sdk.dag import DAG
    from studio.sdk.taskgroup import TaskGroup
    from studio.sdk.xcom_arg import XComArg

KEY_REGEX = re.compile(r"^[\w.-]+$")
DEFAULT_POOL = "default_pool"
WEIGHT_RULES = ("downstream", "upstream", "absolute")


def validate_key(key: str, max_length: int = 250) -> None:
    if not isinstance(key, str):
        raise TypeError(f"The key has to be a string and is {type(key)}:{key}")
    if len(key) > max_length:
        raise ValueError(f"The key has to be less than {max_length} characters, not {len(key)}")
    if not KEY_REGEX.match(key):
        raise ValueError(
            f"The key {key!r} has to be made of alphanumeric characters, dashes, dots, and underscores exclusively"
        )


def merged_defaults(
    dag: DAG | None, group: TaskGroup | None, task_params: Any, task_default_args: Any
) -> tuple[dict[str, Any], ParamsDict]:
    """Airflow's ``get_merged_defaults``: DAG default_args, then the group's, then the task's own."""
    args: dict[str, Any] = dict(dag.default_args) if dag is not None else {}
    params = copy.deepcopy(dag.params) if dag is not None else ParamsDict()
    if dag is not None and group is not None and group.default_args:
        args.update(group.default_args)
    if task_params:
        extra = ParamsDict(task_params)
        extra._fill_missing_param_source("task")
        params.update(extra)
    if task_default_args:
        args.update(task_default_args)
        if task_default_args.get("params"):
            params.update(ParamsDict(task_default_args["params"]))
    return args, params


def collect_callbacks(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


class AbstractOperator(DAGNode):
    """What operators and mapped operators share: identity, relatives, setup/teardown, XCom output."""

    task_id: str
    task_group: TaskGroup | None
    is_setup: bool = False
    is_teardown: bool = False
    priority_weight: int = 1
    weight_rule: str = "downstream"
    template_fields: ClassVar[Any] = ()
    template_ext: ClassVar[Any] = ()

    @property
    def node_id(self) -> str:
        return self.task_id

    @property
    def roots(self) -> list[Any]:
        return [self]

    @property
    def leaves(self) -> list[Any]:
        return [self]

    @property
    def task_type(self) -> str:
        return type(self).__name__

    @property
    def operator_name(self) -> str:
        return self.task_type

    @property
    def label(self) -> str:
        group = self.task_group
        if group is not None and group.group_id and self.task_id.startswith(group.group_id + "."):
            return self.task_id[len(group.group_id) + 1 :]
        return self.task_id

    @property
    def output(self) -> XComArg:
        from studio.sdk.xcom_arg import XComArg

        return XComArg(self)

    def get_direct_relative_ids(self, upstream: bool = False) -> set[str]:
        return self.upstream_task_ids if upstream else self.downstream_task_ids

    def get_flat_relative_ids(self, upstream: bool = False) -> set[str]:
        assert self.dag is not None
        seen: set[str] = set()
        todo = list(self.get_direct_relative_ids(upstream))
        while todo:
            tid = todo.pop()
            if tid not in seen:
                seen.add(tid)
                todo.extend(self.dag.get_task(tid).get_direct_relative_ids(upstream))
        return seen

    @property
    def priority_weight_total(self) -> int:
        rule = str(getattr(self.weight_rule, "value", self.weight_rule))
        if rule == "absolute" or self.dag is None:
            return self.priority_weight
        ids = self.get_flat_relative_ids(upstream=rule == "upstream")
        return self.priority_weight + sum(self.dag.get_task(t).priority_weight for t in ids)

    def as_setup(self) -> AbstractOperator:
        self.is_setup = True
        return self

    def as_teardown(self, *, setups: Any = None, on_failure_fail_dagrun: bool | None = None) -> AbstractOperator:
        self.is_teardown = True
        self.trigger_rule = TriggerRule.ALL_DONE_SETUP_SUCCESS
        if on_failure_fail_dagrun is not None:
            self.on_failure_fail_dagrun = on_failure_fail_dagrun
        if setups is not None:
            for setup in as_list(setups):
                setup.as_setup()
            self.set_upstream(setups)
        return self

    def iter_xcom_dependencies(self) -> list[XComArg]:
        """XComArgs found in this operator's template fields."""
        from studio.sdk.xcom_arg import find_xcom_args

        found: list[XComArg] = []
        for name in self.template_fields:
            found.extend(find_xcom_args(getattr(self, name, None)))
        return found
