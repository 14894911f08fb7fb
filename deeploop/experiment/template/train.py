"""A small GPT over bytes, trained for a fixed wall-clock budget.

This is the one file the experiment loop changes. The data, the time budget and
evaluate_bpb (the ground truth) live in deeploop.experiment.evaluate, read-only.
`python train.py` by hand: DEEPLOOP_TIME_BUDGET sets the training seconds (60 on CPU,
300 on a GPU); start-up is not counted, evaluation comes after.

A minute of CPU reads only a million bytes, so the model also counts: exact tables of
the byte after each context of 1..COUNT_MAX_ORDER bytes of the training data (prepared
once per corpus by deeploop.experiment.counts), then discounted window counts of the
input's earlier bytes. A small transformer (Muon, hashed n-gram embeddings) reads count
features and weighs the blended log-probs into its logits; it trains on one half of
the files with the other half's tables, and is scored with all of them.

The contract with the harness (docs/experiment.md has it in full):
1. Training saves MODEL_FILE atomically in the working directory; no file is a crash.
2. The harness keeps the clock: SIGTERM at the budget plus a start-up allowance
   (DEEPLOOP_DEADLINE), SIGKILL a few seconds later; fixed.stop_requested() and
   fixed.out_of_time() tell the loop to stop and save.
3. Importing this file does not train. The harness imports it in a sandbox (workspace
   read-only, no network, no validation bytes) and calls model = load_model(MODEL_FILE),
   then logprobs(model, x, keep) on windows of SEQ_LEN bytes sliding by half a window:
   log-probs of the last keep positions, position t reading x[:, :t+1] only (checked).
4. Data: fixed.load_split("train") only. The summary block printed at the end (`---`,
   then `key: value`) is information beside the harness's score, never the score.
"""
import math
import os
import sys
import time

T_START = time.time()

import torch
import torch.nn as nn
import torch.nn.functional as F

from deeploop.experiment import counts, evaluate as fixed

# --- hyperparameters: the search edits these; keep names UPPER_CASE --------
DEPTH = 2              # transformer blocks
WIDTH = 128            # model dimension
HEADS = 4              # attention heads; WIDTH / HEADS must be even
MLP_RATIO = 2          # MLP hidden width, in multiples of WIDTH
SEQ_LEN = 256          # context length in bytes
BATCH_SIZE = 16        # sequences per optimiser step
MATRIX_LR = 0.02       # Muon learning rate of the block matrices
MOMENTUM = 0.95        # Muon momentum (Nesterov)
EMBED_LR = 0.01        # AdamW learning rate of the embedding and output layers
NGRAM_LR = 0.02        # SparseAdam learning rate of the n-gram table
NGRAM_ORDER = 5        # embed the contexts of count orders 2..NGRAM_ORDER; 1 turns it off
NGRAM_BUCKETS = 65536  # rows of the hashed n-gram table
BETA1 = 0.9
BETA2 = 0.95
WEIGHT_DECAY = 0.0     # AdamW decoupled weight decay of the embedding and output layers
WARMUP_FRAC = 0.03     # share of the budget spent ramping the learning rates up
WARMDOWN_FRAC = 0.4    # share of the budget spent decaying them at the end
FINAL_LR_FRAC = 0.0    # learning rate at the end, relative to the peak
COUNT_MAX_ORDER = 16   # count tables of the training bytes for contexts of 1..this bytes
WINDOW_MAX_ORDER = 16  # window counts of the input's own bytes, orders 3..this; 2 turns them off
COUNT_DISCOUNT = 0.5   # absolute discount of each window count (the rest goes to the prior)
GRAD_CLIP = 1.0        # max norm of the dense gradients; 0 turns clipping off
EVAL_BATCH = 16        # windows per evaluation batch (speed only)
SEED = 42
MODEL_FILE = "model.pt"  # what the harness scores (see the contract above)
# --- end hyperparameters ------------------------------------------------------

