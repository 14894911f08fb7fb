"""What the history says: statistics the analysts and the process log share.

``replay`` walks results.tsv in order and gives one ``Record`` per
experiment: its outcome, the best before it, the knob moves it made (from
the structured description, else the diff its event recorded, else the
prose) and the hypothesis it tested. ``summarize`` gives the counts, rates,
best-so-far curve and plateau; ``effects`` estimates, per knob and
direction, how much moving it helped, over how many trials and how surely.
All pure: results, events and noise come in as data.
"""
from __future__ import annotations

import math
import re
import statistics
from dataclasses import dataclass, field

from ..experiment.decide import noise_sigma
from ..experiment.knobs import Value, parse_description, parse_value
from ..experiment.results import Results, Row, RowStatus
from .freetext import read_moves

PLATEAU_MIN = 6          # no new best in this many experiments (or a third of them) is a plateau
NEAR_MISS = 0.003        # a discard within 0.3 % of the best is worth combining
CLEAR_GAIN = 0.01        # without a noise estimate, one move of 1 % is taken as real
MIN_EFFECT = 0.001       # ... and a mean below 0.1 % as no effect
_DIFF_LINE = re.compile(r"^([+-])([A-Z][A-Z0-9_]*)\s*=\s*([^#\n]+?)\s*(?:#.*)?$", re.MULTILINE)


@dataclass(frozen=True)
class Move:
    """One knob moved by one experiment; old/new are None when prose did not say."""
    knob: str
    direction: int
    old: Value | None = None
    new: Value | None = None

    def __str__(self) -> str:
        if self.old is not None and self.new is not None:
            return f"{self.knob} {self.old} -> {self.new}"
        arrow = "up" if self.direction > 0 else "down"
        return f"{self.knob} {arrow}" + (f" to {self.new}" if self.new is not None else "")


@dataclass
class Record:
    number: int                      # the experiment's number (its round in the loop)
    row: Row
    best_before: float | None
    moves: tuple[Move, ...] = ()
    hypothesis: str | None = None    # the tag of the hypothesis it tested ("M2.1")

    @property
    def status(self) -> str:
        return self.row.status

    @property
    def scored(self) -> bool:
        return self.status != RowStatus.CRASH and bool(self.row.val_bpb)

    @property
    def gain(self) -> float | None:
        """Relative improvement over the best before it (+ is better)."""
        if not self.scored or not self.best_before:
            return None
        return (self.best_before - self.row.val_bpb) / self.best_before

    @property
    def delta(self) -> float | None:
        """val_bpb minus the best before it (negative is better)."""
        if not self.scored or self.best_before is None:
            return None
        return round(self.row.val_bpb - self.best_before, 6)


def _direction(old: Value | None, new: Value | None) -> int:
    try:
        return 1 if new > old else -1
    except TypeError:
        return 1  # a string or toggle changed: one "direction" per new value


def moves_of(description: str, diff: str = "", names=()) -> tuple[Move, ...]:
    """Structured description first, then the diff, then prose."""
    changes = parse_description(description).changes
    if not changes and diff:
        old = {m[1]: parse_value(m[2]) for m in _DIFF_LINE.findall(diff) if m[0] == "-"}
        new = {m[1]: parse_value(m[2]) for m in _DIFF_LINE.findall(diff) if m[0] == "+"}
        return tuple(Move(k, _direction(old[k], new[k]), old[k], new[k])
                     for k in new if k in old and old[k] != new[k])
    if changes:
        return tuple(Move(c.knob, _direction(c.old, c.new), c.old, c.new) for c in changes)
    return tuple(Move(m.knob, m.direction, m.old, m.new)
                 for m in read_moves(description, names) if m.direction)


def _row_events(results: Results, events: list[dict]) -> dict[int, dict]:
    """Which experiment_result event recorded which row (by commit, in order)."""
    queue = [e for e in events if e.get("type") == "experiment_result"
             and e.get("status") in ("keep", "discard", "crash") and e.get("commit")]
    found, start = {}, 0
    for index, row in enumerate(results.rows):
        for j in range(start, len(queue)):
            if str(queue[j]["commit"])[:7] == row.commit[:7] and row.commit:
                found[index], start = queue[j], j + 1
                break
    return found


