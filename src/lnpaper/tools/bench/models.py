"""The training loops of ``training`` and ``transformer`` against raw ``torch.bmm``, the ceiling
of that ratio (the hidden layers in bare kernels) and whether ``torch.compile`` would pay for
itself (``lnpaper bench --models`` / ``--compile``)."""

from __future__ import annotations

import os
import tempfile
import time

from lnpaper.tools.bench.builds import default_config
from lnpaper.tools.bench.scale import raw_bmm_seconds


def _rate_row(name: str, cpu: float, counts: dict, raw: dict) -> dict:
    """One condition class: its matmul FLOPs over its CPU seconds, and raw bmm's time for the
    same calls over the model's time (1 = the training loop costs only its matmuls)."""
    flop = sum(c * 2 * s * m * k * n for (s, m, k, n), c in counts.items())
    raw_s = sum(c * raw[shape] for shape, c in counts.items())
    return {"class": name, "cpu_s": cpu, "gflops": flop / cpu / 1e9, "ratio": raw_s / cpu}


def hidden_matmuls(depths: list[int], n_seeds: int, batch: int, width: int, steps: int) -> dict:
    """(batch, m, k, n) -> calls of the hidden-layer products W h of ``training``'s stacked
    model: hidden layer l (l >= 1; layer 0 reads the input) holds the seeds of every depth
    deeper than l, and each step runs its forward and two backward products."""
    counts: dict[tuple, int] = {}
    for layer in range(1, max(depths)):
        k = n_seeds * sum(d > layer for d in depths)
        shape = (k, batch, width, width)
        counts[shape] = counts.get(shape, 0) + 3 * steps
    return counts


# The ceiling: what any eager implementation of the training step could reach on this machine.
# The bare loop below runs only the kernels that the hidden layers of one (arch, norm) class
# cannot do without (the counted matmuls, the bias, ReLU, LayerNorm forward and backward, Adam)
# on the stacked shapes and with the memory footprint of the real step, and nothing else: no
# autograd graph, no loss or read-out, no per-model affine, no logging. Raw bmm in the ratio runs
# on operands hot in cache; the step cannot keep its ~25 MB of activations and ~25 MB of
# weights and Adam moments there, so even this loop falls short of 1.
CEILING_KINDS = ("matmuls", "none", "layernorm")


def bare_step(ws, bs, x, active: list[int], kind: str, eps: float = 1e-5):
    """One step of the stacked plain MLP's hidden layers in bare ATen kernels; returns the
    gradients of sum(every model's last hidden state) for the weights and biases, layer by
    layer (tests check them against autograd).

    ``ws[l]`` (k_l, in, out) and ``bs[l]`` (k_l, 1, out) hold the first k_l = ``active[l]``
    models (deepest first, as ``training.StackedMLP``). ``kind``: ``matmuls`` (h <- h W, the
    three products per layer and nothing else), ``none`` (h <- ReLU(h W + b)) or ``layernorm``
    (h <- ReLU(LN(h W + b)), LN without affine)."""
    import torch

    if kind not in CEILING_KINDS:
        raise ValueError(f"unknown kind {kind!r}; known: {', '.join(CEILING_KINDS)}")
    h, hs, saved = x, [x], []
    for w, b, k in zip(ws, bs, active):
        h = h[:k]
        if kind == "matmuls":
            h = torch.bmm(h, w)
        else:
            z = torch.baddbmm(b, h, w)
            if kind == "layernorm":
                n, mean, rstd = torch.native_layer_norm(z, z.shape[-1:], None, None, eps)
                saved.append((z, mean, rstd))
                z = n
            h = torch.relu(z)
        hs.append(h)
    gw, gb = [None] * len(ws), [None] * len(ws)
    g = torch.ones_like(h)
    for layer in reversed(range(len(ws))):
        out = hs[layer + 1]
        if g.shape[0] < out.shape[0]:  # models whose last layer this is: d sum / d h = 1
            g = torch.cat([g, torch.ones_like(out[g.shape[0] :])])
        dz = g
        if kind != "matmuls":
            dz = torch.ops.aten.threshold_backward(g, out, 0)
            if kind == "layernorm":
                z, mean, rstd = saved[layer]
                dz = torch.ops.aten.native_layer_norm_backward(
                    dz, z, z.shape[-1:], mean, rstd, None, None, [True, False, False]
                )[0]
            gb[layer] = dz.sum(1, keepdim=True)
        k = active[layer]
        gw[layer] = torch.bmm(hs[layer][:k].transpose(1, 2), dz)
        if layer:
            g = torch.bmm(dz, ws[layer].transpose(1, 2))
    return gw, gb