VOCAB = 256            # byte tokens
FAIL_LOSS = 3 * math.log(VOCAB)  # far above a uniform guess: the run has exploded
COUNT_ORDERS = counts.orders_up_to(COUNT_MAX_ORDER)  # 1, 2, 3, 4, 6, 8, 12, 16, 24, 32
WINDOW_ORDERS = [n for n in COUNT_ORDERS if 3 <= n <= WINDOW_MAX_ORDER]
MIXED = len(COUNT_ORDERS) + len(WINDOW_ORDERS)  # log-probs the model mixes


def rms_norm(x):
    return F.rms_norm(x, (x.size(-1),))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(WIDTH, 3 * WIDTH, bias=False)
        self.proj = nn.Linear(WIDTH, WIDTH, bias=False)
        self.fc = nn.Linear(WIDTH, MLP_RATIO * WIDTH, bias=False)
        self.out = nn.Linear(MLP_RATIO * WIDTH, WIDTH, bias=False)

    def forward(self, x, cos, sin):
        b, t, _ = x.shape
        qkv = self.qkv(rms_norm(x)).view(b, t, 3, HEADS, WIDTH // HEADS).permute(2, 0, 3, 1, 4)
        (q1, q2), c, s = rms_norm(qkv[:2]).chunk(2, -1), cos[..., :t, :], sin[..., :t, :]  # q, k
        qk = torch.cat((q1 * c - q2 * s, q1 * s + q2 * c), dim=-1)
        y = F.scaled_dot_product_attention(qk[0], qk[1], qkv[2], is_causal=True)  # fused
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, WIDTH))
        return x + self.out(F.relu(self.fc(rms_norm(x))).square())


@torch.no_grad()
def count_predictions(tables, hashes, x, keep):
    """Features (B, T, 2 MIXED) of every position and log-probs (MIXED, B, keep, 256) of
    the last keep, blended up the orders: the tables' counts (per sorted context hash:
    total, start and number of (next byte, count) pairs), then the window's: what
    followed each earlier s < t of x with t's context."""
    shape = (x.size(0), keep, VOCAB)
    p = torch.full(shape, 1.0 / VOCAB, device=x.device)
    logp, feats = torch.empty(MIXED, *shape, device=x.device), []
    for k, (h, (keys, totals, starts, sizes, nexts, freqs)) in enumerate(zip(hashes, tables)):
        i = torch.searchsorted(keys, h).clamp(max=len(keys) - 1)
        kinds = torch.where(keys[i] == h, sizes[i], 0)
        total = torch.where(kinds > 0, totals[i], 0.0)
        feats += [total.log1p()[..., None], kinds.float().log1p()[..., None]]
        i, kinds, total = i[:, -keep:].reshape(-1), kinds[:, -keep:].reshape(-1), total[:, -keep:]
        row = torch.repeat_interleave(kinds)  # the position of each (next byte, count) entry
        j = torch.arange(len(row), device=x.device) + (starts[i] - kinds.cumsum(0) + kinds)[row]
        c = torch.zeros_like(p).view(-1, VOCAB).index_put_((row, nexts[j].long()), freqs[j])
        kinds = kinds.float().clamp(min=1).view_as(total)[..., None]
        p = torch.addcmul(c.view_as(p), kinds, p).div_(total[..., None] + kinds)  # Witten-Bell
        torch.log(p.clamp_(min=1e-12), out=logp[k])
    after = F.one_hot(F.pad(x[:, 1:], (0, 1)), VOCAB).float()  # the byte after each position
    earlier = torch.ones(x.size(1), x.size(1), device=x.device).tril_(-1).bool()  # [t, s]: s < t
    for k, n in enumerate(WINDOW_ORDERS, len(tables)):
        h = hashes[COUNT_ORDERS.index(n)]  # 1 where fewer than n bytes precede: never matches
        c = ((h[:, :, None] == h[:, None, :]) & earlier & (h != 1)[:, None, :]).float() @ after
        total, kinds = c.sum(-1, keepdim=True), (c > 0).sum(-1, keepdim=True).float()
        feats += [total.log1p(), kinds.log1p()]
        c, total, kinds = c[:, -keep:], total[:, -keep:], kinds[:, -keep:]
        blend = (c - COUNT_DISCOUNT).clamp_(min=0).add_(COUNT_DISCOUNT * kinds * p)
        p = torch.where(total > 0, blend / total.clamp(min=1), p)  # the discounted mass: p
        torch.log(p.clamp(min=1e-12), out=logp[k])
    return torch.cat(feats, -1), logp


