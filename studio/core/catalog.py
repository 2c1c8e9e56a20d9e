"""The operator catalog: every operator, sensor and TaskFlow decorator DAG Studio knows, as data.

Import paths are the real Airflow ones (Airflow 3 with the standard/smtp/docker/amazon providers, and
Airflow 2). Field lists follow Airflow's constructors; ``templated`` mirrors each operator's
``template_fields``. The arguments shared by every task (``BASE_FIELDS``), sensor (``SENSOR_FIELDS``)
and DAG (``DAG_FIELDS``) are in ``fields.py`` and re-exported here.
"""

from __future__ import annotations

from studio.core.fields import AIRFLOW3_DAG_DEFAULTS, BASE_FIELDS, DAG_FIELDS, SENSOR_FIELDS
from studio.core.specs import FieldSpec as F
from studio.core.specs import ImportPath as P
from studio.core.specs import OperatorSpec

STANDARD = "apache-airflow-providers-standard"
AMAZON = "apache-airflow-providers-amazon"
DOCKER = "apache-airflow-providers-docker"
SMTP = "apache-airflow-providers-smtp"

_PY3 = P("airflow.providers.standard.operators.python", "")
_PY2 = P("airflow.operators.python", "")

_CALLABLE_FIELDS = (
    F("python_callable", "callable", "The function to run.", required=True),
    F("op_args", "list", "Positional arguments for the function.", default=None, templated=True),
    F("op_kwargs", "dict", "Keyword arguments for the function.", default=None, templated=True),
    F("templates_dict", "dict", "Values rendered by Jinja and passed as templates_dict.", default=None, templated=True),
    F("templates_exts", "list", "File extensions rendered as templates.", default=None),
    F("show_return_value_in_logs", "bool", "Log the return value.", default=True),
)


def _py(name: str) -> tuple[P, P]:
    return P(_PY3.module, name), P(_PY2.module, name)


def _spec(
    id: str,
    label: str,
    category: str,
    kind: str,
    paths: tuple[P | None, P | None],
    fields: tuple[F, ...],
    help: str,
    icon: str,
    provider: str = STANDARD,
    decorator: str = "",
) -> OperatorSpec:
    return OperatorSpec(id, label, category, kind, paths[0], paths[1], fields, help, icon, decorator, provider)  # type: ignore[arg-type]


_S3 = "airflow.providers.amazon.aws.operators.s3"
_AWS = F(
    "aws_conn_id",
    "str",
    "Connection with the S3 endpoint, region and credentials.",
    default="aws_default",
    templated=True,
)

