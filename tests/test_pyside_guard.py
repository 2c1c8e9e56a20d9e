"""Guard against PySide6 6.12.0 on Python 3.11, which drops a reference to None on every binding call
that returns nothing (100 ``QPointF.setX`` calls lower ``sys.getrefcount(None)`` by ~100) and later
aborts the process with "Fatal Python error: none_dealloc". pyproject pins ``PySide6>=6.8,<6.12``."""

from __future__ import annotations

import re
import sys
import tomllib
from importlib.metadata import version

from PySide6.QtCore import QPointF

from tests.conftest import REPO


def _release(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def test_none_refcount_is_stable_across_binding_calls():
    point = QPointF(0.0, 0.0)
    for i in range(10):  # warm up caches that may take a reference once
        point.setX(float(i))
    before = sys.getrefcount(None)
    for i in range(1000):
        point.setX(float(i))
    after = sys.getrefcount(None)
    assert abs(after - before) <= 10, f"refcount of None moved by {after - before} over 1000 QPointF.setX calls"
    assert point.x() == 999.0


def test_installed_pyside6_satisfies_the_pin():
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    pin = next(d for d in dependencies if d.lower().startswith("pyside6"))
    assert "<6.12" in pin.replace(" ", "")
    installed = _release(version("PySide6"))
    assert installed >= (6, 8)
    if sys.version_info < (3, 12):
        assert installed < (6, 12), f"PySide6 {version('PySide6')} is broken on Python 3.11 (none_dealloc)"