class GPT(nn.Module):
    def __init__(self, device):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, WIDTH)
        self.ngram = None if NGRAM_ORDER < 2 else nn.Embedding.from_pretrained(  # sparse: few
            torch.zeros(NGRAM_BUCKETS, WIDTH), freeze=False, sparse=True)  # rows change; zeros
        self.smear = nn.Parameter(torch.zeros(WIDTH))  # gate of the previous position's blend
        self.blocks = nn.ModuleList(Block() for _ in range(DEPTH))
        self.head = nn.Linear(WIDTH, VOCAB, bias=False)
        self.tables, self.use = {}, "all"  # count tables by part: all, half0, half1
        self.count_in = nn.Linear(2 * MIXED, WIDTH, bias=False)
        self.mix = nn.Linear(WIDTH, MIXED)  # weights of the count log-probs
        nn.init.zeros_(self.mix.weight)
        nn.init.constant_(self.mix.bias, 1.0 / MIXED)
        freqs = 10000 ** -torch.linspace(0, 1, WIDTH // HEADS // 2 + 1, device=device)[:-1]
        angles = torch.outer(torch.arange(SEQ_LEN, device=device).float(), freqs)  # rotary
        self.register_buffer("cos", angles.cos()[None, None], persistent=False)
        self.register_buffer("sin", angles.sin()[None, None], persistent=False)
        for block in self.blocks:  # residual branches start silent: stable at high LR
            nn.init.zeros_(block.proj.weight)
            nn.init.zeros_(block.out.weight)
        nn.init.normal_(self.head.weight, std=0.02)

    def forward(self, idx, keep=None):
        """Logits of the last keep positions (all by default); all of idx is read."""
        keep = keep or idx.size(1)
        hashes = counts.context_hashes(idx, COUNT_ORDERS)
        feats, logp = count_predictions(self.tables[self.use], hashes, idx, keep)
        x = self.embed(idx) + self.count_in(feats)
        if self.ngram is not None:  # learned embeddings of the contexts of 2..NGRAM_ORDER bytes
            x = x + sum(self.ngram((h >> 8) % NGRAM_BUCKETS)
                        for n, h in zip(COUNT_ORDERS, hashes) if 2 <= n <= NGRAM_ORDER)
        x = x + torch.sigmoid(self.smear) * F.pad(x[:, :-1], (0, 0, 1, 0))
        x = rms_norm(x)
        for block in self.blocks:
            x = block(x, self.cos, self.sin)
        x = rms_norm(x[:, -keep:])  # mix(x / WIDTH): Adam moves all weights alike; logp are large
        return self.head(x) + torch.einsum("btk,kbtv->btv", self.mix(x / WIDTH), logp)


def orthogonalize(g, steps=5):
    """Newton-Schulz iteration towards the nearest semi-orthogonal matrix (Muon)."""
    a, b, c = 3.4445, -4.7750, 2.0315
    tall = g.size(0) > g.size(1)
    x = (g.T if tall else g) / (g.norm() + 1e-7)
    for _ in range(steps):  # x <- a x + (b m + c m m) x with m = x x^T, scalings inside the GEMMs
        m = x @ x.T
        x = torch.addmm(x, torch.addmm(m, m, m, beta=b, alpha=c), x, beta=a)
    return x.T if tall else x


class Muon(torch.optim.Optimizer):
    """Momentum, then an orthogonalized update: fast progress per step for matrices."""
    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                buf = self.state[p].setdefault("buf", torch.zeros_like(p))
                buf.mul_(group["momentum"]).add_(p.grad)
                update = orthogonalize(p.grad.add(buf, alpha=group["momentum"]))
                p.add_(update, alpha=-group["lr"] * max(1.0, p.size(0) / p.size(1)) ** 0.5)


def make_optimizers(model):
    matrices = [p for n, p in model.named_parameters() if n.startswith("blocks.")]
    others = [p for n, p in model.named_parameters() if not n.startswith(("blocks.", "ngram."))]
    optimizers = [Muon(matrices, {"lr": MATRIX_LR, "momentum": MOMENTUM}),
                  torch.optim.AdamW(others, lr=EMBED_LR, betas=(BETA1, BETA2), eps=1e-10,
                                    weight_decay=WEIGHT_DECAY)]
    if model.ngram is not None:
        optimizers.append(torch.optim.SparseAdam(model.ngram.parameters(), lr=NGRAM_LR,
                                                 betas=(BETA1, BETA2)))
    for group in (g for opt in optimizers for g in opt.param_groups):
        group["peak_lr"] = group["lr"]
    return optimizers


def lr_multiplier(progress):
    """Warm up, hold, then decay linearly over the last WARMDOWN_FRAC of the budget."""
    if progress < WARMUP_FRAC:
        return progress / WARMUP_FRAC
    cooldown = min(1.0, (1.0 - progress) / WARMDOWN_FRAC) if WARMDOWN_FRAC > 0 else 1.0
    return cooldown + (1.0 - cooldown) * FINAL_LR_FRAC


def fail(message):
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


def flops_per_token(model):
    """6N for the matmuls (lookups are free), attention (PaLM's estimate), count work."""
    matmul = sum(m.weight.numel() for m in model.modules() if isinstance(m, nn.Linear))
    return 6 * matmul + 12 * DEPTH * SEQ_LEN * WIDTH + count_flops_per_token()


def count_flops_per_token():
    """Count operations per token. Each order: hash 3, binary search 2 log2(2M), blend
    6 x 256, mix 6 x 256; each window order: match 3 T, count 2 T x 256, blend and mix."""
    window = len(WINDOW_ORDERS) * (3 * SEQ_LEN + 2 * SEQ_LEN * VOCAB + 12 * VOCAB)
    return len(COUNT_ORDERS) * (3 + 2 * 21 + 6 * VOCAB + 6 * VOCAB) + window


def setup():
    torch.manual_seed(SEED)
    if torch.cuda.is_available():
        torch.backends.cuda.matmul.allow_tf32 = True
        return "cuda", torch.autocast("cuda", dtype=torch.bfloat16)
    fixed.pick_threads()
    return "cpu", torch.autocast("cpu", enabled=False)


def train_step(model, optimizers, x, y, autocast, progress):
    for group in (g for opt in optimizers for g in opt.param_groups):
        group["lr"] = group["peak_lr"] * lr_multiplier(progress)
    with autocast:
        logits = model(x)
    loss = F.cross_entropy(logits.float().view(-1, VOCAB), y.reshape(-1))
    loss.backward()
    if GRAD_CLIP > 0:
        dense = [p for p in model.parameters() if p.grad is not None and not p.grad.is_sparse]
        torch.nn.utils.clip_grad_norm_(dense, GRAD_CLIP)
    for opt in optimizers:
        opt.step()
        opt.zero_grad(set_to_none=True)
    return loss.item()  # syncs the GPU; on CPU it is free


def load_counts(model, device):
    """The prepared count tables (read-only, memory-mapped; built on first use by hand)."""
    for part in counts.PARTS:
        model.tables[part] = [tuple(t.to(device) for t in table) for table in
                              counts.load(fixed.data_dir(), part, COUNT_ORDERS)]


def train(model, optimizers, data, budget, autocast, device):
    generator = torch.Generator().manual_seed(SEED)
    folds = counts.halves(data)  # train on one half with the other half's tables
    step, trained, tokens, last_print, step_s = 0, 0.0, 0, 0.0, 0.0  # step_s: the last step's
    while trained < budget and not fixed.out_of_time(2 * step_s + 1):  # + the save
        started, model.use = time.time(), f"half{1 - step % 2}"
        x, y = fixed.get_batch(folds[step % 2], BATCH_SIZE, SEQ_LEN, generator)
        loss = train_step(model, optimizers, x, y, autocast, trained / budget)
        if not math.isfinite(loss) or loss > FAIL_LOSS:
            fail(f"loss {loss} at step {step}: training diverged")
        step_s = time.time() - started
        if step > 0:  # the first step pays for allocation and kernel choice
            trained += step_s
            tokens += BATCH_SIZE * SEQ_LEN
        if trained - last_print >= 10 or trained >= budget:
            last_print = trained
            print(f"step {step:5d} | loss {loss:.4f} | {trained:5.1f}/{budget:.0f} s", flush=True)
            if device == "cpu":  # every 10 s of training: the machine's load changes
                fixed.pick_threads()
        step += 1
    model.use = "all"
    return step, trained, tokens


def save_model(model, path=MODEL_FILE):
    """The learned weights, atomically (the count tables are the corpus's, not saved)."""
    tmp = f"{path}.tmp"
    torch.save(model.state_dict(), tmp)
    os.replace(tmp, path)


def load_model(path=MODEL_FILE):
    """The harness's entry point: the model train.py saved, with the count tables
    of all the training bytes, ready to score on CPU."""
    fixed.pick_threads()
    model = GPT("cpu")
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    model.tables["all"] = counts.load(fixed.data_dir(), "all", COUNT_ORDERS)
    model.use = "all"
    return model.eval()


@torch.no_grad()
def logprobs(model, x, keep=None):
    """The harness's entry point: next-byte log-probabilities (B, keep, 256) of the last
    keep positions of x (B, T); all T by default."""
    return F.log_softmax(model(x, keep).float(), dim=-1)


def main():
    fixed.stop_requested()  # from now on the harness's SIGTERM means: stop, save, exit
    device, autocast = setup()
    budget = fixed.time_budget(cuda=device == "cuda")
    train_data = fixed.load_split("train", device)
    model = GPT(device).to(device)
    load_counts(model, device)
    if device == "cuda":  # compile the dense blocks; the count lookups have data-dependent shapes
        for block in model.blocks:
            block.compile()  # in place: the state_dict keeps its names
    optimizers = make_optimizers(model)
    num_params = sum(p.numel() for p in model.parameters())
    print(f"device {device} | params {num_params / 1e6:.2f}M | budget {budget:g} s", flush=True)
    steps, trained, tokens = train(model, optimizers, train_data, budget, autocast, device)
    save_model(model)
    peak = fixed.peak_flops(device)  # None for a GPU missing from the table: MFU unknown
    achieved = flops_per_token(model) * tokens / max(trained, 1e-9)
    mfu = "unknown" if peak is None else f"{100 * achieved / peak:.2f}"
    print("---")
    if fixed.validation_available():  # by hand; under the harness, the harness scores
        val_bpb = fixed.evaluate_bpb(lambda x: logprobs(model, x), fixed.load_split("val", device),
                                     SEQ_LEN, EVAL_BATCH)
        print(f"val_bpb:          {val_bpb:.6f}")
    print(f"training_seconds: {trained:.1f}")
    print(f"total_seconds:    {time.time() - T_START:.1f}")
    print(f"peak_vram_mb:     {fixed.peak_memory_mb(device):.1f}")
    print(f"mfu_percent:      {mfu}")
    print(f"total_tokens_M:   {tokens / 1e6:.1f}")
    print(f"num_steps:        {steps}")
    print(f"num_params_M:     {num_params / 1e6:.1f}")
    print(f"depth:            {DEPTH}")


if __name__ == "__main__":
    main()
