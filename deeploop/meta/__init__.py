"""The meta-analysis tier: steps back, reads everything, rewrites the strategy.

It sits on top of the experiment loop: meta imports ``deeploop.experiment``,
never the reverse (the hypotheses both tiers share live in
``deeploop.experiment.hypotheses``). Pure pieces: ``triggers``, ``program`` (program.md), ``stats``, ``freetext`` and
``response`` (what the history says), ``offline_analyst`` and ``strategy`` (the
offline analyst), ``outputs`` (the plan of what an analysis writes),
``cohort`` (research mode). With I/O: ``inputs``, ``llm_analyst`` (the
anthropic analyst), ``analysts`` (the registry), ``tier`` (triggers wired into the
loop, one analysis, steering) and ``opening`` (validate and open a two-tier
experiment run). Only the pure leaf modules are imported here.
"""
from ..experiment.hypotheses import HYPOTHESES_FILE, Hypothesis, parse_hypotheses, render_hypotheses
from .program import program_version, rewrite_strategy, strategy_section
from .triggers import big_win, interval_due, meta_trigger

__all__ = ["HYPOTHESES_FILE", "Hypothesis", "big_win", "interval_due",
           "meta_trigger", "parse_hypotheses", "program_version", "render_hypotheses",
           "rewrite_strategy", "strategy_section"]
