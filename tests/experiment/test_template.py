"""The shipped train.py and the fixed evaluation it is scored by."""
from __future__ import annotations

import math
import re

import pytest

from deeploop.experiment.corpus import make_corpus, prepare
from deeploop.experiment.decide import crash_reason
from deeploop.experiment.knobs import read_knobs, set_knobs
from deeploop.experiment.rundir import template_files
from deeploop.experiment.trainer import SUMMARY_KEYS, run_training

from .conftest import corpus_text

TEMPLATE = template_files()["train.py"]
torch = pytest.importorskip("torch")


def test_template_is_one_readable_file_with_a_marked_block():
    assert len(TEMPLATE.splitlines()) <= 350  # one readable file; the contract is in its docstring
    assert "# --- hyperparameters" in TEMPLATE and "# --- end hyperparameters" in TEMPLATE
    assert len(read_knobs(TEMPLATE)) >= 15
    # the knobs the issue names: depth, width, heads, sequence length, batch,
    # learning rates, warmup/warmdown, weight decay
    assert {"DEPTH", "WIDTH", "HEADS", "SEQ_LEN", "BATCH_SIZE", "MATRIX_LR", "EMBED_LR",
            "WARMUP_FRAC", "WARMDOWN_FRAC", "WEIGHT_DECAY"} <= set(read_knobs(TEMPLATE))
    assert re.findall(r"^from deeploop\S* import .*$", TEMPLATE, re.M) == [
        "from deeploop.experiment import counts, evaluate as fixed"]
    printed = re.findall(r'print\(f"([a-z_M]+):', TEMPLATE)
    assert printed == list(SUMMARY_KEYS)


@pytest.fixture
def data_dir(tmp_path):
    folder = tmp_path / "data"
    prepare(make_corpus("t", corpus_text().encode(), "test"), folder)
    return folder


def test_evaluate_bpb_is_8_bits_for_a_uniform_model(data_dir, monkeypatch):
    from deeploop.experiment import evaluate
    monkeypatch.setenv("DEEPLOOP_DATA_DIR", str(data_dir))

    class Uniform(torch.nn.Module):
        def forward(self, x):
            return torch.zeros(*x.shape, 256)

    val = evaluate.load_split("val")
    for seq_len in (7, 64, 1000):
        assert evaluate.evaluate_bpb(Uniform(), val, seq_len) == pytest.approx(8.0)


def test_evaluate_bpb_rewards_knowing_the_next_byte(data_dir, monkeypatch):
    from deeploop.experiment import evaluate
    monkeypatch.setenv("DEEPLOOP_DATA_DIR", str(data_dir))
    val = evaluate.load_split("val")
    table = torch.zeros(256, 256)  # a bigram model fitted on the validation bytes themselves
    pairs = val[:-1].long() * 256 + val[1:].long()
    table.view(-1).index_add_(0, pairs, torch.ones(len(pairs)))

    class Bigram(torch.nn.Module):
        def forward(self, x):
            return torch.log(table[x] + 1e-3)

    bpb = evaluate.evaluate_bpb(Bigram(), val, 64)
    assert 0 < bpb < 3.0 and math.isfinite(bpb)


@pytest.mark.timeout(120)
def test_diverging_training_fails_fast(data_dir, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "train.py").write_text(set_knobs(TEMPLATE, {"EMBED_LR": 1000.0, "MATRIX_LR": 1000.0,
                                                      "NGRAM_LR": 1000.0, "GRAD_CLIP": 0.0}))
    result = run_training(ws, tmp_path / "x.log", 60, data_dir)
    assert crash_reason(result).startswith("FAIL: loss")
    assert "training diverged" in result.fail_line
    assert result.summary == {}


MARKER = b"QZXJ_VALIDATION_ONLY_MARKER_7781"


