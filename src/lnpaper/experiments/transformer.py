"""Experiment `transformer` (paper 6.3): Post-LN, the paper's form x <- LN(x + Sublayer(x)), vs
Pre-LN, x <- x + Sublayer(LN(x)), in a small ``nn.TransformerEncoder`` (d_model 64, 4 heads),
and a baseline with no normalization at all (``none``: x <- x + Sublayer(x)).

Two measurements (Xiong et al. 2020):
- gradient norm of every layer's weights at initialisation, on one seeded batch;
- training on a seeded synthetic sequence task (reverse a random token sequence, so every
  output position must attend to another position), with and without linear warm-up of the
  learning rate: final loss, accuracy, and whether the run diverged (NaN/inf, recorded as data).
Module weights use PyTorch's default init, drawn inside ``torch.random.fork_rng`` from a seed
derived from the run's identity, so the global RNG is left as it was.

Training stacks the runs of one (layers, arch), every seed with and without warm-up, into one
model whose weights carry a leading model axis (as the MLPs of ``training``): each run starts
from the weights of its own ``nn.TransformerEncoder`` (``build_model``) and sees its own batches;
the summed loss gives each slice exactly its own gradient and Adam is elementwise, so runs share
nothing but the kernel calls. The stacked forward is the encoder layer's training-mode
computation written with batched matmuls.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from lnpaper.experiments.optim import StackedAdam
from lnpaper.experiments.seeding import derive_seed, torch_generator

ARCHS = {"post_ln": False, "pre_ln": True, "none": False}  # arch -> norm_first
PARAMS = {
    "ffn_w2": "linear2.weight",
    "ffn_w1": "linear1.weight",
    "attn_in": "self_attn.in_proj_weight",
    "attn_out": "self_attn.out_proj.weight",
}
LN_EPS = 1e-5  # nn.TransformerEncoderLayer's layer_norm_eps


class SeqModel(nn.Module):
    """Token + position embedding, a Transformer encoder, a linear read-out per position."""

    def __init__(
        self, vocab: int, seq_len: int, d_model: int, heads: int, ffn: int, layers: int, arch: str
    ):
        super().__init__()
        self.embed = nn.Embedding(vocab, d_model)
        self.pos = nn.Parameter(torch.randn(seq_len, d_model) * 0.02)
        layer = nn.TransformerEncoderLayer(
            d_model, heads, ffn, dropout=0.0, batch_first=True, norm_first=ARCHS[arch]
        )
        # Pre-LN needs a final LayerNorm (the residual stream is never normalized otherwise)
        self.encoder = nn.TransformerEncoder(
            layer,
            layers,
            enable_nested_tensor=False,
            norm=nn.LayerNorm(d_model) if arch == "pre_ln" else None,
        )
        if arch == "none":  # x <- x + f(x): the Post-LN layer with its LayerNorms taken out
            for block in self.encoder.layers:
                block.norm1, block.norm2 = nn.Identity(), nn.Identity()
        self.head = nn.Linear(d_model, vocab)

    def forward(self, tokens):  # B,T -> B,T,V
        return self.head(self.encoder(self.embed(tokens) + self.pos))


def build_model(
    cfg: dict, layers: int, arch: str, base_seed: int, seed: int, device: str = "cpu"
) -> SeqModel:
    with torch.random.fork_rng(devices=[]):  # initialised on CPU: same weights on any device
        torch.manual_seed(derive_seed(base_seed, "transformer-init", layers, arch, seed))
        return SeqModel(
            cfg["vocab"], cfg["seq_len"], cfg["d_model"], cfg["heads"], cfg["ffn"], layers, arch
        ).to(device)


def task_batch(gen, cfg: dict, batch: int, device: str = "cpu"):
    """Random tokens and their targets (``reverse``: the sequence backwards; ``copy``: itself)."""
    x = torch.randint(0, cfg["vocab"], (batch, cfg["seq_len"]), generator=gen)  # B,T
    y = x.flip(1) if cfg["task"] == "reverse" else x
    return x.to(device), y.to(device)


def loss_fn(model, x, y):
    logits = model(x)
    return nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten()), logits


def init_grads(
    cfg: dict, layers: int, arch: str, base_seed: int, seed: int, device: str = "cpu"
) -> list[dict]:
    """Gradient norm of each layer's weight matrices at initialisation (one seeded batch)."""
    model = build_model(cfg, layers, arch, base_seed, seed, device)
    x, y = task_batch(
        torch_generator(base_seed, "transformer-grad-batch", seed), cfg, cfg["batch_size"], device
    )
    loss, _ = loss_fn(model, x, y)
    loss.backward()
    rows = []
    for i, block in enumerate(model.encoder.layers):
        named = dict(block.named_parameters())
        for pname, attr in PARAMS.items():
            rows.append(
                {
                    "layers": layers,
                    "arch": arch,
                    "seed": seed,
                    "layer": i + 1,
                    "param": pname,
                    "grad_norm": float(named[attr].grad.norm()),
                }
            )
    return rows


