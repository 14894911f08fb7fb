"""The offline analyst on plain data: five ranked, distinct hypotheses that
follow what the history says and never walk into a known crash."""
from __future__ import annotations

from deeploop.meta.offline_analyst import OfflineAnalyst
from deeploop.meta.response import configs, curves

from tests.helpers import OWN_RESULTS, OWN_WIDE_RESULTS, RECORDED_RESULTS, recordings

from .conftest import inputs_from

TRAIN = "LR = 0.0045\nDEPTH = 4\nWIDTH = 128\nWARMDOWN_FRAC = 0.4\n"


def analyse(rows, train_py=TRAIN, **kwargs):
    inputs = inputs_from(rows, train_py=train_py, **kwargs)
    return inputs, OfflineAnalyst().analyse(inputs)


def test_five_ranked_distinct_hypotheses_with_change_expected_and_confidence():
    _, analysis = analyse("a\t2.0\t1\tkeep\tbaseline\n", number=4)
    hyps = analysis.hypotheses
    assert [h.id for h in hyps] == ["M4.1", "M4.2", "M4.3", "M4.4", "M4.5"]
    assert [h.rank for h in hyps] == [1, 2, 3, 4, 5]
    assert len({h.change for h in hyps}) == 5
    assert all(h.changes and h.expected and h.reason and h.confidence in ("HIGH", "MEDIUM", "LOW")
               for h in hyps)
    assert analysis.commit_message.startswith("meta: analysis 4 after 0 experiments")


def test_a_direction_that_was_kept_is_pushed_first():
    rows = ("a\t2.000000\t1\tkeep\tbaseline\n"
            "b\t1.950000\t1\tkeep\tLR 0.003 -> 0.0045\n"
            "c\t1.960000\t1\tdiscard\tWIDTH 128 -> 160\n")
    _, analysis = analyse(rows)
    top = analysis.hypotheses[0]
    # the move that made the best is pushed with momentum: two steps of x1.5
    assert top.changes == {"LR": 0.0101} and top.confidence == "MEDIUM"
    assert "LR up: 1 of 1 kept" in top.reason
    older = analyse(rows + "d\t1.940000\t1\tkeep\tDEPTH 4 -> 5\n",
                    train_py=TRAIN.replace("DEPTH = 4", "DEPTH = 5"))[1].hypotheses
    assert {"LR": 0.00675} in [h.changes for h in older]  # an older win: one step
    # the move measured from this best is never proposed again
    assert all(h.change != "WIDTH 128 -> 160" for h in analysis.hypotheses)


def test_never_at_or_past_a_crash_and_reverses_what_only_hurt():
    rows = ("a\t2.000000\t1\tkeep\tbaseline\n"
            "b\t1.950000\t1\tkeep\tLR 0.003 -> 0.0045\n"
            "c\t0.000000\t0\tcrash\tLR 0.0045 -> 0.00675\n"
            "d\t2.100000\t1\tdiscard\tDEPTH 4 -> 5\n"
            "e\t2.090000\t1\tdiscard\tDEPTH 4 -> 6\n")
    _, analysis = analyse(rows)
    lr = [h.changes["LR"] for h in analysis.hypotheses if "LR" in h.changes]
    assert lr and all(value < 0.00675 for value in lr)
    depth = [h for h in analysis.hypotheses if "DEPTH" in h.changes]
    assert depth and all(h.changes["DEPTH"] < 4 for h in depth)
    assert any("DEPTH up: 0 of 2 kept" in h.reason for h in depth)


def test_near_misses_are_combined():
    rows = ("a\t2.000000\t1\tkeep\tbaseline\n"
            "b\t2.001000\t1\tdiscard\tWIDTH 128 -> 160\n"
            "c\t2.002000\t1\tdiscard\tWARMDOWN_FRAC 0.4 -> 0.55\n"
            "d\t2.300000\t1\tdiscard\tLR 0.0045 -> 0.00675\n")
    _, analysis = analyse(rows)
    combos = [h for h in analysis.hypotheses if len(h.changes) == 2]
    assert combos and combos[0].changes == {"WIDTH": 160, "WARMDOWN_FRAC": 0.55}
    assert "near misses in experiments 1 and 2" in combos[0].reason


def test_a_fitted_response_curve_points_at_its_bottom():
    rows = ("a\t2.050000\t1\tkeep\tbaseline\n"              # LR 0.002
            "b\t1.990000\t1\tkeep\tLR 0.002 -> 0.003\n"
            "c\t1.950000\t1\tkeep\tLR 0.003 -> 0.0045\n"
            "d\t1.951000\t1\tdiscard\tLR 0.0045 -> 0.00675\n")
    inputs, analysis = analyse(rows)
    start, measured = configs(inputs.records, inputs.knobs)
    assert start["LR"] == 0.002 and [c["LR"] for c in measured] == [0.003, 0.0045, 0.00675]
    curve = curves(inputs.records, inputs.knobs, 1.95, baseline=2.05)[0]
    assert curve.knob == "LR" and curve.inside and 0.0045 < curve.best_value < 0.00675
    top = analysis.hypotheses[0]
    assert top.changes == {"LR": curve.best_value} and top.expected.startswith("val_bpb about")
    assert top.reason.startswith("LR measured at 4 values: 0.002 (2.0500), 0.003 (1.9900)")
    # the fit alone steers LR: no push past the bottom, no other LR idea
    assert [h for h in analysis.hypotheses if "LR" in h.changes] == [top]
    # a curve that bottoms out where LR already is: nothing to try on LR
    flat = analyse(rows.replace("1.951000", "1.990000"))[1].hypotheses
    assert all("LR" not in h.changes for h in flat)


