"""Report cells for drill runs: the tree, depth over rounds, the bedrock list.

The tree is the drill package's nested ``<details>`` HTML (inline styles
only, so it survives nbconvert and untrusted notebooks) with the reference
text render as its plain-text fallback. Runs recorded by the reference
(only tree.json and events.jsonl, perhaps no outcome.json) report too.
"""
from __future__ import annotations

from collections import Counter
from functools import wraps

from ..drill.render import bedrock_leaves, claim_depth
from ..errors import DeeploopError
from ..templating import fragment, safe
from .viewkit import BLUE, GREEN, Html, Note, figure, finish, section


def _drill_cell(what: str):
    """A cell drawn from the drill view: None for other kinds of run, a Note
    naming why when there is no tree to show (``what: none to show (...)``)."""
    def wrap(draw):
        @wraps(draw)
        def cell(subject, *args, **kwargs):
            if subject.kind != "drill":
                return None
            try:
                view = subject.drill
            except DeeploopError as exc:  # e.g. killed before its first round was saved
                return Note(f"{what}: none to show ({exc}).")
            return draw(view, *args, **kwargs)
        return cell
    return wrap


@_drill_cell("Tree")
def tree(view):
    from ..drill.shape import MIN_NODES, node_count, shape_svg
    count = node_count(view.tree)
    # too big to take in from the text: its shape first
    shape = safe(shape_svg(view.tree)) if count > MIN_NODES else ""
    markup = fragment("cells.html.j2", "drill_tree", view.summary(), count, shape,
                      safe(view.html()))
    return Html(markup, view.summary() + "\n\n" + view.text())


def depth_by_round(events: list[dict]) -> list[tuple[int, int | None, int | None]]:
    """(round, deepest claim, depth of the active claim or None when done) per round.

    From the judge's detail (ours and the reference's), else from the depth
    each question was asked at.
    """
    found: dict[int, tuple[int | None, int | None]] = {}
    for event in events:
        n = event.get("round")
        if not isinstance(n, int):
            continue
        detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
        if event.get("type") == "judge_result" and isinstance(detail.get("max_depth"), int):
            cursor = detail.get("cursor")
            found[n] = (detail["max_depth"], len(cursor) if isinstance(cursor, list) else None)
        elif event.get("type") == "question_emitted" and n not in found \
                and isinstance(event.get("depth"), int):
            found[n] = (None, event["depth"])
    return [(n, *found[n]) for n in sorted(found)]


def depth(subject):
    """How deep the drill went, round by round."""
    if subject.kind != "drill":
        return None
    rows = depth_by_round(subject.events)
    if not rows:
        return Note("Depth over rounds: no judged rounds recorded.")
    fig, axes = figure(8, 3.2)
    ax = axes[0][0]
    deepest = [(n, d) for n, d, _ in rows if d is not None]
    if deepest:
        ax.step([n for n, _ in deepest], [d for _, d in deepest], where="post", color=GREEN,
                label="deepest claim")
    active = [(n, a) for n, _, a in rows if a is not None]
    if active:
        ax.plot([n for n, _ in active], [a for _, a in active], "o", ms=3, color=BLUE,
                label="active claim")
    ax.set(xlabel="round", ylabel="depth", title="Depth over rounds")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return finish(fig)


@_drill_cell("Bedrock")
def bedrock(view, limit: int = 200):
    """Every closed branch: its category, the depth of the claim it closed (as the
    tree shows it), the claim, the rationale."""
    closed = bedrock_leaves(view.tree)
    if not closed:
        return Note("Bedrock: no branch has reached bedrock yet.")
    tally = Counter(category for _, category, _ in closed)
    summary = ", ".join(f"{category} × {n}" for category, n in tally.most_common())
    rows = [(category, claim_depth(node, d), _closed_claim(node.claim), node.rationale or "")
            for d, category, node in closed[:limit]]
    more = [f"… and {len(closed) - limit} more."] if len(closed) > limit else []
    return section(f"Bedrock ({len(closed)})", ("category", "depth", "claim", "rationale"), rows,
                   before=fragment("cells.html.j2", "paragraphs", [summary]),
                   after=fragment("cells.html.j2", "paragraphs", more))


def _closed_claim(text: str) -> str:
    prefix = "(bedrock declared at: "
    return text[len(prefix):-1] if text.startswith(prefix) and text.endswith(")") else text
