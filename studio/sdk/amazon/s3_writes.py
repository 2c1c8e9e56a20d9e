"""The writing half of ``S3Hook``: uploads (``load_file``/``load_string``/``load_bytes``/
``load_file_obj``; an existing key without ``replace`` is a ValueError), ``copy_object``,
``delete_objects`` (1000 keys a request; per-key errors fail), ``download_file`` and presigned URLs."""

from __future__ import annotations

import gzip as gz
import io
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from studio.sdk.amazon.s3_urls import _key_and_bucket
from studio.sdk.exceptions import AirflowException

NO_ACL = "no-acl"


class S3WriteMixin:
    """Methods of ``S3Hook`` that write, copy, delete or download (it provides the client and helpers)."""

    get_conn: Any
    check_for_key: Any
    get_key: Any
    get_s3_bucket_key: Any
    extra_args: Any
    transfer_config: Any
    log: Any
    _payer: Any

    def _upload_args(self, encrypt: bool, acl_policy: str | None) -> dict[str, Any]:
        extra = self.extra_args
        if encrypt:
            extra["ServerSideEncryption"] = "AES256"
        if acl_policy:
            extra["ACL"] = acl_policy
        return self._payer(extra)

    @_key_and_bucket
    def load_file(
        self,
        filename: Path | str,
        key: str,
        bucket_name: str | None = None,
        replace: bool = False,
        encrypt: bool = False,
        gzip: bool = False,
        acl_policy: str | None = None,
    ) -> None:
        filename = str(filename)
        if not replace and self.check_for_key(key, bucket_name):
            raise ValueError(f"The key {key} already exists.")
        if gzip:
            with open(filename, "rb") as f_in, gz.open(f"{filename}.gz", "wb") as f_out:
                shutil.copyfileobj(f_in, f_out)
            filename = f"{filename}.gz"
        extra = self._upload_args(encrypt, acl_policy)
        self.get_conn().upload_file(filename, bucket_name, key, ExtraArgs=extra, Config=self.transfer_config)

    @_key_and_bucket
    def load_string(
        self,
        string_data: str,
        key: str,
        bucket_name: str | None = None,
        replace: bool = False,
        encrypt: bool = False,
        encoding: str | None = None,
        acl_policy: str | None = None,
        compression: str | None = None,
    ) -> None:
        data = string_data.encode(encoding or "utf-8")
        if compression is not None and compression != "gzip":
            raise NotImplementedError(
                f"Received {compression} compression type. String can currently be compressed in ['gzip'] only."
            )
        if compression == "gzip":
            data = gz.compress(data)
        with io.BytesIO(data) as f:
            self._upload_file_obj(f, key, bucket_name, replace, encrypt, acl_policy)

    @_key_and_bucket
    def load_bytes(
        self,
        bytes_data: bytes,
        key: str,
        bucket_name: str | None = None,
        replace: bool = False,
        encrypt: bool = False,
        acl_policy: str | None = None,
    ) -> None:
        with io.BytesIO(bytes_data) as f:
            self._upload_file_obj(f, key, bucket_name, replace, encrypt, acl_policy)

    @_key_and_bucket
    def load_file_obj(
        self,
        file_obj: Any,
        key: str,
        bucket_name: str | None = None,
        replace: bool = False,
        encrypt: bool = False,
        acl_policy: str | None = None,
    ) -> None:
        self._upload_file_obj(file_obj, key, bucket_name, replace, encrypt, acl_policy)

    def _upload_file_obj(
        self, file_obj: Any, key: str, bucket_name: str | None, replace: bool, encrypt: bool, acl_policy: str | None
    ) -> None:
        if not replace and self.check_for_key(key, bucket_name):
            raise ValueError(f"The key {key} already exists.")
        extra = self._upload_args(encrypt, acl_policy)
        self.get_conn().upload_fileobj(file_obj, bucket_name, key, ExtraArgs=extra, Config=self.transfer_config)

    def copy_object(
        self,
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
    ) -> Any:
        acl_policy = acl_policy or "private"
        if acl_policy != NO_ACL:
            kwargs["ACL"] = acl_policy
        if meta_data_directive:
            kwargs["MetadataDirective"] = meta_data_directive
        if bool(kms_key_id) != bool(kms_encryption_type):
            raise ValueError("kms_key_id and kms_encryption_type must both be specified. Only one was provided.")
        if kms_key_id:
            kwargs["SSEKMSKeyId"], kwargs["ServerSideEncryption"] = kms_key_id, kms_encryption_type
        dest_bucket_name, dest_bucket_key = self.get_s3_bucket_key(
            dest_bucket_name, dest_bucket_key, "dest_bucket_name", "dest_bucket_key"
        )
        source_bucket_name, source_bucket_key = self.get_s3_bucket_key(
            source_bucket_name, source_bucket_key, "source_bucket_name", "source_bucket_key"
        )
        source = {"Bucket": source_bucket_name, "Key": source_bucket_key}
        if source_version_id is not None:
            source["VersionId"] = source_version_id
        return self.get_conn().copy_object(
            Bucket=dest_bucket_name, Key=dest_bucket_key, CopySource=source, **self._payer(kwargs)
        )

    def delete_objects(self, bucket: str, keys: str | list[str]) -> None:
        """Delete ``keys`` (1000 per request); any per-key error fails with the keys named."""
        keys = [keys] if isinstance(keys, str) else list(keys)
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            response = self.get_conn().delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": k} for k in chunk]}, **self._payer({})
            )
            self.log.info("Deleted: %s", [x["Key"] for x in response.get("Deleted", [])])
            if "Errors" in response:
                raise AirflowException(f"Errors when deleting: {[x['Key'] for x in response['Errors']]}")

    @_key_and_bucket
    def download_file(
        self,
        key: str,
        bucket_name: str | None = None,
        local_path: str | None = None,
        preserve_file_name: bool = False,
        use_autogenerated_subdir: bool = True,
    ) -> str:
        """Download to a temporary file (or ``local_path``/the S3 file name); returns the local path."""
        from botocore.exceptions import ClientError

        self.log.info("Downloading source S3 file from Bucket %s with path %s", bucket_name, key)
        try:
            obj = self.get_key(key, bucket_name)
        except ClientError as err:
            if str(err.response.get("Error", {}).get("Code")) == "404":
                raise AirflowException(
                    f"The source file in Bucket {bucket_name} with path {key} does not exist"
                ) from None
            raise
        if preserve_file_name:
            subdir = f"airflow_tmp_dir_{uuid.uuid4().hex[0:8]}" if use_autogenerated_subdir else ""
            path = Path(local_path or tempfile.gettempdir(), subdir, obj.key.rsplit("/", 1)[-1])
            if path.is_file():
                raise FileExistsError(path)
            path.parent.mkdir(exist_ok=True, parents=True)
            file: Any = open(path, "wb")  # noqa: SIM115 - closed below
        else:
            file = tempfile.NamedTemporaryFile(dir=local_path, prefix="airflow_tmp_", delete=False)  # noqa: SIM115
        try:
            obj.download_fileobj(file, ExtraArgs=self._payer(self.extra_args), Config=self.transfer_config)
        finally:
            file.close()
        return file.name

    def generate_presigned_url(
        self,
        client_method: str,
        params: dict[str, Any] | None = None,
        expires_in: int = 3600,
        http_method: str | None = None,
    ) -> str | None:
        return self.get_conn().generate_presigned_url(
            ClientMethod=client_method, Params=params, ExpiresIn=expires_in, HttpMethod=http_method
        )
