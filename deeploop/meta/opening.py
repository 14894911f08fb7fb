"""Opening an experiment run by tag: validate everything, then create or resume.

One path for the command line (``deeploop experiment run``) and notebooks
(``ExperimentMonitor``), so both refuse the same bad input the same way.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import InputError, NotFound
from ..events import read_events
from ..experiment.proposers import get_proposer
from ..experiment.record import check_record
from ..experiment.rundir import SETTINGS_FILE, Settings, check_data, init_run, open_run, run_path
from ..experiment.resume import check_clean
from ..experiment.workspace import PROGRAM_FILE, TRAIN_FILE
from ..fileio import file_lock, read_text
from ..models.anthropic import check_api_key
from ..runs import Status, read_outcome
from .analysts import get_analyst


def check_specs(settings: Settings) -> None:
    """Unknown proposer or analyst specs, or Claude without a key, fail now."""
    get_proposer(settings.proposer)
    get_analyst(settings.analyst)
    check_api_key(settings.proposer, "--proposer")
    check_api_key(settings.analyst, "--analyst")


def check_texts(run) -> None:
    """A train.py or program.md a person saved in another encoding is refused
    now, not found by the loop half-way through an experiment."""
    for name in (TRAIN_FILE, PROGRAM_FILE):
        path = run.workspace_dir / name
        if path.is_file():
            read_text(path, name)


def experiment_place(tag: str, run_dir: Path | str | None,
                     root: Path | str | None) -> tuple[str, Path | None]:
    """(tag, runs root) of an experiment. A ``run_dir`` (what ``deeploop
    session`` passes a notebook) names both: ``<root>/experiment/<tag>``."""
    if not run_dir:
        return tag, Path(root) if root else None
    folder = Path(run_dir).resolve()
    if folder.parent.name != "experiment":
        raise InputError(f"an experiment's run folder must be <runs root>/experiment/<tag>, "
                         f"not {folder}")
    return folder.name, folder.parent.parent


def interrupted(run) -> bool:
    """Whether the tag's last run started and did not finish: killed before
    it wrote outcome.json, or stopped by a signal (``aborted``). A tag made
    by ``experiment init`` and never run is not interrupted; one made by
    ``experiment run`` and killed before its loop began is."""
    journal = read_events(run.events_path)
    runs = len(journal.of_type("experiment_run_started"))
    if runs == 0:
        made = next(iter(journal.of_type("experiment_init")), {})
        return made.get("created_by") == "run" and not (run.path / "outcome.json").exists()
    outcome, _ = read_outcome(run.path)
    if outcome is None:  # missing, or torn: an unfinished run
        return True
    return outcome.get("status") == Status.ABORTED or outcome.get("run_number", runs) < runs


def open_experiment(tag: str, *, data: str | None = None, root: Path | str | None = None,
                    run_dir: Path | str | None = None, resume: bool | None = None,
                    keep_lock: bool = False, **overrides):
    """(run, settings) for ``tag``.

    ``resume=None`` (notebooks): created when new, resumed when it exists.
    ``resume=True`` (``--resume``): the tag must exist; a typo is refused,
    never a new tag. ``resume=False`` (``experiment run`` without it): a new
    tag is created; an existing one is refused, unless its last run was
    interrupted (killed, or stopped by a signal): then the same command
    repeated continues it, as the docs promise.

    ``overrides`` are Settings fields (experiments, budget, proposer, ...);
    everything, including the proposer and analyst specs, is checked before a
    folder is created. A folder holding only a papermill session's files
    (``deeploop session`` made it) is used as is. With ``keep_lock`` (a
    caller about to run the loop: the CLI, a monitor) a new tag comes back
    still locked by its creation (``init_run(keep_lock=True)``): its loop
    (``run_experiments``) takes that lock over, so no resume can take the new
    tag over first; ``run.release()`` lets go of it if the loop is not run.
    Without it the tag is unlocked once made, and opening it again works.
    """
    tag, root = experiment_place(tag, run_dir, root)
    Settings().merged(overrides)  # bad numbers fail before anything is created
    exists = (run_path(tag, root) / SETTINGS_FILE).is_file()
    if resume and not exists:
        raise NotFound(f"no experiment tagged {tag!r} to resume under "
                       f"{run_path(tag, root).parent} (without --resume a new tag is created)")
    run = open_run(tag, root) if exists else None
    if run is not None and resume is False and not interrupted(run):
        raise InputError(f"experiment tag {tag!r} already exists: use --resume to continue it")
    settings = (run.settings() if run else Settings()).merged(overrides)
    check_specs(settings)
    if run is not None:  # refused at once, changing nothing, while another process runs it
        with file_lock(run.lock_path, wait=False, what=f"experiment {tag!r}"):
            check_data(run, data)
            check_clean(run)  # before the settings are saved: a refusal changes nothing
            check_texts(run)
            check_record(run.results_path, read_events(run.events_path).events, tag)
            run.save_settings(settings)
        return run, settings
    # locked from its creation until its loop's hold ends: a resume cannot take it over
    run = init_run(tag, data, root, created_by="run", keep_lock=keep_lock)
    try:
        run.save_settings(settings)
    except BaseException:
        run.release()
        raise
    return run, settings
