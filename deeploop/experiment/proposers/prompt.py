"""The prompt an LLM or an external agent gets for one experiment."""
from __future__ import annotations

from ..results import HEADER, Results, format_row
from .base import ProposalContext

MAX_ROWS = 40

SYSTEM = ("You are an autonomous ML researcher running one experiment of a loop that "
          "trains a small byte-level GPT for a fixed wall-clock budget and keeps a change "
          "only if it lowers val_bpb. Be concrete; change one idea at a time.")

REPLY_FORMAT = """Reply with exactly:
DESCRIPTION: <one line; for hyperparameter changes write NAME old -> new, e.g. LR 0.003 -> 0.0045>
followed by EITHER a ```python block holding the complete new train.py
OR a ```diff block holding a unified diff of train.py (---/+++ train.py, @@ hunks).
If your change tests hypothesis N from the list above, end the description with [HN]."""

AGENT_FORMAT = """Edit train.py in place in the current folder. Do not change any other file and
do not commit. When you are done, print one final line:
DESCRIPTION: <one line; for hyperparameter changes write NAME old -> new>
If your change tests hypothesis N from the list above, end the description with [HN]."""


def results_table(results: Results, limit: int = MAX_ROWS) -> str:
    rows = results.rows[-limit:]
    header = list(HEADER)
    lines = ["\t".join(header)] + [format_row(r, header) for r in rows]
    skipped = len(results.rows) - len(rows)
    return (f"({skipped} earlier rows not shown)\n" if skipped else "") + "\n".join(lines)


def build_prompt(context: ProposalContext, agent: bool = False) -> str:
    parts = ["## program.md (strategy)", context.program_md.strip() or "(empty)",
             "## Results so far (results.tsv, oldest first)", results_table(context.results),
             "## Recent commits (git log --oneline -20)", context.git_log.strip() or "(none)"]
    if context.pending:
        parts += ["## Hypotheses to test first (from the meta-analysis, best first)",
                  "\n".join(f"[H{h.rank}] {h.text}" for h in context.pending[:5])]
    parts += ["## train.py (the only file you may change)",
              f"```python\n{context.train_py.rstrip()}\n```",
              "## Your task",
              f"This is experiment {context.experiment}. Propose ONE change to train.py that is "
              "likely to lower val_bpb within the same training budget. Keep the imports from "
              "deeploop.experiment, the evaluation call and the summary block as they are.",
              AGENT_FORMAT if agent else REPLY_FORMAT]
    return "\n\n".join(parts) + "\n"


def retry_prompt(prompt: str, problem: str) -> str:
    return (prompt + f"\n\nYour previous reply could not be used: {problem}. "
            "Reply again, in exactly the format above.\n")