def ceiling_rates(cfg: dict, steps: int, rounds: int = 3) -> list[dict]:
    """The bare loop (``bare_step``, plus one fused Adam step over all weights and biases for
    ``none`` and ``layernorm``) on the default stacked shapes: one rate row per kind, CPU seconds
    of ``steps`` steps, best of ``rounds``, against raw bmm on the counted shapes. ``cfg``: the
    ``training`` config (depths, seeds, width, batch, eps, lr)."""
    import torch

    from lnpaper.experiments.optim import StackedAdam

    depths, n_seeds = cfg["depths"], cfg["n_seeds"]
    batch, width = cfg["batch_size"], cfg["width"]

    gen = torch.Generator().manual_seed(0)
    active = [n_seeds * sum(d > layer for d in depths) for layer in range(max(depths))]
    bound = width**-0.5  # nn.Linear's default init, as training's models
    ws = [(torch.rand(k, width, width, generator=gen) * 2 - 1) * bound for k in active]
    bs = [(torch.rand(k, 1, width, generator=gen) * 2 - 1) * bound for k in active]
    x = torch.randn(active[0], batch, width, generator=gen)
    counts = hidden_matmuls(depths, n_seeds, batch, width, steps)
    rows = []
    for kind in CEILING_KINDS:
        params = [p.clone() for p in ws + bs]
        opt = StackedAdam(params) if kind != "matmuls" else None

        def step(kind=kind, params=params, opt=opt):
            n = len(ws)
            gw, gb = bare_step(params[:n], params[n:], x, active, kind, cfg["eps"])
            if opt is not None:
                for p, g in zip(params, gw + gb):
                    p.grad = g
                opt.step(cfg["lr"])

        step()  # warm-up
        best = float("inf")
        for _ in range(rounds):
            t0 = time.process_time()
            for _ in range(steps):
                step()
            best = min(best, time.process_time() - t0)
        raw = dict(zip(counts, raw_bmm_seconds(list(counts))))
        name = f"bare kernels: {kind}" + (" + Adam" if opt is not None else "")
        rows.append(_rate_row(name, best, counts, raw))
    return rows


def model_rates(threads: int = 1, steps: int = 100) -> dict:
    """Effective matmul rate of ``training`` and ``transformer`` per condition class (default
    config, ``steps`` training steps), against raw ``torch.bmm`` on the same shapes timed in this
    process right after each class (so machine load hits both sides). CPU seconds
    (``time.process_time``), ``threads`` torch threads.

    Counted matmuls: training, the hidden layers' W h products of one (arch, norm) with all
    its depths stacked (``hidden_matmuls``); transformer, every encoder matmul (projections,
    feed-forward, attention scores and mixing) and the read-out, forward and backward.
    """
    from lnpaper.experiments import training
    from lnpaper.pipeline.runtime import setup_torch

    setup_torch(threads, "cpu")
    cfg = default_config()
    seed = cfg["seed"]
    out = {"threads": threads, "steps": steps, "training": [], "transformer": []}

    tc = {**cfg["training"], "steps": steps}
    data = training.load_dataset("digits", seed, tc["test_fraction"], tc["synthetic"])
    seeds = list(range(tc["n_seeds"]))
    depths = tc["depths"]
    counts = hidden_matmuls(depths, len(seeds), tc["batch_size"], tc["width"], steps)
    # warm-up (first-call costs: allocator, kernels' one-time set-up), not timed
    training.train_condition(
        data, "digits", "layernorm", 2, "plain", seeds, {**tc, "steps": 2}, seed
    )
    for arch in tc["archs"]:
        for norm in tc["norms"]:
            t0 = time.process_time()
            training.train_condition(data, "digits", norm, depths, arch, seeds, tc, seed)
            cpu = time.process_time() - t0
            raw = dict(zip(counts, raw_bmm_seconds(list(counts))))
            name = f"{arch}, {norm}, depths {'/'.join(map(str, depths))}"
            out["training"].append(_rate_row(name, cpu, counts, raw))
    out["ceiling"] = ceiling_rates(tc, steps)

    out["transformer"] = _transformer_rates(cfg["transformer"], steps, seed)
    return out