SPECS: tuple[OperatorSpec, ...] = (
    _spec(
        "PythonOperator",
        "Python",
        "Python",
        "operator",
        _py("PythonOperator"),
        _CALLABLE_FIELDS,
        "Calls a Python function of the DAG's module code.",
        "python",
    ),
    _spec(
        "BashOperator",
        "Bash",
        "Shell",
        "operator",
        (P("airflow.providers.standard.operators.bash", "BashOperator"), P("airflow.operators.bash", "BashOperator")),
        (
            F(
                "bash_command",
                "str",
                "The command, script or path to a .sh file (Jinja-templated).",
                required=True,
                templated=True,
            ),
            F(
                "env",
                "dict",
                "Environment of the command (replaces the inherited one unless append_env).",
                default=None,
                templated=True,
            ),
            F("append_env", "bool", "Add env to the inherited environment.", default=False),
            F("output_encoding", "str", "Encoding of the command's output.", default="utf-8"),
            F("skip_on_exit_code", "any", "Exit code(s) that mark the task skipped.", default=99),
            F("cwd", "str", "Working directory (default: a temporary one).", default=None, templated=True),
        ),
        "Runs a shell command; the last line of output is the XCom.",
        "bash",
    ),
    _spec(
        "EmptyOperator",
        "Empty",
        "Flow control",
        "operator",
        (
            P("airflow.providers.standard.operators.empty", "EmptyOperator"),
            P("airflow.operators.empty", "EmptyOperator"),
        ),
        (),
        "Does nothing; joins or fans out branches.",
        "empty",
    ),
    _spec(
        "BranchPythonOperator",
        "Branch",
        "Flow control",
        "operator",
        _py("BranchPythonOperator"),
        _CALLABLE_FIELDS,
        "Runs a function that returns the task id(s) to follow; the other direct downstream tasks are skipped.",
        "branch",
    ),
    _spec(
        "ShortCircuitOperator",
        "Short circuit",
        "Flow control",
        "operator",
        _py("ShortCircuitOperator"),
        (
            *_CALLABLE_FIELDS,
            F(
                "ignore_downstream_trigger_rules",
                "bool",
                "Skip all downstream tasks, not only the direct ones.",
                default=True,
            ),
        ),
        "Skips everything downstream when its function returns a falsy value.",
        "short_circuit",
    ),
    _spec(
        "EmailOperator",
        "Email",
        "Notifications",
        "operator",
        (P("airflow.providers.smtp.operators.smtp", "EmailOperator"), P("airflow.operators.email", "EmailOperator")),
        (
            F("to", "str_or_list", "Recipients.", required=True, templated=True),
            F("subject", "str", "Subject line.", required=True, templated=True),
            F("html_content", "str", "HTML body.", required=True, templated=True),
            F("files", "list", "Paths of files to attach.", default=None, templated=True),
            F("cc", "str_or_list", "Carbon copy.", default=None, templated=True),
            F("bcc", "str_or_list", "Blind carbon copy.", default=None, templated=True),
            F("mime_subtype", "str", "MIME subtype.", default="mixed", templated=True),
            F("mime_charset", "str", "Character set.", default="utf-8", templated=True),
            F("conn_id", "str", "SMTP connection.", default="smtp_default", templated=True),
            F("from_email", "str", "Sender (default: the connection's from_email).", default=None, templated=True),
        ),
        "Sends an email over SMTP.",
        "email",
        SMTP,
    ),
    _spec(
        "DockerOperator",
        "Docker",
        "Containers",
        "operator",
        (P("airflow.providers.docker.operators.docker", "DockerOperator"),) * 2,
        (
            F("image", "str", "Image to run, e.g. python:3.12-slim.", required=True, templated=True),
            F("command", "str_or_list", "Command run in the container.", default=None, templated=True),
            F("environment", "dict", "Environment variables.", default=None, templated=True),
            F(
                "private_environment",
                "dict",
                "Environment variables hidden from logs and the UI.",
                default=None,
                secret=True,
            ),
            F("mounts", "list", "docker.types.Mount objects.", default=None, templated=True),
            F(
                "network_mode",
                "str",
                "Network mode (bridge, host, none, container:<name>).",
                default=None,
            ),
            F(
                "auto_remove",
                "enum",
                "Remove the container when it ends.",
                "never",
                choices=("never", "success", "force"),
            ),
            F(
                "docker_url",
                "str",
                "Docker daemon address (default: DOCKER_HOST or the local socket).",
                default=None,
            ),
            F("mount_tmp_dir", "bool", "Bind a temporary host directory at tmp_dir.", default=True),
            F("tmp_dir", "str", "Where the temporary directory is mounted.", default="/tmp/airflow"),
            F("user", "str", "User inside the container.", default=None),
            F("working_dir", "str", "Working directory inside the container.", default=None),
            F("entrypoint", "str_or_list", "Overrides the image's entrypoint.", default=None),
            F("force_pull", "bool", "Pull the image even if present.", default=False),
            F("api_version", "str", "Docker API version.", default=None),
            F("container_name", "str", "Name of the container.", default=None, templated=True),
            F("retrieve_output", "bool", "Return the file at retrieve_output_path as XCom.", default=False),
            F("retrieve_output_path", "str", "Path of the output file in the container.", default=None),
            F("xcom_all", "bool", "Push all output lines, not only the last.", default=False),
            F("docker_conn_id", "str", "Registry connection for private images.", default=None, templated=True),
        ),
        "Runs a command in a Docker container; its output streams into the task log.",
        "docker",
        DOCKER,
    ),
    _spec(
        "S3CreateBucketOperator",
        "S3 create bucket",
        "Storage",
        "operator",
        (P(_S3, "S3CreateBucketOperator"),) * 2,
        (
            F("bucket_name", "str", "Bucket to create.", required=True, templated=True),
            F("region_name", "str", "Region of the bucket.", default=None, templated=True),
            _AWS,
        ),
        "Creates an S3 bucket.",
        "s3",
        AMAZON,
    ),
    _spec(
        "S3CreateObjectOperator",
        "S3 create object",
        "Storage",
        "operator",
        (P(_S3, "S3CreateObjectOperator"),) * 2,
        (
            F("s3_key", "str", "Key (or s3:// URL) of the object.", required=True, templated=True),
            F("data", "any", "Content (string or bytes).", required=True, templated=True),
            F("s3_bucket", "str", "Bucket (unless s3_key is a URL).", default=None, templated=True),
            F("replace", "bool", "Overwrite an existing object.", default=False),
            F("encrypt", "bool", "Server-side encryption.", default=False),
            F("acl_policy", "str", "Canned ACL.", default=None),
            F("encoding", "str", "Encoding of string data.", default=None),
            F("compression", "str", "gzip the data.", default=None),
            _AWS,
        ),
        "Writes an object to S3.",
        "s3",
        AMAZON,
    ),
    _spec(
        "S3CopyObjectOperator",
        "S3 copy object",
        "Storage",
        "operator",
        (P(_S3, "S3CopyObjectOperator"),) * 2,
        (
            F("source_bucket_key", "str", "Source key or s3:// URL.", required=True, templated=True),
            F("dest_bucket_key", "str", "Destination key or s3:// URL.", required=True, templated=True),
            F("source_bucket_name", "str", "Source bucket (unless the key is a URL).", default=None, templated=True),
            F("dest_bucket_name", "str", "Destination bucket (unless the key is a URL).", default=None, templated=True),
            F("source_version_id", "str", "Version of the source object.", default=None),
            F("acl_policy", "str", "Canned ACL.", default=None),
            _AWS,
        ),
        "Copies an S3 object.",
        "s3",
        AMAZON,
    ),
    _spec(
        "S3DeleteObjectsOperator",
        "S3 delete objects",
        "Storage",
        "operator",
        (P(_S3, "S3DeleteObjectsOperator"),) * 2,
        (
            F("bucket", "str", "Bucket.", required=True, templated=True),
            F("keys", "str_or_list", "Key(s) to delete.", default=None, templated=True),
            F("prefix", "str", "Delete every key with this prefix.", default=None, templated=True),
            _AWS,
        ),
        "Deletes S3 objects by key or prefix.",
        "s3",
        AMAZON,
    ),
    _spec(
        "S3ListOperator",
        "S3 list",
        "Storage",
        "operator",
        (P(_S3, "S3ListOperator"),) * 2,
        (
            F("bucket", "str", "Bucket.", required=True, templated=True),
            F("prefix", "str", "Only keys with this prefix.", default="", templated=True),
            F("delimiter", "str", "Group keys by this delimiter.", default="", templated=True),
            _AWS,
        ),
        "Lists keys of a bucket; the list is the XCom.",
        "s3",
        AMAZON,
    ),
    _spec(
        "S3FileTransformOperator",
        "S3 file transform",
        "Storage",
        "operator",
        (P(_S3, "S3FileTransformOperator"),) * 2,
        (
            F("source_s3_key", "str", "Source s3:// URL.", required=True, templated=True),
            F("dest_s3_key", "str", "Destination s3:// URL.", required=True, templated=True),
            F("transform_script", "str", "Executable run as `script source dest`.", default=None),
            F("select_expression", "str", "S3 Select expression instead of a script.", default=None),
            F("script_args", "list", "Extra arguments of the script.", default=None, templated=True),
            F("replace", "bool", "Overwrite the destination.", default=False),
            F("source_aws_conn_id", "str", "Connection for the source.", default="aws_default", templated=True),
            F("dest_aws_conn_id", "str", "Connection for the destination.", default="aws_default", templated=True),
        ),
        "Downloads an object, transforms it with a script, uploads the result.",
        "s3",
        AMAZON,
    ),
    _spec(
        "FileSensor",
        "File sensor",
        "Sensors",
        "sensor",
        (
            P("airflow.providers.standard.sensors.filesystem", "FileSensor"),
            P("airflow.sensors.filesystem", "FileSensor"),
        ),
        (
            F("filepath", "str", "File, folder or glob pattern to wait for.", required=True, templated=True),
            F("fs_conn_id", "str", "Connection whose path is the base folder.", default="fs_default"),
            F("recursive", "bool", "Match ** patterns recursively.", default=False),
            *SENSOR_FIELDS,
        ),
        "Waits until a file or folder exists.",
        "file_sensor",
    ),
    _spec(
        "PythonSensor",
        "Python sensor",
        "Sensors",
        "sensor",
        (P("airflow.providers.standard.sensors.python", "PythonSensor"), P("airflow.sensors.python", "PythonSensor")),
        (
            *(f for f in _CALLABLE_FIELDS if f.name in ("python_callable", "op_args", "op_kwargs", "templates_dict")),
            *SENSOR_FIELDS,
        ),
        "Waits until a function returns True.",
        "python_sensor",
    ),
    _spec(
        "S3KeySensor",
        "S3 key sensor",
        "Sensors",
        "sensor",
        (P("airflow.providers.amazon.aws.sensors.s3", "S3KeySensor"),) * 2,
        (
            F("bucket_key", "str_or_list", "Key(s) or s3:// URL(s) to wait for.", required=True, templated=True),
            F("bucket_name", "str", "Bucket (unless bucket_key is a URL).", default=None, templated=True),
            F("wildcard_match", "bool", "bucket_key is a Unix wildcard pattern.", default=False),
            F("check_fn", "callable", "Extra check on the matched objects' metadata.", default=None),
            F("verify", "any", "TLS verification (bool or CA bundle path).", default=None, templated=True),
            F("use_regex", "bool", "bucket_key is a regular expression.", default=False),
            _AWS,
            *SENSOR_FIELDS,
        ),
        "Waits until a key exists in S3.",
        "s3_sensor",
        AMAZON,
    ),
    _spec(
        "@task",
        "TaskFlow task",
        "TaskFlow",
        "taskflow",
        (P("airflow.sdk", "task"), P("airflow.decorators", "task")),
        (
            F("python_callable", "callable", "The decorated function.", required=True),
            F("op_args", "list", "Arguments of the call.", default=None, templated=True),
            F("op_kwargs", "dict", "Keyword arguments of the call.", default=None, templated=True),
            F("templates_dict", "dict", "Values rendered by Jinja.", default=None, templated=True),
        ),
        "A Python function turned into a task; its return value is the XCom.",
        "task",
    ),
    _spec(
        "@task.branch",
        "TaskFlow branch",
        "TaskFlow",
        "taskflow",
        (P("airflow.sdk", "task"), P("airflow.decorators", "task")),
        (
            F("python_callable", "callable", "The decorated function.", required=True),
            F("op_args", "list", "Arguments of the call.", default=None, templated=True),
            F("op_kwargs", "dict", "Keyword arguments of the call.", default=None, templated=True),
        ),
        "A function that returns the task id(s) to follow.",
        "branch",
        decorator="branch",
    ),
    _spec(
        "@task.short_circuit",
        "TaskFlow short circuit",
        "TaskFlow",
        "taskflow",
        (P("airflow.sdk", "task"), P("airflow.decorators", "task")),
        (
            F("python_callable", "callable", "The decorated function.", required=True),
            F("op_args", "list", "Arguments of the call.", default=None, templated=True),
            F("op_kwargs", "dict", "Keyword arguments of the call.", default=None, templated=True),
            F("ignore_downstream_trigger_rules", "bool", "Skip all downstream tasks.", default=True),
        ),
        "Skips downstream tasks when the function returns a falsy value.",
        "short_circuit",
        decorator="short_circuit",
    ),
    _spec(
        "@task.sensor",
        "TaskFlow sensor",
        "TaskFlow",
        "taskflow",
        (P("airflow.sdk", "task"), P("airflow.decorators", "task")),
        (
            F(
                "python_callable",
                "callable",
                "The decorated function (returns bool or PokeReturnValue).",
                required=True,
            ),
            F("op_args", "list", "Arguments of the call.", default=None, templated=True),
            F("op_kwargs", "dict", "Keyword arguments of the call.", default=None, templated=True),
            *SENSOR_FIELDS,
        ),
        "A sensor whose poke is a Python function.",
        "python_sensor",
        decorator="sensor",
    ),
    _spec(
        "@task.bash",
        "TaskFlow bash",
        "TaskFlow",
        "taskflow",
        (P("airflow.sdk", "task"), P("airflow.decorators", "task")),
        (
            F("python_callable", "callable", "A function returning the command to run.", required=True),
            F("op_args", "list", "Arguments of the call.", default=None, templated=True),
            F("op_kwargs", "dict", "Keyword arguments of the call.", default=None, templated=True),
            F("env", "dict", "Environment of the command.", default=None, templated=True),
            F("append_env", "bool", "Add env to the inherited environment.", default=False),
            F("cwd", "str", "Working directory.", default=None),
        ),
        "A function that returns a shell command, which then runs.",
        "bash",
        decorator="bash",
    ),
    _spec(
        "custom",
        "Custom operator",
        "Custom",
        "custom",
        (None, None),
        (),
        "Any operator class by import path, with its keyword arguments kept as written.",
        "custom",
        provider="",
    ),
)

