"""Reading a parameters cell and checking given values (no kernel needed)."""
from __future__ import annotations

import pytest
from tests.notebook.nbhelpers import DATA, make_notebook

from deeploop.errors import InputError, NotFound
from deeploop.notebook.parameters import check_type, coerce, read_parameters, validate

PARAMS = DATA / "params.ipynb"


@pytest.fixture(scope="module")
def declared():
    return read_parameters(PARAMS)


def test_reads_names_hints_defaults_and_comments_in_order(declared):
    assert list(declared) == ["experiments", "rate", "tag", "verbose", "names", "limit",
                              "mode", "run_dir"]
    exp = declared["experiments"]
    assert (exp.hint, exp.default, exp.help) == ("int", 3, "how many experiments to run")
    assert declared["limit"].hint == "int | None"
    assert declared["names"].default == ["a", "b"]
    assert declared["experiments"].describe() == "experiments: int = 3  # how many experiments to run"


@pytest.mark.parametrize("name, text, expected", [
    ("experiments", "24", 24),
    ("rate", "0.01", 0.01),
    ("rate", "2", 2.0),
    ("tag", "24", "24"),          # a str parameter keeps the text as typed
    ("verbose", "yes", True),
    ("verbose", "False", False),
    ("names", '["x", "y"]', ["x", "y"]),
    ("limit", "none", None),
    ("limit", "7", 7),
])
def test_command_line_strings_follow_the_type_hint(declared, name, text, expected):
    value = validate(declared, {name: text}, from_cli=frozenset({name}))[name]
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("name, text", [
    ("experiments", "many"), ("experiments", "2.5"), ("verbose", "maybe"),
    ("names", "a,b"), ("limit", "lots"),
])
def test_unconvertible_string_names_parameter_type_and_value(declared, name, text):
    with pytest.raises(InputError) as err:
        validate(declared, {name: text}, from_cli=frozenset({name}))
    message = str(err.value)
    assert name in message and repr(text) in message and "expects" in message
    assert err.value.name == name and "\n" not in message


def test_unknown_parameter_is_an_error_listing_the_known_ones(declared):
    with pytest.raises(InputError, match=r"has no parameter 'expriments' \(it has: experiments,"):
        validate(declared, {"expriments": 3}, where="params.ipynb")


@pytest.mark.parametrize("name, value", [
    ("experiments", 2.5), ("experiments", True), ("experiments", "3"),
    ("tag", 2024), ("verbose", 1), ("names", "a"), ("rate", None),
])
def test_typed_values_of_the_wrong_type_are_refused(declared, name, value):
    with pytest.raises(InputError, match=rf"parameter '{name}' expects .*got {value!r}"):
        validate(declared, {name: value})


def test_typed_values_that_fit_pass_and_ints_widen_to_float(declared):
    given = {"experiments": 5, "rate": 1, "limit": None, "names": ["z"], "verbose": True}
    checked = validate(declared, given)
    assert checked == {"experiments": 5, "rate": 1.0, "limit": None, "names": ["z"],
                       "verbose": True}
    assert type(checked["rate"]) is float


def test_untyped_parameters_take_their_type_from_the_default(tmp_path):
    nb = make_notebook(tmp_path / "n.ipynb", ["pass"],
                       params="count = 4  # rounds\nlabel = 'x'\nanything = None\nmodel: Model = None")
    declared = read_parameters(nb)
    assert coerce(declared["count"], "9") == 9
    with pytest.raises(InputError, match="expects int"):
        check_type(declared["count"], "nine")
    assert coerce(declared["anything"], "text") == "text"       # no hint, no default: any
    assert check_type(declared["model"], object) is object      # unknown hint: any
    assert declared["count"].help == "rounds"


def test_optional_and_union_hints(tmp_path):
    nb = make_notebook(tmp_path / "n.ipynb", ["pass"],
                       params="a: Optional[float] = None\nb: Union[int, str] = 1\nc: 'int' = 2")
    declared = read_parameters(nb)
    assert coerce(declared["a"], "null") is None and coerce(declared["a"], "1.5") == 1.5
    assert coerce(declared["b"], "7") == 7 and coerce(declared["b"], "seven") == "seven"
    assert coerce(declared["c"], "3") == 3


def test_notebook_without_parameters_cell_declares_nothing(tmp_path):
    assert read_parameters(make_notebook(tmp_path / "n.ipynb", ["x = 1"])) == {}


def test_bad_parameters_cell_names_the_line(tmp_path):
    nb = make_notebook(tmp_path / "n.ipynb", ["pass"], params="a = 1\nb = = 2")
    with pytest.raises(InputError, match=r"parameters cell line 2"):
        read_parameters(nb)


def test_missing_or_broken_notebook_files(tmp_path):
    with pytest.raises(NotFound, match="notebook not found"):
        read_parameters(tmp_path / "nope.ipynb")
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{ not json")
    with pytest.raises(InputError, match="not a Jupyter notebook"):
        read_parameters(bad)
