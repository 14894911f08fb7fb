"""What an analysis writes, planned as text first (pure), then written.

A ``Plan`` holds the new next-hypotheses.md, program.md (strategy rewritten,
version bumped), process_log.md (one entry appended) and the commit message,
plus the fields of the ``meta_analysis`` event. A dry run prints the plan;
``write_plan`` writes it and commits program.md and process_log.md (only
those) as one ``meta:`` commit on top of the branch, so the best kept commit
stays where it is, an ancestor with the same train.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..fileio import atomic_write_text
from .analysts import Analysis
from ..experiment.hypotheses import HYPOTHESES_FILE, render_hypotheses
from .inputs import PROCESS_LOG, MetaInputs
from .program import program_version, rewrite_strategy

PROCESS_LOG_HEADER = ("# Process log\n\nThe meta-analysis tier's notes on how the search is "
                      "going: one entry per analysis, newest last. Only the meta tier writes "
                      "here.\n")
COMMITTED = ("program.md", PROCESS_LOG)


@dataclass
class Plan:
    number: int
    hypotheses_md: str
    program_md: str
    process_log_md: str
    entry: str
    commit_message: str
    version: int
    event: dict

    def describe(self) -> str:
        """What a dry run prints: every file as it would be written."""
        return "\n".join([f"--- {HYPOTHESES_FILE} ---", self.hypotheses_md.rstrip(),
                          f"--- {PROCESS_LOG} (entry appended) ---", self.entry.rstrip(),
                          f"--- program.md (Current Strategy, v{self.version}) ---",
                          self.program_md.rstrip(),
                          "--- commit ---", self.commit_message, ""])


def _value(v: float | None, fmt: str = "{:.6f}") -> str:
    return "n/a" if v is None else fmt.format(v)


def metrics_table(inputs: MetaInputs) -> list[str]:
    s = inputs.summary
    since = inputs.previous_best if inputs.previous_best is not None else s.baseline
    gained = round(since - s.best.val_bpb, 6) if since is not None and s.best else None
    best = f"{s.best.val_bpb:.6f} (commit {s.best.commit})" if s.best else "none"
    newest = ("n/a" if s.best_at is None else "baseline" if s.best_at == 0
              else f"experiment {s.best_at}") + f", {s.since_best} experiments ago"
    rows = [("Experiments", str(s.experiments)), ("Keep %", f"{100 * s.keep_rate:.1f}"),
            ("Crash %", f"{100 * s.crash_rate:.1f}"), ("Best val_bpb", best),
            ("Baseline val_bpb", _value(s.baseline)),
            ("Improvement since last analysis" if inputs.previous_best is not None
             else "Improvement since the baseline", _value(gained, "{:+.6f}")),
            ("Improvement per experiment", _value(s.per_experiment, "{:+.6f}")),
            ("Last new best", newest + (" (plateau)" if s.plateau else "")),
            ("Noise floor (2 sigma)",
             "not measured" if s.floor is None else _value(s.floor))]
    return (["| Metric | Value |", "|--------|-------|"]
            + [f"| {name} | {value} |" for name, value in rows])


def verdict_table(inputs: MetaInputs) -> list[str]:
    if not inputs.verdicts:
        return ["- (no earlier hypotheses)"]
    changes = {h.key: h.change for h in inputs.previous}
    lines = ["| Hypothesis | Change | Verdict | Experiment | Δ val_bpb |",
             "|------------|--------|---------|------------|-----------|"]
    for v in inputs.verdicts:
        lines.append(f"| {v['id']} | {changes.get(v['id'], '')} | {v['verdict']} | "
                     f"{v['experiment'] if v['experiment'] is not None else '-'} | "
                     f"{_value(v['delta'], '{:+.6f}') if v['delta'] is not None else '-'} |")
    return lines


def render_entry(inputs: MetaInputs, analysis: Analysis, *, when: datetime, trigger: str,
                 version_from: int, version_to: int) -> str:
    analyst = analysis.analyst + (f" (fell back to offline: {analysis.fallback})"
                                  if analysis.fallback else "")
    lines = [f"### Meta-analysis {inputs.number} ({when:%Y-%m-%d %H:%M})", "",
             f"**Trigger:** {trigger} · **Analyst:** {analyst} · "
             f"**program.md version:** v{version_from} → v{version_to}", "",
             "**Metrics:**"] + metrics_table(inputs)
    if analysis.narrative:
        lines += ["", analysis.narrative.strip()]
    else:
        for title, items in (("What worked", analysis.worked),
                             ("What didn't work", analysis.didnt),
                             ("Strategy change", analysis.change)):
            lines += ["", f"**{title}:**"] + [f"- {i}" for i in items or ["(nothing to note)"]]
    lines += ["", "**Verdict on the previous hypotheses:**"] + verdict_table(inputs)
    return "\n".join(lines) + "\n"


def make_plan(inputs: MetaInputs, analysis: Analysis, *, when: datetime, trigger: str,
              program_md: str, process_log: str) -> Plan:
    stamp = f"{when:%Y-%m-%d %H:%M:%S}"
    version_from = program_version(program_md)
    new_program = rewrite_strategy(program_md, analysis.strategy, stamp=stamp)
    version = program_version(new_program)
    entry = render_entry(inputs, analysis, when=when, trigger=trigger,
                         version_from=version_from, version_to=version)
    log = process_log if process_log.strip() else PROCESS_LOG_HEADER
    log = log.rstrip("\n") + "\n\n" + entry
    header = (f"Meta-analysis {inputs.number} of {inputs.source or 'the results'} "
              f"({analysis.analyst}): {inputs.summary.experiments} experiments.")
    best = inputs.summary.best
    event = {"analysis": inputs.number, "trigger": trigger, "analyst": analysis.analyst,
             "fallback": analysis.fallback, "experiments": inputs.summary.experiments,
             "best": {"val_bpb": best.val_bpb, "commit": best.commit} if best else None,
             "hypotheses": [h.to_json() for h in analysis.hypotheses],
             "verdicts": inputs.verdicts, "program_version": version,
             "noise_floor": inputs.summary.floor, "plateau": inputs.summary.plateau,
             "usage": analysis.usage.to_json()}
    return Plan(inputs.number, render_hypotheses(analysis.hypotheses, stamp=stamp, header=header),
                new_program, log, entry, commit_subject(analysis.commit_message), version, event)


def commit_subject(message: str) -> str:
    """One line starting ``meta:``, short enough for ``git log --oneline``."""
    line = next((part.strip() for part in message.splitlines() if part.strip()), "analysis")
    if not line.lower().startswith("meta:"):
        line = f"meta: {line}"
    return line if len(line) <= 100 else line[:99].rstrip() + "…"


def write_plan(ws, plan: Plan) -> str:
    """Write the files and make the one ``meta:`` commit; returns its hash.
    next-hypotheses.md is written last and stays untracked, like results.tsv."""
    atomic_write_text(ws.path / "program.md", plan.program_md)
    atomic_write_text(ws.path / PROCESS_LOG, plan.process_log_md)
    commit = ws.commit(plan.commit_message, paths=COMMITTED)
    ws.exclude(HYPOTHESES_FILE)  # untracked: kept out of git status
    atomic_write_text(ws.path / HYPOTHESES_FILE, plan.hypotheses_md)
    return commit
