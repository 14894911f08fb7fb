"""The harness scores: val_bpb of the model train.py saved, computed here.

After training, a scorer process (sandboxed: workspace read-only, no
network, training data only) imports the workspace's train.py and calls its
``load_model(MODEL_FILE)``; it then answers requests for next-byte
log-probabilities of windows of validation bytes. The harness never tells
it the targets: it applies ``log_softmax`` to what comes back and reads the
log-probability of each true next byte itself, over the windows
``evaluate_bpb`` reads (``corpus.eval_windows``). Never parsed from output.

Causality, two ways. Windows are sent one position per chunk at a time
(window j of every chunk, then j + 1), so the scorer never holds the bytes
it is scored on before it has answered for them. And every batch carries a
copy of one window with one byte changed: if a prediction before that byte
moves, the model reads the future and the run is a crash.

Protocol (the scorer's stdout; train.py's own prints go to the log): one
JSON line ``{"ready": true, "seq_len": N}`` or ``{"error": ...}``; then per
request the harness writes ``{"shape": [B, L], "keep": k}`` and B*L bytes,
the scorer answers ``{"shape": [B, k, 256]}`` and B*k*256 float32 values
(the last k positions of each window), or ``{"error": ...}``. A
``logprobs(model, x, keep)`` is told k and may return only those positions
((B, k, 256)): windows slide by half a context, so about half of the
positions are context only, and their outputs need not be computed.
"""
from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import procs
from .corpus import eval_windows, read_prepared_meta
from .evaluate import MODEL_FILE
from .sandbox import NONE, Sandbox, Walls

VOCAB = 256
CAUSAL_TOLERANCE = 1e-3   # nats: float noise is far below, a peek at the future far above
MISMATCH_TOLERANCE = 1e-5  # printed val_bpb vs the harness's: more than rounding is flagged
_ENTRY = "from deeploop.experiment.score import child_main; child_main()"


@dataclass
class Score:
    val_bpb: float | None
    reason: str | None = None          # why there is no score (a crash)
    seconds: float = 0.0
    detail: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"val_bpb": self.val_bpb, "reason": self.reason,
                "seconds": round(self.seconds, 3), **self.detail}


class ScoringError(Exception):
    """The scorer failed in a way that makes the experiment a crash."""


# -- the scorer process (inside the sandbox) ----------------------------------------------
def _send(out, message: dict, payload: bytes = b"") -> None:
    out.write(json.dumps(message).encode() + b"\n" + payload)
    out.flush()


def _read_exact(stream, n: int) -> bytes:
    data = stream.read(n)
    if data is None or len(data) != n:
        raise EOFError("the harness closed the pipe")
    return data


def _flatten(out, b: int, k: int, torch) -> bytes:
    """(B, T, 256) log-probs (tensor or nested lists), last ``k`` positions, as float32."""
    if torch is not None and isinstance(out, torch.Tensor):
        out = out.detach().to("cpu", torch.float32)
        if out.dim() != 3 or out.shape[0] != b or out.shape[2] != VOCAB or out.shape[1] < k:
            raise ValueError(f"logprobs returned shape {tuple(out.shape)}, "
                             f"expected ({b}, T, {VOCAB})")
        return out[:, -k:].contiguous().numpy().tobytes()
    from array import array
    rows = list(out)
    flat = array("f")
    if len(rows) != b:
        raise ValueError(f"logprobs returned {len(rows)} rows, expected {b}")
    for row in rows:
        row = list(row)[-k:]
        for position in row:
            values = list(position)
            if len(values) != VOCAB:
                raise ValueError(f"logprobs returned {len(values)} values, expected {VOCAB}")
            flat.extend(values)
        if len(row) != k:
            raise ValueError(f"logprobs returned {len(row)} positions, expected {k}")
    return flat.tobytes()


def _takes_keep(logprobs) -> bool:
    """Whether train.py's ``logprobs`` takes ``keep`` (only the last ``keep``
    positions are scored: it may compute the others' outputs not at all)."""
    import inspect
    try:
        return "keep" in inspect.signature(logprobs).parameters
    except (TypeError, ValueError):
        return False