def test_plateau_prefers_bigger_steps_and_says_so():
    rows = "a\t2.0\t1\tkeep\tbaseline\nb\t1.9\t1\tkeep\tLR 0.003 -> 0.0045\n" + "".join(
        f"c{i}\t1.95\t1\tdiscard\tDEPTH 4 -> {5 + i}\n" for i in range(6))
    inputs, analysis = analyse(rows)
    assert inputs.summary.plateau
    assert "plateaued" in analysis.strategy and any("plateau" in d for d in analysis.didnt)


def test_thin_history_without_knobs_still_gives_five():
    _, analysis = analyse("a\t2.0\t1\tkeep\tbaseline\n", train_py="")
    assert len(analysis.hypotheses) == 5
    assert analysis.hypotheses[0].change == "repeat the best configuration unchanged"


def test_with_nothing_scored_it_does_not_speak_of_a_best():
    rows = "a\t0.0\t0\tcrash\tbaseline OOM\nb\t0.0\t0\tcrash\tDEPTH 4 -> 8\n"
    for train_py in (TRAIN, ""):
        changes = [h.change for h in analyse(rows, train_py=train_py)[1].hypotheses]
        assert len(changes) == 5 and not any("best" in c for c in changes)
    assert "run the current configuration once more, unchanged" in changes


def test_a_five_column_results_file():
    from deeploop.meta.inputs import gather_file
    inputs = gather_file(OWN_RESULTS)
    analysis = OfflineAnalyst().analyse(inputs)
    assert inputs.knobs == {"LR": 0.006, "DEPTH": 6, "WIDTH": 160}
    changes = [h.change for h in analysis.hypotheses]
    assert changes[0] == "LR 0.006 -> 0.009"  # the biggest win, pushed further
    depth = [h.changes["DEPTH"] for h in analysis.hypotheses if "DEPTH" in h.changes]
    assert depth and all(value < 16 for value in depth)  # DEPTH 4 -> 16 crashed


def test_free_text_descriptions_in_extra_columns():
    from deeploop.meta.inputs import gather_file
    inputs = gather_file(OWN_WIDE_RESULTS)
    analysis = OfflineAnalyst().analyse(inputs)
    assert {"LR", "WEIGHT_DECAY"} <= set(inputs.knobs)
    assert len(analysis.hypotheses) == 5


@recordings
def test_the_autoresearch_fixture():
    from deeploop.meta.inputs import gather_file
    inputs = gather_file(RECORDED_RESULTS)
    analysis = OfflineAnalyst().analyse(inputs)
    assert inputs.knobs == {"BATCH_SIZE": 65536, "MATRIX_LR": 0.04, "DEPTH": 4}
    changes = [h.change for h in analysis.hypotheses]
    assert changes[0] == "DEPTH 4 -> 2"  # the biggest win, pushed further with momentum
    assert "MATRIX_LR 0.04 -> 0.06" in changes and "BATCH_SIZE 65536 -> 32768" in changes
    assert "WEIGHT_DECAY up one step from its current value" in changes  # lowering it hurt


def test_a_crash_in_an_earlier_epoch_still_bounds_the_steps():
    rows = ("a\t2.000000\t1\tkeep\tbaseline\n"
            "b\t1.950000\t1\tkeep\tLR 0.003 -> 0.0045\n"
            "c\t0.000000\t0\tcrash\tLR 0.0045 -> 0.00675\n"
            "d\t1.940000\t1\tkeep\tDEPTH 4 -> 5\n")
    _, analysis = analyse(rows, train_py=TRAIN.replace("DEPTH = 4", "DEPTH = 5"))
    lr = [h.changes["LR"] for h in analysis.hypotheses if "LR" in h.changes]
    assert lr and all(value < 0.00675 for value in lr)


def test_a_combination_already_measured_is_not_proposed_again():
    rows = ("a\t2.000000\t1\tkeep\tbaseline\n"
            "b\t2.001000\t1\tdiscard\tWIDTH 128 -> 160\n"
            "c\t2.002000\t1\tdiscard\tWARMDOWN_FRAC 0.4 -> 0.55\n"
            "d\t2.003000\t1\tdiscard\tWIDTH 128 -> 160; WARMDOWN_FRAC 0.4 -> 0.55\n")
    _, analysis = analyse(rows)
    assert all(h.changes != {"WIDTH": 160, "WARMDOWN_FRAC": 0.55} for h in analysis.hypotheses)



def test_never_proposes_a_value_outside_the_template_range():
    """From a demo run: a quadratic through DEPTH 1, 2, 3 bottoms out at 0 layers."""
    rows = ("f6fc4ef\t2.060429\t0.6\tkeep\tbaseline\n"
            "08df2a2\t2.052580\t0.6\tkeep\tMATRIX_LR 0.02 -> 0.03\n"
            "c0c7ac7\t2.104588\t0.5\tdiscard\tMATRIX_LR 0.03 -> 0.0675 [M1.1]\n"
            "a45c6be\t2.128376\t0.6\tdiscard\tDEPTH 2 -> 3 [M1.2]\n"
            "d9e1b0d\t1.975191\t0.6\tkeep\tDEPTH 2 -> 1 [M1.3]\n")
    train = "MATRIX_LR = 0.03\nDEPTH = 1\nWIDTH = 128\nBATCH_SIZE = 16\n"
    changes = [h.changes for h in analyse(rows, train_py=train)[1].hypotheses]
    assert len(changes) == 5 and all(c.get("DEPTH", 1) >= 1 for c in changes), changes
