"""The meta-analysis tier: steps back, reads everything, rewrites the strategy.

Pure pieces: ``triggers``, ``hypotheses`` (next-hypotheses.md, shared with
the experiment loop), ``program`` (program.md), ``stats``, ``freetext`` and
``response`` (what the history says), ``offline`` and ``strategy`` (the
offline analyst), ``outputs`` (the plan of what an analysis writes),
``cohort`` (research mode). With I/O: ``inputs``, ``llm`` (the anthropic
analyst), ``analysts`` (the registry) and ``tier`` (triggers wired into the
loop, one analysis, steering). Only the pure leaf modules are imported here:
the experiment loop imports ``hypotheses``.
"""
from .hypotheses import HYPOTHESES_FILE, Hypothesis, parse_hypotheses, render_hypotheses
from .program import program_version, rewrite_strategy, strategy_section
from .triggers import big_win, cohort_due, interval_due, meta_trigger

__all__ = ["HYPOTHESES_FILE", "Hypothesis", "big_win", "cohort_due", "interval_due",
           "meta_trigger", "parse_hypotheses", "program_version", "render_hypotheses",
           "rewrite_strategy", "strategy_section"]
