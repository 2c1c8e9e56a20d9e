"""Unit tests of the generator's Python literals, names and layout (``pyexpr``, ``names``, ``layout``)."""

from __future__ import annotations

import ast
import datetime as dt

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from studio.codegen.layout import Atom, Brackets, render
from studio.codegen.names import Namespace, identifier
from studio.codegen.pyexpr import (
    CodegenError,
    code_text,
    datetime_literal,
    is_kwarg_name,
    string_literal,
    timedelta_literal,
)
from studio.core.values import DateTime

SPECIAL = ["\x00", "\ud800", "\udfff", "\u2028", "\u2029", "\ufeff", "\u200d", "\x85", "\r", "\r\n", "\t"]
SPECIAL += ["\\", '"', "'", '"""', "'''", "\n", "{{ ds }}", "\\n", "é", "日本", "🙂", "\U0010ffff", " "]
ANY_TEXT = st.lists(st.one_of(st.characters(exclude_categories=()), st.sampled_from(SPECIAL)), max_size=30).map("".join)


@pytest.mark.parametrize(
    ("text", "literal"),
    [
        ("plain", '"plain"'),
        ('say "hi"', "'say \"hi\"'"),
        ("it's", '"it\'s"'),
        ("say \"hi\", it's o'k", '"say \\"hi\\", it\'s o\'k"'),  # a tie: double quotes win
        ("back\\slash", '"back\\\\slash"'),
        ("nul\x00", '"nul\\x00"'),
        ("lone \ud800", '"lone \\ud800"'),
        ("line\u2028sep", '"line\\u2028sep"'),
        ("zero\u200dwidth", '"zero\\u200dwidth"'),
        ("tab\there", '"tab\\there"'),
        ("café 日本 🙂", '"café 日本 🙂"'),
        ("one line\n", '"one line\\n"'),  # no interior newline: stays on one line
        ("two\nlines\n", '"""two\nlines\n"""'),
        ("trailing space \nx", '"trailing space \\nx"'),  # a stripping editor would change it
        ('ends with "quote"\nok"', '\'ends with "quote"\\nok"\''),
        ('a """ b\nc', '\'a """ b\\nc\''),
    ],
)
def test_string_literal(text: str, literal: str) -> None:
    assert string_literal(text) == literal
    assert ast.literal_eval(literal) == text


@settings(max_examples=400, deadline=None)
@given(ANY_TEXT)
def test_any_string_round_trips_and_can_be_written_as_utf8(text: str) -> None:
    literal = string_literal(text)
    literal.encode("utf-8")  # no lone surrogate left in the source text
    assert ast.literal_eval(literal) == text
    tree = ast.parse(f"f(\n    x={literal},\n)\n")
    assert ast.literal_eval(tree.body[0].value.keywords[0].value) == text  # type: ignore[attr-defined]
    assert ast.literal_eval(string_literal(text, multiline=False)) == text
    assert "\n" not in string_literal(text, multiline=False)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (dt.timedelta(minutes=5), "timedelta(minutes=5)"),
        (dt.timedelta(minutes=90), "timedelta(hours=1, minutes=30)"),
        (dt.timedelta(days=2), "timedelta(days=2)"),
        (dt.timedelta(hours=36), "timedelta(days=1, hours=12)"),
        (dt.timedelta(0), "timedelta(seconds=0)"),
        (dt.timedelta(seconds=1.5), "timedelta(seconds=1, milliseconds=500)"),
        (dt.timedelta(microseconds=7), "timedelta(microseconds=7)"),
        (-dt.timedelta(minutes=5), "-timedelta(minutes=5)"),
    ],
)
def test_timedelta_literal(value: dt.timedelta, text: str) -> None:
    assert timedelta_literal(value, "timedelta") == text


