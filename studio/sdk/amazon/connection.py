"""An AWS connection as the amazon provider's ``AwsConnectionWrapper`` reads it, and the boto3 session
made from it.

Credentials: the connection's login/password (access key id/secret), else ``aws_access_key_id`` and
``aws_secret_access_key`` in its extras, else ``extra["session_kwargs"]``; ``aws_session_token`` from
the extras. ``region_name``, ``verify``, ``profile_name``, ``endpoint_url`` (any S3-compatible server),
``config_kwargs`` (botocore Config, ``signature_version: unsigned`` allowed), ``service_config``
(per service, e.g. ``{"s3": {"endpoint_url": ..., "bucket_name": ...}}``) and ``role_arn`` (assumed
with STS ``AssumeRole``) from the extras. A missing connection falls back to boto3's own credential
chain, as Airflow does. A region or verify given to the hook wins over the connection's."""

from __future__ import annotations

import copy
import json
import sys
from typing import Any

from studio.sdk.connections import AirflowNotFoundException, BaseHook

DEFAULT_CONN_ID = "aws_default"


class TaskLog:
    """``self.log`` of the S3 hook and operators: lines go to stdout, i.e. the try's log file."""

    def __init__(self, name: str) -> None:
        self.name = name

    def _emit(self, level: str, message: Any, args: tuple[Any, ...]) -> None:
        try:
            text = str(message) % args if args else str(message)
        except (TypeError, ValueError):  # like logging: a bad format does not fail the task
            text = f"{message} {args}"
        prefix = "" if level == "INFO" else f"{level} - "
        print(f"{prefix}{text}", file=sys.stdout, flush=True)

    def debug(self, message: Any, *args: Any) -> None:
        """Debug lines are not written (Airflow's default task log level is INFO)."""

    def info(self, message: Any, *args: Any) -> None:
        self._emit("INFO", message, args)

    def warning(self, message: Any, *args: Any) -> None:
        self._emit("WARNING", message, args)

    def error(self, message: Any, *args: Any) -> None:
        self._emit("ERROR", message, args)

    def exception(self, message: Any, *args: Any) -> None:
        self._emit("ERROR", message, args)


LOG = TaskLog("airflow.providers.amazon")


def get_connection(conn_id: str) -> Any:
    """``BaseHook.get_connection``: the connection ``conn_id`` (environment first, then the store)."""
    return BaseHook.get_connection(conn_id)


def find_connection(conn_id: str | None) -> Any | None:
    """The connection, or None (with Airflow's warning) when it is not defined."""
    if not conn_id:
        return None
    try:
        return get_connection(conn_id)
    except AirflowNotFoundException:
        LOG.warning("Unable to find AWS Connection ID '%s', switching to empty.", conn_id)
        return None


