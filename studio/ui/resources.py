"""Where the GUI finds its resources (``resources/`` at the top of the repository) and the app icon.

A source checkout or editable install has ``resources/`` next to ``studio/``; the packaging issue will
bundle it. When it is missing the window simply has no custom icon.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QIcon

RESOURCES = Path(__file__).resolve().parents[2] / "resources"


def resource_path(*parts: str) -> Path:
    """A path inside ``resources/`` (it may not exist in an installed copy)."""
    return RESOURCES.joinpath(*parts)


def app_icon() -> QIcon:
    """DAG Studio's icon, or an empty icon when the resources are not installed."""
    path = resource_path("icons", "dagstudio.svg")
    return QIcon(str(path)) if path.is_file() else QIcon()
