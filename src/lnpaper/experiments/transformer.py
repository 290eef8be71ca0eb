"""Experiment `transformer` (paper 6.3): Post-LN, the paper's form x <- LN(x + Sublayer(x)), vs
Pre-LN, x <- x + Sublayer(LN(x)), in a small ``nn.TransformerEncoder`` (d_model 64, 4 heads).

Two measurements (Xiong et al. 2020):
- gradient norm of every layer's weights at initialisation, on one seeded batch;
- training on a seeded synthetic sequence task (reverse a random token sequence, so every
  output position must attend to another position), with and without linear warm-up of the
  learning rate: final loss, accuracy, and whether the run diverged (NaN/inf, recorded as data).
Module weights use PyTorch's default init, drawn inside ``torch.random.fork_rng`` from a seed
derived from the run's identity, so the global RNG is left as it was.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from lnpaper.experiments.seeding import derive_seed, torch_generator

ARCHS = {"post_ln": False, "pre_ln": True}  # arch -> norm_first
PARAMS = {
    "ffn_w2": "linear2.weight",
    "ffn_w1": "linear1.weight",
    "attn_in": "self_attn.in_proj_weight",
    "attn_out": "self_attn.out_proj.weight",
}


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
            norm=nn.LayerNorm(d_model) if ARCHS[arch] else None,
        )
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


def train_run(
    cfg: dict, layers: int, arch: str, warmup: bool, base_seed: int, seed: int, device: str = "cpu"
):
    """One training run; returns (summary row, curve rows)."""
    model = build_model(cfg, layers, arch, base_seed, seed, device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"], betas=(0.9, 0.98), fused=True)
    w = cfg["warmup_steps"] if warmup else 0
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, w))
    gen = torch_generator(base_seed, "transformer-batches", seed)  # same data for every arch
    ident = {"layers": layers, "arch": arch, "warmup": warmup, "seed": seed}
    losses, curve, diverged_step = [], [], -1
    for step in range(cfg["steps"]):
        x, y = task_batch(gen, cfg, cfg["batch_size"], device)
        loss, _ = loss_fn(model, x, y)
        value = float(loss.detach())
        losses.append(value)
        if not np.isfinite(value):  # diverged: recorded, and the run stops here
            diverged_step = step
            curve.append({**ident, "step": step, "loss": value, "grad_norm": float("nan")})
            break
        opt.zero_grad()
        loss.backward()
        gnorm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), float("inf")))
        if step % cfg["log_every"] == 0 or step == cfg["steps"] - 1:
            curve.append({**ident, "step": step, "loss": value, "grad_norm": gnorm})
        opt.step()
        sched.step()
    x, y = task_batch(torch_generator(base_seed, "transformer-test", seed), cfg, 256, device)
    with torch.no_grad():
        test_loss, logits = loss_fn(model, x, y)
        acc = float((logits.argmax(-1) == y).float().mean())
    tail = np.asarray(losses[-cfg["final_window"] :], dtype=np.float64)
    row = {
        **ident,
        "final_loss": float(tail.mean()),
        "test_loss": float(test_loss),
        "test_accuracy": acc if np.isfinite(float(test_loss)) else float("nan"),
        "diverged": diverged_step >= 0,
        "diverged_step": diverged_step,
        "chance_loss": float(np.log(cfg["vocab"])),
    }
    return row, curve


def training_runs(cfg: dict) -> list[tuple]:
    return [
        (layers, arch, warm, seed)
        for layers in cfg["layers"]
        for arch in cfg["archs"]
        for warm in cfg["warmup"]
        for seed in range(cfg["n_seeds"])
    ]


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
    for i, (layers, arch, warm, seed) in enumerate(training_runs(cfg)):
        row, curve = train_run(cfg, layers, arch, warm, base_seed, seed, device)
        summary.append(row)
        curves += curve
        if progress:
            progress.update(
                i + 1,
                f"layers={layers} arch={arch} warmup={warm} seed={seed} "
                f"final_loss={row['final_loss']:.3f}",
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
