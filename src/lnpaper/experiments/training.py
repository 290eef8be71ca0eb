"""Experiment `training` (paper 4.1.4): deep ReLU MLPs with and without normalization, on real
data that ships offline (scikit-learn's digits) and on a seeded synthetic task (Gaussian clusters).

All seeds of one (dataset, depth, arch, norm) train side by side as one stacked model: weights
are (S, in, out) and a layer is one ``torch.baddbmm``, so S seeds cost about one Python loop.
Seeds share nothing: each has its own initial weights, batch order and loss term (the summed
loss gives each slice exactly its own gradient). The same seed gets the same initial weights
and batches under every normalization (common random numbers: paired comparisons).

Initialisation: PyTorch's default for nn.Linear (weight and bias ~ U(-1/sqrt(fan_in),
1/sqrt(fan_in)), i.e. kaiming_uniform with a=sqrt(5)); norm gains 1, biases 0, DyT alpha 0.5.
Architectures (depth = hidden weight layers):
- plain:    h <- ReLU(Norm(W_l h + b_l)), l = 1..depth; logits = W_out h
- residual: h <- W_1 x + b_1; h <- h + W_l ReLU(Norm(h)) + b_l, l = 2..depth (pre-norm,
            pre-activation); logits = W_out ReLU(Norm(h))
A run that reaches NaN/inf is recorded as diverged (data, not a crash); from then on its
gradients are zeroed (its slice is elementwise-separate from the other seeds' anyway).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch
from torch import nn

from lnpaper.experiments.normalizers import StackedNorm
from lnpaper.experiments.optim import StackedAdam
from lnpaper.experiments.seeding import numpy_rng, torch_generator

KEYS = ["dataset", "norm", "depth", "arch"]
OUTPUTS = ["summary", "curves", "layer_grads"]
SUMMARY_COLUMNS = KEYS + [
    "seed",
    "test_accuracy",
    "test_loss",
    "final_train_loss",
    "steps_to_threshold",
    "loss_oscillation",
    "grad_norm_first_layer_init",
    "grad_norm_last_layer_init",
    "diverged",
    "diverged_step",
]


# ---------------------------------------------------------------- data


def load_dataset(name: str, base_seed: int, test_fraction: float, synthetic: dict):
    """(x_train, y_train, x_test, y_test) as float32/int64 tensors, features standardised
    with the training split's mean and SD."""
    if name == "digits":
        from sklearn.datasets import load_digits

        x, y = load_digits(return_X_y=True)
    elif name == "synthetic":
        x, y = synthetic_task(base_seed, **synthetic)
    else:
        raise ValueError(f"unknown dataset {name!r}")
    x = np.asarray(x, dtype=np.float64)
    rng = numpy_rng(base_seed, "training-split", name)
    perm = rng.permutation(len(x))
    n_test = int(round(test_fraction * len(x)))
    test, train = perm[:n_test], perm[n_test:]
    mu, sd = x[train].mean(0), x[train].std(0)
    sd[sd == 0] = 1.0  # digits has constant (always-zero) pixels
    x = (x - mu) / sd
    as_t = lambda a, dt: torch.as_tensor(np.ascontiguousarray(a), dtype=dt)  # noqa: E731
    return (
        as_t(x[train], torch.float32),
        as_t(y[train], torch.int64),
        as_t(x[test], torch.float32),
        as_t(y[test], torch.int64),
    )


def synthetic_task(
    base_seed: int, n_samples: int, n_features: int, n_classes: int, cluster_std: float
):
    """Seeded Gaussian clusters: class centres ~ N(0, I), samples = centre + N(0, cluster_std^2 I)."""
    rng = numpy_rng(base_seed, "training-synthetic", n_samples, n_features, n_classes)
    centres = rng.standard_normal((n_classes, n_features))
    y = rng.integers(0, n_classes, n_samples)
    x = centres[y] + cluster_std * rng.standard_normal((n_samples, n_features))
    return x, y


# ---------------------------------------------------------------- model


