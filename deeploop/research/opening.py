"""Research mode end to end, as the CLI and the notebook call it.

``prepare`` checks everything (numbers, synthesiser, sources, the API key)
before it creates a tag or changes a setting; ``execute`` runs the loop
with a progress bar and ends with the report (``report.ipynb`` and
``report.html`` in the run folder). A tag is created by its first run (or
by ``deeploop research init``) and continued by every later one; one its
run creates stays locked from its creation until that run's loop ends
(``init_research(keep_lock=True)``; ``prepared.run.release()`` if it is not run).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import InputError, NotFound
from ..fileio import read_text
from ..harness import drive
from ..liveness import RUNNING_FILE, check as check_liveness
from ..nodes import find_node
from ..reporting import end_with_report
from ..runs import OUTCOME_FILE, Status, new_run_id, read_outcome
from .knowledge import read_index
from .progress import ResearchProgress
from .program_doc import seeds_of, topic_of
from .rundir import (NODE, ResearchRun, Settings, clean_topic, clear_half_created,
                     init_research, load_source, open_research)
from .resume import run_research
from .synthesizer import Synthesizer, get_synthesizer


@dataclass
class Prepared:
    run: ResearchRun
    settings: Settings
    synthesizer: Synthesizer
    constitution: str = ""
    lessons: str = ""
    skipped: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def locate(tag: str, run_dir: str | Path | None) -> tuple[str, Path | None]:
    """(tag, runs root) for a run folder a notebook session was given; with
    neither (a notebook run by hand), a fresh tag."""
    if not run_dir:
        return tag or new_run_id(NODE), None
    path = Path(run_dir).resolve()
    tag = tag or path.name
    if path.name != tag or path.parent.name != "research":
        raise InputError(f"run_dir must be <runs root>/research/<tag>, got {path}")
    return tag, path.parent.parent


def seed_list(text: str) -> list[str]:
    """Seed questions written on one line, separated by ``|`` (notebook parameters)."""
    return [q.strip() for q in (text or "").split("|") if q.strip()]


def node_texts() -> tuple[str, str]:
    """The constitution (PROMPT.md) and lessons (BANS.md) of node ``research``."""
    try:
        node = find_node("research")
    except NotFound:
        return "", ""
    return node.prompt(), node.bans()


def make_synthesizer(settings: Settings, client=None) -> tuple[Synthesizer, list[str]]:
    """The synthesiser, and the files its source skipped (offline only)."""
    skipped: list[str] = []

    def source():
        loaded = load_source(settings.sources)
        skipped.extend(str(s) for s in loaded.skipped())
        return loaded

    if client is None:
        from ..models.anthropic import check_api_key
        check_api_key(settings.synthesizer, "--synthesizer")
    synthesizer = get_synthesizer(settings.synthesizer, source, client=client,
                                  max_uses=settings.max_uses)
    return synthesizer, skipped


def prepare(tag: str = "", *, topic: str | None = None, questions: list[str] | None = None,
            run_dir: str | Path | None = None, client=None, **overrides) -> Prepared:
    tag, root = locate(tag, run_dir)
    Settings().merged(overrides)  # bad numbers fail before anything is created
    constitution, lessons = node_texts()  # an unreadable PROMPT.md or BANS.md too
    clear_half_created(ResearchRun.path_for(tag, root))
    if ResearchRun.exists(tag, root):
        run = open_research(tag, root)
        _check_same_topic(run, topic, questions)
        settings = run.settings().merged(overrides)
        synthesizer, skipped = make_synthesizer(settings, client)
    elif topic is None:
        raise NotFound(f"no research tagged {tag!r}: give a topic to create it "
                       f"(--topic \"...\"), or run deeploop research init first")
    else:
        settings = Settings().merged(overrides)
        synthesizer, skipped = make_synthesizer(settings, client)
        # locked from its creation until its loop's hold ends: no other run takes it over
        run = init_research(tag, topic, settings.sources, questions, root, keep_lock=True)
        try:
            run.save_settings(settings)  # an existing tag's are saved once its run is accepted
        except BaseException:
            run.release()
            raise
    return Prepared(run, settings, synthesizer, constitution, lessons, skipped,
                    read_index(run.index_path).problems)


def _check_same_topic(run: ResearchRun, topic: str | None, questions) -> None:
    program = read_text(run.program_path, "program.md")
    if topic is not None and clean_topic(topic) != topic_of(program):
        raise InputError(f"research {run.tag!r} is about {topic_of(program)!r}: a tag keeps its "
                         f"topic (edit '## Problem Statement' in {run.program_path}, "
                         "or pick a new tag)")
    new = [q for q in questions or [] if q.strip() and q.strip() not in seeds_of(program)]
    if new:
        raise InputError(f"seed question {new[0]!r} is not in program.md: seeds are set when a "
                         f"tag is created (add more under '## Seed Questions' in "
                         f"{run.program_path})")


def execute(prepared: Prepared, *, progress: bool = True, report: bool = True,
            on_event: Callable[[dict], None] | None = None) -> dict:
    """Run the loop, then build the report; the outcome (outcome.json) back."""
    run, settings = prepared.run, prepared.settings
    entries = read_index(run.index_path).entries
    bar = ResearchProgress(settings.entries, len(entries),
                           sum(e.confidence == "HIGH" for e in entries), disable=not progress)
    try:
        drive(run_research(run, settings, prepared.synthesizer,
                           constitution=prepared.constitution, lessons=prepared.lessons),
              [bar] + ([on_event] if on_event else []))
    except Exception:
        if report:  # a failed run is worth a report too; its own error comes first
            end_with_report(run.path, warn=lambda line: None)
        raise
    finally:
        bar.close()
        run.release()  # a run refused or failed before its loop held it keeps no lock
    if report:  # like every run: a report that cannot be built is a warning, not an error
        end_with_report(run.path)
    outcome, problem = read_outcome(run.path)
    if outcome is None:
        raise InputError(problem or f"research {run.tag} ended without {OUTCOME_FILE}")
    return outcome


def describe(run: ResearchRun) -> str:
    """A few lines a person reads at the end of a run."""
    outcome = read_outcome(run.path)[0] or {}
    counts = outcome.get("confidence") or {}
    status = outcome.get("status", Status.UNFINISHED)
    reason = outcome.get("exit_reason", "no outcome yet")
    live = check_liveness(run.path / RUNNING_FILE)  # newer than an earlier run's outcome
    if live is not None:
        status, reason = live.state, live.reason or "a process is working on it now"
    lines = [f"research {run.tag}: {status} — {reason}",
             f"  entries: {outcome.get('entries', 0)} (HIGH {counts.get('HIGH', 0)}, "
             f"MEDIUM {counts.get('MEDIUM', 0)}, LOW {counts.get('LOW', 0)}); "
             f"cohorts analysed: {outcome.get('cohorts', 0)}; "
             f"program v{outcome.get('program_version', 1)}",
             f"  judge: mean score {outcome.get('final_score')}; violations "
             f"{outcome.get('violations_total') or 'none'}",
             f"  report.md: {run.report_path}"]
    if (run.path / "report.html").exists():
        lines.append(f"  report.html: {run.path / 'report.html'}")
    return "\n".join(lines)
