"""Experiment `training` (paper 4.1.4): deep ReLU MLPs with and without normalization, on real
data that ships offline (scikit-learn's digits) and on a seeded synthetic task (Gaussian clusters).

All seeds and depths of one (dataset, arch, norm) train side by side as one stacked model:
weights are (M, in, out) and a layer is one ``torch.baddbmm`` over the models that have it, so
5 seeds x 3 depths cost about one Python loop over the deepest net. Models share nothing: each
has its own initial weights, batch order and loss term (the summed loss gives each slice
exactly its own gradient). Batching changes only rounding: the 10-, 20- and 50-layer nets
trained together match each trained alone to about 1e-7 relative per step, which 300 Adam
steps of a deep net can amplify (test_training checks 10 steps within 1e-5). The
same seed gets the same initial weights and batches under every normalization (common random
numbers: paired comparisons).

Initialisation: PyTorch's default for nn.Linear (weight and bias ~ U(-1/sqrt(fan_in),
1/sqrt(fan_in)), i.e. kaiming_uniform with a=sqrt(5)); norm gains 1, biases 0, DyT alpha 0.5.
Architectures (depth = hidden weight layers):
- plain:    h <- ReLU(Norm(W_l h + b_l)), l = 1..depth; logits = W_out h
- residual: h <- W_1 x + b_1; h <- h + W_l ReLU(Norm(h)) + b_l, l = 2..depth (pre-norm,
            pre-activation); logits = W_out ReLU(Norm(h))
A run that reaches NaN/inf is recorded as diverged (data, not a crash) at its first non-finite
loss; it trains on with NaN confined to its own slice, which no kernel mixes with the others'
(test_training checks that the other seeds train exactly as they would alone).
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
from lnpaper.experiments.training_join import (  # noqa: F401  (the uniform interface)
    CONDITIONS,
    KEYS,
    OUTPUTS,
    SUMMARY_COLUMNS,
    merge,
    summary_metrics,
)

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
    """M independent MLPs of one architecture, evaluated together: input (M, B, in).

    ``depth`` is one depth for all models or one per model, deepest first. Hidden layer l is
    then used by a prefix of the models (those deeper than l) and runs as one batched matmul
    over that prefix: the 10-, 20- and 50-layer nets of a condition share the kernel calls of
    their first 10 layers. A shallower model leaves the stack when its own layers end and
    meets the others again at the read-out."""

    def __init__(
        self,
        n_in: int,
        n_out: int,
        width: int,
        depth: int | list[int],
        arch: str,
        norm: str,
        gens: list,
        norm_kw: dict | None = None,
        device="cpu",
    ):
        super().__init__()
        m = len(gens)
        depths = [depth] * m if isinstance(depth, int) else list(depth)
        if len(depths) != m or any(a < b for a, b in zip(depths, depths[1:])) or min(depths) < 1:
            raise ValueError(f"depths must be >= 1, one per model, deepest first: {depths}")
        self.arch, self.depths, self.depth = arch, depths, depths[0]
        # models using hidden layer l: a prefix, as the depths do not increase
        self.active = [sum(d > layer for d in depths) for layer in range(self.depth)]
        # each model draws from its own generator in nn.Linear's order, layer by layer (weight,
        # then bias), then its read-out: its weights do not depend on what it is stacked with
        drawn = []
        for g, d in zip(gens, depths):
            dims = [n_in] + [width] * d + [n_out]
            layers = []
            for fan_in, fan_out in zip(dims[:-1], dims[1:]):
                bound = 1.0 / math.sqrt(fan_in)  # nn.Linear's default init
                w = (torch.rand(fan_in, fan_out, generator=g) * 2 - 1) * bound
                layers.append((w, (torch.rand(1, fan_out, generator=g) * 2 - 1) * bound))
            drawn.append(layers)
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for layer, k in enumerate(self.active + [m]):  # hidden layers, then the read-out (all)
            pick = [drawn[i][layer if layer < self.depth else -1] for i in range(k)]
            self.weights.append(nn.Parameter(torch.stack([w for w, _ in pick]).to(device)))
            self.biases.append(nn.Parameter(torch.stack([b for _, b in pick]).to(device)))
        kw = dict(norm_kw or {})
        # plain: one norm per hidden layer; residual: one per block (layers 1..depth-1) and one
        # before the read-out, which every model has
        sizes = self.active if arch == "plain" else self.active[1:] + [m]
        self.norms = nn.ModuleList(StackedNorm(norm, k, width, device=device, **kw) for k in sizes)

    def forward(self, x):  # x: M,B,in -> logits M,B,C
        w, b, relu = self.weights, self.biases, torch.relu
        ended = []  # hidden states of the models whose layers are done, shallowest first

        def keep(h, k):  # the first k models go on
            if k < h.shape[0]:
                ended.append(h[k:])
                return h[:k]
            return h

        if self.arch == "plain":
            h = x
            for layer, k in enumerate(self.active):
                h = keep(h, k)
                h = relu(self.norms[layer](torch.baddbmm(b[layer], h, w[layer])))
        else:
            h = torch.baddbmm(b[0], x, w[0])
            for layer in range(1, self.depth):
                h = keep(h, self.active[layer])
                h = h + torch.baddbmm(b[layer], relu(self.norms[layer - 1](h)), w[layer])
        if ended:
            h = torch.cat([h] + ended[::-1])
        if self.arch != "plain":
            h = relu(self.norms[-1](h))
        return torch.baddbmm(b[-1], h, w[-1])


def norm_kwargs(cfg: dict) -> dict:
    """The normalization settings of the ``training`` config, as ``StackedNorm`` takes them."""
    return {"eps": cfg["eps"], "groups": cfg["groupnorm_groups"], "dyt_alpha": cfg["dyt_alpha"]}


def per_model_ce(logits, y):
    """Mean cross-entropy per stacked model: logits S,B,C, y S,B -> S."""
    logp = torch.log_softmax(logits, dim=-1)
    return -logp.gather(-1, y.unsqueeze(-1)).squeeze(-1).mean(-1)


# ---------------------------------------------------------------- one condition, all seeds


def train_steps(model, order, x_tr, y_tr, log_steps: list[int], cfg: dict, device):
    """Train the stacked ``model`` for ``cfg['steps']`` Adam steps on the batches ``order``
    (M,steps,B indices into the training set); return the loss per step and model (steps,M)
    and the per-layer weight-gradient norms at the logged steps (T,L,M; NaN where a model has
    no such layer), both still on the device."""
    params = list(model.parameters())
    opt = StackedAdam(params)  # torch.optim.Adam(fused=True)'s update without its Python work
    steps, n_models = cfg["steps"], order.shape[0]
    # logged on the device and copied to the host once, after training: the loop never waits
    # for the device (on a GPU a per-step copy would be a synchronisation every step)
    row_of = {s: t for t, s in enumerate(log_steps)}
    losses = torch.empty(steps, n_models, device=device)
    # T,L,M; NaN where a model has no such layer
    grads = torch.full((len(log_steps), model.depth, n_models), float("nan"), device=device)
    for step in range(steps):
        idx = order[:, step]  # M,B
        loss_s = per_model_ce(model(x_tr[idx]), y_tr[idx])  # M
        # gradients written by backward, not added to zeroed buffers (one kernel per weight less)
        for p in params:
            p.grad = None
        loss_s.sum().backward()
        with torch.no_grad():
            losses[step] = loss_s
            if step in row_of:
                for layer, w in enumerate(model.weights[:-1]):  # a layer holds the first k models
                    grads[row_of[step], layer, : w.shape[0]] = w.grad.flatten(1).norm(dim=1)
        # a model that diverged goes on with NaN in its own slice only: every kernel here
        # (batched matmuls, per-model normalization and loss, elementwise Adam) keeps the
        # models' slices apart, so the others train as they would alone
        opt.step(cfg["lr"])
    return losses, grads


def held_out_scores(model, x_te, y_te, n_models: int):
    """Test loss and accuracy per model (accuracy NaN for a model with non-finite logits)."""
    model.eval()
    with torch.no_grad():
        logits = model(x_te.expand(n_models, -1, -1))
        y = y_te.expand(n_models, -1)
        test_loss = per_model_ce(logits, y).cpu().numpy()
        acc = (logits.argmax(-1) == y).float().mean(-1).cpu().numpy()
        finite = torch.isfinite(logits).all(-1).all(-1).cpu().numpy()
    return test_loss, np.where(finite, acc, np.nan)  # argmax of NaN logits is not a prediction


def summary_row(ident: dict, seed: int, i: int, d: int, measured: dict, cfg: dict) -> dict:
    """The summary row of model ``i`` (depth ``d``, seed ``seed``) from the host arrays of
    ``train_condition``: ``loss`` (steps,M), ``grads`` (T,L,M), ``acc``, ``test_loss``,
    ``diverged_step`` (M)."""
    loss, lg, ds = measured["loss"][:, i], measured["grads"], measured["diverged_step"]
    return {
        **ident,
        "seed": seed,
        "test_accuracy": float(measured["acc"][i]),
        "test_loss": float(measured["test_loss"][i]),
        "final_train_loss": float(np.mean(loss[-cfg["oscillation_window"] :])),
        "steps_to_threshold": steps_to_threshold(loss, cfg["loss_threshold"], cfg["smooth_window"]),
        "loss_oscillation": loss_oscillation(loss, cfg["oscillation_window"]),
        "grad_norm_first_layer_init": float(lg[0, 0, i]),
        "grad_norm_last_layer_init": float(lg[0, d - 1, i]),
        "diverged": bool(ds[i] >= 0),
        "diverged_step": int(ds[i]),
    }


def depth_frames(ident: dict, seeds: list[int], ls: np.ndarray, ll: np.ndarray, g: np.ndarray):
    """Curve rows (loss and first-layer gradient norm per logged step and seed) and per-layer
    gradient rows of one depth: ``ll`` its logged losses (T,S), ``g`` its gradients (T,d,S)."""
    t_n, l_n, s_n = g.shape
    curves = pd.DataFrame(
        {
            **ident,
            "seed": np.tile(seeds, t_n),
            "step": np.repeat(ls, s_n),
            "loss": ll.ravel(),
            "grad_norm": g[:, 0, :].ravel(),
        }
    )
    ti, li, si = np.meshgrid(np.arange(t_n), np.arange(l_n), np.arange(s_n), indexing="ij")
    layers = pd.DataFrame(
        {
            **ident,
            "seed": np.asarray(seeds)[si.ravel()],
            "step": ls[ti.ravel()],
            "layer": li.ravel(),
            "grad_norm": g.ravel(),
        }
    )
    return curves, layers


def model_batches(base_seed: int, dataset: str, models: list, n_train: int, cfg: dict, device):
    """The training-set indices of every model's batches (M,steps,B): each seed's own batch
    order, the same for every norm/depth/arch (common random numbers)."""
    steps, bs = cfg["steps"], cfg["batch_size"]
    by_seed = {
        s: batch_indices(numpy_rng(base_seed, "training-batches", dataset, s), n_train, bs, steps)
        for s in dict.fromkeys(s for _, s in models)
    }
    return torch.as_tensor(np.stack([by_seed[s] for _, s in models]), device=device)


def train_condition(
    data,
    dataset: str,
    norm: str,
    depth: int | list[int],
    arch: str,
    seeds: list[int],
    cfg: dict,
    base_seed: int,
    device="cpu",
):
    """Train S seeds of one condition, or of several depths of it at once (``depth`` a list:
    one stacked model, see ``StackedMLP``); return (summary rows, curve rows, layer-grad
    rows), conditions in the order given, seeds in order within each."""
    depths = [depth] if isinstance(depth, int) else list(dict.fromkeys(depth))
    x_tr, y_tr, x_te, y_te = (t.to(device) for t in data)
    n_classes = int(max(y_tr.max(), y_te.max())) + 1
    # the models, deepest first (StackedMLP's order): (depth, seed)
    models = [(d, s) for d in sorted(depths, reverse=True) for s in seeds]
    gens = [torch_generator(base_seed, "training-init", dataset, d, arch, s) for d, s in models]
    model = StackedMLP(
        x_tr.shape[1],
        n_classes,
        cfg["width"],
        [d for d, _ in models],
        arch,
        norm,
        gens,
        norm_kwargs(cfg),
        device,
    )
    order = model_batches(base_seed, dataset, models, len(x_tr), cfg, device)  # M,steps,B
    steps, every = cfg["steps"], cfg["log_every"]
    log_steps = [s for s in range(steps) if s % every == 0 or s == steps - 1]
    losses, grads = train_steps(model, order, x_tr, y_tr, log_steps, cfg, device)
    test_loss, acc = held_out_scores(model, x_te, y_te, len(models))

    loss_np = losses.cpu().numpy().astype(np.float64)  # steps,M
    # diverged: the first step whose loss is NaN or inf (recorded, not raised)
    bad = ~np.isfinite(loss_np)
    measured = {
        "loss": loss_np,
        "grads": grads.cpu().numpy().astype(np.float64),  # T,L,M
        "acc": acc,
        "test_loss": test_loss,
        "diverged_step": np.where(bad.any(0), bad.argmax(0), -1),
    }
    ls = np.asarray(log_steps)
    summary, curves, layers = [], [], []
    for d in depths:
        ms = [i for i, (md, _) in enumerate(models) if md == d]  # this depth's models, by seed
        ident = {"dataset": dataset, "norm": norm, "depth": d, "arch": arch}
        summary += [summary_row(ident, models[i][1], i, d, measured, cfg) for i in ms]
        c, lay = depth_frames(ident, seeds, ls, loss_np[ls][:, ms], measured["grads"][:, :d, ms])
        curves.append(c)
        layers.append(lay)
    return summary, pd.concat(curves, ignore_index=True), pd.concat(layers, ignore_index=True)


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
    """All conditions of ``cfg['datasets']``: summary, curves and per-layer gradient norms.
    The depths of one (dataset, arch, norm) train as one stacked model; the rows come in the
    order of ``conditions``."""
    base_seed = seed
    seeds = list(range(cfg["n_seeds"]))
    todo = conditions(cfg)
    if progress:
        progress.begin(len(todo))
    data_cache, done = {}, {}
    groups = list(dict.fromkeys((d, n, a) for d, n, _, a in todo))
    for dataset, norm, arch in groups:
        if dataset not in data_cache:
            data_cache[dataset] = load_dataset(
                dataset, base_seed, cfg["test_fraction"], cfg["synthetic"]
            )
        depths = [depth for d, n, depth, a in todo if (d, n, a) == (dataset, norm, arch)]
        rows, cond_curves, cond_layers = train_condition(
            data_cache[dataset], dataset, norm, depths, arch, seeds, cfg, base_seed, device
        )
        for depth in depths:
            done[(dataset, norm, depth, arch)] = (
                [r for r in rows if r["depth"] == depth],
                cond_curves[cond_curves["depth"] == depth],
                cond_layers[cond_layers["depth"] == depth],
            )
        if progress:
            progress.update(
                len(done),
                f"dataset={dataset} arch={arch} norm={norm} depths={depths} "
                f"acc={np.nanmean([r['test_accuracy'] for r in rows]):.3f}",
            )
    parts = [done[c] for c in todo]
    return {
        "summary": pd.DataFrame([r for rows, _, _ in parts for r in rows])[SUMMARY_COLUMNS],
        "curves": pd.concat([c for _, c, _ in parts], ignore_index=True),
        "layer_grads": pd.concat([g for _, _, g in parts], ignore_index=True),
    }
