"""What the report template shows for research runs (``runs/research/<tag>/``).

Each view takes the report's subject (``views.load``) and returns something
displayable, or None for any other kind of run, so the template's research
cells show nothing on experiments, drills or node loops. Everything is read
from the run's files: the workspace's knowledge_index.tsv, report.md and
process_log.md, and the ``research_result``/``meta_analysis`` events.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from ..templating import fragment
from .viewkit import Html, figure, finish

COLOURS = {"HIGH": "#2ca02c", "MEDIUM": "#ff9f1c", "LOW": "#d62728"}


def _workspace(subject) -> Path | None:
    if subject.kind != "research" or subject.record is None:
        return None
    folder = Path(subject.path) / "workspace"
    return folder if (folder / "knowledge_index.tsv").is_file() else None


def _index(folder: Path):
    from ..research.knowledge import read_index
    return read_index(folder / "knowledge_index.tsv")


def overview(subject):
    """Topic, entries by confidence, cohorts analysed, program version, spend."""
    folder = _workspace(subject)
    if folder is None:
        return None
    from ..meta.program import program_version
    from ..research.program_doc import topic_of
    program = (folder / "program.md").read_text(encoding="utf-8")
    index = _index(folder)
    counts = Counter(e.confidence for e in index.entries)
    metas = subject.record.journal.of_type("meta_analysis")
    usd = sum(float((e.get("cost") or {}).get("usd") or 0)
              for e in subject.record.journal.of_type("research_result"))
    rows = [("topic", topic_of(program)), ("entries", len(index.entries)),
            ("HIGH / MEDIUM / LOW", f"{counts['HIGH']} / {counts['MEDIUM']} / {counts['LOW']}"),
            ("cohort analyses", len(metas)), ("program.md version", f"v{program_version(program)}"),
            ("synthesis cost", f"${usd:.4f}")]
    return Html(fragment("cells.html.j2", "research_overview", rows, index.problems))


def confidence_chart(subject):
    """Entries per round coloured by confidence, and the cohort analyses."""
    if _workspace(subject) is None:
        return None
    from matplotlib.ticker import MaxNLocator
    results = subject.record.journal.of_type("research_result")
    fig, axes = figure(7, 2.8)
    ax = axes[0][0]
    levels = {"LOW": 0, "MEDIUM": 1, "HIGH": 2}  # fixed rows, whatever occurred
    for level, colour in COLOURS.items():
        xs = [e.get("round") for e in results if e.get("confidence") == level]
        if xs:
            ax.scatter(xs, [levels[level]] * len(xs), color=colour, s=40, label=level)
    for n, event in enumerate(subject.record.journal.of_type("meta_analysis")):
        after = [e.get("round") for e in results if e.get("entries") == 5 * event.get("cohort", 0)]
        if after:
            ax.axvline(after[-1] + 0.5, color="#555", ls="--", lw=1,
                       label="cohort analysis" if n == 0 else None)
    ax.set(xlabel="round", title="Confidence of each entry")
    ax.set_yticks(list(levels.values()), list(levels))
    ax.set_ylim(-0.5, 2.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # rounds are whole numbers
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    return finish(fig, f"Confidence of each entry: {len(results)} rounds")


def knowledge_table(subject):
    """One line per knowledge-index entry: the audit trail of the research."""
    folder = _workspace(subject)
    if folder is None:
        return None
    return Html(fragment("cells.html.j2", "knowledge_table", _index(folder).entries))


def cohort_timeline(subject):
    """Each cohort analysis: version change, searches per question, recommendations."""
    if _workspace(subject) is None:
        return None
    metas = subject.record.journal.of_type("meta_analysis")
    return Html(fragment("cells.html.j2", "cohort_timeline", metas))


def report_text(subject):
    """report.md itself, as the research left it."""
    folder = _workspace(subject)
    if folder is None:
        return None
    from IPython.display import Markdown
    return Markdown(local_links_as_text((folder / "report.md").read_text(encoding="utf-8")))


_LOCAL_LINK = re.compile(r"\[([^\]]+)\]\((?!(?:https?|mailto|file):|#)([^)\s]+)\)")


def local_links_as_text(markdown: str) -> str:
    """Links to the research's source files (``pprint.md#functions``) name a file
    in the run's corpus, not a page beside the report: as links they are dead
    in report.html. They become text that still names the source."""
    return _LOCAL_LINK.sub(lambda m: f"{m.group(1)} (`{m.group(2)}`)", markdown)