class AwsConnectionConfig:
    """The resolved parameters of an AWS connection (Airflow's ``AwsConnectionWrapper``)."""

    def __init__(
        self, conn: Any | None, region_name: str | None = None, botocore_config: Any = None, verify: Any = None
    ) -> None:
        self.conn_id: str | None = getattr(conn, "conn_id", None)
        self.region_name, self.botocore_config, self.verify = region_name, botocore_config, verify
        self.aws_access_key_id: str | None = None
        self.aws_secret_access_key: str | None = None
        self.aws_session_token: str | None = None
        self.profile_name: str | None = None
        self.endpoint_url: str | None = None
        self.role_arn: str | None = None
        self.assume_role_method: str | None = None
        self.assume_role_kwargs: dict[str, Any] = {}
        self.service_config: dict[str, dict[str, Any]] = {}
        self.extra_config: dict[str, Any] = {}
        self.schema: str | None = None
        if conn is not None:
            self._read(conn)

    def __bool__(self) -> bool:
        return self.conn_id is not None

    def _read(self, conn: Any) -> None:
        extra = _extra_dict(conn)
        self.extra_config = copy.deepcopy(extra)
        self.schema = getattr(conn, "schema", None) or None
        conn_type = getattr(conn, "conn_type", None) or "aws"
        if conn_type != "aws":
            LOG.warning(
                "AWS Connection (conn_id=%r, conn_type=%r) expected connection type 'aws', got %r. "
                "This connection might not work correctly.",
                self.conn_id,
                conn_type,
                conn_type,
            )
        self.service_config = extra.get("service_config", {}) or {}
        login, password = getattr(conn, "login", None), getattr(conn, "password", None)
        session = extra.get("session_kwargs") or {}
        if login and password:
            self.aws_access_key_id, self.aws_secret_access_key = login, password
        elif extra.get("aws_access_key_id") and extra.get("aws_secret_access_key"):
            self.aws_access_key_id = extra["aws_access_key_id"]
            self.aws_secret_access_key = extra["aws_secret_access_key"]
        elif session.get("aws_access_key_id") and session.get("aws_secret_access_key"):
            self.aws_access_key_id = session["aws_access_key_id"]
            self.aws_secret_access_key = session["aws_secret_access_key"]
        self.aws_session_token = extra.get("aws_session_token") or session.get("aws_session_token")
        if not self.region_name and "region_name" in extra:
            self.region_name = extra["region_name"]
        if self.verify is None and "verify" in extra:
            self.verify = _as_bool(extra["verify"])
        self.profile_name = extra.get("profile_name")
        config_kwargs = extra.get("config_kwargs")
        if not self.botocore_config and config_kwargs:
            from botocore import UNSIGNED
            from botocore.config import Config

            config_kwargs = dict(config_kwargs)
            if config_kwargs.get("signature_version") == "unsigned":
                config_kwargs["signature_version"] = UNSIGNED
            self.botocore_config = Config(**config_kwargs)
        self.endpoint_url = extra.get("endpoint_url")
        self.role_arn = extra.get("role_arn")
        if self.role_arn:
            self.assume_role_method = extra.get("assume_role_method", "assume_role")
            if self.assume_role_method != "assume_role":
                raise NotImplementedError(
                    f"Found assume_role_method={self.assume_role_method!r} in AWS Connection {self.conn_id!r} "
                    "extra; DAG Studio's local engine supports 'assume_role'."
                )
            self.assume_role_kwargs = extra.get("assume_role_kwargs") or {}

    def get_service_config(self, service_name: str) -> dict[str, Any]:
        return self.service_config.get(service_name, {})

    def get_service_endpoint_url(self, service_name: str) -> str | None:
        return self.get_service_config(service_name).get("endpoint_url", self.endpoint_url)

    @property
    def session_kwargs(self) -> dict[str, Any]:
        values = {
            "aws_access_key_id": self.aws_access_key_id,
            "aws_secret_access_key": self.aws_secret_access_key,
            "aws_session_token": self.aws_session_token,
            "region_name": self.region_name,
            "profile_name": self.profile_name,
        }
        return {k: v for k, v in values.items() if v is not None}

    def create_session(self, region_name: str | None = None) -> Any:
        """A boto3 Session: the connection's credentials, boto3's chain without a connection, or the
        credentials of the assumed ``role_arn``."""
        import boto3

        region = region_name or self.region_name
        if not self:
            LOG.info("No connection ID provided. Fallback on boto3 credential strategy (region_name=%r).", region)
            return boto3.session.Session(region_name=region)
        kwargs = self.session_kwargs
        if region:
            kwargs["region_name"] = region
        session = boto3.session.Session(**kwargs)
        if not self.role_arn:
            return session
        sts = session.client("sts", endpoint_url=self.get_service_endpoint_url("sts"), verify=self.verify)
        kwargs_ = {"RoleSessionName": f"Airflow_{self.conn_id}", **self.assume_role_kwargs}
        credentials = sts.assume_role(RoleArn=self.role_arn, **kwargs_)["Credentials"]
        return boto3.session.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=region,
        )


