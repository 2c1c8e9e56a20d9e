"""The arguments every task and every DAG takes: BaseOperator's, BaseSensorOperator's and the DAG's own.

Names, types and defaults follow Airflow 3.3's constructors; ``studio.core.catalog`` adds each
operator's own fields on top. ``AIRFLOW3_DAG_DEFAULTS`` are what the model means when a DAG leaves an
argument out whose Airflow 2 default differed.
"""

from __future__ import annotations

from studio.core.specs import FieldSpec as F
from studio.core.trigger_rules import TRIGGER_RULES

BASE_FIELDS: tuple[F, ...] = (
    F("owner", "str", "Who owns the task (shown in Airflow's UI).", default="airflow"),
    F("retries", "int", "How many times a failed try is retried.", default=0),
    F("retry_delay", "timedelta", "Wait between tries.", default=None),
    F("retry_exponential_backoff", "bool", "Double the wait after each failed try.", default=False),
    F("max_retry_delay", "timedelta", "Upper bound of the wait with exponential backoff.", default=None),
    F("execution_timeout", "timedelta", "A try that runs longer fails.", default=None),
    F("trigger_rule", "enum", "When the task runs, given its upstream states.", "all_success", choices=TRIGGER_RULES),
    F("depends_on_past", "bool", "Run only if this task succeeded in the previous run.", default=False),
    F("wait_for_downstream", "bool", "Also wait for the previous run's direct downstream tasks.", default=False),
    F("ignore_first_depends_on_past", "bool", "depends_on_past does not apply to the first run.", default=False),
    F("pool", "str", "Pool that limits how many such tasks run at once.", default="default_pool"),
    F("pool_slots", "int", "Slots of the pool a try takes.", default=1),
    F("priority_weight", "int", "Higher runs first when slots are scarce.", default=1),
    F(
        "weight_rule",
        "enum",
        "How priority weights add up.",
        "downstream",
        choices=("downstream", "upstream", "absolute"),
    ),
    F("queue", "str", "Executor queue (Celery) the task is sent to.", default="default"),
    F("executor", "str", "Executor that runs the task (Airflow 3 multi-executor).", default=None),
    F("executor_config", "dict", "Executor-specific settings, e.g. a KubernetesExecutor pod_override.", default=None),
    F("email", "str_or_list", "Who gets failure and retry emails.", default=None),
    F("email_on_failure", "bool", "Send an email when the task fails.", default=True),
    F("email_on_retry", "bool", "Send an email when the task is retried.", default=True),
    F("on_execute_callback", "callable", "Called before each try.", default=None),
    F("on_success_callback", "callable", "Called when the task succeeds.", default=None),
    F("on_failure_callback", "callable", "Called when the task fails.", default=None),
    F("on_retry_callback", "callable", "Called when a try fails and will be retried.", default=None),
    F("on_skipped_callback", "callable", "Called when the task is skipped.", default=None),
    F("start_date", "datetime", "Task-level start date (normally set on the DAG).", default=None),
    F("end_date", "datetime", "Task-level end date.", default=None),
    F("max_active_tis_per_dag", "int", "Concurrent tries of this task across runs.", default=None),
    F("max_active_tis_per_dagrun", "int", "Concurrent mapped tries of this task in one run.", default=None),
    F("run_as_user", "str", "Unix user to impersonate.", default=None),
    F("do_xcom_push", "bool", "Push the return value as an XCom.", default=True),
    F("multiple_outputs", "bool", "Push each key of a returned dict as its own XCom.", default=False),
    F("map_index_template", "str", "Label of each mapped task instance.", default=None, templated=True),
    F("params", "dict", "Task-level params merged over the DAG's.", default=None),
    F("doc_md", "str", "Markdown documentation shown in Airflow's UI.", default=None),
    F("doc", "str", "Plain-text documentation.", default=None),
    F("sla", "timedelta", "Airflow 2 only: service level agreement.", default=None),
)

SENSOR_FIELDS: tuple[F, ...] = (
    F("poke_interval", "timedelta", "Time between pokes (seconds or timedelta).", default=60),
    F("timeout", "timedelta", "Give up after this long (seconds or timedelta).", default=604800),
    F(
        "mode",
        "enum",
        "poke holds a worker slot; reschedule frees it between pokes.",
        "poke",
        choices=("poke", "reschedule"),
    ),
    F("soft_fail", "bool", "On timeout, mark skipped instead of failed.", default=False),
    F("exponential_backoff", "bool", "Grow the poke interval after each poke.", default=False),
    F("max_wait", "timedelta", "Upper bound of the poke interval with backoff.", default=None),
    F("silent_fail", "bool", "Treat errors while poking as 'not yet'.", default=False),
    F("never_fail", "bool", "Skip instead of failing on any error.", default=False),
)

DAG_FIELDS: tuple[F, ...] = (
    F("description", "str", "One line shown in the DAGs list.", default=None),
    F("schedule", "any", "Cron, a preset such as @daily, a timedelta, or None (manual only).", default=None),
    F("start_date", "datetime", "First logical date (with its time zone).", default=None),
    F("end_date", "datetime", "No runs after this date.", default=None),
    F("catchup", "bool", "Create runs for every missed interval since start_date.", default=False),
    F("default_args", "dict", "Arguments every task of the DAG gets unless it sets its own.", default=None),
    F("params", "dict", "Run parameters with defaults (a form when triggering).", default=None),
    F("tags", "list", "Labels to filter DAGs by.", default=None),
    F("max_active_runs", "int", "Runs of this DAG at once.", default=16),
    F("max_active_tasks", "int", "Task instances of one run at once.", default=16),
    F("max_consecutive_failed_dag_runs", "int", "Pause the DAG after this many failed runs in a row.", default=0),
    F("dagrun_timeout", "timedelta", "A run that lasts longer is failed.", default=None),
    F("doc_md", "str", "Markdown documentation of the DAG.", default=None),
    F("is_paused_upon_creation", "bool", "Start paused when the DAG first appears.", default=None),
    F("on_success_callback", "callable", "Called when a run succeeds.", default=None),
    F("on_failure_callback", "callable", "Called when a run fails.", default=None),
    F("template_searchpath", "str_or_list", "Folders Jinja looks in for template files.", default=None),
    F("render_template_as_native_obj", "bool", "Render templates to Python objects, not strings.", default=False),
    F("user_defined_macros", "dict", "Extra names available in templates.", default=None),
    F("user_defined_filters", "dict", "Extra Jinja filters.", default=None),
    F("owner_links", "dict", "Owner name → link shown in Airflow's UI.", default=None),
    F("dag_display_name", "str", "Name shown instead of dag_id.", default=None),
    F("fail_fast", "bool", "Fail the run as soon as one task fails.", default=False),
    F("access_control", "dict", "Airflow roles and their permissions on this DAG.", default=None),
)

# Airflow 3's defaults for DAG arguments whose Airflow 2 default differed; what the model means when unset.
AIRFLOW3_DAG_DEFAULTS: dict[str, object] = {"schedule": None, "catchup": False}
