"""The build scripts behind ``make run`` / ``make test``: Debian packages, display fallback, Makefile, CI.

The shell scripts run for real; only the system commands they consult (``id``, ``dpkg-query``,
``apt-get``, ``python``) are replaced by small recording scripts in a private PATH, so the tests
neither need root nor install anything.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

QT_PACKAGES = "libglib2.0-0 libgl1 libxkbcommon0 libegl1 libfreetype6 libfontconfig1 libdbus-1-3"


def _script(path: Path, body: str) -> None:
    path.write_text("#!/bin/bash\n" + body, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def sandbox(tmp_path: Path):
    """A PATH with only the real tools the scripts need plus fakes; returns (bin dir, log file, run)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "cat", "grep", "env", "touch"):
        real = shutil.which(tool)
        assert real, tool
        (bin_dir / tool).symlink_to(real)
    log = tmp_path / "calls.log"
    _script(bin_dir / "dpkg", "exit 0\n")
    _script(bin_dir / "apt-get", f'echo "apt-get $*" >> {log}\n')
    _script(bin_dir / "id", 'if [ "$1" = -u ]; then echo "${FAKE_UID:-1000}"; else echo uid; fi\n')
    # dpkg-query: packages listed in $INSTALLED count as installed.
    _script(
        bin_dir / "dpkg-query",
        'pkg="${@: -1}"\n'
        'for p in $INSTALLED; do [ "$p" = "$pkg" ] && { printf "install ok installed"; exit 0; }; done\n'
        "exit 1\n",
    )
    # python: prints how it was started (QT_QPA_PLATFORM and arguments).
    _script(bin_dir / "fake-python", 'echo "QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-} ARGS=$*"\n')

    def run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["/bin/bash", *args],
            cwd=REPO,
            env={"PATH": str(bin_dir), "HOME": str(tmp_path), **env},
            capture_output=True,
            text=True,
            timeout=60,
        )

    return bin_dir, log, run


def _calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


# --- scripts/ensure_system_deps.sh -----------------------------------------------------------------
def test_unknown_group_is_refused(sandbox):
    _, log, run = sandbox
    proc = run(["scripts/ensure_system_deps.sh", "qt", "nonsense"])
    assert proc.returncode == 2
    assert "unknown group 'nonsense'" in proc.stderr
    assert _calls(log) == []


def test_not_root_prints_the_exact_install_command(sandbox):
    _, log, run = sandbox
    proc = run(["scripts/ensure_system_deps.sh", "qt"], FAKE_UID="1000", INSTALLED="libgl1 libegl1")
    assert proc.returncode == 1
    missing = " ".join(p for p in QT_PACKAGES.split() if p not in ("libgl1", "libegl1"))
    assert f"sudo apt-get install -y --no-install-recommends {missing}\n" in proc.stderr
    assert _calls(log) == []


def test_root_installs_only_what_is_missing_without_update(sandbox):
    _, log, run = sandbox
    installed = " ".join(QT_PACKAGES.split()[1:])
    proc = run(["scripts/ensure_system_deps.sh", "qt"], FAKE_UID="0", INSTALLED=installed)
    assert proc.returncode == 0, proc.stderr
    assert _calls(log) == ["apt-get install -y --no-install-recommends libglib2.0-0"]


def test_root_updates_package_lists_only_when_install_fails(sandbox, tmp_path: Path):
    bin_dir, log, run = sandbox
    lists = tmp_path / "lists-fetched"
    _script(
        bin_dir / "apt-get",
        f'echo "apt-get $*" >> {log}\n'
        f'if [ "$1" = update ]; then touch {lists}; exit 0; fi\n'
        f"[ -e {lists} ] || exit 100\n",
    )
    proc = run(["scripts/ensure_system_deps.sh", "xvfb"], FAKE_UID="0", INSTALLED="")
    assert proc.returncode == 0, proc.stderr
    assert _calls(log) == [
        "apt-get install -y --no-install-recommends xvfb xauth",
        "apt-get update",
        "apt-get install -y --no-install-recommends xvfb xauth",
    ]


def test_nothing_missing_means_no_apt(sandbox):
    _, log, run = sandbox
    proc = run(["scripts/ensure_system_deps.sh", "qt"], FAKE_UID="0", INSTALLED=QT_PACKAGES)
    assert proc.returncode == 0
    assert _calls(log) == []


