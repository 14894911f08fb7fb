"""The offline analyst: statistics over the history, five ranked hypotheses.

Ideas come from what the history says (``stats``), each scored:

- **fit**: jump to where a quadratic model of all measurements puts a
  knob's best value (``response``);
- **push** a direction that was kept, one step further (two when the effect
  is sure), expecting about its mean gain again;
- **combine** two near misses on different knobs, or the two best pushes;
- **reverse** a direction that only hurt when the other way is untried;
- **retry** a direction tried once that came close, with half the step;
- **explore** a knob direction never tried, the usual suspects first.

Values at or past a crash in the same direction are never proposed, nor a
change already measured from the current best. A knob with a fitted curve
is left to the fit (no pushing past the bottom it found). On a plateau,
combining and exploring are preferred over small pushes. The five best
distinct ideas (one per knob and direction, at most two per knob) become
hypotheses ``M<analysis>.<rank>``; when the history is too thin for five,
generic checks fill the list.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..experiment.knobs import Value, format_value
from ..experiment.proposers.space import neighbour, round_sig, spec_for, valid
from .analysts import Analysis
from ..experiment.hypotheses import COUNT, Hypothesis
from .inputs import MetaInputs
from .response import curves
from .stats import MIN_EFFECT, Effect, crash_values, effects, near_misses, since_last_keep
from .strategy import findings, strategy_change, strategy_text

BONUS = {"HIGH": 0.6, "MEDIUM": 0.3, "LOW": 0.0}
WAY = {1: "up", -1: "down"}


@dataclass
class Idea:
    changes: dict[str, Value]        # knob -> new value; {} for a free-text idea
    text: str                        # the change as the hypothesis states it
    expected: str
    confidence: str
    reason: str
    score: float
    kind: str


def change_text(knobs: dict[str, Value], changes: dict[str, Value]) -> str:
    return "; ".join(f"{k} {format_value(knobs[k])} -> {format_value(v)}"
                     for k, v in changes.items())


class Ideas:
    """Candidate ideas for one analysis; ``ranked()`` gives the chosen five."""

    def __init__(self, inputs: MetaInputs):
        self.inputs, self.knobs = inputs, inputs.knobs
        self.records = inputs.records
        self.effects = effects(self.records)
        self.crashed = crash_values(self.records)
        self.best = inputs.summary.best.val_bpb if inputs.summary.best else None
        floor = inputs.summary.floor
        self.floor_rel = floor / self.best if floor and self.best else None
        # change sets measured from the current best: measuring one again teaches nothing
        self.tried_now = {frozenset((m.knob, m.new) for m in r.moves)
                          for r in since_last_keep(self.records)}
        self.last_keep = next((r for r in reversed(self.records) if r.row.counts), None)
        self.curves = curves(self.records, self.knobs, self.best, inputs.summary.baseline) \
            if self.best else []
        self.plateau = inputs.summary.plateau

    # -- guards -----------------------------------------------------------------------
    def allowed(self, changes: dict[str, Value]) -> bool:
        if frozenset(changes.items()) in self.tried_now:
            return False
        for knob, new in changes.items():
            if new == self.knobs.get(knob):
                return False
            direction = 1 if _gt(new, self.knobs.get(knob)) else -1
            if any(_at_or_past(new, bad, direction)
                   for bad in self.crashed.get((knob, direction), [])):
                return False
            if _in_range(knob, self.knobs.get(knob)) and not _in_range(knob, new):
                return False  # e.g. a fitted curve bottoming out at DEPTH 0
        return valid({**self.knobs, **changes})

    def step(self, knob: str, direction: int, strength: float = 1.0) -> Value | None:
        """The first allowed value along ``direction``, halving the step (down to
        a quarter) when a value was measured already or lies past a crash."""
        if knob not in self.knobs:
            return None
        while strength >= 0.25:
            new = _neighbour(knob, self.knobs[knob], direction, strength)
            if new is not None and self.allowed({knob: new}):
                return new
            strength /= 2
        return None

    def idea(self, changes, expected, confidence, reason, score, kind) -> Idea:
        return Idea(changes, change_text(self.knobs, changes), expected, confidence, reason,
                    score, kind)

    # -- generators ---------------------------------------------------------------------
    def pushes(self) -> list[Idea]:
        found = []
        for effect in self.effects.values():
            if not effect.keeps or (effect.mean or 0) <= 0:
                continue
            sure = effect.certainty(self.floor_rel)
            # momentum: a sure effect, or the move that just made the best, steps twice as far
            fresh = effect.trials[-1] is self.last_keep
            new = self.step(effect.knob, effect.direction, 2.0 if sure == "HIGH" or fresh else 1.0)
            if new is None:
                found += self.unknown_value(effect, sure)
                continue
            found.append(self.idea(
                {effect.knob: new}, f"lower val_bpb (moves {WAY.get(effect.direction, '')} "
                f"gained {100 * effect.mean:.2f} % on average; expect less near the optimum)",
                sure, effect.describe(), self.push_score(effect, sure), "push"))
        return found

    def push_score(self, effect: Effect, sure: str) -> float:
        """Returns diminish near an optimum: a push is worth most right after the
        keep that made the current best, little once the latest push that way missed."""
        last = effect.trials[-1]
        if not last.row.counts:
            return 0.3 + BONUS[sure] / 2
        fresh = last is self.last_keep
        score = (1.0 if fresh else 0.6) + BONUS[sure] + min(0.8, 20 * (last.gain or 0))
        return score - (0.2 if self.plateau and sure == "LOW" else 0.0)

    def fits(self) -> list[Idea]:
        """Jump to where a knob's fitted response curve bottoms out."""
        found = []
        for curve in self.curves:
            if not self.allowed({curve.knob: curve.best_value}):
                continue
            gain = (self.best - curve.predicted) / self.best
            if gain <= max(self.floor_rel or 0.0, 2 * MIN_EFFECT):
                continue  # a predicted gain inside the noise is not worth an experiment
            sure = "MEDIUM" if curve.inside and len(curve.points) >= 4 else "LOW"
            found.append(self.idea(
                {curve.knob: curve.best_value}, f"val_bpb about {curve.predicted:.4f}: where a "
                f"quadratic model of the history puts the best {curve.knob}",
                sure, f"{curve.knob} measured at {len(curve.points)} values: " + ", ".join(
                    f"{format_value(v)} ({y:.4f})" for v, y in curve.points),
                0.6 + min(1.2, 60 * gain) + (0.2 if curve.inside else 0.0), "fit"))
        return found

    def unknown_value(self, effect: Effect, sure: str) -> list[Idea]:
        """A kept direction on a knob whose current value the history does not give."""
        if effect.knob in self.knobs:
            return []
        return [Idea({}, f"{effect.knob} {WAY.get(effect.direction, 'changed')} "
                     "one step from its current value", "lower val_bpb", sure,
                     effect.describe(), 0.9 + BONUS[sure], "push")]

    def combinations(self, pushes: list[Idea]) -> list[Idea]:
        found = []
        misses = [r for r in near_misses(self.records)
                  if self.knobs.get(r.moves[0].knob) == r.moves[0].old]
        for i, a in enumerate(misses):
            for b in misses[i + 1:]:
                ma, mb = a.moves[0], b.moves[0]
                changes = {ma.knob: ma.new, mb.knob: mb.new}
                if ma.knob != mb.knob and self.allowed(changes):
                    found.append(self.idea(
                        changes, "lower val_bpb: each alone came within "
                        f"{-100 * min(a.gain, b.gain):.2f} % of the best; together they may add up",
                        "LOW", f"near misses in experiments {a.number} and {b.number}",
                        0.8 + 30 * (a.gain + b.gain) + (0.3 if self.plateau else 0), "combine"))
        sure = [p for p in pushes if p.changes and p.confidence != "LOW"]
        for i, a in enumerate(sure):
            for b in sure[i + 1:]:
                changes = {**a.changes, **b.changes}
                if len(changes) == 2 and self.allowed(changes):
                    found.append(self.idea(
                        changes, "lower val_bpb by about the two gains together", "LOW",
                        f"both directions help on their own ({a.reason}; {b.reason})",
                        min(a.score, b.score) - 0.2, "combine"))  # after both parts
        return found[:4]

    def reversals(self) -> list[Idea]:
        found = []
        for (knob, direction), effect in self.effects.items():
            if effect.keeps or (effect.mean is None and not effect.crashes) \
                    or (knob, -direction) in self.effects:
                continue
            hurt = abs(effect.mean) if effect.mean is not None else 0.0
            expected = (f"lower val_bpb: moving {knob} {WAY.get(direction, '')} hurt, so its "
                        "optimum may lie the other way")
            reason = effect.describe() + f"; {WAY.get(-direction, 'the other way')} is untried"
            if knob not in self.knobs:  # the history never said its value
                found.append(Idea({}, f"{knob} {WAY.get(-direction, 'changed')} one step from "
                                  "its current value", expected, "LOW", reason,
                                  0.4 + min(0.3, 10 * hurt), "reverse"))
                continue
            new = self.step(knob, -direction)
            if new is not None:
                found.append(self.idea(
                    {knob: new}, expected, "LOW", reason,
                    0.5 + 0.3 * spec_for(knob, self.knobs[knob]).prior + min(0.3, 10 * hurt),
                    "reverse"))
        return found

    def retries(self) -> list[Idea]:
        found = []
        for record in near_misses(self.records):
            move = record.moves[0]
            effect = self.effects[(move.knob, move.direction)]
            if len(effect.trials) != 1 or self.knobs.get(move.knob) != move.old:
                continue
            new = self.step(move.knob, move.direction, 0.5)
            if new is not None:
                found.append(self.idea(
                    {move.knob: new}, "lower val_bpb by a little: the full step came within "
                    f"{-100 * record.gain:.2f} % of the best", "LOW",
                    f"tried once (experiment {record.number}); a smaller step may be the "
                    "sweet spot", 0.4 + 0.2 * spec_for(move.knob, move.old).prior, "retry"))
        return found

    def explorations(self) -> list[Idea]:
        found = []
        for knob, value in self.knobs.items():
            for direction in (1, -1):
                other = self.effects.get((knob, -direction))
                if (knob, direction) in self.effects or (other and other.keeps):
                    continue  # tried already, or the other way is known to help
                new = self.step(knob, direction, 2.0 if self.plateau else 1.0)
                if new is None:
                    continue
                prior = spec_for(knob, value).prior
                found.append(self.idea(
                    {knob: new}, f"lower val_bpb if {knob} is off its optimum "
                    f"({WAY[direction]} is untried)", "LOW",
                    f"never tried {WAY[direction]}; knobs like this often matter under a "
                    "fixed budget" if prior >= 0.7 else f"never tried {WAY[direction]}",
                    0.2 + 0.4 * prior + (0.3 if self.plateau else 0.0), "explore"))
        return found

    def fillers(self) -> list[Idea]:
        """Generic checks for a history too thin to say more."""
        found = []
        if self.inputs.summary.best is None:
            found.append(Idea({}, "run the current configuration once more, unchanged",
                              "a first scored row to compare against", "LOW",
                              "nothing has scored yet: every row crashed or was cut short",
                              0.05, "check"))
        elif self.inputs.summary.sigma is None:
            found.append(Idea({}, "repeat the best configuration unchanged", "the same val_bpb "
                              "within noise", "LOW", "no noise estimate yet: small gains cannot "
                              "be told from luck", 0.05, "check"))
        found += [Idea({}, text, "lower val_bpb", "LOW", reason, 0.0, "check") for text, reason in (
            ("all learning rates x1.5", "learning rates are the usual first lever"),
            ("all learning rates x0.67", "in case the current rates overshoot"),
            ("a longer warmdown at the end of the schedule", "a cheap, often positive change"),
            ("a smaller model that takes more steps in the same budget",
             "under a fixed budget, steps often beat size"),
            ("a larger batch with learning rates x1.4", "a larger batch smooths the gradient"))]
        return found

    # -- choice -----------------------------------------------------------------------------
    def ranked(self) -> list[Idea]:
        pushes = self.pushes()
        # a knob with a fitted curve is steered by the fit alone: stepping past the
        # optimum it found, or exploring around it, would spend experiments it
        # already accounts for
        fitted = {c.knob for c in self.curves}
        single = [i for i in pushes + self.reversals() + self.retries() + self.explorations()
                  if not fitted & set(i.changes)]
        pool = sorted(self.fits() + single + self.combinations(pushes), key=lambda i: -i.score)
        chosen, per_knob, ways, seen = [], {}, set(), set()
        for idea in pool + self.fillers():
            key = frozenset(idea.changes.items()) if idea.changes else idea.text
            way = {(k, 1 if _gt(v, self.knobs.get(k)) else -1) for k, v in idea.changes.items()}
            if key in seen or any(per_knob.get(k, 0) >= 2 for k in idea.changes) \
                    or (len(way) == 1 and way <= ways):
                continue  # one idea per knob and direction, at most two per knob
            seen.add(key)
            ways |= way if len(way) == 1 else set()
            for knob in idea.changes:
                per_knob[knob] = per_knob.get(knob, 0) + 1
            chosen.append(idea)
            if len(chosen) == COUNT:
                break
        return chosen


