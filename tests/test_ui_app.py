"""``run_gui`` with ``--screenshot``: load, render, save a PNG of the right size, exit code; and the CLI path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from studio.ui.app import SCREENSHOT_SIZE, run_gui
from tests.conftest import REPO, SAMPLES

pytestmark = pytest.mark.gui


def test_screenshot_of_a_sample_project(qapp, tmp_path: Path):
    png = tmp_path / "shots" / "ml.png"
    assert run_gui(SAMPLES / "ml_pipeline", None, png) == 0
    assert png.stat().st_size > 10_000
    image = QImage(str(png))
    ratio = qapp.devicePixelRatio()
    assert (image.width(), image.height()) == (round(SCREENSHOT_SIZE[0] * ratio), round(SCREENSHOT_SIZE[1] * ratio))
    # Not a blank image: a rendered window has many distinct colours.
    colours = {image.pixel(x, y) for x in range(0, image.width(), 37) for y in range(0, image.height(), 23)}
    assert len(colours) > 8


def test_screenshot_of_a_bad_path_still_writes_the_png_and_exits_2(qapp, tmp_path: Path, capsys):
    png = tmp_path / "bad.png"
    assert run_gui(tmp_path / "missing", None, png) == 2
    assert png.stat().st_size > 0
    assert "missing" in capsys.readouterr().err


def test_unknown_view_is_bad_input(qapp, tmp_path: Path, capsys):
    assert run_gui(None, "canvas3d", tmp_path / "x.png") == 2
    assert "unknown view" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_cli_screenshot_in_a_fresh_process(tmp_path: Path):
    """The documented command: ``python -m studio --screenshot FILE PATH`` renders offscreen and exits 0."""
    png = tmp_path / "s.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        [sys.executable, "-m", "studio", "--screenshot", str(png), str(SAMPLES / "showcase")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    image = QImage(str(png))
    assert (image.width(), image.height()) == SCREENSHOT_SIZE
