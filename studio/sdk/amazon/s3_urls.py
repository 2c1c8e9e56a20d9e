"""S3 URLs and the S3Hook's argument decorators: ``parse_s3_url`` (``s3://bucket/key`` and https forms),
``get_s3_bucket_key``, ``provide_bucket_name`` (a missing bucket from the connection's
``service_config["s3"]["bucket_name"]``) and ``unify_bucket_name_and_key`` (without ``bucket_name``, a key
given as an ``s3://`` URL supplies it), as the amazon provider defines them."""

from __future__ import annotations

import contextlib
import functools
import inspect
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from studio.sdk.exceptions import AirflowException


class S3HookUriParseFailure(AirflowException):
    """The text is not an ``s3://bucket/key`` (or virtual-hosted https) URL."""


def provide_bucket_name(func: Callable[..., Any]) -> Callable[..., Any]:
    """Fill a missing ``bucket_name`` from the connection's ``service_config["s3"]["bucket_name"]``."""
    signature = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        if not bound.arguments.get("bucket_name"):
            service_config = args[0].service_config
            if "bucket_name" in service_config:
                bound.arguments["bucket_name"] = service_config["bucket_name"]
        return func(*bound.args, **bound.kwargs)

    return wrapper


def unify_bucket_name_and_key(func: Callable[..., Any]) -> Callable[..., Any]:
    """Without ``bucket_name``, a key given as an ``s3://`` URL supplies the bucket."""
    signature = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        key_name = "wildcard_key" if "wildcard_key" in bound.arguments else "key"
        if key_name not in bound.arguments:
            raise ValueError("Missing key parameter!")
        if "bucket_name" not in bound.arguments:
            with contextlib.suppress(S3HookUriParseFailure):
                bound.arguments["bucket_name"], bound.arguments[key_name] = parse_s3_url(bound.arguments[key_name])
        return func(*bound.args, **bound.kwargs)

    return wrapper


def _key_and_bucket(func: Callable[..., Any]) -> Callable[..., Any]:
    return unify_bucket_name_and_key(provide_bucket_name(func))


def parse_s3_url(s3url: str) -> tuple[str, str]:
    """(bucket, key) of ``s3://bucket/key`` or a virtual-hosted/path-style https S3 URL."""
    valid = "S3://bucket-name/key-name or https://bucket-name.s3.region-code.amazonaws.com/key-name"
    parts = s3url.split("//")
    if re.match(r"s3[na]?:", parts[0], re.IGNORECASE):
        parsed = urlsplit(s3url, allow_fragments=False)
        if not parsed.netloc:
            raise S3HookUriParseFailure(
                f'Please provide a bucket name using a valid format of the form: {valid} but provided: "{s3url}"'
            )
        return parsed.netloc, parsed.path.lstrip("/")
    if parts[0] == "https:":
        host = parts[1].split(".")
        if host[0] == "s3":
            _, bucket, key = parts[1].split("/", 2)
            return bucket, key
        if len(host) > 1 and host[1] == "s3":
            return host[0], parts[1].partition("/")[-1]
    raise S3HookUriParseFailure(
        f'Please provide a bucket name using a valid format of the form: {valid} but provided: "{s3url}"'
    )


def get_s3_bucket_key(bucket: str | None, key: str, bucket_param_name: str, key_param_name: str) -> tuple[str, str]:
    """A bucket and a relative key, or (without bucket) the parts of an ``s3://`` URL."""
    if bucket is None:
        return parse_s3_url(key)
    parsed = urlsplit(key)
    if parsed.scheme != "" or parsed.netloc != "":
        raise TypeError(
            f"If `{bucket_param_name}` is provided, {key_param_name} should be a relative path "
            "from root level, rather than a full s3:// url"
        )
    return bucket, key
