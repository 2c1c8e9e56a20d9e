"""Oracle: Airflow 3.3.2's task-SDK ``Connection`` parsing, its secrets masker and its default connections.

Run with the Airflow virtualenv's python; reads ``{"uris", "jsons", "parts", "masking"}`` as JSON on stdin
and prints what Airflow makes of each case (see tests/test_sdk_connections.py).
"""

from __future__ import annotations

import json
import sys


def describe(conn) -> dict:
    return {k: getattr(conn, k) for k in ("conn_type", "host", "schema", "login", "password", "port", "extra")}


def attempt(function):
    try:
        return {"ok": function()}
    except Exception as exc:
        return {"error": type(exc).__name__}


def main() -> None:
    from airflow.sdk._shared.secrets_masker.secrets_masker import DEFAULT_SENSITIVE_FIELDS, SecretsMasker
    from airflow.sdk.definitions.connection import Connection
    from airflow.utils.db import get_default_connections

    cases = json.load(sys.stdin)
    out: dict = {"uris": [], "jsons": [], "parts": [], "masking": []}
    for uri in cases["uris"]:

        def parse(uri=uri):
            conn = Connection.from_uri(uri, conn_id="c")
            return {**describe(conn), "get_uri": conn.get_uri()}

        out["uris"].append(attempt(parse))
    for text in cases["jsons"]:
        out["jsons"].append(attempt(lambda text=text: describe(Connection.from_json(text, conn_id="c"))))
    for parts in cases["parts"]:

        def build(parts=parts):
            conn = Connection(conn_id="c", **parts)
            return {"get_uri": conn.get_uri(), "as_json": json.loads(conn.as_json())}

        out["parts"].append(attempt(build))
    for case in cases["masking"]:
        masker = SecretsMasker()
        masker.sensitive_variables_fields = list(DEFAULT_SENSITIVE_FIELDS)
        for secret, name in case["masks"]:
            masker.add_mask(secret, name)
        out["masking"].append(masker.redact(case["value"], case["name"]))
    out["defaults"] = [
        [c.conn_id, c.conn_type, c.host, c.schema, c.login, c.password, c.port, c.extra]
        for c in get_default_connections()
    ]
    json.dump(out, sys.stdout, default=list)


if __name__ == "__main__":
    main()
