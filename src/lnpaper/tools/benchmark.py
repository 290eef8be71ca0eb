"""``lnpaper bench``: how the build feels, as one Markdown table (README "Performance").

Measures, in throw-away copies of the workflow (never in the checkout itself), each repeated:
- the full build from clean (``snakemake --cores 4``, default config, tracking on) against the
  same step functions called in one Python process (no Snakemake, no MLflow);
- the full build's jobs as a schedule: total CPU, the largest job's share, the critical path and
  the ideal wall time at 2, 4, 8 and 16 cores (``--schedule DIR`` for a build already made);
- five no-change reruns (minimum and median); a one-parameter edit (one ``affine.gamma`` value): jobs run and wall time;
- the tracking step's share of the build (its Snakemake benchmark);
- matmul at scale: 1000 seeds, n = 1024, batched, as a fraction of the raw ``torch.bmm`` FLOP rate
  measured on the same shapes in the same process, and the peak memory of that process;
- the training loops of ``training`` (per arch x norm, all depths in one stacked model, as
  the pipeline runs them) and ``transformer`` (per arch, deepest encoder): effective GFLOP/s
  of their matmuls and the ratio of raw ``torch.bmm`` on the same shapes to the loop's CPU
  seconds (``--models`` runs only this part; use
  ``--threads 1`` to compare with the targets), and the ceiling of that ratio: the training
  step's hidden layers in bare kernels (``bare_step``).

Targets: build/compute <= 1.25, no-change rerun <= 2 s, largest job <= 15 % of the CPU, edit <= 20 % of the build, tracking
<= 10 %, matmul >= 0.7 of raw bmm, training loop >= 0.5 of raw bmm (median over condition
classes). The table says which are met.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

# what the command runs, by what it measures (lnpaper.tools.bench); the names tests and the
# end-to-end fixtures use are kept here
from lnpaper.tools.bench.builds import build_round, copy_workflow, edit_gamma, in_subprocess
from lnpaper.tools.bench.report import table, table_compile, table_models, table_scale_only, verdict
from lnpaper.tools.bench.schedule import build_schedule, table_schedule

__all__ = ["copy_workflow", "edit_gamma", "main", "run", "table", "verdict"]


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
    parser.add_argument(
        "--schedule",
        metavar="DIR",
        help="only: total CPU, critical path and ideal wall time at 2/4/8/16 cores of the build "
        "already in DIR (its results/ and config.yaml)",
    )
    parser.add_argument("--json", help="also write the raw measurements here")


def run(args) -> int:
    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    if args.schedule:
        r = build_schedule(Path(args.schedule))
        if args.json:
            Path(args.json).write_text(json.dumps({"schedule": r}, indent=1))
        sys.stdout.write(table_schedule(r))
        return 0
    if args.compile:
        log(f"torch.compile vs eager on one training class, {args.threads} thread(s)")
        r = in_subprocess("models.compile_payback", threads=args.threads)["result"]
        if args.json:
            Path(args.json).write_text(json.dumps({"compile": r}, indent=1))
        sys.stdout.write(table_compile(r))
        return 0
    if args.models:
        log(f"training loops vs raw bmm, {args.threads} thread(s)")
        r = in_subprocess("models.model_rates", threads=args.threads, steps=args.model_steps)[
            "result"
        ]
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
        scale = _scale_runs(args, log)
    models = None
    if not args.skip_models:
        log(f"training loops vs raw bmm, {args.threads} thread(s)")
        models = in_subprocess("models.model_rates", threads=args.threads, steps=args.model_steps)
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


def _scale_runs(args, log) -> list[dict]:
    """matmul at scale, ``--scale-repeats`` times, each in a fresh interpreter."""
    scale = []
    for i in range(args.scale_repeats):
        log(f"scale run {i + 1}/{args.scale_repeats}")
        r = in_subprocess(
            "scale.scale_run",
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
    return scale


if __name__ == "__main__":
    sys.exit(main())
