"""The unattended drill's progress display: a harness.drive listener fed by its steps."""
from deeploop.drill import Drill
from deeploop.drill.answerers import ListAnswers
from deeploop.drill.progress import DrillProgress
from deeploop.drill.unattended import drill_steps
from deeploop.harness import drive

ANSWERS = ["cause A", "BEDROCK:nonsense", "BEDROCK:constraint"]


def test_the_bar_counts_the_rounds_it_is_handed_and_prints_their_lines(capsys):
    session = Drill.start("root claim", hard_cap=5)
    bar = DrillProgress(session.budget.max_rounds, session.rounds, disable=True)
    assert drive(drill_steps(session, ListAnswers(ANSWERS)), [bar]) == "passed"
    bar.close()
    assert (bar.total, bar.done) == (5, 3)
    assert bar.postfix == "score 1.0 | depth -"  # the tree closed: no claim left to drill
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "round 1: advanced · score 0.0"
    assert out[1] == "  drilling into: cause A"
    assert out[2] == "round 2: rejected · score 0.0 · invalid-bedrock-category"
    assert out[4].startswith("round 3: bedrock · score")
    assert len(out) == 6


def test_a_resumed_drill_starts_the_bar_at_its_rounds_and_quiet_prints_nothing(capsys):
    first = Drill.start("root claim", run_id="pb", hard_cap=5)
    first.answer("cause A")
    first.close()
    session = Drill.resume("pb")
    bar = DrillProgress(session.budget.max_rounds, session.rounds, disable=True, lines=False)
    assert bar.done == 1
    drive(drill_steps(session, ListAnswers(["deeper", "BEDROCK:constraint"])), [bar])
    bar.close()
    assert bar.done == 3 and capsys.readouterr().out == ""


def test_a_shown_bar_keeps_the_round_lines_on_stdout_and_itself_on_stderr(capsys):
    session = Drill.start("root claim")
    bar = DrillProgress(session.budget.max_rounds, 0)  # shown even on a captured stream
    drive(drill_steps(session, ListAnswers(["BEDROCK:constraint"])), [bar])
    bar.close()
    out, err = capsys.readouterr()
    assert out.startswith("round 1: bedrock · score") and "drill" not in out
    assert "drill:" in err and "1/20" in err and "score" in err
