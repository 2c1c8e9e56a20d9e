"""``S3Hook`` (``airflow.providers.amazon.aws.hooks.s3``): the provider's thick wrapper of boto3's S3
client and resource, with its signatures, ``s3://`` URL handling and bucket defaults (``s3_urls.py``):
buckets, listing (prefixes, wildcards, LastModified filters), head/read/select of keys here; uploads,
copies, deletes and downloads in ``s3_writes.py``."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterator
from typing import Any

from studio.sdk.amazon.connection import DEFAULT_CONN_ID, AwsGenericHook
from studio.sdk.amazon.s3_urls import (
    S3HookUriParseFailure,
    _key_and_bucket,
    get_s3_bucket_key,
    parse_s3_url,
    provide_bucket_name,
    unify_bucket_name_and_key,
)
from studio.sdk.amazon.s3_writes import NO_ACL, S3WriteMixin
from studio.sdk.exceptions import AirflowException

__all__ = ["NO_ACL", "S3Hook", "S3HookUriParseFailure", "provide_bucket_name", "unify_bucket_name_and_key"]


class S3Hook(S3WriteMixin, AwsGenericHook):
    """Interact with S3 through boto3 (client ``get_conn()``, resource ``resource``)."""

    def __init__(
        self,
        aws_conn_id: str | None = DEFAULT_CONN_ID,
        transfer_config_args: dict[str, Any] | None = None,
        extra_args: dict[str, Any] | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        kwargs["client_type"] = "s3"
        kwargs["aws_conn_id"] = aws_conn_id
        self._requester_pays = kwargs.pop("requester_pays", False)
        if transfer_config_args and not isinstance(transfer_config_args, dict):
            raise TypeError(f"transfer_config_args expected dict, got {type(transfer_config_args).__name__}.")
        if extra_args and not isinstance(extra_args, dict):
            raise TypeError(f"extra_args expected dict, got {type(extra_args).__name__}.")
        self._transfer_config_args = dict(transfer_config_args or {})
        self._extra_args = dict(extra_args or {})
        self._resource: Any = None
        super().__init__(*args, **kwargs)

    @property
    def transfer_config(self) -> Any:
        from boto3.s3.transfer import TransferConfig

        return TransferConfig(**{**self.service_config.get("transfer_config_args", {}), **self._transfer_config_args})

    @property
    def resource(self) -> Any:
        if self._resource is None:
            self._resource = self.get_session(self.region_name).resource(
                "s3",
                endpoint_url=self.conn_config.get_service_endpoint_url("s3"),
                config=self.config,
                verify=self.verify,
            )
        return self._resource

    @property
    def extra_args(self) -> dict[str, Any]:
        return dict(self._extra_args)

    def _payer(self, params: dict[str, Any]) -> dict[str, Any]:
        if self._requester_pays:
            params["RequestPayer"] = "requester"
        return params

    parse_s3_url = staticmethod(parse_s3_url)
    get_s3_bucket_key = staticmethod(get_s3_bucket_key)

    @provide_bucket_name
    def check_for_bucket(self, bucket_name: str | None = None) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.get_conn().head_bucket(Bucket=bucket_name)
            return True
        except ClientError as err:
            code = str(err.response["Error"]["Code"])
            if code == "404":
                self.log.info('Bucket "%s" does not exist', bucket_name)
            elif code == "403":
                self.log.error('Access to bucket "%s" is forbidden or there was an error with the request', bucket_name)
            return False

    @provide_bucket_name
    def get_bucket(self, bucket_name: str | None = None) -> Any:
        return self.resource.Bucket(bucket_name)

    @provide_bucket_name
    def create_bucket(
        self, bucket_name: str | None = None, region_name: str | None = None, bucket_namespace: str | None = None
    ) -> None:
        if not region_name:
            if self.conn_region_name == "aws-global":
                raise AirflowException(
                    "Unable to create bucket if `region_name` not set and boto3 configured to use s3 regional endpoints."
                )
            region_name = self.conn_region_name
        kwargs: dict[str, Any] = {"Bucket": bucket_name}
        if region_name != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region_name}
        if bucket_namespace:
            kwargs["BucketNamespace"] = bucket_namespace
        self.get_conn().create_bucket(**kwargs)

    @provide_bucket_name
    def delete_bucket(self, bucket_name: str, force_delete: bool = False, max_retries: int = 5) -> None:
        if force_delete:
            keys = self.list_keys(bucket_name=bucket_name)
            if keys:
                self.delete_objects(bucket=bucket_name, keys=keys)
        self.get_conn().delete_bucket(Bucket=bucket_name)

    @provide_bucket_name
    def check_for_prefix(self, prefix: str, delimiter: str, bucket_name: str | None = None) -> bool:
        if not prefix.endswith(delimiter):
            prefix += delimiter
        previous_level = re.split(rf"(\w+[{delimiter}])$", prefix, maxsplit=1)[0]
        return prefix in self.list_prefixes(bucket_name, previous_level, delimiter)

    def _pages(self, **params: Any) -> Iterator[dict[str, Any]]:
        paginator = self.get_conn().get_paginator("list_objects_v2")
        yield from paginator.paginate(**self._payer({k: v for k, v in params.items() if v is not None}))

    @provide_bucket_name
    def list_prefixes(
        self,
        bucket_name: str | None = None,
        prefix: str | None = None,
        delimiter: str | None = None,
        page_size: int | None = None,
        max_items: int | None = None,
    ) -> list[str]:
        config = {"PageSize": page_size, "MaxItems": max_items}
        pages = self._pages(Bucket=bucket_name, Prefix=prefix or "", Delimiter=delimiter or "", PaginationConfig=config)
        return [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]

    @provide_bucket_name
    def list_keys(
        self,
        bucket_name: str | None = None,
        prefix: str | None = None,
        delimiter: str | None = None,
        page_size: int | None = None,
        max_items: int | None = None,
        start_after_key: str | None = None,
        from_datetime: Any = None,
        to_datetime: Any = None,
        object_filter: Callable[..., list[Any]] | None = None,
        apply_wildcard: bool = False,
    ) -> list[Any]:
        """Keys under ``prefix`` (``*`` a wildcard with ``apply_wildcard``), filtered by LastModified."""
        original = prefix or ""
        wildcard = bool(apply_wildcard and "*" in original)
        config = {"PageSize": page_size, "MaxItems": max_items}
        pages = self._pages(
            Bucket=bucket_name,
            Prefix=original.split("*", 1)[0] if wildcard else original,
            Delimiter=delimiter or "",
            PaginationConfig=config,
            StartAfter=start_after_key or "",
        )
        objects = [
            item
            for page in pages
            for item in page.get("Contents", [])
            if not wildcard or fnmatch.fnmatch(item["Key"], original)
        ]
        if object_filter is not None:
            return object_filter(objects, from_datetime, to_datetime)

        def in_period(when: Any) -> bool:
            if from_datetime is not None and when <= from_datetime:
                return False
            return to_datetime is None or when <= to_datetime

        return [item["Key"] for item in objects if in_period(item["LastModified"])]

    @provide_bucket_name
    def iter_file_metadata(
        self, prefix: str, bucket_name: str | None = None, page_size: int | None = None, max_items: int | None = None
    ) -> Iterator[dict[str, Any]]:
        config = {"PageSize": page_size, "MaxItems": max_items}
        for page in self._pages(Bucket=bucket_name, Prefix=prefix, PaginationConfig=config):
            yield from page.get("Contents", [])

    def get_file_metadata(self, prefix: str, bucket_name: str | None = None, **kwargs: Any) -> list[dict[str, Any]]:
        return list(self.iter_file_metadata(prefix, bucket_name, **kwargs))

    @_key_and_bucket
    def head_object(self, key: str, bucket_name: str | None = None) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            return self.get_conn().head_object(**self._payer({"Bucket": bucket_name, "Key": key}))
        except ClientError as err:
            if err.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
                return None
            raise

    @_key_and_bucket
    def check_for_key(self, key: str, bucket_name: str | None = None) -> bool:
        return self.head_object(key, bucket_name) is not None

    @_key_and_bucket
    def get_key(self, key: str, bucket_name: str | None = None) -> Any:
        from boto3.s3.transfer import S3Transfer

        params = {k: v for k, v in self.extra_args.items() if k in S3Transfer.ALLOWED_DOWNLOAD_ARGS}
        obj = self.resource.Object(bucket_name, key)
        obj.load(**self._payer(params))
        return obj

    @_key_and_bucket
    def read_key(self, key: str, bucket_name: str | None = None) -> str:
        return self.get_key(key, bucket_name).get()["Body"].read().decode("utf-8")

    @_key_and_bucket
    def select_key(
        self,
        key: str,
        bucket_name: str | None = None,
        expression: str | None = None,
        expression_type: str | None = None,
        input_serialization: dict[str, Any] | None = None,
        output_serialization: dict[str, Any] | None = None,
    ) -> str:
        response = self.get_conn().select_object_content(
            Bucket=bucket_name,
            Key=key,
            Expression=expression or "SELECT * FROM S3Object",
            ExpressionType=expression_type or "SQL",
            InputSerialization={"CSV": {}} if input_serialization is None else input_serialization,
            OutputSerialization={"CSV": {}} if output_serialization is None else output_serialization,
        )
        return b"".join(e["Records"]["Payload"] for e in response["Payload"] if "Records" in e).decode("utf-8")

    @_key_and_bucket
    def check_for_wildcard_key(self, wildcard_key: str, bucket_name: str | None = None, delimiter: str = "") -> bool:
        return (
            self.get_wildcard_key(wildcard_key=wildcard_key, bucket_name=bucket_name, delimiter=delimiter) is not None
        )

    @_key_and_bucket
    def get_wildcard_key(self, wildcard_key: str, bucket_name: str | None = None, delimiter: str = "") -> Any:
        prefix = re.split(r"[\[*?]", wildcard_key, maxsplit=1)[0]
        matches = [
            k
            for k in self.list_keys(bucket_name, prefix=prefix, delimiter=delimiter)
            if fnmatch.fnmatch(k, wildcard_key)
        ]
        return self.get_key(matches[0], bucket_name) if matches else None
