import pytest

from deeploop.meta.triggers import big_win, interval_due, meta_trigger


@pytest.mark.parametrize("n, due", [(0, False), (11, False), (12, True), (13, False), (24, True)])
def test_interval_counts_non_baseline_experiments(n, due):
    assert interval_due(n, 12) is due


@pytest.mark.parametrize("prev, new, fires", [
    (1.0, 0.997, False),        # exactly the threshold: no
    (1.000001, 0.997, True),    # a millionth more: yes
    (0.999999, 0.997, False),
    (None, 0.5, False),
])
def test_big_win_is_strictly_more_than_the_threshold(prev, new, fires):
    assert big_win(prev, new, 0.003) is fires


def test_meta_trigger_reasons():
    assert meta_trigger(5, kept=True, previous_best=1.0, value=0.99).startswith("big win")
    assert meta_trigger(5, kept=False, previous_best=1.0, value=0.99) is None
    assert meta_trigger(12, kept=False, previous_best=1.0, value=None).startswith("interval")
