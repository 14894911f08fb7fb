"""A research run folder ``runs/research/<tag>/`` and its settings.

Layout: ``workspace/`` (git, branch ``research/<tag>``: program.md,
report.md, knowledge_index.tsv, process_log.md), ``events.jsonl`` (one
journal for every invocation on the tag), ``research.json`` (topic and
settings, updated by every run), ``notify.log``, ``outcome.json`` and the
report (``report.ipynb``, ``report.html``).

A tag is created once (``init_research``); running it again continues it.
The folder may already exist holding only a notebook session's files
(``session.ipynb``/``session.json``): papermill creates the run folder first.
"""
from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import InputError
from ..creating import building, clear_half_made
from ..events import EVENTS_FILE, now_iso
from ..workspace import Workspace, check_branch
from ..fileio import atomic_write_json
from ..harness import RunFolder, lock_build
from ..settings import RunSettings, check_number
from .knowledge import COLUMNS, INDEX_FILE
from .process_log import PROCESS_LOG_FILE, process_log_text
from .program_doc import PLACEHOLDER, default_seeds, program_text
from .report_doc import new_report
from .sources import get_source

NODE = "research"
SETTINGS_FILE = "research.json"
PROGRAM_FILE = "program.md"
REPORT_FILE = "report.md"
DEFAULT_SOURCES = "sample:stdlib"


@dataclass
class Settings(RunSettings):
    """What a run does; every field has a finite default."""

    entries: int = 10                # stop when the index has this many entries
    sources: str = DEFAULT_SOURCES   # local:DIR or sample:stdlib (offline synthesis)
    synthesizer: str = "offline"     # or anthropic:<model>
    hours: float | None = None       # wall clock for this invocation (default 6)
    max_usd: float = 10.0
    max_tokens: int = 5_000_000
    max_uses: int = 5                # web searches per question (anthropic)
    notify_cmd: str | None = None
    seed: int = 0                    # the picker's random choices among follow-ups

    def validate(self) -> "Settings":
        check_number(self.entries, "--entries", integer=True)
        check_number(self.hours, "--hours")
        check_number(self.max_usd, "--max-usd")
        check_number(self.max_tokens, "--max-tokens", integer=True)
        check_number(self.max_uses, "--max-uses", integer=True)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise InputError(f"--seed must be a whole number, got {self.seed!r}")
        return self


@dataclass
class ResearchRun(RunFolder):
    node = NODE
    settings_file = SETTINGS_FILE
    settings_class = Settings

    program_path = property(lambda self: self.workspace_dir / PROGRAM_FILE)
    report_path = property(lambda self: self.workspace_dir / REPORT_FILE)
    index_path = property(lambda self: self.workspace_dir / INDEX_FILE)
    process_log_path = property(lambda self: self.workspace_dir / PROCESS_LOG_FILE)

    def workspace(self) -> Workspace:
        ws = Workspace(self.workspace_dir)
        if not (ws.path / ".git").exists() or not self.program_path.is_file():
            raise InputError(f"not a research workspace (no git repo with {PROGRAM_FILE}): "
                             f"{ws.path}")
        return ws


def open_research(tag: str, root: Path | None = None) -> ResearchRun:
    return ResearchRun.open(tag, root, hint=f": create it with deeploop research init "
                                             f"--tag {tag} --topic ...")


def load_source(spec: str):
    """The document source, indexed now: a bad spec, a missing folder or an
    empty collection fails here, before anything is written."""
    source = get_source(spec)
    source.refresh()
    return source


def clean_topic(topic: str | None) -> str:
    if topic is None:
        return PLACEHOLDER
    text = " ".join(str(topic).split())
    if not text:
        raise InputError("--topic is empty: say what to research, e.g. "
                         "--topic \"structured concurrency in Python\"")
    if PLACEHOLDER in text:  # refused now, not after a folder is made for it
        raise InputError(f"--topic still says {PLACEHOLDER}: say what to research, e.g. "
                         "--topic \"structured concurrency in Python\"")
    return text


def init_research(tag: str, topic: str | None = None, sources: str | None = None,
                  questions: list[str] | None = None, root: Path | None = None,
                  keep_lock: bool = False) -> ResearchRun:
    """Create the run folder and its workspace; refuse an existing tag.

    Everything is checked first (tag, topic, sources); the folder is built
    beside its place and renamed into it whole (``creating.building``), so a
    kill or a failure half-way leaves no tag, and of two creators at once
    one wins and the other is refused.

    The run is locked while still hidden (``harness.lock_build``); with
    ``keep_lock`` (a creator about to run it) the lock stays held across the
    rename, on the returned run, until its loop's hold ends (``run_research``)
    or ``release()``: a run of the tag started in between is refused as in
    use instead of taking the new tag over."""
    path = ResearchRun.path_for(tag, root)
    branch = f"research/{tag}"
    check_branch(branch, tag)
    clear_half_created(path)
    if ResearchRun.exists(tag, root):
        raise InputError(f"research tag {tag!r} already exists ({path}): "
                         f"'deeploop research run --tag {tag}' continues it")
    if (path / EVENTS_FILE).exists():
        raise InputError(f"{path} already holds another run's events.jsonl: pick another tag")
    topic = clean_topic(topic)
    spec = sources or DEFAULT_SOURCES
    source = load_source(spec)
    seeds = [q.strip() for q in questions or [] if q.strip()] or default_seeds(topic)
    bad = [q for q in seeds if not q.endswith("?")]
    if bad:
        raise InputError(f"seed question must end with '?': {bad[0]!r}")
    with contextlib.ExitStack() as lock:
        with building(path, "research tag", into=SETTINGS_FILE) as build:
            lock.enter_context(lock_build(build, f"research {tag!r}"))
            run = ResearchRun(build, tag)
            _create(run, branch, topic, spec, seeds)
            # cohort_events: this run records every cohort as cohort_analysed (resume.py)
            run.event_log().emit("research_init", tag=tag, topic=topic, branch=branch,
                                 sources=spec, seeds=seeds, documents=len(source.documents()),
                                 skipped=[str(s) for s in source.skipped()],
                                 cohort_events=True)
        return ResearchRun(path, tag, held=lock.pop_all() if keep_lock else None)


def clear_half_created(path: Path) -> None:
    """Clear a tag folder cut short while being created (see creating.clear_half_made)."""
    clear_half_made(path, marker=SETTINGS_FILE, init_event="research_init", what="research tag")


def _create(run: ResearchRun, branch: str, topic: str, spec: str, seeds: list[str]) -> None:
    created = now_iso()
    files = {PROGRAM_FILE: program_text(topic, seeds, created=created),
             REPORT_FILE: new_report(topic),
             INDEX_FILE: "\t".join(COLUMNS) + "\n",
             PROCESS_LOG_FILE: process_log_text()}
    Workspace.create(run.workspace_dir, run.tag, files, branch=branch,
                     message=f"init: research workspace for {topic[:60]}")
    atomic_write_json(run.settings_path, {"tag": run.tag, "topic": topic, "created": created,
                                          "settings": asdict(Settings(sources=spec))})