def child_main() -> None:
    """Run in the workspace: load the model, then answer requests until EOF."""
    proto_in = os.fdopen(os.dup(0), "rb")
    proto_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # train.py's prints go to the log, never into the protocol
    sys.stdout = os.fdopen(1, "w", buffering=1)
    sys.path.insert(0, os.getcwd())
    try:
        import train  # noqa: the workspace's train.py
        if not os.path.exists(MODEL_FILE):
            raise FileNotFoundError(f"no model saved: train.py wrote no {MODEL_FILE}")
        model = train.load_model(MODEL_FILE)
        seq_len = int(train.SEQ_LEN)
        takes_keep = _takes_keep(train.logprobs)
        torch = sys.modules.get("torch")
    except BaseException as exc:  # noqa: anything train.py raises is its failure
        _send(proto_out, {"error": f"{type(exc).__name__}: {exc}"[:300]})
        return
    _send(proto_out, {"ready": True, "seq_len": seq_len})
    while True:
        line = proto_in.readline()
        if not line:
            return
        request = json.loads(line)
        b, length = request["shape"]
        raw = _read_exact(proto_in, b * length)
        try:
            if torch is not None:
                x = torch.frombuffer(bytearray(raw), dtype=torch.uint8).long().view(b, length)
            else:
                x = [list(raw[i * length:(i + 1) * length]) for i in range(b)]
            out = (train.logprobs(model, x, keep=request["keep"]) if takes_keep
                   else train.logprobs(model, x))
            payload = _flatten(out, b, request["keep"], torch)
        except BaseException as exc:  # noqa
            _send(proto_out, {"error": f"{type(exc).__name__}: {exc}"[:300]})
            return
        _send(proto_out, {"shape": [b, request["keep"], VOCAB]}, payload)


# -- the harness side ------------------------------------------------------------------
def plan_rounds(val_len: int, eval_bytes: int, seq_len: int) -> list[list[tuple[int, int, int]]]:
    """Windows grouped so that no request holds a byte scored in an earlier
    window of the same chunk before that window is answered: window j of
    every chunk together, same (length, scored) per request."""
    per_chunk: list[list[tuple[int, int, int]]] = []
    for window in eval_windows(val_len, eval_bytes, seq_len):
        begin, end, scored = window
        if not per_chunk or end - scored != per_chunk[-1][-1][1]:
            per_chunk.append([])  # a new chunk starts where the last one's windows break
        per_chunk[-1].append(window)
    rounds: dict[tuple[int, int, int], list] = {}
    for chunk in per_chunk:
        for j, (begin, end, scored) in enumerate(chunk):
            rounds.setdefault((j, end - begin, scored), []).append((begin, end, scored))
    return [rounds[key] for key in sorted(rounds)]


