"""What every ``dagstudio`` command shares: the home it works on, and SIGTERM as Ctrl-C."""

from __future__ import annotations

import argparse
from pathlib import Path


def home_of(args: argparse.Namespace) -> Path:
    from studio import workspace

    return workspace.resolve_home(getattr(args, "home", None))


def raise_interrupt(_signum: int, _frame: object) -> None:
    """SIGTERM (``kill``, the GUI's Stop) cancels a run the way Ctrl-C does: a KeyboardInterrupt in the loop."""
    raise KeyboardInterrupt