# --- scripts/run.sh (make run) ---------------------------------------------------------------------
def test_screenshot_without_display_renders_offscreen_on_the_default_sample(sandbox):
    bin_dir, _, run = sandbox
    proc = run(["scripts/run.sh", str(bin_dir / "fake-python"), "--screenshot", "out.png"], INSTALLED=QT_PACKAGES)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == (
        "QT_QPA_PLATFORM=offscreen ARGS=-m studio --screenshot out.png sample_projects/ml_pipeline"
    )


def test_with_a_display_the_given_path_is_opened(sandbox):
    bin_dir, _, run = sandbox
    packages = QT_PACKAGES + " " + " ".join(_group("x11"))
    proc = run(
        ["scripts/run.sh", str(bin_dir / "fake-python"), "gui", "sample_projects/showcase", "--view", "design"],
        DISPLAY=":0",
        INSTALLED=packages,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "QT_QPA_PLATFORM= ARGS=-m studio gui sample_projects/showcase --view design"


def test_cli_commands_pass_through_unchanged(sandbox):
    bin_dir, log, run = sandbox
    proc = run(["scripts/run.sh", str(bin_dir / "fake-python"), "inspect", "sample_projects/showcase", "--json"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "QT_QPA_PLATFORM= ARGS=-m studio inspect sample_projects/showcase --json"
    assert _calls(log) == []


def test_no_display_and_no_xvfb_explains_how_to_run(sandbox):
    bin_dir, log, run = sandbox
    proc = run(["scripts/run.sh", str(bin_dir / "fake-python")], FAKE_UID="1000", INSTALLED=QT_PACKAGES)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "DISPLAY and WAYLAND_DISPLAY are unset" in proc.stderr
    assert "make run ARGS='--screenshot out.png'" in proc.stderr
    assert _calls(log) == []


def test_no_display_as_root_installs_xvfb_and_runs_under_it(sandbox):
    bin_dir, log, run = sandbox
    _script(bin_dir / "xvfb-run", 'echo "xvfb-run $*"\n')
    proc = run(["scripts/run.sh", str(bin_dir / "fake-python")], FAKE_UID="0", INSTALLED=QT_PACKAGES)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"xvfb-run -a {bin_dir / 'fake-python'} -m studio sample_projects/ml_pipeline"
    assert _calls(log) == [
        "apt-get install -y --no-install-recommends " + " ".join(_group("x11") + _group("xvfb")),
    ]


def _group(name: str) -> list[str]:
    text = (REPO / "scripts" / "ensure_system_deps.sh").read_text(encoding="utf-8")
    match = re.search(rf'\[{name}\]="([^"]*)"', text)
    assert match, name
    return match.group(1).split()


# --- Makefile and CI --------------------------------------------------------------------------------
def _make_dry_run(*args: str) -> str:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    proc = subprocess.run(["make", "-n", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_make_test_runs_lint_then_the_whole_suite():
    out = _make_dry_run("test")
    lines = out.splitlines()
    order = [
        next(i for i, line in enumerate(lines) if "ruff check ." in line),
        next(i for i, line in enumerate(lines) if "ruff format --check ." in line),
        next(i for i, line in enumerate(lines) if "lint-imports" in line),
        next(i for i, line in enumerate(lines) if re.search(r"\.venv/bin/python -m pytest\s*$", line)),
    ]
    assert order == sorted(order)
    assert "not airflow" not in out  # the Airflow differential tests are part of make test


def test_make_fast_test_and_run_arguments():
    assert '-m pytest -m "not airflow and not docker"' in _make_dry_run("fast-test")
    out = _make_dry_run("run", "ARGS=--screenshot out.png sample_projects/showcase")
    assert "scripts/run.sh .venv/bin/python --screenshot out.png sample_projects/showcase" in out


def test_ci_runs_exactly_the_readme_test_command():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^(make \w+.*)$", quick_start, flags=re.MULTILINE)
    assert commands == ["make run", "make test"]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    statements = [line.strip() for line in ci.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert statements[-1] == "make test"
    assert os.access(REPO / ".ci" / "run", os.X_OK)