SPEC_BY_ID: dict[str, OperatorSpec] = {s.id: s for s in SPECS}
__all__ = [
    "AIRFLOW3_DAG_DEFAULTS", "BASE_FIELDS", "BASE_FIELD_MAP", "CATEGORIES", "DAG_FIELDS", "DAG_FIELD_MAP",
    "SENSOR_FIELDS", "SPECS", "SPEC_BY_ID", "get_spec", "spec_for_class", "task_field",
]  # fmt: skip
BASE_FIELD_MAP: dict[str, F] = {f.name: f for f in BASE_FIELDS}
DAG_FIELD_MAP: dict[str, F] = {f.name: f for f in DAG_FIELDS}
CATEGORIES: tuple[str, ...] = (
    "Python",
    "Shell",
    "Containers",
    "Storage",
    "Sensors",
    "Notifications",
    "Flow control",
    "TaskFlow",
    "Custom",
)


def get_spec(operator_id: str) -> OperatorSpec | None:
    """The spec for an operator id (``"BashOperator"``, ``"@task.branch"``, ``"custom"``), or None."""
    return SPEC_BY_ID.get(operator_id)


def task_field(spec: OperatorSpec, name: str) -> F | None:
    """The FieldSpec of a task argument: the operator's own, else a BaseOperator argument."""
    return spec.field(name) or BASE_FIELD_MAP.get(name)


