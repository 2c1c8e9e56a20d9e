"""XCom values as JSON: codec round trips (hypothesis), the tagged repr of non-JSON values, XComReader."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from studio.store import (
    MISSING,
    Store,
    TIKey,
    UnserializableXCom,
    XComNotSerializableError,
    XComReader,
    XComRow,
    decode_value,
    encode_value,
    jsonable,
)
from studio.store.xcom_reader import unserializable

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(st.characters(exclude_categories=())),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=20,
)


@given(json_values)
def test_codec_round_trips_json_values(value: Any) -> None:
    text = encode_value(value)
    assert unserializable(text) is None
    assert decode_value(text) == value


def test_text_is_stored_readably_and_lone_surrogates_survive(filled_store: Store) -> None:
    assert encode_value("zoë ✓") == '"zoë ✓"'
    key = TIKey("d", "r", "b")
    filled_store.finish_try(key, 1, state="success", end_date=T0, xcom={"odd": "a\ud800b", "nice": "zoë"})
    with XComReader(filled_store.db_path) as reader:
        assert reader.get("d", "r", "b", key="odd") == "a\ud800b"
        assert reader.get("d", "r", "b", key="nice") == "zoë"


def test_tuples_come_back_as_lists_like_airflows_json() -> None:
    assert decode_value(encode_value({"t": (1, "a")})) == {"t": [1, "a"]}
    assert decode_value(encode_value(float("inf"))) == math.inf


@pytest.mark.parametrize("value", [{1, 2}, object(), b"bytes", dt.date(2024, 1, 1)])
def test_non_json_values_become_a_tagged_repr_that_fails_clearly(value: Any) -> None:
    text = encode_value(value)
    tagged = unserializable(text)
    assert isinstance(tagged, UnserializableXCom)
    assert tagged.type == f"{type(value).__module__}.{type(value).__qualname__}" and tagged.repr == repr(value)
    with pytest.raises(XComNotSerializableError, match=r"not JSON-serializable.*only its repr was stored"):
        decode_value(text, "'return_value' of task t")


def test_jsonable_passes_json_through_and_tags_the_rest(filled_store: Store) -> None:
    value = {"a": [1, 2.5, None]}
    assert jsonable(value) is value
    tagged = jsonable({1, 2})
    assert encode_value(tagged) == encode_value({1, 2})  # stored by the engine, it is the same tagged repr
    key = TIKey("d", "r", "a")
    filled_store.finish_try(key, 1, state="success", end_date=T0, xcom={"via_worker": tagged})
    with XComReader(filled_store.db_path) as reader, pytest.raises(XComNotSerializableError, match=r"builtins\.set"):
        reader.get("d", "r", "a", key="via_worker")


def test_circular_and_huge_values() -> None:
    loop: list[Any] = []
    loop.append(loop)
    assert unserializable(encode_value(loop)).error  # a circular list is kept as repr, not a crash
    big = unserializable(encode_value({object(): "x" * 10_000}))
    assert big.repr.endswith("...") and len(big.repr) < 2100


@pytest.fixture(scope="module")
def filled_store():
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp)) as store:
        store.create_dag_run("d", "r", logical_date=None, task_instances=[
            {"task_id": "a"}, {"task_id": "b"}, {"task_id": "m", "map_index": 2},
            {"task_id": "m", "map_index": 0}, {"task_id": "m", "map_index": 1}, {"task_id": "bad"}])  # fmt: skip
        for key, xcom in [
            (TIKey("d", "r", "a"), {"return_value": "A", "other": None}),
            (TIKey("d", "r", "b"), {"return_value": {"b": 1}}),
            (TIKey("d", "r", "m", 2), {"return_value": 20}),
            (TIKey("d", "r", "m", 0), {"return_value": 0}),
            (TIKey("d", "r", "m", 1), {"other": 11}),
            (TIKey("d", "r", "bad"), {"return_value": {1, 2}}),
        ]:
            store.start_try(key, 1, start_date=T0)
            store.finish_try(key, 1, state="success", end_date=T0, xcom=xcom)
        yield store


def test_reader_get(filled_store: Store) -> None:
    with XComReader(filled_store.db_path) as reader:
        assert reader.get("d", "r", "a") == "A"
        assert reader.get("d", "r", "a", key="other") is None  # a pushed None is not MISSING
        assert reader.get("d", "r", "a", key="nope") is MISSING
        assert reader.get("d", "r", "m", 2) == 20 and reader.get("d", "r", "m") is MISSING
        assert reader.get("d", "other_run", "a") is MISSING
        with pytest.raises(XComNotSerializableError, match=r"'return_value' of task bad \(run r\).*builtins.set"):
            reader.get("d", "r", "bad")


def test_reader_get_many_orders_by_task_ids_then_map_index(filled_store: Store) -> None:
    with XComReader(filled_store.db_path) as reader:
        assert reader.get_many("d", "r", ["b", "m", "a"]) == [
            XComRow("b", -1, {"b": 1}), XComRow("m", 0, 0), XComRow("m", 2, 20), XComRow("a", -1, "A")]  # fmt: skip
        assert [row.value for row in reader.get_many("d", "r", "m")] == [0, 20]
        assert reader.get_many("d", "r", ["m"], key="other") == [XComRow("m", 1, 11)]
        assert reader.get_many("d", "r", ["m"], map_indexes=[2, 1]) == [XComRow("m", 2, 20)]
        assert reader.get_many("d", "r", ["m"], map_indexes=0) == [XComRow("m", 0, 0)]
        assert reader.get_many("d", "r", []) == [] and reader.get_many("d", "r", ["m"], map_indexes=[]) == []
        assert reader.get_many("d", "r", ["zz"]) == []


def test_reader_is_read_only_and_reports_a_missing_store(filled_store: Store, tmp_path: Path) -> None:
    reader = XComReader(filled_store.db_path)
    with pytest.raises(sqlite3.OperationalError, match=r"readonly|read-only|query_only"):
        reader._connection().execute("DELETE FROM xcom")
    reader.close()
    with pytest.raises(FileNotFoundError, match="no DAG Studio store at"):
        XComReader(tmp_path / "nothing.db").get("d", "r", "a")


def test_missing_is_a_falsy_singleton() -> None:
    import pickle

    assert not MISSING and repr(MISSING) == "MISSING" and type(MISSING)() is MISSING
    assert pickle.loads(pickle.dumps(MISSING)) is MISSING


_counter = itertools.count()


@settings(max_examples=60, deadline=None)
@given(value=json_values)
def test_store_and_reader_round_trip_xcom_values(filled_store: Store, value: Any) -> None:
    task_id = f"h{next(_counter)}"
    filled_store.upsert_task_instances("d", "r", [{"task_id": task_id}])
    key = TIKey("d", "r", task_id)
    filled_store.finish_try(key, 1, state="success", end_date=T0, xcom={"return_value": value, "k": [value]})
    with XComReader(filled_store.db_path) as reader:
        assert reader.get("d", "r", task_id) == value
        assert reader.get("d", "r", task_id, key="k") == [value]
    assert filled_store.xcoms(key) == {"return_value": value, "k": [value]}
