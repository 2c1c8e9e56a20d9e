"""The Code panel: the Airflow file generated for the selected DAG, syntax highlighted, read-only.

It is exactly what ``dagstudio export`` writes for the chosen target (Airflow 3 ``airflow.sdk`` or
Airflow 2 imports). The target switch sits above the code; Copy puts the plain source on the clipboard.
"""

from __future__ import annotations

import re

from PySide6.QtGui import QColor, QFontDatabase, QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from studio.codegen.highlighting import highlight_html
from studio.core.diagnostics import StudioError
from studio.ui.document import TARGETS, Document

_BACKGROUND = re.compile(r"^<div[^>]*\bbackground(?:-color)?:\s*(#[0-9a-fA-F]{3,8})")
PLACEHOLDER = "The generated Airflow code of the selected DAG appears here."
TARGET_LABELS = {"airflow3": "Airflow 3", "airflow2": "Airflow 2"}


class CodePanel(QWidget):
    """Generated code of the selected DAG with a target switch (airflow3 / airflow2)."""

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.code = ""  # the plain source shown, "" when there is none

        self.target_box = QComboBox()
        self.target_box.setObjectName("targetBox")
        for target in TARGETS:
            self.target_box.addItem(TARGET_LABELS[target], target)
        self.target_box.setToolTip("Which Airflow the generated file is written for")
        self.target_box.currentIndexChanged.connect(self._on_target_box)
        self.file_label = QLabel()
        self.file_label.setObjectName("codeFile")
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the generated file to the clipboard")
        self.copy_button.clicked.connect(self.copy_code)

        bar = QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 0)
        bar.addWidget(QLabel("Target:"))
        bar.addWidget(self.target_box)
        bar.addSpacing(12)
        bar.addWidget(self.file_label, 1)
        bar.addWidget(self.copy_button)

        self.view = QTextBrowser()
        self.view.setObjectName("codeView")
        self.view.setOpenLinks(False)
        self.view.setLineWrapMode(QTextBrowser.LineWrapMode.NoWrap)
        self.view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)

        self._shown: tuple[object, str, str] | None = None  # (dag, target, theme) on screen
        document.dag_selected.connect(self.refresh)
        document.target_changed.connect(self._on_target_changed)
        document.opened.connect(self.refresh)
        self._on_target_changed(document.target)

    def _dark(self) -> bool:
        return self.palette().color(QPalette.ColorRole.Base).lightness() < 128

    def refresh(self) -> None:
        """Show the selected DAG's code (skipped when exactly that is on screen already)."""
        dag = self.document.current_dag
        shown = (dag, self.document.target, "dark" if self._dark() else "light")
        previous = self._shown
        if dag is not None and previous is not None and previous[0] is dag and previous[1:] == shown[1:]:
            return
        self._shown = shown
        self.code = ""
        if dag is None:
            self.file_label.setText("")
            self.view.setPalette(self.palette())
            muted = self.palette().color(QPalette.ColorRole.PlaceholderText).name()
            self.view.setHtml(f'<p style="color: {muted}">{PLACEHOLDER}</p>')
            self.copy_button.setEnabled(False)
            return
        self.file_label.setText(f"{dag.dag_id}.py")
        try:
            code = self.document.generated_code(dag)
        except StudioError as exc:
            self.view.setPalette(self.palette())
            self.view.setPlainText("Cannot generate code for this DAG:\n\n" + "\n".join(map(str, exc.diagnostics)))
            self.copy_button.setEnabled(False)
            return
        self.code = code
        html = highlight_html(code, dark=self._dark())
        self._match_background(html)
        self.view.setHtml(html)
        self.copy_button.setEnabled(True)

    def _match_background(self, html: str) -> None:
        """Paint the whole view in the highlight style's background, so blank lines are not striped."""
        match = _BACKGROUND.search(html)
        palette = self.view.palette()
        if match and QColor.isValidColorName(match.group(1)):
            palette.setColor(QPalette.ColorRole.Base, QColor(match.group(1)))
        else:
            palette = self.palette()
        self.view.setPalette(palette)

    def copy_code(self) -> None:
        if self.code:
            QGuiApplication.clipboard().setText(self.code)

    def _on_target_box(self, index: int) -> None:
        self.document.set_target(self.target_box.itemData(index))

    def _on_target_changed(self, target: str) -> None:
        index = self.target_box.findData(target)
        if index != self.target_box.currentIndex():
            self.target_box.blockSignals(True)
            self.target_box.setCurrentIndex(index)
            self.target_box.blockSignals(False)
        self.refresh()
