"""The ``dagstudio`` commands for the home's state and scheduling: ``scheduler``, ``backfill``, ``dags``,
``pools``, ``connections``, ``variables`` (their handlers, and the parsers of the last two)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from studio.cli.common import home_of as _home
from studio.cli.common import raise_interrupt as _raise_interrupt
from studio.core.diagnostics import Diagnostic, StudioError


def _secrets_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """``connections add|list|delete`` and ``variables set|get|list|delete`` (Airflow's flags)."""
    conns = sub.add_parser("connections", parents=[common], help="connections of the home (encrypted store)")
    actions = conns.add_subparsers(dest="conn_action", metavar="ACTION", required=True)
    add = actions.add_parser("add", parents=[common], help="add a connection (as `airflow connections add`)")
    add.add_argument("conn_id", metavar="CONN_ID")
    add.add_argument(
        "--conn-uri", metavar="URI", help="the connection as a URI: type://login:password@host:port/schema?extra"
    )
    add.add_argument("--conn-json", metavar="JSON", help='the connection as JSON: {"conn_type": ..., "host": ...}')
    for part in ("type", "host", "login", "password", "schema", "extra", "description"):
        add.add_argument(f"--conn-{part}", metavar=part.upper(), help=f"the connection's {part}")
    add.add_argument("--conn-port", type=int, metavar="PORT", help="the connection's port")
    actions.add_parser("list", parents=[common], help="the connections (passwords as ***)").add_argument(
        "--json", action="store_true", help='print {"connections": [...]}'
    )
    actions.add_parser("delete", parents=[common], help="delete a connection").add_argument(
        "conn_id", metavar="CONN_ID"
    )
    conns.set_defaults(handler=cmd_connections)

    variables = sub.add_parser("variables", parents=[common], help="variables of the home (encrypted store)")
    actions = variables.add_subparsers(dest="var_action", metavar="ACTION", required=True)
    put = actions.add_parser("set", parents=[common], help="create or replace a variable")
    put.add_argument("key", metavar="KEY")
    put.add_argument("value", metavar="VALUE")
    put.add_argument("--description", metavar="D", help="what the variable is for")
    get = actions.add_parser("get", parents=[common], help="print a variable (AIRFLOW_VAR_<KEY> first)")
    get.add_argument("key", metavar="KEY")
    get.add_argument("-j", "--json", action="store_true", help="deserialize the value as JSON")
    get.add_argument("-d", "--default", metavar="VAL", help="printed when the variable does not exist")
    actions.add_parser("list", parents=[common], help="the variables' keys").add_argument(
        "--json", action="store_true", help='print {"variables": [...]}'
    )
    actions.add_parser("delete", parents=[common], help="delete a variable").add_argument("key", metavar="KEY")
    variables.set_defaults(handler=cmd_variables)


def cmd_scheduler(args: argparse.Namespace) -> int:
    """``dagstudio scheduler PATH``: foreground; log lines on stdout and in ``<home>/logs/scheduler.log``;
    SIGTERM/SIGINT stop it gracefully (no new runs, running tasks get a grace period)."""
    import datetime as dt

    from studio.workspace import scheduling

    home = _home(args)
    log_file = Path(home) / "logs" / "scheduler.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "a", encoding="utf-8", buffering=1) as sink:

        def log(message: str) -> None:
            line = f"{dt.datetime.now(dt.UTC).isoformat(timespec='milliseconds')} {message}"
            print(line, flush=True)
            sink.write(line + "\n")

        scheduler = scheduling.make_scheduler(args.path, home, log)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: scheduler.stop())  # type: ignore[attr-defined]
        log(f"scheduler started on {args.path} (home {home}, pid {os.getpid()})")
        return int(scheduler.run())  # type: ignore[attr-defined]


def _parse_day(text: str, option: str) -> Any:
    """A ``--from``/``--to`` date: ISO date or date-time; naive means UTC (Airflow's default time zone)."""
    import datetime as dt

    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise StudioError(Diagnostic("error", f"{option} {text!r} is not an ISO date such as 2024-01-31")) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def cmd_backfill(args: argparse.Namespace) -> int:
    """``dagstudio backfill``: foreground; exit 0 if every run it created succeeded, 1 if one failed."""
    from studio.workspace import scheduling

    from_date, to_date = _parse_day(args.from_date, "--from"), _parse_day(args.to_date, "--to")
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGTERM, _raise_interrupt)
    stream = sys.stderr if args.json else sys.stdout
    outcome = scheduling.backfill(
        args.path, home=_home(args), dag_id=args.dag, from_date=from_date, to_date=to_date,
        rerun_failed=args.rerun_failed, log=lambda message: print(message, file=stream, flush=True),
    )  # fmt: skip
    if args.json:
        print(json.dumps(outcome, indent=2))
    else:
        print(f"\nbackfill of {outcome['dag_id']}: {len(outcome['runs'])} runs, {len(outcome['skipped'])} skipped")
        for run in outcome["runs"]:
            print(f"  {run['run_id']:<45} {run['state']}")
        for skip in outcome["skipped"]:
            print(f"  {skip['logical_date']:<45} skipped: {skip['reason']} ({skip['run_id']})")
    return 0 if all(run["state"] == "success" for run in outcome["runs"]) else 1


