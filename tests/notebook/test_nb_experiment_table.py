"""Every experiment in one table: Δ vs the best before it, noise margins, start
commits, hypotheses, steps and seconds; and the lineage of keeps."""
from __future__ import annotations

from deeploop.experiment.results import read_results
from deeploop.notebook.experiment_table import lineage, noise, rows

TSV = ("commit\tval_bpb\tmemory_gb\tstatus\tdescription\n"
       "a000001\t2.000000\t0.5\tkeep\tbaseline\n"
       "a000002\t2.010000\t0.5\tdiscard\tbaseline (noise run 1/2)\n"
       "a000003\t1.990000\t0.5\tdiscard\tbaseline (noise run 2/2)\n"
       "b000001\t1.900000\t0.5\tkeep\tLR up\n"
       "b000002\t1.950000\t0.5\tdiscard\tDEPTH down\n"
       "b000003\t0.000000\t0.0\tcrash\tWIDTH huge\n")


def _events():
    started = [{"type": "experiment_started", "round": n, "base_commit": base + "f" * 33}
               for n, base in ((3, "a000001"), (4, "b000001"), (5, "b000001"))]
    results = [{"type": "experiment_result", "round": 3, "commit": "b000001" + "0" * 33,
                "hypothesis": {"id": "M1.1", "change": "LR 0.01 -> 0.02"},
                "metrics": {"num_steps": 120.0, "training_seconds": 2.04}},
               {"type": "experiment_result", "round": 4, "commit": "b000002" + "0" * 33,
                "metrics": {"num_steps": 0.0, "training_seconds": 2.0}}]
    return started + results


def test_rows_give_delta_margin_start_commit_and_measurements(tmp_path):
    (tmp_path / "results.tsv").write_text(TSV)
    results = read_results(tmp_path / "results.tsv")
    sigma, runs = noise(results)
    assert runs == 3 and abs(sigma - 0.01) < 1e-9  # baseline and its two noise runs
    table = rows(results, _events())
    assert [r.status for r in table] == ["keep", "discard", "discard", "keep", "discard", "crash"]
    lr = table[3]
    assert (lr.delta, lr.margin, lr.base) == ("-0.100000", "+10.0σ", "a000001")
    assert lr.hypothesis == "M1.1: LR 0.01 -> 0.02" and (lr.steps, lr.seconds) == ("120", "2.0")
    assert (table[4].delta, table[4].margin, table[4].steps) == ("+0.050000", "-5.0σ", "0")
    assert (table[5].val_bpb, table[5].delta) == ("–", "–")  # a crash has no score
    keeps = lineage(table)
    assert [(k.commit, [c.n for c in k.children]) for k in keeps] == [
        ("a000001", [1, 2, 3]), ("b000001", [4, 5])]
    recorded = _events() + [{"type": "noise_estimated", "samples": [2.0, 2.02], "sigma": 0.02}]
    recorded[3]["margin_sigma"] = 4.2  # the loop's own figure wins
    again = rows(results, recorded)
    assert again[3].margin == "+4.2σ" and again[4].margin == "-2.5σ"
