"""``lnpaper bench``: how the build feels, as one Markdown table (README "Performance").

Measures, in throw-away copies of the workflow (never in the checkout itself), each repeated:
- the full build from clean (``snakemake --cores 4``, default config, tracking on) against the
  same step functions called in one Python process (no Snakemake, no MLflow);
- a no-change rerun; a one-parameter edit (one ``affine.gamma`` value): jobs run and wall time;
- the tracking step's share of the build (its Snakemake benchmark);
- matmul at scale: 1000 seeds, n = 1024, batched, as a fraction of the raw ``torch.bmm`` FLOP rate
  measured on the same shapes in the same process, and the peak memory of that process;
- the training loops of ``training`` (per arch x norm, all depths in one stacked model, as
  the pipeline runs them) and ``transformer`` (per arch, deepest encoder): effective GFLOP/s
  of their matmuls and the ratio of raw ``torch.bmm`` on the same shapes to the loop's CPU
  seconds (``--models`` runs only this part; use
  ``--threads 1`` to compare with the targets), and the ceiling of that ratio: the training
  step's hidden layers in bare kernels (``bare_step``).

Targets: build/compute <= 1.25, rerun <= 3 s, edit <= 20 % of the build, tracking
<= 10 %, matmul >= 0.7 of raw bmm, training loop >= 0.5 of raw bmm (median over condition
classes). The table says which are met.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import runpy
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lnpaper.pipeline import paths

ROOT = Path(__file__).resolve().parents[3]
WORKFLOW_FILES = ("Snakefile", "config.yaml", "environment.yml", "pyproject.toml")
WORKFLOW_DIRS = ("workflow", "src", "manuscript")


def copy_workflow(dest: Path, root: Path = ROOT) -> Path:
    """The workflow as a fresh clone has it (no results, no MLflow store)."""
    for name in WORKFLOW_FILES:
        shutil.copy2(root / name, dest / name)
    for name in WORKFLOW_DIRS:
        if (root / name).exists():
            shutil.copytree(
                root / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
            )
    return dest


def snakemake_exe() -> str:
    return str(Path(sys.executable).with_name("snakemake"))


def run_snakemake(cwd: Path, *args: str) -> tuple[float, list[str]]:
    """Wall time and the rules of the jobs that ran (``all`` left out)."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [snakemake_exe(), "--cores", "4", *args], cwd=cwd, capture_output=True, text=True
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"snakemake failed in {cwd}:\n{proc.stderr[-3000:]}")
    rules = re.findall(r"Finished jobid: \d+ \(Rule: (\w+)\)", proc.stderr + proc.stdout)
    return wall, [r for r in rules if r != "all"]


def benchmark_seconds(path: Path) -> float:
    from lnpaper.report.runtime_table import read_benchmark

    return read_benchmark(path)["wall_s"] if path.exists() else float("nan")


# ---- compute only: every science step's adapter, in this one process --------------------------


class _Captured(Exception):
    pass


def load_compute(script: Path):
    """The compute function a workflow adapter hands to ``run_step``, without running Snakemake.

    The adapter runs with ``run_step`` swapped for a catcher, so the benchmark calls exactly the
    code the rule calls; returns ``(compute, kind, uses_torch)``.
    """
    from lnpaper.pipeline import step

    captured = {}

    def catch(smk, kind, compute, uses_torch=False):
        captured.update(compute=compute, kind=kind, uses_torch=uses_torch)
        raise _Captured

    real, step.run_step = step.run_step, catch
    try:
        runpy.run_path(str(script), init_globals={"snakemake": None})
    except _Captured:
        pass
    finally:
        step.run_step = real
    return captured["compute"], captured["kind"], captured["uses_torch"]


def rule_threads(workdir: Path, step: str, cores: int) -> int:
    """The ``threads:`` a rule declares (1 if none), capped at ``cores``: what Snakemake gives it."""
    rule = re.sub(r"_(digits|synthetic)$", "", step) if step.startswith("training_part") else step
    rule = (
        "table" if rule.startswith("table_") else "figure" if rule.startswith("figure_") else rule
    )
    for smk in (Path(workdir) / "workflow/rules").glob("*.smk"):
        m = re.search(rf"(?ms)^rule {rule}:\n(.*?)(?=^rule |\Z)", smk.read_text())
        if m:
            t = re.search(r"^\s+threads:\s*(\d+)", m.group(1), re.M)
            return min(cores, int(t.group(1))) if t else 1
    return 1


