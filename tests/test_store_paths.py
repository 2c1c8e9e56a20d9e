"""Home directory resolution and Airflow's log layout (file-name safe ids)."""

from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest

from studio.store import log_path, resolve_home
from studio.store.paths import safe_component


def test_resolve_home_prefers_cli_then_env_then_user_data_dir(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DAGSTUDIO_HOME", str(tmp_path / "env"))
    assert resolve_home(tmp_path / "cli") == (tmp_path / "cli").resolve()
    assert resolve_home(str(tmp_path / "cli")) == (tmp_path / "cli").resolve()
    assert resolve_home(None) == (tmp_path / "env").resolve()
    assert resolve_home("") == (tmp_path / "env").resolve()
    monkeypatch.delenv("DAGSTUDIO_HOME")
    assert resolve_home() == Path(platformdirs.user_data_path("dagstudio", appauthor=False)).resolve()
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_home("~/x") == (tmp_path / "x").resolve()


def test_log_path_is_airflows_layout(tmp_path: Path) -> None:
    assert log_path(tmp_path, "etl", "manual__1", "load.copy", -1, 2) == (
        tmp_path / "logs" / "dag_id=etl" / "run_id=manual__1" / "task_id=load.copy" / "attempt=2.log"
    )
    assert log_path(tmp_path, "etl", "r", "m", 0, 1) == (
        tmp_path / "logs" / "dag_id=etl" / "run_id=r" / "task_id=m" / "map_index=0" / "attempt=1.log"
    )
    with pytest.raises(ValueError, match="try_number"):
        log_path(tmp_path, "etl", "r", "t", -1, -1)


def test_run_ids_are_made_safe_for_file_names(tmp_path: Path) -> None:
    path = log_path(tmp_path, "etl", "manual__2024-01-01T00:00:00+00:00", "t", -1, 1)
    assert path.parent.parent.name == "run_id=manual__2024-01-01T00%3A00%3A00+00%3A00"
    for hostile in ("..", ".", "", "a/../../b", "a\\b", "x:y*z?"):
        part = safe_component(hostile)
        assert part not in ("", ".", "..") and "/" not in part and "\\" not in part and ":" not in part
        full = log_path(tmp_path, "d", hostile, "t", -1, 1)
        assert full.resolve().is_relative_to((tmp_path / "logs").resolve()) and len(full.parents) > 4
    # Distinct ids stay distinct files.
    ids = ["a:b", "a_b", "a%3Ab", "a b", "a+b", "..", "%2E%2E"]
    assert len({safe_component(i) for i in ids}) == len(ids)
