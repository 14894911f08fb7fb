"""Autoresearch mode: an agent edits train.py, trains for a fixed budget,
keeps the change in git if val_bpb improves, else resets.

The pieces, each its own module: ``corpus`` and ``evaluate`` (fixed data and
the ground-truth metric, read-only to the agent), ``template/train.py`` (the
file the agent edits), ``results`` (results.tsv), ``knobs`` (hyperparameters
and structured descriptions), ``workspace`` (git), ``trainer`` (the training
subprocess), ``decide`` (pure keep/discard, noise), ``proposers`` (offline,
anthropic, command), ``notify``, ``status``, ``rundir``, ``loop``,
``resume`` (one invocation of the loop: lock, recover, run, end) and
``hypotheses`` (what the meta-analysis tier proposes and the loop tests). The cheap objective benchmarks and tests
use in place of training is ``bench/support/synthetic.py``, outside the
package. Nothing here imports torch at
module level.
"""
from .decide import Verdict, crash_reason, decide_keep, judge
from .knobs import Change, Description, describe, parse_description, read_knobs, set_knobs
from .results import HEADER, Results, Row, RowStatus, append_row, read_results
from .rundir import ExperimentRun, Settings, init_run, open_run
from .resume import run_experiments
from .status import ExperimentStatus, format_status, load_status, summarize

__all__ = [
    "Change", "Description", "ExperimentRun", "ExperimentStatus", "HEADER",
    "Results", "Row", "RowStatus", "Settings", "Verdict", "append_row", "crash_reason",
    "decide_keep", "describe", "format_status", "init_run", "judge", "load_status",
    "open_run", "parse_description", "read_knobs",
    "read_results", "run_experiments", "set_knobs", "summarize",
]
