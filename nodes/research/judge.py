"""Judge for the research node, in the node-loop contract ``judge(output, context)``.

Research runs record their own ``judge_result`` every round
(deeploop/research/loop.py); this entry point re-judges round
``context.round`` of a research run from its files: the attempt recorded in
``research_synthesised`` against the workspace at the round's starting
commit, with the five rules of deeploop/research/judge.py.
"""
from deeploop.research.resume import rejudge


def judge(output, context):
    verdict = rejudge(context.run_dir, context.round)
    return {"score": verdict.score, "violations": verdict.violations, "detail": verdict.detail}