def marked_corpus() -> bytes:
    """The test corpus with a string that occurs in one validation document only."""
    from deeploop.experiment.corpus import split_documents, join_documents
    docs = split_documents(corpus_text().encode())
    docs[9] = docs[9] + b"# " + MARKER + b"\n"  # every 10th document is validation
    return b"".join(docs)


@pytest.fixture
def template(tmp_path, monkeypatch):
    """The template imported as a module (importing must not train), with a
    prepared corpus whose validation split holds MARKER."""
    import importlib.util
    folder = tmp_path / "data"
    corpus = make_corpus("t", marked_corpus(), "test")
    assert MARKER in corpus.val and MARKER not in corpus.train
    prepare(corpus, folder)
    monkeypatch.setenv("DEEPLOOP_DATA_DIR", str(folder))
    path = tmp_path / "train.py"
    path.write_text(set_knobs(TEMPLATE, {"DEPTH": 1, "WIDTH": 32, "HEADS": 2, "SEQ_LEN": 64}))
    spec = importlib.util.spec_from_file_location("train_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, folder


def saved_and_loaded(template, tmp_path):
    module, _ = template
    torch.manual_seed(0)
    model = module.GPT("cpu")
    for p in model.parameters():  # random weights everywhere: every path carries signal
        if p.dim() > 0:
            torch.nn.init.normal_(p, std=0.2)
    module.save_model(model, str(tmp_path / "model.pt"))
    return module.load_model(str(tmp_path / "model.pt"))


def test_logprobs_are_causal(template, tmp_path):
    """Changing input byte t changes no prediction before t (and some after)."""
    module, folder = template
    model = saved_and_loaded(template, tmp_path)
    x = torch.frombuffer(bytearray((folder / "train.bin").read_bytes()[:4 * 64]),
                         dtype=torch.uint8).long().view(4, 64)
    base = module.logprobs(model, x)
    assert base.shape == (4, 64, 256)
    assert torch.allclose(base.exp().sum(-1), torch.ones(4, 64), atol=1e-4)
    for t in (1, 17, 40, 63):
        changed = x.clone()
        changed[:, t] = (changed[:, t] + 101) % 256
        after = module.logprobs(model, changed)
        assert torch.equal(after[:, :t], base[:, :t]) or (
            (after[:, :t] - base[:, :t]).abs().max() < 1e-5), t
        assert (after[:, t:] - base[:, t:]).abs().max() > 1e-4, t


def test_count_tables_never_hold_validation_bytes(template, tmp_path):
    """The tables load_model builds come from the training split only: no
    context of the validation-only marker is in them, where a context of
    training text is."""
    module, folder = template
    model = saved_and_loaded(template, tmp_path)
    tables = model.tables["all"]

    def known(text: bytes) -> list[bool]:
        x = torch.frombuffer(bytearray(text), dtype=torch.uint8).long()[None]
        found = []
        for n, h, (contexts, *_rest) in zip(module.COUNT_ORDERS, module.counts.context_hashes(x, module.COUNT_ORDERS),
                                            tables):
            key = h[0, -1]
            i = torch.searchsorted(contexts, key).clamp(max=len(contexts) - 1)
            found.append(bool(contexts[i] == key) if n >= 8 else None)
        return [f for f in found if f is not None]

    assert all(known(b"def function_3_1") )  # training text: its contexts are counted
    assert not any(known(MARKER[:-1]))        # the validation-only marker: none of them


def test_the_harness_scores_a_template_model_and_catches_a_peek(template, tmp_path):
    """score_model over the saved template model agrees with evaluate_bpb run
    in this process; the same model reading one byte ahead is refused."""
    from deeploop.experiment import evaluate
    from deeploop.experiment.score import score_model
    module, folder = template
    ws = tmp_path / "ws"
    ws.mkdir()
    ws_train = ws / "train.py"
    ws_train.write_text((tmp_path / "train.py").read_text())
    model = saved_and_loaded(template, tmp_path)
    module.save_model(model, str(ws / "model.pt"))
    env = {**__import__("os").environ, "DEEPLOOP_DATA_DIR": str(folder)}
    score = score_model(ws, folder, env=env)
    assert score.reason is None, score.reason
    direct = evaluate.evaluate_bpb(lambda x: module.logprobs(model, x),
                                   evaluate.load_split("val"), 64)
    assert score.val_bpb == pytest.approx(direct, abs=1e-4)
    assert score.detail["causal_probes"] > 0
    peek = ws_train.read_text().replace(
        "    return F.log_softmax(model(x, keep).float(), dim=-1)",
        "    ahead = torch.cat([x[:, 1:], x[:, -1:]], 1)[:, -(keep or x.size(1)):]  # a cheat\n"
        "    return F.log_softmax(model(x, keep).float(), dim=-1) + 5 * F.one_hot(ahead, 256)")
    assert peek != ws_train.read_text()
    ws_train.write_text(peek)
    score = score_model(ws, folder, env=env)
    assert score.val_bpb is None and score.reason.startswith("scoring failed: non-causal")


def test_window_counts_are_causal_and_learn_the_window(template):
    """The window counts read only bytes before t, and a string seen earlier in
    the window is predicted from it (its bytes are in no count table)."""
    module, folder = template
    assert module.WINDOW_ORDERS == [3, 4, 6, 8, 12, 16]
    tables = module.counts.load(folder, "all", module.COUNT_ORDERS)
    first = torch.randint(0, 256, (1, 32), generator=torch.Generator().manual_seed(1))
    x = torch.cat([first, first], 1)  # random bytes, then the same bytes again

    def predict(x):
        return module.count_predictions(tables, module.counts.context_hashes(x, module.COUNT_ORDERS),
                                        x, x.size(1))

    feats, logp = predict(x)
    assert feats.shape == (1, 64, 2 * module.MIXED) and logp.shape == (module.MIXED, 1, 64, 256)
    window16 = logp[-1, 0, :-1].gather(-1, x[0, 1:, None]).squeeze(-1).exp()  # p(true next byte)
    assert window16[48:].min() > 0.9       # the repeat, once 16 bytes of it are in context
    assert window16[:31].max() < 0.05      # the first copy: nothing seen before
    tables_only = logp[len(tables) - 1, 0, :-1].gather(-1, x[0, 1:, None]).squeeze(-1).exp()
    assert tables_only[48:].max() < 0.5    # the tables did not know it: the window did
    for t in (5, 33, 50, 63):
        changed = x.clone()
        changed[0, t] = (changed[0, t] + 101) % 256
        feats2, logp2 = predict(changed)
        assert torch.equal(feats2[:, :t], feats[:, :t]) and torch.equal(logp2[:, :, :t], logp[:, :, :t]), t
        assert not torch.equal(logp2[len(tables):, :, t:], logp[len(tables):, :, t:]), t


def test_logprobs_of_the_last_keep_positions_are_those_of_the_whole_window(template):
    """The harness asks for the scored half of each window only: the same
    numbers, without the count blend and the head of the context half."""
    module, folder = template
    torch.manual_seed(0)
    model = module.GPT("cpu")
    for name, p in model.named_parameters():  # a trained model's weights are not zero
        p.data.normal_(0, 0.05)
    model.tables["all"] = module.counts.load(folder, "all", module.COUNT_ORDERS)
    x = torch.randint(0, 256, (3, module.SEQ_LEN), generator=torch.Generator().manual_seed(2))
    whole = module.logprobs(model.eval(), x)
    assert whole.shape == (3, module.SEQ_LEN, 256)
    for keep in (1, 17, module.SEQ_LEN // 2, module.SEQ_LEN):
        kept = module.logprobs(model, x, keep)
        assert kept.shape == (3, keep, 256)
        assert torch.allclose(kept, whole[:, -keep:], atol=1e-5)