class StackedMLP(nn.Module):
    """S independent MLPs of one architecture, evaluated together: input (S, B, in)."""

    def __init__(
        self,
        n_in: int,
        n_out: int,
        width: int,
        depth: int,
        arch: str,
        norm: str,
        gens: list,
        norm_kw: dict | None = None,
        device="cpu",
    ):
        super().__init__()
        self.arch, self.depth = arch, depth
        s = len(gens)
        dims = [n_in] + [width] * depth + [n_out]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in zip(dims[:-1], dims[1:]):
            bound = 1.0 / math.sqrt(fan_in)  # nn.Linear's default init
            w = torch.stack(
                [(torch.rand(fan_in, fan_out, generator=g) * 2 - 1) * bound for g in gens]
            )
            b = torch.stack([(torch.rand(1, fan_out, generator=g) * 2 - 1) * bound for g in gens])
            self.weights.append(nn.Parameter(w.to(device)))  # S,in,out
            self.biases.append(nn.Parameter(b.to(device)))  # S,1,out
        kw = dict(norm_kw or {})
        # plain: one per layer; residual: one per block (depth-1) and one before the head
        self.norms = nn.ModuleList(
            StackedNorm(norm, s, width, device=device, **kw) for _ in range(depth)
        )

    def forward(self, x):  # x: S,B,in -> logits S,B,C
        w, b, relu = self.weights, self.biases, torch.relu
        if self.arch == "plain":
            h = x
            for layer in range(self.depth):
                h = relu(self.norms[layer](torch.baddbmm(b[layer], h, w[layer])))
        else:
            h = torch.baddbmm(b[0], x, w[0])
            for layer in range(1, self.depth):
                h = h + torch.baddbmm(b[layer], relu(self.norms[layer - 1](h)), w[layer])
            h = relu(self.norms[-1](h))
        return torch.baddbmm(b[-1], h, w[-1])


def per_model_ce(logits, y):
    """Mean cross-entropy per stacked model: logits S,B,C, y S,B -> S."""
    logp = torch.log_softmax(logits, dim=-1)
    return -logp.gather(-1, y.unsqueeze(-1)).squeeze(-1).mean(-1)


# ---------------------------------------------------------------- one condition, all seeds


