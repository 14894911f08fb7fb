"""The structural-edit library: every edit applies to the shipped template and
the edited file still trains a step; the offline proposer turns to an edit
once knob moves stall, and measures each edit once."""
from __future__ import annotations

import importlib.util

import pytest

from deeploop.experiment.corpus import make_corpus, prepare
from deeploop.experiment.knobs import parse_description, set_knobs
from deeploop.experiment.proposers import ProposalContext
from deeploop.experiment.proposers.offline import STALL, OfflineProposer
from deeploop.experiment.proposers.structural import LIBRARY, edit_name, next_edit
from deeploop.experiment.results import parse_results
from deeploop.experiment.rundir import template_files

from .conftest import FAKE_TRAIN, corpus_text

TEMPLATE = template_files()["train.py"]
HEAD = "commit\tval_bpb\tmemory_gb\tstatus\tdescription\n"
TINY = {"DEPTH": 1, "WIDTH": 32, "HEADS": 2, "SEQ_LEN": 64, "BATCH_SIZE": 2}


def test_every_edit_applies_once_and_changes_code_not_knobs():
    assert len({e.name for e in LIBRARY}) == len(LIBRARY) >= 5
    for edit in LIBRARY:
        new = edit.apply(TEMPLATE)
        assert new is not None and new != TEMPLATE, edit.name
        compile(new, "train.py", "exec")
        assert edit.apply(new) is None, edit.name  # in already: it does not apply again
        assert parse_description(edit.description).changes == ()  # no knob change is read
        assert edit_name(edit.description) == edit.name
    assert edit_name("LR 0.1 -> 0.2") is None and edit_name("baseline") is None


def test_an_edit_that_no_longer_matches_is_skipped():
    first = LIBRARY[0]
    edited = first.apply(TEMPLATE)
    found = next_edit(edited, set())
    assert found is not None and found[0] is not first  # the kept edit is in: the next one
    assert next_edit(FAKE_TRAIN, set()) is None          # not the template: nothing applies
    assert next_edit(TEMPLATE, {e.name for e in LIBRARY}) is None  # all measured


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("structural") / "data"
    prepare(make_corpus("t", corpus_text().encode(), "test"), folder)
    return folder


@pytest.mark.parametrize("name", [e.name for e in LIBRARY])
def test_edited_template_trains_a_step(name, data_dir, tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setenv("DEEPLOOP_DATA_DIR", str(data_dir))
    edit = next(e for e in LIBRARY if e.name == name)
    path = tmp_path / "train.py"
    path.write_text(set_knobs(edit.apply(TEMPLATE), TINY))
    spec = importlib.util.spec_from_file_location(f"train_{name.replace('-', '_')}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.GPT("cpu")
    module.load_counts(model, "cpu")
    model.use = "half0"
    optimizers = module.make_optimizers(model)
    data = module.fixed.load_split("train")
    x, y = module.fixed.get_batch(data, 2, 64, torch.Generator().manual_seed(0))
    losses = [module.train_step(model, optimizers, x, y, torch.autocast("cpu", enabled=False), p)
              for p in (0.1, 0.5)]
    assert all(0 < loss < 8 for loss in losses), losses
    model.use = "all"
    out = module.logprobs(model.eval(), x)
    assert out.shape == (2, 64, 256) and torch.isfinite(out).all()


def context(rows: str, number: int) -> ProposalContext:
    return ProposalContext(workspace=None, train_py=TEMPLATE, program_md="", git_log="",
                           results=parse_results(HEAD + rows), experiment=number)


def test_the_proposer_turns_to_a_structural_edit_when_knobs_stall():
    proposer = OfflineProposer()
    rows = "a\t1.700000\t0.5\tkeep\tbaseline\n"
    seen = []
    for number in range(1, 2 * (STALL + 1) + 1):
        proposal = proposer.propose(context(rows, number))
        assert proposal.ok, proposal.error
        seen.append(edit_name(proposal.description))
        if seen[-1]:
            assert proposal.train_py == LIBRARY[len([s for s in seen if s]) - 1].apply(TEMPLATE)
            assert proposal.notes == {"structural_edit": seen[-1]}
        rows += f"x\t1.800000\t0.5\tdiscard\t{proposal.description}\n"  # nothing improves
    # STALL knob moves, an edit, STALL more knob moves, the next edit (each measured once)
    assert seen == [None] * STALL + [LIBRARY[0].name] + [None] * STALL + [LIBRARY[1].name]
    kept = rows.replace("1.800000\t0.5\tdiscard\tEDIT", "1.600000\t0.5\tkeep\tEDIT")
    assert OfflineProposer().propose(context(kept, 99)).description.startswith(
        ("EDIT",)) is False  # a keep resets the stall count: knobs again


def test_overnight_trajectory_lists_each_new_best_with_its_edit():
    """bench/overnight.py's summary: each kept new best, structural edits included."""
    from pathlib import Path
    bench = Path(__file__).resolve().parents[2] / "bench" / "overnight.py"
    spec = importlib.util.spec_from_file_location("overnight_bench", bench)
    overnight = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(overnight)
    edit = LIBRARY[0].description
    events = [{"type": "experiment_result", "status": "keep", "val_bpb": 1.80, "t": 1, "round": 0,
               "description": "baseline"},
              {"type": "experiment_result", "status": "discard", "val_bpb": 1.70, "t": 2,
               "round": 1, "description": "LR 1 -> 2"},
              {"type": "experiment_result", "status": "keep", "val_bpb": 1.75, "t": 3, "round": 2,
               "description": edit, "metrics": {"num_steps": 30}},
              {"type": "experiment_result", "status": "keep", "val_bpb": 1.76, "t": 4, "round": 3,
               "description": "DEPTH 2 -> 3"}]
    moves = overnight.trajectory(events)
    assert [m["val_bpb"] for m in moves] == [1.80, 1.75]
    assert moves[1]["description"] == edit and moves[1]["steps"] == 30