def compute_only(workdir: Path, threads: int) -> dict[str, float]:
    """data, every enabled experiment, table and figure of ``workdir/config.yaml``: seconds each.

    Each step gets the threads its rule declares (capped at ``threads``), as under Snakemake.
    """
    from lnpaper.pipeline import io, registry
    from lnpaper.pipeline.config import load_yaml, validate
    from lnpaper.pipeline.runtime import setup_torch
    from lnpaper.pipeline.step import StepContext

    workdir = Path(workdir)
    cfg = validate(
        load_yaml(workdir / "config.yaml"),
        load_yaml(workdir / "workflow/schemas/config.schema.yaml"),
    )
    scripts = workdir / "workflow/scripts"
    out = Path(tempfile.mkdtemp(prefix="compute-only-"))
    matrices = str(out / "data/matrices.parquet")
    exp_path = {}
    times = {}

    def call(name, script, params, files, outputs, wildcards=None):
        t0 = time.perf_counter()
        for p in outputs.values():
            Path(p).parent.mkdir(parents=True, exist_ok=True)
        n = rule_threads(workdir, name, threads)
        compute, _, uses_torch = load_compute(scripts / script)
        device = setup_torch(n, params.get("device", "cpu")) if uses_torch else "cpu"
        ctx = StepContext(name, params, files, outputs, n, wildcards or {}, device)
        result = compute(ctx)
        for key, frame in result.frames.items():
            io.write_parquet(frame, outputs[key])
        times[name] = time.perf_counter() - t0

    common = {"seed": cfg["seed"], "device": cfg["device"]}
    call("data", "data.py", {"data": cfg["data"], **common}, {}, {"matrices": matrices})
    for exp in registry.enabled_experiments(cfg):
        outputs = {
            name: str(out / f"experiments/{exp}/{name}.parquet")
            for name in registry.EXPERIMENTS[exp]
        }
        exp_path.update({f"{exp}/{k}": v for k, v in outputs.items()})
        files = {"matrices": matrices} if exp in ("layernorm_stats", "affine") else {}
        if exp == "training":  # one part per dataset, then the join (workflow/rules/training.smk)
            files = {"parts": {}, "manifests": {}}
            for d in cfg["training"]["datasets"]:
                part = {name: str(out / f"parts/{d}/{name}.parquet") for name in outputs}
                call(
                    f"training_part_{d}",
                    "training_part.py",
                    {exp: cfg[exp], **common},
                    {},
                    part,
                    {"dataset": d},
                )
                files["parts"][d] = part
                files["manifests"][d] = str(out / f"parts/{d}/manifest.json")
                io.write_json({"device_used": "cpu"}, files["manifests"][d])
        call(exp, f"{exp}.py", {exp: cfg[exp], **common}, files, outputs)

    def sources_params(sources):
        slices = {registry.experiment_of(s): cfg[registry.experiment_of(s)] for s in sources}
        return {"experiments": slices, "language": cfg["language"], "seed": cfg["seed"]}

    for table in registry.enabled_tables(cfg):
        srcs = registry.table_sources(table, cfg)
        script, key = ("claims.py", "claims") if table == "claims" else ("table.py", "table")
        call(
            f"table_{table}",
            script,
            {key: sources_params(srcs)},
            {s: exp_path[s] for s in srcs},
            {ext: str(out / f"tables/{table}.{ext}") for ext in ("csv", "md", "tex")},
            {"table": table},
        )
    for fig in registry.enabled_figures(cfg):
        srcs = registry.FIGURES[fig]
        call(
            f"figure_{fig}",
            "figure.py",
            {"figure": sources_params(srcs)},
            {s: exp_path[s] for s in srcs},
            {ext: str(out / f"figures/{fig}.{ext}") for ext in ("png", "pdf")},
            {"figure": fig},
        )
    shutil.rmtree(out, ignore_errors=True)
    return times


# ---- matmul at scale ----------------------------------------------------------------------------


