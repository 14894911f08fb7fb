"""An experiment run folder ``runs/experiment/<tag>/`` and its settings.

Layout: ``workspace/`` (git, branch ``deeploop/<tag>``: train.py, program.md),
``results.tsv`` (untracked by the workspace's git), ``logs/NNN.log``,
``events.jsonl``, ``data/`` (the prepared corpus), ``experiment.json`` (the
settings, updated by every run), ``notify.log`` and ``outcome.json``.
"""
from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import InputError
from ..creating import building, clear_half_made, session_only
from ..fileio import atomic_write_json
from ..harness import RunFolder, lock_build
from ..settings import RunSettings, check_number
from .corpus import load_corpus, prepare, read_prepared_meta
from .results import HEADER
from .sandbox import MODES
from .workspace import PROGRAM_FILE, TRAIN_FILE, TrainingWorkspace, open_workspace

NODE = "experiment"
SETTINGS_FILE = "experiment.json"
TEMPLATE_DIR = Path(__file__).parent / "template"


@dataclass
class Settings(RunSettings):
    """What a run does; every field has a finite default."""

    experiments: int = 12            # stop when the tag has this many trained (baseline not counted)
    max_rejected: int = 5            # rejected proposals in a row that end the run failed (0: no limit)
    hours: float | None = None       # wall clock for this invocation
    budget: float | None = None      # training seconds per experiment (None: 60 CPU / 300 GPU)
    proposer: str = "offline"
    min_delta: float | None = None   # None: keep_sigma x the measured noise (0 without noise runs)
    max_usd: float = 10.0
    notify_cmd: str | None = None
    breakthrough: float = 0.01
    major_breakthrough: float = 0.03
    max_memory_gb: float | None = None
    seed: int = 0
    warm_start: bool = True          # fork trainers from a helper with torch imported
    noise_runs: int = 3              # extra baseline runs that measure run-to-run noise
    keep_sigma: float = 2.0          # a keep beats the best by more than this many sigma
    confirm: bool = True             # re-run a gain between 1 and keep_sigma sigma; it decides
    sandbox: str = "auto"            # auto (bwrap where it works) | bwrap | none
    meta_interval: int = 12          # a meta-analysis every N experiments (0: never)
    meta_threshold: float | None = None  # ... and after a keep beating the best by more than
    #                                      this (None: 2 x keep_sigma x sigma, or 0.003 without noise)
    analyst: str = "offline"         # who does the meta-analysis: offline | anthropic:<model>

    def validate(self) -> "Settings":
        check_number(self.experiments, "--experiments", allow_zero=True, integer=True)
        check_number(self.max_rejected, "--max-rejected", allow_zero=True, integer=True)
        check_number(self.hours, "--hours")
        check_number(self.budget, "--budget")
        check_number(self.min_delta, "--min-delta", allow_zero=True)
        check_number(self.max_usd, "--max-usd")
        check_number(self.breakthrough, "--breakthrough")
        check_number(self.major_breakthrough, "--major-breakthrough")
        check_number(self.max_memory_gb, "--max-memory-gb")
        check_number(self.noise_runs, "--noise-runs", allow_zero=True, integer=True)
        check_number(self.keep_sigma, "--keep-sigma", allow_zero=True)
        if self.sandbox not in MODES:
            raise InputError(f"--sandbox must be one of {', '.join(MODES)}, got {self.sandbox!r}")
        check_number(self.meta_interval, "--meta-interval", allow_zero=True, integer=True)
        check_number(self.meta_threshold, "--meta-threshold", allow_zero=True)
        return self


@dataclass
class ExperimentRun(RunFolder):
    node = NODE
    settings_file = SETTINGS_FILE
    settings_class = Settings

    results_path = property(lambda self: self.path / "results.tsv")
    logs_dir = property(lambda self: self.path / "logs")
    data_dir = property(lambda self: self.path / "data")

    def log_path(self, number: int) -> Path:
        return self.logs_dir / f"{number:03d}.log"

    def workspace(self) -> TrainingWorkspace:
        return open_workspace(self.workspace_dir)

    def corpus(self) -> dict:
        return read_prepared_meta(self.data_dir)


def run_path(tag: str, root: Path | None = None) -> Path:
    return ExperimentRun.path_for(tag, root)


def open_run(tag: str, root: Path | None = None) -> ExperimentRun:
    return ExperimentRun.open(tag, root)


def template_files() -> dict[str, str]:
    return {name: (TEMPLATE_DIR / name).read_text(encoding="utf-8")
            for name in (TRAIN_FILE, PROGRAM_FILE)}


def init_run(tag: str, data: str | None = None, root: Path | None = None,
             created_by: str = "init", keep_lock: bool = False) -> ExperimentRun:
    """Create the run folder, its workspace and prepared corpus. The corpus is
    read before anything is created; the folder is built beside its place and
    renamed into it whole (``creating.building``), so a kill or a failure
    half-way leaves no tag, and of two creators at once one is refused.

    The run is locked while still hidden (``harness.lock_build``); with
    ``keep_lock`` (a creator about to run it) the lock stays held across the
    rename, on the returned run, until its loop's hold ends
    (``run_experiments``) or ``release()``: a ``--resume`` started in between
    is refused as in use instead of taking the new tag over.

    A folder holding only a papermill session's files (``deeploop session``
    creates the run folder before the notebook starts the loop) receives the
    new run's files, experiment.json last.
    """
    path = run_path(tag, root)
    clear_half_created(path)
    if path.exists() and session_only(path) is None:
        raise InputError(f"experiment tag {tag!r} already exists ({path}): "
                         "use --resume to continue it")
    corpus = load_corpus(data)
    with contextlib.ExitStack() as lock:
        with building(path, "experiment tag", into=SETTINGS_FILE) as build:
            lock.enter_context(lock_build(build, f"experiment {tag!r}"))
            run = ExperimentRun(build, tag)
            meta = prepare(corpus, run.data_dir)
            ws = TrainingWorkspace.create(run.workspace_dir, tag, template_files())
            run.logs_dir.mkdir()
            run.results_path.write_text("\t".join(HEADER) + "\n", encoding="utf-8")
            atomic_write_json(run.settings_path, {"tag": tag, "data": data or "default",
                                                  "corpus": meta,
                                                  "settings": asdict(Settings())})
            run.event_log().emit("experiment_init", tag=tag, branch=ws.branch(),
                                 workspace=str(path / "workspace"), corpus=meta,
                                 created_by=created_by)
        return ExperimentRun(path, tag, held=lock.pop_all() if keep_lock else None)


def clear_half_created(path: Path) -> None:
    """Clear a tag folder cut short while being created (see creating.clear_half_made)."""
    clear_half_made(path, marker=SETTINGS_FILE, init_event="experiment_init", what="experiment tag")


def check_data(run: ExperimentRun, data: str | None) -> None:
    """A resumed run must train on the corpus it started with."""
    if data is None:
        return
    wanted = load_corpus(data).sha256
    have = run.corpus().get("sha256")
    if wanted != have:
        raise InputError(f"--data {data} is not the corpus experiment {run.tag!r} started with "
                         f"(SHA-256 {wanted[:12]}… vs {str(have)[:12]}…)")