def cmd_dags(args: argparse.Namespace) -> int:
    from studio.workspace import scheduling

    if args.dags_action in ("pause", "unpause"):
        paused = args.dags_action == "pause"
        ids = scheduling.set_paused(args.path, home=_home(args), dag_id=args.dag, paused=paused)
        if args.json:
            print(json.dumps({"dags": [{"dag_id": i, "is_paused": paused} for i in ids]}, indent=2))
        for dag_id in ids if not args.json else ():
            print(f"{dag_id}: {'paused' if paused else 'unpaused'}")
        return 0
    overview = scheduling.dags_overview(args.path, home=_home(args), dag_id=args.dag)
    if args.json:
        print(json.dumps(overview, indent=2))
        return 0
    for item in overview["dags"]:
        state = "paused" if item["is_paused"] else "active"
        print(f"{item['dag_id']:<30} {item['schedule']!s:<20} {state:<7} next: {item['next_dagrun'] or '-'}")
    for problem in overview["import_errors"]:
        where = f"{problem['filename']}:{problem['line']}" if problem["line"] else problem["filename"]
        print(f"error: {where}: {problem['message']}", file=sys.stderr)
    return 0


def cmd_pools(args: argparse.Namespace) -> int:
    from studio.workspace import pools

    home = _home(args)
    if args.pools_action == "list":
        found = pools.list_pools(home=home)
        if args.json:
            print(json.dumps({"pools": found}, indent=2))
        for pool in [] if args.json else found:
            slots = "unlimited" if pool["slots"] == -1 else pool["slots"]
            print(f"{pool['pool']:<30} {slots!s:>9}  {pool['description'] or ''}".rstrip())
        return 0
    if args.pools_action == "set":
        pool = pools.set_pool(home=home, name=args.name, slots=args.slots, description=args.description)
    else:
        pool = pools.delete_pool(home=home, name=args.name)
    size = "unlimited slots" if pool["slots"] == -1 else f"{pool['slots']} slots"
    done = "deleted" if args.pools_action == "delete" else f"set to {size}"
    print(json.dumps(pool, indent=2) if args.json else f"Pool {pool['pool']} {done}")
    return 0


def cmd_connections(args: argparse.Namespace) -> int:
    from studio.workspace import secrets

    home = _home(args)
    if args.conn_action == "add":
        flags = {name: getattr(args, f"conn_{name}") for name in
                 ("type", "host", "login", "password", "schema", "port", "extra", "description")}  # fmt: skip
        shown = secrets.add_connection(
            home=home, conn_id=args.conn_id, uri=args.conn_uri, json_text=args.conn_json,
            conn_type=flags.pop("type"), **flags,
        )  # fmt: skip
        print(f"Successfully added `conn_id`={shown['conn_id']} : {shown['conn_type']}://{shown['host'] or ''}")
    elif args.conn_action == "delete":
        secrets.delete_connection(home=home, conn_id=args.conn_id)
        print(f"Successfully deleted connection with `conn_id`={args.conn_id}")
    elif args.json:
        print(json.dumps({"connections": secrets.list_connections(home=home)}, indent=2))
    else:
        for conn in secrets.list_connections(home=home):
            where = f"{conn['host'] or ''}{':' + str(conn['port']) if conn['port'] else ''}"
            print(f"{conn['conn_id']:<30} {conn['conn_type']:<18} {where}".rstrip())
    return 0


def cmd_variables(args: argparse.Namespace) -> int:
    from studio.workspace import secrets

    home = _home(args)
    if args.var_action == "set":
        secrets.set_variable(home=home, key=args.key, value=args.value, description=args.description)
        print(f"Variable {args.key} created")
    elif args.var_action == "get":
        value = secrets.get_variable(home=home, key=args.key, deserialize_json=args.json, default=args.default)
        print(json.dumps(value) if args.json and not isinstance(value, str) else value)
    elif args.var_action == "delete":
        secrets.delete_variable(home=home, key=args.key)
        print(f"Variable {args.key} deleted")
    elif args.json:
        print(json.dumps({"variables": secrets.list_variables(home=home)}, indent=2))
    else:
        for item in secrets.list_variables(home=home):
            print(item["key"])
    return 0
