"""The per-step cost table (lnpaper.runtime_table) and the benchmark's helpers."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from lnpaper.report import runtime_table
from lnpaper.tools import benchmark

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def write_bench(path, rows):
    path.write_text(
        HEADER
        + "".join(
            f"{s}\t0:00:0{int(s)}\t{rss}\t1\t1\t1\t0\t0\t{load}\t{cpu}\n"
            for s, rss, load, cpu in rows
        )
    )
    return path


def test_runtime_table_sums_steps_and_keeps_the_largest_peak(tmp_path):
    files = {
        "data": write_bench(tmp_path / "a.tsv", [(1.5, 100.0, 50.0, 1.0)]),
        # two repeats: the last row counts
        "matmul": write_bench(
            tmp_path / "b.tsv", [(9.0, 900.0, 10.0, 9.0), (4.25, 700.0, 80.0, 7.5)]
        ),
    }
    df = runtime_table.build(files)
    assert list(df["step"]) == ["matmul", "data", "total"]  # longest first, total last
    total = df.set_index("step").loc["total"]
    assert total["wall_s"] == pytest.approx(5.75)
    assert total["cpu_s"] == pytest.approx(8.5)
    assert total["max_rss_mb"] == 700.0
    assert math.isnan(total["mean_load"])
    m = runtime_table.metrics(df)
    assert m["wall_s.matmul"] == 4.25 and m["max_rss_mb.total"] == 700.0
    md = runtime_table.to_markdown(df).splitlines()
    assert md[2] == "| matmul | 4.25 | 7.50 | 700 | 80 |" and md[-1].startswith("| total | 5.75 |")


def test_a_cached_step_is_timed_by_its_manifest(tmp_path):
    """Rules the results cache serves have no benchmark file: their job process timed itself."""
    import json

    manifest = tmp_path / "training.json"
    timing = {"wall_s": 1.0, "cpu_s": 0.9, "process_wall_s": 3.5, "process_cpu_s": 3.0}
    manifest.write_text(json.dumps({"timing": {**timing, "peak_rss_mb": 250.0, "pid": 7}}))
    files = {"data": write_bench(tmp_path / "a.tsv", [(1.5, 100.0, 50.0, 1.0)])}
    df = runtime_table.build(files, {"training": manifest}).set_index("step")
    assert df.loc["training", "wall_s"] == 3.5 and df.loc["training", "cpu_s"] == 3.0
    assert df.loc["training", "max_rss_mb"] == 250.0 and math.isnan(df.loc["training", "mean_load"])
    assert df.loc["total", "cpu_s"] == pytest.approx(4.0)


def test_runtime_files_round_trip(tmp_path):
    df = runtime_table.build({"data": write_bench(tmp_path / "a.tsv", [(2.0, 10.0, 5.0, 1.0)])})
    runtime_table.write(df, tmp_path / "r.csv", tmp_path / "r.md")
    back = pd.read_csv(tmp_path / "r.csv")
    assert list(back["step"]) == ["data", "total"] and back["wall_s"].tolist() == [2.0, 2.0]


def test_gamma_edit_changes_exactly_one_value(tmp_path):
    (tmp_path / "config.yaml").write_text(
        "seed: 42\naffine:\n  enabled: true\n  gamma: [1.0, 2.0, 3.0]\n  beta: [0.0, 2.0, 5.0]\n"
    )
    benchmark.edit_gamma(tmp_path)
    import yaml

    cfg = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert cfg["affine"]["gamma"] == [1.0, 2.0, 4.0] and cfg["affine"]["beta"] == [0.0, 2.0, 5.0]


def test_verdicts_say_by_how_much():
    assert benchmark.verdict([1.0, 1.2, 2.0], 1.25) == "met"
    assert benchmark.verdict([1.5], 1.25) == "missed by 20 %"
    assert benchmark.verdict([0.35], 0.7, at_most=False) == "missed by 50 %"


def test_bench_table_reports_each_target():
    rounds = [
        {
            "full": 100.0,
            "jobs": 35,
            "track": 4.0,
            "rerun": 2.0,
            "rerun_min": 1.5,
            "rerun_jobs": 0,
            "edit": 30.0,
            "edit_jobs": ["affine", "table"],
            "compute": 90.0,
            "compute_steps": {},
        }
    ]
    scale = [
        {
            "seconds": 60.0,
            "efficiency": [0.6, 0.8, 0.75],
            "tflop": 6.4,
            "raw_gflops_f64": [100.0],
            "raw_gflops_f32": [190.0],
            "device": "cpu",
            "peak_rss_mb": 1400.0,
            "n_seeds": 1000,
            "n": 1024,
            "steps": 2,
        }
    ]
    rows = {
        line.split(" | ")[0].lstrip("| "): line
        for line in benchmark.table(rounds, scale).splitlines()
    }
    assert rows["build / compute"].endswith("| <= 1.25 | met |")
    assert rows["no-change rerun, median of 5 (s)"].endswith("| <= 2 s | met |")
    assert rows["no-change rerun, min of 5 (s)"].startswith(
        "| no-change rerun, min of 5 (s) | 1.50"
    )
    assert rows["one gamma edit / full build"].endswith("| <= 0.20 | missed by 50 % |")  # 0.30
    assert rows["tracking / full build"].endswith("| <= 0.10 | met |")
    assert rows["matmul / raw bmm FLOP rate (per seed batch)"].endswith(
        "| >= 0.7 | met |"
    )  # median 0.75
