"""The meta-analysis tier: steps back, reads everything, rewrites the strategy."""
from .hypotheses import HYPOTHESES_FILE, Hypothesis, parse_hypotheses, render_hypotheses
from .program import program_version, rewrite_strategy, strategy_section
from .triggers import big_win, cohort_due, interval_due, meta_trigger

__all__ = ["HYPOTHESES_FILE", "Hypothesis", "big_win", "cohort_due", "interval_due",
           "meta_trigger", "parse_hypotheses", "program_version", "render_hypotheses",
           "rewrite_strategy", "strategy_section"]