def default_config() -> dict:
    """The checkout's config.yaml, read as the Snakefile reads it."""
    from lnpaper.pipeline.config import load_yaml

    return load_yaml(ROOT / "config.yaml")


def timed_bmm(a, b, device: str) -> float:
    """Wall seconds of one raw ``torch.bmm(a, b)``."""
    import torch

    if device != "cpu":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    torch.bmm(a, b)
    if device != "cpu":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def scale_run(n_seeds: int, n: int, steps: int, threads: int, device: str) -> dict:
    """matmul.simulate at scale vs raw bmm on the same shapes, in this process.

    Each step costs one float64 bmm (exact track) and two float32 bmms (naive, LayerNorm) per
    seed batch. Right after each batch the same three raw bmms are timed on random operands of the
    batch's shape, so a change in machine load hits both sides; efficiency of a batch = the raw
    time of its bmms / the time simulate took for it.
    """
    import torch

    from lnpaper.experiments import matmul, theory
    from lnpaper.pipeline.runtime import setup_torch

    device = setup_torch(threads, device)
    scales = [theory.critical_scale("normal", n)]
    per = matmul.seeds_per_batch(n, len(scales))
    ops = {
        dt: (
            torch.randn(per, n, n, dtype=dt, device=device),
            torch.randn(per, n, n, dtype=dt, device=device),
        )
        for dt in (torch.float64, torch.float32)
    }
    for a, b in ops.values():
        torch.bmm(a, b)  # warm-up
    matmul.simulate_batch("normal", n, scales, range(1), 1, 42, device=device)
    batch_eff, raw64, raw32, total = [], [], [], 0.0
    for lo in range(0, n_seeds, per):
        seeds = range(lo, min(lo + per, n_seeds))
        t0 = time.perf_counter()
        matmul.simulate_batch("normal", n, scales, seeds, steps, 42, device=device)
        if device != "cpu":
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        total += dt
        raw64.append(timed_bmm(*ops[torch.float64], device))
        raw32.append(timed_bmm(*ops[torch.float32], device))
        batch_eff.append(steps * (raw64[-1] + 2 * raw32[-1]) * len(seeds) / per / dt)
    flop = 3 * 2 * n**3 * n_seeds * steps * len(scales)
    return {
        "seconds": total,
        "efficiency": batch_eff,
        "tflop": flop / 1e12,
        "raw_gflops_f64": [2 * per * n**3 / t / 1e9 for t in raw64],
        "raw_gflops_f32": [2 * per * n**3 / t / 1e9 for t in raw32],
        "seeds_per_batch": per,
        "device": device,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


# ---- the training experiments against raw bmm --------------------------------------------------


def raw_bmm_seconds(shapes: list[tuple], reps: int = 20) -> list[float]:
    """CPU seconds of one raw ``torch.bmm`` per (batch, m, k, n) shape, best of ``reps``."""
    import torch

    out = []
    for s, m, k, n in shapes:
        a, b = torch.randn(s, m, k), torch.randn(s, k, n)
        torch.bmm(a, b)  # warm-up
        best = float("inf")
        for _ in range(reps):
            t0 = time.process_time()
            torch.bmm(a, b)
            best = min(best, time.process_time() - t0)
        out.append(best)
    return out


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
    from lnpaper.experiments import training, transformer
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

    xc = {**cfg["transformer"], "steps": steps}
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
        out["transformer"].append(_rate_row(name, cpu, counts, raw))
    return out


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
    from lnpaper.experiments.optim import StackedAdam
    from lnpaper.pipeline.runtime import setup_torch

    setup_torch(threads, "cpu")
    full = default_config()
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

    def eager(x, y):
        return training.per_model_ce(model(x), y)

    compiled = torch.compile(eager)

    def step(fn):
        loss = fn(x, y)
        for p in params:
            p.grad = None
        loss.sum().backward()
        opt.step(cfg["lr"])

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
    classes = len(cfg["datasets"]) * len(cfg["archs"]) * len(cfg["norms"])
    return {
        "class": f"digits, {arch}, {norm}, depths {'/'.join(map(str, cfg['depths']))}",
        "threads": threads,
        **payback(compile_s, best["eager"], best["compiled"], cfg["steps"], classes),
    }


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


def table_compile(r: dict) -> str:
    return (
        f"torch.compile on one training class ({r['class']}), {r['threads']} thread(s):\n\n"
        "| measure | value |\n|---|---|\n"
        f"| compile, cold cache (wall s) | {r['compile_s']:.1f} |\n"
        f"| step, eager / compiled (CPU ms) | {r['eager_step_s'] * 1e3:.1f} / "
        f"{r['compiled_step_s'] * 1e3:.1f} |\n"
        f"| steps to pay back one compile | {r['break_even_steps']:.0f} "
        f"(a class trains {r['config_steps']}) |\n"
        f"| default build, {r['classes']} classes: compile / saved (s) | "
        f"{r['build_compile_s']:.0f} / {r['build_saved_s']:.0f} |\n"
        f"| paid back within the build | {'yes' if r['paid_back'] else 'no'} |\n"
    )


def table_models(rates: dict) -> str:
    """The per-class rows and, per experiment, min / median / max over classes."""
    lines = [
        f"Training loops vs raw bmm ({rates['steps']} steps, {rates['threads']} thread(s), CPU s):",
        "",
        "| experiment | condition class | CPU s | GFLOP/s | / raw bmm |",
        "|---|---|---|---|---|",
    ]
    for exp in ("training", "transformer"):
        for r in rates[exp]:
            lines.append(
                f"| {exp} | {r['class']} | {r['cpu_s']:.2f} | {r['gflops']:.1f} | {r['ratio']:.2f} |"
            )
    for r in rates.get("ceiling", []):  # the same hidden layers in bare kernels: an upper bound
        lines.append(
            f"| training ceiling | {r['class']} | {r['cpu_s']:.2f} | {r['gflops']:.1f} | {r['ratio']:.2f} |"
        )
    lines += ["", "| experiment | / raw bmm, min / median / max over classes | target | verdict |"]
    lines.append("|---|---|---|---|")
    ratios = [r["ratio"] for r in rates["training"]]
    lines.append(f"| training | {spread(ratios)} | >= 0.5 | {verdict(ratios, 0.5, False)} |")
    ratios = [r["ratio"] for r in rates["transformer"]]
    lines.append(f"| transformer | {spread(ratios)} | | |")
    if rates.get("ceiling"):
        lines += [
            "",
            "Training ceiling: the hidden layers' unavoidable kernels alone (no autograd, loss, "
            "read-out, per-model affine or logging), best of 3; a training class cannot beat "
            "the ceiling row of its own normalization.",
        ]
    return "\n".join(lines) + "\n"


# ---- the whole benchmark ------------------------------------------------------------------------


def edit_gamma(workdir: Path) -> None:
    """Change one gamma value of config.yaml (the last one, 3.0 -> 4.0 by default)."""
    import yaml

    cfg_path = workdir / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    gammas = list(cfg["affine"]["gamma"])
    gammas[-1] = float(gammas[-1]) + 1.0
    text = cfg_path.read_text()
    new = re.sub(
        r"(?m)^(\s+gamma:\s*).*$", lambda m: m.group(1) + json.dumps(gammas), text, count=1
    )
    cfg_path.write_text(new)


def in_subprocess(fn_name: str, **kwargs) -> dict:
    """Run ``fn_name`` of this module in a fresh interpreter; its result and wall time."""
    code = (
        f"import json,sys; from lnpaper.tools import benchmark as b; "
        f"r = b.{fn_name}(**json.loads(sys.argv[1])); print('RESULT' + json.dumps(r))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code, json.dumps(kwargs, default=str)],
        capture_output=True,
        text=True,
        env=env,
        cwd=kwargs.get("workdir", None),
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{fn_name} failed:\n{proc.stderr[-3000:]}")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")][-1]
    return {"wall": wall, "result": json.loads(line[len("RESULT") :])}


