"""The ``dagstudio`` command line (the contract is in docs/ARCHITECTURE.md).

    dagstudio [gui] [PATH] [--view design|graph|grid|gantt|logs] [--screenshot FILE.png]
    dagstudio --version
    dagstudio inspect PATH [--json]
    dagstudio validate PATH
    dagstudio export PATH -o DIR [--target airflow3|airflow2]
    dagstudio import FILE.py -o PROJECT_DIR
    dagstudio run PATH [--dag ID] [--conf JSON] [--logical-date ISO] [--json]
    dagstudio runs PATH --json
    dagstudio logs PATH DAG RUN TASK [--try N]
    dagstudio pools list|set NAME SLOTS [--description D]|delete NAME [--json]
    dagstudio connections add ID (--conn-uri URI | --conn-json JSON | --conn-type T [--conn-host ...])
    dagstudio connections list [--json] | delete ID
    dagstudio variables set KEY VALUE [--description D] | get KEY [--json] [--default V] | list | delete KEY

``run --json`` prints the run as one JSON object on stdout at the end and, while it runs, one progress line
per task state change on stderr (``PROGRESS_PREFIX`` + ``KEY STATE try N``; KEY is ``task_id`` or
``task_id[map_index]``, STATE an Airflow state name; the GUI reads these). SIGTERM stops a run like Ctrl-C:
running tasks are stopped, the run is recorded failed, the exit code is 130.

Exit codes: 0 success, 2 bad input (``error: FILE:LINE: message`` lines on stderr, nothing written),
1 an internal error (the traceback only with ``--debug``). The work itself lives in ``studio.workspace``;
this module parses arguments and prints. The GUI is imported only when it is asked for.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from studio import __version__
from studio.cli.admin import (
    _secrets_parsers,
    cmd_backfill,
    cmd_dags,
    cmd_pools,
    cmd_scheduler,
)
from studio.cli.common import home_of as _home
from studio.cli.common import raise_interrupt as _raise_interrupt
from studio.core.diagnostics import Diagnostic, StudioError, has_errors

if TYPE_CHECKING:
    from studio.workspace import Loaded

PROGRESS_PREFIX = "task "  # stderr progress lines of ``run --json``: ``task KEY STATE try N``
COMMANDS = (
    "gui", "inspect", "validate", "export", "import", "run", "runs", "logs", "scheduler", "backfill", "dags", "pools",
    "connections", "variables",
)  # fmt: skip
VIEWS = ("design", "graph", "grid", "gantt", "logs")
TARGETS = ("airflow3", "airflow2")
_VALUE_OPTIONS = {
    "--home",
    "--view",
    "--screenshot",
    "-o",
    "--output",
    "--target",
    "--dag",
    "--conf",
    "--logical-date",
    "--try",
    "--description",
    "--from",
    "--to",
    "--conn-uri",
    "--conn-json",
    "--conn-type",
    "--conn-host",
    "--conn-login",
    "--conn-password",
    "--conn-schema",
    "--conn-port",
    "--conn-extra",
    "--conn-description",
    "--default",
}


# --- arguments ------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--home",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="where the run store and logs live (default: $DAGSTUDIO_HOME or the user data folder)",
    )
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks of bugs")

    parser = argparse.ArgumentParser(
        prog="dagstudio",
        description="Design, generate, run and monitor Apache Airflow DAGs.",
        epilog="Without a command, dagstudio [PATH] opens the GUI. PATH is a project folder, a project DAG "
        ".json, an Airflow .py file, or a folder of Airflow .py files.",
    )
    parser.add_argument("--version", action="version", version=f"dagstudio {__version__}")
    parser.add_argument("--home", metavar="DIR", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--debug", action="store_true", default=False, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    gui = sub.add_parser("gui", parents=[common], help="open the GUI (the default command)")
    gui.add_argument("path", nargs="?", type=Path, metavar="PATH")
    gui.add_argument("--view", choices=VIEWS, help="the view to show first")
    gui.add_argument("--screenshot", type=Path, metavar="FILE.png", help="load PATH, render, save a PNG, exit")
    gui.set_defaults(handler=cmd_gui)

    inspect = sub.add_parser("inspect", parents=[common], help="show the DAGs, tasks and edges of PATH")
    inspect.add_argument("path", type=Path, metavar="PATH")
    inspect.add_argument("--json", action="store_true", help='print {"dags": [{"dag_id", "tasks", "edges"}]}')
    inspect.set_defaults(handler=cmd_inspect)

    validate = sub.add_parser("validate", parents=[common], help="check PATH; exit 2 when it has errors")
    validate.add_argument("path", type=Path, metavar="PATH")
    validate.set_defaults(handler=cmd_validate)

    export = sub.add_parser("export", parents=[common], help="write Airflow code, one <dag_id>.py per DAG")
    export.add_argument("path", type=Path, metavar="PATH")
    export.add_argument("-o", "--output", type=Path, required=True, metavar="DIR", help="folder to write into")
    export.add_argument("--target", choices=TARGETS, help="Airflow version (default: the project's target)")
    export.set_defaults(handler=cmd_export)

    imp = sub.add_parser("import", parents=[common], help="read an Airflow .py file (never run) into a project")
    imp.add_argument("file", type=Path, metavar="FILE.py")
    imp.add_argument("-o", "--output", type=Path, required=True, metavar="PROJECT_DIR", help="project folder")
    imp.set_defaults(handler=cmd_import)

    run = sub.add_parser("run", parents=[common], help="run one DAG of PATH locally, to its end")
    run.add_argument("path", type=Path, metavar="PATH")
    run.add_argument("--dag", metavar="ID", help="the DAG to run (needed when PATH has several)")
    run.add_argument("--conf", metavar="JSON", help="run configuration (overrides params), a JSON object")
    run.add_argument("--logical-date", metavar="ISO", help="the run's logical date (default: now, UTC)")
    run.add_argument("--json", action="store_true", help="print the run as JSON at the end")
    run.set_defaults(handler=cmd_run)

    runs = sub.add_parser("runs", parents=[common], help="the runs of PATH's DAGs, newest first")
    runs.add_argument("path", type=Path, metavar="PATH")
    runs.add_argument("--json", action="store_true", help='print {"runs": [...]}')
    runs.set_defaults(handler=cmd_runs)

    logs = sub.add_parser("logs", parents=[common], help="the log of one try of a task instance")
    logs.add_argument("path", type=Path, metavar="PATH")
    logs.add_argument("dag", metavar="DAG")
    logs.add_argument("run_id", metavar="RUN")
    logs.add_argument("task", metavar="TASK", help="task_id, or task_id[i] for a mapped task instance")
    logs.add_argument("--try", dest="try_number", type=int, metavar="N", help="the try (default: the latest)")
    logs.set_defaults(handler=cmd_logs)

    scheduler = sub.add_parser("scheduler", parents=[common], help="schedule and run PATH's DAGs until stopped")
    scheduler.add_argument("path", type=Path)
    scheduler.set_defaults(handler=cmd_scheduler)

    backfill = sub.add_parser("backfill", parents=[common], help="run a DAG for every scheduled date in a range")
    backfill.add_argument("path", type=Path, metavar="PATH")
    backfill.add_argument("--dag", metavar="ID", help="the DAG to backfill (needed when PATH has several)")
    backfill.add_argument("--from", dest="from_date", required=True, metavar="DATE", help="first date (ISO)")
    backfill.add_argument("--to", dest="to_date", required=True, metavar="DATE", help="last date (ISO)")
    backfill.add_argument("--rerun-failed", action="store_true", help="re-run dates whose run failed")
    backfill.add_argument("--json", action="store_true", help='print {"dag_id", "runs", "skipped"} at the end')
    backfill.set_defaults(handler=cmd_backfill)

    dags = sub.add_parser("dags", parents=[common], help="list, pause or unpause PATH's DAGs (for the scheduler)")
    dag_actions = dags.add_subparsers(dest="dags_action", metavar="ACTION", required=True)
    for action, text in (("list", "schedule, paused, next run, import errors"), ("pause", "pause DAGs"),
                         ("unpause", "unpause DAGs")):  # fmt: skip
        one = dag_actions.add_parser(action, parents=[common], help=text)
        one.add_argument("path", type=Path, metavar="PATH")
        one.add_argument("--dag", metavar="ID", help="one DAG (default: all DAGs of PATH)")
        one.add_argument("--json", action="store_true", help="print JSON")
    dags.set_defaults(handler=cmd_dags)

    pools = sub.add_parser("pools", parents=[common], help="list, set or delete pools (as `airflow pools`)")
    actions = pools.add_subparsers(dest="pools_action", metavar="ACTION", required=True)
    for action, text in (("list", "the pools"), ("set", "create or update a pool"), ("delete", "delete a pool")):
        one = actions.add_parser(action, parents=[common], help=text)
        if action != "list":
            one.add_argument("name", metavar="NAME")
        if action == "set":
            one.add_argument("slots", type=int, metavar="SLOTS", help="how many slots; -1 for unlimited")
            one.add_argument("--description", metavar="D", help="what the pool is for")
        one.add_argument("--json", action="store_true", help="print JSON")
    pools.set_defaults(handler=cmd_pools)
    _secrets_parsers(sub, common)
    return parser


def with_default_command(argv: Sequence[str]) -> list[str]:
    """``argv`` with ``gui`` put in front when no command is given (``dagstudio [PATH] [--screenshot F]``)."""
    args = list(argv)
    skip = False
    for token in args:
        if skip:
            skip = False
        elif token in _VALUE_OPTIONS:
            skip = True
        elif token == "--":
            break
        elif not token.startswith("-"):
            return args if token in COMMANDS else ["gui", *args]
    if any(t in ("-h", "--help", "--version") for t in args):
        return args
    return ["gui", *args]


# --- commands -------------------------------------------------------------------------------------
def cmd_inspect(args: argparse.Namespace) -> int:
    from studio import workspace

    loaded = workspace.load_path(args.path)
    if args.json:
        print(json.dumps(workspace.structure(loaded), indent=2))
    else:
        print_table(loaded, sys.stdout)
    print_diagnostics(loaded.diagnostics)
    return 2 if has_errors(loaded.diagnostics) else 0


def cmd_validate(args: argparse.Namespace) -> int:
    from studio import workspace

    loaded = workspace.load_path(args.path)
    found = workspace.validate(loaded)
    print_diagnostics(found)
    if has_errors(found):
        return 2
    dags = loaded.project.dags
    tasks = sum(len(d.tasks) for d in dags)
    warnings = len(found)
    print(
        f"ok: {workspace.display_path(args.path)}: {_count(len(dags), 'DAG')}, {_count(tasks, 'task')}"
        + (f", {_count(warnings, 'warning')}" if warnings else "")
    )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from studio import workspace

    outcome = workspace.export(args.path, args.output, args.target)
    print_diagnostics(outcome.diagnostics)
    for file in outcome.files:
        print(f"wrote {workspace.display_path(file)}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from studio import workspace

    outcome = workspace.import_to_project(args.file, args.output)
    print_diagnostics(outcome.diagnostics)
    ids = ", ".join(outcome.dag_ids)
    print(f"imported {_count(len(outcome.dag_ids), 'DAG')} ({ids}) into {workspace.display_path(args.output)}")
    for file in outcome.files:
        print(f"wrote {workspace.display_path(file)}")
    return 0


def _parse_conf(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        conf = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StudioError(Diagnostic("error", f"--conf is not valid JSON: {exc.msg} (column {exc.colno})")) from None
    if not isinstance(conf, dict):
        raise StudioError(Diagnostic("error", "--conf must be a JSON object, e.g. '{\"key\": 1}'"))
    return conf


def _parse_date(text: str | None) -> Any:
    if not text:
        return None
    import datetime as dt

    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise StudioError(
            Diagnostic("error", f"--logical-date {text!r} is not an ISO date such as 2024-01-01T00:00:00+00:00")
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def progress_line(key: str, state: str, try_number: int) -> str:
    """A ``run --json`` progress line (stderr): ``task KEY STATE try N`` (the GUI parses it: studio.ui.run_process)."""
    return f"{PROGRESS_PREFIX}{key:<40} {state:<18} try {try_number}"


def cmd_run(args: argparse.Namespace) -> int:
    from studio.workspace import runs

    conf, logical_date = _parse_conf(args.conf), _parse_date(args.logical_date)
    with contextlib.suppress(ValueError):  # ValueError: not the main thread (an embedding caller)
        signal.signal(signal.SIGTERM, _raise_interrupt)

    def show(change: Any) -> None:
        if change.new is None:
            return
        if args.json:
            print(progress_line(change.key, change.new, change.try_number), file=sys.stderr, flush=True)
        else:
            print(f"{change.key:<40} {change.new:<18} try {change.try_number}", flush=True)

    result = runs.run(
        args.path, home=_home(args), dag_id=args.dag, conf=conf, logical_date=logical_date, on_change=show
    )
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"\nrun {result['run_id']} of {result['dag_id']}: {result['state']}")
        width = max((len(k) for k in result["tasks"]), default=4)
        for key, ti in result["tasks"].items():
            print(f"  {key:<{width}}  {ti['state'] or 'no status':<18} try {ti['try_number']}")
        for task_id, reason in (result.get("waiting_on_past") or {}).items():
            print(f"  {task_id} did not run: {reason}")
    for key, reason in (result.get("waiting_on_pool") or {}).items():  # Airflow would wait forever
        print(f"error: {key} was never queued: {reason}", file=sys.stderr)
    return 0 if result["state"] == "success" else 1


def cmd_runs(args: argparse.Namespace) -> int:
    from studio.workspace import runs

    found = runs.runs(args.path, home=_home(args))
    if args.json:
        print(json.dumps({"runs": found}, indent=2))
        return 0
    for item in found:
        states = [ti["state"] or "none" for ti in item["tasks"].values()]
        summary = ", ".join(f"{states.count(s)} {s}" for s in sorted(set(states)))
        print(f"{item['dag_id']:<30} {item['run_id']:<45} {item['state']:<8} {summary}")
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    from studio.workspace import runs

    text = runs.log_text(
        home=_home(args), dag_id=args.dag, run_id=args.run_id, task=args.task, try_number=args.try_number
    )
    sys.stdout.write(text)
    return 0


def cmd_gui(args: argparse.Namespace) -> int:
    try:
        from studio.ui.app import run_gui
    except ImportError as exc:
        print(f"error: the GUI cannot start: {exc}", file=sys.stderr)
        if any(name in str(exc) for name in ("PySide6", "shiboken6", ".so")):
            print("hint: `make run` installs what the GUI needs (PySide6, the Qt system libraries)", file=sys.stderr)
        return 1
    return run_gui(args.path, args.view, args.screenshot)


# --- output ---------------------------------------------------------------------------------------
def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def print_diagnostics(diagnostics: list[Diagnostic], stream: TextIO | None = None) -> None:
    """Errors first, then warnings, one ``severity: FILE:LINE: message`` line each (stderr)."""
    out = stream or sys.stderr
    for d in sorted(diagnostics, key=lambda d: d.severity != "error"):
        print(str(d), file=out)


def _schedule(value: Any) -> str:
    from studio.core.values import CodeExpr

    if isinstance(value, CodeExpr):
        return value.source
    return "None" if value is None else str(value)


def print_table(loaded: Loaded, out: TextIO) -> None:
    """A readable listing: one block per DAG with its tasks, operators and upstream tasks."""
    from studio.workspace import display_path

    dags = loaded.project.dags
    if not dags:
        print("no DAGs", file=out)
    for i, dag in enumerate(dags):
        if i:
            print(file=out)
        file = dag.source.file if dag.source and dag.source.file else None  # already a display path
        if file is None and dag.dag_id in loaded.files:
            file = display_path(loaded.files[dag.dag_id])
        where = f"  ({file})" if file else ""
        print(f"DAG {dag.dag_id}{where}", file=out)
        print(
            f"  schedule: {_schedule(dag.args.get('schedule'))}   {_count(len(dag.tasks), 'task')}, "
            f"{_count(len(dag.edges), 'edge')}",
            file=out,
        )
        rows = [("TASK", "OPERATOR", "UPSTREAM")] + [
            (t.task_id, t.class_path or t.operator, ", ".join(dag.upstream_ids(t.task_id)) or "-") for t in dag.tasks
        ]
        widths = [max(len(row[c]) for row in rows) for c in range(2)]
        for row in rows:
            print(f"  {row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}".rstrip(), file=out)


# --- entry points ---------------------------------------------------------------------------------
def _run(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace, debug: bool) -> int:
    try:
        return handler(args)
    except StudioError as exc:
        print_diagnostics(exc.diagnostics)
        return 2
    except BrokenPipeError:  # `dagstudio inspect ... | head`: the reader left; that is not an error
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            traceback.print_exc()
        hint = "" if debug else " (run with --debug for the traceback)"
        print(f"error: internal error: {type(exc).__name__}: {exc}{hint}", file=sys.stderr)
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``dagstudio`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    raw = list(sys.argv[1:] if argv is None else argv)
    for stream in (sys.stdout, sys.stderr):  # never fail on printing a task id the terminal cannot show
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors="backslashreplace")
    try:
        args = build_parser().parse_args(with_default_command(raw))
    except SystemExit as exc:  # --help, --version, or a usage error (argparse printed it; code 2)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    code = _run(args.handler, args, debug=bool(args.debug) or "--debug" in raw)
    if argv is None and args.handler is cmd_run:
        _exit_now(code)
    return code


def _exit_now(code: int) -> NoReturn:
    """End ``dagstudio run`` without the interpreter's teardown (≈50 ms with SQLAlchemy loaded): the run is
    already durable (the store committed and closed, the fork server stopped); only our streams need a flush.
    Only for the real entry point (``argv is None``), never for in-process callers of ``main``."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def gui_main() -> int:
    """Entry point of the ``dagstudio-gui`` launcher: always the GUI."""
    argv = sys.argv[1:]
    return main(argv if argv[:1] == ["gui"] else ["gui", *argv])