def replay(results: Results, events: list[dict] | None = None, names=()) -> list[Record]:
    """One record per well-formed experiment row (baselines and noise runs excluded)."""
    by_row = _row_events(results, events or [])
    records, count = [], 0
    for index, (row, best) in enumerate(zip(results.rows, [None, *results.running_best()])):
        if not row.ok:
            continue
        if not row.is_baseline:
            count += 1
            event = by_row.get(index, {})
            hyp = event.get("hypothesis") if isinstance(event.get("hypothesis"), dict) else {}
            records.append(Record(
                int(event.get("round", count)), row, best,
                moves_of(row.description, event.get("diff") or "", names),
                hyp.get("id") or parse_description(row.description).hypothesis))
    return records


@dataclass
class Summary:
    experiments: int
    keeps: int
    discards: int
    crashes: int
    baseline: float | None
    best: Row | None
    curve: list[tuple[int, float]] = field(default_factory=list)  # (experiment, best so far)
    best_at: int | None = None       # experiment that set the best (0: the baseline)
    since_best: int = 0
    sigma: float | None = None       # run-to-run noise, when the baseline was repeated

    keep_rate = property(lambda s: s.keeps / s.experiments if s.experiments else 0.0)
    crash_rate = property(lambda s: s.crashes / s.experiments if s.experiments else 0.0)
    floor = property(lambda s: 2 * s.sigma if s.sigma is not None else None)

    @property
    def plateau(self) -> bool:
        return self.experiments >= PLATEAU_MIN and \
            self.since_best >= max(PLATEAU_MIN, self.experiments // 3)

    @property
    def improvement(self) -> float | None:
        """Baseline minus best (positive is progress)."""
        if self.baseline is None or self.best is None:
            return None
        return round(self.baseline - self.best.val_bpb, 6)

    @property
    def per_experiment(self) -> float | None:
        gain = self.improvement
        return gain / self.experiments if gain is not None and self.experiments else None


def summarize(results: Results, records: list[Record]) -> Summary:
    baseline = results.baseline()
    noise = [r.val_bpb for r in results.rows
             if r.ok and r.is_baseline and r.status != RowStatus.CRASH and r.val_bpb]
    summary = Summary(len(records), *(sum(1 for r in records if r.status == s)
                                      for s in ("keep", "discard", "crash")),
                      baseline.val_bpb if baseline else None, results.best(),
                      sigma=noise_sigma(noise) if len(noise) >= 2 else None)
    best, best_at = summary.baseline, 0 if summary.baseline is not None else None
    for record in records:
        if record.row.counts and (best is None or record.row.val_bpb < best):
            best, best_at = record.row.val_bpb, record.number
        if best is not None:
            summary.curve.append((record.number, best))
    summary.best_at = best_at
    summary.since_best = sum(1 for r in records if best_at is None or r.number > best_at)
    return summary


def above_noise(records: list[Record], floor: float | None) -> tuple[list[Record], list[Record]]:
    """Kept changes whose gain exceeds the noise floor, and those that do not."""
    kept = [r for r in records if r.row.counts and r.delta is not None]
    if not floor:
        return kept, []
    return [r for r in kept if -r.delta > floor], [r for r in kept if -r.delta <= floor]


@dataclass
class Effect:
    """What moving one knob one way did, over every experiment that did it."""
    knob: str
    direction: int
    trials: list[Record] = field(default_factory=list)

    keeps = property(lambda s: sum(1 for t in s.trials if t.status == RowStatus.KEEP))
    crashes = property(lambda s: sum(1 for t in s.trials if t.status == RowStatus.CRASH))
    gains = property(lambda s: [t.gain for t in s.trials if t.gain is not None])

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.gains) if self.gains else None

    @property
    def se(self) -> float | None:
        gains = self.gains
        return statistics.stdev(gains) / math.sqrt(len(gains)) if len(gains) >= 2 else None

    def certainty(self, floor_rel: float | None = None) -> str:
        """HIGH: 3+ scored trials, mean 2 standard errors from zero. MEDIUM: 2+
        agreeing in sign, or one trial beyond twice the noise floor (CLEAR_GAIN
        when noise was not measured). LOW for a mean inside the noise floor
        (MIN_EFFECT when not measured), and otherwise."""
        gains, mean, se = self.gains, self.mean, self.se
        if mean is None or abs(mean) <= (floor_rel if floor_rel else MIN_EFFECT):
            return "LOW"  # however consistent, an effect inside the noise is no effect
        if len(gains) >= 3 and se is not None and abs(mean) > 2 * se:
            return "HIGH"
        if len(gains) >= 2 and (all(g > 0 for g in gains) or all(g < 0 for g in gains)):
            return "MEDIUM"
        if len(gains) == 1 and abs(gains[0]) > (2 * floor_rel if floor_rel else CLEAR_GAIN):
            return "MEDIUM"
        return "LOW"

    def describe(self) -> str:
        way = {1: "up", -1: "down"}.get(self.direction, "changed")
        mean = f", mean {100 * self.mean:+.2f} %" if self.mean is not None else ""
        spread = f" ± {100 * self.se:.2f}" if self.se is not None else ""
        crashed = f", {self.crashes} crashed" if self.crashes else ""
        return (f"{self.knob} {way}: {self.keeps} of {len(self.trials)} kept"
                f"{mean}{spread}{crashed}")


