"""Statistics over the history: records, summary, plateau, knob effects,
near misses, crashes, verdicts, and knob moves read from prose."""
from __future__ import annotations

import pytest

from deeploop.meta.freetext import read_moves
from deeploop.experiment.hypotheses import Hypothesis
from deeploop.meta.stats import Move, above_noise, crash_values, effects, moves_of, near_misses

from .conftest import inputs_from

ROWS = ("a0\t2.000000\t1.0\tkeep\tbaseline\n"
        "a1\t1.980000\t1.0\tkeep\tLR 0.003 -> 0.0045 [M1.1]\n"
        "a2\t0.000000\t0.0\tcrash\tLR 0.0045 -> 0.02\n"
        "a3\t1.985000\t1.0\tdiscard\tDEPTH 4 -> 5 [M1.2]\n"
        "a4\tbad\t1.0\tkeep\tWIDTH 128 -> 96\n"
        "a5\t1.960000\t1.0\tkeep\tLR 0.0045 -> 0.00675\n"
        "a6\t1.961000\t1.0\tdiscard\tWIDTH 128 -> 160\n"
        "a7\t1.962000\t1.0\tdiscard\tDEPTH 4 -> 3\n")


def test_records_summary_and_crash_rows_never_best():
    inputs = inputs_from(ROWS)
    s = inputs.summary
    assert [r.number for r in inputs.records] == [1, 2, 3, 4, 5, 6]  # the bad row is skipped
    assert (s.experiments, s.keeps, s.discards, s.crashes) == (6, 2, 3, 1)
    assert s.best.commit == "a5" and s.best.val_bpb == 1.96 and s.baseline == 2.0
    assert s.curve == [(1, 1.98), (2, 1.98), (3, 1.98), (4, 1.96), (5, 1.96), (6, 1.96)]
    assert s.best_at == 4 and s.since_best == 2 and not s.plateau
    assert s.improvement == 0.04 and s.per_experiment == pytest.approx(0.04 / 6)
    record = inputs.records[2]
    assert record.hypothesis == "M1.2" and record.delta == 0.005
    assert record.gain == pytest.approx(-0.005 / 1.98)
    assert inputs.records[1].gain is None and inputs.records[1].delta is None  # the crash
    assert inputs.knobs == {"LR": 0.00675, "DEPTH": 4, "WIDTH": 128}  # as far as rows tell


def test_plateau_after_a_third_of_the_experiments_without_a_new_best():
    rows = "a\t2.0\t1\tkeep\tbaseline\nb\t1.9\t1\tkeep\tLR 1 -> 2\n" + \
        "".join(f"c{i}\t1.95\t1\tdiscard\tDEPTH {i} -> {i + 1}\n" for i in range(6))
    assert inputs_from(rows).summary.plateau
    assert not inputs_from(rows.rsplit("c5", 1)[0]).summary.plateau


def test_effects_per_knob_and_direction_with_certainty():
    found = effects(inputs_from(ROWS).records)
    lr_up = found[("LR", 1)]
    assert (len(lr_up.trials), lr_up.keeps, lr_up.crashes) == (3, 2, 1)
    assert lr_up.mean == pytest.approx((0.01 + 0.02 / 1.98) / 2)
    assert lr_up.certainty() == "MEDIUM"                   # two, same sign
    assert found[("DEPTH", 1)].certainty() == "LOW"       # one, small
    assert found[("DEPTH", -1)].gains == [pytest.approx(-0.002 / 1.96)]
    sure = inputs_from("a\t2.0\t1\tkeep\tbaseline\n" + "".join(
        f"b{i}\t{2.0 - 0.02 * (i + 1):.6f}\t1\tkeep\tLR {i} -> {i + 1}\n" for i in range(3)))
    assert effects(sure.records)[("LR", 1)].certainty() == "HIGH"
    tiny = inputs_from("a\t2.0\t1\tkeep\tbaseline\n" + "".join(
        f"b{i}\t{2.0 - 0.0001 * (i + 1):.6f}\t1\tkeep\tLR {i} -> {i + 1}\n" for i in range(3)))
    assert effects(tiny.records)[("LR", 1)].certainty() == "LOW"  # consistent but negligible


def test_near_misses_crashes_and_noise_floor():
    records = inputs_from(ROWS).records
    assert [r.row.commit for r in near_misses(records)] == ["a6", "a7"]
    assert crash_values(records) == {("LR", 1): [0.02]}
    above, below = above_noise(records, floor=0.015)
    assert [r.row.commit for r in above] == ["a1", "a5"] and below == []
    above, below = above_noise(records, floor=0.02)
    assert [r.row.commit for r in above] == [] and [r.row.commit for r in below] == ["a1", "a5"]
    noisy = inputs_from("n0\t2.000\t1\tkeep\tbaseline\n"
                        "n1\t2.004\t1\tdiscard\tbaseline (noise run 1/2)\n"
                        "n2\t1.996\t1\tdiscard\tbaseline (noise run 2/2)\n"
                        "b\t1.990\t1\tkeep\tLR 1 -> 2\n")
    assert noisy.summary.sigma == pytest.approx(0.004) and noisy.summary.experiments == 1
    assert noisy.summary.floor == pytest.approx(0.008)


def test_verdicts_of_the_previous_hypotheses():
    previous = [Hypothesis("M1.1", 1, "LR 0.003 -> 0.0045"), Hypothesis("M1.2", 2, "DEPTH 4 -> 5"),
                Hypothesis("M1.3", 3, "x")]
    inputs = inputs_from(ROWS, previous=previous)
    assert inputs.verdicts == [
        {"id": "M1.1", "verdict": "confirmed", "experiment": 1, "delta": -0.02},
        {"id": "M1.2", "verdict": "refuted", "experiment": 3, "delta": 0.005},
        {"id": "M1.3", "verdict": "untested", "experiment": None, "delta": None}]
    later = inputs_from(ROWS, previous=previous, after=2).verdicts
    assert later[0]["verdict"] == "untested" and later[1]["verdict"] == "refuted"


def test_moves_from_description_then_diff_then_prose():
    assert moves_of("DEPTH 4 -> 3") == (Move("DEPTH", -1, 4, 3),)
    diff = "@@ -1,2 +1,2 @@\n-LR = 0.003  # rate\n+LR = 0.006  # rate\n DEPTH = 4\n"
    assert moves_of("raise the rate", diff) == (Move("LR", 1, 0.003, 0.006),)
    assert moves_of("increase matrix LR to 0.04") == (Move("MATRIX_LR", 1, None, 0.04),)
    assert moves_of("try a cosine schedule") == ()


@pytest.mark.parametrize("text, moves", [
    ("lower weight decay to 0.1", [("WEIGHT_DECAY", -1, None, 0.1)]),
    ("halve total batch size to 2^16", [("BATCH_SIZE", -1, None, 65536)]),
    ("reduce depth from 8 to 4", [("DEPTH", -1, 8, 4)]),
    ("increase matrix LR to 0.04", [("MATRIX_LR", 1, None, 0.04)]),
    ("double the width and halve the learning rate", [("WIDTH", 1, None, None),
                                                       ("LR", -1, None, None)]),
    ("baseline (AdamW, default config)", []),
    ("mention depth only", []),
])
def test_prose_descriptions(text, moves):
    assert [(m.knob, m.direction, m.old, m.new) for m in read_moves(text)] == moves


def test_prose_uses_the_train_py_knob_names_too():
    assert read_moves("raise total batch size to 2^19", names=["TOTAL_BATCH_SIZE"])[0].knob == \
        "TOTAL_BATCH_SIZE"
