"""``export_project`` (one atomic file per DAG, nothing written on error) and ``highlight_html``."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from studio.codegen.export import export_project
from studio.codegen.generator import generate_dag
from studio.codegen.highlighting import highlight_html
from studio.core.diagnostics import StudioError
from studio.core.model import Dag, Project, SourceMap, Task
from tests.test_codegen_cases import CASES


def project(target: str = "airflow3") -> Project:
    return Project("demo", [CASES["hourly_etl"](), CASES["warehouse_groups"]()], target=target)


def test_export_writes_one_generated_file_per_dag(tmp_path: Path) -> None:
    out = tmp_path / "dags"
    paths = export_project(project(), out)
    assert paths == [out / "hourly_etl.py", out / "warehouse_groups.py"]
    for path, dag in zip(paths, project().dags, strict=True):
        assert path.read_text(encoding="utf-8") == generate_dag(dag, "airflow3")
    assert sorted(p.name for p in out.iterdir()) == ["hourly_etl.py", "warehouse_groups.py"]  # no temp files


def test_export_uses_the_projects_target_unless_told_otherwise(tmp_path: Path) -> None:
    (path,) = export_project(Project("p", [CASES["hourly_etl"]()], target="airflow2"), tmp_path / "a")
    assert "from airflow import DAG\n" in path.read_text(encoding="utf-8")
    (path,) = export_project(Project("p", [CASES["hourly_etl"]()], target="airflow2"), tmp_path / "b", "airflow3")
    assert "from airflow.sdk import DAG\n" in path.read_text(encoding="utf-8")


def test_export_overwrites_previous_files(tmp_path: Path) -> None:
    (tmp_path / "hourly_etl.py").write_text("old", encoding="utf-8")
    export_project(project(), tmp_path)
    assert (tmp_path / "hourly_etl.py").read_text(encoding="utf-8").startswith('"""Hourly ETL')


@pytest.mark.parametrize(
    ("dags", "message"),
    [
        ([Dag("ok"), Dag("bad", tasks=[Task("t", "NoSuchOperator")])], "unknown operator 'NoSuchOperator'"),
        ([Dag("ok"), Dag("../escape")], "cannot be used as a file name"),
        ([Dag("ok"), Dag("Same"), Dag("same")], "would both be written to same.py"),
    ],
)
def test_export_writes_nothing_when_a_dag_cannot_be_exported(tmp_path: Path, dags: list[Dag], message: str) -> None:
    (tmp_path / "ok.py").write_text("previous", encoding="utf-8")
    with pytest.raises(StudioError) as info:
        export_project(Project("p", dags), tmp_path)
    assert message in str(info.value)
    assert [p.name for p in tmp_path.iterdir()] == ["ok.py"]
    assert (tmp_path / "ok.py").read_text(encoding="utf-8") == "previous"


def test_export_error_names_the_project_file(tmp_path: Path) -> None:
    dag = Dag("bad", tasks=[Task("t", "NoSuchOperator")])
    dag.source = SourceMap(file="dags/bad.json", lines={"task:t": 9})
    with pytest.raises(StudioError) as info:
        export_project(Project("p", [dag]), tmp_path)
    assert str(info.value) == "error: dags/bad.json:9: task 't': unknown operator 'NoSuchOperator'"


def test_an_output_folder_that_cannot_be_made_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "out"
    blocker.write_text("a file, not a folder", encoding="utf-8")
    with pytest.raises(StudioError) as info:
        export_project(project(), blocker)
    assert str(info.value).startswith(f"error: {blocker}: cannot write the exported DAGs: ")


def test_unknown_target_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StudioError, match="unknown target"):
        export_project(project(), tmp_path, "airflow1")
    assert list(tmp_path.iterdir()) == []


def _text(markup: str) -> str:
    """The text shown inside the ``<pre>`` block."""
    pre = re.search(r"<pre[^>]*>(.*)</pre>", markup, re.S)
    assert pre is not None
    return html.unescape(re.sub(r"<[^>]+>", "", pre.group(1)))


@pytest.mark.parametrize("dark", [False, True])
def test_highlight_html_keeps_the_code_and_colors_it_inline(dark: bool) -> None:
    code = generate_dag(CASES["taskflow_orders"]())
    markup = highlight_html(code, dark=dark)
    assert _text(markup) == code
    assert "<style" not in markup and 'class="k' not in markup  # styles are inline, not CSS classes
    assert re.search(r'<span style="color: #[0-9A-Fa-f]{3,6}[^"]*">def</span>', markup)  # keywords colored
    background = re.search(r'style="background: (#[0-9a-f]+)', markup)
    assert background is not None
    assert (int(background.group(1)[1:3], 16) < 0x80) is dark


def test_highlight_html_escapes_markup() -> None:
    markup = highlight_html('x = "<b>&amp;</b>"\n')
    assert "<b>" not in markup
    assert _text(markup) == 'x = "<b>&amp;</b>"\n'
