import pytest

from deeploop.errors import InputError
from deeploop.experiment.hypotheses import (HYPOTHESES_FILE, Hypothesis, find_tagged, keys_tested,
                                      parse_hypotheses, pending, read_hypotheses,
                                      render_hypotheses, tagged)


def five():
    return [Hypothesis(f"M1.{i}", i, f"LR 0.00{i} -> 0.00{i + 1}", "lower val_bpb",
                       "MEDIUM" if i < 3 else "LOW", f"reason {i}") for i in range(1, 6)]


def test_render_and_parse_round_trip():
    text = render_hypotheses(five(), stamp="2026-11-21 23:00:00", header="Analysis 1")
    assert text.startswith("# Meta-Analysis — 2026-11-21 23:00:00\n")
    parsed = parse_hypotheses(text)
    assert parsed == five()
    assert parsed[0].changes == {"LR": 0.002}


def test_exactly_five():
    with pytest.raises(InputError, match="exactly 5"):
        render_hypotheses(five()[:4], stamp="x")


def test_free_text_change_is_not_a_knob_change():
    h = Hypothesis("M1.1", 1, "swap the optimizer for Lion", "lower", "LOW", "untested")
    assert h.changes == {}


# One module reads both the strict format above and what a person or a model
# writes by hand (moved here from the experiment package's own lenient parser).
LENIENT = """# Meta-Analysis — 2026-05-22 06:15:05

Summary line that is not a hypothesis.

## 1. Raise the matrix learning rate
Change: `LR 0.003 -> 0.0045`. Expected: lower val_bpb. Confidence: HIGH (3 of 3 raises kept).

## 2. Shallower model
Set `DEPTH = 3`; expected lower val_bpb (more steps). Confidence: MEDIUM.

3. Try a cosine schedule instead of linear warmdown (no knob). Confidence: LOW.

### Hypothesis 4: bigger batch
BATCH_SIZE 16 -> 32, expected higher throughput. Confidence: LOW.

5) WARMDOWN_FRAC → 0.5 (from 0.4). Confidence: MEDIUM.
"""


def test_lenient_items_give_changes_confidence_and_keys():
    hyps = parse_hypotheses(LENIENT)
    assert [h.rank for h in hyps] == [1, 2, 3, 4, 5]
    assert [h.changes for h in hyps[:4]] == [{"LR": 0.0045}, {"DEPTH": 3}, {}, {"BATCH_SIZE": 32}]
    assert [h.confidence for h in hyps] == ["HIGH", "MEDIUM", "LOW", "LOW", "MEDIUM"]
    assert hyps[0].reason == "3 of 3 raises kept" and hyps[0].expected == "lower val_bpb"
    assert hyps[1].change == "DEPTH = 3" and hyps[1].reason == "Shallower model"
    assert hyps[2].change.startswith("Try a cosine schedule")
    assert hyps[0].id == "" and hyps[0].key == "2026-05-22 06:15:05#1" and hyps[0].label == "H1"
    assert hyps[0].to_json()["stamp"] == "2026-05-22 06:15:05"


def test_pending_skips_tested_ones_by_id_or_stamp(tmp_path):
    (tmp_path / HYPOTHESES_FILE).write_text(LENIENT)
    hyps = read_hypotheses(tmp_path)
    strict = parse_hypotheses(render_hypotheses(five(), stamp="2026-11-21 23:00:00"))
    events = [{"type": "experiment_result", "hypothesis": hyps[0].to_json()},
              {"type": "experiment_started", "hypothesis": hyps[1].to_json()},
              {"type": "experiment_result", "hypothesis": strict[2].to_json()},
              {"type": "experiment_result", "hypothesis": None}]
    tested = keys_tested(events)
    assert tested == {"2026-05-22 06:15:05#1", "M1.3"}
    assert [h.rank for h in pending(hyps, tested)] == [2, 3, 4, 5]
    assert [h.id for h in pending(strict, tested)] == ["M1.1", "M1.2", "M1.4", "M1.5"]
    assert read_hypotheses(tmp_path / "missing") == []


def test_descriptions_carry_exactly_one_tag():
    h = five()[1]
    assert tagged("LR 0.002 -> 0.003 [H1]", h) == "LR 0.002 -> 0.003 [M1.2]"
    assert tagged("LR 0.002 -> 0.003 [M7.1] [H3]", None) == "LR 0.002 -> 0.003"
    offered = parse_hypotheses(LENIENT)[:2] + five()
    assert find_tagged("x [M1.4]", offered).id == "M1.4"
    assert find_tagged("x [H2]", offered).change == "DEPTH = 3"
    assert find_tagged("x [M9.9]", offered) is None and find_tagged("no tag", offered) is None


def test_json_round_trip_and_multi_knob_changes():
    h = Hypothesis("M2.4", 4, "DEPTH 2 -> 3; WIDTH 128 -> 96", "lower", "MEDIUM", "near misses")
    assert Hypothesis.from_json(h.to_json()) == h
    assert h.changes == {"DEPTH": 3, "WIDTH": 96}
    assert "[M2.4] DEPTH 2 -> 3; WIDTH 128 -> 96 — expected: lower — confidence MEDIUM" \
        in h.describe()
