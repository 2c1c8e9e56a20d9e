"""The ``airflow.*`` import hook: a ``sys.meta_path`` finder that serves Airflow 3 and Airflow 2 module
paths from ``studio.sdk``, so a DAG file written for Airflow runs unchanged. Any other ``airflow``
module gets an ImportError naming the module and the importing file:line."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from collections.abc import Sequence
from typing import Any

AIRFLOW_VERSION = "3.3.2"

_SDK = ("studio.sdk", [
    "DAG", "dag", "task", "task_group", "TaskGroup", "BaseOperator", "BaseSensorOperator", "PokeReturnValue",
    "chain", "chain_linear", "cross_downstream", "Label", "EdgeModifier", "Param", "ParamsDict", "XComArg",
    "Asset", "AssetAlias", "AssetAll", "AssetAny", "setup", "teardown", "TriggerRule", "get_current_context",
    "Variable", "Connection", "Context", "get_parsing_context",
])  # fmt: skip
_EXC = (
    "studio.sdk.exceptions",
    [
        "AirflowException",
        "AirflowFailException",
        "AirflowSkipException",
        "AirflowSensorTimeout",
        "AirflowTaskTimeout",
        "AirflowRescheduleException",
        "DuplicateTaskIdFound",
        "TaskAlreadyInTaskGroup",
        "ParamValidationError",
        "AirflowDagCycleException",
    ],
)
_PYTHON_OPS = ("studio.sdk.operators", ["PythonOperator", "BranchPythonOperator", "ShortCircuitOperator"])
_CONTEXT = ("studio.sdk.context", ["get_current_context"])
_CONTEXT_TYPES = ("studio.sdk.context", ["Context", "get_current_context"])
_SENSOR_BASE = ("studio.sdk.sensors", ["BaseSensorOperator", "PokeReturnValue"])
_BASEOP = ("studio.sdk.baseoperator", ["BaseOperator", "chain", "chain_linear", "cross_downstream"])
_DECORATORS = [
    ("studio.sdk.decorators", ["task", "setup", "teardown"]),
    ("studio.sdk.dag", ["dag"]),
    ("studio.sdk.taskgroup", ["task_group"]),
]

# served module -> [(studio module, names)]; an empty list is a bare package.
MODULES: dict[str, list[tuple[str, Sequence[str]]]] = {
    "airflow": [("studio.sdk.dag", ["DAG"]), ("studio.sdk.assets", ["Dataset"])],
    "airflow.sdk": [_SDK],
    "airflow.sdk.definitions": [],
    "airflow.sdk.definitions.dag": [("studio.sdk.dag", ["DAG", "dag"])],
    "airflow.sdk.definitions.taskgroup": [("studio.sdk.taskgroup", ["TaskGroup"])],
    "airflow.sdk.definitions.param": [("studio.sdk.params", ["Param", "ParamsDict"])],
    "airflow.sdk.definitions.edges": [("studio.sdk.edges", ["Label", "EdgeModifier"])],
    "airflow.sdk.definitions.xcom_arg": [("studio.sdk.xcom_arg", ["XComArg"])],
    "airflow.sdk.definitions.asset": [("studio.sdk.assets", ["Asset", "AssetAlias", "AssetAll", "AssetAny"])],
    "airflow.sdk.definitions.decorators": [*_DECORATORS],
    "airflow.sdk.definitions.context": [_CONTEXT_TYPES],
    "airflow.sdk.definitions.mappedoperator": [("studio.sdk.mapped", ["MappedOperator"])],
    "airflow.sdk.bases": [],
    "airflow.sdk.bases.operator": [_BASEOP],
    "airflow.sdk.bases.sensor": [_SENSOR_BASE],
    "airflow.sdk.exceptions": [_EXC],
    "airflow.exceptions": [_EXC],
    "airflow.providers": [],
    "airflow.providers.standard": [],
    "airflow.providers.standard.operators": [],
    "airflow.providers.standard.operators.python": [_PYTHON_OPS, _CONTEXT],
    "airflow.providers.standard.operators.bash": [("studio.sdk.operators", ["BashOperator"])],
    "airflow.providers.standard.operators.empty": [("studio.sdk.operators", ["EmptyOperator"])],
    "airflow.providers.standard.operators.branch": [("studio.sdk.operators", ["BaseBranchOperator"])],
    "airflow.providers.standard.sensors": [],
    "airflow.providers.standard.sensors.filesystem": [("studio.sdk.sensors", ["FileSensor"])],
    "airflow.providers.standard.sensors.python": [("studio.sdk.sensors", ["PythonSensor"])],
    "airflow.operators": [],
    "airflow.operators.python": [_PYTHON_OPS, _CONTEXT],
    "airflow.operators.bash": [("studio.sdk.operators", ["BashOperator"])],
    "airflow.operators.empty": [("studio.sdk.operators", ["EmptyOperator"])],
    "airflow.operators.branch": [("studio.sdk.operators", ["BaseBranchOperator"])],
    "airflow.sensors": [],
    "airflow.sensors.base": [_SENSOR_BASE],
    "airflow.sensors.filesystem": [("studio.sdk.sensors", ["FileSensor"])],
    "airflow.sensors.python": [("studio.sdk.sensors", ["PythonSensor"])],
    "airflow.decorators": [*_DECORATORS],
    "airflow.utils": [],
    "airflow.utils.task_group": [("studio.sdk.taskgroup", ["TaskGroup"])],
    "airflow.utils.trigger_rule": [("studio.sdk.trigger_rule", ["TriggerRule"])],
    "airflow.utils.edgemodifier": [("studio.sdk.edges", ["Label", "EdgeModifier"])],
    "airflow.utils.dates": [("studio.sdk.hook", ["days_ago"])],
    "airflow.utils.context": [_CONTEXT_TYPES],
    "airflow.models": [
        ("studio.sdk.dag", ["DAG"]),
        ("studio.sdk.baseoperator", ["BaseOperator"]),
        ("studio.sdk.params", ["Param"]),
        ("studio.sdk.xcom_arg", ["XComArg"]),
    ],
    "airflow.models.dag": [("studio.sdk.dag", ["DAG"])],
    "airflow.models.param": [("studio.sdk.params", ["Param", "ParamsDict"])],
    "airflow.models.baseoperator": [_BASEOP],
    "airflow.models.xcom_arg": [("studio.sdk.xcom_arg", ["XComArg"])],
    "airflow.datasets": [("studio.sdk.assets", ["Dataset"])],
}
_TIMETABLES = "studio.sdk.timetables"
MODULES.update({
    "airflow.timetables": [],
    "airflow.timetables.base": [(_TIMETABLES, ["Timetable"])],
    "airflow.timetables.trigger": [(_TIMETABLES, [
        "CronTriggerTimetable", "DeltaTriggerTimetable", "MultipleCronTriggerTimetable",
    ])],
    "airflow.timetables.interval": [(_TIMETABLES, ["CronDataIntervalTimetable", "DeltaDataIntervalTimetable"])],
    "airflow.timetables.simple": [(_TIMETABLES, [
        "NullTimetable", "OnceTimetable", "ContinuousTimetable", "AssetTriggeredTimetable",
    ])],
    "airflow.timetables.events": [(_TIMETABLES, ["EventsTimetable"])],
    "airflow.timetables.assets": [(_TIMETABLES, ["AssetOrTimeSchedule"])],
    "airflow.sdk.definitions.timetables": [],
    "airflow.sdk.definitions.timetables.trigger": [(_TIMETABLES, [
        "CronTriggerTimetable", "DeltaTriggerTimetable", "MultipleCronTriggerTimetable",
    ])],
    "airflow.sdk.definitions.timetables.interval": [(_TIMETABLES, [
        "CronDataIntervalTimetable", "DeltaDataIntervalTimetable",
    ])],
    "airflow.sdk.definitions.timetables.simple": [(_TIMETABLES, [
        "NullTimetable", "OnceTimetable", "ContinuousTimetable",
    ])],
    "airflow.sdk.definitions.timetables.events": [(_TIMETABLES, ["EventsTimetable"])],
    "airflow.sdk.definitions.timetables.assets": [(_TIMETABLES, ["AssetOrTimeSchedule"])],
    "airflow.sdk.bases.timetable": [(_TIMETABLES, ["BaseTimetable"])],
})  # fmt: skip
MODULES["airflow.sdk"] = [_SDK, (_TIMETABLES, [
    "CronDataIntervalTimetable", "CronTriggerTimetable", "DeltaDataIntervalTimetable", "DeltaTriggerTimetable",
    "EventsTimetable", "MultipleCronTriggerTimetable", "AssetOrTimeSchedule",
])]  # fmt: skip
_DOCKER = "studio.sdk.providers_docker"
_DOCKER_HOOK = "studio.sdk.providers_docker_hook"
MODULES.update({
    "airflow.providers.docker": [],
    "airflow.providers.docker.operators": [],
    "airflow.providers.docker.operators.docker": [(_DOCKER, ["DockerOperator", "fetch_logs", "stringify"])],
    "airflow.providers.docker.hooks": [],
    "airflow.providers.docker.hooks.docker": [(_DOCKER_HOOK, ["DockerHook"])],
    "airflow.providers.docker.exceptions": [(_DOCKER_HOOK, [
        "DockerContainerFailedException", "DockerContainerFailedSkipException",
    ])],
    "airflow.operators.docker_operator": [(_DOCKER, ["DockerOperator"])],
})  # fmt: skip
_S3_OPS = "studio.sdk.amazon.s3_operators"
_AWS_HOOK = "studio.sdk.amazon.connection"
MODULES.update({
    "airflow.providers.amazon": [],
    "airflow.providers.amazon.aws": [],
    "airflow.providers.amazon.aws.operators": [],
    "airflow.providers.amazon.aws.operators.s3": [(_S3_OPS, [
        "S3CreateBucketOperator", "S3CreateObjectOperator", "S3CopyObjectOperator", "S3DeleteObjectsOperator",
        "S3ListOperator", "S3FileTransformOperator",
    ])],
    "airflow.providers.amazon.aws.operators.base_aws": [(_S3_OPS, ["AwsBaseOperator"])],
    "airflow.providers.amazon.aws.sensors": [],
    "airflow.providers.amazon.aws.sensors.s3": [("studio.sdk.amazon.s3_sensors", ["S3KeySensor"])],
    "airflow.providers.amazon.aws.sensors.base_aws": [("studio.sdk.amazon.s3_sensors", ["AwsBaseSensor"])],
    "airflow.providers.amazon.aws.hooks": [],
    "airflow.providers.amazon.aws.hooks.s3": [("studio.sdk.amazon.s3_hook", [
        "S3Hook", "provide_bucket_name", "unify_bucket_name_and_key",
    ])],
    "airflow.providers.amazon.aws.hooks.base_aws": [(_AWS_HOOK, ["AwsBaseHook", "AwsGenericHook"])],
    # the provider's module names before 2022 (the importer's aliases in core/catalog.py)
    "airflow.providers.amazon.aws.operators.s3_bucket": [(_S3_OPS, ["S3CreateBucketOperator"])],
    "airflow.providers.amazon.aws.operators.s3_copy_object": [(_S3_OPS, ["S3CopyObjectOperator"])],
    "airflow.providers.amazon.aws.operators.s3_delete_objects": [(_S3_OPS, ["S3DeleteObjectsOperator"])],
    "airflow.providers.amazon.aws.operators.s3_list": [(_S3_OPS, ["S3ListOperator"])],
    "airflow.providers.amazon.aws.operators.s3_file_transform": [(_S3_OPS, ["S3FileTransformOperator"])],
    "airflow.providers.amazon.aws.sensors.s3_key": [("studio.sdk.amazon.s3_sensors", ["S3KeySensor"])],
})  # fmt: skip
_CONNS = "studio.sdk.connections"
_MASKING = ("studio.sdk.masking", ["mask_secret", "redact"])
MODULES.update({
    "airflow.hooks": [],
    "airflow.hooks.base": [(_CONNS, ["BaseHook"])],
    "airflow.sdk.bases.hook": [(_CONNS, ["BaseHook"])],
    "airflow.sdk.definitions.connection": [(_CONNS, ["Connection"])],
    "airflow.sdk.definitions.variable": [(_CONNS, ["Variable"])],
    "airflow.models.connection": [(_CONNS, ["Connection"])],
    "airflow.models.variable": [(_CONNS, ["Variable"])],
    "airflow.sdk.log": [_MASKING],
    "airflow.sdk.execution_time": [],
    "airflow.sdk.execution_time.secrets_masker": [_MASKING],
    "airflow.utils.log": [],
    "airflow.utils.log.secrets_masker": [_MASKING],  # Airflow 2
    "airflow.providers.standard.hooks": [],
    "airflow.providers.standard.hooks.filesystem": [("studio.sdk.sensors", ["FSHook"])],
    "airflow.hooks.filesystem": [("studio.sdk.sensors", ["FSHook"])],  # Airflow 2
})  # fmt: skip
MODULES["airflow.sdk"] = [*MODULES["airflow.sdk"], (_CONNS, ["BaseHook"])]
MODULES["airflow.models"] = [*MODULES["airflow.models"], (_CONNS, ["Connection", "Variable"])]
for _exceptions in ("airflow.exceptions", "airflow.sdk.exceptions"):
    MODULES[_exceptions] = [*MODULES[_exceptions], (_CONNS, ["AirflowNotFoundException"])]
_SMTP = "studio.sdk.smtp"
MODULES.update({
    "airflow.providers.smtp": [],
    "airflow.providers.smtp.operators": [],
    "airflow.providers.smtp.operators.smtp": [(_SMTP, ["EmailOperator"])],
    "airflow.providers.smtp.notifications": [],
    "airflow.providers.smtp.notifications.smtp": [(_SMTP, ["SmtpNotifier", "send_smtp_notification"])],
    "airflow.providers.smtp.hooks": [],
    "airflow.providers.smtp.hooks.smtp": [(_SMTP, ["SmtpHook"])],
    "airflow.operators.email": [(_SMTP, ["EmailOperator"])],
    "airflow.operators.email_operator": [(_SMTP, ["EmailOperator"])],
    "airflow.utils.email": [("studio.sdk.email", ["send_email", "get_email_address_list", "build_mime_message"])],
    "airflow.sdk.bases.notifier": [("studio.sdk.notifier", ["BaseNotifier"])],
    "airflow.notifications": [],
    "airflow.notifications.basenotifier": [("studio.sdk.notifier", ["BaseNotifier"])],
})  # fmt: skip
MODULES["airflow.sdk"].append(("studio.sdk.notifier", ["BaseNotifier"]))
PACKAGES = {name for name in MODULES if any(other.startswith(name + ".") for other in MODULES)}

# Modules only Airflow 2 has (Airflow 3.3 moved them to airflow.sdk and the providers; it keeps some as
# deprecated shims): a DAG file that imports one is an Airflow 2 file (same list as the importer's
# studio/codegen/importer/flavour.py, plus the ones it does not serve). Their names resolve lazily
# so that every import of them is seen, and recorded in the importing module's globals under
# AIRFLOW2_IMPORTS; ``DAG`` reads it to apply Airflow 2's schedule mapping.
AIRFLOW2_MODULES = (
    "airflow.operators", "airflow.sensors", "airflow.decorators", "airflow.utils.task_group",
    "airflow.utils.dates", "airflow.utils.edgemodifier", "airflow.utils.context", "airflow.models.dag",
    "airflow.models.baseoperator", "airflow.models.param", "airflow.models.xcom_arg", "airflow.datasets",
)  # fmt: skip
AIRFLOW2_IMPORTS = "__studio_airflow2_imports__"


def days_ago(n: int, hour: int = 0, minute: int = 0, second: int = 0, microsecond: int = 0) -> Any:
    """Airflow 2's ``days_ago``: midnight UTC today minus ``n`` days (plus the given time of day)."""
    import datetime as dt

    today = dt.datetime.now(dt.UTC).replace(hour=hour, minute=minute, second=second, microsecond=microsecond)
    return today - dt.timedelta(days=n)


