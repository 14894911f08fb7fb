"""The benches' shared surrogate reads the shipped template wherever it lives."""
from bench.support.synthetic import template_knobs
from deeploop.experiment.knobs import read_knobs
from deeploop.experiment.rundir import template_files


def test_template_knobs_are_the_shipped_templates():
    knobs = template_knobs()
    assert knobs == {n: k.value for n, k in read_knobs(template_files()["train.py"]).items()}
    assert "DEPTH" in knobs
