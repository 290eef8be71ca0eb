"""Command line: ``lnpaper compare`` (diff two MLflow builds), ``lnpaper bench`` (timings)."""

from __future__ import annotations

import argparse
import sys


def _compare(args) -> int:
    from lnpaper.tracking.compare import compare
    from lnpaper.tracking.store import TrackingError

    try:
        sys.stdout.write(compare(args.tracking_uri, args.experiment, args.build_a, args.build_b))
    except TrackingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lnpaper", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    cmp_ = sub.add_parser(
        "compare", help="Markdown table of params/metrics that differ between two builds"
    )
    cmp_.add_argument("build_a", nargs="?", help="build run id (default: the previous build)")
    cmp_.add_argument("build_b", nargs="?", help="build run id (default: the latest build)")
    cmp_.add_argument("--tracking-uri", default="sqlite:///mlflow.db")
    cmp_.add_argument("--experiment", default="layernorm-paper")
    cmp_.set_defaults(func=_compare)
    bench = sub.add_parser(
        "bench",
        help="time the build, reruns, an edit and matmul at scale "
        "(Markdown table; README 'Performance')",
    )
    from lnpaper.tools import benchmark

    benchmark.add_arguments(bench)
    bench.set_defaults(func=benchmark.run)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