def build_round(threads: int, log) -> dict:
    """One round in a fresh copy: full build, rerun, gamma edit, compute only."""
    with tempfile.TemporaryDirectory(prefix="lnpaper-bench-") as tmp:
        work = copy_workflow(Path(tmp))
        full, jobs = run_snakemake(work)
        log(f"  full build {full:.1f} s, {len(jobs)} jobs")
        track = benchmark_seconds(work / paths.benchmark_file("track"))
        rerun, rerun_jobs = run_snakemake(work)
        log(f"  no-change rerun {rerun:.2f} s, {len(rerun_jobs)} jobs")
        edit_gamma(work)
        edit, edit_jobs = run_snakemake(work)
        log(f"  gamma edit {edit:.1f} s: {' '.join(edit_jobs)}")
        compute = in_subprocess("compute_only", workdir=str(work), threads=threads)
        log(f"  compute only {compute['wall']:.1f} s")
    return {
        "full": full,
        "jobs": len(jobs),
        "track": track,
        "rerun": rerun,
        "rerun_jobs": len(rerun_jobs),
        "edit": edit,
        "edit_jobs": sorted(edit_jobs),
        "compute": compute["wall"],
        "compute_steps": compute["result"],
    }


def spread(values, fmt="{:.2f}") -> str:
    v = sorted(values)
    return " / ".join(fmt.format(x) for x in (v[0], statistics.median(v), v[-1]))


