"""The offline proposer: a real search over train.py's hyperparameter block.

One change per experiment, chosen by a policy that learns from results.tsv:

1. A pending meta-analysis hypothesis that applies to this train.py wins.
2. Otherwise every knob offers a step up and a step down. Each candidate is
   scored by what history says about that knob and direction: how often it
   was kept, the average gain, how often it crashed, how little the knob has
   been explored, and how many times it already failed since the last keep.
   After a win the same move is repeated with a bigger step (momentum);
   after misses from the current best the step shrinks. Values at or beyond
   a crash in the same direction are avoided, and a value already tried from
   the current best is never repeated.
3. Two near misses on different knobs since the last keep are tried together.
4. After STALL experiments in a row that kept nothing (and when no knob move
   is left), a structural edit from the library in ``structural.py`` is tried
   instead: a real change to train.py's code, kept or discarded like any
   other experiment; each edit is measured once.

Descriptions are structured (``LR 0.003 -> 0.0045``) so the history can be
read back by this proposer and by the meta-analysis tier.
"""
from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field

from ..knobs import Change, Value, describe, parse_description, read_knobs, set_knobs
from ..results import Results, RowStatus
from .base import Proposal, ProposalContext, failed
from .space import neighbour, spec_for, valid
from .structural import LIBRARY, edit_name, next_edit

NEAR_MISS = 0.003   # a discard within 0.3 % of the best is worth combining
STALL = 4           # knob experiments without a keep before a structural edit is tried


@dataclass
class Trial:
    knob: str
    old: Value
    new: Value
    status: str
    gain: float | None      # relative improvement over the best at the time (+ is better)
    epoch: int              # number of keeps before it: same epoch = same starting point
    row: int = 0            # which results row it came from (one row may change several knobs)

    @property
    def direction(self) -> int:
        try:
            return 1 if self.new > self.old else -1
        except TypeError:
            return 1


@dataclass
class History:
    trials: list[Trial] = field(default_factory=list)
    epoch: int = 0
    best: float | None = None


def read_history(results: Results) -> History:
    """Replay results.tsv: every structured change with its outcome."""
    history = History()
    for index, row in enumerate(results.rows):
        if not row.ok:
            continue
        if row.is_baseline:
            if row.counts and history.best is None:
                history.best = row.val_bpb
            continue
        best = history.best
        gain = None
        if row.status != RowStatus.CRASH and best and row.val_bpb:
            gain = (best - row.val_bpb) / best
        for change in parse_description(row.description).changes:
            history.trials.append(Trial(change.knob, change.old, change.new, row.status,
                                        gain, history.epoch, index))
        if row.status == RowStatus.KEEP and row.counts:
            history.epoch += 1
            history.best = row.val_bpb if best is None else min(best, row.val_bpb)
    return history


@dataclass
class Candidate:
    changes: dict[str, Value]
    score: float


