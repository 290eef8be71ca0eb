"""matmul at scale: ``matmul.simulate`` on large shapes against raw ``torch.bmm`` on the same
shapes in the same process (``lnpaper bench``)."""

from __future__ import annotations

import resource
import time


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