def _importer_location() -> str:
    """file:line of the user code doing the import (skips importlib's and this module's frames)."""
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename
        if not name.startswith("<frozen") and "importlib" not in name and name != __file__:
            return f"{name}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"


class UnsupportedAirflowModule(ModuleNotFoundError):
    """An ``airflow`` module DAG Studio's engine does not provide."""


class AirflowFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds and loads the served ``airflow.*`` modules."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != "airflow" and not fullname.startswith("airflow."):
            return None
        if fullname not in MODULES:
            raise UnsupportedAirflowModule(
                f"No module named {fullname!r}: DAG Studio's local engine does not provide this Airflow module "
                f"(imported at {_importer_location()}). Supported: the airflow.sdk authoring API, the standard "
                "provider (Python, Bash, Empty, Branch, ShortCircuit operators; File and Python sensors), Docker "
                "(DockerOperator), Amazon S3 (S3 operators, S3KeySensor, S3Hook) and SMTP (EmailOperator, "
                "SmtpNotifier), with their Airflow 2 paths.",
                name=fullname,
            )
        return importlib.util.spec_from_loader(fullname, self, is_package=fullname in PACKAGES)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        module.__dict__["__studio_served__"] = True
        if module.__name__ == "airflow":
            module.__dict__["__version__"] = AIRFLOW_VERSION
        if module.__name__.startswith(AIRFLOW2_MODULES):
            _serve_lazily(module)
            return
        for source, names in MODULES[module.__name__]:
            provider = importlib.import_module(source)
            for name in names:
                setattr(module, name, getattr(provider, name))


