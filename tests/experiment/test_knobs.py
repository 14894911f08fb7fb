"""The hyperparameter block and structured descriptions."""
from __future__ import annotations

import pytest

from deeploop.errors import InputError
from deeploop.experiment.knobs import (Change, describe, diff_knobs, format_value,
                                       parse_description, read_knobs, set_knobs)
from deeploop.experiment.rundir import template_files

TEMPLATE = template_files()["train.py"]


def test_template_knobs_are_upper_case_literals_in_the_block():
    knobs = read_knobs(TEMPLATE)
    assert {"DEPTH", "WIDTH", "HEADS", "SEQ_LEN", "BATCH_SIZE", "MATRIX_LR", "EMBED_LR",
            "NGRAM_ORDER", "WARMUP_FRAC", "WARMDOWN_FRAC"} <= set(knobs)
    assert "VOCAB" not in knobs and "PRIME" not in knobs  # outside the block
    assert all(name.isupper() for name in knobs)


def test_set_knobs_changes_one_literal_and_keeps_the_comment():
    new = set_knobs(TEMPLATE, {"MATRIX_LR": 0.0045, "DEPTH": 5})
    changed = [(a, b) for a, b in zip(TEMPLATE.splitlines(), new.splitlines()) if a != b]
    assert len(changed) == 2
    old_line, new_line = next(c for c in changed if c[0].startswith("MATRIX_LR"))
    assert new_line.startswith("MATRIX_LR = 0.0045 ")
    assert old_line.split("#")[1] == new_line.split("#")[1]
    assert read_knobs(new)["DEPTH"].value == 5
    old = read_knobs(TEMPLATE)
    assert [str(c) for c in diff_knobs(TEMPLATE, new)] == [
        f"DEPTH {old['DEPTH'].value} -> 5",
        f"MATRIX_LR {format_value(old['MATRIX_LR'].value)} -> 0.0045"]


def test_unknown_knob_and_unparsable_file_are_refused():
    with pytest.raises(InputError, match="no hyperparameter NOPE"):
        set_knobs(TEMPLATE, {"NOPE": 1})
    with pytest.raises(InputError, match="does not parse: line 1"):
        read_knobs("def (:\n")


def test_negative_and_bool_literals():
    source = "X = -3\nFLAG = True\nNAME = 'a'\nlower = 1\nY = 2 * 3\n"
    knobs = read_knobs(source)
    assert {k: v.value for k, v in knobs.items()} == {"X": -3, "FLAG": True, "NAME": "a"}
    assert set_knobs(source, {"X": -4, "FLAG": False}).startswith("X = -4\nFLAG = False\n")


@pytest.mark.parametrize("value, text", [(0.1, "0.1"), (3e-05, "3e-05"), (2.0, "2.0"),
                                         (4, "4"), (True, "True"), ("SSSL", "'SSSL'")])
def test_format_value_keeps_types(value, text):
    assert format_value(value) == text


def test_descriptions_round_trip():
    text = describe([Change("MATRIX_LR", 0.04, 0.06), Change("DEPTH", 8, 4)], hypothesis="M3.2")
    assert text == "MATRIX_LR 0.04 -> 0.06; DEPTH 8 -> 4 [M3.2]"
    parsed = parse_description(text)
    assert parsed.changes == (Change("MATRIX_LR", 0.04, 0.06), Change("DEPTH", 8, 4))
    assert parsed.hypothesis == "M3.2"
    assert parse_description("LR 0.1 -> 0.2 [H2]").hypothesis == "H2"


def test_free_text_descriptions_have_no_changes():
    for text in ("increase matrix LR to 0.04", "baseline (AdamW, default config)", ""):
        assert parse_description(text).changes == () and parse_description(text).hypothesis is None


def test_one_reader_of_name_old_new_for_descriptions_and_hypotheses():
    from deeploop.experiment.knobs import find_changes, parse_description
    from deeploop.experiment.hypotheses import Hypothesis
    text = "`MATRIX_LR` `0.04` → `0.06`; DEPTH: 8 -> 12; WARMUP 10% -> 5%; ACT relu => gelu."
    assert find_changes(text) == [("MATRIX_LR", "0.04", "0.06"), ("DEPTH", "8", "12"),
                                  ("WARMUP", "10%", "5%"), ("ACT", "relu", "gelu")]
    changes = parse_description(text + " [M2.1]").changes
    assert [(c.knob, c.old, c.new) for c in changes] == [
        ("MATRIX_LR", 0.04, 0.06), ("DEPTH", 8, 12), ("WARMUP", "10%", "5%"),
        ("ACT", "relu", "gelu")]
    hypothesis = Hypothesis("M2.1", 1, text)
    assert hypothesis.changes == {"MATRIX_LR": 0.06, "DEPTH": 12, "WARMUP": "5%", "ACT": "gelu"}
    assert Hypothesis("M2.2", 2, "DEPTH 8 -> 12.").changes == {"DEPTH": 12}