class _Scorer:
    """The harness's end of the pipes to one scorer process: a fresh one
    (``cold``) or a child of the warm-start helper (``warm``)."""

    def __init__(self, pid: int, to_scorer, from_scorer: int, deadline: float, reap):
        self.pid, self.to_scorer, self.fd = pid, to_scorer, from_scorer
        self.deadline, self.reap = deadline, reap
        self.buffer = b""

    @classmethod
    def cold(cls, argv, cwd, env, log, deadline) -> "_Scorer":
        proc = procs.start(argv, cwd=cwd, env=env, stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=log)

        def reap():
            proc.wait()
            proc.stdout.close()
        return cls(proc.pid, proc.stdin, proc.stdout.fileno(), deadline, reap)

    @classmethod
    def warm(cls, starter, cwd, env, log_path, deadline) -> "_Scorer":
        """Forked by ``starter`` (warm.WarmStarter, in the scorer's sandbox)."""
        theirs_in, ours_out = os.pipe()
        ours_in, theirs_out = os.pipe()
        try:
            pid = starter.launch(str(cwd), env, str(log_path or os.devnull), kind="score",
                                 pipes=(theirs_in, theirs_out))
        except BaseException:
            for fd in (ours_in, ours_out):
                os.close(fd)
            raise
        finally:
            os.close(theirs_in)
            os.close(theirs_out)

        def reap():
            os.close(ours_in)
            starter.last_cpu_s = None
            try:  # the helper reports the child's exit: read it, so the next launch is clean
                while starter.poll(5.0) is None and starter.proc.poll() is None:
                    pass
            except (OSError, ValueError):
                pass  # the helper is gone: nothing left to read
        return cls(pid, os.fdopen(ours_out, "wb"), ours_in, deadline, reap)

    def _read(self, n: int | None) -> bytes:
        """n bytes, or a line when n is None, within the deadline."""
        import select
        while (n is None and b"\n" not in self.buffer) or (n is not None and len(self.buffer) < n):
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise ScoringError("scoring timed out")
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                raise ScoringError("the scorer exited early")
            self.buffer += chunk
        if n is None:
            line, self.buffer = self.buffer.split(b"\n", 1)
            return line
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def message(self) -> dict:
        try:
            message = json.loads(self._read(None))
        except ValueError:
            raise ScoringError("the scorer's answer is not readable") from None
        if "error" in message:
            raise ScoringError(message["error"])
        return message

    def send(self, windows: bytes, b: int, length: int, keep: int) -> None:
        try:
            self.to_scorer.write(json.dumps({"shape": [b, length], "keep": keep}).encode() + b"\n")
            self.to_scorer.write(windows)
            self.to_scorer.flush()
        except BrokenPipeError:
            raise ScoringError("the scorer exited early") from None

    def receive(self, b: int, keep: int) -> bytes:
        answer = self.message()
        if answer.get("shape") != [b, keep, VOCAB]:
            raise ScoringError(f"the scorer answered shape {answer.get('shape')}")
        return self._read(b * keep * VOCAB * 4)

    def close(self) -> None:
        """Kill the scorer and reap it; once (later calls do nothing)."""
        if self.reap is None:
            return
        procs.signal_group(self.pid)
        try:
            self.to_scorer.close()
        except OSError:
            pass
        self.reap, reap = None, self.reap
        reap()


def log_softmax(np, values):
    """Log-probabilities from whatever came back, in float64; non-finite refused."""
    if not np.isfinite(values).all():
        raise ScoringError("logprobs returned values that are not finite")
    values = values.astype(np.float64)
    top = values.max(axis=-1, keepdims=True)
    return values - top - np.log(np.exp(values - top).sum(axis=-1, keepdims=True))


def _requests(val: bytes, rounds, rng: random.Random):
    """Per round: (windows, its rows' bytes incl. a probe, the probe or None).
    The probe is one window again with one byte changed: (row, position)."""
    for group in rounds:
        begin, end, scored = group[0]
        length = end - begin
        rows = [val[b:e] for b, e, _ in group]
        probe = None
        if length >= 2:
            pick = rng.randrange(len(rows))
            at = rng.randrange(max(1, length - scored), length)
            changed = bytearray(rows[pick])
            changed[at] = (changed[at] + 1 + rng.randrange(255)) % VOCAB
            rows.append(bytes(changed))
            probe = (pick, at)
        yield group, b"".join(rows), len(rows), probe


