"""What the experiment report computes, as pure functions over results and events:
running best, top hits, the meta-analysis timeline (hand-written events in the
meta tier's format), time and cost."""
from __future__ import annotations

import pytest

from deeploop.experiment.results import RowStatus, parse_results
from deeploop.notebook import progress

TSV = "\n".join([
    "commit\tval_bpb\tmemory_gb\tstatus\tdescription\tmfu",
    "a000000\t2.000000\t1.0\tkeep\tbaseline\t10",
    "b000000\t2.100000\t1.0\tdiscard\tLR 0.004 -> 0.006\t10",
    "c000000\t0.000000\t0.0\tcrash\tDEPTH 4 -> 12\t0",
    "d000000\t1.900000\t1.0\tkeep\tWIDTH 128 -> 256\t11",
    "e000000\tbanana\t1.0\tkeep\ta hand edit gone wrong\t11",
    "f000000\t1.850000\t1.0\tkeep\tLR 0.004 -> 0.003\t12",
    "g000000\t1.700000\t1.0\tkeep\tDEPTH 4 -> 3\t12",
]) + "\n"


@pytest.fixture
def results():
    return parse_results(TSV)


def test_running_best_skips_crashes_and_bad_rows(results):
    assert progress.running_best(results) == [
        (0, 2.0), (1, 2.0), (2, 2.0), (3, 1.9), (4, 1.9), (5, 1.85), (6, 1.7)]


def test_top_hits_are_gains_over_the_best_before(results):
    hits = progress.top_hits(results)
    assert [(h.commit, round(h.improvement, 6)) for h in hits] == [
        ("g000000", 0.15), ("d000000", 0.1), ("f000000", 0.05)]
    assert hits[0].previous == 1.85 and hits[0].share == pytest.approx(0.15 / 1.85)
    assert progress.top_hits(parse_results(TSV.split("\n")[0] + "\n")) == []


def test_counts_leave_the_baseline_out(results):
    assert {s.value: results.count(s) for s in RowStatus} == {"keep": 3, "discard": 1, "crash": 1}  # bad row out
    assert results.best().commit == "g000000"


def meta_event(n, experiments, hypotheses, verdicts=(), **extra):
    return {"ts": f"2026-05-22T06:{10 + n:02d}:00Z", "type": "meta_analysis", "analysis": n,
            "trigger": "interval", "analyst": "offline", "fallback": None,
            "experiments": experiments, "best": {"val_bpb": 1.9, "commit": "d000000"},
            "hypotheses": hypotheses, "verdicts": list(verdicts), "program_version": n + 1,
            **extra}


def hyp(id_, rank, change, confidence="HIGH"):
    return {"id": id_, "rank": rank, "change": change, "expected": "val_bpb down",
            "confidence": confidence, "reason": "because"}


def result(n, status, hypothesis=None, val=None, before=None):
    return {"type": "experiment_result", "round": n, "status": status, "val_bpb": val,
            "best_before": before, "hypothesis": hypothesis, "kind": "proposal"}


def test_meta_timeline_verdicts_from_experiments_and_later_analyses():
    events = [
        meta_event(1, 3, [hyp("M1.1", 1, "MATRIX_LR 0.04 -> 0.06"),
                          hyp("M1.2", 2, "DEPTH 4 -> 3"), hyp("M1.3", 3, "WIDTH 128 -> 96"),
                          hyp("M1.4", 4, "WARMUP 0 -> 10", "LOW")]),
        result(4, "keep", {"id": "M1.1"}, val=1.85, before=1.9),
        result(5, "discard", {"id": "M1.2"}, val=1.95, before=1.85),
        result(6, "crash", {"id": "M1.3"}),
        result(7, "keep", {"rank": 1, "stamp": "x", "text": "older format, no id"}, 1.8, 1.85),
        meta_event(2, 7, [hyp("M2.1", 1, "LR 0.003 -> 0.002")],
                   verdicts=[{"id": "M1.2", "verdict": "refuted", "experiment": 5,
                              "delta": 0.05}, {"id": "M1.4", "verdict": "untested",
                                               "experiment": None, "delta": None},
                             {"id": "M9.9", "verdict": "confirmed"}, "junk"]),
    ]
    first, second = progress.meta_timeline(events)
    assert (first.number, first.experiments, first.best_val_bpb, first.program_version) == (
        1, 3, 1.9, 2)
    fate = {h.id: (h.verdict, h.experiment, h.delta and round(h.delta, 6))
            for h in first.hypotheses}
    assert fate == {"M1.1": ("confirmed", 4, -0.05), "M1.2": ("refuted", 5, 0.05),
                    "M1.3": ("crashed", 6, None), "M1.4": ("untested", None, None)}
    assert [(h.id, h.verdict) for h in second.hypotheses] == [("M2.1", "pending")]


def test_meta_timeline_tolerates_malformed_events():
    events = [{"type": "meta_analysis", "hypotheses": "not a list", "best": 3},
              {"type": "meta_analysis", "analysis": "two", "hypotheses": [{"text": "raise LR"},
                                                                          "junk"]}]
    one, two = progress.meta_timeline(events)
    assert (one.number, one.hypotheses, one.best_val_bpb, one.trigger) == (1, [], None, "?")
    assert two.number == 2 and [(h.id, h.change) for h in two.hypotheses] == [("#1", "raise LR")]
    assert progress.meta_timeline([]) == []


def test_spending_sums_time_and_cost():
    events = [
        {"ts": "2026-05-22T06:00:00Z", "type": "experiment_result", "kind": "baseline",
         "timing": {"propose_s": 0, "training_seconds": 60.0, "total_s": 70.0}},
        {"ts": "2026-05-22T06:02:00Z", "type": "experiment_result", "kind": "proposal",
         "timing": {"propose_s": 5.0, "training_seconds": 60.0, "total_s": 72.0},
         "cost": {"usd": 0.01, "input_tokens": 1000, "output_tokens": 200, "calls": 1}},
        {"ts": "2026-05-22T06:03:00Z", "type": "experiment_result", "kind": "proposal",
         "status": "rejected", "timing": {"propose_s": 2.0, "total_s": 2.0}, "cost": "junk"},
        {"ts": "2026-05-22T06:10:00Z", "type": "meta_analysis",
         "cost": {"usd": 0.02, "input_tokens": 3000, "output_tokens": 500, "calls": 1}},
    ]
    spent = progress.spending(events)
    assert (spent.experiments, spent.baselines, spent.analyses) == (3, 1, 1)
    assert (spent.total_s, spent.training_s, spent.propose_s) == (144.0, 120.0, 7.0)
    assert spent.overhead_s == 17.0 and spent.wall_s == 600.0
    assert spent.usd == pytest.approx(0.03) and (spent.input_tokens, spent.calls) == (4000, 2)
    assert spent.per_hour == pytest.approx(2 / (144 / 3600))
