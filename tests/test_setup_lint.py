"""The import-linter contracts of pyproject.toml pass on the code and catch each kind of violation.

Each violation test copies ``studio/`` and ``pyproject.toml`` into a temporary folder, adds one bad
import, and runs the real ``lint-imports`` there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


def _lint_imports() -> str:
    found = Path(sys.executable).with_name("lint-imports")
    if found.exists():
        return str(found)
    on_path = shutil.which("lint-imports")
    assert on_path, "lint-imports (import-linter, a dev dependency) is not installed"
    return on_path


def _run(root: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(root)
    return subprocess.run(
        [_lint_imports(), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "studio", tmp_path / "studio", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_contracts_hold_for_the_code():
    proc = _run(REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("studio/core/_bad.py", "import PySide6.QtCore\n", "core imports no SQLAlchemy, APScheduler, Qt, network"),
        ("studio/codegen/_bad.py", "from PySide6 import QtWidgets\n", "Only studio.ui imports Qt"),
        ("studio/core/_bad.py", "import studio.workspace\n", "Layers: ui -> workspace"),
        ("studio/workspace_bad.py", "", None),  # control: an unrelated new module breaks nothing
        ("studio/codegen/_bad.py", "import studio.ui.formatting\n", "Layers: ui -> workspace"),
        ("studio/core/_bad.py", "import pygments\n", "core imports no SQLAlchemy, APScheduler, Qt, network"),
    ],
)
def test_a_violation_is_caught(copy: Path, module: str, line: str, contract: str | None):
    (copy / module).write_text(f'"""A deliberate violation."""\n\n{line}', encoding="utf-8")
    proc = _run(copy)
    if contract is None:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return
    assert proc.returncode == 1, proc.stdout + proc.stderr
    broken = proc.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken
    assert module.removesuffix(".py").replace("/", ".") in broken
