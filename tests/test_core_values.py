"""Model values and their JSON form: every type round-trips, malformed tags are refused with a reason."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from studio.core.values import CallableRef, CodeExpr, DateTime, ParamValue, ValueError_, XComRef, from_json, to_json

SAMPLES = [
    None,
    True,
    3,
    2.5,
    "echo {{ ds }}",
    [1, "a", None],
    {"nested": {"list": [1, 2]}},
    dt.timedelta(minutes=5),
    dt.timedelta(seconds=1.5),
    DateTime(dt.datetime(2024, 1, 1, 6, 30), "Europe/Amsterdam"),
    DateTime(dt.datetime(2024, 1, 1)),
    CallableRef("extract"),
    XComRef("extract"),
    XComRef("extract", "rows"),
    ParamValue(5, {"type": "integer", "minimum": 1}),
    ParamValue(None, {"type": "string"}, has_default=False),
    CodeExpr("Variable.get('x')"),
]


@pytest.mark.parametrize("value", SAMPLES, ids=lambda v: type(v).__name__)
def test_round_trip_through_json_text(value):
    text = json.dumps(to_json(value))
    assert from_json(json.loads(text)) == value


def test_tagged_forms_are_readable():
    assert to_json(dt.timedelta(minutes=5)) == {"$type": "timedelta", "seconds": 300}
    assert to_json(DateTime(dt.datetime(2024, 1, 1), "UTC")) == {
        "$type": "datetime",
        "iso": "2024-01-01T00:00:00",
        "tz": "UTC",
    }
    assert to_json(XComRef("a")) == {"$type": "xcom", "task_id": "a"}


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"$type": "bogus"}, "unknown value type"),
        ({"$type": "timedelta"}, "needs 'seconds'"),
        ({"$type": "timedelta", "seconds": "5"}, "wrong type"),
        ({"$type": "timedelta", "seconds": True}, "wrong type"),
        ({"$type": "datetime", "iso": "yesterday"}, "datetime"),
        ({"$type": "datetime", "iso": "2024-01-01T00:00:00+01:00"}, "offset"),
        ({"$type": "datetime", "iso": "2024-01-01T00:00:00", "tz": 3}, "tz"),
        ({"$type": "callable"}, "needs 'name'"),
        ({"$type": "xcom", "task_id": "a", "key": 1}, "key"),
        ({"$type": "param", "schema": []}, "schema"),
    ],
)
def test_malformed_tags_are_refused(data, reason):
    with pytest.raises(ValueError_, match=reason):
        from_json(data)


def test_datetime_must_be_naive():
    with pytest.raises(ValueError_):
        DateTime(dt.datetime(2024, 1, 1, tzinfo=dt.UTC))


def test_unknown_python_object_is_not_a_value():
    with pytest.raises(TypeError):
        to_json(object())


json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
json_values = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text().filter(lambda k: k != "$type"), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_plain_json_stands_for_itself(value):
    assert from_json(value) == value
    assert to_json(from_json(value)) == value