@given(st.timedeltas())
def test_every_timedelta_evaluates_back(value: dt.timedelta) -> None:
    assert eval(timedelta_literal(value, "timedelta"), {"timedelta": dt.timedelta}) == value


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (DateTime(dt.datetime(2024, 1, 1), "UTC"), 'pendulum.datetime(2024, 1, 1, tz="UTC")'),
        (DateTime(dt.datetime(2024, 1, 1)), "pendulum.datetime(2024, 1, 1)"),
        (
            DateTime(dt.datetime(2024, 6, 1, 6), "Europe/Amsterdam"),
            'pendulum.datetime(2024, 6, 1, 6, tz="Europe/Amsterdam")',
        ),
        (DateTime(dt.datetime(2024, 1, 1, 0, 0, 30)), "pendulum.datetime(2024, 1, 1, 0, 0, 30)"),
        (DateTime(dt.datetime(2024, 1, 1, 0, 0, 0, 5)), "pendulum.datetime(2024, 1, 1, 0, 0, 0, 5)"),
    ],
)
def test_datetime_literal(value: DateTime, text: str) -> None:
    assert datetime_literal(value, "pendulum") == text
    made = eval(text, {"pendulum": pendulum})
    assert made.replace(tzinfo=None) == value.value
    assert made.timezone_name == (value.tz or "UTC")


@pytest.mark.parametrize(
    ("source", "written"),
    [
        ('Variable.get("x")', 'Variable.get("x")'),
        ("  lambda: 1  ", "lambda: 1"),
        ("1, 2", "(1, 2)"),  # a bare tuple would be two arguments
        ("x := 1", "(x := 1)"),
        ("(x := 1)", "(x := 1)"),
        ("n for n in range(3)", "(n for n in range(3))"),
        ("x  # note", "(x  # note\n)"),  # the comment must not swallow the comma after it
        ("[\n    1,\n    2,\n]", "[\n    1,\n    2,\n]"),  # inside brackets line breaks are fine
    ],
)
def test_code_expressions_are_parenthesized_only_when_needed(source: str, written: str) -> None:
    assert code_text(source) == written
    tree = ast.parse(f"f(a={written}, b=1)")
    call = tree.body[0].value  # type: ignore[attr-defined]
    assert [k.arg for k in call.keywords] == ["a", "b"]
    meant = ast.parse(f"({source.strip()}\n)", mode="eval").body  # what the expression means on its own
    assert ast.dump(call.keywords[0].value) == ast.dump(meant)


@pytest.mark.parametrize("source", ["1 +", "", "yield x", "await x", "x = 1", "import os"])
def test_invalid_code_expressions_are_refused(source: str) -> None:
    with pytest.raises(CodegenError):
        code_text(source)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("extract", "extract"),
        ("features.scale", "features_scale"),
        ("2nd-step", "task_2nd_step"),
        ("ﬁle", "file"),  # Python reads identifiers in NFKC form
        ("ｐｒｉｎｔ", "print"),
        ("a²", "a2"),
        ("", "task"),
        ("---", "___"),
    ],
)
def test_identifier(text: str, name: str) -> None:
    assert identifier(text) == name
    assert name.isidentifier()


def test_namespace_avoids_keywords_builtins_and_taken_names_in_nfkc_form() -> None:
    space = Namespace({"extract"})
    assert space.claim("extract", "extract_task") == "extract_task"
    assert space.claim("class", "class_task") == "class_task"
    assert space.claim("print", "print_task") == "print_task"
    assert space.claim("ﬁ", "fi_task") == "fi"
    assert space.claim("fi", "fi_task") == "fi_task"
    assert space.claim("fi", "fi_task") == "fi_task_2"


def test_kwarg_names() -> None:
    assert is_kwarg_name("retries")
    assert is_kwarg_name("match")  # a soft keyword is a valid argument name
    assert not is_kwarg_name("class")
    assert not is_kwarg_name("a b")
    assert not is_kwarg_name("ﬁ")  # would be read back as "fi"
    assert not is_kwarg_name(3)


def test_layout_keeps_what_fits_and_explodes_the_rest_with_trailing_commas() -> None:
    short = Brackets("f", "(", ")", [("a=", Atom("1")), ("b=", Atom('"x"'))])
    assert render(short, 0, 0) == 'f(a=1, b="x")'
    long = Brackets("f", "(", ")", [(f"arg{i}=", Atom('"' + "x" * 20 + '"')) for i in range(5)])
    text = render(long, 4, 4)
    assert text.startswith("f(\n        arg0=")
    assert text.endswith(",\n    )")
    assert all(len(line) <= 100 for line in text.splitlines())
    multi = Brackets("f", "(", ")", [("doc=", Atom('"""a\nb"""'))])
    assert render(multi, 0, 0) == 'f(\n    doc="""a\nb""",\n)'
