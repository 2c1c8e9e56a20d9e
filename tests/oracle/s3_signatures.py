"""Run inside the Airflow virtualenv (or with DAG Studio's hook installed): the amazon provider's S3
classes as JSON — each class's ``template_fields`` and its own ``__init__`` keyword parameters, and the
signatures of S3Hook's methods users call. Parameter defaults are given by ``repr`` (None = required).

Usage: s3_signatures.py [studio]  — with ``studio`` the classes come from DAG Studio's ``airflow.*``."""

import contextlib
import inspect
import json
import sys

CLASSES = {
    "airflow.providers.amazon.aws.operators.s3": [
        "S3CreateBucketOperator", "S3CreateObjectOperator", "S3CopyObjectOperator", "S3DeleteObjectsOperator",
        "S3ListOperator", "S3FileTransformOperator",
    ],
    "airflow.providers.amazon.aws.sensors.s3": ["S3KeySensor"],
    "airflow.providers.amazon.aws.operators.base_aws": ["AwsBaseOperator"],
    "airflow.providers.amazon.aws.sensors.base_aws": ["AwsBaseSensor"],
}  # fmt: skip
HOOK_METHODS = [
    "__init__", "parse_s3_url", "get_s3_bucket_key", "check_for_bucket", "get_bucket", "create_bucket", "delete_bucket",
    "check_for_prefix", "list_prefixes", "list_keys", "iter_file_metadata", "head_object", "check_for_key", "get_key",
    "read_key", "select_key", "check_for_wildcard_key", "get_wildcard_key", "load_file", "load_string", "load_bytes",
    "load_file_obj", "copy_object", "delete_objects", "download_file", "generate_presigned_url",
]  # fmt: skip


def parameters(func) -> dict:
    out = {}
    for name, p in inspect.signature(func).parameters.items():
        if name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        out[name] = None if p.default is p.empty else repr(p.default)
    return out


def main() -> None:
    if sys.argv[1:] == ["studio"]:
        from studio.sdk import hook

        hook.install()
    import importlib

    out_stream = sys.stdout
    result: dict = {"classes": {}, "hook": {}}
    with contextlib.redirect_stdout(sys.stderr):
        for module, names in CLASSES.items():
            loaded = importlib.import_module(module)
            for name in names:
                cls = getattr(loaded, name)
                result["classes"][name] = {
                    "template_fields": list(cls.template_fields),
                    "params": parameters(cls.__init__),
                }
        s3_hook = importlib.import_module("airflow.providers.amazon.aws.hooks.s3").S3Hook
        for method in HOOK_METHODS:
            result["hook"][method] = parameters(getattr(s3_hook, method))
    json.dump(result, out_stream, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
