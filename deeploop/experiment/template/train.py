"""A small GPT over bytes, trained for a fixed wall-clock budget.

This is the one file the experiment loop changes. The data, the time budget
and evaluate_bpb (the ground truth) live in deeploop.experiment.evaluate and
are read-only. Run by hand with `python train.py`; DEEPLOOP_TIME_BUDGET sets
the training seconds (default 60 on CPU, 300 on a GPU). Start-up (imports,
data, model, the first step) is not counted; evaluation comes after.

A minute of CPU buys only about a million training bytes, so the model is
built to learn fast: Muon for the block matrices, hashed n-gram embeddings
(a sparse memory of the last few bytes, almost free in FLOPs) and a learned
blend of each position with the one before it.
"""
import math
import os
import sys
import time

T_START = time.time()

import torch
import torch.nn as nn
import torch.nn.functional as F

from deeploop.experiment import evaluate as fixed

# --- hyperparameters: the search edits these; keep names UPPER_CASE --------
DEPTH = 2              # transformer blocks
WIDTH = 128            # model dimension
HEADS = 4              # attention heads; WIDTH / HEADS must be even
MLP_RATIO = 2          # MLP hidden width, in multiples of WIDTH
SEQ_LEN = 256          # context length in bytes
BATCH_SIZE = 16        # sequences per optimiser step
MATRIX_LR = 0.02       # Muon learning rate of the block matrices
MOMENTUM = 0.95        # Muon momentum (Nesterov)
EMBED_LR = 0.02        # AdamW learning rate of the embedding and output layers
NGRAM_LR = 0.02        # SparseAdam learning rate of the n-gram table
NGRAM_ORDER = 5        # embed the last 2..NGRAM_ORDER bytes; 1 turns n-grams off
NGRAM_BUCKETS = 65536  # rows of the hashed n-gram table
BETA1 = 0.9
BETA2 = 0.95
WEIGHT_DECAY = 0.0     # AdamW decoupled weight decay of the embedding and output layers
WARMUP_FRAC = 0.03     # share of the budget spent ramping the learning rates up
WARMDOWN_FRAC = 0.4    # share of the budget spent decaying them at the end
FINAL_LR_FRAC = 0.0    # learning rate at the end, relative to the peak
GRAD_CLIP = 1.0        # max norm of the dense gradients; 0 turns clipping off
EVAL_BATCH = 16        # windows per evaluation batch (speed only)
SEED = 42
# --- end hyperparameters ------------------------------------------------------

VOCAB = 256            # byte tokens
FAIL_LOSS = 3 * math.log(VOCAB)  # far above a uniform guess: the run has exploded
PRIME = 2147483647     # hashing modulus: products stay below 2**62, no int64 overflow


def rms_norm(x):
    return F.rms_norm(x, (x.size(-1),))


def rotary_tables(seq_len, head_dim, device):
    freqs = 1.0 / (10000 ** (torch.arange(0, head_dim, 2, device=device).float() / head_dim))
    angles = torch.outer(torch.arange(seq_len, device=device).float(), freqs)
    return angles.cos()[None, None], angles.sin()[None, None]