def _neighbour(knob: str, value: Value, direction: int, strength: float) -> Value | None:
    """One step as the search space takes it; a value outside the template's
    range (another project's knob of the same name) steps on the same scale
    without the template's bounds."""
    spec = spec_for(knob, value)
    inside = not isinstance(value, (int, float)) or spec.lo <= value <= spec.hi
    if inside or spec.scale not in ("log", "step"):
        return neighbour(knob, value, direction, strength)
    factor = spec.step ** strength if spec.scale == "log" else 1.0
    new = value * factor ** direction if spec.scale == "log" else value + direction * strength
    return int(round(new)) if isinstance(value, int) else round_sig(new)


def _in_range(knob: str, value) -> bool:
    """Whether a numeric value lies within the template's range for ``knob``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    spec = spec_for(knob, value)
    return spec.lo <= value <= spec.hi


def _gt(a, b) -> bool:
    try:
        return a > b
    except TypeError:
        return True


def _at_or_past(value, crashed, direction: int) -> bool:
    try:
        return (value - crashed) * direction >= 0
    except TypeError:
        return value == crashed


class OfflineAnalyst:
    spec = "offline"

    def analyse(self, inputs: MetaInputs) -> Analysis:
        ideas = Ideas(inputs).ranked()
        hypotheses = [Hypothesis(f"M{inputs.number}.{rank}", rank, idea.text, idea.expected,
                                 idea.confidence, idea.reason)
                      for rank, idea in enumerate(ideas, start=1)]
        worked, didnt = findings(inputs)
        top = ideas[0].text if ideas else "no change"
        return Analysis(hypotheses, strategy_text(inputs, ideas), worked, didnt,
                        strategy_change(inputs, ideas),
                        f"meta: analysis {inputs.number} after {inputs.summary.experiments} "
                        f"experiments; next: {top}", self.spec)
