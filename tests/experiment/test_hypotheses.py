"""Pending hypotheses read from the meta tier's next-hypotheses.md."""
from __future__ import annotations

from deeploop.experiment.hypotheses import parse_hypotheses, pending, read_hypotheses, keys_tested

SAMPLE = """# Meta-Analysis — 2026-05-22 06:15:05

Summary line that is not a hypothesis.

## 1. Raise the matrix learning rate
Change: `LR 0.003 -> 0.0045`. Expected: lower val_bpb. Confidence: HIGH (3 of 3 raises kept).

## 2. Shallower model
Set `DEPTH = 3`; expected lower val_bpb (more steps). Confidence: MEDIUM.

3. Try a cosine schedule instead of linear warmdown (no knob). Confidence: LOW.

### Hypothesis 4: bigger batch
BATCH_SIZE 16 -> 32, expected higher throughput. Confidence: LOW.

5) WARMDOWN_FRAC → 0.5 (from 0.4). Confidence: MEDIUM.
"""


def test_parse_ranked_hypotheses_with_changes():
    hyps = parse_hypotheses(SAMPLE)
    assert [h.rank for h in hyps] == [1, 2, 3, 4, 5]
    assert hyps[0].changes == {"LR": 0.0045}
    assert hyps[1].changes == {"DEPTH": 3}
    assert hyps[2].changes == {}
    assert hyps[3].changes == {"BATCH_SIZE": 32}
    assert hyps[0].stamp == "2026-05-22 06:15:05" and hyps[0].key == "2026-05-22 06:15:05#1"
    assert "Confidence: HIGH" in hyps[0].text


def test_pending_skips_tested_ones(tmp_path):
    (tmp_path / "next-hypotheses.md").write_text(SAMPLE)
    hyps = read_hypotheses(tmp_path)
    events = [{"type": "experiment_result", "hypothesis": hyps[0].to_json()},
              {"type": "experiment_started", "hypothesis": hyps[1].to_json()}]
    assert [h.rank for h in pending(hyps, keys_tested(events))] == [2, 3, 4, 5]
    assert read_hypotheses(tmp_path / "missing") == []