def apply_rotary(x, cos, sin):
    t, half = x.size(-2), x.size(-1) // 2
    c, s = cos[..., :t, :], sin[..., :t, :]
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat((x1 * c - x2 * s, x1 * s + x2 * c), dim=-1)


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(WIDTH, 3 * WIDTH, bias=False)
        self.proj = nn.Linear(WIDTH, WIDTH, bias=False)

    def forward(self, x, cos, sin):
        b, t, _ = x.shape
        qkv = self.qkv(x).view(b, t, 3, HEADS, WIDTH // HEADS).permute(2, 0, 3, 1, 4)
        qk = apply_rotary(rms_norm(qkv[:2]), cos, sin)  # q and k normed and rotated together
        y = F.scaled_dot_product_attention(qk[0], qk[1], qkv[2], is_causal=True)  # fused
        return self.proj(y.transpose(1, 2).reshape(b, t, WIDTH))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = Attention()
        self.fc = nn.Linear(WIDTH, MLP_RATIO * WIDTH, bias=False)
        self.out = nn.Linear(MLP_RATIO * WIDTH, WIDTH, bias=False)

    def forward(self, x, cos, sin):
        x = x + self.attn(rms_norm(x), cos, sin)
        return x + self.out(F.relu(self.fc(rms_norm(x))).square())


class NgramEmbedding(nn.Module):
    """Hashed embeddings of the 2..NGRAM_ORDER bytes ending at each position."""

    def __init__(self):
        super().__init__()
        # starts at zero (and skips a random init it would overwrite); sparse: few rows change
        self.table = nn.Embedding.from_pretrained(torch.zeros(NGRAM_BUCKETS, WIDTH),
                                                  freeze=False, sparse=True)

    def forward(self, idx):
        out, key = 0, idx
        for n in range(2, NGRAM_ORDER + 1):
            key = (key * VOCAB + F.pad(idx[:, :1 - n], (n - 1, 0))) % PRIME  # last n bytes
            out = out + self.table((key * 1597334677 + n) % PRIME % NGRAM_BUCKETS)
        return out


class GPT(nn.Module):
    def __init__(self, device):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, WIDTH)
        self.ngram = NgramEmbedding() if NGRAM_ORDER > 1 else None
        self.smear = nn.Parameter(torch.zeros(WIDTH))  # gate of the previous position's blend
        self.blocks = nn.ModuleList(Block() for _ in range(DEPTH))
        self.head = nn.Linear(WIDTH, VOCAB, bias=False)
        cos, sin = rotary_tables(SEQ_LEN, WIDTH // HEADS, device)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        for block in self.blocks:  # residual branches start silent: stable at high LR
            nn.init.zeros_(block.attn.proj.weight)
            nn.init.zeros_(block.out.weight)
        nn.init.normal_(self.head.weight, std=0.02)

    def forward(self, idx):
        x = self.embed(idx)
        if self.ngram is not None:
            x = x + self.ngram(idx)
        x = x + torch.sigmoid(self.smear) * F.pad(x[:, :-1], (0, 0, 1, 0))
        x = rms_norm(x)
        for block in self.blocks:
            x = block(x, self.cos, self.sin)
        return self.head(rms_norm(x))


def orthogonalize(g, steps=5):
    """Newton-Schulz iteration towards the nearest semi-orthogonal matrix (Muon)."""
    a, b, c = 3.4445, -4.7750, 2.0315
    x = g / (g.norm() + 1e-7)
    tall = x.size(0) > x.size(1)
    x = x.T if tall else x
    for _ in range(steps):  # x <- a x + (b m + c m m) x with m = x x^T, scalings inside the GEMMs
        m = x @ x.T
        x = torch.addmm(x, torch.addmm(m, m, m, beta=b, alpha=c), x, beta=a)
    return x.T if tall else x


class Muon(torch.optim.Optimizer):
    """Momentum, then an orthogonalized update: fast progress per step for matrices."""

    def __init__(self, params, lr, momentum):
        super().__init__(params, {"lr": lr, "momentum": momentum})

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
    others = [p for n, p in model.named_parameters()
              if not n.startswith(("blocks.", "ngram."))]
    optimizers = [Muon(matrices, MATRIX_LR, MOMENTUM),
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
    if progress < 1.0 - WARMDOWN_FRAC:
        return 1.0
    cooldown = (1.0 - progress) / WARMDOWN_FRAC
    return cooldown + (1.0 - cooldown) * FINAL_LR_FRAC


def fail(message):
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


def flops_per_token(model):
    """6N for the matmuls (embedding lookups are free) plus attention (PaLM's estimate)."""
    matmul = sum(m.weight.numel() for m in model.modules() if isinstance(m, nn.Linear))
    return 6 * matmul + 12 * DEPTH * SEQ_LEN * WIDTH


def setup():
    torch.manual_seed(SEED)
    if torch.cuda.is_available():
        torch.backends.cuda.matmul.allow_tf32 = True
        return "cuda", torch.autocast("cuda", dtype=torch.bfloat16)
    torch.set_num_threads(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                          else os.cpu_count() or 1)
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


def train(model, optimizers, data, budget, autocast, device):
    generator = torch.Generator().manual_seed(SEED)
    step, trained, tokens, last_print = 0, 0.0, 0, 0.0
    while trained < budget:
        started = time.time()
        x, y = fixed.get_batch(data, BATCH_SIZE, SEQ_LEN, generator)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        loss = train_step(model, optimizers, x, y, autocast, trained / budget)
        if not math.isfinite(loss) or loss > FAIL_LOSS:
            fail(f"loss {loss} at step {step}: training diverged")
        if step > 0:  # the first step pays for allocation and kernel choice
            trained += time.time() - started
            tokens += BATCH_SIZE * SEQ_LEN
        if trained - last_print >= 10 or trained >= budget:
            last_print = trained
            print(f"step {step:5d} | loss {loss:.4f} | {trained:5.1f}/{budget:.0f} s", flush=True)
        step += 1
    return step, trained, tokens


def main():
    device, autocast = setup()
    budget = fixed.time_budget(cuda=device == "cuda")
    train_data = fixed.load_split("train", device)
    val_data = fixed.load_split("val", device)
    model = GPT(device).to(device)
    optimizers = make_optimizers(model)
    num_params = sum(p.numel() for p in model.parameters())
    print(f"device {device} | params {num_params / 1e6:.2f}M | budget {budget:g} s", flush=True)

    steps, trained, tokens = train(model, optimizers, train_data, budget, autocast, device)
    with autocast:
        val_bpb = fixed.evaluate_bpb(model, val_data, SEQ_LEN, EVAL_BATCH)
    if not math.isfinite(val_bpb):
        fail(f"val_bpb is {val_bpb}")
    mfu = 100 * flops_per_token(model) * tokens / max(trained, 1e-9) / fixed.peak_flops(device)

    print("---")
    print(f"val_bpb:          {val_bpb:.6f}")
    print(f"training_seconds: {trained:.1f}")
    print(f"total_seconds:    {time.time() - T_START:.1f}")
    print(f"peak_vram_mb:     {fixed.peak_memory_mb(device):.1f}")
    print(f"mfu_percent:      {mfu:.2f}")
    print(f"total_tokens_M:   {tokens / 1e6:.1f}")
    print(f"num_steps:        {steps}")
    print(f"num_params_M:     {num_params / 1e6:.1f}")
    print(f"depth:            {DEPTH}")


if __name__ == "__main__":
    main()
