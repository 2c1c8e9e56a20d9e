"""``S3KeySensor`` of ``airflow.providers.amazon.aws.sensors.s3``: waits for one or several keys
(``s3://`` URLs, or keys in ``bucket_name``), as Unix wildcards with ``wildcard_match`` or regular
expressions with ``use_regex``, optionally checked by ``check_fn`` on the matched objects' metadata;
poke and reschedule mode come from ``BaseSensorOperator``. ``deferrable=True`` waits the same way (the
local engine has no triggerer; the wait is the same, it only holds the worker)."""

from __future__ import annotations

import fnmatch
import inspect
import re
from collections.abc import Callable, Sequence
from typing import Any

from studio.sdk.amazon.connection import DEFAULT_CONN_ID
from studio.sdk.amazon.s3_operators import AwsBaseHookMixin, aws_template_fields
from studio.sdk.params import NOTSET
from studio.sdk.sensors import BaseSensorOperator


class AwsBaseSensor(AwsBaseHookMixin, BaseSensorOperator):
    """Base of the AWS sensors: ``aws_conn_id``, ``region_name``, ``verify``, ``botocore_config``."""

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


class S3KeySensor(AwsBaseSensor):
    """Waits until every key of ``bucket_key`` exists (and ``check_fn`` accepts its objects)."""

    template_fields: Sequence[str] = aws_template_fields("bucket_key", "bucket_name")

    def __init__(
        self,
        *,
        bucket_key: str | list[str],
        bucket_name: str | None = None,
        wildcard_match: bool = False,
        check_fn: Callable[..., bool] | None = None,
        verify: str | bool | None = None,
        deferrable: bool = False,
        use_regex: bool = False,
        metadata_keys: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.bucket_name, self.bucket_key = bucket_name, bucket_key
        self.wildcard_match, self.check_fn = wildcard_match, check_fn
        self.verify, self.deferrable, self.use_regex = verify, deferrable, use_regex
        self.metadata_keys = metadata_keys if metadata_keys else ["Size", "Key"]

    def _check_key(self, key: str, context: Any) -> bool:
        bucket_name, key = self.hook.get_s3_bucket_key(self.bucket_name, key, "bucket_name", "bucket_key")
        self.log.info("Poking for key : s3://%s/%s", bucket_name, key)
        if self.wildcard_match:
            prefix = re.split(r"[\[*?]", key, maxsplit=1)[0]
            matches = []
            for found in self.hook.iter_file_metadata(prefix, bucket_name):
                if fnmatch.fnmatch(found["Key"], key):
                    if self.check_fn is None:
                        return True
                    matches.append(found)
            if not matches:
                return False
            files = [self._metadata(found, bucket_name) for found in matches]
        elif self.use_regex:
            return any(re.match(key, found["Key"]) for found in self.hook.iter_file_metadata("", bucket_name))
        else:
            head = self.hook.head_object(key, bucket_name)
            if head is None:
                return False
            if "*" in self.metadata_keys:
                files = [head]
            else:
                files = [{k: head.get("ContentLength") if k == "Size" else head.get(k) for k in self.metadata_keys}]
        if self.check_fn is None:
            return True
        parameters = inspect.signature(self.check_fn).parameters.values()
        if any(p.kind == inspect.Parameter.VAR_KEYWORD for p in parameters):
            return bool(self.check_fn(files, **context))
        return bool(self.check_fn(files))

    def _metadata(self, found: dict[str, Any], bucket_name: str) -> dict[str, Any]:
        if "*" in self.metadata_keys:
            return self.hook.head_object(found["Key"], bucket_name) or {}
        metadata = {}
        for name in self.metadata_keys:
            if name in found:
                metadata[name] = found[name]
            else:
                self.log.info("Key %s not found in response, performing head_object", name)
                metadata[name] = (self.hook.head_object(found["Key"], bucket_name) or {}).get(name)
        return metadata

    def poke(self, context: Any) -> bool:
        if isinstance(self.bucket_key, str):
            return self._check_key(self.bucket_key, context)
        return all(self._check_key(key, context) for key in self.bucket_key)

    def execute(self, context: Any) -> Any:
        if self.deferrable:
            self.log.info("deferrable=True: the local engine has no triggerer, the sensor pokes in its worker.")
        return super().execute(context)
