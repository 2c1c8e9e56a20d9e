"""The run corpus (tests/run_corpus/) is sound: its files are well-formed single-concern DAGs, and real
Apache Airflow 3.3.2's ``dag.test()`` confirms the outcome each file declares (EXPECTED, EXPECTED_RUN_STATE,
EXPECTED_MARKERS). This guards the corpus itself; test_run_differential.py compares dagstudio against it.
"""

from __future__ import annotations

import ast
import re

import pytest

from tests.oracle.run_oracle import CORPUS_DIR, CorpusCase, airflow_run, corpus_cases, oracle_result

CASES = corpus_cases()
TI_STATES = {"success", "failed", "skipped", "upstream_failed", "removed"}
TRIGGER_RULES = {
    "all_success",
    "all_failed",
    "all_done",
    "all_done_min_one_success",
    "all_done_setup_success",
    "one_success",
    "one_failed",
    "one_done",
    "none_failed",
    "none_failed_min_one_success",
    "none_skipped",
    "always",
    "all_skipped",
}
AIRFLOW2_MODULES = {"airflow.operators.python", "airflow.decorators", "airflow.utils.task_group", "airflow"}


def _ids(cases: list[CorpusCase]) -> list[str]:
    return [c.dag_id for c in cases]


def _imports(case: CorpusCase) -> set[str]:
    tree = ast.parse(case.path.read_text())
    return {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }


def test_corpus_is_large_enough_and_covers_every_trigger_rule() -> None:
    assert len(CASES) >= 45
    text = "\n".join(c.path.read_text() for c in CASES)
    used = set(re.findall(r'trigger_rule="(\w+)"', text)) | {
        r for r in TRIGGER_RULES if re.search(rf"TriggerRule\.{r.upper()}\b", text)
    }
    assert used >= TRIGGER_RULES, TRIGGER_RULES - used
    assert {f"tr_{rule}" for rule in TRIGGER_RULES} <= {c.dag_id for c in CASES}


def test_corpus_mixes_airflow3_and_airflow2_import_styles() -> None:
    styles = [bool(_imports(c) & AIRFLOW2_MODULES) for c in CASES]
    assert sum(styles) >= 3
    assert len(styles) - sum(styles) >= 40


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_corpus_file_declares_its_outcome(case: CorpusCase) -> None:
    assert "Expected" in case.doc, "the docstring states the concern and the expected outcome"
    assert case.expected, "EXPECTED lists every task instance"
    for key, (state, try_number) in case.expected.items():
        assert state in TI_STATES, key
        assert isinstance(try_number, int) and try_number >= 0, key
        if state in {"success", "failed"}:
            assert try_number >= 1, key
        if state == "upstream_failed":
            assert try_number == 0, key
    assert case.run_state in {"success", "failed"}
    if case.markers is not None:
        assert case.markers == sorted(case.markers)
    assert f'"{case.dag_id}"' in case.path.read_text(), "the DAG id is the file's stem"


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_corpus_file_is_deterministic_fast_and_offline(case: CorpusCase) -> None:
    source = case.path.read_text()
    tree = ast.parse(source)
    assert not _imports(case) & {"requests", "urllib.request", "socket", "http.client", "random"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "sleep":
            assert node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value <= 1
        if isinstance(node, ast.keyword) and node.arg == "retry_delay":
            assert "seconds=0" in ast.unparse(node.value), "retries must not wait"
    if re.search(r"\bopen\(|touch \"", source):
        assert "RUN_CORPUS_TMP" in source, "files are written only under $RUN_CORPUS_TMP"
    for template in re.findall(r'"([\w.-]+\.(?:sh|sql))"', source):
        assert (CORPUS_DIR / template).is_file(), template


@pytest.mark.airflow
@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_airflow_confirms_the_declared_outcome(case: CorpusCase) -> None:
    result = oracle_result(case, prefetch=CASES)
    got = {key: (ti["state"], ti["try_number"]) for key, ti in result["tasks"].items()}
    assert got == case.expected
    assert result["state"] == case.run_state
    assert result["dag_id"] == case.dag_id
    assert result["run_id"] == f"manual__{case.logical_date}"
    if case.markers is not None:
        assert result["markers"] == case.markers
    for key, ti in result["tasks"].items():
        if ti["try_number"] > 0:
            assert ti["start"] and ti["end"] and ti["start"] <= ti["end"], key


@pytest.mark.airflow
def test_oracle_isolates_runs_and_passes_conf(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two runs of the same file start from a clean database (a counter file in a fresh folder each
    time, same try numbers), and the conf given is the run's conf."""
    flaky = CORPUS_DIR / "retries_succeed_on_third_try.py"
    first = airflow_run(flaky, "retries_succeed_on_third_try", "2024-01-01T00:00:00+00:00")
    second = airflow_run(flaky, "retries_succeed_on_third_try", "2024-01-01T00:00:00+00:00")
    assert first["tasks"]["flaky"]["try_number"] == second["tasks"]["flaky"]["try_number"] == 3
    conf_file = CORPUS_DIR / "template_conf_overrides_params.py"
    other = airflow_run(
        conf_file,
        "template_conf_overrides_params",
        "2024-02-03T00:00:00+00:00",
        {"color": "green", "extra": "e"},
        corpus_tmp=tmp_path,
    )
    assert other["run_id"] == "manual__2024-02-03T00:00:00+00:00"
    assert other["markers"] == ["conf_green_e_params_green_box"]
    assert [p.name for p in tmp_path.iterdir()] == ["conf_green_e_params_green_box"]
