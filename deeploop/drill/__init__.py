"""The drill: a depth-first interview that drills one claim down to bedrock.

State is a tree (``tree.json``): each answer to "why?" becomes a child of the
active claim; ``BEDROCK:<category>`` closes a branch; ``BRANCH:<claim>`` adds
a parallel cause; ``STOP`` ends. A drill is a run of the ``deeper`` node
under ``runs/deeper/<run-id>/``; a person (widget, terminal), an answers
file, a model or a fanout of investigators answers, always through
``Drill.answer``.

The widget is ``deeploop.notebook.DrillWidget`` (the notebook layer sits on
top of the drill; the drill never imports ipywidgets or the notebook package).
"""
from .answers import Action, Kind, RejectedAnswer, parse_answer
from .fanout import FanoutAnswerer
from .judge import Verdict, judge_round, tree_score
from .moves import Applied, apply_action
from .questioner import OfflineQuestioner, ModelQuestioner, get_questioner, register_questioner
from .render import render_html, render_text
from .unattended import run_drill
from .drill import Drill, RoundResult
from .answerers import ListAnswers, ModelAnswerer, file_answers
from .tree import BEDROCK_CATEGORIES, Node, Tree, new_tree, root_claim
from .treefile import dumps_tree, load_tree, save_tree
from .verify import Verifier
from .view import DrillView, load_drill

__all__ = [
    "Action", "Applied", "BEDROCK_CATEGORIES", "Drill", "DrillView",
    "FanoutAnswerer", "Kind", "ListAnswers", "ModelAnswerer", "ModelQuestioner", "Node",
    "OfflineQuestioner", "RejectedAnswer", "RoundResult", "Tree", "Verdict", "Verifier",
    "apply_action", "dumps_tree", "file_answers", "get_questioner", "judge_round",
    "load_drill", "load_tree", "new_tree", "parse_answer", "register_questioner",
    "render_html", "render_text", "root_claim", "run_drill", "save_tree", "tree_score",
]
