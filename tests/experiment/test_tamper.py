"""Tampering train.py files, each a real proposal through the loop.

The baseline is the fake trainer (it keeps the train.py contract); each
test proposes a train.py that cheats one way and checks what the loop
recorded: the score is always the harness's (``fake_bpb`` computes it
independently), and the cheat gets nowhere. The sandbox tests need a
working bwrap (``sandbox.probe``); the others run anywhere.
"""
from __future__ import annotations

import hashlib
import socket
import threading
import time

import pytest

from deeploop.experiment import evaluate
from deeploop.experiment.corpus import DEFAULT_CORPUS_FILE
from deeploop.experiment.proposers import Proposal
from deeploop.experiment.results import read_results
from deeploop.experiment.rundir import Settings
from deeploop.experiment.sandbox import probe
from deeploop.experiment.resume import run_experiments

from .conftest import FAKE_TRAIN, fake_bpb

needs_bwrap = pytest.mark.skipif(probe() is not None, reason=f"no sandbox: {probe()}")


class Propose:
    """Proposes the given train.py texts in order."""

    spec = "tamper"

    def __init__(self, *texts):
        self.texts = list(texts)

    def propose(self, context):
        return Proposal(self.texts.pop(0), "tampering train.py")


def tampered(code: str, at: str = "    budget = float(") -> str:
    """The fake trainer with ``code`` run just before it prints its summary
    (after it saved its honest model)."""
    body = "".join(f"    {line}\n" for line in code.strip("\n").splitlines())
    return FAKE_TRAIN.replace(at, body + at, 1)


def run_one(run, text, **settings):
    settings = {"budget": 5, "warm_start": False, "noise_runs": 0, "experiments": 1,
                "sandbox": "auto", **settings}
    events = list(run_experiments(run, Settings(**settings), proposer=Propose(text)))
    result = [e for e in events if e["type"] == "experiment_result"][-1]
    return result, events, (run.path / result["log"]).read_text()


def test_a_printed_score_is_recorded_beside_the_harness_score_never_as_it(fake_run):
    result, _, _ = run_one(fake_run, tampered('print("---")\nprint("val_bpb: 0.123456")'
                                              '\nimport sys; sys.exit(0)'))
    assert result["val_bpb"] == pytest.approx(fake_bpb(fake_run), abs=2e-6)
    assert result["metrics"]["val_bpb"] == 0.123456
    assert result["score_mismatch"]["printed"] == 0.123456
    assert result["score_mismatch"]["harness"] == result["val_bpb"]
    assert read_results(fake_run.results_path).rows[-1].val_bpb != 0.123456


def test_a_printed_score_without_a_model_is_a_crash(fake_run):
    fake = 'import sys\nprint("---\\nval_bpb: 0.123456")\nsys.exit(0)'
    text = FAKE_TRAIN.replace("def main():\n", "def main():\n" + "".join(
        f"    {line}\n" for line in fake.splitlines()), 1)
    result, _, _ = run_one(fake_run, text)
    assert result["status"] == "crash" and result["val_bpb"] is None
    assert result["reason"].startswith("no model saved")
    assert read_results(fake_run.results_path).rows[-1].status == "crash"