def _serve_lazily(module: types.ModuleType) -> None:
    """Resolve the module's names on each access (PEP 562), recording the access in the importer's globals."""
    sources = {name: source for source, names in MODULES[module.__name__] for name in names}

    def __getattr__(name: str) -> Any:
        if name not in sources:
            raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}")
        frame = sys._getframe(1)
        while frame is not None and (
            frame.f_code.co_filename.startswith("<frozen") or "importlib" in frame.f_code.co_filename
        ):
            frame = frame.f_back
        if frame is not None:
            frame.f_globals.setdefault(AIRFLOW2_IMPORTS, set()).add(module.__name__)
        return getattr(importlib.import_module(sources[name]), name)

    module.__dict__.update(__getattr__=__getattr__, __all__=list(sources), __dir__=lambda: sorted(sources))


FINDER = AirflowFinder()


def install() -> None:
    """Put the finder first on ``sys.meta_path`` and forget any ``airflow`` modules not served by it."""
    if FINDER not in sys.meta_path:
        sys.meta_path.insert(0, FINDER)
    for name in [n for n in sys.modules if n == "airflow" or n.startswith("airflow.")]:
        if not getattr(sys.modules[name], "__studio_served__", False):
            del sys.modules[name]


def uninstall() -> None:
    """Remove the finder and the modules it served."""
    if FINDER in sys.meta_path:
        sys.meta_path.remove(FINDER)
    for name in [n for n in sys.modules if n == "airflow" or n.startswith("airflow.")]:
        if getattr(sys.modules[name], "__studio_served__", False):
            del sys.modules[name]
