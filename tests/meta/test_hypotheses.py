import pytest

from deeploop.errors import InputError
from deeploop.meta.hypotheses import Hypothesis, parse_hypotheses, render_hypotheses


def five():
    return [Hypothesis(f"M1.{i}", i, f"LR 0.00{i} -> 0.00{i + 1}", "lower val_bpb",
                       "MEDIUM" if i < 3 else "LOW", f"reason {i}") for i in range(1, 6)]


def test_render_and_parse_round_trip():
    text = render_hypotheses(five(), stamp="2026-11-21 23:00:00", header="Analysis 1")
    assert text.startswith("# Meta-Analysis — 2026-11-21 23:00:00\n")
    parsed = parse_hypotheses(text)
    assert parsed == five()
    assert parsed[0].knob_change() == ("LR", "0.001", "0.002")


def test_exactly_five():
    with pytest.raises(InputError, match="exactly 5"):
        render_hypotheses(five()[:4], stamp="x")


def test_free_text_change_is_not_a_knob_change():
    h = Hypothesis("M1.1", 1, "swap the optimizer for Lion", "lower", "LOW", "untested")
    assert h.knob_change() is None