def lr_factor(step: int, warmup: int) -> float:
    """Linear warm-up from lr/warmup to lr over ``warmup`` steps, then constant."""
    return min(1.0, (step + 1) / warmup) if warmup > 0 else 1.0


# ---------------------------------------------------------------- stacked runs


class StackedSeqModel(nn.Module):
    """S ``SeqModel`` of one (layers, arch) evaluated together: every parameter of the single
    model, stacked along a new leading axis (starting from the single models' own values)."""

    def __init__(self, models: list[SeqModel], arch: str, heads: int):
        super().__init__()
        self.arch, self.heads = arch, heads
        self.names = [n for n, _ in models[0].named_parameters()]
        named = [dict(m.named_parameters()) for m in models]  # once per model, not per name
        self.flat = nn.ParameterList(
            torch.stack([p[n].detach() for p in named]) for n in self.names
        )
        self.n_layers = len(models[0].encoder.layers)

    def forward(self, tokens):  # S,B,T -> S,B*T,V
        p = dict(zip(self.names, self.flat))
        s, b, t = tokens.shape
        vocab, d = p["embed.weight"].shape[1:]
        # one embedding table of S*V rows: model i's token k is row i*V + k
        offset = torch.arange(s, device=tokens.device).view(s, 1, 1) * vocab
        x = F.embedding(tokens + offset, p["embed.weight"].reshape(s * vocab, d))  # S,B,T,D
        x = (x + p["pos"].unsqueeze(1)).reshape(s, b * t, d)
        for i in range(self.n_layers):
            q = f"encoder.layers.{i}."
            if self.arch == "pre_ln":
                x = x + self._sa(_ln(x, p, q + "norm1"), p, q, b, t)
                x = x + self._ff(_ln(x, p, q + "norm2"), p, q)
            elif self.arch == "post_ln":
                x = _ln(x + self._sa(x, p, q, b, t), p, q + "norm1")
                x = _ln(x + self._ff(x, p, q), p, q + "norm2")
            else:
                x = x + self._sa(x, p, q, b, t)
                x = x + self._ff(x, p, q)
        if self.arch == "pre_ln":
            x = _ln(x, p, "encoder.norm")
        return _linear(x, p, "head.")

    def _sa(self, x, p, q, b, t):  # multi-head self-attention, as nn.MultiheadAttention
        s, _, d = x.shape
        h = self.heads
        qkv = _linear(x, p, q + "self_attn.in_proj_")  # S,B*T,3D: [q | k | v]
        # unbind, not qkv[0], qkv[1], qkv[2]: the backward of one unbind is one stack, that of
        # three index selects is three zero-filled copies of the whole qkv tensor (profiled: a
        # tenth of the step). Making the heads contiguous first saved nothing measurable.
        heads = qkv.view(s * b, t, 3, h, d // h).permute(2, 0, 3, 1, 4)  # 3,S*B,H,T,D/H
        qh, kh, vh = heads.unbind(0)
        # softmax(q k^T / sqrt(D/H)) v written out: at T = 8 the two small matmuls cost less
        # than the fused CPU attention kernel's set-up (measured, forward and backward)
        scores = torch.matmul(qh, kh.transpose(-1, -2)) * (d // h) ** -0.5
        o = torch.matmul(torch.softmax(scores, dim=-1), vh)  # S*B,H,T,D/H
        o = o.transpose(1, 2).reshape(s, b * t, d)
        return _linear(o, p, q + "self_attn.out_proj.")

    def _ff(self, x, p, q):
        return _linear(torch.relu(_linear(x, p, q + "linear1.")), p, q + "linear2.")


def _linear(x, p, prefix):  # x: S,N,in; weight S,out,in (nn.Linear's layout); bias S,out
    w = p[prefix + "weight"]
    return torch.baddbmm(p[prefix + "bias"].unsqueeze(1), x, w.transpose(1, 2))


def _ln(x, p, prefix):
    y = F.layer_norm(x, x.shape[-1:], eps=LN_EPS)
    return torch.addcmul(p[prefix + ".bias"].unsqueeze(1), y, p[prefix + ".weight"].unsqueeze(1))


def _stacked(batches: list, copies: int, device):
    """Inputs and targets of one batch per seed, stacked and repeated once per warm-up
    setting: the runs' order (warm-up, seed). Shapes M,B,T."""
    x = torch.stack([xb for xb, _ in batches]).repeat(copies, 1, 1).to(device)
    y = torch.stack([yb for _, yb in batches]).repeat(copies, 1, 1).to(device)
    return x, y


def _train_steps(model, opt, gens, runs, warm_steps, cfg, layers, arch, device):
    """Train the stacked runs (warm-up, seed) for ``cfg['steps']`` steps; a run stops at its
    first non-finite loss, its weights kept as they were before that step. Returns the loss
    per step and run (steps,M; NaN after a run diverged), the step each run diverged at (-1 if
    never), the weights of each diverged run, and the curve rows."""
    params = list(model.parameters())
    steps, every, m = cfg["steps"], cfg["log_every"], len(runs)
    losses = np.full((steps, m), np.nan)
    diverged_step = np.full(m, -1)
    frozen = {}  # run index -> its weights when it diverged (a diverged run stops there)
    curve = []
    for step in range(steps):
        batches = [task_batch(g, cfg, cfg["batch_size"]) for g in gens]
        x, y = _stacked(batches, len(warm_steps), device)  # M,B,T
        loss_m = _per_model_ce(model(x), y)  # M
        # read on the host every step (on a GPU, a synchronisation per step): a run that
        # diverges must keep the weights it had before this step's update, so the check
        # cannot wait for the next logged step as in ``training``
        values = loss_m.detach().cpu().numpy().astype(np.float64)
        alive = diverged_step < 0
        losses[step, alive] = values[alive]
        for i in np.flatnonzero(alive & ~np.isfinite(values)):
            diverged_step[i] = step
            frozen[i] = [p[i].detach().clone() for p in params]
            curve.append(_curve_row(layers, arch, *runs[i], step, values[i], np.nan))
        if not (diverged_step < 0).any():
            break
        for p in params:  # backward hands over fresh gradients (no zeroing, no adding)
            p.grad = None
        loss_m.sum().backward()
        if step % every == 0 or step == steps - 1:
            with torch.no_grad():  # each run's total gradient norm (clip_grad_norm_'s)
                sq = torch.stack([p.grad.flatten(1).pow(2).sum(1) for p in params]).sum(0)
                gnorm = sq.sqrt().cpu().numpy().astype(np.float64)
            for i in np.flatnonzero(diverged_step < 0):
                curve.append(_curve_row(layers, arch, *runs[i], step, values[i], gnorm[i]))
        opt.step([cfg["lr"] * lr_factor(step, w) for w in warm_steps])
    return losses, diverged_step, frozen, curve


def _summary_row(layers, arch, run, i, losses, diverged_step, test_loss, acc, cfg) -> dict:
    """The summary row of run ``i`` = (warm-up, seed): its final loss is the mean of the last
    ``final_window`` losses before it stopped."""
    warm, s = run
    last = cfg["steps"] if diverged_step[i] < 0 else diverged_step[i] + 1
    tail = losses[:last, i][-cfg["final_window"] :]
    return {
        "layers": layers,
        "arch": arch,
        "warmup": warm,
        "seed": s,
        "final_loss": float(tail.mean()),
        "test_loss": float(test_loss[i]),
        "test_accuracy": float(acc[i]) if np.isfinite(test_loss[i]) else float("nan"),
        "diverged": bool(diverged_step[i] >= 0),
        "diverged_step": int(diverged_step[i]),
        "chance_loss": float(np.log(cfg["vocab"])),
    }


def train_runs(
    cfg: dict,
    layers: int,
    arch: str,
    warmups: list[bool],
    base_seed: int,
    seeds: list[int],
    device: str = "cpu",
):
    """The runs (warm-up, seed) for every warm-up setting and seed of one (layers, arch), trained
    side by side; returns (summary rows, curve rows) in that order, as training each run alone
    would (within rounding). One fused Adam per warm-up setting updates its runs' slices of the
    stacked weights in place (the learning-rate schedule is the only difference)."""
    runs = [(warm, s) for warm in warmups for s in seeds]
    singles = [build_model(cfg, layers, arch, base_seed, s, "cpu") for _, s in runs]
    model = StackedSeqModel(singles, arch, cfg["heads"]).to(device)
    params = list(model.parameters())
    # one Adam per warm-up setting over its runs' slices of the stacked weights: the learning
    # rate schedule is the only difference (the step-k update uses lr * lr_factor(k, warmup))
    n = len(seeds)
    opt = StackedAdam(
        params, bounds=[(g * n, (g + 1) * n) for g in range(len(warmups))], betas=(0.9, 0.98)
    )
    warm_steps = [cfg["warmup_steps"] if warm else 0 for warm in warmups]
    # each seed's own batches, the same for every arch and warm-up (common random numbers)
    gens = [torch_generator(base_seed, "transformer-batches", s) for s in seeds]
    losses, diverged_step, frozen, curve = _train_steps(
        model, opt, gens, runs, warm_steps, cfg, layers, arch, device
    )
    with torch.no_grad():
        for i, weights in frozen.items():
            for p, v in zip(params, weights):
                p[i] = v
        test = [
            task_batch(torch_generator(base_seed, "transformer-test", s), cfg, 256) for s in seeds
        ]
        x, y = _stacked(test, len(warmups), device)
        logits = model(x)
        test_loss = _per_model_ce(logits, y).cpu().numpy().astype(np.float64)
        acc = (logits.argmax(-1) == y.flatten(1)).float().mean(-1).cpu().numpy()
    rows = [
        _summary_row(layers, arch, r, i, losses, diverged_step, test_loss, acc, cfg)
        for i, r in enumerate(runs)
    ]
    order = {run: i for i, run in enumerate(runs)}
    curve.sort(key=lambda r: (order[(r["warmup"], r["seed"])], r["step"]))
    return rows, curve


def _per_model_ce(logits, y):  # logits S,N,V; y S,B,T -> mean cross-entropy per model, S
    s, _, v = logits.shape
    ce = F.cross_entropy(logits.reshape(-1, v), y.reshape(-1), reduction="none")
    return ce.view(s, -1).mean(1)


def _curve_row(layers, arch, warmup, seed, step, loss, gnorm) -> dict:
    return {
        "layers": layers,
        "arch": arch,
        "warmup": warmup,
        "seed": seed,
        "step": step,
        "loss": float(loss),
        "grad_norm": float(gnorm),
    }


def train_run(
    cfg: dict, layers: int, arch: str, warmup: bool, base_seed: int, seed: int, device: str = "cpu"
):
    """One training run alone; returns (summary row, curve rows)."""
    rows, curve = train_runs(cfg, layers, arch, [warmup], base_seed, [seed], device)
    return rows[0], curve


def training_runs(cfg: dict) -> list[tuple]:
    """Every run (layers, arch, warmup, seed), in the order ``run`` trains them."""
    return list(
        itertools.product(cfg["layers"], cfg["archs"], cfg["warmup"], range(cfg["n_seeds"]))
    )


def n_runs(cfg: dict) -> int:
    return len(training_runs(cfg))


def run(
    cfg: dict, *, seed: int, inputs: dict | None = None, device: str = "cpu", progress=None
) -> dict[str, pd.DataFrame]:
    base_seed = seed
    if progress:
        progress.begin(n_runs(cfg))
    grads = []
    for layers in cfg["layers"]:
        for arch in cfg["archs"]:
            for seed in range(cfg["grad_seeds"]):
                grads += init_grads(cfg, layers, arch, base_seed, seed, device)
    summary, curves = [], []
    seeds = list(range(cfg["n_seeds"]))
    for layers in cfg["layers"]:
        for arch in cfg["archs"]:
            rows, curve = train_runs(cfg, layers, arch, cfg["warmup"], base_seed, seeds, device)
            summary += rows
            curves += curve
            if progress:
                progress.update(
                    len(summary),
                    f"layers={layers} arch={arch} final_loss="
                    f"{np.nanmean([r['final_loss'] for r in rows]):.3f}",
                )
    return {
        "grads": pd.DataFrame(grads),
        "summary": pd.DataFrame(summary),
        "curves": pd.DataFrame(curves),
    }


# Tracking: one child run per (layers, arch, warmup), loss and total gradient norm per logged
# step, mean over seeds (per-seed curves stay in curves.parquet).
CONDITIONS = {
    "output": "curves",
    "keys": ["layers", "arch", "warmup"],
    "step": "step",
    "values": ["loss", "grad_norm"],
    "reduce": "mean",
}


def summary_metrics(frames: dict) -> dict[str, float]:
    g = frames["grads"]
    s = frames["summary"]
    top = g[(g["param"] == "ffn_w2")].groupby(["layers", "arch", "layer"])["grad_norm"].mean()
    m = {"runs": float(len(s)), "diverged_runs": float(s["diverged"].sum())}
    for (layers, arch), v in top.groupby(level=[0, 1]):
        m[f"ffn_w2_grad.{arch}.L{layers}.top"] = float(v.iloc[-1])
        m[f"ffn_w2_grad.{arch}.L{layers}.bottom"] = float(v.iloc[0])
    return m