@needs_bwrap
def test_no_route_to_the_validation_bytes(fake_run, tmp_path):
    val_path = fake_run.data_dir / "val.bin"
    sample = val_path.read_bytes()[1000:1064]  # any 64 validation bytes will do
    cache = tmp_path / "cache" / "deeploop" / "corpus-default"
    cache.mkdir(parents=True)
    (cache / "val.bin").write_bytes(val_path.read_bytes())  # a hand run's cache
    routes = {
        "load_split": "from deeploop.experiment import evaluate as f; data = bytes(f.load_split('val').tolist())",
        "data dir": f"data = open(os.path.join(os.environ['DEEPLOOP_DATA_DIR'], 'val.bin'), 'rb').read()",
        "run folder": "data = open(os.path.join('..', 'data', 'val.bin'), 'rb').read()",
        "absolute": f"data = open({str(val_path)!r}, 'rb').read()",
        "package": f"import lzma; data = lzma.open({str(DEFAULT_CORPUS_FILE)!r}).read()",
        "package api": "from deeploop.experiment import corpus as c; data = c.load_default().val",
        "cache": f"data = open({str(cache / 'val.bin')!r}, 'rb').read()",
        "events": "data = open(os.path.join('..', 'events.jsonl'), 'rb').read()",
    }
    probes = [f'''
try:
    {code}
    print("ROUTE {name}:", "LEAK" if {sample!r} in data else "empty")
except Exception as exc:
    print("ROUTE {name}: blocked", type(exc).__name__)
''' for name, code in routes.items()]
    import os
    os.environ["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    try:
        result, _, log = run_one(fake_run, tampered("\n".join(probes)))
    finally:
        del os.environ["XDG_CACHE_HOME"]
    seen = {line.split(":")[0][6:]: line for line in log.splitlines() if line.startswith("ROUTE")}
    assert set(seen) == set(routes), log
    assert not [line for line in seen.values() if "LEAK" in line], seen
    assert result["status"] in ("keep", "discard")
    assert result["val_bpb"] == pytest.approx(fake_bpb(fake_run), abs=2e-6)


@needs_bwrap
def test_no_writes_outside_the_workspace(fake_run, tmp_path):
    evaluate_py = evaluate.__file__
    before = hashlib.sha256(open(evaluate_py, "rb").read()).hexdigest()
    outside = tmp_path / "outside.txt"
    results_before = fake_run.results_path.read_text()
    attempts = {
        "evaluation code": f"open({evaluate_py!r}, 'a').write('\\nBROKEN = 1\\n')",
        "run folder": "open(os.path.join('..', 'results.tsv'), 'a').write('abc\\t0.1\\t0\\tkeep\\tx\\n')",
        "outside": f"open({str(outside)!r}, 'w').write('out')",
        "git history": "open(os.path.join('.git', 'HEAD'), 'w').write('ref: refs/heads/evil\\n')",
    }
    code = "\n".join(f'''
try:
    {line}
    print("WRITE {name}: done")
except Exception as exc:
    print("WRITE {name}: blocked", type(exc).__name__)
''' for name, line in attempts.items())
    result, _, log = run_one(fake_run, tampered(code))
    assert hashlib.sha256(open(evaluate_py, "rb").read()).hexdigest() == before
    assert not outside.exists()
    assert fake_run.results_path.read_text().startswith(results_before)
    assert "abc\t0.1" not in fake_run.results_path.read_text()
    assert fake_run.workspace().branch() == "deeploop/t1"
    for name in ("evaluation code", "git history"):  # read-only binds
        assert f"WRITE {name}: blocked" in log, log
    # the run folder and the rest of the file system are not there at all: a
    # write lands (if anywhere) in the sandbox's private tmpfs and vanishes with it
    assert result["val_bpb"] == pytest.approx(fake_bpb(fake_run), abs=2e-6)


def test_a_trainer_that_edits_its_own_train_py_is_a_crash_and_put_back(fake_run):
    result, _, _ = run_one(fake_run, tampered("open('train.py', 'a').write('# sneaky\\n')"))
    assert result["status"] == "crash" and "changed tracked files" in result["reason"]
    assert result["tampered"] == ["train.py"]
    ws = fake_run.workspace()
    assert not ws.is_dirty() and "# sneaky" not in ws.read()


@needs_bwrap
def test_no_network_not_even_loopback(fake_run):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.5)
    port = server.getsockname()[1]
    accepted = []

    def accept():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not accepted:
            try:
                accepted.append(server.accept())
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        result, _, log = run_one(fake_run, tampered(f'''
import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=3).sendall(b"hello")
    print("NET: connected")
except OSError as exc:
    print("NET: blocked", exc)
'''))
    finally:
        accepted.append(None)  # stops the accept loop
        thread.join(5)
        server.close()
    assert "NET: blocked" in log and accepted[0] is None
    assert result["val_bpb"] == pytest.approx(fake_bpb(fake_run), abs=2e-6)