def _extra_dict(conn: Any) -> dict[str, Any]:
    extra = getattr(conn, "extra_dejson", None)
    if extra is None:
        raw = getattr(conn, "extra", None)
        extra = json.loads(raw) if isinstance(raw, str) and raw else raw or {}
    if not isinstance(extra, dict):
        raise TypeError(f"Expected JSON-Object or dict, got {type(extra).__name__}.")
    return dict(extra)


def _as_bool(value: Any) -> Any:
    """``verify`` from a URI query arrives as text: "false"/"true" mean the booleans, a path stays a path."""
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


class AwsGenericHook(BaseHook):
    """The provider's ``AwsGenericHook``/``AwsBaseHook``: a boto3 client or resource of one service made
    from the connection ``aws_conn_id`` (cached per hook)."""

    conn_name_attr = "aws_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = "aws"
    hook_name = "Amazon Web Services"
    log = LOG  # type: ignore[assignment]  # lines into the task log

    def __init__(
        self,
        aws_conn_id: str | None = DEFAULT_CONN_ID,
        verify: bool | str | None = None,
        region_name: str | None = None,
        client_type: str | None = None,
        resource_type: str | None = None,
        config: Any = None,
    ) -> None:
        super().__init__()
        self.aws_conn_id = aws_conn_id
        self.client_type, self.resource_type = client_type, resource_type
        self._region_name, self._verify = region_name, verify
        if isinstance(config, dict):
            from botocore.config import Config

            config = Config(**config)
        self._config = config
        self._conn_config: AwsConnectionConfig | None = None
        self._conn: Any = None

    @property
    def conn_config(self) -> AwsConnectionConfig:
        if self._conn_config is None:
            connection = find_connection(self.aws_conn_id)
            self._conn_config = AwsConnectionConfig(connection, self._region_name, self._config, self._verify)
        return self._conn_config

    @property
    def service_name(self) -> str:
        if bool(self.client_type) == bool(self.resource_type):
            raise ValueError(
                f"Either client_type={self.client_type!r} or resource_type={self.resource_type!r} must be "
                "provided, not both."
            )
        return self.client_type or self.resource_type  # type: ignore[return-value]

    @property
    def service_config(self) -> dict[str, Any]:
        return self.conn_config.get_service_config(self.service_name)

    @property
    def region_name(self) -> str | None:
        return self.conn_config.region_name

    @property
    def config(self) -> Any:
        from botocore.config import Config

        return self.conn_config.botocore_config or Config()

    @property
    def verify(self) -> bool | str | None:
        return self.conn_config.verify

    def get_session(self, region_name: str | None = None) -> Any:
        return self.conn_config.create_session(region_name)

    def get_client_type(self, region_name: str | None = None, config: Any = None) -> Any:
        service = self.client_type or self.service_name
        return self.get_session(region_name).client(
            service_name=service,
            endpoint_url=self.conn_config.get_service_endpoint_url(service),
            config=config or self.config,
            verify=self.verify,
        )

    def get_resource_type(self, region_name: str | None = None, config: Any = None) -> Any:
        service = self.resource_type or self.service_name
        return self.get_session(region_name).resource(
            service_name=service,
            endpoint_url=self.conn_config.get_service_endpoint_url(service),
            config=config or self.config,
            verify=self.verify,
        )

    @property
    def conn(self) -> Any:
        if self._conn is None:
            if self.client_type:
                self._conn = self.get_client_type(region_name=self.region_name)
            else:
                self._conn = self.get_resource_type(region_name=self.region_name)
        return self._conn

    def get_conn(self) -> Any:
        return self.conn

    @property
    def conn_region_name(self) -> str:
        client = getattr(self.conn.meta, "client", self.conn)  # a resource's meta holds its client
        return client.meta.region_name


AwsBaseHook = AwsGenericHook