def verdict(values, target, at_most=True) -> str:
    med = statistics.median(values)
    ok = med <= target if at_most else med >= target
    if ok:
        return "met"
    miss = (med / target - 1) if at_most else (1 - med / target)
    return f"missed by {100 * miss:.0f} %"


def table(rounds: list[dict], scale: list[dict]) -> str:
    full = [r["full"] for r in rounds]
    rows = [
        ("full build, `snakemake --cores 4` (s)", spread(full, "{:.1f}"), "", ""),
        ("compute only, one process (s)", spread([r["compute"] for r in rounds], "{:.1f}"), "", ""),
        (
            "build / compute",
            spread([r["full"] / r["compute"] for r in rounds]),
            "<= 1.25",
            verdict([r["full"] / r["compute"] for r in rounds], 1.25),
        ),
        (
            "no-change rerun (s)",
            spread([r["rerun"] for r in rounds]),
            "<= 3 s",
            verdict([r["rerun"] for r in rounds], 3.0),
        ),
        ("one gamma edit (s)", spread([r["edit"] for r in rounds], "{:.1f}"), "", ""),
        (
            "one gamma edit / full build",
            spread([r["edit"] / r["full"] for r in rounds]),
            "<= 0.20",
            verdict([r["edit"] / r["full"] for r in rounds], 0.20),
        ),
        (
            "tracking / full build",
            spread([r["track"] / r["full"] for r in rounds], "{:.3f}"),
            "<= 0.10",
            verdict([r["track"] / r["full"] for r in rounds], 0.10),
        ),
    ]
    if scale:
        eff = [e for s in scale for e in s["efficiency"]]
        s0 = scale[0]
        rows += [
            (
                f"matmul at scale: {s0['n_seeds']} seeds, n = {s0['n']}, {s0['steps']} step(s), "
                f"{s0['tflop']:.1f} TFLOP, {s0['device']} (s)",
                spread([s["seconds"] for s in scale], "{:.1f}"),
                "",
                "",
            ),
            (
                "raw bmm float64 / float32 (GFLOP/s, median)",
                f"{statistics.median([g for s in scale for g in s['raw_gflops_f64']]):.0f} / "
                f"{statistics.median([g for s in scale for g in s['raw_gflops_f32']]):.0f}",
                "",
                "",
            ),
            (
                "matmul / raw bmm FLOP rate (per seed batch)",
                spread(eff),
                ">= 0.7",
                verdict(eff, 0.7, False),
            ),
            (
                "peak memory of the scale run (MB)",
                spread([s["peak_rss_mb"] for s in scale], "{:.0f}"),
                "",
                "",
            ),
        ]
    r0 = rounds[0]
    out = ["| measure | min / median / max | target | verdict |", "|---|---|---|---|"]
    out += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    out.append("")
    out.append(
        f"{len(rounds)} round(s); full build ran {r0['jobs']} jobs; no-change rerun ran "
        f"{r0['rerun_jobs']}; the gamma edit ran: {', '.join(r0['edit_jobs'])}."
    )
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lnpaper bench", description=__doc__.split("\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repeats", type=int, default=3, help="rounds of build measurements")
    parser.add_argument(
        "--threads",
        type=int,
        default=min(4, os.cpu_count() or 1),
        help="torch threads for compute-only and the scale run (default: cores, at most 4)",
    )
    parser.add_argument("--scale-seeds", type=int, default=1000)
    parser.add_argument("--scale-n", type=int, default=1024)
    parser.add_argument("--scale-steps", type=int, default=2)
    parser.add_argument("--scale-repeats", type=int, default=1)
    parser.add_argument("--device", default="auto", help="device of the scale run (auto|cpu|cuda)")
    parser.add_argument("--skip-build", action="store_true", help="only the scale run")
    parser.add_argument("--skip-scale", action="store_true", help="only the build measurements")
    parser.add_argument(
        "--models",
        action="store_true",
        help="only the training/transformer loops against raw bmm (no build, no scale run)",
    )
    parser.add_argument("--skip-models", action="store_true", help="leave out the --models part")
    parser.add_argument(
        "--compile",
        action="store_true",
        help="only: would torch.compile pay for itself in the default build (one training "
        "class, cold compile cache, a few minutes)",
    )
    parser.add_argument("--model-steps", type=int, default=100, help="steps per class (--models)")
    parser.add_argument("--json", help="also write the raw measurements here")