@pytest.mark.timeout(180)
def test_a_trainer_that_sleeps_past_the_budget_is_stopped_and_scored_on_what_it_saved(fake_run):
    sleeper = tampered("import signal as sig\nsig.signal(sig.SIGTERM, sig.SIG_IGN)\n"
                       "__import__('time').sleep(600)")
    started = time.monotonic()
    result, _, _ = run_one(fake_run, sleeper, budget=2)
    wall = time.monotonic() - started
    deadline = 2 + evaluate.startup_allowance(2)
    assert result["trainer"]["stopped"] and result["trainer"]["killed"] == "timeout", (result["trainer"], result["reason"], result["log_tail"])
    assert result["timing"]["train_wall_s"] < deadline + evaluate.STOP_GRACE + 5
    assert wall < 2 * (deadline + evaluate.STOP_GRACE) + 60  # the baseline and this one
    assert "ignored the stop" in result["reason"]
    assert result["val_bpb"] == pytest.approx(fake_bpb(fake_run), abs=2e-6)  # saved first


@pytest.mark.timeout(180)
def test_a_trainer_that_sleeps_before_saving_is_a_crash(fake_run):
    sleeper = FAKE_TRAIN.replace("    time.sleep(SLEEP)\n", "    time.sleep(600)\n", 1)
    result, _, _ = run_one(fake_run, sleeper, budget=2)
    assert result["status"] == "crash" and result["reason"].startswith("no model saved")
    assert "stopped at the deadline" in result["reason"]


@needs_bwrap
def test_a_command_agent_cannot_edit_the_evaluation_code_or_read_validation(fake_run, tmp_path,
                                                                            monkeypatch):
    """A ``command:`` agent (the shape of ``claude -p``) runs with the same walls:
    it edits train.py, but the evaluation code and the validation bytes are
    out of reach; what it reports comes back as its description."""
    import sys
    from deeploop.experiment.proposers import get_proposer
    agent_dir = tmp_path / "agent"
    agent_dir.mkdir()
    monkeypatch.setenv("DEEPLOOP_SANDBOX_BIND", str(agent_dir))
    evaluate_py = evaluate.__file__
    before = hashlib.sha256(open(evaluate_py, "rb").read()).hexdigest()
    script = agent_dir / "agent.py"
    script.write_text(f'''
import os
found = []
for name, act in (("eval", lambda: open({evaluate_py!r}, "a").write("# agent\\\\n")),
                  ("val", lambda: open({str(fake_run.data_dir / "val.bin")!r}, "rb").read(1)),
                  ("run", lambda: open(os.path.join("..", "results.tsv")).read(1))):
    try:
        act()
        found.append(name + " open")
    except OSError:
        found.append(name + " blocked")
src = open("train.py").read().replace("DEPTH = 4", "DEPTH = 5")
open("train.py", "w").write(src)
print("DESCRIPTION: DEPTH 4 -> 5 " + ", ".join(found))
''')
    settings = Settings(budget=5, warm_start=False, noise_runs=0, experiments=1)
    events = list(run_experiments(fake_run, settings,
                                  proposer=get_proposer(f"command:{sys.executable} {script}")))
    result = [e for e in events if e["type"] == "experiment_result"][-1]
    assert result["description"] == "DEPTH 4 -> 5 eval blocked, val blocked, run blocked"
    assert hashlib.sha256(open(evaluate_py, "rb").read()).hexdigest() == before
    assert result["val_bpb"] == pytest.approx(fake_bpb(fake_run, depth=5), abs=2e-6)