def spec_for_class(module: str, name: str) -> OperatorSpec | None:
    """The spec of a non-TaskFlow operator class imported as ``from module import name`` (AF2 or AF3 path)."""
    for spec in SPECS:
        if spec.kind == "taskflow":
            continue
        for path in (spec.airflow3, spec.airflow2):
            if (
                path is not None
                and path.name == name
                and (path.module == module or module in _ALIASES.get(path.module, ()))
            ):
                return spec
    return None


# Older or alternative modules that export the same classes (Airflow 2.x before 2.2, deprecated paths).
_ALIASES: dict[str, tuple[str, ...]] = {
    "airflow.operators.python": ("airflow.operators.python_operator",),
    "airflow.operators.bash": ("airflow.operators.bash_operator",),
    "airflow.operators.empty": ("airflow.operators.dummy",),
    "airflow.operators.email": ("airflow.operators.email_operator",),
    "airflow.sensors.filesystem": ("airflow.sensors.file_sensor", "airflow.contrib.sensors.file_sensor"),
    "airflow.sensors.python": ("airflow.contrib.sensors.python_sensor",),
    "airflow.providers.amazon.aws.operators.s3": (
        "airflow.providers.amazon.aws.operators.s3_bucket",
        "airflow.providers.amazon.aws.operators.s3_copy_object",
        "airflow.providers.amazon.aws.operators.s3_delete_objects",
        "airflow.providers.amazon.aws.operators.s3_list",
        "airflow.providers.amazon.aws.operators.s3_file_transform",
    ),
    "airflow.providers.amazon.aws.sensors.s3": (
        "airflow.providers.amazon.aws.sensors.s3_key",
        "airflow.sensors.s3_key_sensor",
    ),
    "airflow.providers.smtp.operators.smtp": ("airflow.providers.smtp.operators.email",),
}
