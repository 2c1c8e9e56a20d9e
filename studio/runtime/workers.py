"""Which executor runs the tries: the fork server where ``os.fork`` exists, the spawn pool elsewhere.

``executor_for(prepare, run, **options)`` returns an unstarted ``ForkServer`` (POSIX: a warm parent forks
one worker per try in about a millisecond) or ``SpawnServer`` (Windows, or wherever ``fork`` is missing:
a pool of warm ``subprocess``-spawned workers, one try each). Both have the same interface and send the
same events (see docs/ENGINE.md "Processes"). The environment variable ``DAGSTUDIO_EXECUTOR`` forces one:
``fork`` or ``spawn`` (``fork`` where there is no fork is an error); empty or unset means the default.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from studio.core.diagnostics import StudioError, error
from studio.runtime.forkserver import ForkServer

if TYPE_CHECKING:  # imported only when used: the fork path must not pay for it at start-up
    from studio.runtime.spawnserver import SpawnServer

ENV_VAR = "DAGSTUDIO_EXECUTOR"
KINDS = ("fork", "spawn")


def fork_available() -> bool:
    """Whether this platform can run the fork server."""
    return sys.platform != "win32" and hasattr(os, "fork")


def executor_kind(environ: dict[str, str] | None = None) -> str:
    """``"fork"`` or ``"spawn"``: ``DAGSTUDIO_EXECUTOR`` if set, else the platform's default."""
    wanted = (os.environ if environ is None else environ).get(ENV_VAR, "").strip().lower()
    if wanted and wanted not in KINDS:
        raise StudioError(error(f"{ENV_VAR} must be one of {', '.join(KINDS)}, not {wanted!r}"))
    if wanted == "fork" and not fork_available():
        raise StudioError(error(f"{ENV_VAR}=fork: this platform has no os.fork; use spawn"))
    return wanted or ("fork" if fork_available() else "spawn")


def executor_for(
    prepare: str, run: str, *, environ: dict[str, str] | None = None, **options: Any
) -> ForkServer | SpawnServer:
    """An unstarted executor for ``prepare``/``run`` (``"module:function"``); ``options`` are the
    constructor's keyword arguments (``log_cap_bytes``, ``kill_grace``, ``rlimit_as``, ``clock``)."""
    if executor_kind(environ) == "fork":
        return ForkServer(prepare, run, **options)
    from studio.runtime.spawnserver import SpawnServer

    return SpawnServer(prepare, run, **options)