def train_condition(
    data,
    dataset: str,
    norm: str,
    depth: int,
    arch: str,
    seeds: list[int],
    cfg: dict,
    base_seed: int,
    device="cpu",
):
    """Train S seeds of one condition; return (summary rows, curve rows, layer-grad rows)."""
    x_tr, y_tr, x_te, y_te = (t.to(device) for t in data)
    n_classes = int(max(y_tr.max(), y_te.max())) + 1
    gens = [torch_generator(base_seed, "training-init", dataset, depth, arch, s) for s in seeds]
    norm_kw = {"eps": cfg["eps"], "groups": cfg["groupnorm_groups"], "dyt_alpha": cfg["dyt_alpha"]}
    model = StackedMLP(
        x_tr.shape[1], n_classes, cfg["width"], depth, arch, norm, gens, norm_kw, device
    )
    params = list(model.parameters())
    opt = StackedAdam(params)  # torch.optim.Adam(fused=True)'s update without its Python work
    steps, bs, every = cfg["steps"], cfg["batch_size"], cfg["log_every"]
    # each seed's own batch order, the same for every norm/depth/arch (common random numbers)
    order = np.stack(
        [
            batch_indices(
                numpy_rng(base_seed, "training-batches", dataset, s), len(x_tr), bs, steps
            )
            for s in seeds
        ]
    )  # S,steps,B
    order = torch.as_tensor(order, device=device)
    n_models = len(seeds)
    losses = torch.full((steps, n_models), float("nan"))
    alive = torch.ones(n_models, dtype=torch.bool)
    diverged_step = np.full(n_models, -1)
    log_steps, log_loss, log_grads = [], [], []
    for step in range(steps):
        idx = order[:, step]  # S,B
        loss_s = per_model_ce(model(x_tr[idx]), y_tr[idx])  # S
        # gradients written by backward, not added to zeroed buffers (one kernel per weight less)
        for p in params:
            p.grad = None
        loss_s.sum().backward()
        with torch.no_grad():
            losses[step] = loss_s.detach().cpu()
            # NaN/inf anywhere in a model's weights or gradients shows in its loss by the next
            # step at the latest: the loss is the (cheap) divergence check
            bad = ~torch.isfinite(losses[step])
            diverged_step[(bad & alive).numpy()] = step
            alive &= ~bad
            if step % every == 0 or step == steps - 1:
                log_steps.append(step)
                log_loss.append(losses[step].clone())
                log_grads.append(
                    torch.stack([w.grad.flatten(1).norm(dim=1) for w in model.weights[:-1]]).cpu()
                )  # L,S
            # a diverged seed gets zero gradients so NaN stays out of the others' updates
            if not alive.all():
                dead = (~alive).to(device)
                for p in params:
                    p.grad[dead] = 0.0
        opt.step(cfg["lr"])

    model.eval()
    with torch.no_grad():
        logits = model(x_te.expand(n_models, -1, -1))
        y = y_te.expand(n_models, -1)
        test_loss = per_model_ce(logits, y).cpu().numpy()
        acc = (logits.argmax(-1) == y).float().mean(-1).cpu().numpy()
        finite = torch.isfinite(logits).all(-1).all(-1).cpu().numpy()
    acc = np.where(finite, acc, np.nan)  # argmax of NaN logits is not a prediction

    loss_np = losses.numpy().astype(np.float64)  # steps,S
    grads0 = log_grads[0].numpy().astype(np.float64)  # L,S
    ident = {"dataset": dataset, "norm": norm, "depth": depth, "arch": arch}
    summary = []
    for i, s in enumerate(seeds):
        summary.append(
            {
                **ident,
                "seed": s,
                "test_accuracy": float(acc[i]),
                "test_loss": float(test_loss[i]),
                "final_train_loss": float(np.mean(loss_np[-cfg["oscillation_window"] :, i])),
                "steps_to_threshold": steps_to_threshold(
                    loss_np[:, i], cfg["loss_threshold"], cfg["smooth_window"]
                ),
                "loss_oscillation": loss_oscillation(loss_np[:, i], cfg["oscillation_window"]),
                "grad_norm_first_layer_init": float(grads0[0, i]),
                "grad_norm_last_layer_init": float(grads0[-1, i]),
                "diverged": bool(diverged_step[i] >= 0),
                "diverged_step": int(diverged_step[i]),
            }
        )
    ls = np.asarray(log_steps)
    ll = torch.stack(log_loss).numpy().astype(np.float64)  # T,S
    lg = torch.stack(log_grads).numpy().astype(np.float64)  # T,L,S
    t_n, l_n, s_n = lg.shape
    curves = pd.DataFrame(
        {
            **ident,
            "seed": np.tile(seeds, t_n),
            "step": np.repeat(ls, s_n),
            "loss": ll.ravel(),
            "grad_norm": lg[:, 0, :].ravel(),
        }
    )
    ti, li, si = np.meshgrid(np.arange(t_n), np.arange(l_n), np.arange(s_n), indexing="ij")
    layers = pd.DataFrame(
        {
            **ident,
            "seed": np.asarray(seeds)[si.ravel()],
            "step": ls[ti.ravel()],
            "layer": li.ravel(),
            "grad_norm": lg.ravel(),
        }
    )
    return summary, curves, layers