def _transformer_rates(tcfg: dict, steps: int, seed: int) -> list[dict]:
    """The transformer's rate rows (one per arch): every encoder matmul and the read-out,
    forward and backward, in the deepest encoder (see ``model_rates``)."""
    from lnpaper.experiments import transformer

    xc = {**tcfg, "steps": steps}
    rows = []
    runs = list(range(xc["n_seeds"]))
    s, n = len(xc["warmup"]) * len(runs), xc["batch_size"] * xc["seq_len"]
    d, f, v, t, h = xc["d_model"], xc["ffn"], xc["vocab"], xc["seq_len"], xc["heads"]
    per_layer = [  # (batch, m, k, n) of each forward matmul of one encoder layer
        (s, n, d, 3 * d),
        (s, n, d, d),
        (s, n, d, f),
        (s, n, f, d),
        (s * xc["batch_size"] * h, t, d // h, t),
        (s * xc["batch_size"] * h, t, t, d // h),
    ]
    layers = max(xc["layers"])
    transformer.train_runs({**xc, "steps": 2}, 1, xc["archs"][0], xc["warmup"], seed, runs)
    for arch in xc["archs"]:
        t0 = time.process_time()
        transformer.train_runs(xc, layers, arch, xc["warmup"], seed, runs)
        cpu = time.process_time() - t0
        counts = {k: 3 * layers * steps for k in per_layer}
        counts[(s, n, d, v)] = 3 * steps
        raw = dict(zip(counts, raw_bmm_seconds(list(counts))))
        name = f"{arch}, {layers} layers, {s} runs"
        rows.append(_rate_row(name, cpu, counts, raw))
    return rows


def compile_payback(
    threads: int = 1,
    steps: int = 30,
    rounds: int = 3,
    norm: str = "layernorm",
    arch: str = "plain",
    cache_dir: str | None = None,
) -> dict:
    """Would ``torch.compile`` pay for itself in the default build? One ``training`` class
    (digits, ``arch``, ``norm``, every depth stacked, default seeds and width): the model's
    forward and loss compiled with TorchInductor from a cold cache, against eager.

    Compile cost: wall seconds of the first compiled step (TorchInductor compiles its C++ in
    worker processes, which ``time.process_time`` would not see) minus one eager step. Step
    cost: CPU seconds per step, eager and compiled interleaved, best of ``rounds`` runs of
    ``steps`` steps. Every (dataset, arch, norm) of the default build is its own graph (the
    norms differ, and so do the datasets' input widths), so the build would compile
    ``classes`` graphs and save ``saved per step x config steps`` on each. ``cache_dir``: an
    existing TorchInductor cache to reuse (a warm start) instead of a fresh, empty one."""
    if cache_dir is None:  # a cold start, in a cache that is removed afterwards
        with tempfile.TemporaryDirectory(prefix="lnpaper-inductor-") as tmp:
            return compile_payback(threads, steps, rounds, norm, arch, cache_dir=tmp)
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache_dir  # read when TorchInductor first compiles
    import torch

    from lnpaper.experiments import training
    from lnpaper.pipeline.runtime import setup_torch

    setup_torch(threads, "cpu")
    full = default_config()
    cfg = full["training"]
    model, params, opt, x, y = _one_class(full, arch, norm)

    def eager(x, y):
        return training.per_model_ce(model(x), y)

    compiled = torch.compile(eager)

    def step(fn):
        loss = fn(x, y)
        for p in params:
            p.grad = None
        loss.sum().backward()
        opt.step(cfg["lr"])

    compile_s, best = _time_eager_and_compiled(step, eager, compiled, steps, rounds)
    classes = len(cfg["datasets"]) * len(cfg["archs"]) * len(cfg["norms"])
    return {
        "class": f"digits, {arch}, {norm}, depths {'/'.join(map(str, cfg['depths']))}",
        "threads": threads,
        **payback(compile_s, best["eager"], best["compiled"], cfg["steps"], classes),
    }


def _one_class(full: dict, arch: str, norm: str):
    """One training class of the default config on digits, every depth stacked: the model, its
    parameters, its optimizer and one fixed batch."""
    import torch

    from lnpaper.experiments import training
    from lnpaper.experiments.optim import StackedAdam

    cfg = full["training"]
    x_tr, y_tr, _, _ = training.load_dataset(
        "digits", full["seed"], cfg["test_fraction"], cfg["synthetic"]
    )
    depths = [d for d in sorted(cfg["depths"], reverse=True) for _ in range(cfg["n_seeds"])]
    gens = [torch.Generator().manual_seed(i) for i in range(len(depths))]
    n_classes = int(y_tr.max()) + 1
    model = training.StackedMLP(
        x_tr.shape[1], n_classes, cfg["width"], depths, arch, norm, gens, training.norm_kwargs(cfg)
    )
    params = list(model.parameters())
    opt = StackedAdam(params)
    g = torch.Generator().manual_seed(0)
    idx = torch.randint(0, len(x_tr), (len(depths), cfg["batch_size"]), generator=g)
    x, y = x_tr[idx], y_tr[idx]
    return model, params, opt, x, y


def _time_eager_and_compiled(step, eager, compiled, steps: int, rounds: int):
    """Compile seconds (the first compiled step, less one eager step) and the best CPU seconds
    per step of each, interleaved over ``rounds``."""
    step(eager)  # first-call costs of the eager kernels, not counted
    t0 = time.perf_counter()
    step(eager)
    one_eager = time.perf_counter() - t0
    t0 = time.perf_counter()
    step(compiled)
    compile_s = time.perf_counter() - t0 - one_eager
    best = {"eager": float("inf"), "compiled": float("inf")}
    for _ in range(rounds):
        for name, fn in (("eager", eager), ("compiled", compiled)):
            t0 = time.process_time()
            for _ in range(steps):
                step(fn)
            best[name] = min(best[name], (time.process_time() - t0) / steps)
    return compile_s, best


def payback(compile_s: float, eager_s: float, compiled_s: float, steps: int, classes: int) -> dict:
    """Compile once per class, save (eager - compiled) per step on each of ``steps`` steps."""
    saved = eager_s - compiled_s
    return {
        "compile_s": compile_s,
        "eager_step_s": eager_s,
        "compiled_step_s": compiled_s,
        "config_steps": steps,
        "classes": classes,
        "build_compile_s": compile_s * classes,
        "build_saved_s": saved * steps * classes,
        "break_even_steps": compile_s / saved if saved > 0 else float("inf"),
        "paid_back": saved * steps >= compile_s,
    }
