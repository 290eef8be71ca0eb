"""The build's cost per step: Snakemake benchmark files -> results/tables/runtime.{csv,md}.

Every rule writes ``results/benchmarks/<step>.tsv`` (wall time, CPU time, peak memory, measured by
Snakemake around the job), except the rules the results cache serves, which time their job
process themselves into their manifest (``read_timing``). This module reads them into one table, one row per step plus a total.
Its values are timings, so its bytes differ from build to build: it is excluded from every
byte-identity claim. The tracking step's own benchmark is not in it (the runtime step runs before
tracking, which logs it; see README "Performance").
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

COLUMNS = ["step", "wall_s", "cpu_s", "max_rss_mb", "mean_load"]


def read_benchmark(path: str | Path) -> dict[str, float]:
    """One Snakemake benchmark file (tab-separated; one row per repeat: the last one counts)."""
    row = pd.read_csv(path, sep="\t").iloc[-1]
    return {
        "wall_s": float(row["s"]),
        "cpu_s": float(row["cpu_time"]),
        "max_rss_mb": float(row["max_rss"]),
        "mean_load": float(row["mean_load"]),
    }


def read_timing(manifest: str | Path) -> dict[str, float]:
    """A step's own timing from its manifest: the job process's wall and CPU time, start-up
    included, as a benchmark file has them (the rules the results cache serves have no benchmark
    file: Snakemake allows none there). A result taken from the cache keeps the timing of the
    job that computed it."""
    import json

    timing = json.loads(Path(manifest).read_text(encoding="utf-8")).get("timing", {})
    return {
        "wall_s": float(timing.get("process_wall_s", timing.get("wall_s", float("nan")))),
        "cpu_s": float(timing.get("process_cpu_s", timing.get("cpu_s", float("nan")))),
        "max_rss_mb": float(timing.get("peak_rss_mb", float("nan"))),
        "mean_load": float("nan"),
    }


def build(
    benchmarks: dict[str, str | Path], timings: dict[str, str | Path] | None = None
) -> pd.DataFrame:
    """Rows per step (sorted by wall time, longest first) and a final 'total' row: the steps with
    a benchmark file, and those timed by their manifest (``timings``: step -> manifest).

    The total's wall time is the sum over steps (what the build would take on one core); peak
    memory is the largest single job's.
    """
    rows = [{"step": step, **read_benchmark(path)} for step, path in benchmarks.items()]
    rows += [{"step": step, **read_timing(path)} for step, path in (timings or {}).items()]
    df = pd.DataFrame(rows, columns=COLUMNS).sort_values(
        ["wall_s", "step"], ascending=[False, True]
    )
    total = {
        "step": "total",
        "wall_s": df["wall_s"].sum(),
        "cpu_s": df["cpu_s"].sum(),
        "max_rss_mb": df["max_rss_mb"].max(),
        "mean_load": float("nan"),
    }
    return pd.concat([df, pd.DataFrame([total])], ignore_index=True)


def to_markdown(df: pd.DataFrame) -> str:
    head = (
        "| step | wall (s) | CPU (s) | peak RSS (MB) | mean load (%) |\n|---|---:|---:|---:|---:|\n"
    )
    body = "".join(
        f"| {r.step} | {r.wall_s:.2f} | {r.cpu_s:.2f} | {r.max_rss_mb:.0f} | "
        f"{'' if pd.isna(r.mean_load) else f'{r.mean_load:.0f}'} |\n"
        for r in df.itertuples()
    )
    return head + body


def metrics(df: pd.DataFrame) -> dict[str, float]:
    """What tracking logs: totals and the wall time / peak memory of every step."""
    out = {}
    for r in df.itertuples():
        out[f"wall_s.{r.step}"] = r.wall_s
        out[f"cpu_s.{r.step}"] = r.cpu_s
        out[f"max_rss_mb.{r.step}"] = r.max_rss_mb
    return out


def write(df: pd.DataFrame, csv: str | Path, md: str | Path) -> None:
    from lnpaper.pipeline import io

    io.write_text(df.to_csv(index=False), csv)
    io.write_text(to_markdown(df), md)
