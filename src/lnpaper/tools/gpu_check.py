"""``make gpu-check``: the tiny config's experiments on cuda and on cpu, science outputs compared.

The two devices draw different random numbers (a CUDA ``torch.Generator`` is a different stream
from a CPU one with the same seed), and their float32 kernels round differently, so outputs are
not compared element by element. What must agree is what the paper reads from them:

- structure, exactly: every output frame has the same columns and the same number of rows;
- every summary metric (what each experiment's ``summary_metrics`` reports and the claims use),
  within ``|cuda - cpu| <= ABS_TOL + REL_TOL * |cpu|``; for the low-precision error metrics
  (``max_error.*``), which span orders of magnitude, within a factor ``ERROR_FACTOR``;
- the identities that hold on any device (affine mean = beta, std = gamma), within ``ABS_TOL``
  on both devices, through the metrics ``max_abs_mean_error`` / ``max_abs_std_error``.

Prints one Markdown table and exits 1 when a row fails. Without CUDA it says so and exits 0.
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
TINY = ROOT / "tests/configs/tiny.yaml"
SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"

ABS_TOL = 0.05  # metrics are errors vs theory, rates, correlations, accuracies: O(0.01-1)
REL_TOL = 0.5  # different random draws on the tiny sizes (4 seeds, 12 steps)
ERROR_FACTOR = 8.0  # rounding errors of float16/bfloat16 kernels on two devices
EXACT = {"conditions", "runs"}  # counts: equal


def cuda_status() -> str | None:
    """None when a CUDA device is usable; else the reason, with what to do."""
    import torch

    if torch.cuda.is_available():
        return None
    if torch.version.cuda is None:
        return (
            f"torch {torch.__version__} is a CPU-only build (the lock installs the CPU wheel); "
            f"to check the GPU path install a CUDA build of the same version into the venv, e.g. "
            f".venv/bin/pip install torch=={torch.__version__.split('+')[0]} --index-url "
            f"https://download.pytorch.org/whl/cu128, then rerun make gpu-check"
        )
    return f"torch {torch.__version__} (CUDA {torch.version.cuda}) sees no CUDA device"


def run_experiments(cfg: dict, device: str, only: list[str]) -> dict[str, dict]:
    """{experiment: {"frames": ..., "metrics": ...}} of the tiny config on ``device``."""
    from lnpaper.experiments import data
    from lnpaper.pipeline import registry
    from lnpaper.pipeline.runtime import setup_torch

    used = setup_torch(1, device)
    matrices = data.run(cfg["data"], seed=cfg["seed"])["matrices"]
    out = {}
    for name in registry.enabled_experiments(cfg):
        if only and name not in only:
            continue
        module = importlib.import_module(f"lnpaper.experiments.{name}")
        frames = module.run(cfg[name], seed=cfg["seed"], inputs={"matrices": matrices}, device=used)
        out[name] = {"frames": frames, "metrics": module.summary_metrics(frames)}
    return out


def metric_ok(name: str, a: float, b: float) -> tuple[bool, str]:
    """(passes, tolerance as text) of one summary metric on the two devices."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b), "both NaN"
    if name in EXACT:
        return a == b, "equal"
    if name.startswith("max_error.") and a > 0 and b > 0:
        return max(a / b, b / a) <= ERROR_FACTOR, f"x{ERROR_FACTOR:g}"
    tol = ABS_TOL + REL_TOL * abs(a)
    return abs(a - b) <= tol, f"{tol:.3g}"


def compare(ref: dict, other: dict) -> list[tuple]:
    """Rows (experiment, quantity, ref, other, tolerance, ok)."""
    rows = []
    for exp in ref:
        for frame, df in ref[exp]["frames"].items():
            odf = other[exp]["frames"][frame]
            same = list(df.columns) == list(odf.columns) and len(df) == len(odf)
            rows.append((exp, f"{frame}: rows, columns", len(df), len(odf), "equal", same))
        for metric, a in ref[exp]["metrics"].items():
            b = other[exp]["metrics"].get(metric, float("nan"))
            ok, tol = metric_ok(metric, float(a), float(b))
            rows.append((exp, metric, a, b, tol, ok))
    return rows


def table(rows: list[tuple], names: tuple[str, str]) -> str:
    def fmt(v):
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    lines = [
        f"| experiment | quantity | {names[0]} | {names[1]} | tolerance | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for exp, what, a, b, tol, ok in rows:
        lines.append(f"| {exp} | {what} | {fmt(a)} | {fmt(b)} | {tol} | {'ok' if ok else 'FAIL'} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gpu-check", description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(TINY), help="config (default: the tiny one)")
    parser.add_argument(
        "--devices",
        nargs=2,
        default=["cpu", "cuda"],
        help="reference and checked device (cpu cpu checks this tool itself)",
    )
    parser.add_argument("--only", default="", help="comma-separated experiments (default: all)")
    args = parser.parse_args(argv)
    if "cuda" in args.devices:
        reason = cuda_status()
        if reason:
            print(f"gpu-check: no CUDA here, nothing compared: {reason}")
            return 0
    from lnpaper.pipeline.config import load_config

    cfg = load_config(args.config, SCHEMA)
    only = [s for s in args.only.split(",") if s]
    ref = run_experiments(cfg, args.devices[0], only)
    other = run_experiments(cfg, args.devices[1], only)
    rows = compare(ref, other)
    sys.stdout.write(table(rows, tuple(args.devices)))
    failed = [r for r in rows if not r[-1]]
    print(f"gpu-check: {len(rows) - len(failed)} of {len(rows)} rows within tolerance")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