def effects(records: list[Record]) -> dict[tuple[str, int], Effect]:
    """Per (knob, direction). A move made together with others counts for each
    of them: the analysis says so by listing the combination's trials too."""
    found: dict[tuple[str, int], Effect] = {}
    for record in records:
        for move in record.moves:
            key = (move.knob, move.direction)
            found.setdefault(key, Effect(move.knob, move.direction)).trials.append(record)
    return found


def since_last_keep(records: list[Record]) -> list[Record]:
    """Experiments made from the current best (after the last keep)."""
    last = max((i for i, r in enumerate(records) if r.row.counts), default=-1)
    return records[last + 1:]


def near_misses(records: list[Record]) -> list[Record]:
    """Single-knob discards from the current best that came within NEAR_MISS."""
    return sorted((r for r in since_last_keep(records)
                   if r.status == RowStatus.DISCARD and len(r.moves) == 1
                   and r.gain is not None and r.gain > -NEAR_MISS),
                  key=lambda r: -r.gain)


def crash_values(records: list[Record]) -> dict[tuple[str, int], list[Value]]:
    """Values that crashed, per knob and direction: do not go there again."""
    found: dict[tuple[str, int], list[Value]] = {}
    for record in records:
        if record.status == RowStatus.CRASH:
            for move in record.moves:
                if move.new is not None:
                    found.setdefault((move.knob, move.direction), []).append(move.new)
    return found


VERDICTS = {RowStatus.KEEP: "confirmed", RowStatus.DISCARD: "refuted", RowStatus.CRASH: "crashed"}


def verdicts(previous: list, records: list[Record], after: int | None = None) -> list[dict]:
    """What became of each earlier hypothesis: the first experiment (after the
    analysis that wrote it) that tested it, kept (confirmed), discarded
    (refuted) or crashed; none is ``untested``. ``delta`` is val_bpb minus the
    best before that experiment (negative is better)."""
    found = []
    for hypothesis in previous:
        names = {hypothesis.key, hypothesis.label}
        test = next((r for r in records if r.hypothesis in names
                     and (after is None or r.number > after)), None)
        found.append({"id": hypothesis.key,
                      "verdict": VERDICTS.get(test.status, "crashed") if test else "untested",
                      "experiment": test.number if test else None,
                      "delta": test.delta if test else None})
    return found
