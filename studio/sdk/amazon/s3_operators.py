"""The S3 operators of ``airflow.providers.amazon.aws.operators.s3`` with the provider's constructor
signatures, ``template_fields`` (``aws_template_fields``: sorted, with aws_conn_id/region_name/verify)
and behaviour: create a bucket (if missing), create/copy/delete objects, list keys (the list is the
XCom) and transform a file with a script run as ``transform_script source dest [args...]``."""

from __future__ import annotations

import datetime as dt
import functools
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from typing import Any, ClassVar

from studio.sdk.amazon.connection import DEFAULT_CONN_ID, LOG
from studio.sdk.amazon.s3_hook import S3Hook
from studio.sdk.baseoperator import BaseOperator
from studio.sdk.exceptions import AirflowException
from studio.sdk.params import NOTSET


@functools.cache
def aws_template_fields(*template_fields: str) -> tuple[str, ...]:
    """The operator's template fields plus the AWS ones, in alphabetical order (as the provider does)."""
    return tuple(sorted({"aws_conn_id", "region_name", "verify"} | set(template_fields)))


class AwsBaseHookMixin:
    """``hook``: the operator's ``aws_hook_class`` made from its connection, region, verify and config."""

    aws_hook_class: ClassVar[type[S3Hook]] = S3Hook
    aws_conn_id: str | None
    region_name: str | None
    verify: bool | str | None
    botocore_config: dict[str, Any] | None
    log = LOG

    @property
    def _hook_parameters(self) -> dict[str, Any]:
        return {
            "aws_conn_id": self.aws_conn_id,
            "region_name": self.region_name,
            "verify": self.verify,
            "config": self.botocore_config,
        }

    @property
    def hook(self) -> S3Hook:
        cached = self.__dict__.get("_studio_hook")
        if cached is None:
            cached = self.aws_hook_class(**self._hook_parameters)
            object.__setattr__(self, "_studio_hook", cached)
        return cached