def score_model(workspace: Path, data_dir: Path, *, log_path: Path | None = None,
                sandbox: Sandbox = NONE, env: dict | None = None,
                python: str = sys.executable, timeout: float = 300.0,
                seed: int = 0, starter=None) -> Score:
    """val_bpb of the model in ``workspace``, scored by the harness; a Score
    with ``reason`` (and no val_bpb) when there is none to score. With a
    ``starter`` (warm.WarmStarter started with ``SCORE_PRELOAD``, inside the
    scorer's walls) the scorer is forked from it; otherwise a fresh process.

    The next request goes out as soon as an answer is in, before the harness
    reads it, so the scorer computes while the harness does its arithmetic;
    the scorer still never holds a byte before it has answered for it."""
    from ..errors import require
    np = require("numpy", "ml")
    started = time.monotonic()
    workspace, data_dir = Path(workspace), Path(data_dir)
    if not (workspace / MODEL_FILE).is_file():
        return Score(None, f"no model saved: train.py wrote no {MODEL_FILE}")
    meta = read_prepared_meta(data_dir)
    val = (data_dir / "val.bin").read_bytes()
    n = meta["eval_bytes"]
    env = env if env is not None else dict(os.environ)
    scorer, log = None, None
    if starter is not None:
        try:
            scorer = _Scorer.warm(starter, workspace, env, log_path, started + timeout)
        except (OSError, ValueError):
            scorer = None  # the helper is gone: a fresh process still works
    if scorer is None:
        walls = Walls(workspace, data_dir, writable=False)
        log = open(log_path, "ab") if log_path else subprocess.DEVNULL
        scorer = _Scorer.cold(sandbox.wrap([python, "-c", _ENTRY], walls), workspace, env, log,
                              started + timeout)
    warm = log is None
    rng = random.Random(seed)
    try:
        ready = scorer.message()
        seq_len = int(ready.get("seq_len", 0))
        if seq_len < 2:
            raise ScoringError(f"SEQ_LEN must be an int of at least 2, got {ready.get('seq_len')}")
        total_bits, probes, worst = 0.0, 0, 0.0
        requests = _requests(val, plan_rounds(len(val), n, seq_len), rng)
        current = next(requests, None)
        if current is not None:
            scorer.send(*current[1:3], *_shape(current[0]))
        while current is not None:
            group, _, b, probe = current
            length, scored = _shape(group)
            raw = scorer.receive(b, scored)
            current = next(requests, None)
            if current is not None:  # answered: the next windows may go out now
                scorer.send(*current[1:3], *_shape(current[0]))
            logp = log_softmax(np, np.frombuffer(raw, dtype=np.float32).reshape(b, scored, VOCAB))
            targets = np.frombuffer(b"".join(val[e - scored + 1:e + 1] for _, e, _ in group),
                                    dtype=np.uint8).reshape(len(group), scored, 1)
            picked = np.take_along_axis(logp[:len(group)], targets.astype(np.intp), axis=-1)
            total_bits += -float(picked.sum()) / math.log(2)
            if probe is not None:
                pick, at = probe
                before = at - (length - scored)  # positions < the changed byte among the kept
                if before > 0:
                    diff = float(np.abs(logp[-1, :before] - logp[pick, :before]).max())
                    worst = max(worst, diff)
                    probes += 1
                    if diff > CAUSAL_TOLERANCE:
                        raise ScoringError(
                            f"non-causal logprobs: changing byte {at} of a window moved "
                            f"an earlier prediction by {diff:.3g} nats")
        scorer.close()  # before the figures: a warm scorer's CPU seconds come with its exit
        detail = {"eval_bytes": n, "seq_len": seq_len, "causal_probes": probes,
                  "causal_max_diff": worst, "sandbox": sandbox.kind, "warm": warm,
                  "cpu_s": starter.last_cpu_s if warm else None}
        return Score(total_bits / n, None, time.monotonic() - started, detail)
    except ScoringError as exc:
        return Score(None, f"scoring failed: {exc}", time.monotonic() - started)
    finally:
        scorer.close()
        if log is not None and log_path:
            log.close()


def _shape(group) -> tuple[int, int]:
    """(window length, scored positions) shared by a round's windows."""
    begin, end, scored = group[0]
    return end - begin, scored


def mismatch(printed: float | None, scored: float | None) -> float | None:
    """How far train.py's own val_bpb is from the harness's, when more than rounding."""
    if printed is None or scored is None:
        return None
    gap = abs(printed - scored)
    return round(gap, 6) if gap > MISMATCH_TOLERANCE else None
