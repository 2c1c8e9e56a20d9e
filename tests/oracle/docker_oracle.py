"""Oracle: run Airflow's own DockerOperator (docker provider) against a daemon, case by case.

Usage: python docker_oracle.py CASES_JSON — CASES_JSON maps a case name to DockerOperator keyword
arguments (besides task_id). Prints {"signature": ..., "cases": {name: {"result": ..., "error": ...}}}:
the constructor's parameters (name → repr of the default, "<required>" without one), its template
fields and extensions, and for each case what ``execute`` returned or the type and message it raised.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import sys

from airflow.providers.docker.operators.docker import DockerOperator


def signature() -> dict:
    params = inspect.signature(DockerOperator.__init__).parameters
    return {
        "params": {
            name: "<required>" if p.default is inspect.Parameter.empty else repr(p.default)
            for name, p in params.items()
            if name != "self" and p.kind is inspect.Parameter.KEYWORD_ONLY
        },
        "template_fields": list(DockerOperator.template_fields),
        "template_ext": list(DockerOperator.template_ext),
    }


def run(kwargs: dict) -> dict:
    operator = DockerOperator(task_id="oracle", **kwargs)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return {"result": operator.execute({}), "error": None}
    except Exception as err:
        return {"result": None, "error": [type(err).__name__, str(err)]}


def main() -> None:
    cases = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    print(json.dumps({"signature": signature(), "cases": {name: run(kw) for name, kw in cases.items()}}))


if __name__ == "__main__":
    main()