class AwsBaseOperator(AwsBaseHookMixin, BaseOperator):
    """Base of the AWS operators: ``aws_conn_id``, ``region_name``, ``verify``, ``botocore_config``."""

    template_fields: Sequence[str] = aws_template_fields()

    def __init__(
        self,
        *,
        aws_conn_id: str | None = DEFAULT_CONN_ID,
        region_name: str | None = None,
        verify: bool | str | None = None,
        botocore_config: dict[str, Any] | None = None,
        region: Any = NOTSET,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.aws_conn_id, self.region_name = aws_conn_id, region_name
        self.verify, self.botocore_config = verify, botocore_config


class S3CreateBucketOperator(AwsBaseOperator):
    """Creates the bucket ``bucket_name`` unless it exists."""

    template_fields: Sequence[str] = aws_template_fields("bucket_name", "bucket_namespace")

    def __init__(self, *, bucket_name: str, bucket_namespace: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bucket_name, self.bucket_namespace = bucket_name, bucket_namespace

    def execute(self, context: Any) -> None:
        if not self.hook.check_for_bucket(self.bucket_name):
            self.hook.create_bucket(
                bucket_name=self.bucket_name, region_name=self.region_name, bucket_namespace=self.bucket_namespace
            )
            self.log.info("Created bucket with name: %s", self.bucket_name)
        else:
            self.log.info("Bucket with name: %s already exists", self.bucket_name)


class S3CopyObjectOperator(AwsBaseOperator):
    """Copies an object (keys as ``s3://`` URLs or with bucket names)."""

    template_fields: Sequence[str] = aws_template_fields(
        "source_bucket_key", "dest_bucket_key", "source_bucket_name", "dest_bucket_name"
    )

    def __init__(
        self,
        *,
        source_bucket_key: str,
        dest_bucket_key: str,
        source_bucket_name: str | None = None,
        dest_bucket_name: str | None = None,
        source_version_id: str | None = None,
        acl_policy: str | None = None,
        meta_data_directive: str | None = None,
        kms_key_id: str | None = None,
        kms_encryption_type: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source_bucket_key, self.dest_bucket_key = source_bucket_key, dest_bucket_key
        self.source_bucket_name, self.dest_bucket_name = source_bucket_name, dest_bucket_name
        self.source_version_id, self.acl_policy = source_version_id, acl_policy
        self.meta_data_directive = meta_data_directive
        self.kms_key_id, self.kms_encryption_type = kms_key_id, kms_encryption_type

    def execute(self, context: Any) -> None:
        self.hook.copy_object(
            self.source_bucket_key,
            self.dest_bucket_key,
            self.source_bucket_name,
            self.dest_bucket_name,
            self.source_version_id,
            self.acl_policy,
            self.meta_data_directive,
            self.kms_key_id,
            self.kms_encryption_type,
        )


class S3CreateObjectOperator(AwsBaseOperator):
    """Writes ``data`` (str or bytes) to ``s3_key``; an existing key fails unless ``replace``."""

    template_fields: Sequence[str] = aws_template_fields("s3_bucket", "s3_key", "data")

    def __init__(
        self,
        *,
        s3_bucket: str | None = None,
        s3_key: str,
        data: str | bytes,
        replace: bool = False,
        encrypt: bool = False,
        acl_policy: str | None = None,
        encoding: str | None = None,
        compression: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.s3_bucket, self.s3_key, self.data = s3_bucket, s3_key, data
        self.replace, self.encrypt, self.acl_policy = replace, encrypt, acl_policy
        self.encoding, self.compression = encoding, compression

    def execute(self, context: Any) -> None:
        bucket, key = self.hook.get_s3_bucket_key(self.s3_bucket, self.s3_key, "dest_bucket", "dest_key")
        if isinstance(self.data, str):
            self.hook.load_string(
                self.data, key, bucket, self.replace, self.encrypt, self.encoding, self.acl_policy, self.compression
            )
        else:
            self.hook.load_bytes(self.data, key, bucket, self.replace, self.encrypt, self.acl_policy)


def _exactly_one(*values: Any) -> bool:
    return sum(map(bool, values)) == 1


class S3DeleteObjectsOperator(AwsBaseOperator):
    """Deletes ``keys``, or every key under ``prefix`` / modified between the two datetimes."""

    template_fields: Sequence[str] = aws_template_fields("keys", "bucket", "prefix", "from_datetime", "to_datetime")

    def __init__(
        self,
        *,
        bucket: str,
        keys: str | list[str] | None = None,
        prefix: str | None = None,
        from_datetime: dt.datetime | str | None = None,
        to_datetime: dt.datetime | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.bucket, self.keys, self.prefix = bucket, keys, prefix
        self.from_datetime, self.to_datetime = from_datetime, to_datetime
        self._keys: str | list[str] = ""
        by_scan = prefix is not None or from_datetime is not None or to_datetime is not None
        if not _exactly_one(keys is not None, by_scan):
            raise ValueError("Either keys or at least one of prefix, from_datetime, to_datetime should be set.")

    def execute(self, context: Any) -> None:
        scans = [self.prefix, self.from_datetime, self.to_datetime]
        if not _exactly_one(self.keys is None, all(v is None for v in scans)):
            raise AirflowException("Either keys or at least one of prefix, from_datetime, to_datetime should be set.")
        if isinstance(self.keys, (list, str)) and not self.keys:
            return
        if isinstance(self.to_datetime, str):
            self.to_datetime = _parse_utc(self.to_datetime)
        if isinstance(self.from_datetime, str):
            self.from_datetime = _parse_utc(self.from_datetime)
        keys = self.keys or self.hook.list_keys(
            bucket_name=self.bucket, prefix=self.prefix, from_datetime=self.from_datetime, to_datetime=self.to_datetime
        )
        if keys:
            self.hook.delete_objects(bucket=self.bucket, keys=keys)
            self._keys = keys


def _parse_utc(text: str) -> dt.datetime:
    """dateutil's parse with the zone replaced by UTC, as the operator does for templated datetimes."""
    from dateutil import parser

    return parser.parse(text).replace(tzinfo=dt.UTC)


class S3FileTransformOperator(AwsBaseOperator):
    """Downloads ``source_s3_key``, runs ``transform_script source dest *script_args`` (output in the
    log; a non-zero exit fails the task) or an S3 Select expression, and uploads the result."""

    template_fields: Sequence[str] = aws_template_fields(
        "source_s3_key", "dest_s3_key", "script_args", "source_aws_conn_id", "dest_aws_conn_id"
    )
    template_ext: Sequence[str] = ()
    ui_color = "#f9c915"

    def __init__(
        self,
        *,
        source_s3_key: str,
        dest_s3_key: str,
        transform_script: str | None = None,
        select_expression: Any = None,
        select_expr_serialization_config: dict[str, dict[str, dict[str, Any]]] | None = None,
        script_args: Sequence[str] | None = None,
        source_aws_conn_id: str | None = DEFAULT_CONN_ID,
        source_verify: bool | str | None = None,
        dest_aws_conn_id: str | None = DEFAULT_CONN_ID,
        dest_verify: bool | str | None = None,
        replace: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source_s3_key, self.source_aws_conn_id, self.source_verify = (
            source_s3_key,
            source_aws_conn_id,
            source_verify,
        )
        self.dest_s3_key, self.dest_aws_conn_id, self.dest_verify = dest_s3_key, dest_aws_conn_id, dest_verify
        self.replace, self.transform_script = replace, transform_script
        self.select_expression = select_expression
        self.select_expr_serialization_config = select_expr_serialization_config or {}
        self.script_args = script_args or []
        self.output_encoding = sys.getdefaultencoding()
        self._process: subprocess.Popen[bytes] | None = None

    def execute(self, context: Any) -> None:
        if self.transform_script is None and self.select_expression is None:
            raise AirflowException("Either transform_script or select_expression must be specified")
        source_s3 = S3Hook(aws_conn_id=self.source_aws_conn_id, verify=self.source_verify)
        dest_s3 = S3Hook(aws_conn_id=self.dest_aws_conn_id, verify=self.dest_verify)
        self.log.info("Downloading source S3 file %s", self.source_s3_key)
        if not source_s3.check_for_key(self.source_s3_key):
            raise AirflowException(f"The source key {self.source_s3_key} does not exist")
        source_object = source_s3.get_key(self.source_s3_key)
        with tempfile.NamedTemporaryFile("wb") as f_source, tempfile.NamedTemporaryFile("wb") as f_dest:
            self.log.info("Dumping S3 file %s contents to local file %s", self.source_s3_key, f_source.name)
            if self.select_expression is not None:
                config = self.select_expr_serialization_config
                content = source_s3.select_key(
                    key=self.source_s3_key,
                    expression=self.select_expression,
                    input_serialization=config.get("input_serialization"),
                    output_serialization=config.get("output_serialization"),
                )
                f_source.write(content.encode("utf-8"))
            else:
                source_object.download_fileobj(Fileobj=f_source)
            f_source.flush()
            if self.transform_script is not None:
                self._transform(f_source.name, f_dest.name)
            self.log.info("Uploading transformed file to S3")
            f_dest.flush()
            dest_s3.load_file(
                filename=f_dest.name if self.transform_script else f_source.name,
                key=self.dest_s3_key,
                replace=self.replace,
            )
            self.log.info("Upload successful")

    def _transform(self, source: str, dest: str) -> None:
        command = [str(self.transform_script), source, dest, *map(str, self.script_args)]
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, close_fds=True) as process:
            self._process = process
            self.log.info("Output:")
            assert process.stdout is not None
            try:
                for line in iter(process.stdout.readline, b""):
                    self.log.info(line.decode(self.output_encoding, errors="backslashreplace").rstrip())
                process.wait()
            except BaseException:  # execution_timeout or SIGTERM: the script must not outlive the try
                process.kill()
                raise
        if process.returncode:
            raise AirflowException(f"Transform script failed: {process.returncode}")
        self.log.info("Transform script successful. Output temporarily located at %s", dest)

    def on_kill(self) -> None:
        """Stop the transform script (the task was cancelled or timed out)."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()


class S3ListOperator(AwsBaseOperator):
    """Lists the keys of ``bucket`` under ``prefix``; the list is the task's XCom."""

    template_fields: Sequence[str] = aws_template_fields("bucket", "prefix", "delimiter")
    ui_color = "#ffd700"

    def __init__(
        self, *, bucket: str, prefix: str = "", delimiter: str = "", apply_wildcard: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.bucket, self.prefix, self.delimiter = bucket, prefix, delimiter
        self.apply_wildcard = apply_wildcard

    def execute(self, context: Any) -> list[str]:
        self.log.info(
            "Getting the list of files from bucket: %s in prefix: %s (Delimiter %s)",
            self.bucket,
            self.prefix,
            self.delimiter,
        )
        return self.hook.list_keys(
            bucket_name=self.bucket, prefix=self.prefix, delimiter=self.delimiter, apply_wildcard=self.apply_wildcard
        )
