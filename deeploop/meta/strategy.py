"""The offline analyst's prose: findings, the strategy section, the change.

Pure text built from the statistics and the chosen ideas, so a person
reading program.md or process_log.md sees the numbers behind each line.
"""
from __future__ import annotations

from .inputs import MetaInputs
from .stats import above_noise, effects

MAX_ITEMS = 5


def _moves(record) -> str:
    return "; ".join(str(m) for m in record.moves) or record.row.description


def findings(inputs: MetaInputs) -> tuple[list[str], list[str]]:
    """(what worked, what didn't), most telling first."""
    summary, records = inputs.summary, inputs.records
    above, below = above_noise(records, summary.floor)
    worked = [f"{_moves(r)} (experiment {r.number}): {r.row.val_bpb:.6f}, "
              f"{r.delta:+.6f} against the best before" for r in
              sorted(above, key=lambda r: r.delta)[:MAX_ITEMS]]
    found = sorted(effects(records).values(), key=lambda e: -(e.mean or 0))
    worked += [f"{e.describe()} ({e.certainty()})" for e in found
               if e.keeps and (e.mean or 0) > 0][:3]
    didnt = [f"{e.describe()} ({e.certainty()})" for e in reversed(found)
             if not e.keeps and e.mean is not None and e.mean < 0][:MAX_ITEMS]
    didnt += [f"{_moves(r)} crashed (experiment {r.number})" for r in records
              if r.status == "crash"][-3:]
    if below:
        didnt.append("kept but within the noise floor (2 sigma = "
                     f"{summary.floor:.6f}): " + ", ".join(_moves(r) for r in below[:4]))
    if summary.plateau:
        didnt.append(f"no new best in the last {summary.since_best} experiments: plateau")
    return worked, didnt


def _focus(ideas) -> list[str]:
    kinds = {"fit": "Jump to the fitted optimum", "push": "Push", "combine": "Combine",
             "reverse": "Reverse", "retry": "Retry with a smaller step", "explore": "Explore",
             "check": "Check"}
    return [f"{kinds.get(i.kind, i.kind)}: {i.text} ({i.confidence}: {i.reason})" for i in ideas]


def strategy_text(inputs: MetaInputs, ideas) -> str:
    s = inputs.summary
    lines = [f"Set by meta-analysis {inputs.number} after {s.experiments} experiments "
             f"({100 * s.keep_rate:.0f} % kept, {100 * s.crash_rate:.0f} % crashed)."]
    if s.best is not None and s.improvement is not None and s.baseline:
        lines[0] += (f" Best val_bpb {s.best.val_bpb:.6f} (commit {s.best.commit}), "
                     f"{100 * s.improvement / s.baseline:.2f} % below the baseline.")
    if s.plateau:
        lines += ["", f"The search has plateaued (no new best for {s.since_best} experiments): "
                  "combine near misses and take larger steps rather than small pushes."]
    else:
        lines += ["", "Keep pushing what works, one change at a time; step further in a "
                  "direction that was kept and stop one that only hurt."]
    lines += ["", "Next, in this order (next-hypotheses.md):"] + [f"- {f}" for f in _focus(ideas)]
    avoid = [f"{e.describe()}" for e in effects(inputs.records).values()
             if e.crashes or (not e.keeps and (e.mean or 0) < 0)]
    if avoid:
        lines += ["", "Avoid:"] + [f"- {a}" for a in avoid[:MAX_ITEMS]]
    lines += ["", "After the hypotheses, the proposer's own ideas take one experiment in three "
              "until the next analysis."]
    return "\n".join(lines)


def strategy_change(inputs: MetaInputs, ideas) -> list[str]:
    s = inputs.summary
    change = [f"Focus: {ideas[0].text} ({ideas[0].kind}, {ideas[0].confidence})"] if ideas else []
    if s.plateau:
        change.append("Plateau: larger steps and combinations instead of small pushes")
    kinds = sorted({i.kind for i in ideas})
    change.append("Hypothesis mix: " + ", ".join(
        f"{sum(1 for i in ideas if i.kind == k)} {k}" for k in kinds))
    confirmed = [v["id"] for v in inputs.verdicts if v["verdict"] == "confirmed"]
    if confirmed:
        change.append(f"Builds on confirmed {', '.join(confirmed)}")
    return change