@dataclass
class OfflineProposer:
    seed: int = 0
    spec: str = "offline"
    stall: int = STALL
    library: tuple = LIBRARY

    def propose(self, context: ProposalContext) -> Proposal:
        knobs = {n: k.value for n, k in read_knobs(context.train_py).items()}
        if not knobs:
            return failed("train.py has no UPPER_CASE hyperparameter block to search")
        rng = random.Random(f"{self.seed}:{context.experiment}")
        hypothesis, changes = self._from_hypotheses(context, knobs)
        if not changes and self._stalled(context.results) >= self.stall:
            structural = self._structural(context)
            if structural is not None:
                return structural
        if not changes:
            chosen = self._best_candidate(knobs, read_history(context.results), rng)
            if chosen is None:
                return self._structural(context) or failed(
                    "no untried move is left in the search space")
            changes = chosen.changes
        new_source = set_knobs(context.train_py, changes)
        listed = [Change(n, knobs[n], v) for n, v in changes.items()]
        label = hypothesis.label if hypothesis else None
        return Proposal(new_source, describe(listed, label), hypothesis=hypothesis)

    @staticmethod
    def _stalled(results: Results) -> int:
        """Experiments since the last keep or the last structural edit."""
        since = 0
        for row in reversed([r for r in results.rows if r.ok and not r.is_baseline]):
            if row.status == RowStatus.KEEP or edit_name(row.description):
                break
            since += 1
        return since

    def _structural(self, context) -> Proposal | None:
        tried = {edit_name(r.description) for r in context.results.rows} - {None}
        found = next_edit(context.train_py, tried, self.library)
        if found is None:
            return None
        edit, source = found
        return Proposal(source, edit.description, notes={"structural_edit": edit.name})

    def _from_hypotheses(self, context, knobs):
        for hypothesis in context.pending:
            changes = {n: _as_type(v, knobs[n]) for n, v in hypothesis.changes.items()
                       if n in knobs}
            changes = {n: v for n, v in changes.items()
                       if v != knobs[n] and type(v) is type(knobs[n])}
            if changes and len(changes) == len(hypothesis.changes) and valid({**knobs, **changes}):
                return hypothesis, changes
        return None, {}

    def _best_candidate(self, knobs, history, rng) -> Candidate | None:
        candidates = self._single_moves(knobs, history) + self._combinations(knobs, history)
        if not candidates:
            candidates = self._single_moves(knobs, history, strength=0.5)
        for candidate in candidates:  # deterministic tie-breaking per experiment
            candidate.score += rng.uniform(0, 0.05)
        return max(candidates, key=lambda c: c.score, default=None)

    def _single_moves(self, knobs, history, strength: float = 1.0) -> list[Candidate]:
        by_knob = defaultdict(list)
        for trial in history.trials:
            by_knob[trial.knob].append(trial)
        moves = []
        for name, value in knobs.items():
            trials = by_knob.get(name, [])
            for direction in (1, -1):
                move = self._move(name, value, direction, trials, history, strength)
                if move is not None and valid({**knobs, name: move.changes[name]}):
                    moves.append(move)
        return moves

    def _move(self, name, value, direction, trials, history, strength) -> Candidate | None:
        same_dir = [t for t in trials if t.direction == direction]
        now = [t for t in trials if t.epoch == history.epoch]
        misses_here = sum(1 for t in now if t.direction == direction)
        if same_dir and same_dir[-1].status == RowStatus.KEEP:
            strength *= 2.0  # it worked last time: push further
        strength *= 0.5 ** misses_here
        new = neighbour(name, value, direction, strength)
        if new is None:
            return None
        if any(t.new == new for t in now):
            return None  # already measured from this very starting point
        if any(t.status == RowStatus.CRASH and direction * _sign(new, t.new) >= 0
               for t in same_dir):
            return None  # at or past a value that crashed
        return Candidate({name: new}, self._score(name, value, same_dir, trials, now))

    @staticmethod
    def _score(name, value, same_dir, trials, now) -> float:
        spec = spec_for(name, value)
        keeps = sum(1 for t in same_dir if t.status == RowStatus.KEEP)
        crashes = sum(1 for t in same_dir if t.status == RowStatus.CRASH)
        gains = [t.gain for t in same_dir if t.gain is not None]
        keep_rate = (keeps + 1) / (len(same_dir) + 2)
        gain_term = max(-1.0, min(1.0, 20 * sum(gains) / len(gains))) if gains else 0.0
        novelty = 1 / (1 + len(trials))
        return (spec.prior + keep_rate + gain_term - crashes / (len(same_dir) + 1)
                + 0.5 * novelty - 0.5 * len(now))

    def _combinations(self, knobs, history) -> list[Candidate]:
        """Pairs of near misses on different knobs since the last keep."""
        near = [t for t in history.trials if t.epoch == history.epoch and t.gain is not None
                and t.status == RowStatus.DISCARD and t.gain > -NEAR_MISS
                and t.knob in knobs and knobs[t.knob] == t.old]
        near.sort(key=lambda t: -t.gain)
        tried = _tried_sets(history)
        combos = []
        for i, a in enumerate(near):
            for b in near[i + 1:]:
                changes = {a.knob: a.new, b.knob: b.new}
                if a.knob != b.knob and a.row != b.row and frozenset(changes.items()) not in tried \
                        and valid({**knobs, **changes}):
                    combos.append(Candidate(changes, 1.5 + 20 * (a.gain + b.gain)))
        return combos[:3]


def _tried_sets(history: History) -> set[frozenset]:
    """The change sets already measured, one per results row."""
    groups = defaultdict(set)
    for trial in history.trials:
        groups[trial.row].add((trial.knob, trial.new))
    return {frozenset(g) for g in groups.values()}


def _as_type(value: Value, current: Value) -> Value:
    """``2`` for a float knob is 2.0: a hypothesis written by hand or by a model
    need not spell floats the way the file does."""
    if isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _sign(a: Value, b: Value) -> int:
    try:
        return 0 if a == b else (1 if a > b else -1)
    except TypeError:
        return 0