def run(args) -> int:
    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    if args.compile:
        log(f"torch.compile vs eager on one training class, {args.threads} thread(s)")
        r = in_subprocess("compile_payback", threads=args.threads)["result"]
        if args.json:
            Path(args.json).write_text(json.dumps({"compile": r}, indent=1))
        sys.stdout.write(table_compile(r))
        return 0
    if args.models:
        log(f"training loops vs raw bmm, {args.threads} thread(s)")
        r = in_subprocess("model_rates", threads=args.threads, steps=args.model_steps)["result"]
        if args.json:
            Path(args.json).write_text(json.dumps({"models": r}, indent=1))
        sys.stdout.write(table_models(r))
        return 0
    rounds, scale = [], []
    if not args.skip_build:
        for i in range(args.repeats):
            log(f"round {i + 1}/{args.repeats}")
            rounds.append(build_round(args.threads, log))
    if not args.skip_scale:
        for i in range(args.scale_repeats):
            log(f"scale run {i + 1}/{args.scale_repeats}")
            r = in_subprocess(
                "scale_run",
                n_seeds=args.scale_seeds,
                n=args.scale_n,
                steps=args.scale_steps,
                threads=args.threads,
                device=args.device,
            )
            res = {
                **r["result"],
                "n_seeds": args.scale_seeds,
                "n": args.scale_n,
                "steps": args.scale_steps,
            }
            log(
                f"  {res['seconds']:.1f} s, efficiency median {statistics.median(res['efficiency']):.2f}"
            )
            scale.append(res)
    models = None
    if not args.skip_models:
        log(f"training loops vs raw bmm, {args.threads} thread(s)")
        models = in_subprocess("model_rates", threads=args.threads, steps=args.model_steps)
        models = models["result"]
    if args.json:
        Path(args.json).write_text(
            json.dumps({"rounds": rounds, "scale": scale, "models": models}, indent=1)
        )
    if rounds:
        sys.stdout.write(table(rounds, scale))
    elif scale:
        sys.stdout.write(table_scale_only(scale))
    if models:
        sys.stdout.write("\n" + table_models(models))
    return 0


def table_scale_only(scale: list[dict]) -> str:
    eff = [e for s in scale for e in s["efficiency"]]
    s0 = scale[0]
    return (
        "| measure | min / median / max |\n|---|---|\n"
        f"| matmul at scale, {s0['n_seeds']} seeds, n = {s0['n']}, {s0['steps']} step(s), {s0['device']} (s) | "
        f"{spread([s['seconds'] for s in scale], '{:.1f}')} |\n"
        f"| matmul / raw bmm FLOP rate | {spread(eff)} |\n"
        f"| peak memory (MB) | {spread([s['peak_rss_mb'] for s in scale], '{:.0f}')} |\n"
    )


if __name__ == "__main__":
    sys.exit(main())
