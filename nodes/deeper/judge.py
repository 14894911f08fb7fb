"""Judge for the deeper node, in the node-loop contract ``judge(output, context)``.

Drills record their own ``judge_result`` every round (deeploop/drill/judge.py);
this entry point lets node tooling re-judge a round of any drill run from its
files, the way the reference's judge.sh did: the tree in ``tree.json`` and the
round's ``question_emitted`` event.
"""
from deeploop.drill.judge import judge_round
from deeploop.drill.treefile import TREE_FILE, load_tree
from deeploop.events import EVENTS_FILE, read_events


def judge(output, context):
    tree = load_tree(context.run_dir / TREE_FILE)
    questions = [e for e in read_events(context.run_dir / EVENTS_FILE).of_type("question_emitted")
                 if e.get("round") == context.round]
    if not questions:
        verdict = judge_round(tree)
    else:
        q = questions[-1]
        verdict = judge_round(tree, question=str(q.get("question", "")),
                              raw_chars=int(q.get("raw_chars") or 0),
                              raw_lines=int(q.get("raw_lines") or 1))
    return {"score": verdict.score, "violations": verdict.violations, "detail": verdict.detail}
