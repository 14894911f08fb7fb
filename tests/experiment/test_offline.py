"""The offline proposer's search policy, on plain data: it takes pending
hypotheses first, learns directions from history, avoids crashes, never
repeats a measured move, and writes structured descriptions."""
from __future__ import annotations

from deeploop.experiment.hypotheses import parse_hypotheses
from deeploop.experiment.knobs import parse_description, read_knobs
from deeploop.experiment.proposers import ProposalContext, get_proposer
from deeploop.experiment.proposers.offline import OfflineProposer, read_history
from deeploop.experiment.proposers.space import neighbour, valid
from deeploop.experiment.results import parse_results

from .conftest import FAKE_TRAIN

HEAD = "commit\tval_bpb\tmemory_gb\tstatus\tdescription\n"


def context(rows: str = "", source: str = FAKE_TRAIN, pending=(), number: int = 1):
    return ProposalContext(workspace=None, train_py=source, program_md="", git_log="",
                           results=parse_results(HEAD + rows), experiment=number,
                           pending=list(pending))


def propose(ctx):
    proposal = OfflineProposer().propose(ctx)
    assert proposal.ok, proposal.error
    return proposal, parse_description(proposal.description)


def test_registry_defaults_to_offline_and_names_unknown_ones():
    import pytest
    from deeploop.errors import InputError
    assert get_proposer(None).spec == "offline"
    with pytest.raises(InputError, match="unknown proposer 'magic'.*anthropic:<...>"):
        get_proposer("magic")


def test_first_move_is_one_structured_change_to_the_block():
    proposal, parsed = propose(context("a\t2.1\t0.5\tkeep\tbaseline\n"))
    assert len(parsed.changes) == 1
    change = parsed.changes[0]
    assert read_knobs(proposal.train_py)[change.knob].value == change.new
    assert read_knobs(FAKE_TRAIN)[change.knob].value == change.old
    assert proposal.description == str(change)


def test_pending_hypothesis_goes_first_and_is_tagged():
    hyps = parse_hypotheses("# Meta-Analysis — 2026-01-01 00:00:00\n"
                            "1. `NOSUCH = 3` (not in this train.py)\n"
                            "2. Deeper: DEPTH 4 -> 6\n")
    proposal, parsed = propose(context("a\t2.1\t0.5\tkeep\tbaseline\n", pending=hyps))
    assert proposal.description == "DEPTH 4 -> 6 [H2]" and parsed.hypothesis == "H2"
    assert proposal.hypothesis.rank == 2


def test_a_kept_direction_is_pushed_further():
    rows = ("a\t2.100000\t0.5\tkeep\tbaseline\n"
            "b\t2.050000\t0.5\tkeep\tLR 0.002 -> 0.003\n")
    _, parsed = propose(context(rows))
    change = parsed.changes[0]
    assert change.knob == "LR" and change.new > 0.003 * 1.5  # a bigger step than the base 1.5x


def test_hurting_direction_is_reversed_and_crashes_are_avoided():
    rows = ("a\t2.100000\t0.5\tkeep\tbaseline\n"
            "b\t2.300000\t0.5\tdiscard\tLR 0.003 -> 0.0045\n"
            "c\t0.000000\t0.0\tcrash\tDEPTH 4 -> 5\n")
    ctx = context(rows)
    moves = []
    for number in range(1, 9):  # the next several proposals, as if each were discarded
        ctx.experiment = number
        _, parsed = propose(ctx)
        moves.append(parsed.changes)
        change = parsed.changes[0]
        assert not (change.knob == "DEPTH" and change.new >= 5)
        assert not (change.knob == "LR" and change.new == 0.0045)
        ctx.results.rows += parse_results(HEAD + f"x\t2.200000\t0.5\tdiscard\t{change}\n").rows
    assert len({tuple(m) for m in moves}) == len(moves)  # never the same move twice


def test_near_misses_on_two_knobs_are_combined():
    rows = ("a\t2.100000\t0.5\tkeep\tbaseline\n"
            "b\t2.101000\t0.5\tdiscard\tLR 0.003 -> 0.0045\n"
            "c\t2.100500\t0.5\tdiscard\tDEPTH 4 -> 5\n"
            "d\t2.300000\t0.5\tdiscard\tLR 0.003 -> 0.002\n"
            "e\t2.300000\t0.5\tdiscard\tDEPTH 4 -> 3\n"
            "f\t2.300000\t0.5\tdiscard\tWIDTH 128 -> 160\n"
            "g\t2.300000\t0.5\tdiscard\tWIDTH 128 -> 96\n")
    _, parsed = propose(context(rows))
    assert {c.knob for c in parsed.changes} == {"LR", "DEPTH"}


def test_history_replay_tracks_epochs_and_gains():
    results = parse_results(HEAD + "a\t2.0\t0.5\tkeep\tbaseline\n"
                                   "b\t1.9\t0.5\tkeep\tLR 1.0 -> 2.0\n"
                                   "c\t0\t0\tcrash\tDEPTH 4 -> 9\n"
                                   "d\tbad\t0\tkeep\tWIDTH 1 -> 2\n")
    history = read_history(results)
    assert [(t.knob, t.epoch) for t in history.trials] == [("LR", 0), ("DEPTH", 1)]
    assert abs(history.trials[0].gain - 0.05) < 1e-9 and history.trials[1].gain is None
    assert history.best == 1.9


def test_search_space_steps_and_constraints():
    assert neighbour("LR", 0.003, 1) == 0.0045 and neighbour("LR", 0.003, -1) == 0.002
    assert neighbour("DEPTH", 1, -1) is None and neighbour("DEPTH", 4, 1) == 5
    assert neighbour("WIDTH", 128, 1) == 160 and neighbour("SEED", 42, 1) is None
    assert neighbour("WEIGHT_DECAY", 0.0, 1) == 0.005
    assert neighbour("WEIGHT_DECAY", 0.006, -1) == 0.0
    assert neighbour("BETA2", 0.95, 1) == 0.9667 and neighbour("FLAG", False, 1) is True
    # the template's window counts: orders 3..16 halve towards off (2), the discount steps
    assert neighbour("WINDOW_MAX_ORDER", 16, -1) == 8 and neighbour("WINDOW_MAX_ORDER", 2, -1) is None
    assert neighbour("COUNT_DISCOUNT", 0.5, 1) == 0.65 and neighbour("COUNT_DISCOUNT", 1.0, 1) is None
    assert not valid({"WIDTH": 96, "HEADS": 32}) and not valid({"WIDTH": 100, "HEADS": 8})
    assert valid({"WIDTH": 128, "HEADS": 4})
    assert not valid({"WARMUP_FRAC": 0.5, "WARMDOWN_FRAC": 0.6})


def test_a_file_without_knobs_is_a_failed_proposal():
    proposal = OfflineProposer().propose(context(source="print('hi')\n"))
    assert not proposal.ok and "no UPPER_CASE hyperparameter block" in proposal.error