def batch_indices(rng: np.random.Generator, n: int, batch: int, steps: int) -> np.ndarray:
    """steps x batch indices: shuffled epochs, concatenated (no sample repeats within an epoch)."""
    epochs = -(-steps * batch // n)
    flat = np.concatenate([rng.permutation(n) for _ in range(epochs)])
    return flat[: steps * batch].reshape(steps, batch)


def steps_to_threshold(loss: np.ndarray, threshold: float, window: int) -> float:
    """First step at which the moving mean of the last ``window`` losses is <= threshold;
    NaN if never (minibatch noise would make a single-step criterion a coin flip)."""
    if len(loss) < window:
        return float("nan")
    smooth = np.convolve(loss, np.ones(window) / window, mode="valid")
    hit = np.flatnonzero(smooth <= threshold)  # NaN compares False: a diverged run never hits
    return float(hit[0] + window - 1) if hit.size else float("nan")


def loss_oscillation(loss: np.ndarray, window: int) -> float:
    """SD of the step-to-step change of the training loss over the last ``window`` steps."""
    tail = np.diff(loss[-(window + 1) :])
    if tail.size < 2 or not np.isfinite(tail).all():
        return float("nan")
    return float(np.std(tail, ddof=1))


# ---------------------------------------------------------------- the experiment


def conditions(cfg: dict) -> list[tuple]:
    return [
        (d, n, depth, a)
        for d in cfg["datasets"]
        for a in cfg["archs"]
        for depth in cfg["depths"]
        for n in cfg["norms"]
    ]


def run(
    cfg: dict, *, seed: int, inputs: dict | None = None, device: str = "cpu", progress=None
) -> dict[str, pd.DataFrame]:
    """All conditions of ``cfg['datasets']``: summary, curves and per-layer gradient norms."""
    base_seed = seed
    seeds = list(range(cfg["n_seeds"]))
    todo = conditions(cfg)
    if progress:
        progress.begin(len(todo))
    data_cache = {}
    summary, curves, layers = [], [], []
    for i, (dataset, norm, depth, arch) in enumerate(todo):
        if dataset not in data_cache:
            data_cache[dataset] = load_dataset(
                dataset, base_seed, cfg["test_fraction"], cfg["synthetic"]
            )
        rows, cond_curves, cond_layers = train_condition(
            data_cache[dataset], dataset, norm, depth, arch, seeds, cfg, base_seed, device
        )
        summary += rows
        curves.append(cond_curves)
        layers.append(cond_layers)
        if progress:
            progress.update(
                i + 1,
                f"dataset={dataset} arch={arch} depth={depth} norm={norm} "
                f"acc={np.nanmean([r['test_accuracy'] for r in rows]):.3f}",
            )
    return {
        "summary": pd.DataFrame(summary)[SUMMARY_COLUMNS],
        "curves": pd.concat(curves, ignore_index=True),
        "layer_grads": pd.concat(layers, ignore_index=True),
    }


def for_wildcards(cfg: dict, wildcards: dict) -> dict:
    """One job per dataset (rule training_part): the slice with only that dataset."""
    return {**cfg, "datasets": [wildcards["dataset"]]} if "dataset" in wildcards else cfg


def merge(parts: list[dict]) -> dict[str, pd.DataFrame]:
    """Join the per-dataset parts in a fixed order (same bytes whatever finished first)."""
    out = {}
    for name in OUTPUTS:
        df = pd.concat([p[name] for p in parts], ignore_index=True)
        sort = KEYS + ["seed"] + [c for c in ("step", "layer") if c in df.columns]
        out[name] = df.sort_values(sort, kind="stable").reset_index(drop=True)
    return out


# Tracking: one child run per condition (72 by default), loss and first-layer gradient norm per
# logged step, mean over seeds. One run per seed (360) took the tracking step from ~16 s to ~60 s
# on the 2-core machine; per-seed curves stay in curves.parquet.
CONDITIONS = {
    "output": "curves",
    "keys": KEYS,
    "step": "step",
    "values": ["loss", "grad_norm"],
    "reduce": "mean",
}


def summary_metrics(frames: dict[str, pd.DataFrame]) -> dict[str, float]:
    summary = frames["summary"]
    m = {"runs": float(len(summary)), "diverged_runs": float(summary["diverged"].sum())}
    for (dataset, norm), g in summary[(summary["arch"] == "plain")].groupby(["dataset", "norm"]):
        m[f"acc.{dataset}.plain.{norm}"] = float(np.nanmean(g["test_accuracy"]))
    return m
